//! Word segmentation on top of [`StreamLabeler`]: input bytes in, segmented lines out.
//!
//! For each input line the output is its words, separated by a separator (default
//! [`DEFAULT_SEPARATOR`], two ASCII spaces as in the SIGHAN gold files), then `\n`:
//!
//! - a word is the original input bytes of its units, never normalised; invalid UTF-8 is passed through
//!   byte for byte, so only separators and line endings are dropped;
//! - a word ends after a tag whose role closes a chunk (BMES: `E`, `S`; in general End, Single and
//!   Outside), before a tag whose role opens one (Begin, Single, Outside), and at every separator (white
//!   space, never output); tags whose names follow no known scheme count as Single;
//! - an empty or white-space-only line gives an empty line; a last line without `\n` still gets one;
//!   CRLF input gives `\n` output.
//!
//! The trainer's `segment` command and the firmware both use [`Segmenter`] with [`DEFAULT_WINDOW`], so
//! their output is byte-identical.

#[cfg(feature = "alloc")]
use crate::lattice::LineLabeler;

use crate::model::Model;
use crate::spans::SpanRules;
use crate::stream::{Event, LineEnding, StreamLabeler};
pub use crate::tags::ChunkRoles;
#[cfg(feature = "alloc")]
use crate::text::is_separator;

/// The window every shipped tool uses (characters; see [`StreamLabeler`]).
pub const DEFAULT_WINDOW: usize = 256;

/// The default word separator: two ASCII spaces, like the SIGHAN bakeoff gold files.
pub const DEFAULT_SEPARATOR: &[u8] = b"  ";

impl ChunkRoles {
    /// The roles of a model's tags, from their names.
    pub fn of(model: &Model<'_>) -> Self {
        Self::from_names(model.tag_names())
    }
}

/// Bytes of output buffered before calling the sink (the buffer is also flushed at the end of every
/// `push` and `finish`, so output is never held back between calls).
const OUT_BUFFER: usize = 128;

/// Turns labeled events into segmented output bytes.
#[derive(Debug, Clone, Copy)]
struct WordWriter<'s> {
    separator: &'s [u8],
    /// `separator` padded to 4 bytes, if it has at most 4.
    short_separator: Option<[u8; 4]>,
    roles: ChunkRoles,
    /// A word has been written on the current line.
    line_has_word: bool,
    /// The last written word has ended (closing tag or separator seen since).
    boundary: bool,
    /// Tag of the last labeled unit of the line.
    last_tag: u8,
    /// Output not yet handed to the sink: `buffer[..buffered]`.
    buffer: [u8; OUT_BUFFER],
    buffered: usize,
}

impl WordWriter<'_> {
    #[inline]
    fn event(&mut self, event: Event, out: &mut impl FnMut(&[u8])) {
        match event {
            Event::Unit(unit) => match unit.tag {
                Some(tag) => {
                    if self.line_has_word && (self.boundary || self.roles.boundary(self.last_tag, tag)) {
                        match self.short_separator {
                            Some(sep) => self.write4(sep, self.separator.len(), out),
                            None => self.write(self.separator, out),
                        }
                    }
                    self.write4(unit.bytes, usize::from(unit.len).min(4), out);
                    self.line_has_word = true;
                    self.boundary = false;
                    self.last_tag = tag;
                }
                None => self.boundary = true,
            },
            Event::LineEnd(_) => {
                self.write4([b'\n', 0, 0, 0], 1, out);
                self.line_has_word = false;
                self.boundary = false;
            }
        }
    }

    /// Writes `bytes[..len]` (`len <= 4`): a fixed-size store instead of a variable-length copy (which
    /// would be a `memcpy` call); the bytes past `len` land in the unused part of the buffer.
    #[inline]
    fn write4(&mut self, bytes: [u8; 4], len: usize, out: &mut impl FnMut(&[u8])) {
        if self.buffered + 4 > OUT_BUFFER {
            self.flush(out);
        }
        if let Some(dst) = self.buffer.get_mut(self.buffered..self.buffered + 4) {
            dst.copy_from_slice(&bytes);
            self.buffered += len;
        }
    }

    #[inline]
    fn write(&mut self, bytes: &[u8], out: &mut impl FnMut(&[u8])) {
        if self.buffered + bytes.len() > OUT_BUFFER {
            self.flush(out);
        }
        match self.buffer.get_mut(self.buffered..self.buffered + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.buffered += bytes.len();
            }
            None => out(bytes), // longer than the whole buffer (a long separator)
        }
    }

    fn flush(&mut self, out: &mut impl FnMut(&[u8])) {
        if self.buffered > 0 {
            out(self.buffer.get(..self.buffered).unwrap_or(&[]));
            self.buffered = 0;
        }
    }
}

/// Streaming word segmenter: bytes in, segmented lines out (see the module docs), in `6 * WINDOW` bytes of
/// buffers plus fixed state (and a 128-byte output buffer, handed to the sink in chunks and always emptied
/// before `push` and `finish` return).
///
/// Name the window explicitly (`Segmenter::<DEFAULT_WINDOW>::new(&model)`) or through the type
/// (`let s: Segmenter = Segmenter::new(&model);`): a default type parameter does not drive inference.
/// See the crate docs for an example.
#[derive(Debug, Clone)]
pub struct Segmenter<'m, const WINDOW: usize = DEFAULT_WINDOW> {
    labeler: StreamLabeler<'m, WINDOW>,
    writer: WordWriter<'m>,
}

impl<'m, const WINDOW: usize> Segmenter<'m, WINDOW> {
    /// A segmenter writing words separated by [`DEFAULT_SEPARATOR`], with the default [`SpanRules`]
    /// (forced spans on, no dictionary).
    pub fn new(model: &Model<'m>) -> Self {
        Self::with_rules_and_separator(model, SpanRules::default(), DEFAULT_SEPARATOR)
    }

    /// A segmenter writing words separated by `separator`, with the default [`SpanRules`].
    pub fn with_separator(model: &Model<'m>, separator: &'m [u8]) -> Self {
        Self::with_rules_and_separator(model, SpanRules::default(), separator)
    }

    /// A segmenter that keeps the spans `rules` asks for (user-dictionary words, URLs, numbers), writing
    /// words separated by [`DEFAULT_SEPARATOR`].
    pub fn with_rules(model: &Model<'m>, rules: SpanRules<'m>) -> Self {
        Self::with_rules_and_separator(model, rules, DEFAULT_SEPARATOR)
    }

    /// A segmenter with span `rules`, writing words separated by `separator`.
    pub fn with_rules_and_separator(model: &Model<'m>, rules: SpanRules<'m>, separator: &'m [u8]) -> Self {
        Self {
            labeler: StreamLabeler::with_rules(model, rules),
            writer: WordWriter {
                separator,
                short_separator: (separator.len() <= 4).then(|| {
                    let mut sep = [0u8; 4];
                    for (d, &b) in sep.iter_mut().zip(separator) {
                        *d = b;
                    }
                    sep
                }),
                roles: ChunkRoles::of(model),
                line_has_word: false,
                boundary: false,
                last_tag: 0,
                buffer: [0; OUT_BUFFER],
                buffered: 0,
            },
        }
    }

    /// Feeds input bytes (any split gives the same output); `out` receives output bytes as they become
    /// final.
    pub fn push(&mut self, bytes: &[u8], mut out: impl FnMut(&[u8])) {
        let writer = &mut self.writer;
        self.labeler.push(bytes, |event| writer.event(event, &mut out));
        writer.flush(&mut out);
    }

    /// Ends the input (flushes the last line, adding `\n` if it had none).
    pub fn finish(&mut self, mut out: impl FnMut(&[u8])) {
        let writer = &mut self.writer;
        self.labeler.finish(|event| writer.event(event, &mut out));
        writer.flush(&mut out);
    }

    /// Forced cuts so far (see [`StreamLabeler::forced_cuts`]).
    pub fn forced_cuts(&self) -> u64 {
        self.labeler.forced_cuts()
    }

    /// Most uncommitted columns held at once (see [`StreamLabeler::peak_pending`]).
    pub fn peak_pending(&self) -> usize {
        self.labeler.peak_pending()
    }

    /// Segments the whole of `input` (then ends it, as [`Segmenter::finish`]); returns the number of
    /// forced cuts.
    pub fn segment_all(mut self, input: &[u8], mut out: impl FnMut(&[u8])) -> u64 {
        self.push(input, &mut out);
        self.finish(&mut out);
        self.forced_cuts()
    }
}

/// The words of a [`StreamLabeler`]'s events as byte ranges of its input: the same words, split by the
/// same rules, that a [`Segmenter`] writes, without writing them. Each word is contiguous in the input
/// (separators and line endings end a word), so a caller holding the input takes its words as slices of
/// it instead of copying them; ranges count from the first byte the labeler was given.
#[derive(Debug, Clone, Copy)]
pub struct WordSpans {
    roles: ChunkRoles,
    /// Input bytes the events so far stand for.
    offset: usize,
    /// Where the word not yet reported starts, if one has started.
    open: Option<usize>,
    /// Tag of the last unit of that word.
    last_tag: u8,
}

impl WordSpans {
    /// Word spans by the chunk roles of `model`'s tags.
    pub fn new(model: &Model<'_>) -> Self {
        Self { roles: ChunkRoles::of(model), offset: 0, open: None, last_tag: 0 }
    }

    /// Takes the labeler's next event; `out` receives each word's range as soon as the word has ended.
    #[inline]
    pub fn event(&mut self, event: Event, out: &mut impl FnMut(core::ops::Range<usize>)) {
        match event {
            Event::Unit(unit) => {
                let start = self.offset;
                self.offset += usize::from(unit.len);
                match unit.tag {
                    Some(tag) => {
                        match self.open {
                            Some(open) if self.roles.boundary(self.last_tag, tag) => {
                                out(open..start);
                                self.open = Some(start);
                            }
                            Some(_) => {}
                            None => self.open = Some(start),
                        }
                        self.last_tag = tag;
                    }
                    None => self.close(start, out),
                }
            }
            Event::LineEnd(ending) => {
                self.close(self.offset, out);
                self.offset += match ending {
                    LineEnding::Lf => 1,
                    LineEnding::CrLf => 2,
                    LineEnding::EndOfInput => 0,
                };
            }
        }
    }

    /// Reports the open word, if any, as ending at `end`.
    #[inline]
    fn close(&mut self, end: usize, out: &mut impl FnMut(core::ops::Range<usize>)) {
        if let Some(open) = self.open.take() {
            out(open..end);
        }
    }
}

/// The words of the whole of `input`, segmented with span `rules` by a [`StreamLabeler`] of window
/// `WINDOW`, as byte ranges of `input` (see [`WordSpans`]): `input[range]` is each word a [`Segmenter`]
/// with the same rules writes, in order. Returns the number of forced cuts.
pub fn word_spans<'m, const WINDOW: usize>(
    model: &Model<'m>,
    rules: SpanRules<'m>,
    input: &[u8],
    mut out: impl FnMut(core::ops::Range<usize>),
) -> u64 {
    let mut labeler = StreamLabeler::<WINDOW>::with_rules(model, rules);
    let mut words = WordSpans::new(model);
    labeler.push(input, |event| words.event(event, &mut out));
    labeler.finish(|event| words.event(event, &mut out));
    labeler.forced_cuts()
}

#[cfg(feature = "alloc")]
impl<'m> Segmenter<'m, DEFAULT_WINDOW> {
    /// Host convenience (feature `alloc`): a whole input segmented with [`DEFAULT_WINDOW`] and
    /// [`DEFAULT_SEPARATOR`], as the firmware segments it, into a vector.
    pub fn segment_to_vec(model: &Model<'m>, input: &[u8]) -> alloc::vec::Vec<u8> {
        let mut out = alloc::vec::Vec::with_capacity(input.len() + input.len() / 2);
        Self::new(model).segment_all(input, |b| out.extend_from_slice(b));
        out
    }
}

/// Segments a whole input with a [`Segmenter`] of window `WINDOW` and the default [`SpanRules`];
/// returns the number of forced cuts.
pub fn segment<const WINDOW: usize>(model: &Model<'_>, input: &[u8], separator: &[u8], out: impl FnMut(&[u8])) -> u64 {
    segment_with_rules::<WINDOW>(model, SpanRules::default(), input, separator, out)
}

/// [`segment`] with span `rules`.
pub fn segment_with_rules<'m, const WINDOW: usize>(
    model: &Model<'m>,
    rules: SpanRules<'m>,
    input: &[u8],
    separator: &'m [u8],
    mut out: impl FnMut(&[u8]),
) -> u64 {
    Segmenter::<WINDOW>::with_rules_and_separator(model, rules, separator).segment_all(input, &mut out)
}

/// Host convenience: the words of one line by **whole-sequence** Viterbi ([`LineLabeler::label`] on
/// each run between separators), with the same word rules and default [`SpanRules`] as
/// [`Segmenter::new`]. Equal to the streaming output whenever it reports no forced cut. A `\n` in
/// `line` is treated like any separator.
#[cfg(feature = "alloc")]
pub fn segment_line(model: &Model<'_>, line: &str) -> alloc::vec::Vec<alloc::string::String> {
    segment_line_with_rules(model, SpanRules::default(), line)
}

/// [`segment_line`] with span `rules`.
#[cfg(feature = "alloc")]
pub fn segment_line_with_rules<'m>(
    model: &Model<'m>,
    rules: SpanRules<'m>,
    line: &str,
) -> alloc::vec::Vec<alloc::string::String> {
    use alloc::string::String;
    use alloc::vec::Vec;
    let labeler = LineLabeler::with_rules(model, rules);
    let roles = ChunkRoles::of(model);
    let mut words: Vec<String> = Vec::new();
    let mut chars: Vec<char> = Vec::new();
    let mut tags: Vec<u8> = Vec::new();
    let mut backpointers: Vec<u8> = Vec::new();
    for run in line.split(is_separator).filter(|r| !r.is_empty()) {
        chars.clear();
        chars.extend(run.chars());
        tags.clear();
        tags.resize(chars.len(), 0);
        backpointers.clear();
        backpointers.resize(labeler.backpointer_bytes(chars.len()), 0);
        // Buffers are sized as required, so this cannot fail.
        let _ = labeler.label(&chars, &mut backpointers, &mut tags);
        let mut word = String::new();
        for (i, (&c, &tag)) in chars.iter().zip(&tags).enumerate() {
            if i > 0 && roles.boundary(tags[i - 1], tag) {
                words.push(core::mem::take(&mut word));
            }
            word.push(c);
        }
        words.push(word);
    }
    words
}

//! The streaming labeler of token-level models (format version 6): CoNLL lines in, one answer per line
//! out, in fixed memory.
//!
//! Bytes arrive in pieces of any size ([`TokenLabeler::push`]); a line feed ends a line. A token line is
//! the token and its feature columns separated by white space, as in a CoNLL column file, with or without
//! the gold tag as one more, last column (ignored). A blank line, or a `-DOCSTART-` line, ends a sentence:
//! its buffered lines are labelled together and answered in order. Every input line gets exactly one
//! [`Answer`], so the answers line up with the input:
//!
//! | input line | answer | written by [`Answer::write_line`] |
//! |---|---|---|
//! | a token line (the model's columns, or one more) | [`Answer::Tag`] | the tag name |
//! | blank (nothing but white space) | [`Answer::Blank`] | an empty line |
//! | first column `-DOCSTART-` | [`Answer::DocumentStart`] | `O` (what `trainer label` appends) |
//! | anything else | [`Answer::Error`] | `!` and the [`LineError`]'s code, e.g. `!columns` |
//!
//! A line in error does not join its sentence: the sentence's other tokens are labelled as if it were
//! not there. The memory is the caller's choice, by two constants: `BYTES` of token text per sentence
//! (the columns that are read, one space between them) and `LINES` lines per sentence. A sentence that
//! outgrows either is **split**: what is buffered is labelled as a sentence of its own, and the rest
//! goes on as the next one (counted in [`TokenStats::split_sentences`]). A single line longer than
//! `BYTES` is answered [`LineError::TooLong`] (its bytes beyond the buffer are dropped, never stored).
//! Nothing allocates and nothing panics, whatever the bytes.
//!
//! The answers are those of `trainer label` (the decoder's [`crate::internal::lattice::label_tokens`]
//! on each sentence) for a well-formed file whose sentences fit the buffer; a line feed, `\r\n`, a final
//! line without line feed and a UTF-8 byte-order mark at the start are read as the trainer reads them.

use core::fmt;

use crate::lattice::{label_tokens, row_bytes};
use crate::limits::MAX_TAGS;
use crate::model::Model;
use crate::tokens::{TokenColumns, MAX_COLUMNS};

/// The first column of a line that starts a document in CoNLL-2003 files.
pub const DOCUMENT_START: &str = "-DOCSTART-";

/// Bytes of one back-pointer row for the largest tag set.
const ROW_BYTES: usize = row_bytes(MAX_TAGS);

/// Why a line was not labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LineError {
    /// Neither the model's column count nor one more (the gold tag).
    Columns,
    /// Not valid UTF-8.
    Utf8,
    /// A control character other than white space (NUL, ESC, ...).
    Control,
    /// Longer than the labeler's text buffer.
    TooLong,
    /// The model is not a token-level model (every token line gets this).
    NotTokenLevel,
}

impl LineError {
    /// The code written after `!` on the answer line.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Columns => "columns",
            Self::Utf8 => "utf8",
            Self::Control => "control",
            Self::TooLong => "too-long",
            Self::NotTokenLevel => "not-token-level",
        }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Columns => "the line has neither the model's number of columns nor one more (the gold tag)",
            Self::Utf8 => "the line is not valid UTF-8",
            Self::Control => "the line holds a control character",
            Self::TooLong => "the line is longer than the labeler's buffer",
            Self::NotTokenLevel => "the model is not a token-level model",
        })
    }
}

/// The answer to one input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer<'a> {
    /// The predicted tag of a token line.
    Tag(&'a str),
    /// A blank line (which ended a sentence).
    Blank,
    /// A `-DOCSTART-` line (which ended a sentence).
    DocumentStart,
    /// A line that could not be labelled.
    Error(LineError),
}

impl Answer<'_> {
    /// Writes the answer as a line, its line feed included: the tag, nothing, `O`, or `!code`.
    pub fn write_line(&self, mut out: impl FnMut(&[u8])) {
        match self {
            Self::Tag(name) => out(name.as_bytes()),
            Self::Blank => {}
            Self::DocumentStart => out(b"O"),
            Self::Error(error) => {
                out(b"!");
                out(error.code().as_bytes());
            }
        }
        out(b"\n");
    }
}

/// What a [`TokenLabeler`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TokenStats {
    /// Input lines answered.
    pub lines: u64,
    /// Tokens labelled.
    pub tokens: u64,
    /// Sequences labelled (sentences, and the parts of split ones).
    pub sentences: u64,
    /// Times a sentence was split because it outgrew the buffer.
    pub split_sentences: u64,
    /// Lines answered with an error.
    pub error_lines: u64,
}

/// One line of the buffered sentence: a token, or an error to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Token,
    Error(LineError),
}

/// The labeler: a sentence buffer of `BYTES` bytes of token text and `LINES` lines, with the tags and
/// back-pointers of that many tokens.
#[derive(Debug, Clone)]
pub struct TokenLabeler<'m, const BYTES: usize, const LINES: usize> {
    model: Model<'m>,
    /// Input columns the model reads (0: not a token-level model).
    columns: usize,
    names: [&'m str; MAX_TAGS],
    /// The buffered tokens' text (`used` bytes), then the current line's raw bytes (`line_len`).
    text: [u8; BYTES],
    used: usize,
    line_len: usize,
    /// The current line outgrew the buffer: the rest of it is dropped.
    overflow: bool,
    /// No line has ended yet (a byte-order mark may open the first).
    first_line: bool,
    /// End of each buffered token's text in `text`.
    ends: [u16; LINES],
    slots: [Slot; LINES],
    lines: usize,
    tokens: usize,
    tags: [u8; LINES],
    backpointers: [[u8; ROW_BYTES]; LINES],
    stats: TokenStats,
}

/// The buffered tokens as the templates read them: token `t` is `text[ends[t-1]..ends[t]]`, its columns
/// separated by single spaces.
struct Buffered<'a> {
    text: &'a str,
    ends: &'a [u16],
}

impl TokenColumns for Buffered<'_> {
    fn token_count(&self) -> usize {
        self.ends.len()
    }

    fn column(&self, token: usize, column: usize) -> &str {
        let start = match token.checked_sub(1) {
            None => 0,
            Some(previous) => self.ends.get(previous).map_or(0, |&end| usize::from(end)),
        };
        let end = self.ends.get(token).map_or(0, |&end| usize::from(end));
        let Some(token) = self.text.get(start..end) else { return "" };
        // The column-th space-separated field, by a byte scan (spaces are ASCII: boundaries).
        let mut from = 0;
        for _ in 0..column {
            match token.as_bytes().iter().skip(from).position(|&b| b == b' ') {
                Some(at) => from += at + 1,
                None => return "",
            }
        }
        let to = token.as_bytes().iter().skip(from).position(|&b| b == b' ').map_or(token.len(), |at| from + at);
        token.get(from..to).unwrap_or("")
    }
}

impl<'m, const BYTES: usize, const LINES: usize> TokenLabeler<'m, BYTES, LINES> {
    /// Usable bytes of the text buffer (offsets are stored in 16 bits).
    const CAPACITY: usize = if BYTES < u16::MAX as usize { BYTES } else { u16::MAX as usize };

    /// A labeler for `model`. A model that is not token-level ([`Model::is_token_level`]) gets a labeler
    /// that answers every token line [`LineError::NotTokenLevel`].
    pub fn new(model: &Model<'m>) -> Self {
        let columns = model.token_templates().map_or(0, |templates| templates.columns());
        let mut names = [""; MAX_TAGS];
        for (slot, name) in names.iter_mut().zip(model.tag_names()) {
            *slot = name;
        }
        Self {
            model: *model,
            columns,
            names,
            text: [0; BYTES],
            used: 0,
            line_len: 0,
            overflow: false,
            first_line: true,
            ends: [0; LINES],
            slots: [Slot::Token; LINES],
            lines: 0,
            tokens: 0,
            tags: [0; LINES],
            backpointers: [[0; ROW_BYTES]; LINES],
            stats: TokenStats::default(),
        }
    }

    /// The input columns of a token the model reads (0 for a model that is not token-level).
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// What the labeler has done so far.
    pub fn stats(&self) -> TokenStats {
        self.stats
    }

    /// Takes the next input bytes; `answer` receives the answers of the lines they complete (a
    /// sentence's answers come when it ends), in input order.
    pub fn push(&mut self, bytes: &[u8], mut answer: impl FnMut(Answer<'_>)) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (part, next, ended) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], rest.get(at + 1..).unwrap_or(&[]), true),
                None => (rest, &[][..], false),
            };
            self.append(part, &mut answer);
            if ended {
                self.end_line(&mut answer);
            }
            rest = next;
        }
    }

    /// Ends the input: a last line without line feed is read as a line, and the last sentence is
    /// labelled and answered. The labeler is then ready for a new input.
    pub fn finish(&mut self, mut answer: impl FnMut(Answer<'_>)) {
        if self.line_len > 0 || self.overflow {
            self.end_line(&mut answer);
        }
        self.flush(false, &mut answer);
        self.first_line = true;
    }

    /// Appends bytes of the current line (no line feed among them).
    fn append(&mut self, part: &[u8], answer: &mut impl FnMut(Answer<'_>)) {
        if self.overflow || part.is_empty() {
            return;
        }
        let start = self.used + self.line_len;
        if part.len() > Self::CAPACITY.saturating_sub(start) && self.lines > 0 {
            // The sentence so far makes room: it is labelled on its own.
            self.flush(true, answer);
        }
        let start = self.used + self.line_len;
        match self.text.get_mut(start..start + part.len()) {
            Some(room) if start + part.len() <= Self::CAPACITY => {
                room.copy_from_slice(part);
                self.line_len += part.len();
            }
            _ => {
                self.overflow = true;
                self.line_len = 0;
            }
        }
    }

    /// Reads the completed line, `text[used..used + line_len]`.
    fn end_line(&mut self, answer: &mut impl FnMut(Answer<'_>)) {
        if self.lines >= LINES {
            self.flush(true, answer);
        }
        let first_line = core::mem::replace(&mut self.first_line, false);
        let (start, len) = (self.used, self.line_len);
        self.line_len = 0;
        if core::mem::take(&mut self.overflow) {
            return self.add_error(LineError::TooLong);
        }
        let raw = self.text.get(start..start + len).unwrap_or(&[]);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let raw = if first_line { raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw) } else { raw };
        let Ok(line) = core::str::from_utf8(raw) else {
            return self.add_error(LineError::Utf8);
        };
        let mut fields = line.split_whitespace();
        let first = fields.next();
        match first {
            None => {
                self.flush(false, answer);
                return self.answer_now(Answer::Blank, answer);
            }
            Some(DOCUMENT_START) => {
                self.flush(false, answer);
                return self.answer_now(Answer::DocumentStart, answer);
            }
            Some(_) => {}
        }
        if line.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return self.add_error(LineError::Control);
        }
        if self.columns == 0 {
            return self.add_error(LineError::NotTokenLevel);
        }
        let count = 1 + fields.count();
        if count != self.columns && count != self.columns + 1 {
            return self.add_error(LineError::Columns);
        }
        // The columns read, one space between them, moved to the start of the line's bytes (never
        // further right than they were: the line only shrinks).
        let mut ranges = [(0usize, 0usize); MAX_COLUMNS];
        for (range, field) in ranges.iter_mut().zip(line.split_whitespace().take(self.columns)) {
            let offset = field.as_ptr() as usize - line.as_ptr() as usize;
            let from = raw.as_ptr() as usize - self.text.as_ptr() as usize + offset;
            *range = (from, from + field.len());
        }
        let mut to = start;
        for (index, &(from, end)) in ranges.iter().take(self.columns).enumerate() {
            if index > 0 {
                if let Some(space) = self.text.get_mut(to) {
                    *space = b' ';
                }
                to += 1;
            }
            if end <= self.text.len() && to + (end - from) <= self.text.len() {
                self.text.copy_within(from..end, to);
            }
            to += end - from;
        }
        if let (Some(end), Ok(end_u16)) = (self.ends.get_mut(self.tokens), u16::try_from(to)) {
            *end = end_u16;
            self.tokens += 1;
            self.used = to;
            self.add_slot(Slot::Token);
        } else {
            self.add_error(LineError::TooLong);
        }
    }

    fn add_error(&mut self, error: LineError) {
        self.add_slot(Slot::Error(error));
    }

    fn add_slot(&mut self, slot: Slot) {
        if let Some(place) = self.slots.get_mut(self.lines) {
            *place = slot;
            self.lines += 1;
        }
    }

    fn answer_now(&mut self, line: Answer<'_>, answer: &mut impl FnMut(Answer<'_>)) {
        self.stats.lines += 1;
        answer(line);
    }

    /// Labels the buffered tokens and answers the buffered lines (a `split` sentence goes on after
    /// them); the current line's bytes move to the start of the buffer.
    fn flush(&mut self, split: bool, answer: &mut impl FnMut(Answer<'_>)) {
        if self.lines == 0 {
            return;
        }
        let tokens = self.tokens.min(LINES);
        let mut labelled = false;
        if tokens > 0 {
            let text = self.text.get(..self.used).and_then(|t| core::str::from_utf8(t).ok()).unwrap_or("");
            let sentence = Buffered { text, ends: self.ends.get(..tokens).unwrap_or(&[]) };
            let backpointers = self.backpointers.as_flattened_mut();
            let tags = self.tags.get_mut(..tokens).unwrap_or(&mut []);
            labelled = label_tokens(&self.model, &sentence, backpointers, tags).is_ok();
            self.stats.sentences += 1;
            self.stats.tokens += tokens as u64;
            self.stats.split_sentences += u64::from(split);
        }
        let mut token = 0;
        for &slot in self.slots.iter().take(self.lines) {
            let line = match slot {
                Slot::Token => {
                    let tag = self.tags.get(token).map_or(0, |&t| usize::from(t));
                    token += 1;
                    match self.names.get(tag) {
                        Some(name) if labelled => Answer::Tag(name),
                        _ => Answer::Error(LineError::NotTokenLevel),
                    }
                }
                Slot::Error(error) => Answer::Error(error),
            };
            if matches!(line, Answer::Error(_)) {
                self.stats.error_lines += 1;
            }
            self.stats.lines += 1;
            answer(line);
        }
        // The current line (its bytes after the buffered tokens) moves to the front.
        let (start, len) = (self.used, self.line_len);
        if start + len <= self.text.len() {
            self.text.copy_within(start..start + len, 0);
        }
        self.used = 0;
        self.lines = 0;
        self.tokens = 0;
    }
}

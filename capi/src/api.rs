//! The states the C API keeps in caller memory, and everything they do, in safe Rust.
//!
//! `ffi` checks the C arguments and calls these; the Rust tests call them directly. Each state starts
//! with a tag word (`magic`) that `ffi` reads before trusting a state pointer, so a pointer to memory that
//! was never initialised (zeroed, or another kind of state) is refused with `CRF_STATUS_NOT_INITIALIZED`.

use decoder::{Event, LineEnding, Model, ModelError, Segmenter, StreamLabeler, DEFAULT_WINDOW};

/// The tag of a separator unit (white space, never labeled) in `crf_unit.tag` and `crf_label_line`.
pub const TAG_SEPARATOR: u8 = 0xFE;
/// The tag of a line ending (`\n` or `\r\n`) in `crf_unit.tag` and `crf_label_line`.
pub const TAG_LINE_END: u8 = 0xFF;

/// Tag words of the three states: arbitrary, distinct, and unlikely in zeroed or reused memory.
pub(crate) const MODEL_MAGIC: u32 = 0x4352_464D; // "CRFM"
pub(crate) const SEGMENTER_MAGIC: u32 = 0x4352_4653; // "CRFS"
pub(crate) const LABELER_MAGIC: u32 = 0x4352_464C; // "CRFL"

/// A loaded model (`crf_model` in C): a validated view of model bytes that the caller keeps alive and
/// unchanged for as long as the model and every state made from it are used.
#[derive(Debug)]
pub struct CrfModel {
    /// [`MODEL_MAGIC`] once initialised; first, so `ffi` can read it alone.
    pub(crate) magic: u32,
    model: Model<'static>,
}

impl CrfModel {
    /// Checks and borrows a model file (magic, version, CRC-32, every size), like `decoder::Model::from_bytes`.
    pub fn load(bytes: &'static [u8]) -> Result<Self, ModelError> {
        Ok(Self { magic: MODEL_MAGIC, model: Model::from_bytes(bytes)? })
    }

    /// The decoder's model.
    pub fn model(&self) -> &Model<'static> {
        &self.model
    }

    /// Number of tags.
    pub fn tag_count(&self) -> usize {
        self.model.num_tags()
    }

    /// Name of tag `tag` (ASCII without spaces; not NUL-terminated), if the model has it.
    pub fn tag_name(&self, tag: usize) -> Option<&'static str> {
        self.model.tag_name(tag)
    }
}

/// A streaming word segmenter (`crf_segmenter` in C): bytes in, lines of words two spaces apart out,
/// exactly as `decoder::Segmenter<DEFAULT_WINDOW>` (the firmware's and `trainer segment`'s) writes them.
#[derive(Debug)]
pub struct CrfSegmenter {
    /// [`SEGMENTER_MAGIC`] once initialised.
    pub(crate) magic: u32,
    /// Bytes were pushed since the last finish.
    pub(crate) streaming: bool,
    pub(crate) segmenter: Segmenter<'static, DEFAULT_WINDOW>,
}

/// Why a one-shot call ([`CrfSegmenter::segment_text`], [`CrfLabeler::label_line`]) did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneShotError {
    /// A stream (push without finish) is open.
    StreamOpen,
    /// The output buffer is too small.
    TooSmall {
        /// Entries (bytes or tags) the whole result needs.
        needed: usize,
    },
}

impl CrfSegmenter {
    /// A segmenter for `model`, at the start of the input.
    pub fn new(model: &CrfModel) -> Self {
        Self { magic: SEGMENTER_MAGIC, streaming: false, segmenter: Segmenter::new(&model.model) }
    }

    /// Feeds input bytes (any split gives the same output); `out` receives output bytes as they become
    /// final, in pieces of at most 128 bytes.
    pub fn push(&mut self, bytes: &[u8], out: impl FnMut(&[u8])) {
        self.streaming = true;
        self.segmenter.push(bytes, out);
    }

    /// Ends the input (flushes the last line, adding `\n` if it had none); the segmenter is then ready
    /// for a new input.
    pub fn finish(&mut self, out: impl FnMut(&[u8])) {
        self.segmenter.finish(out);
        self.streaming = false;
    }

    /// Whether a stream is open (bytes pushed since the last finish).
    pub fn is_streaming(&self) -> bool {
        self.streaming
    }

    /// Segments the whole of `text` as one input (push, then finish) into `out`; returns the number of
    /// bytes written.
    ///
    /// With too small an `out` the text is still segmented to measure its output, `out` keeps the first
    /// bytes, and the error says how many are needed.
    pub fn segment_text(&mut self, text: &[u8], out: &mut [u8]) -> Result<usize, OneShotError> {
        if self.streaming {
            return Err(OneShotError::StreamOpen);
        }
        let mut written = 0usize;
        let mut copy = |bytes: &[u8]| {
            // What fits; so `out` always holds a prefix of the output.
            let rest = out.get_mut(written..).unwrap_or_default();
            let fits = rest.len().min(bytes.len());
            if let (Some(destination), Some(source)) = (rest.get_mut(..fits), bytes.get(..fits)) {
                destination.copy_from_slice(source);
            }
            written = written.saturating_add(bytes.len());
        };
        self.push(text, &mut copy);
        self.finish(&mut copy);
        if written > out.len() {
            return Err(OneShotError::TooSmall { needed: written });
        }
        Ok(written)
    }

    /// Forced cuts so far (runs longer than the window; see `decoder::StreamLabeler`).
    pub fn forced_cuts(&self) -> u64 {
        self.segmenter.forced_cuts()
    }
}

/// One labeled unit (`crf_unit` in C): a character, a separator, an invalid byte sequence or a line ending,
/// with its original bytes. The bytes of all units of an input, in order, are that input again.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabeledUnit {
    /// The unit's input bytes; `bytes[..len]` are meaningful, the rest are 0.
    pub bytes: [u8; 4],
    /// Number of input bytes: 1..=4 for a character, separator or invalid sequence; 1 (`\n`) or 2
    /// (`\r\n`) for a line ending.
    pub len: u8,
    /// The tag index (below the model's tag count), `CRF_TAG_SEPARATOR` or `CRF_TAG_LINE_END`.
    pub tag: u8,
    /// The character (U+FFFD for an invalid sequence, `\n` for a line ending).
    pub codepoint: u32,
}

impl LabeledUnit {
    /// The unit an event reports, or `None` for the end of an input without a final line ending (which
    /// has no bytes).
    fn of(event: Event) -> Option<Self> {
        match event {
            Event::Unit(unit) => Some(Self {
                bytes: unit.bytes,
                len: unit.len,
                tag: unit.tag.unwrap_or(TAG_SEPARATOR),
                codepoint: u32::from(unit.ch),
            }),
            Event::LineEnd(LineEnding::Lf) => {
                Some(Self { bytes: [b'\n', 0, 0, 0], len: 1, tag: TAG_LINE_END, codepoint: u32::from('\n') })
            }
            Event::LineEnd(LineEnding::CrLf) => {
                Some(Self { bytes: [b'\r', b'\n', 0, 0], len: 2, tag: TAG_LINE_END, codepoint: u32::from('\n') })
            }
            Event::LineEnd(_) => None,
        }
    }
}

/// A streaming labeler (`crf_labeler` in C): every character with its tag, as `decoder::StreamLabeler`
/// with `DEFAULT_WINDOW` reports them; and whole lines into a caller's tag buffer.
#[derive(Debug)]
pub struct CrfLabeler {
    /// [`LABELER_MAGIC`] once initialised.
    pub(crate) magic: u32,
    /// Bytes were pushed since the last finish.
    pub(crate) streaming: bool,
    pub(crate) labeler: StreamLabeler<'static, DEFAULT_WINDOW>,
}

impl CrfLabeler {
    /// A labeler for `model`, at the start of the input.
    pub fn new(model: &CrfModel) -> Self {
        Self { magic: LABELER_MAGIC, streaming: false, labeler: StreamLabeler::new(&model.model) }
    }

    /// Feeds input bytes; `on_unit` receives every unit whose tag is final, in input order.
    pub fn push(&mut self, bytes: &[u8], mut on_unit: impl FnMut(&LabeledUnit)) {
        self.streaming = true;
        self.labeler.push(bytes, |event| {
            if let Some(unit) = LabeledUnit::of(event) {
                on_unit(&unit);
            }
        });
    }

    /// Ends the input: reports the remaining units. The labeler is then ready for a new input.
    pub fn finish(&mut self, mut on_unit: impl FnMut(&LabeledUnit)) {
        self.labeler.finish(|event| {
            if let Some(unit) = LabeledUnit::of(event) {
                on_unit(&unit);
            }
        });
        self.streaming = false;
    }

    /// Whether a stream is open (bytes pushed since the last finish).
    pub fn is_streaming(&self) -> bool {
        self.streaming
    }

    /// Labels the whole of `text` as one input: `tags[i]` receives the tag of its `i`-th unit (one entry
    /// per character, separator or invalid sequence, and per line ending inside the text, tagged
    /// [`TAG_SEPARATOR`] / [`TAG_LINE_END`] as in [`LabeledUnit`]). Returns the number of entries written.
    ///
    /// With too small a `tags` the text is still labeled to count its units, `tags` keeps the first
    /// entries, and the error says how many are needed.
    pub fn label_line(&mut self, text: &[u8], tags: &mut [u8]) -> Result<usize, OneShotError> {
        if self.streaming {
            return Err(OneShotError::StreamOpen);
        }
        let mut count = 0usize;
        let mut record = |unit: &LabeledUnit| {
            if let Some(slot) = tags.get_mut(count) {
                *slot = unit.tag;
            }
            count += 1;
        };
        self.push(text, &mut record);
        self.finish(&mut record);
        if count > tags.len() {
            return Err(OneShotError::TooSmall { needed: count });
        }
        Ok(count)
    }

    /// Forced cuts so far.
    pub fn forced_cuts(&self) -> u64 {
        self.labeler.forced_cuts()
    }
}

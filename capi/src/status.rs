//! What every call returns, and the static messages that explain it.

use core::ffi::CStr;

use decoder::ModelError;

/// The outcome of a call: `CRF_STATUS_OK` (0) or the reason it did nothing.
///
/// A call that fails changes no state, except as its documentation says (`crf_label_line` still reports
/// the size it needs). `crf_status_message` gives a sentence for each.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrfStatus {
    /// Success.
    Ok = 0,
    /// A required pointer argument is null (or a byte pointer is null with a non-zero length).
    NullPointer = 1,
    /// Caller memory or a state pointer is not aligned to the state's alignment (`crf_*_align()`), or an
    /// output pointer (`size_t *`, `uint64_t *`, ...) is not aligned for its type.
    Misaligned = 2,
    /// The memory offered for a state is smaller than the state (`crf_*_size()`).
    MemoryTooSmall = 3,
    /// An output buffer is too small; the call says how large it must be.
    BufferTooSmall = 4,
    /// The state pointer does not point at an initialised state of that kind (never initialised, another
    /// kind of state, or overwritten).
    NotInitialized = 5,
    /// The model bytes are not a model this decoder can run (the message names the failed check).
    BadModel = 6,
    /// A tag index is not below the model's number of tags.
    NoSuchTag = 7,
    /// The call is not allowed in the state's current phase: a one-shot call (`crf_segment_text`,
    /// `crf_label_line`) while a push stream on the same state is open.
    WrongPhase = 8,
    /// A length is larger than any object can be (over `PTRDIFF_MAX`).
    InvalidLength = 9,
    /// The dictionary bytes are not a compiled user dictionary this decoder can use (the message names
    /// the failed check).
    BadDictionary = 10,
    /// A word-list line cannot become a dictionary word (the call reports the line and what is wrong).
    BadWordList = 11,
}

impl CrfStatus {
    /// A static, NUL-terminated sentence describing the status.
    pub fn message(self) -> &'static CStr {
        match self {
            Self::Ok => c"ok",
            Self::NullPointer => c"a required pointer argument is null",
            Self::Misaligned => c"memory, a state pointer or an output pointer is not aligned for its type",
            Self::MemoryTooSmall => c"the memory offered for the state is smaller than the state's size",
            Self::BufferTooSmall => c"the output buffer is too small",
            Self::NotInitialized => c"the pointer does not point at an initialised state of this kind",
            Self::BadModel => c"the bytes are not a usable model file",
            Self::NoSuchTag => c"the tag index is not below the model's number of tags",
            Self::WrongPhase => c"a one-shot call is not allowed while a push stream is open (finish it first)",
            Self::InvalidLength => c"a length is larger than any object can be",
            Self::BadDictionary => c"the bytes are not a usable compiled user dictionary",
            Self::BadWordList => c"a line of the word list cannot be a dictionary word",
        }
    }

    /// The status whose code is `code`, if any (codes come from C as plain integers).
    pub fn from_code(code: i32) -> Option<Self> {
        const ALL: [CrfStatus; 12] = [
            CrfStatus::Ok,
            CrfStatus::NullPointer,
            CrfStatus::Misaligned,
            CrfStatus::MemoryTooSmall,
            CrfStatus::BufferTooSmall,
            CrfStatus::NotInitialized,
            CrfStatus::BadModel,
            CrfStatus::NoSuchTag,
            CrfStatus::WrongPhase,
            CrfStatus::InvalidLength,
            CrfStatus::BadDictionary,
            CrfStatus::BadWordList,
        ];
        ALL.into_iter().find(|status| *status as i32 == code)
    }
}

/// The message for a code that is no [`CrfStatus`].
pub const UNKNOWN_STATUS_MESSAGE: &CStr = c"unknown status code";

/// A static, NUL-terminated sentence naming the check a model file failed (the decoder's own messages
/// carry figures and need formatting; these do not).
pub fn model_error_message(error: &ModelError) -> &'static CStr {
    match error {
        ModelError::TooShort { .. } => c"model too short: smaller than magic, version and checksum",
        ModelError::BadMagic { .. } => c"not a model file: the first four bytes are not the magic CRFm",
        ModelError::UnsupportedVersion { .. } => c"model format version not supported by this decoder",
        ModelError::BadChecksum { .. } => c"model is corrupt: its CRC-32 does not match its contents",
        ModelError::Malformed => c"model body is truncated or malformed",
        ModelError::TrailingBytes { .. } => c"model body has unread bytes before the checksum",
        ModelError::BadTagCount { .. } => c"model declares no tags or more than the decoder supports",
        ModelError::BadTagName => c"model has an empty, repeated or invalid tag name",
        ModelError::TensorSize { .. } => c"a model tensor does not have the size its header implies",
        ModelError::BadConstraint => c"a custom constraint entry is not 0 or 1",
        ModelError::UnusableConstraints => {
            c"constraints leave no start tag, no end tag, or a sequence length without an allowed tag sequence"
        }
        ModelError::TransitionGraphNotPrimitive => c"allowed-transition graph is not strongly connected and aperiodic",
        ModelError::BadTemplateCount { .. } => c"model declares no feature templates or too many",
        ModelError::BadTemplate { .. } => c"a feature template has an unknown kind or offsets out of range",
        ModelError::BadBucketBits { .. } => c"hash table size is out of range",
        ModelError::BadRowCount { .. } => c"codebook row count is out of range",
        ModelError::BadHashCount { .. } => c"rows per feature are out of range",
        ModelError::BadWeightShift { .. } => c"weight shift is too large for the weight type",
        ModelError::UnknownNormalization { .. } => c"model sets an unknown normalisation flag",
        ModelError::BadWordList => c"word list is not ascending hashes, or its index does not match it",
        // A check added to the decoder after this list: still a clear refusal.
        _ => c"model rejected by a check of the decoder",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_back_to_its_status_and_has_a_message() {
        for code in 0..12 {
            let status = CrfStatus::from_code(code).unwrap();
            assert_eq!(status as i32, code);
            assert!(!status.message().is_empty());
        }
        assert_eq!(CrfStatus::from_code(12), None);
        assert_eq!(CrfStatus::from_code(-1), None);
    }
}

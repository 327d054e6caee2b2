//! The user dictionary as the C API keeps it (`crf_dictionary`), and the static messages for a bad
//! dictionary file or word list.

use core::ffi::CStr;

use decoder::{Dictionary, DictionaryError, WordListErrorKind};

/// Tag word of a dictionary state ("CRFD").
pub(crate) const DICTIONARY_STATE_MAGIC: u32 = 0x4352_4644;

/// A loaded user dictionary (`crf_dictionary` in C): a validated view of compiled "CRFd" bytes that the
/// caller keeps alive and unchanged while the dictionary, and every state made with it, is used.
#[derive(Debug)]
pub struct CrfDictionary {
    /// [`DICTIONARY_STATE_MAGIC`] once initialised; first, so `ffi` can read it alone.
    pub(crate) magic: u32,
    dictionary: Dictionary<'static>,
}

impl CrfDictionary {
    /// Checks and borrows a compiled dictionary, like `decoder::Dictionary::from_bytes`.
    pub fn load(bytes: &'static [u8]) -> Result<Self, DictionaryError> {
        Ok(Self { magic: DICTIONARY_STATE_MAGIC, dictionary: Dictionary::from_bytes(bytes)? })
    }

    /// The decoder's dictionary.
    pub fn dictionary(&self) -> &Dictionary<'static> {
        &self.dictionary
    }

    /// Number of words.
    pub fn word_count(&self) -> usize {
        self.dictionary.len()
    }
}

/// A static, NUL-terminated sentence naming the check dictionary bytes failed.
pub fn dictionary_error_message(error: &DictionaryError) -> &'static CStr {
    match error {
        DictionaryError::TooShort { .. } => c"dictionary too short: smaller than header, root index and checksum",
        DictionaryError::BadMagic { .. } => c"not a dictionary file: the first four bytes are not the magic CRFd",
        DictionaryError::UnsupportedVersion { .. } => c"dictionary format version not supported by this decoder",
        DictionaryError::BadChecksum { .. } => c"dictionary is corrupt: its CRC-32 does not match its contents",
        DictionaryError::BadMaxWordChars { .. } => c"dictionary declares a maximum word length of 0 or above 32",
        DictionaryError::SizeMismatch { .. } => c"dictionary length does not match the node count in its header",
        DictionaryError::BadTrie => c"dictionary trie is inconsistent",
        // A check added to the decoder after this list: still a clear refusal.
        _ => c"dictionary rejected by a check of the decoder",
    }
}

/// A static, NUL-terminated sentence saying what is wrong with a word-list line (the line number is
/// reported apart).
pub fn word_list_error_message(kind: &WordListErrorKind) -> &'static CStr {
    match kind {
        WordListErrorKind::InvalidUtf8 => c"word list line is not valid UTF-8",
        WordListErrorKind::EmptyWord => c"word list line is empty",
        WordListErrorKind::TooLong { .. } => c"word list line has a word of more than 32 characters",
        WordListErrorKind::WhiteSpace => c"word list line has white space inside a word",
    }
}

#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
// The unit tests' property tests (proptest) need `std` by name.
#[cfg(test)]
extern crate std;

// The layers, lowest first: a module reads only modules above it in this list, so no module imports
// one that imports it (`tests/layers.rs` checks this).
// CRC-32 of the file.
mod crc;
// the feature hash.
mod hash;
// the decoder's fixed limits.
mod limits;
// normalisation and character classes.
mod text;
// token-level (CoNLL column) templates and their hashes.
#[cfg(feature = "tokens")]
mod tokens;
// the mention list section of token-level models (format version 8).
#[cfg(feature = "tokens")]
mod mentions;
// the neural encoder's part of the wire format.
#[cfg(feature = "neural")]
mod neural_format;
// the user dictionary.
mod dictionary;
// the error enums.
mod error;
// tag schemes and the hard masks.
mod tags;
// forced spans: dictionary words, URLs, e-mail addresses, numbers.
mod spans;
// the word list.
mod lexicon;
// templates and their hashes.
mod features;
// the wire format.
mod format;
// integer inference of the neural encoder.
#[cfg(feature = "neural")]
mod neural;
// each layer's activations computed once per position.
#[cfg(feature = "neural")]
mod neural_cache;
// emission scores.
mod emission;
// the loaded model.
mod model;
// hard-masked Viterbi.
mod lattice;
// the streaming labeler.
mod stream;
// the segmenter.
mod segment;
// the streaming labeler of token-level models.
#[cfg(feature = "tokens")]
mod token_labeler;

pub mod internal;

#[cfg(feature = "alloc")]
pub use dictionary::build_dictionary;
pub use dictionary::{
    Dictionary, DictionaryError, TrieNode, WordListError, WordListErrorKind, DICTIONARY_MAGIC, DICTIONARY_VERSION,
    MAX_WORD_CHARS,
};
pub use error::{LatticeError, ModelError, Tensor};
#[cfg(feature = "neural")]
pub use error::{NeuralPart, NeuralProblem};
pub use lattice::LineLabeler;
pub use limits::{FORMAT_VERSION, MAX_BUCKET_BITS, MAX_CHAR_TAGS, MAX_TAGS, MAX_TEMPLATES};
pub use model::Model;
pub use segment::{word_spans, Segmenter, WordSpans, DEFAULT_SEPARATOR, DEFAULT_WINDOW};
pub use spans::{SpanRules, SPAN_LOOKAHEAD};
pub use stream::{Event, Labeled, LineEnding, StreamLabeler};
pub use tags::TagScheme;
#[cfg(feature = "tokens")]
pub use token_labeler::{Answer, LineError, TokenLabeler, TokenStats, DOCUMENT_START};

/// Whether this build reads neural and hybrid models (the `neural` feature). Such a build's
/// [`Segmenter`] and [`StreamLabeler`] carry the encoder's layer cache, so they are larger: code that
/// sizes their memory in advance (the C API) needs to know.
pub const NEURAL_BUILT: bool = cfg!(feature = "neural");

/// The workspace README's Rust example, compiled as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadme;

//! The fixed limits every model and every decoder of this crate share. A leaf module: everything else may
//! read it, it reads nothing.

/// Most tags a model may have: 16, or 32 for a token-level model with the `wide-tags` feature.
///
/// A tag set is a bitmask and the decoder's tables are sized by this limit: the lattice holds
/// `[[i32; N]; N]` transition scores and `[[u8; N]; N]` predecessor lists for `N` tags, and a column
/// `[i32; N]` scores. Raising the limit for every build would cost each board RAM for models that do
/// not need it (the 16-tag lattice is 1.5 KiB of a Cortex-M0's 16 KiB; a 32-tag one is 5.5 KiB) and
/// 32-bit rather than 16-bit masks. So the lattice is generic over its width
/// ([`TagMask`](crate::internal::tags::TagMask): `u16` masks for 16 tags, `u32` for 32): the
/// streaming labeler, the segmenter and [`LineLabeler`](crate::LineLabeler) (character-level models,
/// the firmware's and the C API's) are always the 16-tag lattice, whatever the features, and keep their
/// code, their sizes and their instructions per character. A token-level model of more than 16 tags
/// (CoNLL-2000 chunking has 22, Weibo NER 17) is decoded by the 32-tag lattice, which exists only with
/// the additive `wide-tags` feature (the trainer and the Python package enable it; the firmware and the
/// C API do not). Without it such a model is refused at load ([`crate::ModelError::BadTagCount`]).
/// 32 rather than 64: `u32` masks are one register on every Cortex-M, back-pointers still fit a byte,
/// and with Wielandt's bound `(32-1)^2 + 1 = 962` on the primitivity exponent the scores still provably
/// fit `i32` (see `lattice.rs`); 64 tags would need 64-bit masks and a separate bound on the exponent.
#[cfg(not(feature = "wide-tags"))]
pub const MAX_TAGS: usize = 16;
/// Most tags a model may have: 16, or 32 for a token-level model with the `wide-tags` feature (see the
/// build without it for why).
#[cfg(feature = "wide-tags")]
pub const MAX_TAGS: usize = 32;
/// Most tags of a character-level model (segmentation, character tagging, neural): 16 with or without
/// `wide-tags`, the width of the streaming labeler, the segmenter and [`crate::LineLabeler`].
pub const MAX_CHAR_TAGS: usize = 16;
/// Most feature templates a hashed n-gram model may have. With every weight within the i16 range this
/// keeps one position's emission score within `MAX_TEMPLATES * 2^15 = 2^20`.
pub const MAX_TEMPLATES: usize = 32;
/// Largest hash table: `2^24` rows.
pub const MAX_BUCKET_BITS: u8 = 24;
/// Largest absolute character offset a feature template may read.
pub const MAX_OFFSET: usize = 4;
/// Most rows a codebook model reads per feature.
pub const MAX_HASHES_PER_FEATURE: u8 = 2;
/// The newest model format version this crate reads and writes (it reads every version from
/// [`OLDEST_FORMAT_VERSION`] on). Version 5 adds the neural encoder, 6 the token-level template
/// section, 7 the hybrid model (the encoder plus an n-gram table), 8 a token-level model's mention list.
/// A build without the `neural` feature refuses versions 5 and 7 (`ModelError::NeuralNotBuilt`), one
/// without `tokens` versions 6 and 8 (`ModelError::TokensNotBuilt`).
#[cfg(any(feature = "tokens", feature = "neural"))]
pub const FORMAT_VERSION: u16 = 8;
/// The newest model format version this crate reads and writes: built without `tokens` and `neural`,
/// versions 5 to 8 are refused as unsupported.
#[cfg(all(not(feature = "tokens"), not(feature = "neural")))]
pub const FORMAT_VERSION: u16 = 4;
/// The format version of a token-level model (a template section after the body).
pub const TOKEN_FORMAT_VERSION: u16 = 6;
/// The format version of a token-level model with a mention list (version 6 plus a section holding the
/// list, from which the host computes the last [`MENTION_COLUMNS`] input columns).
pub const MENTION_FORMAT_VERSION: u16 = 8;
/// Input columns a mention list gives each token (the last ones the model reads): the lengths of the
/// longest listed mention starting and ending at it, and its tag in a tagging by the list.
pub const MENTION_COLUMNS: usize = 3;
/// Most tokens of a listed mention.
pub const MAX_MENTION_TOKENS: usize = 10;
/// Most bytes of a mention list section (16 MiB, far above any list a training file gives).
pub const MAX_MENTION_LIST_BYTES: usize = 1 << 24;
/// The oldest model format version this crate reads.
pub const OLDEST_FORMAT_VERSION: u16 = 1;

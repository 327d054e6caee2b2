//! The fixed limits every model and every decoder of this crate share. A leaf module: everything else may
//! read it, it reads nothing.

/// Most tags a model may have (tag sets are `u16` bitmasks).
pub const MAX_TAGS: usize = 16;
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
/// [`OLDEST_FORMAT_VERSION`] on; without the `neural` feature, version 5, which adds the neural encoder,
/// is refused as unsupported). Version 6 adds the token-level template section.
#[cfg(feature = "tokens")]
pub const FORMAT_VERSION: u16 = 6;
/// The newest model format version this crate reads and writes: built without `tokens`, version 6 is
/// refused as unsupported.
#[cfg(all(not(feature = "tokens"), feature = "neural"))]
pub const FORMAT_VERSION: u16 = 5;
/// The newest model format version this crate reads and writes: built without `tokens` and `neural`,
/// versions 5 and 6 are refused as unsupported.
#[cfg(all(not(feature = "tokens"), not(feature = "neural")))]
pub const FORMAT_VERSION: u16 = 4;
/// The format version of a token-level model (a template section after the body).
pub const TOKEN_FORMAT_VERSION: u16 = 6;
/// The oldest model format version this crate reads.
pub const OLDEST_FORMAT_VERSION: u16 = 1;

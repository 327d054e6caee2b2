//! The model file format, defined once: the trainer writes it with `encode` (feature `alloc`), the decoder
//! reads it with [`crate::Model::from_bytes`]. `decoder/FORMAT.md` is the prose specification; the
//! exact-byte tests in `decoder/tests/format.rs` freeze it.
//!
//! ```text
//! file     = magic version body crc32
//! magic    = "CRFm"                      4 raw bytes
//! version  = u16                         postcard varint (1 byte for versions < 128)
//! body     = ModelBody                   postcard
//! crc32    = u32 little-endian           CRC-32 (IEEE) of every byte before it
//! ```
//! Tensors wider than a byte are stored as raw little-endian byte strings (postcard would varint-encode
//! them element by element), so the decoder reads them in place from flash, element-wise.

use serde::{Deserialize, Serialize};

use crate::crc::crc32;
use crate::error::ModelError;
use crate::features::{Template, TEMPLATE_BYTES};
pub use crate::limits::{
    FORMAT_VERSION, MAX_HASHES_PER_FEATURE, MAX_MENTION_LIST_BYTES, MAX_MENTION_TOKENS, MENTION_COLUMNS,
    MENTION_FORMAT_VERSION, OLDEST_FORMAT_VERSION, TOKEN_FORMAT_VERSION,
};
#[cfg(feature = "neural")]
pub use crate::neural_format::*;

/// The first four bytes of every model file.
pub const MAGIC: [u8; 4] = *b"CRFm";
/// Bytes of the trailing CRC-32.
pub const CHECKSUM_BYTES: usize = 4;

/// Everything after the version: tags, constraints, emission model and transition scores.
///
/// Shapes use `L` = number of tags. All scores are integers in units of `2^-score_frac_bits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelBody<'a> {
    /// Tag names separated by single ASCII spaces, e.g. `"B M E S"`. Tag `i` is the `i`-th name.
    /// The tag scheme (BMES, BIO, BIOES) and its allowed transitions are derived from these names.
    #[serde(borrow)]
    pub tag_names: &'a str,
    /// Allowed transitions, start and end tags, when they should not be derived from the names.
    #[serde(borrow)]
    pub constraints: Option<CustomConstraints<'a>>,
    /// Fractional bits of every score: an integer score `s` means `s / 2^score_frac_bits`.
    pub score_frac_bits: u8,
    /// The emission model: per-character, per-tag scores.
    #[serde(borrow)]
    pub emission: EmissionSpec<'a>,
    /// The CRF layer: transition, start and end scores.
    #[serde(borrow)]
    pub transitions: TransitionSpec<'a>,
    /// Free text for people (trainer version, corpus, scores); the decoder ignores it.
    #[serde(borrow)]
    pub metadata: &'a str,
}

impl ModelBody<'_> {
    /// The oldest format version that can express this body: 1 for [`EmissionSpec::HashedNgram`], 2 for
    /// [`EmissionSpec::CodebookNgram`], 5 for `Neural`, 7 for `Hybrid`, 3 for [`EmissionSpec::LexiconNgram`], or the newer version its
    /// templates need ([`Template::format_version`]: 4 for covering words or a lexicon
    /// feature with a character).
    pub fn version(&self) -> u16 {
        match self.emission {
            EmissionSpec::HashedNgram(_) => 1,
            EmissionSpec::CodebookNgram(_) => 2,
            #[cfg(feature = "neural")]
            EmissionSpec::Neural(_) => crate::neural_format::NEURAL_FORMAT_VERSION,
            #[cfg(feature = "neural")]
            EmissionSpec::Hybrid(_) => crate::neural_format::HYBRID_FORMAT_VERSION,
            EmissionSpec::LexiconNgram(spec) => {
                let templates = match spec.table {
                    NgramTable::Hashed(t) => t.templates,
                    NgramTable::Codebook(t) => t.templates,
                };
                // Templates that do not decode are refused at load whatever the version.
                let needed = templates
                    .chunks_exact(TEMPLATE_BYTES)
                    .filter_map(|c| Template::decode([c[0], c[1], c[2], c[3]]))
                    .map(Template::format_version)
                    .max();
                needed.unwrap_or(3).max(3)
            }
        }
    }
}

/// A custom constraint set; each entry is 0 (forbidden) or 1 (allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomConstraints<'a> {
    /// `[L][L]` bytes, `allowed_transitions[from * L + to]`.
    #[serde(borrow)]
    pub allowed_transitions: &'a [u8],
    /// `[L]` bytes: may a sequence start with this tag.
    #[serde(borrow)]
    pub allowed_start: &'a [u8],
    /// `[L]` bytes: may a sequence end with this tag.
    #[serde(borrow)]
    pub allowed_end: &'a [u8],
}

/// The kinds of emission model. New kinds are added as new variants (a new format version), without
/// touching the lattice.
// No allocator to box the neural variant in: the spec is a borrowed view, built once at load.
#[cfg_attr(feature = "neural", allow(clippy::large_enum_variant))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmissionSpec<'a> {
    /// Hashed character n-gram features with one weight row per hash bucket (version 1).
    #[serde(borrow)]
    HashedNgram(HashedNgramSpec<'a>),
    /// Hashed character n-gram features whose rows are one-byte codes into a shared codebook of row
    /// vectors (version 2): a quarter of the bytes per row of `I8` weights with four tags.
    #[serde(borrow)]
    CodebookNgram(CodebookNgramSpec<'a>),
    /// Either table plus a word list that its lexicon templates ([`Template::Lexicon`])
    /// look words up in (version 3).
    #[serde(borrow)]
    LexiconNgram(LexiconNgramSpec<'a>),
    /// A small integer neural encoder: character and hashed n-gram embeddings, 1-D convolutions with
    /// ReLU, and a dense layer to one score per tag (version 5, decoder feature `neural`).
    #[cfg(feature = "neural")]
    #[serde(borrow)]
    Neural(crate::neural_format::NeuralSpec<'a>),
    /// The neural encoder plus an n-gram table, trained jointly: a position's score is
    /// `clamp(neural_l + table_l, ±MAX_TEMPLATES * 2^15)`, the encoder's score (as [`EmissionSpec::Neural`]
    /// computes it) plus the table's row sums (as the n-gram kinds compute them), both in score units
    /// (version 7, decoder feature `neural`). The table is not part of the body: it follows it, as its own
    /// section (an [`NgramTable`] without a word list, whose normalisation must be the encoder's; see
    /// [`encode_with_table`]).
    #[cfg(feature = "neural")]
    #[serde(borrow)]
    Hybrid(crate::neural_format::NeuralSpec<'a>),
}

impl<'a> EmissionSpec<'a> {
    /// The n-gram table, whichever the kind: the spec itself, or a lexicon model's table (`None` for a
    /// neural model, and for a hybrid model, whose table is a section of its own).
    pub const fn table(&self) -> Option<NgramTable<'a>> {
        match *self {
            Self::HashedNgram(s) => Some(NgramTable::Hashed(s)),
            Self::CodebookNgram(s) => Some(NgramTable::Codebook(s)),
            Self::LexiconNgram(s) => Some(s.table),
            #[cfg(feature = "neural")]
            Self::Neural(_) => None,
            #[cfg(feature = "neural")]
            Self::Hybrid(_) => None,
        }
    }

    /// The word list of a lexicon model: hashes, index bits and index (`None` for the other kinds).
    pub const fn words(&self) -> Option<(&'a [u8], u8, &'a [u8])> {
        match *self {
            Self::LexiconNgram(s) => Some((s.words, s.index_bits, s.index)),
            _ => None,
        }
    }
}

/// The table of a [`LexiconNgramSpec`]: one of the two n-gram kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NgramTable<'a> {
    /// Direct weights, as [`EmissionSpec::HashedNgram`].
    #[serde(borrow)]
    Hashed(HashedNgramSpec<'a>),
    /// Codes into a codebook, as [`EmissionSpec::CodebookNgram`].
    #[serde(borrow)]
    Codebook(CodebookNgramSpec<'a>),
}

/// N-gram emission model with a word list: scored exactly as its table alone, where the feature of a
/// lexicon template is the length of the longest listed word in its span
/// (see [`Template::Lexicon`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LexiconNgramSpec<'a> {
    /// The weight table and templates (lexicon templates allowed).
    #[serde(borrow)]
    pub table: NgramTable<'a>,
    /// `[W]` little-endian `u32` word hashes (`lexicon::word_hash` of each word's normalised
    /// characters), strictly ascending.
    #[serde(borrow)]
    pub words: &'a [u8],
    /// The index has `2^index_bits` buckets, `0..=MAX_INDEX_BITS`.
    pub index_bits: u8,
    /// `[2^index_bits + 1]` little-endian `u32`: entry `k` is the number of words whose hash's top
    /// `index_bits` bits are below `k` (`lexicon::bucket_of`).
    #[serde(borrow)]
    pub index: &'a [u8],
}

/// Entries of the codebook of [`CodebookNgramSpec`]: every byte value is a code.
pub const CODEBOOK_ENTRIES: usize = 256;

/// Codebook n-gram emission model: the score of tag `l` at a character is the sum over templates `k`
/// of `codebook[codes[row(hash_k, rows)]][l]` (and with `H = 2` also of the row of
/// `features::second_hash``(hash_k)`), shifted by `weight_shift`, with `hash_k` the template's
/// hash at the context and `row(hash, rows) = (hash * rows) >> 32` (`features::row`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodebookNgramSpec<'a> {
    /// Character normalisation before feature extraction (`text::NORMALIZE_*` flags).
    pub normalization: u8,
    /// Feature templates, [`TEMPLATE_BYTES`] bytes each (see [`Template`]).
    #[serde(borrow)]
    pub templates: &'a [u8],
    /// Number of rows `R` of the hashed table, `1..=2^MAX_BUCKET_BITS` (any number, not only powers of two).
    pub rows: u32,
    /// Rows read per feature `H`, `1..=MAX_HASHES_PER_FEATURE` (and `H * templates <= MAX_TEMPLATES`): the
    /// row of the feature's hash, and with `H = 2` also that of `features::second_hash`, summed.
    pub hashes_per_feature: u8,
    /// `[R]` bytes: the codebook entry of each row.
    #[serde(borrow)]
    pub codes: &'a [u8],
    /// Element type of `codebook`.
    pub weight_type: WeightType,
    /// Left shift applied to each codebook element to bring it to score units.
    pub weight_shift: u8,
    /// `[CODEBOOK_ENTRIES][L]` little-endian elements of `weight_type`, row-major.
    #[serde(borrow)]
    pub codebook: &'a [u8],
}

/// Hashed character n-gram emission model: the score of tag `l` at a character is the sum over templates
/// `k` of `weights[bucket(hash_k(context))][l] << weight_shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashedNgramSpec<'a> {
    /// Character normalisation before feature extraction (`text::NORMALIZE_*` flags).
    pub normalization: u8,
    /// Feature templates, [`TEMPLATE_BYTES`] bytes each (see [`Template`]).
    #[serde(borrow)]
    pub templates: &'a [u8],
    /// The table has `2^bucket_bits` rows.
    pub bucket_bits: u8,
    /// Element type of `weights`.
    pub weight_type: WeightType,
    /// Left shift applied to each weight to bring it to score units; `|w << shift|` must fit an i16.
    pub weight_shift: u8,
    /// `[2^bucket_bits][L]` little-endian elements of `weight_type`, row-major.
    #[serde(borrow)]
    pub weights: &'a [u8],
}

/// Element type of a weight tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WeightType {
    /// Signed 8-bit.
    I8,
    /// Signed 16-bit, little-endian.
    I16,
}

impl WeightType {
    /// Bytes per element.
    pub const fn bytes(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 => 2,
        }
    }
}

/// The CRF layer's scores, each a little-endian i16 in score units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionSpec<'a> {
    /// `[L][L]`, `transitions[from * L + to]`.
    #[serde(borrow)]
    pub transitions: &'a [u8],
    /// `[L]`: score of starting a sequence with each tag.
    #[serde(borrow)]
    pub start: &'a [u8],
    /// `[L]`: score of ending a sequence with each tag.
    #[serde(borrow)]
    pub end: &'a [u8],
}

/// The token-level section of a version-6 file (after the body): the CRF++-style unigram templates its
/// features come from (`crate::internal::tokens`). The body's emission table is read through these
/// templates instead of its character templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSpec<'a> {
    /// Input columns of a token (the word first; the tag column is not counted), `1..=MAX_COLUMNS`.
    pub columns: u8,
    /// The unigram template lines, separated by single `\n` (no final one), each starting with `U`.
    #[serde(borrow)]
    pub templates: &'a str,
}

/// Serialises a model: magic, version, postcard body, CRC-32.
#[cfg(feature = "alloc")]
pub fn encode(body: &ModelBody<'_>) -> Result<alloc::vec::Vec<u8>, postcard::Error> {
    encode_with_tokens(body, None)
}

/// Serialises a hybrid model (a body whose emission is [`EmissionSpec::Hybrid`]) with its n-gram table:
/// magic, version, postcard body, postcard table, CRC-32.
#[cfg(all(feature = "alloc", feature = "neural"))]
pub fn encode_with_table(body: &ModelBody<'_>, table: &NgramTable<'_>) -> Result<alloc::vec::Vec<u8>, postcard::Error> {
    let mut out = encode(body)?;
    out.truncate(out.len() - CHECKSUM_BYTES);
    out.extend_from_slice(&postcard::to_allocvec(table)?);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Serialises a model with, for a token-level model, its template section (then the file is version
/// [`TOKEN_FORMAT_VERSION`]): magic, version, postcard body, postcard section, CRC-32.
#[cfg(feature = "alloc")]
pub fn encode_with_tokens(
    body: &ModelBody<'_>,
    tokens: Option<&TokenSpec<'_>>,
) -> Result<alloc::vec::Vec<u8>, postcard::Error> {
    encode_token_model(body, tokens, None)
}

/// [`encode_with_tokens`], with a token-level model's mention list (then the file is version
/// [`MENTION_FORMAT_VERSION`]): the list's text, a postcard `&str`, follows the template section. The
/// list is written as given (`mentions` without `tokens` is ignored: only token-level models have one);
/// [`crate::Model::from_bytes`] checks its lines.
#[cfg(feature = "alloc")]
pub fn encode_token_model(
    body: &ModelBody<'_>,
    tokens: Option<&TokenSpec<'_>>,
    mentions: Option<&str>,
) -> Result<alloc::vec::Vec<u8>, postcard::Error> {
    let mut out = alloc::vec::Vec::from(MAGIC);
    let mentions = mentions.filter(|_| tokens.is_some());
    let version = match (tokens, mentions) {
        (None, _) => body.version(),
        (Some(_), None) => body.version().max(TOKEN_FORMAT_VERSION),
        (Some(_), Some(_)) => body.version().max(MENTION_FORMAT_VERSION),
    };
    out.extend_from_slice(&postcard::to_allocvec(&version)?);
    out.extend_from_slice(&postcard::to_allocvec(body)?);
    if let Some(tokens) = tokens {
        out.extend_from_slice(&postcard::to_allocvec(tokens)?);
    }
    if let Some(mentions) = mentions {
        out.extend_from_slice(&postcard::to_allocvec(mentions)?);
    }
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Packs i16 values as the little-endian bytes the format stores.
#[cfg(feature = "alloc")]
pub fn i16_bytes(values: &[i16]) -> alloc::vec::Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Checks magic, version and checksum, and decodes the body (structure only; [`crate::Model::from_bytes`]
/// then checks consistency). A token-level file's template section and a hybrid file's table are checked
/// and left out ([`decode_sections`] returns them).
pub fn decode(bytes: &[u8]) -> Result<ModelBody<'_>, ModelError> {
    decode_sections(bytes).map(|sections| sections.body)
}

/// [`decode`], also returning the template section of a token-level (version 6) file.
#[cfg(feature = "tokens")]
pub fn decode_with_tokens(bytes: &[u8]) -> Result<(ModelBody<'_>, Option<TokenSpec<'_>>), ModelError> {
    decode_sections(bytes).map(|sections| (sections.body, sections.tokens))
}

/// Everything a model file holds before its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections<'a> {
    /// The body.
    pub body: ModelBody<'a>,
    /// The template section of a token-level (version 6 or 8) file.
    #[cfg(feature = "tokens")]
    pub tokens: Option<TokenSpec<'a>>,
    /// The mention list of a token-level version-8 file (structure only: [`crate::Model::from_bytes`]
    /// checks its lines).
    #[cfg(feature = "tokens")]
    pub mentions: Option<&'a str>,
    /// The n-gram table of a hybrid (version 7) file.
    #[cfg(feature = "neural")]
    pub table: Option<NgramTable<'a>>,
}

/// Checks magic, version and checksum, and decodes the body and the sections after it (structure
/// only): the one decoding routine behind [`decode`] and `decode_with_tokens`.
pub fn decode_sections(bytes: &[u8]) -> Result<Sections<'_>, ModelError> {
    // magic + 1-byte version + empty-ish body + checksum
    if bytes.len() < MAGIC.len() + 1 + CHECKSUM_BYTES {
        return Err(ModelError::TooShort { len: bytes.len() });
    }
    let (magic, rest) = bytes.split_at(MAGIC.len());
    if magic != MAGIC {
        let mut found = [0; 4];
        found.copy_from_slice(magic);
        return Err(ModelError::BadMagic { found });
    }
    let (version, _) = postcard::take_from_bytes::<u16>(rest).map_err(|_| ModelError::Malformed)?;
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(ModelError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    #[cfg(all(feature = "tokens", not(feature = "neural")))]
    if version == 5 || version == 7 {
        return Err(ModelError::NeuralNotBuilt);
    }
    #[cfg(all(feature = "neural", not(feature = "tokens")))]
    if version == TOKEN_FORMAT_VERSION || version == MENTION_FORMAT_VERSION {
        return Err(ModelError::TokensNotBuilt);
    }
    let (covered, stored) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
    let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
    let computed = crc32(covered);
    if stored != computed {
        return Err(ModelError::BadChecksum { stored, computed });
    }
    let (_, body_bytes) =
        postcard::take_from_bytes::<u16>(&covered[MAGIC.len()..]).map_err(|_| ModelError::Malformed)?;
    #[allow(unused_mut)]
    let (body, mut unread) =
        postcard::take_from_bytes::<ModelBody<'_>>(body_bytes).map_err(|_| ModelError::Malformed)?;
    #[cfg(feature = "tokens")]
    let (mut tokens, mut mentions) = (None, None);
    // Versions TOKEN_FORMAT_VERSION and MENTION_FORMAT_VERSION pass the version check only with the
    // `tokens` feature; version 7 (the hybrid model's) has no token section.
    #[cfg(feature = "tokens")]
    if version == TOKEN_FORMAT_VERSION || version == MENTION_FORMAT_VERSION {
        // A token-level file: the section follows the body, over a plain n-gram table.
        let (section, rest) = postcard::take_from_bytes::<TokenSpec<'_>>(unread).map_err(|_| ModelError::Malformed)?;
        if !matches!(body.emission, EmissionSpec::HashedNgram(_) | EmissionSpec::CodebookNgram(_)) {
            return Err(ModelError::Malformed);
        }
        tokens = Some(section);
        unread = rest;
        if version == MENTION_FORMAT_VERSION {
            // Postcard checks the length against the bytes left and the UTF-8.
            let (list, rest) = postcard::take_from_bytes::<&str>(unread).map_err(|_| ModelError::Malformed)?;
            mentions = Some(list);
            unread = rest;
        }
    }
    // A hybrid body is followed by its table (and nothing else is).
    #[cfg(feature = "neural")]
    let mut table = None;
    #[cfg(feature = "neural")]
    if matches!(body.emission, EmissionSpec::Hybrid(_)) {
        let (section, rest) = postcard::take_from_bytes::<NgramTable<'_>>(unread).map_err(|_| ModelError::Malformed)?;
        table = Some(section);
        unread = rest;
    }
    if !unread.is_empty() {
        return Err(ModelError::TrailingBytes { count: unread.len() });
    }
    // A kind newer than the file's version is not part of that version.
    if body.version() > version {
        return Err(ModelError::Malformed);
    }
    Ok(Sections {
        body,
        #[cfg(feature = "tokens")]
        tokens,
        #[cfg(feature = "tokens")]
        mentions,
        #[cfg(feature = "neural")]
        table,
    })
}

//! The one error type of model loading.

use core::fmt;

use crate::limits::{
    MAX_BUCKET_BITS, MAX_CHAR_TAGS, MAX_HASHES_PER_FEATURE, MAX_TAGS, MAX_TEMPLATES, OLDEST_FORMAT_VERSION,
};

/// Why a byte slice is not a model this decoder can run.
///
/// Each variant is a distinct, documented failure; loading checks them in the order listed (magic, version,
/// checksum, structure, consistency), so the first problem found is the one reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ModelError {
    /// The slice is shorter than the smallest possible model (magic, version, checksum).
    TooShort {
        /// Length of the slice in bytes.
        len: usize,
    },
    /// The first four bytes are not the model-file magic `CRFm`: this is not a model file.
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// The file declares a format version this decoder does not read.
    UnsupportedVersion {
        /// The version found in the file.
        found: u16,
        /// The newest version this decoder reads ([`crate::FORMAT_VERSION`]; it reads every version from
        /// `OLDEST_FORMAT_VERSION` on).
        supported: u16,
    },
    /// The CRC-32 stored in the last four bytes does not match the contents: the file is corrupt.
    BadChecksum {
        /// CRC-32 stored in the file.
        stored: u32,
        /// CRC-32 computed over the file.
        computed: u32,
    },
    /// The body could not be decoded (truncated or malformed postcard data).
    Malformed,
    /// The body decoded but left bytes unread before the checksum.
    TrailingBytes {
        /// Number of unread bytes.
        count: usize,
    },
    /// The number of tags is zero or larger than the decoder supports: 16 for a character-level model,
    /// [`crate::MAX_TAGS`] for a token-level one (32 with the `wide-tags` feature, else 16).
    BadTagCount {
        /// Number of tags declared.
        count: usize,
    },
    /// A tag name is empty, repeated, or not printable ASCII/UTF-8 without spaces.
    BadTagName,
    /// A tensor's byte length does not match the shape the header implies.
    TensorSize {
        /// Which tensor.
        tensor: Tensor,
        /// Expected length in bytes.
        expected: usize,
        /// Length found in bytes.
        found: usize,
    },
    /// A custom constraint entry is not 0 or 1 (or, for constraints built in code, a bit is set at or above
    /// the number of tags).
    BadConstraint,
    /// No tag may start a sequence, no tag may end one, or some sequence length has no allowed tag
    /// sequence (then some tag can never be used, or some input could not be labeled).
    UnusableConstraints,
    /// The allowed-transition graph is not primitive (strongly connected and aperiodic), which the
    /// overflow-freedom proof of the fixed-point Viterbi needs (see `decoder/FORMAT.md`).
    TransitionGraphNotPrimitive,
    /// The number of feature templates is zero or larger than [`crate::MAX_TEMPLATES`].
    BadTemplateCount {
        /// Number of templates declared.
        count: usize,
    },
    /// A feature template has an unknown kind or offsets out of range.
    BadTemplate {
        /// Index of the template.
        index: usize,
    },
    /// The hash table size (`bucket_bits`) is outside `1..=MAX_BUCKET_BITS`.
    BadBucketBits {
        /// The value found.
        bits: u8,
    },
    /// The row count of a codebook model is outside `1..=2^MAX_BUCKET_BITS`.
    BadRowCount {
        /// The value found.
        rows: u32,
    },
    /// A codebook model's rows per feature are outside `1..=MAX_HASHES_PER_FEATURE`, or templates times
    /// rows per feature exceed [`crate::MAX_TEMPLATES`].
    BadHashCount {
        /// The value found.
        hashes: u8,
    },
    /// The weight shift would let a single weight leave the i16 range.
    BadWeightShift {
        /// The value found.
        shift: u8,
    },
    /// A normalisation flag this decoder does not know is set.
    UnknownNormalization {
        /// The flags found.
        flags: u8,
    },
    /// The word list is not a strictly ascending list of 32-bit hashes, or its index does not match it.
    BadWordList,
    /// A token-level model's template section is invalid.
    #[cfg(feature = "tokens")]
    BadTokenTemplates(crate::tokens::TemplateError),
    /// A token-level model's mention list (format version 8) is malformed: `line` is the 1-based number
    /// of its first line that is not `TYPE<TAB>tokens` (see `decoder/FORMAT.md`), or 0 when the list is
    /// longer than [`crate::internal::format::MAX_MENTION_LIST_BYTES`] or the model reads no input column
    /// besides the mention columns.
    #[cfg(feature = "tokens")]
    BadMentionList {
        /// The first bad line (1-based), or 0 for the whole list.
        line: usize,
    },
    /// A version-5 (neural) or version-7 (hybrid) file, read by a decoder built with `tokens` (so reading
    /// versions up to 7) but without its `neural` feature.
    #[cfg(all(feature = "tokens", not(feature = "neural")))]
    NeuralNotBuilt,
    /// A version-6 or version-8 (token-level) file, read by a decoder built with `neural` (so reading
    /// versions up to 8) but without its `tokens` feature.
    #[cfg(all(feature = "neural", not(feature = "tokens")))]
    TokensNotBuilt,
    /// A part of a neural encoder is inconsistent with the others or outside the decoder's limits.
    #[cfg(feature = "neural")]
    BadNeural {
        /// The part.
        part: NeuralPart,
        /// What is wrong with it.
        problem: NeuralProblem,
    },
}

/// A part of a neural encoder, for [`ModelError::BadNeural`].
#[cfg(feature = "neural")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NeuralPart {
    /// The vocabulary, the embeddings and their n-gram templates.
    Embedding,
    /// The convolution of this index (from 0).
    Conv(u8),
    /// The dense output layer.
    Dense,
}

/// What is wrong with a part of a neural encoder, for [`ModelError::BadNeural`].
#[cfg(feature = "neural")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum NeuralProblem {
    /// A tensor's byte length disagrees with the shapes of the layers around it.
    TensorSize {
        /// Which tensor.
        tensor: Tensor,
        /// Expected length in bytes.
        expected: usize,
        /// Length found in bytes.
        found: usize,
    },
    /// A channel count (embedding width or layer output) is outside `1..=MAX_CHANNELS`.
    Channels {
        /// The count found.
        found: usize,
    },
    /// A kernel width is even, 0 or above `MAX_KERNEL`, or the dilation is 0.
    Kernel {
        /// The width found.
        width: u8,
        /// The dilation found.
        dilation: u8,
    },
    /// The encoder reads further than `MAX_OFFSET` characters on a side.
    Reach {
        /// Characters read before the scored one.
        left: usize,
        /// Characters read after it.
        right: usize,
    },
    /// A convolution follows an absent one.
    LayerAfterGap,
    /// The vocabulary is not a strictly ascending list of u32 code points.
    Vocabulary,
    /// An n-gram template has a length outside `1..=MAX_NGRAM_LENGTH`, reads outside the window, or there
    /// are more than `MAX_NGRAM_TEMPLATES`.
    NgramTemplate {
        /// Index of the template.
        index: usize,
    },
    /// The n-gram table's bucket count is out of range.
    Buckets {
        /// The count found.
        found: u32,
    },
    /// A requantization multiplier is negative or its shift outside `MIN_SHIFT..=MAX_SHIFT`.
    Requantization {
        /// The output channel.
        channel: usize,
    },
    /// A hybrid model's n-gram table normalises characters otherwise than its encoder (both read one
    /// window of characters, normalised once).
    TableNormalization {
        /// The encoder's flags.
        encoder: u8,
        /// The table's flags.
        table: u8,
    },
}

#[cfg(feature = "neural")]
impl fmt::Display for NeuralPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Embedding => f.write_str("embeddings"),
            Self::Conv(index) => write!(f, "convolution {index}"),
            Self::Dense => f.write_str("dense layer"),
        }
    }
}

#[cfg(feature = "neural")]
impl fmt::Display for NeuralProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::neural_format::{MAX_CHANNELS, MAX_CONV_LAYERS, MAX_KERNEL, MAX_NGRAM_LENGTH, MAX_NGRAM_TEMPLATES};
        match *self {
            Self::TensorSize { tensor, expected, found } => {
                write!(f, "tensor {tensor:?} has {found} bytes, its shapes need {expected}")
            }
            Self::Channels { found } => write!(f, "{found} channels (1..={MAX_CHANNELS} supported)"),
            Self::Kernel { width, dilation } => {
                write!(f, "kernel width {width} dilation {dilation} (odd widths 1..={MAX_KERNEL}, dilation >= 1)")
            }
            Self::Reach { left, right } => write!(
                f,
                "reads {left} characters before and {right} after the scored one (at most {} each side)",
                crate::limits::MAX_OFFSET
            ),
            Self::LayerAfterGap => write!(f, "present after an absent layer (at most {MAX_CONV_LAYERS}, in order)"),
            Self::Vocabulary => f.write_str("vocabulary is not strictly ascending u32 code points"),
            Self::NgramTemplate { index } => write!(
                f,
                "n-gram template {index} is invalid (lengths 1..={MAX_NGRAM_LENGTH}, at most \
                 {MAX_NGRAM_TEMPLATES} templates)"
            ),
            Self::Buckets { found } => write!(f, "{found} n-gram buckets (1..=2^24)"),
            Self::Requantization { channel } => {
                write!(f, "requantization of channel {channel}: negative multiplier or shift out of range")
            }
            Self::TableNormalization { encoder, table } => {
                write!(f, "normalisation flags {encoder:#04x} differ from the hybrid n-gram table's {table:#04x}")
            }
        }
    }
}

/// Names a tensor of the model file, for [`ModelError::TensorSize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Tensor {
    /// Emission weights, `[buckets][L]` (a codebook model's codebook, `[256][L]`).
    EmissionWeights,
    /// A codebook model's row codes, `[rows]`.
    Codes,
    /// Transition scores, `[L][L]`.
    Transitions,
    /// Start scores, `[L]`.
    Start,
    /// End scores, `[L]`.
    End,
    /// Custom allowed-transition mask, `[L][L]`.
    AllowedTransitions,
    /// Custom allowed start tags, `[L]`.
    AllowedStart,
    /// Custom allowed end tags, `[L]`.
    AllowedEnd,
    /// A neural model's character embeddings, `[V + 1][D]`.
    #[cfg(feature = "neural")]
    CharEmbeddings,
    /// A neural model's n-gram embeddings, `[B][D]`.
    #[cfg(feature = "neural")]
    NgramEmbeddings,
    /// A neural layer's weights (`[C_out][K][C_in]`, or `[L][C]` for the dense layer).
    #[cfg(feature = "neural")]
    LayerWeights,
    /// A neural layer's per-channel bias and requantization, `[C_out][9]`.
    #[cfg(feature = "neural")]
    LayerChannels,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len } => write!(f, "model too short ({len} bytes)"),
            Self::BadMagic { found } => write!(f, "not a model file (magic bytes {found:02x?})"),
            Self::UnsupportedVersion { found, supported } => {
                write!(
                    f,
                    "model format version {found} is not supported (this decoder reads versions {}..={supported})",
                    OLDEST_FORMAT_VERSION
                )
            }
            Self::BadChecksum { stored, computed } => {
                write!(f, "model is corrupt: CRC-32 {computed:#010x} does not match the stored {stored:#010x}")
            }
            Self::Malformed => f.write_str("model body is truncated or malformed"),
            Self::TrailingBytes { count } => write!(f, "model body has {count} unread bytes before the checksum"),
            Self::BadTagCount { count } => {
                if MAX_TAGS > MAX_CHAR_TAGS {
                    write!(
                        f,
                        "model declares {count} tags (1..={MAX_CHAR_TAGS} supported for a character-level model, \
                         1..={MAX_TAGS} for a token-level one)"
                    )
                } else {
                    write!(
                        f,
                        "model declares {count} tags (1..={MAX_TAGS} supported; a token-level model of up to 32 \
                         tags needs the decoder's `wide-tags` feature)"
                    )
                }
            }
            Self::BadTagName => f.write_str("model has an empty, repeated or invalid tag name"),
            Self::TensorSize { tensor, expected, found } => {
                write!(f, "tensor {tensor:?} has {found} bytes, expected {expected}")
            }
            Self::BadConstraint => f.write_str("custom constraint entries must be 0 or 1"),
            Self::UnusableConstraints => f.write_str(
                "constraints leave no start tag, no end tag, or some sequence length without an allowed tag sequence",
            ),
            Self::TransitionGraphNotPrimitive => {
                f.write_str("allowed-transition graph is not strongly connected and aperiodic")
            }
            Self::BadTemplateCount { count } => {
                write!(f, "model declares {count} feature templates (1..={} supported)", MAX_TEMPLATES)
            }
            Self::BadTemplate { index } => write!(f, "feature template {index} is invalid"),
            Self::BadBucketBits { bits } => {
                write!(f, "hash table of 2^{bits} buckets is outside 2^1..=2^{}", MAX_BUCKET_BITS)
            }
            Self::BadRowCount { rows } => {
                write!(f, "hash table of {rows} rows is outside 1..=2^{}", MAX_BUCKET_BITS)
            }
            Self::BadHashCount { hashes } => write!(
                f,
                "{hashes} rows per feature is outside 1..={}, or too many with the templates (at most {} rows a \
                 position)",
                MAX_HASHES_PER_FEATURE, MAX_TEMPLATES
            ),
            Self::BadWeightShift { shift } => write!(f, "weight shift {shift} is too large for the weight type"),
            Self::UnknownNormalization { flags } => write!(f, "unknown normalisation flags {flags:#04x}"),
            Self::BadWordList => {
                f.write_str("word list not strictly ascending 32-bit hashes, or its index does not match it")
            }
            #[cfg(feature = "tokens")]
            Self::BadTokenTemplates(error) => write!(f, "token-level templates: {error}"),
            #[cfg(feature = "tokens")]
            Self::BadMentionList { line: 0 } => write!(
                f,
                "mention list: longer than {} bytes, or the model reads no column besides the {} mention columns",
                crate::limits::MAX_MENTION_LIST_BYTES,
                crate::limits::MENTION_COLUMNS
            ),
            #[cfg(feature = "tokens")]
            Self::BadMentionList { line } => {
                write!(
                    f,
                    "mention list, line {line}: not a type, a TAB and 1 to {} tokens separated by single spaces",
                    crate::limits::MAX_MENTION_TOKENS
                )
            }
            #[cfg(all(feature = "tokens", not(feature = "neural")))]
            Self::NeuralNotBuilt => f.write_str(
                "model format versions 5 and 7 (a neural encoder) need a decoder built with its `neural` feature",
            ),
            #[cfg(all(feature = "neural", not(feature = "tokens")))]
            Self::TokensNotBuilt => f.write_str(
                "model format versions 6 and 8 (a token-level model) need a decoder built with its `tokens` feature",
            ),
            #[cfg(feature = "neural")]
            Self::BadNeural { part, problem } => write!(f, "neural encoder, {part}: {problem}"),
        }
    }
}

impl core::error::Error for ModelError {}

/// Why a lattice call could not run. Every variant is a wrong buffer size or an unusable set of scores
/// passed in code; decoding with a validated [`crate::Model`] and large enough buffers never fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LatticeError {
    /// The emission matrix length is not a multiple of the number of tags.
    EmissionShape {
        /// Length of the emission slice (`i32` elements).
        len: usize,
        /// Number of tags `L`.
        num_tags: usize,
    },
    /// The caller-supplied back-pointer buffer is too small (see [`crate::LineLabeler::backpointer_bytes`]).
    BackpointersTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes supplied.
        found: usize,
    },
    /// The tag output buffer is shorter than the sequence.
    TagsTooSmall {
        /// Sequence length `T`.
        needed: usize,
        /// Length supplied.
        found: usize,
    },
    /// A score array does not have the length the number of tags implies.
    ScoresShape {
        /// Which array.
        tensor: Tensor,
        /// Expected length in elements.
        expected: usize,
        /// Length found in elements.
        found: usize,
    },
    /// The constraints passed in code fail the checks a model's constraints pass at load.
    Constraints(ModelError),
}

impl fmt::Display for LatticeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::EmissionShape { len, num_tags } => {
                write!(f, "emission matrix of {len} scores is not a whole number of rows of {num_tags} tags")
            }
            Self::BackpointersTooSmall { needed, found } => {
                write!(f, "back-pointer buffer has {found} bytes, {needed} needed")
            }
            Self::TagsTooSmall { needed, found } => write!(f, "tag buffer has {found} entries, {needed} needed"),
            Self::ScoresShape { tensor, expected, found } => {
                write!(f, "score array {tensor:?} has {found} elements, expected {expected}")
            }
            Self::Constraints(e) => write!(f, "unusable constraints: {e}"),
        }
    }
}

impl core::error::Error for LatticeError {}

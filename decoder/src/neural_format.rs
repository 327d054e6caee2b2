//! The neural encoder's section of the model format (`EmissionSpec::Neural`, version 5). Part of the
//! model format (re-exported by `format`), in its own file because it is the one part behind the `neural` feature.
//!
//! Quantization follows the int8 scheme of TensorFlow Lite Micro and CMSIS-NN: int8 weights with one scale
//! per output channel, int8 activations (zero point 0), int32 accumulation, and requantization of each
//! accumulator by a Q31 multiplier and a power-of-two shift (`neural::multiply_by_quantized_multiplier`).

use serde::{Deserialize, Serialize};

/// The format version that introduced [`NeuralSpec`].
pub const NEURAL_FORMAT_VERSION: u16 = 5;
/// The format version that introduced the hybrid model (`EmissionSpec::Hybrid`: a [`NeuralSpec`] plus an
/// n-gram table).
pub const HYBRID_FORMAT_VERSION: u16 = 7;

/// Most convolution layers of a neural encoder.
pub const MAX_CONV_LAYERS: usize = 4;
/// Most channels of any activation (embedding width and every convolution's output).
pub const MAX_CHANNELS: usize = 256;
/// Most n-gram templates whose embeddings are summed into a position's input.
pub const MAX_NGRAM_TEMPLATES: usize = 8;
/// Longest n-gram a template reads.
pub const MAX_NGRAM_LENGTH: u8 = 4;
/// Widest convolution kernel.
pub const MAX_KERNEL: u8 = 9;
/// Bytes of one output channel's parameters in a layer's `channels` tensor: bias (i32), requantization
/// multiplier (i32) and shift (i8), as CMSIS-NN keeps them per channel.
pub const CHANNEL_PARAMETER_BYTES: usize = 9;
/// Requantization shifts lie in `MIN_SHIFT..=MAX_SHIFT` (negative: right shift).
pub const MIN_SHIFT: i8 = -31;
/// See [`MIN_SHIFT`].
pub const MAX_SHIFT: i8 = 30;

/// A neural emission model. `V` = vocabulary size, `D` = embedding width, `B` = n-gram buckets, `L` =
/// number of tags; `C_in`/`C_out` = a layer's input and output channels. Every multi-byte element is
/// little-endian. Scores come out in the model's score units (`2^-score_frac_bits`), like the transitions.
///
/// A position's input is `requant(char_embeddings[row(c)] + sum_n ngram_embeddings[bucket_n])` (int8), where
/// `row(c)` is `1 + i` for `vocabulary[i] == c` and 0 for a character not in it; positions outside the
/// sequence have all-zero activations at every layer (zero padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeuralSpec<'a> {
    /// Character normalisation before lookup (`text::NORMALIZE_*` flags).
    pub normalization: u8,
    /// `[V]` u32 Unicode scalar values, strictly ascending.
    #[serde(borrow)]
    pub vocabulary: &'a [u8],
    /// Embedding width `D`, `1..=MAX_CHANNELS`.
    pub embedding_dim: u16,
    /// `[V + 1][D]` i8: row 0 is the unknown character.
    #[serde(borrow)]
    pub char_embeddings: &'a [u8],
    /// `[N][2]` bytes, `N <= MAX_NGRAM_TEMPLATES`: each n-gram template is (first offset as i8, length
    /// `1..=MAX_NGRAM_LENGTH`): the characters at `p + first .. p + first + length` of position `p`.
    #[serde(borrow)]
    pub ngram_templates: &'a [u8],
    /// Number of n-gram buckets `B` (`1..=2^24`; may be 0 only when there are no n-gram templates).
    pub ngram_buckets: u32,
    /// `[B][D]` i8, shared by every template (the template's index is part of its hash).
    #[serde(borrow)]
    pub ngram_embeddings: &'a [u8],
    /// Requantization of the summed embeddings to the first activation.
    pub input: Requantization,
    /// The convolutions, in order (`0..=MAX_CONV_LAYERS`).
    #[serde(borrow)]
    pub convs: ConvStack<'a>,
    /// The dense layer: `[L][C]` i8 weights, one score per tag.
    #[serde(borrow)]
    pub dense: DenseLayer<'a>,
}

/// One requantization: `x -> multiply_by_quantized_multiplier(x, multiplier, shift)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requantization {
    /// Q31 multiplier, `0..=i32::MAX` (a real value `multiplier / 2^31`).
    pub multiplier: i32,
    /// Power-of-two exponent, `MIN_SHIFT..=MAX_SHIFT`.
    pub shift: i8,
}

/// The convolution layers. A fixed array (postcard has no borrowed sequence of structs): the first
/// `count` are used, the others must be `None`.
pub type ConvStack<'a> = [Option<ConvLayer<'a>>; MAX_CONV_LAYERS];

/// A 1-D convolution with "same" zero padding and ReLU: output channel `o` at position `p` is
/// `clamp(requant_o(bias[o] + sum_{j, i} weights[o][j][i] * x[p + dilation * (j - (K - 1) / 2)][i]), 0, 127)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvLayer<'a> {
    /// Output channels `C_out`, `1..=MAX_CHANNELS`.
    pub out_channels: u16,
    /// Kernel width `K`: odd, `1..=MAX_KERNEL`.
    pub kernel: u8,
    /// Dilation, `>= 1`.
    pub dilation: u8,
    /// `[C_out][K][C_in]` i8.
    #[serde(borrow)]
    pub weights: &'a [u8],
    /// `[C_out]` channel parameters of [`CHANNEL_PARAMETER_BYTES`] each: bias (i32, in accumulator units:
    /// input scale times the channel's weight scale), Q31 multiplier (i32, `>= 0`), shift (i8,
    /// `MIN_SHIFT..=MAX_SHIFT`).
    #[serde(borrow)]
    pub channels: &'a [u8],
}

/// The last layer: `score[t] = clamp(requant_t(bias[t] + sum_i weights[t][i] * x[i]), ±MAX_EMISSION)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenseLayer<'a> {
    /// `[L][C]` i8.
    #[serde(borrow)]
    pub weights: &'a [u8],
    /// `[L]` channel parameters, as [`ConvLayer::channels`].
    #[serde(borrow)]
    pub channels: &'a [u8],
}

//! Integer inference of the neural emission model (`EmissionSpec::Neural`): validation at load, and the
//! arithmetic of each layer.
//!
//! The encoder's receptive field is finite (its reach, at most `MAX_OFFSET` characters each side, is
//! checked at load), so a position's scores are a function of the same window of `2 * MAX_OFFSET + 1`
//! characters the n-gram models read: the streaming labeler and whole-line decoding compute them from
//! identical windows, and so agree exactly. Each layer's outputs are computed once per position and kept
//! for the positions after it by `neural_cache`; [`Neural::scores_recomputed`] (tests only) recomputes the
//! whole receptive field instead, the reference the cache is checked against.

use crate::error::{ModelError, NeuralPart, NeuralProblem, Tensor};
use crate::features::WINDOW;
#[cfg(test)]
use crate::features::{Context, BEFORE_START};
use crate::format::{
    ConvLayer, NeuralSpec, Requantization, CHANNEL_PARAMETER_BYTES, MAX_CHANNELS, MAX_KERNEL, MAX_NGRAM_LENGTH,
    MAX_NGRAM_TEMPLATES, MAX_SHIFT, MIN_SHIFT,
};
use crate::hash::{finalize, mix, row};
use crate::limits::{MAX_OFFSET, MAX_TEMPLATES};
use crate::text::NORMALIZE_KNOWN;

/// Largest emission score magnitude: the lattice's bound (`MAX_TEMPLATES * 2^15`), to which every
/// neural score is clamped.
const SCORE_LIMIT: i32 = (MAX_TEMPLATES as i32) << 15;
/// Most n-gram buckets.
const MAX_BUCKETS: u32 = 1 << 24;
/// Seed of the n-gram hashes (distinct from the n-gram templates' and the word list's).
const NGRAM_SEED: u32 = 0x4E_4E_31;
/// The window slot of the scored position.
pub(crate) const CENTRE: usize = MAX_OFFSET;

/// TFLite's `MultiplyByQuantizedMultiplier`: `x * multiplier / 2^31 * 2^shift`, rounded as TFLite
/// and CMSIS-NN round (a rounding doubling high multiply, then a rounding right shift; a left shift
/// saturates). Computed in i64 so that no input can overflow.
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i8) -> i32 {
    let left = shift.clamp(0, MAX_SHIFT) as u32;
    let right = (-i32::from(shift)).clamp(0, -i32::from(MIN_SHIFT)) as u32;
    let x = (i64::from(x) << left).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
    rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, multiplier), right)
}

/// `round(a * b / 2^31)`, ties away from zero, saturating the one overflow (`i32::MIN * i32::MIN`).
#[inline]
fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncates toward zero, as in C.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `x / 2^exponent` rounded to nearest, ties away from zero (`exponent <= 31`).
#[inline]
fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let x = i64::from(x);
    let mask = (1i64 << exponent) - 1;
    let threshold = (mask >> 1) + i64::from(x < 0);
    ((x >> exponent) + i64::from((x & mask) > threshold)) as i32
}

/// The embedding-table row of character code `code`: `1 + i` for `vocabulary[i]`, 0 for any other.
pub fn vocabulary_row(vocabulary: &[u8], code: u32) -> usize {
    let count = vocabulary.len() / 4;
    let (mut lo, mut hi) = (0usize, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let entry = read_u32(vocabulary, mid);
        if entry == code {
            return mid + 1;
        }
        if entry < code {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    0
}

/// The bucket of the n-gram of template `index` made of `codes` (raw window codes, including
/// `BEFORE_START`/`AFTER_END`), in a table of `buckets` rows.
pub fn ngram_bucket(index: usize, codes: &[u32], buckets: u32) -> usize {
    let h = codes.iter().fold(mix(NGRAM_SEED, index as u32), |h, &c| mix(h, c));
    row(finalize(h), buckets)
}

/// Half the span of a convolution: how many positions it reads on each side.
pub const fn conv_reach(kernel: u8, dilation: u8) -> usize {
    (dilation as usize) * ((kernel as usize).saturating_sub(1) / 2)
}

/// The neural emission model: its spec, validated, and the figures derived from it. Only the spec's
/// slices are kept (no copies of its layers), so that a [`crate::Model`] stays small.
#[derive(Debug, Clone, Copy)]
pub struct Neural<'a> {
    spec: NeuralSpec<'a>,
    pub(crate) normalization: u8,
    /// Embedding width `D`.
    dim: u16,
    /// Convolutions present (the first `conv_count` of `spec.convs`).
    conv_count: u8,
    /// Positions each side the convolutions read, in total.
    conv_reach: u8,
    /// Width of the dense layer's input.
    dense_in: u16,
    num_tags: u8,
}

fn fault(part: NeuralPart, problem: NeuralProblem) -> ModelError {
    ModelError::BadNeural { part, problem }
}

fn check_len(part: NeuralPart, tensor: Tensor, bytes: &[u8], expected: usize) -> Result<(), ModelError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(fault(part, NeuralProblem::TensorSize { tensor, expected, found: bytes.len() }))
    }
}

fn check_channels(part: NeuralPart, channels: usize) -> Result<(), ModelError> {
    if (1..=MAX_CHANNELS).contains(&channels) {
        Ok(())
    } else {
        Err(fault(part, NeuralProblem::Channels { found: channels }))
    }
}

/// Checks a layer's `[outputs][CHANNEL_PARAMETER_BYTES]` parameters: length, multipliers and shifts.
fn check_channel_parameters(part: NeuralPart, channels: &[u8], outputs: usize) -> Result<(), ModelError> {
    check_len(part, Tensor::LayerChannels, channels, outputs * CHANNEL_PARAMETER_BYTES)?;
    for channel in 0..outputs {
        let (_, multiplier, shift) = channel_parameters(channels, channel);
        if multiplier < 0 || !(MIN_SHIFT..=MAX_SHIFT).contains(&shift) {
            return Err(fault(part, NeuralProblem::Requantization { channel }));
        }
    }
    Ok(())
}

/// Bias, multiplier and shift of output `channel` (zeros past the end: lengths are checked at load).
#[inline]
fn channel_parameters(channels: &[u8], channel: usize) -> (i32, i32, i8) {
    let at = channel * CHANNEL_PARAMETER_BYTES;
    match channels.get(at..at + CHANNEL_PARAMETER_BYTES) {
        Some(p) => {
            (i32::from_le_bytes([p[0], p[1], p[2], p[3]]), i32::from_le_bytes([p[4], p[5], p[6], p[7]]), p[8] as i8)
        }
        None => (0, 0, 0),
    }
}

impl<'a> Neural<'a> {
    /// Validates every size and value the inference indexes or shifts by, and builds the model.
    pub(crate) fn from_spec(spec: &NeuralSpec<'a>, num_tags: usize) -> Result<Self, ModelError> {
        use NeuralPart::{Dense, Embedding};
        if spec.normalization & !NORMALIZE_KNOWN != 0 {
            return Err(ModelError::UnknownNormalization { flags: spec.normalization });
        }
        if spec.vocabulary.len() % 4 != 0 {
            return Err(fault(Embedding, NeuralProblem::Vocabulary));
        }
        let vocabulary_size = spec.vocabulary.len() / 4;
        if (1..vocabulary_size).any(|i| read_u32(spec.vocabulary, i - 1) >= read_u32(spec.vocabulary, i)) {
            return Err(fault(Embedding, NeuralProblem::Vocabulary));
        }
        let dim = usize::from(spec.embedding_dim);
        check_channels(Embedding, dim)?;
        // Saturating: on a 32-bit target a table size can pass `usize::MAX`, which no slice length equals.
        let char_bytes = (vocabulary_size + 1).saturating_mul(dim);
        check_len(Embedding, Tensor::CharEmbeddings, spec.char_embeddings, char_bytes)?;

        let ngram_count = spec.ngram_templates.len() / 2;
        if spec.ngram_templates.len() % 2 != 0 || ngram_count > MAX_NGRAM_TEMPLATES {
            return Err(fault(Embedding, NeuralProblem::NgramTemplate { index: ngram_count }));
        }
        let (mut ngram_left, mut ngram_right) = (0usize, 0usize);
        for (index, t) in spec.ngram_templates.chunks_exact(2).enumerate() {
            let (first, length) = (t[0] as i8, t[1]);
            let last = i32::from(first) + i32::from(length) - 1;
            let reach = MAX_OFFSET as i32;
            if !(1..=MAX_NGRAM_LENGTH).contains(&length) || i32::from(first) < -reach || last > reach {
                return Err(fault(Embedding, NeuralProblem::NgramTemplate { index }));
            }
            ngram_left = ngram_left.max((-i32::from(first)).max(0) as usize);
            ngram_right = ngram_right.max(last.max(0) as usize);
        }
        let buckets_ok = if ngram_count == 0 {
            spec.ngram_buckets <= MAX_BUCKETS
        } else {
            (1..=MAX_BUCKETS).contains(&spec.ngram_buckets)
        };
        if !buckets_ok {
            return Err(fault(Embedding, NeuralProblem::Buckets { found: spec.ngram_buckets }));
        }
        let ngram_bytes = (spec.ngram_buckets as usize).saturating_mul(dim);
        check_len(Embedding, Tensor::NgramEmbeddings, spec.ngram_embeddings, ngram_bytes)?;
        if spec.input.multiplier < 0 || !(MIN_SHIFT..=MAX_SHIFT).contains(&spec.input.shift) {
            return Err(fault(Embedding, NeuralProblem::Requantization { channel: 0 }));
        }

        let mut channels = dim;
        let mut reach = 0usize;
        let mut conv_count = 0;
        for (index, layer) in spec.convs.iter().enumerate() {
            let part = NeuralPart::Conv(index as u8);
            let Some(layer) = layer else { continue };
            if conv_count != index {
                return Err(fault(part, NeuralProblem::LayerAfterGap));
            }
            let out_channels = usize::from(layer.out_channels);
            check_channels(part, out_channels)?;
            if layer.kernel % 2 == 0 || layer.kernel > MAX_KERNEL || layer.dilation == 0 {
                return Err(fault(part, NeuralProblem::Kernel { width: layer.kernel, dilation: layer.dilation }));
            }
            let kernel = usize::from(layer.kernel);
            check_len(part, Tensor::LayerWeights, layer.weights, out_channels * kernel * channels)?;
            check_channel_parameters(part, layer.channels, out_channels)?;
            reach += conv_reach(layer.kernel, layer.dilation);
            if reach > MAX_OFFSET {
                return Err(fault(part, NeuralProblem::Reach { left: reach, right: reach }));
            }
            conv_count += 1;
            channels = out_channels;
        }
        let (left, right) = (reach + ngram_left, reach + ngram_right);
        if left > MAX_OFFSET || right > MAX_OFFSET {
            return Err(fault(Embedding, NeuralProblem::Reach { left, right }));
        }

        check_len(Dense, Tensor::LayerWeights, spec.dense.weights, num_tags * channels)?;
        check_channel_parameters(Dense, spec.dense.channels, num_tags)?;

        // Every figure below is bounded by the checks above (channels <= 256, reach <= 4, tags <= 16).
        Ok(Self {
            spec: *spec,
            normalization: spec.normalization,
            dim: dim as u16,
            conv_count: conv_count as u8,
            conv_reach: reach as u8,
            dense_in: channels as u16,
            num_tags: num_tags as u8,
        })
    }

    /// Number of characters in the vocabulary.
    pub fn vocabulary_size(&self) -> usize {
        self.spec.vocabulary.len() / 4
    }

    /// Embedding width.
    pub fn embedding_dim(&self) -> usize {
        usize::from(self.dim)
    }

    /// Number of n-gram buckets.
    pub fn ngram_buckets(&self) -> u32 {
        self.spec.ngram_buckets
    }

    /// Number of tags `L` of the dense layer.
    pub(crate) fn num_tags(&self) -> usize {
        usize::from(self.num_tags)
    }

    /// Number of n-gram templates.
    pub fn ngram_templates(&self) -> usize {
        self.spec.ngram_templates.len() / 2
    }

    /// The convolutions, in order.
    pub(crate) fn convs(&self) -> impl Iterator<Item = &ConvLayer<'a>> + '_ {
        self.spec.convs.iter().take(usize::from(self.conv_count)).flatten()
    }

    /// `(out_channels, kernel, dilation)` of each convolution, in order.
    pub fn conv_layers(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.convs().map(|c| (usize::from(c.out_channels), usize::from(c.kernel), usize::from(c.dilation)))
    }

    /// Positions each side the convolutions read (the n-grams may read further).
    pub fn conv_reach(&self) -> usize {
        usize::from(self.conv_reach)
    }

    /// Bytes of all the weight tensors.
    pub fn weight_bytes(&self) -> usize {
        let convs: usize = self.convs().map(|c| c.weights.len()).sum();
        self.spec.char_embeddings.len() + self.spec.ngram_embeddings.len() + convs + self.spec.dense.weights.len()
    }

    /// Writes the score of each tag into `out[..L]` (score units, within `±MAX_TEMPLATES * 2^15`) from
    /// the last convolution's activations `x` at the scored position (the embeddings without one).
    pub(crate) fn dense<const N: usize>(&self, x: &[i8; MAX_CHANNELS], out: &mut [i32; N]) {
        let c = usize::from(self.dense_in);
        let x = &x[..c.min(MAX_CHANNELS)];
        let dense = &self.spec.dense;
        for (tag, o) in out.iter_mut().enumerate().take(usize::from(self.num_tags)) {
            let w = dense.weights.get(tag * c..(tag + 1) * c).unwrap_or(&[]);
            let (bias, multiplier, shift) = channel_parameters(dense.channels, tag);
            let acc = bias.saturating_add(dot(w, x));
            *o = multiply_by_quantized_multiplier(acc, multiplier, shift).clamp(-SCORE_LIMIT, SCORE_LIMIT);
        }
    }

    /// The scores at the window's centre by recomputing every layer over the whole receptive field, the
    /// plain reference the cached inference (`neural_cache`) is tested against.
    #[cfg(test)]
    pub(crate) fn scores_recomputed<const N: usize>(&self, ctx: &Context, out: &mut [i32; N]) {
        let codes = ctx.codes();
        let mut current = [[0i8; MAX_CHANNELS]; WINDOW];
        let mut next = [[0i8; MAX_CHANNELS]; WINDOW];
        let mut reach = self.conv_reach();
        for slot in CENTRE - reach..=CENTRE + reach {
            if codes[slot] < BEFORE_START {
                self.embed(codes, slot, &mut current[slot]);
            }
        }
        let mut in_channels = self.embedding_dim();
        for conv in self.convs() {
            let half = conv_reach(conv.kernel, conv.dilation);
            reach -= half;
            for slot in CENTRE - reach..=CENTRE + reach {
                next[slot] = [0; MAX_CHANNELS];
                if codes[slot] < BEFORE_START {
                    let taps = core::array::from_fn(|j| current.get(slot + j * usize::from(conv.dilation) - half));
                    apply_conv(conv, in_channels, &taps, &mut next[slot]);
                }
            }
            core::mem::swap(&mut current, &mut next);
            in_channels = usize::from(conv.out_channels);
        }
        self.dense(&current[CENTRE], out);
    }

    /// The first activation at `slot`: its character's embedding plus its n-grams', requantized.
    pub(crate) fn embed(&self, codes: &[u32; WINDOW], slot: usize, out: &mut [i8; MAX_CHANNELS]) {
        let d = self.embedding_dim().min(MAX_CHANNELS);
        let spec = &self.spec;
        let mut acc = [0i32; MAX_CHANNELS];
        let row = vocabulary_row(spec.vocabulary, codes[slot]);
        add_row(&mut acc[..d], spec.char_embeddings.get(row * d..(row + 1) * d));
        for (index, t) in spec.ngram_templates.chunks_exact(2).enumerate() {
            let start = slot as isize + isize::from(t[0] as i8);
            // In range by the reach check at load; `get` keeps it panic-free.
            let Some(gram) = codes.get(start.max(0) as usize..start.max(0) as usize + usize::from(t[1])) else {
                continue;
            };
            let row = ngram_bucket(index, gram, spec.ngram_buckets);
            add_row(&mut acc[..d], spec.ngram_embeddings.get(row * d..(row + 1) * d));
        }
        let Requantization { multiplier, shift } = spec.input;
        for (o, &a) in out.iter_mut().zip(&acc[..d]) {
            *o = multiply_by_quantized_multiplier(a, multiplier, shift).clamp(-128, 127) as i8;
        }
    }
}

/// The output channels of `conv` at one position from the previous layer's activations at the
/// positions its kernel reads, `taps[j]` for tap `j` (ReLU, int8). A missing tap (impossible: the reach is
/// checked at load) counts as zeros.
pub(crate) fn apply_conv(
    conv: &ConvLayer<'_>,
    in_channels: usize,
    taps: &[Option<&[i8; MAX_CHANNELS]>; MAX_KERNEL as usize],
    out: &mut [i8; MAX_CHANNELS],
) {
    let (k, c_in) = (usize::from(conv.kernel), in_channels.min(MAX_CHANNELS));
    for (o, y) in out.iter_mut().enumerate().take(usize::from(conv.out_channels)) {
        let (bias, multiplier, shift) = channel_parameters(conv.channels, o);
        let mut acc = bias;
        for (j, tap) in taps.iter().enumerate().take(k) {
            let row = (o * k + j) * c_in;
            let (Some(x), Some(w)) = (tap, conv.weights.get(row..row + c_in)) else {
                continue;
            };
            acc = acc.saturating_add(dot(w, &x[..c_in]));
        }
        *y = multiply_by_quantized_multiplier(acc, multiplier, shift).clamp(0, 127) as i8;
    }
}

/// `sum w[i] * x[i]` of i8 weights (raw bytes) and i8 activations; at most `MAX_CHANNELS * 2^14`.
#[inline]
fn dot(w: &[u8], x: &[i8]) -> i32 {
    let mul = |w: u8, x: i8| i32::from(w as i8) * i32::from(x);
    // Four products a step: the loop's own instructions are most of a single product's cost on a Cortex-M.
    let n = w.len().min(x.len());
    let (mut w4, mut x4) = (w[..n].chunks_exact(4), x[..n].chunks_exact(4));
    let mut acc = 0i32;
    for (w, x) in (&mut w4).zip(&mut x4) {
        acc += mul(w[0], x[0]) + mul(w[1], x[1]) + mul(w[2], x[2]) + mul(w[3], x[3]);
    }
    acc + w4.remainder().iter().zip(x4.remainder()).map(|(&w, &x)| mul(w, x)).sum::<i32>()
}

#[inline]
fn add_row(acc: &mut [i32], row: Option<&[u8]>) {
    if let Some(row) = row {
        for (a, &w) in acc.iter_mut().zip(row) {
            *a += i32::from(w as i8);
        }
    }
}

#[inline]
fn read_u32(bytes: &[u8], index: usize) -> u32 {
    match bytes.get(4 * index..4 * index + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantization_rounds_like_tflite() {
        // 0.5 * 2^-1: 10 -> 2.5 -> 3 (ties away from zero), -10 -> -3.
        let half = 1 << 30;
        assert_eq!(multiply_by_quantized_multiplier(10, half, -1), 3);
        assert_eq!(multiply_by_quantized_multiplier(-10, half, -1), -3);
        // TFLite rounds twice: 9 * 0.5 = 4.5 -> 5 in the high multiply, then 5 / 2 -> 3.
        assert_eq!(multiply_by_quantized_multiplier(9, half, -1), 3);
        assert_eq!(multiply_by_quantized_multiplier(7, half, -1), 2);
        // A left shift: 0.5 * 2^3 = 4.
        assert_eq!(multiply_by_quantized_multiplier(7, half, 3), 28);
        // Extremes neither panic nor wrap.
        assert_eq!(multiply_by_quantized_multiplier(i32::MAX, i32::MAX, MAX_SHIFT), i32::MAX - 1);
        assert_eq!(multiply_by_quantized_multiplier(i32::MIN, i32::MAX, MIN_SHIFT), -1);
        assert_eq!(multiply_by_quantized_multiplier(i32::MIN, 0, 0), 0);
    }

    #[test]
    fn vocabulary_rows() {
        let vocabulary: [u8; 12] = [10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0];
        let rows: [usize; 5] = [5, 10, 20, 30, 31].map(|c| vocabulary_row(&vocabulary, c));
        assert_eq!(rows, [0, 1, 2, 3, 0]);
        assert_eq!(vocabulary_row(&[], 10), 0);
    }
}

//! Quantization of a neural emission model to the decoder's int8 format, and the model file.
//!
//! The scheme of TensorFlow Lite Micro and CMSIS-NN: int8 weights with one scale per output channel
//! (`max |w| / 127`), int8 activations with one scale per layer (`max |activation| / 127` over the
//! calibration text, so calibration text never saturates), i32 biases in accumulator units, and every
//! rescale a Q31 multiplier with a power-of-two shift ([`quantize_multiplier`]). Scores come out in the
//! CRF's score units `2^-score_frac_bits`, so the lattice adds them to the transitions directly.
//!
//! Error bound: each int8 rounding is at most half a step of its tensor, and each layer carries its
//! input's error through its weights. [`super::error_bound::encoder_error_bound`] computes the worst case
//! from the weights and the calibration ranges; `trainer/tests/neural.rs` holds every score to it on random
//! weights. ReLU outputs use only the non-negative half of int8; an asymmetric zero point (TFLite's `-128`)
//! would halve their step.
//!
//! A hybrid model's table is quantized as the linear model's i8 table is: one power-of-two step for the
//! whole table, the finest that clips no weight, so each of the `K` rows a position sums is off by at most
//! half a step: its scores add at most `K * step / 2` to the encoder's bound (`trainer/tests/hybrid.rs`
//! checks it).

use anyhow::{bail, ensure, Result};
use decoder::internal::format::{
    self, ConvLayer, ConvStack, DenseLayer, EmissionSpec, HashedNgramSpec, ModelBody, NeuralSpec, NgramTable,
    Requantization, TransitionSpec, WeightType, MAX_CONV_LAYERS,
};

use super::forward::activations;
use super::weights::NeuralWeights;
use crate::quantize::StoredConstraints;

/// Largest emission score magnitude the lattice accepts (`decoder::internal::lattice::MAX_EMISSION`).
const SCORE_LIMIT: f64 = decoder::internal::lattice::MAX_EMISSION as f64;

/// The CRF layer's float scores and tag names, exported beside the encoder.
#[derive(Debug, Clone, PartialEq)]
pub struct CrfScores {
    /// Tag names (the scheme and its hard masks follow from them, e.g. `B M E S`).
    pub tag_names: Vec<String>,
    /// `[L][L]`, `[from * L + to]`.
    pub transitions: Vec<f32>,
    /// `[L]`.
    pub start: Vec<f32>,
    /// `[L]`.
    pub end: Vec<f32>,
}

/// A real multiplier as TFLite's `QuantizeMultiplier` stores it: `(q, shift)` with
/// `real = q / 2^31 * 2^shift`, `q` in `[2^30, 2^31)` (or 0 for 0 and for values below `2^-32`).
pub fn quantize_multiplier(real: f64) -> Result<(i32, i8)> {
    ensure!(real.is_finite() && real >= 0.0, "requantization multiplier {real} is not a finite non-negative number");
    if real == 0.0 {
        return Ok((0, 0));
    }
    let mut exponent = real.log2().floor() as i32 + 1;
    let mut mantissa = real / 2f64.powi(exponent);
    // log2 may be off by one at the edges of [0.5, 1).
    while mantissa >= 1.0 {
        mantissa /= 2.0;
        exponent += 1;
    }
    while mantissa < 0.5 {
        mantissa *= 2.0;
        exponent -= 1;
    }
    let mut q = (mantissa * 2f64.powi(31)).round() as i64;
    if q == 1 << 31 {
        q /= 2;
        exponent += 1;
    }
    if exponent < i32::from(format::MIN_SHIFT) {
        return Ok((0, 0));
    }
    ensure!(exponent <= i32::from(format::MAX_SHIFT), "requantization multiplier {real} is too large");
    Ok((q as i32, exponent as i8))
}

/// Quantizes `weights` with the CRF layer `crf` into a complete model file (a hybrid model's when
/// `weights` has a table). `calibration` (lines of raw text) sets the activation scales; it should look
/// like the text the model will label.
pub fn export_neural(
    weights: &NeuralWeights,
    crf: &CrfScores,
    calibration: &[Vec<char>],
    metadata: &str,
) -> Result<Vec<u8>> {
    if let Some(error) = weights.shape_error() {
        bail!("neural weights: {error}");
    }
    ensure!(weights.convs.len() <= MAX_CONV_LAYERS, "{} convolutions (at most {MAX_CONV_LAYERS})", weights.convs.len());
    let l = weights.num_tags();
    ensure!(crf.tag_names.len() == l, "{} tag names for {l} scores", crf.tag_names.len());

    let layers = weights.convs.len();
    let CalibrationRanges { activations: ranges, score: score_max } = calibration_ranges(weights, calibration);
    let activation_scale: Vec<f64> = ranges.iter().map(|&m| scale_of(m)).collect();

    // Score units: as fine as the transitions' i16 and the lattice's emission bound allow.
    let crf_max = crf.transitions.iter().chain(&crf.start).chain(&crf.end).fold(0f32, |m, v| m.max(v.abs()));
    let mut frac_bits = 15u8;
    while frac_bits > 0
        && (f64::from(crf_max) * 2f64.powi(i32::from(frac_bits)) > 32767.0
            || 2.0 * f64::from(score_max) * 2f64.powi(i32::from(frac_bits)) > SCORE_LIMIT)
    {
        frac_bits -= 1;
    }
    // A hybrid table's i8 weights are `q << weight_shift` score units (`weight_shift` 0..=8, as the linear
    // export stores them): the step that clips no weight, and no finer score unit than that step allows.
    let table_step_exponent = weights.table.as_ref().map(|t| {
        let largest = f64::from(max_abs(&t.weights)).max(1e-6);
        (largest / 127.0).log2().ceil() as i32
    });
    if let Some(e) = table_step_exponent {
        while i32::from(frac_bits) + e > 8 && frac_bits > 0 {
            frac_bits -= 1;
        }
        ensure!(i32::from(frac_bits) + e <= 8, "the hybrid table's weights are too large to quantize");
    }
    let score_unit = 2f64.powi(-i32::from(frac_bits));

    // Embeddings: one scale for both tables (they are summed).
    let embedding_scale = embedding_scale(weights);
    let char_embeddings = quantize_i8(&weights.char_embeddings, embedding_scale);
    let ngram_embeddings = quantize_i8(&weights.ngram_embeddings, embedding_scale);
    let (multiplier, shift) = quantize_multiplier(embedding_scale / activation_scale[0])?;
    let input = Requantization { multiplier, shift };

    let mut conv_tensors = Vec::new();
    for (i, conv) in weights.convs.iter().enumerate() {
        let per_channel = conv.weights.len() / conv.out_channels;
        let tensors =
            LayerTensors::new(&conv.weights, &conv.bias, per_channel, activation_scale[i], activation_scale[i + 1])?;
        conv_tensors.push(tensors);
    }
    let c = weights.in_channels(layers);
    let dense =
        LayerTensors::new(&weights.dense.weights, &weights.dense.bias, c, activation_scale[layers], score_unit)?;

    let vocabulary: Vec<u8> = weights.vocabulary.iter().flat_map(|&ch| (ch as u32).to_le_bytes()).collect();
    let ngram_templates: Vec<u8> =
        weights.ngram_templates.iter().flat_map(|&(first, length)| [first as u8, length]).collect();
    let mut convs: ConvStack<'_> = [None; MAX_CONV_LAYERS];
    for ((slot, tensors), conv) in convs.iter_mut().zip(&conv_tensors).zip(&weights.convs) {
        *slot = Some(ConvLayer {
            out_channels: u16::try_from(conv.out_channels)?,
            kernel: u8::try_from(conv.kernel)?,
            dilation: u8::try_from(conv.dilation)?,
            weights: &tensors.weights,
            channels: &tensors.channels,
        });
    }
    let table = match (&weights.table, table_step_exponent) {
        (Some(t), Some(e)) => {
            let shift = (i32::from(frac_bits) + e).max(0) as u8;
            let step = 2f64.powi(i32::from(shift) - i32::from(frac_bits));
            let templates: Vec<u8> = t.templates.iter().flat_map(|t| t.encode()).collect();
            Some((templates, t.bucket_bits, shift, quantize_i8(&t.weights, step)))
        }
        _ => None,
    };
    let spec = NeuralSpec {
        normalization: weights.normalization,
        vocabulary: &vocabulary,
        embedding_dim: u16::try_from(weights.dim)?,
        char_embeddings: &char_embeddings,
        ngram_templates: &ngram_templates,
        ngram_buckets: weights.ngram_buckets,
        ngram_embeddings: &ngram_embeddings,
        input,
        convs,
        dense: DenseLayer { weights: &dense.weights, channels: &dense.channels },
    };
    let score = |values: &[f32]| -> Vec<i16> {
        values.iter().map(|&v| (f64::from(v) / score_unit).round().clamp(-32767.0, 32767.0) as i16).collect()
    };
    let (transitions, start, end) = (
        format::i16_bytes(&score(&crf.transitions)),
        format::i16_bytes(&score(&crf.start)),
        format::i16_bytes(&score(&crf.end)),
    );
    let tag_names = crf.tag_names.join(" ");
    let stored_constraints = StoredConstraints::for_tags(&crf.tag_names);
    let body = ModelBody {
        tag_names: &tag_names,
        constraints: stored_constraints.as_ref().map(StoredConstraints::spec),
        score_frac_bits: frac_bits,
        emission: if table.is_some() { EmissionSpec::Hybrid(spec) } else { EmissionSpec::Neural(spec) },
        transitions: TransitionSpec { transitions: &transitions, start: &start, end: &end },
        metadata,
    };
    let bytes = match &table {
        None => format::encode(&body),
        Some((templates, bucket_bits, weight_shift, table_weights)) => {
            let table = NgramTable::Hashed(HashedNgramSpec {
                normalization: weights.normalization,
                templates,
                bucket_bits: *bucket_bits,
                weight_type: WeightType::I8,
                weight_shift: *weight_shift,
                weights: table_weights,
            });
            format::encode_with_table(&body, &table)
        }
    }
    .map_err(|e| anyhow::anyhow!("encoding the model: {e}"))?;
    // What the decoder refuses is a bug here: say so now, not on the device.
    decoder::Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("the exported neural model does not load: {e}"))?;
    Ok(bytes)
}

/// The largest magnitudes over the calibration text, which set every activation step.
pub(crate) struct CalibrationRanges {
    /// Per layer: the input (summed embeddings), then each convolution's output.
    pub activations: Vec<f32>,
    /// The largest emission score (a hybrid model's table included).
    pub score: f32,
}

pub(crate) fn calibration_ranges(weights: &NeuralWeights, calibration: &[Vec<char>]) -> CalibrationRanges {
    let mut ranges = CalibrationRanges { activations: vec![0f32; weights.convs.len() + 1], score: 0.0 };
    for line in calibration {
        let a = activations(weights, line);
        ranges.activations[0] = ranges.activations[0].max(max_abs(&a.input));
        for (range, conv) in ranges.activations[1..].iter_mut().zip(&a.convs) {
            *range = range.max(max_abs(conv));
        }
        ranges.score = ranges.score.max(max_abs(&a.scores));
    }
    ranges
}

/// The int8 step of a tensor whose largest magnitude is `max` (a zero tensor gets `1 / 127`).
pub(crate) fn scale_of(max: f32) -> f64 {
    if max > 0.0 {
        f64::from(max) / 127.0
    } else {
        1.0 / 127.0
    }
}

/// The step of both embedding tables (one scale, since they are summed).
pub(crate) fn embedding_scale(weights: &NeuralWeights) -> f64 {
    scale_of(max_abs(&weights.char_embeddings).max(max_abs(&weights.ngram_embeddings)))
}

/// The int8 step of one weight row (per output channel), as [`LayerTensors::new`] quantizes it.
pub(crate) fn row_scale(row: &[f32]) -> f64 {
    if max_abs(row) > 0.0 {
        f64::from(max_abs(row)) / 127.0
    } else {
        1.0
    }
}

/// One layer's stored tensors: int8 weights with a scale per output row, and per output its bias (i32),
/// requantization multiplier (i32) and shift (i8).
struct LayerTensors {
    weights: Vec<u8>,
    channels: Vec<u8>,
}

impl LayerTensors {
    /// `weights` has one row of `per_row` values per output; inputs come in steps of `in_scale`, outputs
    /// go out in steps of `out_scale`.
    fn new(weights: &[f32], bias: &[f32], per_row: usize, in_scale: f64, out_scale: f64) -> Result<Self> {
        let mut t = Self { weights: Vec::new(), channels: Vec::new() };
        for (row, &b) in weights.chunks_exact(per_row).zip(bias) {
            let row_scale = row_scale(row);
            t.weights.extend(quantize_i8(row, row_scale));
            let accumulator_scale = in_scale * row_scale;
            let q_bias = (f64::from(b) / accumulator_scale).round().clamp(f64::from(i32::MIN), f64::from(i32::MAX));
            let (m, s) = quantize_multiplier(accumulator_scale / out_scale)?;
            t.channels.extend((q_bias as i32).to_le_bytes());
            t.channels.extend(m.to_le_bytes());
            t.channels.push(s as u8);
        }
        Ok(t)
    }
}

fn quantize_i8(values: &[f32], scale: f64) -> Vec<u8> {
    values.iter().map(|&v| (f64::from(v) / scale).round().clamp(-127.0, 127.0) as i8 as u8).collect()
}

pub(crate) fn max_abs(values: &[f32]) -> f32 {
    values.iter().fold(0f32, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipliers_round_trip() {
        for real in [1e-6, 0.001, 0.3, 0.5, 0.75, 1.0, 3.5, 1000.0] {
            let (q, shift) = quantize_multiplier(real).unwrap();
            assert!((1 << 30..=i32::MAX).contains(&q), "{real}: {q}");
            let back = f64::from(q) / 2f64.powi(31) * 2f64.powi(i32::from(shift));
            assert!((back - real).abs() <= real * 1e-9, "{real} -> {back}");
        }
        assert_eq!(quantize_multiplier(0.0).unwrap(), (0, 0));
        assert!(quantize_multiplier(-1.0).is_err());
    }
}

//! How far the decoder's integer emission scores can be from the float reference's ([`super::forward`]):
//! a worst-case bound per score, propagated position by position and channel by channel through the
//! quantized model that [`super::export`] writes, so that a test can hold every score to it on any
//! weights (a bound relative to the largest score fails where the dense layer's terms cancel).
//!
//! With `x` a layer's float input, `x'` the integer one (`|x' - x| <= e` per element), `W` a weight row
//! and `W'` its int8 copy (`|W' - W| <= r / 2`, `r` the row's step), one output's error before
//! requantization is
//!
//! ```text
//! sum |W| * e  +  r / 2 * sum (|x| + e)  +  r * s_in / 2
//! ```
//!
//! (the input's error through the weights, the weights' rounding, the bias's rounding in accumulator
//! units, `s_in` the input's step), summed over the taps that read the sequence. Requantization adds at
//! most one output step (its rounding and the Q31 multiplier's). A ReLU output whose float
//! pre-activation is below zero by more than that error is 0 on both sides; otherwise ReLU does not
//! widen the error. The clamp to int8 only narrows it while the float value is within the calibration
//! range (always so on the calibration text). The input layer's error is half an embedding step per
//! summed embedding plus one input step.

use super::export::{calibration_ranges, embedding_scale, max_abs, row_scale, scale_of};
use super::forward::{activations, conv_tap_source};
use super::weights::NeuralWeights;

/// Per score of `chars` (`[T][L]`, as [`super::forward::forward`] returns them, real units): the largest
/// `|integer - float|` of the encoder's part (the dense layer's; a hybrid model's table rows not
/// included), for the model that `export_neural(weights, _, calibration, _)` writes with score unit
/// `score_unit`, while `chars`' activations stay within their ranges on `calibration`.
pub fn encoder_error_bounds(
    weights: &NeuralWeights,
    calibration: &[Vec<char>],
    score_unit: f64,
    chars: &[char],
) -> Vec<f64> {
    let steps: Vec<f64> = calibration_ranges(weights, calibration).activations.iter().map(|&m| scale_of(m)).collect();
    let a = activations(weights, chars);
    let t = chars.len();
    let summed_embeddings = 1 + weights.ngram_templates.len();
    let mut error = vec![summed_embeddings as f64 * embedding_scale(weights) / 2.0 + steps[0]; a.input.len()];
    let mut input = &a.input;
    for (layer, conv) in weights.convs.iter().enumerate() {
        let (c_in, c_out, k) = (weights.in_channels(layer), conv.out_channels, conv.kernel);
        let (s_in, s_out) = (steps[layer], steps[layer + 1]);
        let pre = &a.pre_activations[layer];
        let channels = channel_rounding(&conv.weights, k * c_in, s_in);
        let mut next = vec![0f64; t * c_out];
        for p in 0..t {
            for (o, &(largest, bias)) in channels.iter().enumerate() {
                let mut before = bias;
                for j in 0..k {
                    let Some(src) = conv_tap_source(conv, p, j, t) else { continue };
                    let row = &conv.weights[(o * k + j) * c_in..(o * k + j + 1) * c_in];
                    before += row_error(row, largest, &input[src * c_in..], &error[src * c_in..]);
                }
                let e = before + s_out;
                // Below zero by more than the error: the integer ReLU gives 0 too.
                next[p * c_out + o] = if f64::from(pre[p * c_out + o]) + e < 0.0 { 0.0 } else { e };
            }
        }
        error = next;
        input = &a.convs[layer];
    }
    let layers = weights.convs.len();
    let (c, s_in, l) = (weights.in_channels(layers), steps[layers], weights.num_tags());
    let channels = channel_rounding(&weights.dense.weights, c, s_in);
    let mut out = vec![0f64; t * l];
    for p in 0..t {
        for (tag, &(largest, bias)) in channels.iter().enumerate() {
            let row = &weights.dense.weights[tag * c..(tag + 1) * c];
            out[p * l + tag] = bias + row_error(row, largest, &input[p * c..], &error[p * c..]) + score_unit;
        }
    }
    out
}

/// The error of `row . x` (before the bias) from the input's error `e` and the row's int8 rounding (the
/// row's channel has largest weight `largest`; a zero row is stored exactly).
fn row_error(row: &[f32], largest: f32, x: &[f32], e: &[f64]) -> f64 {
    let rounding = f64::from(largest) / 127.0 / 2.0;
    row.iter().zip(x).zip(e).map(|((&w, &x), &e)| f64::from(w.abs()) * e + rounding * (f64::from(x.abs()) + e)).sum()
}

/// Per output channel of a layer (`per_channel` weights each, inputs of step `s_in`): its largest weight
/// magnitude, which sets its int8 step, and its bias's rounding, half its accumulator step.
fn channel_rounding(weights: &[f32], per_channel: usize, s_in: f64) -> Vec<(f32, f64)> {
    weights.chunks_exact(per_channel).map(|channel| (max_abs(channel), row_scale(channel) * s_in / 2.0)).collect()
}

//! The float reference forward pass: what the integer decoder approximates. Plain Rust over
//! [`NeuralWeights`]; the same windows, n-gram hashes and zero padding as `decoder`'s inference.

use decoder::internal::features::{AFTER_END, BEFORE_START};
use decoder::internal::neural::{ngram_bucket, vocabulary_row};
use decoder::internal::text::normalize;

use super::weights::{ConvWeights, NeuralWeights, TableWeights};

/// Every layer's activations for one sequence of `T` characters.
#[derive(Debug, Clone, PartialEq)]
pub struct Activations {
    /// `[T][D]`: summed embeddings.
    pub input: Vec<f32>,
    /// Per convolution, `[T][C_out]` before ReLU.
    pub pre_activations: Vec<Vec<f32>>,
    /// Per convolution, `[T][C_out]` after ReLU.
    pub convs: Vec<Vec<f32>>,
    /// `[T][L]`: emission scores (real units): the dense layer's, plus a hybrid model's table rows.
    pub scores: Vec<f32>,
    /// `[T][L]`: a hybrid model's table row sums alone (empty for a neural model).
    pub table: Vec<f32>,
}

/// The emission scores of `chars` (raw characters, normalised here), `[T][L]` row-major.
pub fn forward(weights: &NeuralWeights, chars: &[char]) -> Vec<f32> {
    activations(weights, chars).scores
}

/// Every layer's activations of `chars` (raw characters, normalised here).
pub fn activations(w: &NeuralWeights, chars: &[char]) -> Activations {
    let t = chars.len();
    let codes: Vec<u32> = chars.iter().map(|&c| normalize(c, w.normalization) as u32).collect();
    let code_at = |i: isize| match usize::try_from(i) {
        Err(_) => BEFORE_START,
        Ok(i) => codes.get(i).copied().unwrap_or(AFTER_END),
    };
    let vocabulary: Vec<u8> = w.vocabulary.iter().flat_map(|&c| (c as u32).to_le_bytes()).collect();
    let d = w.dim;
    let mut input = vec![0f32; t * d];
    for (p, &code) in codes.iter().enumerate() {
        let out = &mut input[p * d..(p + 1) * d];
        let row = vocabulary_row(&vocabulary, code);
        add(out, &w.char_embeddings[row * d..(row + 1) * d]);
        for (index, &(first, length)) in w.ngram_templates.iter().enumerate() {
            let start = p as isize + isize::from(first);
            let gram: Vec<u32> = (0..isize::from(length)).map(|k| code_at(start + k)).collect();
            let row = ngram_bucket(index, &gram, w.ngram_buckets);
            add(out, &w.ngram_embeddings[row * d..(row + 1) * d]);
        }
    }
    let (mut pre_activations, mut convs) = (Vec::new(), Vec::new());
    let (mut x, mut c_in) = (input.clone(), d);
    for conv in &w.convs {
        let (k, c_out) = (conv.kernel, conv.out_channels);
        let mut pre = vec![0f32; t * c_out];
        for p in 0..t {
            for o in 0..c_out {
                let mut acc = conv.bias[o];
                for j in 0..k {
                    // Zero padding: taps outside the sequence add nothing.
                    let Some(src) = conv_tap_source(conv, p, j, t) else { continue };
                    let wrow = &conv.weights[(o * k + j) * c_in..(o * k + j + 1) * c_in];
                    acc += dot(wrow, &x[src * c_in..(src + 1) * c_in]);
                }
                pre[p * c_out + o] = acc;
            }
        }
        let y: Vec<f32> = pre.iter().map(|&a| a.max(0.0)).collect();
        pre_activations.push(pre);
        convs.push(y.clone());
        (x, c_in) = (y, c_out);
    }
    let l = w.num_tags();
    let mut scores = vec![0f32; t * l];
    for p in 0..t {
        for tag in 0..l {
            let wrow = &w.dense.weights[tag * c_in..(tag + 1) * c_in];
            scores[p * l + tag] = w.dense.bias[tag] + dot(wrow, &x[p * c_in..(p + 1) * c_in]);
        }
    }
    let mut table = Vec::new();
    if let Some(t) = &w.table {
        table = table_scores(t, w.normalization, l, chars);
        add(&mut scores, &table);
    }
    Activations { input, pre_activations, convs, scores, table }
}

/// The position of a sequence of `len` that tap `j` of `conv` reads for output position `p`; `None` in
/// the zero padding.
pub fn conv_tap_source(conv: &ConvWeights, p: usize, j: usize, len: usize) -> Option<usize> {
    let half = conv.dilation * (conv.kernel - 1) / 2;
    (p + j * conv.dilation).checked_sub(half).filter(|&src| src < len)
}

/// The row sums of a hybrid model's table at every position of `chars`, `[T][L]`.
pub fn table_scores(table: &TableWeights, normalization: u8, num_tags: usize, chars: &[char]) -> Vec<f32> {
    let rows = table.feature_spec(normalization).extract(chars);
    let k = table.templates.len();
    let mut out = vec![0f32; chars.len() * num_tags];
    for (p, scores) in out.chunks_exact_mut(num_tags).enumerate() {
        for &row in &rows[p * k..(p + 1) * k] {
            let row = row as usize;
            add(scores, &table.weights[row * num_tags..(row + 1) * num_tags]);
        }
    }
    out
}

fn add(acc: &mut [f32], row: &[f32]) {
    for (a, r) in acc.iter_mut().zip(row) {
        *a += r;
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

//! Random neural weights of a given shape, for tests and the `random_neural` example: uniform in
//! `±sqrt(3 / fan_in)` (unit variance through each layer), deterministic for a seed.

use super::weights::{ConvWeights, DenseWeights, NeuralWeights};

/// The shape of a random model.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuralShape {
    /// Characters of the vocabulary (sorted and deduplicated here).
    pub vocabulary: Vec<char>,
    /// Embedding width `D`.
    pub dim: usize,
    /// N-gram templates `(first offset, length)`.
    pub ngram_templates: Vec<(i8, u8)>,
    /// N-gram buckets `B`.
    pub ngram_buckets: u32,
    /// `(out_channels, kernel, dilation)` of each convolution.
    pub convs: Vec<(usize, usize, usize)>,
    /// Number of tags `L`.
    pub num_tags: usize,
}

/// SplitMix64: small, fast and good enough for test weights.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-limit, limit)`.
    pub fn uniform(&mut self, limit: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * unit - 1.0) * limit
    }

    /// `n` values uniform in `±limit`.
    pub fn values(&mut self, n: usize, limit: f32) -> Vec<f32> {
        (0..n).map(|_| self.uniform(limit)).collect()
    }
}

/// Random weights of `shape`, the same for the same `seed`.
pub fn random_weights(shape: &NeuralShape, seed: u64) -> NeuralWeights {
    let mut rng = SplitMix::new(seed);
    let mut vocabulary = shape.vocabulary.clone();
    vocabulary.sort_unstable();
    vocabulary.dedup();
    let d = shape.dim;
    // The input sums one character row and one row per n-gram template.
    let inputs = 1 + shape.ngram_templates.len();
    let embedding_limit = (3.0 / inputs as f32).sqrt();
    let char_embeddings = rng.values((vocabulary.len() + 1) * d, embedding_limit);
    let ngram_embeddings = rng.values(shape.ngram_buckets as usize * d, embedding_limit);
    let mut channels = d;
    let mut convs = Vec::new();
    for &(out_channels, kernel, dilation) in &shape.convs {
        let fan_in = kernel * channels;
        let limit = (6.0 / fan_in as f32).sqrt(); // ReLU halves the variance
        let weights = rng.values(out_channels * fan_in, limit);
        let bias = rng.values(out_channels, 0.1);
        convs.push(ConvWeights { out_channels, kernel, dilation, weights, bias });
        channels = out_channels;
    }
    let limit = (3.0 / channels as f32).sqrt();
    let dense =
        DenseWeights { weights: rng.values(shape.num_tags * channels, limit), bias: rng.values(shape.num_tags, 0.5) };
    NeuralWeights {
        normalization: decoder::internal::text::NORMALIZE_WIDTH,
        vocabulary,
        dim: d,
        char_embeddings,
        ngram_templates: shape.ngram_templates.clone(),
        ngram_buckets: shape.ngram_buckets,
        ngram_embeddings,
        convs,
        dense,
        table: None,
    }
}

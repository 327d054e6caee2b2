//! A small random neural model over a text's characters: what `trainer/examples/random_neural.rs` writes
//! and `tests/neural.rs` streams (arbitrary weights; the QEMU tests run trained models, `models/*-sample.crfm`).

use anyhow::Result;

use super::export::{export_neural, CrfScores};
use super::random::{random_weights, NeuralShape, SplitMix};

/// The shape of the sample model: 32-wide embeddings of the characters and of two bigrams, two
/// convolutions of 64 channels (kernel 3: reach 2 characters each side), 4 BMES tags.
pub fn sample_shape(vocabulary: Vec<char>) -> NeuralShape {
    NeuralShape {
        vocabulary,
        dim: 32,
        ngram_templates: vec![(-1, 2), (0, 2)],
        ngram_buckets: 1024,
        convs: vec![(64, 3, 1), (64, 3, 1)],
        num_tags: 4,
    }
}

/// A random BMES model over the characters of `text` (at most `max_vocabulary`, most frequent first),
/// calibrated on its lines.
pub fn random_sample_model(text: &str, max_vocabulary: usize, seed: u64) -> Result<Vec<u8>> {
    let mut counts = std::collections::HashMap::<char, usize>::new();
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        *counts.entry(c).or_default() += 1;
    }
    let mut by_count: Vec<(char, usize)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let vocabulary = by_count.into_iter().take(max_vocabulary).map(|(c, _)| c).collect();
    let weights = random_weights(&sample_shape(vocabulary), seed);
    let mut rng = SplitMix::new(seed ^ 0x00C0_FFEE);
    let crf = CrfScores {
        tag_names: ["B", "M", "E", "S"].map(str::to_owned).to_vec(),
        transitions: rng.values(16, 1.0),
        start: rng.values(4, 1.0),
        end: rng.values(4, 1.0),
    };
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.trim_end().chars().collect()).collect();
    export_neural(&weights, &crf, &lines, &format!("random neural model, seed {seed}"))
}

//! Compression of the trained float model before quantization: pruning small weights, and for a
//! codebook model, clustering the table's rows into the codebook.

use std::time::Instant;

use decoder::internal::format::CODEBOOK_ENTRIES;

use super::progress::{say, Progress, ProgressEvent, Stage};
use crate::corpus::Sentence;
use crate::evaluate::{evaluate_float, DevScore};
use crate::model::FloatModel;

/// Sets the emission weights smaller than `prune_below` to zero (none for 0).
pub(super) fn prune(model: &mut FloatModel, prune_below: f32, progress: &mut dyn Progress) {
    if prune_below <= 0.0 {
        return;
    }
    let mut pruned = 0usize;
    for w in &mut model.weights {
        if w.abs() < prune_below && *w != 0.0 {
            *w = 0.0;
            pruned += 1;
        }
    }
    say(progress, format!("pruned {pruned} weights below {prune_below}"));
}

/// The model with its rows clustered into a codebook by k-means, weighted by `row_usage` (how often
/// training reads each row), and its dev score (`float_dev` is the unclustered model's).
pub(super) fn codebook(
    model: FloatModel,
    row_usage: &[u32],
    seed: u64,
    dev: &[Sentence],
    float_dev: DevScore,
    progress: &mut dyn Progress,
) -> (FloatModel, DevScore) {
    progress.event(ProgressEvent::StageStarted(Stage::Compression));
    // (Fine-tuning the codebook with the codes fixed did not help on PKU, and quantization-aware
    // training through a codebook recomputed each epoch diverged; neither is kept.)
    let started = Instant::now();
    let model = crate::codebook::quantize_rows(model, row_usage, seed);
    let clustered_dev = evaluate_float(&model, dev);
    say(
        progress,
        format!(
            "codebook: {CODEBOOK_ENTRIES} entries by k-means in {:.1} s: float dev {float_dev} -> {clustered_dev}",
            started.elapsed().as_secs_f64()
        ),
    );
    (model, clustered_dev)
}

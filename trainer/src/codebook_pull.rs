//! Quantization-aware training of a codebook model ("soft-to-hard"): after k-means has given every
//! table row its entry, training goes on for a few epochs on the CRF loss plus a pull of each row's
//! centred weights towards its entry, `strength * usage_r * |centred(w_r) - c_{code_r}|^2` (applied at
//! each read of the row, [`RowPull`]). After every epoch the rows are clustered again (Lloyd iterations
//! from the current entries: re-assign, re-centre) and the strength grows, so the rows gather around
//! entries that the CRF loss has had a say in before the final clustering. The CRF layer trains too.

use std::sync::Arc;

use crate::codebook::{distortion, kmeans, refine, Quantized, KMEANS_ITERATIONS};
use crate::evaluate::DevScore;
use crate::features::FeaturizedCorpus;
use crate::model::FloatModel;
use crate::optimizer::RowPull;
use crate::pipeline::progress::{say, Progress};
use crate::train::{train_featurized, train_featurized_with_hook, NextEpoch, TrainConfig};

/// How long and how hard [`pull_to_codebook`] pulls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PullSchedule {
    /// Epochs of training with the pull (0: plain k-means).
    pub epochs: usize,
    /// The pull's strength per read in the first epoch (the CRF loss is per token).
    pub strength: f32,
    /// The strength is multiplied by this after every epoch.
    pub growth: f32,
    /// The Adagrad learning rate of those epochs, for the table and the CRF layer alike.
    pub lr: f32,
    /// Run the epochs as one training run, Adagrad's squared-gradient sums carried from epoch to
    /// epoch (false: each epoch starts a fresh Adagrad from the rows of the one before).
    pub carry_optimizer: bool,
}

/// What [`pull_to_codebook`] produced.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The codebook model.
    pub model: FloatModel,
    /// The clusterings' distortions ([`distortion`]): k-means first, then after each epoch.
    pub distortions: Vec<f64>,
}

/// The codebook model of the direct-weight `float` (trained on `featurized`, its rows weighted by how
/// often `featurized` reads them): k-means from `seed`, then `schedule.epochs` epochs of training with the pull
/// towards the entries (the rest of the loop's settings from `config`), each followed by a new
/// clustering. Of the clusterings (the first k-means and one after each epoch) the best on
/// `dev_score` is returned.
pub fn pull_to_codebook(
    float: FloatModel,
    featurized: &FeaturizedCorpus,
    dev_score: &(dyn Fn(&FloatModel) -> DevScore + Sync),
    config: &TrainConfig,
    schedule: &PullSchedule,
    seed: u64,
    progress: &mut dyn Progress,
) -> Pulled {
    let l = float.num_tags();
    let usage = &featurized.row_usage(float.features.buckets());
    let clustered = |rows: &FloatModel, q: &Quantized| rows.clone().into_codebook(q.codebook.clone(), q.codes.clone());
    let mut clusters = kmeans(&float.weights, l, usage, KMEANS_ITERATIONS, seed);
    let first = clustered(&float, &clusters);
    let first_score = dev_score(&first);
    let mut distortions = vec![distortion(&float.weights, l, usage, &clusters)];
    say(progress, format!("pull: k-means seed {seed}: distortion {:.5}, codebook dev {first_score}", distortions[0]));
    let mut best = (first_score.value(), first);
    let targets_of = |clusters: &Quantized| -> Vec<f32> {
        clusters.codes.iter().flat_map(|&c| &clusters.codebook[c as usize * l..(c as usize + 1) * l]).copied().collect()
    };
    let mut strength = schedule.strength;
    // After an epoch: cluster the rows again from the current entries, keep the best clustering on
    // dev, and return the next epoch's pull (stronger by `growth`).
    let first_pull = Arc::new(RowPull { targets: targets_of(&clusters), strength });
    let mut after_epoch = |epoch: usize, rows: &FloatModel, rows_dev: DevScore, progress: &mut dyn Progress| {
        clusters = refine(&rows.weights, l, usage, std::mem::take(&mut clusters.codebook), KMEANS_ITERATIONS);
        let candidate = clustered(rows, &clusters);
        let score = dev_score(&candidate);
        distortions.push(distortion(&rows.weights, l, usage, &clusters));
        say(
            progress,
            format!(
                "pull epoch {epoch}: strength {strength}, rows dev {rows_dev}, distortion {:.5}, codebook dev {score}",
                distortions[epoch]
            ),
        );
        if score.value() > best.0 {
            best = (score.value(), candidate);
        }
        strength *= schedule.growth;
        Arc::new(RowPull { targets: targets_of(&clusters), strength })
    };
    let epoch_config = |epochs: usize, seed: u64, pull: Arc<RowPull>| TrainConfig {
        epochs,
        lr: schedule.lr,
        crf_lr: schedule.lr,
        seed,
        average_from: 1,
        keep_last: true,
        pull: Some(pull),
        ..config.clone()
    };
    if schedule.carry_optimizer {
        // One run of all the epochs: Adagrad's sums carry over, each epoch averages its own iterates.
        let mut hook = |epoch: usize, rows: &FloatModel, rows_dev: DevScore, progress: &mut dyn Progress| NextEpoch {
            pull: Some(after_epoch(epoch, rows, rows_dev, progress)),
            restart_average: true,
        };
        let run = epoch_config(schedule.epochs, config.seed.wrapping_add(1), first_pull);
        train_featurized_with_hook(featurized, dev_score, float, &run, &mut hook, progress);
    } else {
        let (mut rows, mut pull) = (float, first_pull);
        for epoch in 1..=schedule.epochs {
            let run = epoch_config(1, config.seed.wrapping_add(epoch as u64), pull);
            let outcome = train_featurized(featurized, dev_score, rows, &run, progress);
            rows = outcome.model;
            pull = after_epoch(epoch, &rows, outcome.epochs[outcome.best].dev, progress);
        }
    }
    Pulled { model: best.1, distortions }
}

#[cfg(test)]
mod tests {
    use super::*;

    use decoder::internal::features::Template;

    use crate::codebook_fit::tests::accuracy;
    use crate::features::FeatureSpec;

    const ROWS: u32 = 1024;
    const TOKENS: u32 = 600;

    /// Sentences of 5 of 600 tokens (token `t` reads table row `t` of 1024), tagged `A` for odd tokens
    /// and `B` for even ones: more rows in use than the codebook has entries.
    fn task() -> FeaturizedCorpus {
        let mut hashes = Vec::new();
        let mut tags = Vec::new();
        for s in 0..600u32 {
            let tokens: Vec<u32> = (0..5).map(|i| 1 + (s * 5 + i * 7) % TOKENS).collect();
            tags.push(tokens.iter().map(|&t| u8::from(t % 2 == 0)).collect::<Vec<u8>>());
            // row(h, 1024) = h * 1024 >> 32: row t's hash is t << 22.
            hashes.push(tokens.iter().map(|&t| t << 22).collect());
        }
        let tag_refs: Vec<&[u8]> = tags.iter().map(Vec::as_slice).collect();
        FeaturizedCorpus::from_hashes(hashes, &tag_refs, ROWS, 1, 1)
    }

    #[test]
    fn the_pull_gathers_the_rows_on_their_entries_and_keeps_the_tagging() {
        let corpus = task();
        let usage = corpus.row_usage(ROWS as usize);
        // Every row right, by margins spread over [0.5, 1.5): 600 distinct centred rows, so k-means
        // into 256 entries leaves some distortion.
        let mut model =
            FloatModel::zeros(vec!["A".into(), "B".into()], FeatureSpec::with_rows(vec![Template::Bias], ROWS));
        for t in 1..=TOKENS as usize {
            let margin = 0.5 + (t as f32 * 0.618_034).fract();
            let sign = if t % 2 == 1 { 1.0 } else { -1.0 };
            model.weights[2 * t..2 * t + 2].copy_from_slice(&[sign * margin, -sign * margin]);
        }
        let score = |m: &FloatModel| accuracy(m, &corpus);
        assert_eq!(score(&model).value(), 1.0);
        let config = TrainConfig { lr: 0.05, crf_lr: 0.05, ..Default::default() };
        let schedule = PullSchedule { epochs: 4, strength: 0.5, growth: 2.0, lr: 0.05, carry_optimizer: false };
        // Fresh Adagrad each epoch, or one run with the sums carried over.
        for carry_optimizer in [false, true] {
            let schedule = PullSchedule { carry_optimizer, ..schedule };
            let pulled =
                pull_to_codebook(model.clone(), &corpus, &score, &config, &schedule, 1, &mut crate::pipeline::Silent);
            let d = &pulled.distortions;
            assert_eq!(d.len(), 5);
            assert!(d[0] > 1e-6, "{d:?}");
            // Carried sums take smaller steps, and the pull is a proximal step at Adagrad's step size:
            // the rows gather, but less at the same strength.
            let gathered = if carry_optimizer { d[0] / 3.0 } else { d[0] / 10.0 };
            assert!(d[4] < gathered, "carry {carry_optimizer}: the rows did not gather: {d:?}");
            assert_eq!(pulled.model.codes.as_ref().map(Vec::len), Some(ROWS as usize));
            assert_eq!(score(&pulled.model).value(), 1.0, "carry {carry_optimizer}");
        }
        // No epochs: plain k-means, the same as quantize_rows.
        let none = PullSchedule { epochs: 0, ..schedule };
        let plain = pull_to_codebook(model.clone(), &corpus, &score, &config, &none, 1, &mut crate::pipeline::Silent);
        let quantized = crate::codebook::quantize_rows(model, &usage, 1);
        assert_eq!((&plain.model.weights, &plain.model.codes), (&quantized.weights, &quantized.codes));
    }

    #[test]
    fn the_epoch_hook_sets_the_pull_of_the_next_epoch() {
        let corpus = task();
        let usage = corpus.row_usage(ROWS as usize);
        let model = FloatModel::zeros(vec!["A".into(), "B".into()], FeatureSpec::with_rows(vec![Template::Bias], ROWS));
        // The last iterate (no averaging), no pull in epoch 1, then a strong pull to (0.25, -0.25).
        let config =
            TrainConfig { lr: 0.05, crf_lr: 0.05, epochs: 2, keep_last: true, average: false, ..Default::default() };
        let target = [0.25f32, -0.25];
        let off_target = |m: &FloatModel| {
            (0..ROWS as usize)
                .filter(|&r| usage[r] > 0)
                .map(|r| {
                    let w = &m.weights[2 * r..2 * r + 2];
                    let mean = (w[0] + w[1]) / 2.0;
                    (w[0] - mean - target[0]).abs().max((w[1] - mean - target[1]).abs())
                })
                .fold(0.0f32, f32::max)
        };
        let mut seen = Vec::new();
        let mut hook = |epoch: usize, rows: &FloatModel, _: DevScore, _: &mut dyn Progress| {
            seen.push((epoch, off_target(rows)));
            let pull = RowPull { targets: target.repeat(ROWS as usize), strength: 1e6 };
            NextEpoch { pull: Some(Arc::new(pull)), restart_average: true }
        };
        let score = |m: &FloatModel| accuracy(m, &corpus);
        let outcome =
            train_featurized_with_hook(&corpus, &score, model, &config, &mut hook, &mut crate::pipeline::Silent);
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 2]);
        assert!(seen[0].1 > 0.1, "epoch 1 was pulled: {seen:?}");
        assert!(seen[1].1 < 1e-3, "epoch 2 was not pulled: {seen:?}");
        assert!(off_target(&outcome.model) < 1e-3);
    }
}

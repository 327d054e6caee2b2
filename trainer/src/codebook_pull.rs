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
use crate::train::{train_featurized, TrainConfig};

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
    let mut rows = float;
    let mut strength = schedule.strength;
    for epoch in 1..=schedule.epochs {
        let targets: Vec<f32> = clusters
            .codes
            .iter()
            .flat_map(|&c| &clusters.codebook[c as usize * l..(c as usize + 1) * l])
            .copied()
            .collect();
        let epoch_config = TrainConfig {
            epochs: 1,
            lr: schedule.lr,
            crf_lr: schedule.lr,
            seed: config.seed.wrapping_add(epoch as u64),
            average_from: 1,
            keep_last: true,
            pull: Some(Arc::new(RowPull { targets, strength })),
            ..config.clone()
        };
        let outcome = train_featurized(featurized, dev_score, rows, &epoch_config, progress);
        rows = outcome.model;
        clusters = refine(&rows.weights, l, usage, clusters.codebook, KMEANS_ITERATIONS);
        let candidate = clustered(&rows, &clusters);
        let score = dev_score(&candidate);
        distortions.push(distortion(&rows.weights, l, usage, &clusters));
        say(
            progress,
            format!(
                "pull epoch {epoch}: strength {strength}, rows dev {}, distortion {:.5}, codebook dev {score}",
                outcome.epochs[outcome.best].dev, distortions[epoch]
            ),
        );
        if score.value() > best.0 {
            best = (score.value(), candidate);
        }
        strength *= schedule.growth;
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
        let schedule = PullSchedule { epochs: 4, strength: 0.5, growth: 2.0, lr: 0.05 };
        let pulled =
            pull_to_codebook(model.clone(), &corpus, &score, &config, &schedule, 1, &mut crate::pipeline::Silent);
        let d = &pulled.distortions;
        assert_eq!(d.len(), 5);
        assert!(d[0] > 1e-6, "{d:?}");
        assert!(d[4] < d[0] / 10.0, "the rows did not gather: {d:?}");
        assert_eq!(pulled.model.codes.as_ref().map(Vec::len), Some(ROWS as usize));
        assert_eq!(score(&pulled.model).value(), 1.0);
        // No epochs: plain k-means, the same as quantize_rows.
        let none = PullSchedule { epochs: 0, ..schedule };
        let plain = pull_to_codebook(model.clone(), &corpus, &score, &config, &none, 1, &mut crate::pipeline::Silent);
        let quantized = crate::codebook::quantize_rows(model, &usage, 1);
        assert_eq!((&plain.model.weights, &plain.model.codes), (&quantized.weights, &quantized.codes));
    }
}

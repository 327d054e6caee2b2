//! Fitting a codebook model's codebook to the training data: after k-means has given every table row
//! its entry, the codes stay fixed and the entries themselves (with the CRF layer) are trained on the
//! CRF loss. k-means places the entries to reproduce the rows; training places them to decide the tags,
//! moving each entry by the summed gradient of all the rows that use it.

use decoder::internal::format::CODEBOOK_ENTRIES;

use crate::evaluate::DevScore;
use crate::features::{FeatureSpec, FeaturizedCorpus, UNUSED_ROW};
use crate::model::FloatModel;
use crate::pipeline::progress::{say, Progress};
use crate::train::{train_featurized, TrainConfig};

/// The codebook model `clustered` (rows already coded) with its codebook and CRF layer trained on
/// `featurized` (its table rows) for at most `config.epochs` epochs, the best epoch on `dev_score` kept;
/// `clustered` itself when no epoch scores better on dev. Entry 0 stays the zero vector: the rows coded
/// 0 (never read in training, or nearest to zero) are left out of the fitting.
pub fn fit_codebook(
    clustered: FloatModel,
    featurized: &FeaturizedCorpus,
    dev_score: &(dyn Fn(&FloatModel) -> DevScore + Sync),
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> FloatModel {
    let codes = clustered.codes.clone().expect("a codebook model");
    let by_entry = featurized.map_rows(|row| match codes[row as usize] {
        0 => UNUSED_ROW,
        code => u32::from(code),
    });
    let mut entries_spec = FeatureSpec::with_rows(clustered.features.templates.clone(), CODEBOOK_ENTRIES as u32);
    entries_spec.hashes_per_feature = clustered.features.hashes_per_feature;
    entries_spec.tokens = clustered.features.tokens.clone();
    let entries = FloatModel { features: entries_spec, codes: None, ..clustered.clone() };
    let with_entries = |trained: &FloatModel| FloatModel {
        weights: trained.weights.clone(),
        transitions: trained.transitions.clone(),
        start: trained.start.clone(),
        end: trained.end.clone(),
        ..clustered.clone()
    };
    let score_entries = |trained: &FloatModel| dev_score(&with_entries(trained));
    let before = dev_score(&clustered);
    let outcome = train_featurized(&by_entry, &score_entries, entries, config, progress);
    let after = outcome.epochs[outcome.best].dev;
    say(progress, format!("codebook fitted to the training data: float dev {before} -> {after}"));
    if after.value() > before.value() {
        with_entries(&outcome.model)
    } else {
        clustered
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use decoder::internal::features::{row, Template};

    /// Sentences of tokens 1 to 6 (one feature each, read from table row `token` of 8) tagged `A` for 1
    /// to 3 and `B` for 4 to 6.
    fn task() -> (FeaturizedCorpus, Vec<String>) {
        // A hash that lands on each row.
        let hash_of_row = |r: usize| (0u32..).map(|i| i.wrapping_mul(0x9E37_79B9)).find(|&h| row(h, 8) == r).unwrap();
        let mut hashes = Vec::new();
        let mut tags = Vec::new();
        for s in 0..40u32 {
            let tokens: Vec<u32> = (0..5).map(|i| 1 + (s * 7 + i * 3) % 6).collect();
            tags.push(tokens.iter().map(|&t| u8::from(t > 3)).collect::<Vec<u8>>());
            hashes.push(tokens.iter().map(|&t| hash_of_row(t as usize)).collect());
        }
        let tag_refs: Vec<&[u8]> = tags.iter().map(Vec::as_slice).collect();
        // 8-row table: a hash below 8 is its own row.
        let corpus = FeaturizedCorpus::from_hashes(hashes, &tag_refs, 8, 1, 1);
        (corpus, vec!["A".to_string(), "B".to_string()])
    }

    /// The share of `corpus`'s tags that `model` gets right.
    pub(crate) fn accuracy(model: &FloatModel, corpus: &FeaturizedCorpus) -> DevScore {
        let (_, constraints) = model.constraints();
        let (mut correct, mut total) = (0, 0);
        for i in 0..corpus.len() {
            let sentence = corpus.sentence(i);
            let mut emissions = Vec::new();
            model.emissions(sentence.rows, &mut emissions);
            let predicted = model.viterbi(&emissions, &constraints);
            correct += predicted.iter().zip(sentence.tags).filter(|(p, g)| p == g).count();
            total += sentence.tags.len();
        }
        DevScore::Tagging { correct, total }
    }

    #[test]
    fn fitting_trains_the_entries_with_the_codes_fixed_and_entry_zero_at_zero() {
        let (corpus, tag_names) = task();
        let mut spec = FeatureSpec::with_rows(vec![Template::Bias], 8);
        spec.hashes_per_feature = 1;
        // Rows 1-3 share entry 1 and rows 4-6 entry 2, a codebook of zeros (every tag ties); row 3 is
        // coded 0, so its tokens must stay at zero and be decided by nothing but the CRF layer.
        let codes = vec![0u8, 1, 1, 0, 2, 2, 2, 0];
        let clustered =
            FloatModel::zeros(tag_names, spec).into_codebook(vec![0.0; CODEBOOK_ENTRIES * 2], codes.clone());
        let score = |m: &FloatModel| accuracy(m, &corpus);
        let config = TrainConfig { epochs: 4, lr: 0.5, crf_lr: 0.5, ..Default::default() };
        let fitted = fit_codebook(clustered.clone(), &corpus, &score, &config, &mut crate::pipeline::Silent);
        assert_eq!(fitted.codes.as_deref(), Some(&codes[..]));
        assert_eq!(&fitted.weights[..2], &[0.0, 0.0]);
        let entry = |c: usize| &fitted.weights[c * 2..c * 2 + 2];
        assert!(entry(1)[0] > entry(1)[1] && entry(2)[1] > entry(2)[0], "{:?} {:?}", entry(1), entry(2));
        assert!(score(&fitted).value() > score(&clustered).value() + 0.3);
        // An unfittable start (every entry already right) is returned as it was.
        let again = fit_codebook(fitted.clone(), &corpus, &score, &config, &mut crate::pipeline::Silent);
        assert!(score(&again).value() >= score(&fitted).value());
    }
}

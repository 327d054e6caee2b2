//! Training the exported model: one run or an ensemble of runs with consecutive seeds (their mean is
//! exported), each optionally refitted on the training and dev data for the epoch count it chose.

use std::sync::Arc;

use anyhow::{Context as _, Result};

use super::data::with_sentences;
use super::progress::{say, Progress};
use super::word_list;
use crate::corpus::{Corpus, Sentence};
use crate::features::FeatureSpec;
use crate::model::FloatModel;
use crate::train::{self, TrainConfig, TrainOutcome};

/// The data and features of a refit: the training corpus with the dev sentences after it (after any
/// distilled lines, so the gold ones are never dropped from the word list's folds), and the features
/// with a word list built from both. `limit` is the word list's limit, `budget` whether the run has
/// a byte budget.
pub(super) fn prepare_refit(
    train_corpus: &Corpus,
    dev: &[Sentence],
    spec: &FeatureSpec,
    extra_words: &[String],
    limit: Option<usize>,
    budget: bool,
    progress: &mut dyn Progress,
) -> (Corpus, FeatureSpec) {
    let combined = with_sentences(train_corpus, dev.iter().cloned());
    let mut refit_spec = spec.clone();
    if let Some(selection_words) = &spec.lexicon {
        let words = word_list::refit_list(&combined, selection_words, spec, extra_words, limit, budget, progress);
        refit_spec.lexicon = Some(Arc::new(words));
    }
    (combined, refit_spec)
}

/// Trains the exported model: `members` runs with consecutive seeds, each choosing its epoch count on
/// `dev` and, with `refit` (the training and dev data, and their features), trained again on it for
/// that many epochs; the members' parameters are averaged ([`FloatModel::mean`]). The outcome's
/// epochs and choice are the first member's selection run (its dev scores are held out); its row
/// usage is that of the data the exported model was trained on.
pub(super) fn train_members(
    train_corpus: &Corpus,
    dev: &[Sentence],
    spec: &FeatureSpec,
    refit: Option<&(Corpus, FeatureSpec)>,
    config: &TrainConfig,
    members: u32,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    let mut first: Option<TrainOutcome> = None;
    let mut models = Vec::new();
    let mut refit_row_usage = None;
    for member in 0..u64::from(members) {
        let member_config = TrainConfig { seed: config.seed.wrapping_add(member), ..config.clone() };
        let mut selection = train::train(train_corpus, dev, spec.clone(), &member_config, None, progress);
        let chosen = selection.best_epoch();
        let epochs = chosen.epoch;
        if members > 1 {
            say(
                progress,
                format!(
                    "member {}/{members} (seed {}): epoch {epochs}, dev {}",
                    member + 1,
                    member_config.seed,
                    chosen.dev
                ),
            );
        }
        let refitted = match refit {
            Some((combined, refit_spec)) => {
                say(
                    progress,
                    format!(
                        "refit: {epochs} epochs on the training and dev data ({} sentences)",
                        combined.sentences.len()
                    ),
                );
                let refit_config = TrainConfig { epochs, keep_last: true, ..member_config };
                let refitted = train::train(combined, dev, refit_spec.clone(), &refit_config, None, progress);
                refit_row_usage = Some(refitted.row_usage);
                Some(refitted.model)
            }
            None => None,
        };
        if member == 0 {
            // The first member's model stays in its outcome until the mean is taken.
            if let Some(model) = refitted {
                selection.model = model;
            }
            first = Some(selection);
        } else {
            models.push(refitted.unwrap_or(selection.model));
        }
    }
    let mut outcome = first.context("an ensemble needs at least one member")?;
    if !models.is_empty() {
        // One member (the default) is exported as trained, without a copy of its table.
        models.insert(0, outcome.model);
        outcome.model = FloatModel::mean(&models).context("the ensemble's members differ in shape")?;
    }
    if let Some(usage) = refit_row_usage {
        // The codebook's k-means weighs rows by how often the exported model's training data reads them.
        outcome.row_usage = usage;
    }
    Ok(outcome)
}

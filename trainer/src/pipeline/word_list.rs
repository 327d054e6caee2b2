//! The word list of the lexicon templates: the training words (distilled lines included) and any
//! `--lexicon-extra` words, as many as the limit allows; under a byte budget, a list shorter than its
//! share leaves the bytes to the table.

use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use decoder::internal::format::WeightType;

use super::progress::{say, Progress, ProgressEvent, Stage};
use super::{budget, TrainOptions};
use crate::corpus::Corpus;
use crate::features::FeatureSpec;
use crate::lexicon::TrainingLexicon;

/// The `--lexicon-extra` words (which need a word list: `has_list`).
pub(super) fn read_extra_words(options: &TrainOptions, has_list: bool) -> Result<Vec<String>> {
    if !has_list && !options.lexicon_extra.is_empty() {
        bail!("--lexicon-extra adds to a word list, which this model has none of (--no-lexicon, or tags that are not word segmentation)");
    }
    let mut extra_words = Vec::new();
    for path in &options.lexicon_extra {
        extra_words.extend(crate::lexicon::read_extra_words(path)?);
    }
    Ok(extra_words)
}

/// How the table of a budget run was sized (to size it again for the list's actual length).
pub(super) struct TableSizing {
    /// The byte budget.
    pub budget: usize,
    /// Codes into a codebook rather than direct weights.
    pub codebook: bool,
    /// The weights' element type.
    pub weight_type: WeightType,
    /// Rows each feature reads.
    pub hashes_per_feature: u8,
}

/// Builds the word list from `train_corpus` with at most `limit` words into `spec`; under a byte
/// budget (`sizing`), a list shorter than its share gives the table more rows (and perhaps another
/// auto template set).
pub(super) fn build(
    options: &TrainOptions,
    train_corpus: &Corpus,
    extra_words: &[String],
    limit: Option<usize>,
    sizing: Option<&TableSizing>,
    spec: &mut FeatureSpec,
    progress: &mut dyn Progress,
) -> Result<()> {
    progress.event(ProgressEvent::StageStarted(Stage::WordList));
    let tag_names = &train_corpus.tag_names;
    // From the whole training text, distilled lines included (dev stays unseen).
    let words =
        TrainingLexicon::from_sentences(&train_corpus.sentences, tag_names, spec.normalization, extra_words, limit);
    say(
        progress,
        format!("word list: {} words of 2 to {} characters", words.len(), decoder::internal::lexicon::MAX_WORD_CHARS),
    );
    if let Some(sizing) = sizing {
        let budget = sizing.budget;
        // Fewer words than the limit leave bytes to the table.
        let rows = budget::largest_table(tag_names, budget, sizing.codebook, sizing.weight_type, Some(words.len()))
            .with_context(|| format!("no model fits in {budget} bytes"))?;
        if rows != spec.rows {
            say(progress, format!("budget {budget} bytes with {} words: {rows} rows", words.len()));
            spec.rows = rows;
            // The row count picks the auto template set.
            spec.templates = budget::choose_templates(options, rows, true, sizing.hashes_per_feature)?;
        }
    }
    spec.lexicon = Some(Arc::new(words));
    Ok(())
}

/// The refit's word list, from the training and dev data together (`combined`): under a byte budget
/// no longer than the selection run's (the table was sized for it), else within `limit`.
pub(super) fn refit_list(
    combined: &Corpus,
    selection_words: &TrainingLexicon,
    spec: &FeatureSpec,
    extra_words: &[String],
    limit: Option<usize>,
    budget: bool,
    progress: &mut dyn Progress,
) -> TrainingLexicon {
    let limit = if budget { Some(selection_words.len()) } else { limit };
    let words = TrainingLexicon::from_sentences(
        &combined.sentences,
        &combined.tag_names,
        spec.normalization,
        extra_words,
        limit,
    );
    say(progress, format!("refit word list: {} words", words.len()));
    words
}

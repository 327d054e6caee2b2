//! The teachers: the unlimited reference model of a byte-budget run (trained first, with the unlimited
//! defaults; it measures what the budget costs and labels the distillation text unless a teacher file
//! is given), and distillation, a teacher labelling unlabeled text that joins the training data.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Result};
use decoder::Model;

use super::data::{read_data, with_sentences, TrainingData};
use super::progress::{say, Progress, ProgressEvent, Stage};
use super::{budget, TrainOptions};
use crate::corpus::{Corpus, Sentence, WordTags};
use crate::distill;
use crate::evaluate::DevScore;
use crate::features::FeatureSpec;
use crate::lexicon::TrainingLexicon;
use crate::model::FloatModel;
use crate::train::{self, TrainConfig};

/// Fails on teacher and distillation options that do not go together.
pub(super) fn check_options(options: &TrainOptions) -> Result<()> {
    if options.teacher.is_some() && options.distill.is_empty() {
        bail!("--teacher labels --distill text; give --distill FILE");
    }
    let no_reference = options.max_model_bytes.is_none() || !options.reference_model;
    if !options.distill.is_empty() && options.teacher.is_none() && no_reference {
        bail!("--distill needs a teacher: give --teacher MODEL, or --max-model-bytes without --no-reference");
    }
    Ok(())
}

/// The unlimited reference model and its dev score.
pub(super) struct Reference {
    /// log2 of its table rows.
    pub bucket_bits: u8,
    /// Its (float) dev score.
    pub dev: DevScore,
    /// The model, the default teacher.
    pub model: FloatModel,
}

/// What the reference model is trained with besides the options.
pub(super) struct ReferenceInputs<'a> {
    /// The budget run's data (reused when the reference model's tags are the same).
    pub data: &'a TrainingData,
    /// The budget run's tag set.
    pub word_tags: WordTags,
    /// log2 of the unlimited table's rows.
    pub bucket_bits: u8,
    /// Whether the model has a word list.
    pub lexicon: bool,
    /// Words from `--lexicon-extra`.
    pub extra_words: &'a [String],
    /// The training settings.
    pub config: &'a TrainConfig,
}

/// Trains the model the same data gives without the budget, with the unlimited defaults.
pub(super) fn train_reference(
    options: &TrainOptions,
    inputs: &ReferenceInputs<'_>,
    progress: &mut dyn Progress,
) -> Result<Reference> {
    progress.event(ProgressEvent::StageStarted(Stage::ReferenceModel));
    let unlimited_bits = inputs.bucket_bits;
    let reference_tags = options.word_tags_for(false);
    let reference_data =
        if reference_tags == inputs.word_tags { None } else { Some(read_data(options, reference_tags)?) };
    let reference_data = reference_data.as_ref().unwrap_or(inputs.data);
    let templates = budget::choose_templates(options, 1 << unlimited_bits, inputs.lexicon, 1)?;
    say(
        progress,
        format!(
            "training the unlimited reference model first (2^{unlimited_bits} rows, {} templates, tags {})",
            templates.len(),
            reference_data.train.tag_names.join(" ")
        ),
    );
    let mut spec = FeatureSpec::new(templates, unlimited_bits);
    if inputs.lexicon {
        let train = &reference_data.train;
        let words = TrainingLexicon::from_sentences(
            &train.sentences,
            &train.tag_names,
            spec.normalization,
            inputs.extra_words,
            None,
        );
        spec.lexicon = Some(Arc::new(words));
    }
    let outcome = train::train(&reference_data.train, &reference_data.dev, spec, inputs.config, None, progress);
    let score = outcome.best_epoch().dev;
    say(progress, format!("reference model: dev {score}"));
    Ok(Reference { bucket_bits: unlimited_bits, dev: score, model: outcome.model })
}

/// The training corpus with the teacher's labelling of `unlabeled` after it (lines of the dev data
/// left out), or `None` without unlabeled text. The teacher is the model file `teacher_file` if given,
/// else the reference model.
pub(super) fn distill_corpus(
    options: &TrainOptions,
    corpus: &Corpus,
    dev: &[Sentence],
    unlabeled: Vec<Vec<char>>,
    teacher_file: Option<&Model<'_>>,
    reference_model: Option<&FloatModel>,
    progress: &mut dyn Progress,
) -> Result<Option<Corpus>> {
    if unlabeled.is_empty() {
        return Ok(None);
    }
    progress.event(ProgressEvent::StageStarted(Stage::Distillation));
    let (teacher, teacher_name) = match (teacher_file, reference_model) {
        (Some(model), _) => {
            (distill::Teacher::Exported(model), options.teacher.as_ref().map(|p| p.display().to_string()))
        }
        (None, Some(model)) => (distill::Teacher::Float(model), None),
        (None, None) => bail!("--distill needs a teacher: the reference model was not trained (give --teacher)"),
    };
    let started = Instant::now();
    let unlabeled = distill::without_dev_text(unlabeled, dev);
    let labelled = distill::label(teacher, &unlabeled, &corpus.tag_names)?;
    let chars: usize = labelled.iter().map(|s| s.chars.len()).sum();
    say(
        progress,
        format!(
            "distillation: {} labelled {} lines ({chars} characters) of {} in {:.1} s",
            teacher_name.as_deref().unwrap_or("the reference model"),
            labelled.len(),
            options.distill.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(Some(with_sentences(corpus, labelled)))
}

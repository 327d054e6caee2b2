//! The training pipeline as a library: [`train`] with plain [`TrainOptions`] (the defaults are
//! `trainer train`'s) reads the corpora, sizes the model for its byte budget, trains (with a teacher,
//! a word list, an ensemble and a refit as asked), compresses and quantizes it, writes the model file
//! and returns a [`TrainSummary`]. What it does on the way goes to a [`Progress`].
//!
//! One stage per module, in the order they run:
//! - [`data`]: the training and dev corpora, the model file and its vocabulary;
//! - `budget`: the largest table that fits a byte budget, the word list's share, the templates;
//! - `teacher`: the unlimited reference model and distillation;
//! - `word_list`: the lexicon templates' word list;
//! - `ensemble`: the seeds' runs, their refits and their mean;
//! - `compress`: pruning and the codebook;
//! - `quantization`: the integer layout and the export;
//! - [`report`]: the summary text and the test scores.
//!
//! `--emission neural` takes its own path, [`neural::train`]: the neural encoder trained with candle.

pub mod data;
pub mod neural;
pub mod progress;
pub mod report;

mod budget;
mod compress;
mod ensemble;
mod quantization;
mod teacher;
mod word_list;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use decoder::internal::format::WeightType;

pub use data::{load_model, read_model_file, words_path_for, SAMPLE_CORPUS};
pub use progress::{Progress, ProgressEvent, Silent, Stage};

use crate::corpus::{Corpus, CorpusFormat, Sentence, WordTags};
use crate::crf::Loss;
use crate::distill;
use crate::evaluate::{evaluate_float, scale_report, DevScore, ScaleReport};
use crate::features::{FeatureSpec, TemplateSet};
use crate::model::FloatModel;
use crate::optimizer::AdagradMode;
use crate::quantize::QuantParams;
use crate::train::{TrainConfig, TrainOutcome};
use data::TrainingData;
use progress::say;
use teacher::{Reference, ReferenceInputs};
use word_list::TableSizing;

/// The emission model: what scores each character for each tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Emission {
    /// Hashed character n-gram features (and a word list), one weight row per feature: [`train`].
    #[default]
    Linear,
    /// A character encoder (embeddings, convolutions, dense layer) trained with candle: [`neural::train`].
    Neural,
    /// The encoder plus a hashed n-gram table (the linear model's features), trained jointly under one
    /// CRF loss: [`neural::train`].
    Hybrid,
}

/// The element type of the exported emission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightChoice {
    /// i8, or a codebook with a byte budget.
    #[default]
    Auto,
    /// Signed 8-bit weights, scaled up to score units by a shift.
    I8,
    /// Signed 16-bit weights.
    I16,
    /// One-byte row codes into a shared codebook of i8 rows.
    Codebook,
}

impl WeightChoice {
    /// The type of the stored weights (a codebook's entries are i8).
    pub fn weight_type(self) -> WeightType {
        match self {
            Self::Auto | Self::I8 | Self::Codebook => WeightType::I8,
            Self::I16 => WeightType::I16,
        }
    }

    /// Whether the table is a codebook, given whether the model has a byte budget.
    pub fn codebook(self, budget: bool) -> bool {
        match self {
            Self::Codebook => true,
            Self::Auto => budget,
            Self::I8 | Self::I16 => false,
        }
    }
}

/// Everything that shapes a training run. [`Default`] gives `trainer train`'s defaults; the fields
/// after [`TrainOptions::weight_type`] are the experiment knobs that `trainer train` no longer offers
/// (the `tune` example program sets them).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Training corpus (segmented words or CoNLL); `None`: the built-in [`SAMPLE_CORPUS`].
    pub train: Option<PathBuf>,
    /// Dev corpus; `None`: every `1/holdout`-th training sentence.
    pub dev: Option<PathBuf>,
    /// Test corpus, scored at the end for information.
    pub test: Option<PathBuf>,
    /// Word list defining OOV words when scoring `test` (default: the training vocabulary).
    pub words: Option<PathBuf>,
    /// Where the model is written (the vocabulary goes next to it, as `MODEL.words`).
    pub out: PathBuf,
    /// Layout of the corpus files.
    pub format: CorpusFormat,
    /// Tag set of segmented corpora; `None`: BMES6, or BMES with a byte budget.
    pub word_tags: Option<WordTags>,
    /// Most passes over the training data.
    pub epochs: usize,
    /// Stop after this many epochs without a better dev score.
    pub patience: usize,
    /// Adagrad learning rate of the emission weights.
    pub lr: f32,
    /// Adagrad learning rate of the CRF layer (transition, start and end scores).
    pub crf_lr: f32,
    /// Seed of the shuffling (the same seed gives the same model for any thread count).
    pub seed: u64,
    /// Models trained with seeds `seed`, `seed + 1`, ... whose mean is exported (1 to 64).
    pub ensemble: u32,
    /// Train again on the training and dev data for the chosen epoch count and export that model.
    pub refit: bool,
    /// Named feature template set.
    pub templates: TemplateSet,
    /// Make the model file fit in this many bytes.
    pub max_model_bytes: Option<usize>,
    /// With a byte budget, train the unlimited reference model first (for the cost report and as the
    /// default teacher).
    pub reference_model: bool,
    /// Give word segmentation models the word list of the lexicon templates.
    pub lexicon: bool,
    /// Files of more words for the word list.
    pub lexicon_extra: Vec<PathBuf>,
    /// Unlabeled text that the teacher labels for the training data.
    pub distill: Vec<PathBuf>,
    /// The model file that labels `distill` text (default with a budget: the reference model).
    pub teacher: Option<PathBuf>,
    /// Element type of the exported emission table.
    pub weight_type: WeightChoice,
    /// The emission model (the neural one trains through [`neural::train`]).
    pub emission: Emission,
    /// The neural model's shape and training settings (its epochs, patience and seed are the fields
    /// above).
    pub neural: crate::neural::train::NeuralConfig,
    /// Training objective.
    pub loss: Loss,
    /// L1 regularisation strength over the whole corpus (crfsuite's c1).
    pub l1: f32,
    /// L2 regularisation strength over the whole corpus (crfsuite's c2).
    pub l2: f32,
    /// Emission weights smaller than this are set to zero after training (0: none).
    pub prune_below: f32,
    /// Sentences per optimizer step.
    pub batch_size: usize,
    /// Export the average of the iterates rather than the last one.
    pub average: bool,
    /// Average the iterates from this epoch on.
    pub average_from: usize,
    /// Initial Adagrad squared-gradient sum.
    pub adagrad_init: f32,
    /// Adagrad's squared-gradient sums per row or per weight.
    pub adagrad: AdagradMode,
    /// Leave features seen fewer times than this out of training (1 keeps all).
    pub min_feature_count: u32,
    /// Train under the hard tag constraints (decoding always applies them).
    pub constrained_training: bool,
    /// Feature templates as a list (e.g. `"bias,C-1,C0,C-1C0"`), overriding `templates`.
    pub template_list: Option<String>,
    /// log2 of the table rows without a budget (4 to 24; default 22, or 16 for the sample corpus).
    pub bucket_bits: Option<u8>,
    /// Rows each feature reads in a codebook model (1 or 2; default 2).
    pub hashes_per_feature: Option<u8>,
    /// Most words in the word list (default: all, or the budget's share).
    pub lexicon_words: Option<usize>,
    /// Share of the training corpus held out as dev data without `dev`.
    pub holdout: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            train: None,
            dev: None,
            test: None,
            words: None,
            out: PathBuf::from("target/model.crfm"),
            format: CorpusFormat::Auto,
            word_tags: None,
            epochs: 12,
            patience: 3,
            lr: 0.2,
            crf_lr: 1.0,
            seed: 1,
            ensemble: 1,
            refit: false,
            templates: TemplateSet::Auto,
            max_model_bytes: None,
            reference_model: true,
            lexicon: true,
            lexicon_extra: Vec::new(),
            distill: Vec::new(),
            teacher: None,
            weight_type: WeightChoice::Auto,
            emission: Emission::Linear,
            neural: crate::neural::train::NeuralConfig::default(),
            loss: Loss::Crf,
            l1: 0.0,
            l2: 0.0,
            prune_below: 0.0,
            batch_size: 64,
            average: true,
            average_from: 1,
            adagrad_init: 0.1,
            adagrad: AdagradMode::Row,
            min_feature_count: 1,
            constrained_training: true,
            template_list: None,
            bucket_bits: None,
            hashes_per_feature: None,
            lexicon_words: None,
            holdout: 0.05,
        }
    }
}

impl TrainOptions {
    /// Fails on values out of range.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            bail!("--epochs must be at least 1");
        }
        if self.batch_size == 0 {
            bail!("--batch-size must be at least 1");
        }
        if !(1..=64).contains(&self.ensemble) {
            bail!("--ensemble must be 1 to 64, got {}", self.ensemble);
        }
        if let Some(bits) = self.bucket_bits.filter(|bits| !(4..=24).contains(bits)) {
            bail!("--bucket-bits must be 4 to 24, got {bits}");
        }
        if let Some(hashes) = self.hashes_per_feature.filter(|hashes| !(1..=2).contains(hashes)) {
            bail!("--hashes-per-feature must be 1 or 2, got {hashes}");
        }
        Ok(())
    }

    /// The tag set for segmented corpora, given whether the model has a byte budget: a budget means a
    /// small table, where four tags leave more rows than six.
    pub fn word_tags_for(&self, budget: bool) -> WordTags {
        match self.word_tags {
            Some(tags) => tags,
            None if budget => WordTags::Bmes,
            None => WordTags::Bmes6,
        }
    }

    /// The training loop's settings.
    pub(crate) fn train_config(&self) -> TrainConfig {
        TrainConfig {
            loss: self.loss,
            epochs: self.epochs,
            lr: self.lr,
            crf_lr: self.crf_lr,
            l1: self.l1,
            l2: self.l2,
            batch_size: self.batch_size,
            seed: self.seed,
            constrained: self.constrained_training,
            patience: self.patience,
            average: self.average,
            average_from: self.average_from,
            adagrad_init: self.adagrad_init,
            min_feature_count: self.min_feature_count,
            adagrad: self.adagrad,
            keep_last: false,
            pull: None,
        }
    }
}

/// What [`train`] produced.
#[derive(Debug, Clone)]
pub struct TrainSummary {
    /// The float model that was quantized.
    pub float_model: FloatModel,
    /// The chosen integer layout.
    pub params: QuantParams,
    /// The model file bytes.
    pub bytes: Vec<u8>,
    /// Dev score of the float model.
    pub float_dev: DevScore,
    /// Dev score of the exported (integer) model.
    pub quantized_dev: DevScore,
    /// Test score of the float model, when a test corpus was given.
    pub float_test: Option<DevScore>,
    /// Test score of the exported model, when a test corpus was given.
    pub quantized_test: Option<DevScore>,
    /// Emission against transition scale.
    pub scale: ScaleReport,
    /// Training time in seconds (training and model selection, without test scoring).
    pub seconds: f64,
    /// The summary text, also sent as [`ProgressEvent::Report`].
    pub report: String,
}

/// The choices fixed before training: table layout, word list and features.
struct Layout {
    word_tags: WordTags,
    weight_type: WeightType,
    codebook: bool,
    hashes_per_feature: u8,
    /// The word list's limit: `None` for no list, `Some(None)` for every word.
    lexicon: Option<Option<usize>>,
    /// log2 of the rows of a table without a budget.
    unlimited_bits: u8,
}

/// Trains, quantizes and writes a model as `options` say (see the module documentation).
pub fn train(options: &TrainOptions, progress: &mut dyn Progress) -> Result<TrainSummary> {
    if options.emission != Emission::Linear {
        bail!("pipeline::train trains the linear model; a neural or hybrid one trains through pipeline::neural::train");
    }
    options.validate()?;
    let started = Instant::now();
    let budget = options.max_model_bytes;
    progress.event(ProgressEvent::StageStarted(Stage::ReadingData));
    let word_tags = options.word_tags_for(budget.is_some());
    let data = data::read_data(options, word_tags)?;
    let tag_names = data.train.tag_names.clone();
    say(
        progress,
        format!(
            "training on {}: {} sentences, {} characters, tags {}",
            data.train_name,
            data.train.sentences.len(),
            data.train.char_count(),
            tag_names.join(" ")
        ),
    );
    say(progress, format!("dev: {}: {} sentences", data.dev_name, data.dev.len()));

    let weight_type = options.weight_type.weight_type();
    let codebook = options.weight_type.codebook(budget.is_some());
    teacher::check_options(options)?;
    // Read (and the teacher loaded) before training, so a bad file fails fast.
    let unlabeled = distill::read_unlabeled(&options.distill)?;
    let teacher_bytes = options.teacher.as_deref().map(read_model_file).transpose()?;
    let teacher_file = match (&options.teacher, &teacher_bytes) {
        (Some(path), Some(bytes)) => Some(load_model(path, bytes)?),
        _ => None,
    };
    let config = options.train_config();
    let lexicon = budget::lexicon_limit(options, &tag_names);
    let extra_words = word_list::read_extra_words(options, lexicon.is_some())?;
    let layout = Layout {
        word_tags,
        weight_type,
        codebook,
        hashes_per_feature: budget::hashes_per_feature(options, codebook)?,
        lexicon,
        unlimited_bits: options.bucket_bits.unwrap_or(if options.train.is_some() { 22 } else { 16 }),
    };
    let (rows, reference) = match budget {
        None => (1u32 << layout.unlimited_bits, None),
        Some(budget) => size_for_budget(options, budget, &layout, &data, &extra_words, &config, progress)?,
    };
    let hashes_per_feature = layout.hashes_per_feature;
    let templates = budget::choose_templates(options, rows, lexicon.is_some(), hashes_per_feature)?;
    let TrainingData { train: corpus, dev, .. } = data;

    if templates.len() * usize::from(hashes_per_feature) > decoder::MAX_TEMPLATES {
        bail!(
            "{} templates reading {hashes_per_feature} rows each exceed the decoder's {} rows a position",
            templates.len(),
            decoder::MAX_TEMPLATES
        );
    }
    let mut spec = FeatureSpec { hashes_per_feature, ..FeatureSpec::with_rows(templates, rows) };
    say(
        progress,
        format!(
            "features: {} templates, {rows} rows, {hashes_per_feature} per feature; loss {:?}, lr {} (emission) / {} (CRF layer)",
            spec.templates.len(),
            options.loss,
            options.lr,
            options.crf_lr
        ),
    );
    let reference_model = reference.as_ref().map(|r| &r.model);
    let distilled =
        teacher::distill_corpus(options, &corpus, &dev, unlabeled, teacher_file.as_ref(), reference_model, progress)?;
    let train_corpus = distilled.as_ref().unwrap_or(&corpus);
    if let Some(limit) = lexicon {
        let sizing = budget.map(|budget| TableSizing { budget, codebook, weight_type, hashes_per_feature });
        word_list::build(options, train_corpus, &extra_words, limit, sizing.as_ref(), &mut spec, progress)?;
    }
    let refit = options.refit.then(|| {
        let limit = lexicon.flatten();
        ensemble::prepare_refit(train_corpus, &dev, &spec, &extra_words, limit, budget.is_some(), progress)
    });
    progress.event(ProgressEvent::StageStarted(Stage::Training));
    let outcome =
        ensemble::train_members(train_corpus, &dev, &spec, refit.as_ref(), &config, options.ensemble, progress)?;
    if outcome.skipped_sentences > 0 {
        say(
            progress,
            format!(
                "warning: {} training sentences have gold tags that break the {} constraints and were skipped",
                outcome.skipped_sentences,
                tag_names.join(" ")
            ),
        );
    }
    let reference = reference.map(|r| (r.bucket_bits, r.dev));
    let trained = Trained { corpus: &corpus, dev: &dev, outcome: &outcome, reference, started };
    finish(options, &layout, trained, progress)
}

/// Sizes the table for `budget` bytes (the largest that fits next to the word list's share) and trains
/// the unlimited reference model, unless the options leave it out or the table is not smaller.
fn size_for_budget(
    options: &TrainOptions,
    budget: usize,
    layout: &Layout,
    data: &TrainingData,
    extra_words: &[String],
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> Result<(u32, Option<Reference>)> {
    let tag_names = &data.train.tag_names;
    let list_words = layout.lexicon.map(|limit| limit.unwrap_or(0));
    let rows = budget::largest_table(tag_names, budget, layout.codebook, layout.weight_type, list_words)
        .with_context(|| format!("no model fits in {budget} bytes"))?;
    say(
        progress,
        budget::describe_budget(budget, rows, tag_names.len(), layout.codebook, layout.weight_type, list_words),
    );
    if !options.reference_model || rows >= 1 << layout.unlimited_bits {
        return Ok((rows, None));
    }
    let inputs = ReferenceInputs {
        data,
        word_tags: layout.word_tags,
        bucket_bits: layout.unlimited_bits,
        lexicon: layout.lexicon.is_some(),
        extra_words,
        config,
    };
    Ok((rows, Some(teacher::train_reference(options, &inputs, progress)?)))
}

/// A trained run, before compression and export.
struct Trained<'a> {
    /// The gold training corpus (without distilled lines).
    corpus: &'a Corpus,
    dev: &'a [Sentence],
    outcome: &'a TrainOutcome,
    /// The reference model's log2 rows and dev score.
    reference: Option<(u8, DevScore)>,
    started: Instant,
}

/// Compresses, quantizes and writes the trained model, reports, and scores the test corpus.
fn finish(
    options: &TrainOptions,
    layout: &Layout,
    trained: Trained<'_>,
    progress: &mut dyn Progress,
) -> Result<TrainSummary> {
    let Trained { corpus, dev, outcome, reference, started } = trained;
    let mut float_model = outcome.model.clone();
    compress::prune(&mut float_model, options.prune_below, progress);
    let mut float_dev = evaluate_float(&float_model, dev);
    if layout.codebook {
        // k-means over the trained rows, weighted by how often training reads each.
        (float_model, float_dev) =
            compress::codebook(float_model, &outcome.row_usage, options.seed, dev, float_dev, progress);
    }
    let zeros = float_model.weights.iter().filter(|&&w| w == 0.0).count();
    let best = outcome.best_epoch();
    say(
        progress,
        format!(
            "best epoch {} of {}: float dev {float_dev}; {:.1}% of emission weights are zero",
            best.epoch,
            outcome.epochs.len(),
            100.0 * zeros as f64 / float_model.weights.len() as f64
        ),
    );
    let exported = quantization::quantize_and_export(
        options,
        &float_model,
        layout.weight_type,
        outcome,
        &float_dev,
        dev,
        progress,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    data::write_model(&options.out, &exported.bytes)?;
    data::write_vocabulary(&options.out, corpus, options.refit.then_some(dev))?;

    let scale = scale_report(&float_model, dev);
    let report = report::summary(&report::ReportInputs {
        out: &options.out,
        bytes: exported.bytes.len(),
        seconds,
        float_dev: &float_dev,
        quantized_dev: &exported.dev,
        refit: options.refit,
        best,
        params: exported.params,
        reference,
        scale: &scale,
        model: &float_model,
    });
    progress.event(ProgressEvent::Report(report.clone()));
    // Optional test scoring (not part of the training time).
    let (float_test, quantized_test) = match &options.test {
        Some(test_path) => {
            let (float, quantized) = report::score_test(
                options,
                test_path,
                layout.word_tags,
                corpus,
                &float_model,
                &exported.bytes,
                progress,
            )?;
            (Some(float), Some(quantized))
        }
        None => (None, None),
    };
    Ok(TrainSummary {
        float_model,
        params: exported.params,
        bytes: exported.bytes,
        float_dev,
        quantized_dev: exported.dev,
        float_test,
        quantized_test,
        scale,
        seconds,
        report,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        let error = |options: TrainOptions| options.validate().unwrap_err().to_string();
        assert!(error(TrainOptions { epochs: 0, ..TrainOptions::default() }).contains("--epochs"));
        assert!(error(TrainOptions { batch_size: 0, ..TrainOptions::default() }).contains("--batch-size"));
        assert!(error(TrainOptions { ensemble: 0, ..TrainOptions::default() }).contains("--ensemble"));
        assert!(error(TrainOptions { ensemble: 65, ..TrainOptions::default() }).contains("--ensemble"));
        assert!(error(TrainOptions { bucket_bits: Some(25), ..TrainOptions::default() }).contains("--bucket-bits"));
        let hashes = TrainOptions { hashes_per_feature: Some(3), ..TrainOptions::default() };
        assert!(error(hashes).contains("--hashes-per-feature"));
        assert!(TrainOptions::default().validate().is_ok());
    }

    #[test]
    fn the_command_line_defaults_are_the_library_defaults() {
        // `trainer train` without options must train exactly what `TrainOptions::default()` trains.
        let from_cli = crate::cli::TrainArgs::default().options();
        assert_eq!(format!("{from_cli:?}"), format!("{:?}", TrainOptions::default()));
    }

    #[test]
    fn auto_choices_depend_on_the_budget() {
        let auto = TrainOptions::default();
        assert_eq!((auto.word_tags_for(false), auto.word_tags_for(true)), (WordTags::Bmes6, WordTags::Bmes));
        let bi = TrainOptions { word_tags: Some(WordTags::Bi), ..TrainOptions::default() };
        assert_eq!(bi.word_tags_for(true), WordTags::Bi);
        assert!(WeightChoice::Auto.codebook(true) && !WeightChoice::Auto.codebook(false));
        assert_eq!(WeightChoice::I16.weight_type(), WeightType::I16);
        assert!(!WeightChoice::I16.codebook(true) && WeightChoice::Codebook.codebook(false));
    }
}

//! `--emission neural` and `--emission hybrid`: reads the corpora as the linear path does (dev a file or
//! every 20th training sentence), trains the neural encoder (and a hybrid model's n-gram table) with its
//! CRF layer ([`crate::neural::train`]), exports the int8 model
//! ([`crate::neural::export::export_neural`]), writes it with its vocabulary and scores dev and test.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use decoder::Model;

use super::data::{self, TrainingData};
use super::progress::{say, Progress, ProgressEvent, Stage};
use super::report::{describe_score, human_bytes, transition_table};
use super::{Emission, TrainOptions};
use crate::corpus::{self, WordTags};
use crate::evaluate::{score_predictions, DevScore};
use crate::integer;
use crate::neural::base::BASE_EXPORT_REFUSED;
use crate::neural::export::export_neural;
use crate::neural::train::{describe_shape, train_neural, NeuralConfig, NeuralOutcome, DEFAULT_TABLE_BITS};
use crate::scorer::Dictionary;

/// Most training lines that calibrate the activation scales at export.
const CALIBRATION_LINES: usize = 400;

/// What a neural training run produced.
#[derive(Debug, Clone)]
pub struct NeuralSummary {
    /// The training run (the model of the best epoch, every epoch's figures).
    pub outcome: NeuralOutcome,
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
    /// Training time in seconds (training, export and dev scoring, without test scoring).
    pub seconds: f64,
    /// The summary text, also sent as [`ProgressEvent::Report`].
    pub report: String,
}

/// Fails on the options the neural path does not take, naming the first one.
fn check_options(options: &TrainOptions) -> Result<()> {
    let refused = [
        ("--max-model-bytes", options.max_model_bytes.is_some()),
        ("--distill", !options.distill.is_empty()),
        ("--teacher", options.teacher.is_some()),
        ("--ensemble", options.ensemble != 1),
        ("--refit", options.refit),
        ("--lexicon-extra", !options.lexicon_extra.is_empty()),
    ];
    let emission = if options.emission == Emission::Hybrid { "hybrid" } else { "neural" };
    if let Some((name, _)) = refused.iter().find(|(_, given)| *given) {
        bail!("{name} does not go with --emission {emission} (it applies to the linear model only)");
    }
    let (given, default) = (&options.neural, NeuralConfig::default());
    let table_settings = [
        ("table-bits", given.table_bits.is_some()),
        ("table-init", given.table_init != default.table_init),
        ("table-decay", given.table_weight_decay != default.table_weight_decay),
        ("table-dropout", given.table_dropout != default.table_dropout),
    ];
    if let Some((name, _)) = table_settings.iter().find(|(_, given)| *given && options.emission == Emission::Neural) {
        bail!("--neural {name} goes with --emission hybrid (a neural model has no n-gram table)");
    }
    Ok(())
}

/// The neural configuration `options` stand for (epochs, patience, seed and constrained training are
/// the shared options'; a hybrid model's table has [`DEFAULT_TABLE_BITS`] unless `--neural` says).
pub fn neural_config(options: &TrainOptions) -> NeuralConfig {
    let table_bits = match options.emission {
        Emission::Hybrid => Some(options.neural.table_bits.unwrap_or(DEFAULT_TABLE_BITS)),
        _ => options.neural.table_bits,
    };
    NeuralConfig {
        epochs: options.epochs,
        patience: options.patience,
        seed: options.seed,
        constrained_training: options.constrained_training,
        table_bits,
        ..options.neural.clone()
    }
}

/// Trains, exports and writes a neural model as `options` say.
pub fn train(options: &TrainOptions, progress: &mut dyn Progress) -> Result<NeuralSummary> {
    check_options(options)?;
    let config = neural_config(options);
    config.validate()?;
    let started = Instant::now();
    progress.event(ProgressEvent::StageStarted(Stage::ReadingData));
    let word_tags = options.word_tags.unwrap_or(WordTags::Bmes);
    let TrainingData { train, train_name, dev, dev_name } = data::read_data(options, word_tags)?;
    let tag_names = train.tag_names.clone();
    say(
        progress,
        format!(
            "training on {train_name}: {} sentences, {} characters, tags {}",
            train.sentences.len(),
            train.char_count(),
            tag_names.join(" ")
        ),
    );
    say(progress, format!("dev: {dev_name}: {} sentences", dev.len()));
    say(
        progress,
        format!(
            "neural emission model: {:?} loss, AdamW lr {} (encoder) / {} (CRF layer, x{}), dropout {}, batches of {}",
            config.loss,
            config.lr,
            config.lr * config.crf_lr_mult,
            config.crf_lr_mult,
            config.dropout,
            config.batch_size
        ),
    );
    if let Some(bits) = config.table_bits {
        say(
            progress,
            format!(
                "hybrid: plus a table of 2^{bits} rows of the linear model's n-gram features, AdamW lr {} (x{}), \
                 starting from {:?}, weight decay {}, row dropout {}",
                config.lr * config.table_lr_mult,
                config.table_lr_mult,
                config.table_init,
                config.table_weight_decay,
                config.table_dropout
            ),
        );
    }
    progress.event(ProgressEvent::StageStarted(Stage::Training));
    let outcome = train_neural(&config, &train.sentences, &dev, &tag_names, progress)?;
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
    say(progress, describe_shape(&outcome.model.weights));
    if let Some(base) = &config.base {
        return refuse_base_export(options, base, &outcome, &train, progress);
    }

    progress.event(ProgressEvent::StageStarted(Stage::Quantization));
    let every = train.sentences.len().div_ceil(CALIBRATION_LINES).max(1);
    let calibration: Vec<Vec<char>> = train.sentences.iter().step_by(every).map(|s| s.chars.clone()).collect();
    let kind = match config.table_bits {
        Some(bits) => format!(
            "hybrid emission model (table 2^{bits}, lr x{}, init {:?}, decay {}, row dropout {})",
            config.table_lr_mult, config.table_init, config.table_weight_decay, config.table_dropout
        ),
        None => "neural emission model".to_owned(),
    };
    let metadata = format!(
        "{kind}, {:?} loss, lr {}, CRF lr x{}, seed {}, best epoch {}",
        config.loss, config.lr, config.crf_lr_mult, config.seed, outcome.epochs[outcome.best].epoch
    );
    let model = &outcome.model;
    let bytes = export_neural(&model.weights, &model.crf, &calibration, &metadata)?;
    let loaded = Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("the exported model does not load: {e}"))?;
    let float_dev = outcome.epochs[outcome.best].dev;
    let quantized_dev = integer::evaluate(&loaded, &dev, None);
    let seconds = started.elapsed().as_secs_f64();
    data::write_model(&options.out, &bytes)?;
    data::write_vocabulary(&options.out, &train, None)?;

    let mut report = String::new();
    let _ = writeln!(report, "\n== trained in {seconds:.1} s: {} ({} bytes)", options.out.display(), bytes.len());
    let _ = writeln!(
        report,
        "best epoch {} of {}{}; dev: float {float_dev}  quantized {quantized_dev}  (quantization cost {:+.2} points)",
        outcome.epochs[outcome.best].epoch,
        outcome.epochs.last().map_or(0, |e| e.epoch),
        if outcome.timed_out { " (stopped at the time limit)" } else { "" },
        100.0 * (quantized_dev.value() - float_dev.value())
    );
    let crf = &model.crf;
    let constraints = corpus::constraints_for(&tag_names).1;
    report.push_str(&transition_table(&tag_names, &crf.transitions, &crf.start, &crf.end, Some(&constraints)));
    progress.event(ProgressEvent::Report(report.clone()));

    let (float_test, quantized_test) = match &options.test {
        None => (None, None),
        Some(path) => {
            progress.event(ProgressEvent::StageStarted(Stage::Testing));
            let test = corpus::read_corpus(path, options.format, Some(&tag_names), word_tags)?;
            let dictionary = test_dictionary(options, &train)?;
            let float =
                score_predictions(&tag_names, &test.sentences, &model.predict(&test.sentences), dictionary.as_ref());
            let quantized = integer::evaluate(&loaded, &test.sentences, dictionary.as_ref());
            (Some(float), Some(quantized))
        }
    };
    Ok(NeuralSummary { outcome, bytes, float_dev, quantized_dev, float_test, quantized_test, seconds, report })
}

/// The words that count as seen when scoring test data: `--words`, or the training words.
fn test_dictionary(options: &TrainOptions, train: &corpus::Corpus) -> Result<Option<Dictionary>> {
    Ok(match &options.words {
        Some(words) => {
            Some(Dictionary::from_bytes(&std::fs::read(words).with_context(|| format!("reading {}", words.display()))?))
        }
        None if train.is_segmentation() => Some(Dictionary::from_words(corpus::vocabulary(train))),
        None => None,
    })
}

/// The end of a run on a base model (`--neural base=`): the float scores of its best epoch on dev and
/// test are reported, then the model is refused, since no format stores a base yet.
fn refuse_base_export(
    options: &TrainOptions,
    base: &std::path::Path,
    outcome: &NeuralOutcome,
    train: &corpus::Corpus,
    progress: &mut dyn Progress,
) -> Result<NeuralSummary> {
    let best = &outcome.epochs[outcome.best];
    let mut report = format!(
        "\n== base {}: best epoch {} of {}{}; float dev {} (epoch 0, the base alone: {})\n",
        base.display(),
        best.epoch,
        outcome.epochs.last().map_or(0, |e| e.epoch),
        if outcome.timed_out { " (stopped at the time limit)" } else { "" },
        best.dev,
        outcome.epochs[0].dev
    );
    if let Some(path) = &options.test {
        progress.event(ProgressEvent::StageStarted(Stage::Testing));
        let word_tags = options.word_tags.unwrap_or(WordTags::Bmes);
        let test = corpus::read_corpus(path, options.format, Some(&train.tag_names), word_tags)?;
        let dictionary = test_dictionary(options, train)?;
        let predicted = outcome.model.predict(&test.sentences);
        let float = score_predictions(&train.tag_names, &test.sentences, &predicted, dictionary.as_ref());
        let _ = writeln!(report, "test {}: float {}", path.display(), describe_score(&float));
    }
    progress.event(ProgressEvent::Report(report));
    bail!("{}: not written: {BASE_EXPORT_REFUSED}", options.out.display())
}

/// One line about a written neural model, as `trainer train` prints it.
pub fn describe_written(options: &TrainOptions, summary: &NeuralSummary) -> String {
    let mut line = format!(
        "wrote {} ({} bytes, {}) in {:.1} s; dev {}",
        options.out.display(),
        summary.bytes.len(),
        human_bytes(summary.bytes.len()),
        summary.seconds,
        summary.quantized_dev
    );
    if let (Some(path), Some(float), Some(quantized)) = (&options.test, &summary.float_test, &summary.quantized_test) {
        line = format!(
            "test {}: float {}\n  quantized {}\n{line}",
            path.display(),
            describe_score(float),
            describe_score(quantized)
        );
    }
    line
}

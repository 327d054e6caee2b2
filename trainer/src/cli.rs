//! The command line: `train` (the default), `eval`, `segment`, `inspect` and `experiment`.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use decoder::internal::format::{NgramTable, WeightType, CODEBOOK_ENTRIES};
use decoder::internal::ModelInternals;
use decoder::Model;

use crate::conventions;
use crate::corpus::{self, Corpus, CorpusFormat, Sentence, WordTags};
use crate::crf::Loss;
use crate::distill;
use crate::evaluate::{evaluate_float, scale_report, DevScore, ScaleReport};
use crate::features::{FeatureSpec, TemplateSet};
use crate::integer;
use crate::lexicon::TrainingLexicon;
use crate::model::FloatModel;
use crate::optimizer::AdagradMode;
use crate::quantize::{self, QuantParams};
use crate::scorer::{self, Dictionary};
use crate::train::{self, TrainConfig, TrainOutcome};

/// `println!` that returns an error (for `?`) instead of panicking when standard output is closed
/// (e.g. piped into `head`).
macro_rules! out {
    ($($arg:tt)*) => {
        writeln!(std::io::stdout().lock(), $($arg)*).context("writing standard output")?
    };
}

/// `print!` counterpart of [`out!`].
macro_rules! out_raw {
    ($($arg:tt)*) => {
        write!(std::io::stdout().lock(), $($arg)*).context("writing standard output")?
    };
}

/// The sample corpus shipped with the trainer (a few hundred sentences written for this project), used
/// when `--train` is not given.
pub const SAMPLE_CORPUS: &[u8] = include_bytes!("../data/sample.txt");
const SAMPLE_NAME: &str = "trainer/data/sample.txt (built in)";

/// Trains a CRF word segmenter (or any character tagger) for the microcontroller decoder, evaluates it
/// with the official SIGHAN scoring, and inspects model files.
///
/// Without a command, `train` runs: with no options at all it trains on a small built-in sample corpus
/// in a few seconds and writes target/model.crfm.
///
/// Typical use:
///   trainer train --train pku_train.utf8 --out pku.crfm
///   trainer eval --model pku.crfm --gold pku_test_gold.utf8 --words pku_training_words.utf8
///   echo 我们在北京 | trainer segment --model pku.crfm
///   trainer inspect --model pku.crfm
#[derive(Debug, Parser)]
#[command(name = "trainer", version, verbatim_doc_comment, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: train).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the default `train` command.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model, pick the best epoch on dev data, quantize it and write the model file.
    Train(TrainArgs),
    /// Segment a gold file's text with a model (the decoder's integer path) and score it like the
    /// official SIGHAN `score` script.
    Eval(EvalArgs),
    /// Score an existing segmentation against a gold file, exactly like the official SIGHAN `score`
    /// script (`score WORDS GOLD TEST`), without a model.
    Score(ScoreArgs),
    /// Segment raw text: one output line per input line, words separated by two spaces.
    Segment(SegmentArgs),
    /// Print a model file's header, tensor sizes, tag scheme, constraints and transition scores.
    Inspect(InspectArgs),
    /// Re-runnable experiments.
    #[command(subcommand)]
    Experiment(Experiment),
}

/// Options of `train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Training corpus: one sentence per line with words separated by spaces, or CoNLL `char<TAB>tag`
    /// lines. Default: the built-in sample corpus.
    #[arg(long, value_name = "FILE")]
    pub train: Option<PathBuf>,
    /// Development corpus for choosing the epoch and the quantization scale. Default: a held-out slice
    /// of the training corpus (see --holdout).
    #[arg(long, value_name = "FILE")]
    pub dev: Option<PathBuf>,
    /// Test corpus, scored at the end (float and quantized model) for information only.
    #[arg(long, value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// Word list defining OOV words when scoring --test (default: the training vocabulary).
    #[arg(long, value_name = "FILE")]
    pub words: Option<PathBuf>,
    /// Where to write the model. The training vocabulary goes next to it, as MODEL.words.
    #[arg(long, value_name = "MODEL", default_value = "target/model.crfm")]
    pub out: PathBuf,
    /// Layout of the corpus files.
    #[arg(long, value_enum, default_value_t = CorpusFormat::Auto)]
    pub format: CorpusFormat,
    /// Tag set for segmented (words) corpora; auto: bmes6, or bmes with --max-model-bytes (fewer tags
    /// leave more table rows).
    #[arg(long, value_enum, default_value_t = WordTagsArg::Auto)]
    pub word_tags: WordTagsArg,
    /// Training objective.
    #[arg(long, value_enum, default_value_t = Loss::Crf)]
    pub loss: Loss,
    /// Most passes over the training data.
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    /// Adagrad learning rate of the emission (feature) weights.
    #[arg(long, default_value_t = 0.2)]
    pub lr: f32,
    /// Adagrad learning rate of the CRF layer (transition, start and end scores). A larger rate than
    /// --lr keeps the transitions from being frozen near zero while the emissions fit the data.
    #[arg(long, default_value_t = 1.0)]
    pub crf_lr: f32,
    /// L1 regularisation strength over the whole corpus (like crfsuite's c1); drives weights to zero.
    #[arg(long, default_value_t = 0.0)]
    pub l1: f32,
    /// L2 regularisation strength over the whole corpus (like crfsuite's c2).
    #[arg(long, default_value_t = 0.0)]
    pub l2: f32,
    /// Set emission weights smaller than this to zero after training (pruning).
    #[arg(long, default_value_t = 0.0)]
    pub prune_below: f32,
    /// Sentences per optimizer step.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Seed of the shuffling: the same seed gives the same model (for any --threads).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Stop after this many epochs without a better dev score.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// Train this many models, with seeds --seed, --seed + 1, ..., and export the mean of their
    /// parameters: for a linear model that is their score-averaging ensemble, at no cost in size or
    /// decoding time (training takes N times as long).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub ensemble: u32,
    /// After choosing the epoch count on dev, train again on the training and dev data together for
    /// that many epochs (word list and vocabulary included) and export that model. Dev scores printed
    /// afterwards are on data the model was trained on; the held-out one is the selection run's.
    #[arg(long)]
    pub refit: bool,
    /// Use the last iterate instead of the average of the iterates.
    #[arg(long)]
    pub no_average: bool,
    /// Average the iterates from this epoch on (the first epoch's are the poorest).
    #[arg(long, default_value_t = 1)]
    pub average_from: usize,
    /// Initial Adagrad squared-gradient sum: larger values damp the first updates of rare features.
    #[arg(long, default_value_t = 0.1)]
    pub adagrad_init: f32,
    /// Adagrad's squared-gradient sums for the emission table: per row (faster) or per weight.
    #[arg(long, value_enum, default_value_t = AdagradMode::Row)]
    pub adagrad: AdagradMode,
    /// Leave features seen fewer times than this in the training data out of training (feature
    /// pruning; 1 keeps all). Helps small tables (--max-model-bytes), where every row is shared.
    #[arg(long, default_value_t = 1)]
    pub min_feature_count: u32,
    /// Train without the hard constraints (impossible tag transitions then must be learned, as in a
    /// plain CRF); decoding always applies them.
    #[arg(long)]
    pub unconstrained_training: bool,
    /// Feature templates (a named set); auto: compact for tables of at most 2^16 rows, else standard.
    #[arg(long, value_enum, default_value_t = TemplateSet::Auto)]
    pub templates: TemplateSet,
    /// Feature templates as a list, overriding --templates: e.g.
    /// "bias,C-2,C-1,C0,C1,C2,C-1C0,C0C1,C-1C0C1,T0..0,T-1..1" (C = characters at offsets, up to three;
    /// T<a>..<b> = character classes over a span; offsets -4..4).
    #[arg(long, value_name = "LIST")]
    pub template_list: Option<String>,
    /// log2 of the number of rows of the feature hash table (default 22, or 16 for the built-in sample;
    /// ignored with --max-model-bytes).
    #[arg(long, value_parser = clap::value_parser!(u8).range(4..=24))]
    pub bucket_bits: Option<u8>,
    /// Element type of the exported emission table.
    #[arg(long, value_enum, default_value_t = WeightTypeArg::Auto)]
    pub weight_type: WeightTypeArg,
    /// Make the model file fit in this many bytes (e.g. 163840 for 160 KiB): the largest table that
    /// fits is used and the F1 cost against the unlimited model is reported.
    #[arg(long, value_name = "BYTES")]
    pub max_model_bytes: Option<usize>,
    /// Rows each feature reads (and sums) in a codebook model: two features then rarely share all their
    /// rows (default 2 for codebook models; direct weights read 1). Each row more costs the decoder one
    /// table read per template and character.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub hashes_per_feature: Option<u8>,
    /// With --max-model-bytes: skip training the unlimited reference model (faster; no cost report).
    #[arg(long)]
    pub no_reference: bool,
    /// Leave out the word list: the training words of 2 to 5 characters that the lexicon templates look
    /// up (the longest listed word starting at, ending at and spanning each character; for tables of more
    /// than 2^20 rows also the longest containing it, with the character).
    #[arg(long)]
    pub no_lexicon: bool,
    /// More words for the word list (repeatable): a file of words separated by whitespace, such as
    /// another corpus's training word list (`icwb2/*_training_words.utf8`). Every training sentence sees
    /// them; only words of 2 to 5 characters count.
    #[arg(long, value_name = "FILE")]
    pub lexicon_extra: Vec<PathBuf>,
    /// Most words in the word list, the most frequent kept (default: all of them without a byte budget;
    /// with --max-model-bytes, as many as fill 30% of the budget).
    #[arg(long, value_name = "N")]
    pub lexicon_words: Option<usize>,
    /// Unlabeled text for distillation (repeatable): the teacher (--teacher) labels each line and the
    /// labelled lines join the training data; dev data stays gold. Whitespace is removed, so a segmented
    /// corpus of another standard serves as raw text. Lifts small (--max-model-bytes) models.
    #[arg(long, value_name = "FILE")]
    pub distill: Vec<PathBuf>,
    /// The model file that labels --distill text. Default with --max-model-bytes: the unlimited
    /// reference model trained first in the same run.
    #[arg(long, value_name = "MODEL")]
    pub teacher: Option<PathBuf>,
    /// Share of the training corpus held out as dev data when --dev is not given.
    #[arg(long, default_value_t = 0.05)]
    pub holdout: f64,
    /// Print less: no progress bars or per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
}

impl Default for TrainArgs {
    fn default() -> Self {
        Cli::parse_from(["trainer"]).train
    }
}

/// `--word-tags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WordTagsArg {
    /// bmes6, or bmes for a byte budget.
    Auto,
    /// B M E S.
    Bmes,
    /// B M-2 M-3 M E S.
    Bmes6,
    /// B I.
    Bi,
}

impl WordTagsArg {
    /// The tag set to use, given whether the model has a byte budget.
    pub fn resolve(self, budget: bool) -> WordTags {
        match self {
            Self::Auto if budget => WordTags::Bmes,
            Self::Auto | Self::Bmes6 => WordTags::Bmes6,
            Self::Bmes => WordTags::Bmes,
            Self::Bi => WordTags::Bi,
        }
    }
}

/// `--weight-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WeightTypeArg {
    /// i8 (half the size of i16; its quantization costs little), or codebook with --max-model-bytes.
    Auto,
    /// Signed 8-bit weights, scaled up to score units by a shift.
    I8,
    /// Signed 16-bit weights.
    I16,
    /// One-byte row codes into a shared codebook of 256 rows of i8 weights: with four tags a quarter of
    /// the bytes per row of i8 (the default with --max-model-bytes).
    Codebook,
}

/// Options of `eval`.
#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Gold segmentation (words separated by spaces); its text without the spaces is segmented. A
    /// CoNLL `char<TAB>tag` file is scored by tag accuracy instead.
    #[arg(long, value_name = "FILE")]
    pub gold: PathBuf,
    /// Word list defining OOV words (one per line, e.g. pku_training_words.utf8). Default: MODEL.words,
    /// the training vocabulary the trainer writes next to the model; without either, OOV recall is not
    /// reported.
    #[arg(long, value_name = "FILE")]
    pub words: Option<PathBuf>,
    /// Also write the segmented text here (it can be fed to the official score script).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the scores as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `score`.
#[derive(Debug, Clone, Args)]
pub struct ScoreArgs {
    /// Gold segmentation.
    #[arg(long, value_name = "FILE")]
    pub gold: PathBuf,
    /// Segmentation to score, line by line against the gold file.
    #[arg(long, value_name = "FILE")]
    pub test: PathBuf,
    /// Word list defining OOV words (without it every word counts as OOV, as with an empty list).
    #[arg(long, value_name = "FILE")]
    pub words: Option<PathBuf>,
    /// A segmented training text: also report the convention conflicts, the disagreements whose
    /// tested reading this text has at least --conflict-min-count times and whose gold reading it
    /// never has, and F1 with them read the gold way.
    #[arg(long, value_name = "FILE")]
    pub conventions: Option<PathBuf>,
    /// See --conventions.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub conflict_min_count: u32,
    /// Print the scores as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Kinds of convention conflict `score --conventions` lists.
const LISTED_CONFLICTS: usize = 15;

/// Options of `segment`.
#[derive(Debug, Clone, Args)]
pub struct SegmentArgs {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Raw text to segment (default: standard input).
    pub input: Option<PathBuf>,
    /// Write the time spent loading the model and labeling (reading, segmenting and writing the text)
    /// to this file as JSON: `{"load_s": .., "label_s": .., "bytes_in": ..}`.
    #[arg(long, value_name = "FILE")]
    pub timing: Option<PathBuf>,
}

/// Options of `inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
}

/// The experiments.
#[derive(Debug, Subcommand)]
pub enum Experiment {
    /// The CRF learning-rate study (shared/docs/background.md) on our own models: CRF with the CRF
    /// layer's learning rate at 1x, 10x, 100x and 1000x the emission rate, and the softmax baseline.
    /// Prints F1 and the learned transition matrix of each. Takes the training options (--train,
    /// --dev, --test, --words, --lr, --bucket-bits, --max-model-bytes, ...); --crf-lr and --loss are
    /// set by the experiment. Models go next to --out as experiment-lr-N.crfm.
    Lr(ExperimentArgs),
}

/// Options of `experiment lr`.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// CRF learning rates to try, as multiples of --lr.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1.0, 10.0, 100.0, 1000.0])]
    pub multipliers: Vec<f32>,
    /// Train under the hard constraints. By default the experiment trains without them, like the
    /// study, so the transition matrix itself must learn which transitions are impossible (decoding
    /// always applies them).
    #[arg(long)]
    pub constrained_training: bool,
    /// The training options shared by every run.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let threads = match &cli.command {
        Some(Command::Train(args)) => args.threads,
        Some(Command::Experiment(Experiment::Lr(args))) => args.train.threads,
        None => cli.train.threads,
        _ => None,
    };
    if let Some(threads) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("starting worker threads")?;
    }
    match cli.command {
        None => run_train(&cli.train).map(|_| ()),
        Some(Command::Train(args)) => run_train(&args).map(|_| ()),
        Some(Command::Eval(args)) => run_eval(&args),
        Some(Command::Score(args)) => run_score(&args),
        Some(Command::Segment(args)) => run_segment(&args),
        Some(Command::Inspect(args)) => run_inspect(&args),
        Some(Command::Experiment(Experiment::Lr(args))) => run_lr_experiment(&args),
    }
}

/// Reads the training corpus (file or built-in sample).
fn read_training_corpus(args: &TrainArgs, word_tags: WordTags) -> Result<(Corpus, String)> {
    match &args.train {
        Some(path) => Ok((corpus::read_corpus(path, args.format, None, word_tags)?, path.display().to_string())),
        None => Ok((
            corpus::parse_corpus(SAMPLE_CORPUS, SAMPLE_NAME, args.format, None, word_tags)?,
            SAMPLE_NAME.to_string(),
        )),
    }
}

/// Splits off every `1/holdout`-th sentence as dev data (spread over the corpus, deterministic).
fn hold_out(corpus: Corpus, fraction: f64) -> Result<(Corpus, Vec<Sentence>)> {
    if !(0.0..0.5).contains(&fraction) || fraction == 0.0 {
        bail!("--holdout must be in (0, 0.5), got {fraction}");
    }
    let every = (1.0 / fraction).round().max(2.0) as usize;
    let mut train = Vec::new();
    let mut dev = Vec::new();
    for (i, sentence) in corpus.sentences.into_iter().enumerate() {
        if i % every == every - 1 {
            dev.push(sentence);
        } else {
            train.push(sentence);
        }
    }
    if dev.is_empty() || train.is_empty() {
        bail!("the training corpus is too small to hold out dev data; give --dev");
    }
    Ok((Corpus { tag_names: corpus.tag_names, sentences: train }, dev))
}

/// What `train` produced (also used by the experiment).
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
    /// Test score of the float model, when --test was given.
    pub float_test: Option<DevScore>,
    /// Test score of the exported model, when --test was given.
    pub quantized_test: Option<DevScore>,
    /// Emission against transition scale.
    pub scale: ScaleReport,
    /// Training time in seconds (training and model selection, without test scoring).
    pub seconds: f64,
}

fn weight_type_of(arg: WeightTypeArg) -> WeightType {
    match arg {
        WeightTypeArg::Auto | WeightTypeArg::I8 | WeightTypeArg::Codebook => WeightType::I8,
        WeightTypeArg::I16 => WeightType::I16,
    }
}

/// Rows per feature of codebook models: on PKU at 160 KiB, 2 gives 94.23 test F1 with seeds 1, 2 and 3
/// against 94.03 / 94.03 / 93.96 for 1; on the Cortex-M3 it costs 1,402 instead of 1,227 instructions per
/// character (the 200 KiB default model).
const DEFAULT_HASHES_PER_FEATURE: u8 = 2;

/// Room kept for the metadata string when sizing a model for a byte budget.
const METADATA_BUDGET: usize = 320;

fn train_config(args: &TrainArgs) -> TrainConfig {
    TrainConfig {
        loss: args.loss,
        epochs: args.epochs,
        lr: args.lr,
        crf_lr: args.crf_lr,
        l1: args.l1,
        l2: args.l2,
        batch_size: args.batch_size,
        seed: args.seed,
        constrained: !args.unconstrained_training,
        patience: args.patience,
        average: !args.no_average,
        average_from: args.average_from,
        adagrad_init: args.adagrad_init,
        min_feature_count: args.min_feature_count,
        adagrad: args.adagrad,
        keep_last: false,
        verbose: !args.quiet,
    }
}

/// Training and dev data as read for one tag set.
struct TrainingData {
    train: Corpus,
    train_name: String,
    dev: Vec<Sentence>,
    dev_name: String,
}

fn read_data(args: &TrainArgs, word_tags: WordTags) -> Result<TrainingData> {
    let (corpus, train_name) = read_training_corpus(args, word_tags)?;
    let tag_names = corpus.tag_names.clone();
    Ok(match &args.dev {
        Some(path) => {
            let dev = corpus::read_corpus(path, args.format, Some(&tag_names), word_tags)?;
            TrainingData { train: corpus, train_name, dev: dev.sentences, dev_name: path.display().to_string() }
        }
        None => {
            let (train, dev) = hold_out(corpus, args.holdout)?;
            let dev_name = format!("every {}th training sentence", (1.0 / args.holdout).round());
            TrainingData { train, train_name, dev, dev_name }
        }
    })
}

/// The templates: an explicit list, a named set, or (auto) the compact set for tables of at most
/// `COMPACT_MAX_ROWS` rows and the standard set otherwise; then, with a word list, the lexicon templates.
/// Auto takes the basic set (the standard one without its trigram) where the standard set and the
/// lexicon templates would read more than the decoder's `MAX_TEMPLATES` rows a position with `hashes`
/// rows per feature (a codebook model of more than `COMPACT_MAX_ROWS` rows).
fn choose_templates(
    args: &TrainArgs,
    rows: u32,
    lexicon: bool,
    hashes: u8,
) -> Result<Vec<decoder::internal::features::Template>> {
    let mut lexicon_templates = if lexicon { crate::features::lexicon_templates(rows) } else { &[] };
    let extra = lexicon_templates.len();
    let mut templates = match &args.template_list {
        Some(list) => crate::features::parse_templates(list).map_err(|e| anyhow::anyhow!("--template-list: {e}"))?,
        None => {
            let set = args.templates.resolve(rows);
            let reads = (set.templates().len() + extra) * usize::from(hashes);
            let fallback = args.templates == TemplateSet::Auto && set == TemplateSet::Standard;
            if fallback && reads > decoder::MAX_TEMPLATES { TemplateSet::Basic } else { set }.templates()
        }
    };
    // The optional lexicon templates are the first to be dropped when the decoder's reads a position run out
    // (a large codebook table reads two rows a feature).
    if (templates.len() + lexicon_templates.len()) * usize::from(hashes) > decoder::MAX_TEMPLATES {
        lexicon_templates = &lexicon_templates[..lexicon_templates.len().min(crate::features::CORE_LEXICON_TEMPLATES)];
    }
    templates.extend(lexicon_templates);
    Ok(templates)
}

/// Share of a byte budget the word list takes by default, in percent: on PKU at 160 KiB, a prototype gave
/// 94.55, 94.55, 94.72 and 94.62 test F1 (float) with 10%, 20%, 30% and 40%; without a list, 94.40.
const LEXICON_BUDGET_PERCENT: usize = 30;

/// The word list's size limit: `None` for no list, `Some(None)` for every word. Only word segmentation
/// has words to list; other tag sets get none.
fn lexicon_limit(args: &TrainArgs, tag_names: &[String]) -> Option<Option<usize>> {
    if args.no_lexicon || WordTags::of(tag_names).is_none() {
        return None;
    }
    let by_budget =
        args.max_model_bytes.map(|b| b * LEXICON_BUDGET_PERCENT / 100 / decoder::internal::lexicon::WORD_HASH_BYTES);
    Some(args.lexicon_words.or(by_budget))
}

/// The most rows whose model file fits `budget` bytes, with direct weights (a power of two) or codes,
/// next to a word list of `words` words (if any).
fn largest_table(
    tag_names: &[String],
    budget: usize,
    codebook: bool,
    weight_type: WeightType,
    words: Option<usize>,
) -> Option<u32> {
    let fits = |rows: u32| {
        let spec = FeatureSpec::with_rows(Vec::new(), rows);
        let size = quantize::file_size(
            tag_names,
            decoder::MAX_TEMPLATES,
            &spec,
            codebook,
            weight_type,
            words,
            METADATA_BUDGET,
        );
        size <= budget
    };
    let max_rows = 1u32 << decoder::MAX_BUCKET_BITS;
    if !codebook {
        return (4..=decoder::MAX_BUCKET_BITS).rev().map(|bits| 1u32 << bits).find(|&rows| fits(rows));
    }
    // The file grows with the row count: binary search for the last row count that fits.
    if !fits(1) {
        return None;
    }
    let (mut fitting, mut too_big) = (1u32, max_rows + 1);
    while too_big - fitting > 1 {
        let mid = fitting + (too_big - fitting) / 2;
        if fits(mid) {
            fitting = mid;
        } else {
            too_big = mid;
        }
    }
    Some(fitting)
}

/// The `train` command.
pub fn run_train(args: &TrainArgs) -> Result<TrainSummary> {
    let started = Instant::now();
    let say = |text: String| {
        if !args.quiet {
            eprintln!("{text}");
        }
    };
    let budget = args.max_model_bytes;
    // A byte budget means a small table: four tags leave more rows than six, and fewer templates
    // collide less (both measured on PKU and CTB6).
    let word_tags = args.word_tags.resolve(budget.is_some());
    let data = read_data(args, word_tags)?;
    let tag_names = data.train.tag_names.clone();
    say(format!(
        "training on {}: {} sentences, {} characters, tags {}",
        data.train_name,
        data.train.sentences.len(),
        data.train.char_count(),
        tag_names.join(" ")
    ));
    say(format!("dev: {}: {} sentences", data.dev_name, data.dev.len()));

    let weight_type = weight_type_of(args.weight_type);
    let codebook = match args.weight_type {
        WeightTypeArg::Codebook => true,
        WeightTypeArg::Auto => budget.is_some(),
        WeightTypeArg::I8 | WeightTypeArg::I16 => false,
    };
    if args.teacher.is_some() && args.distill.is_empty() {
        bail!("--teacher labels --distill text; give --distill FILE");
    }
    if !args.distill.is_empty() && args.teacher.is_none() && (budget.is_none() || args.no_reference) {
        bail!("--distill needs a teacher: give --teacher MODEL, or --max-model-bytes without --no-reference");
    }
    // Read (and the teacher loaded) before training, so a bad file fails fast.
    let unlabeled = distill::read_unlabeled(&args.distill)?;
    let teacher_bytes = args.teacher.as_deref().map(read_model_file).transpose()?;
    let teacher_file = match (&args.teacher, &teacher_bytes) {
        (Some(path), Some(bytes)) => Some(load_model(path, bytes)?),
        _ => None,
    };
    let config = train_config(args);
    let lexicon = lexicon_limit(args, &tag_names);
    if lexicon.is_none() && !args.lexicon_extra.is_empty() {
        bail!("--lexicon-extra adds to a word list, which this model has none of (--no-lexicon, or tags that are not word segmentation)");
    }
    let mut extra_words = Vec::new();
    for path in &args.lexicon_extra {
        extra_words.extend(crate::lexicon::read_extra_words(path)?);
    }
    let hashes_per_feature = match (codebook, args.hashes_per_feature) {
        (true, hashes) => hashes.unwrap_or(DEFAULT_HASHES_PER_FEATURE),
        (false, None | Some(1)) => 1,
        (false, Some(hashes)) => bail!("--hashes-per-feature {hashes} needs a codebook model (--weight-type codebook)"),
    };
    let mut reference: Option<(u8, DevScore)> = None;
    let mut reference_model: Option<FloatModel> = None;
    let unlimited_bits = args.bucket_bits.unwrap_or(if args.train.is_some() { 22 } else { 16 });
    let rows = match budget {
        None => 1u32 << unlimited_bits,
        Some(budget) => {
            let list_words = lexicon.map(|limit| limit.unwrap_or(0));
            let rows = largest_table(&tag_names, budget, codebook, weight_type, list_words)
                .with_context(|| format!("no model fits in {budget} bytes"))?;
            let table_bytes = if codebook {
                format!(
                    "{rows} one-byte codes + a {}-entry codebook of {} weights",
                    CODEBOOK_ENTRIES,
                    weight_type_name(weight_type)
                )
            } else {
                format!(
                    "{} bytes of {} weights",
                    rows as usize * tag_names.len() * weight_type.bytes(),
                    weight_type_name(weight_type)
                )
            };
            let list = match list_words {
                Some(words) => format!(", a word list of at most {words} words"),
                None => String::new(),
            };
            say(format!("budget {budget} bytes: {rows} rows ({table_bytes}){list}"));
            if !args.no_reference && rows < 1 << unlimited_bits {
                // What the same data gives without the budget, with the unlimited defaults.
                let reference_tags = args.word_tags.resolve(false);
                let reference_data =
                    if reference_tags == word_tags { None } else { Some(read_data(args, reference_tags)?) };
                let reference_data = reference_data.as_ref().unwrap_or(&data);
                let templates = choose_templates(args, 1 << unlimited_bits, lexicon.is_some(), 1)?;
                say(format!(
                    "training the unlimited reference model first (2^{unlimited_bits} rows, {} templates, tags {})",
                    templates.len(),
                    reference_data.train.tag_names.join(" ")
                ));
                let mut spec = FeatureSpec::new(templates, unlimited_bits);
                if lexicon.is_some() {
                    let train = &reference_data.train;
                    let words = TrainingLexicon::from_sentences(
                        &train.sentences,
                        &train.tag_names,
                        spec.normalization,
                        &extra_words,
                        None,
                    );
                    spec.lexicon = Some(Arc::new(words));
                }
                let outcome = train::train(&reference_data.train, &reference_data.dev, spec, &config, None);
                let score = outcome.best_epoch().dev;
                say(format!("reference model: dev {score}"));
                reference = Some((unlimited_bits, score));
                reference_model = Some(outcome.model);
            }
            rows
        }
    };
    let templates = choose_templates(args, rows, lexicon.is_some(), hashes_per_feature)?;
    let TrainingData { train: corpus, dev, .. } = data;

    if templates.len() * usize::from(hashes_per_feature) > decoder::MAX_TEMPLATES {
        bail!(
            "{} templates reading {hashes_per_feature} rows each exceed the decoder's {} rows a position",
            templates.len(),
            decoder::MAX_TEMPLATES
        );
    }
    let mut spec = FeatureSpec { hashes_per_feature, ..FeatureSpec::with_rows(templates, rows) };
    say(format!(
        "features: {} templates, {rows} rows, {hashes_per_feature} per feature; loss {:?}, lr {} (emission) / {} (CRF layer)",
        spec.templates.len(),
        args.loss,
        args.lr,
        args.crf_lr
    ));
    let distilled = if unlabeled.is_empty() {
        None
    } else {
        let (teacher, teacher_name) = match (&teacher_file, &reference_model) {
            (Some(model), _) => {
                (distill::Teacher::Exported(model), args.teacher.as_ref().map(|p| p.display().to_string()))
            }
            (None, Some(model)) => (distill::Teacher::Float(model), None),
            (None, None) => bail!("--distill needs a teacher: the reference model was not trained (give --teacher)"),
        };
        let started = Instant::now();
        let unlabeled = distill::without_dev_text(unlabeled, &dev);
        let labelled = distill::label(teacher, &unlabeled, &tag_names)?;
        let chars: usize = labelled.iter().map(|s| s.chars.len()).sum();
        say(format!(
            "distillation: {} labelled {} lines ({chars} characters) of {} in {:.1} s",
            teacher_name.as_deref().unwrap_or("the reference model"),
            labelled.len(),
            args.distill.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            started.elapsed().as_secs_f64()
        ));
        Some(with_sentences(&corpus, labelled))
    };
    let train_corpus = distilled.as_ref().unwrap_or(&corpus);
    if let Some(limit) = lexicon {
        // From the whole training text, distilled lines included (dev stays unseen).
        let words = TrainingLexicon::from_sentences(
            &train_corpus.sentences,
            &tag_names,
            spec.normalization,
            &extra_words,
            limit,
        );
        say(format!(
            "word list: {} words of 2 to {} characters",
            words.len(),
            decoder::internal::lexicon::MAX_WORD_CHARS
        ));
        if let Some(budget) = budget {
            // Fewer words than the limit leave bytes to the table.
            let rows = largest_table(&tag_names, budget, codebook, weight_type, Some(words.len()))
                .with_context(|| format!("no model fits in {budget} bytes"))?;
            if rows != spec.rows {
                say(format!("budget {budget} bytes with {} words: {rows} rows", words.len()));
                spec.rows = rows;
                // The row count picks the auto template set.
                spec.templates = choose_templates(args, rows, true, hashes_per_feature)?;
            }
        }
        spec.lexicon = Some(Arc::new(words));
    }
    let refit = if args.refit {
        // The dev sentences join the training data (after any distilled lines, so the gold ones
        // are never dropped from the word list's folds).
        let combined = with_sentences(train_corpus, dev.iter().cloned());
        let mut refit_spec = spec.clone();
        if let Some(selection_words) = &spec.lexicon {
            // Under a byte budget the list may not grow: the table was sized for it.
            let limit = if budget.is_some() { Some(selection_words.len()) } else { lexicon.flatten() };
            let words = TrainingLexicon::from_sentences(
                &combined.sentences,
                &tag_names,
                spec.normalization,
                &extra_words,
                limit,
            );
            say(format!("refit word list: {} words", words.len()));
            refit_spec.lexicon = Some(Arc::new(words));
        }
        Some((combined, refit_spec))
    } else {
        None
    };
    let outcome = train_members(train_corpus, &dev, &spec, refit.as_ref(), &config, args.ensemble, &say)?;
    if outcome.skipped_sentences > 0 {
        say(format!(
            "warning: {} training sentences have gold tags that break the {} constraints and were skipped",
            outcome.skipped_sentences,
            tag_names.join(" ")
        ));
    }
    let mut float_model = outcome.model.clone();
    if args.prune_below > 0.0 {
        let mut pruned = 0usize;
        for w in &mut float_model.weights {
            if w.abs() < args.prune_below && *w != 0.0 {
                *w = 0.0;
                pruned += 1;
            }
        }
        say(format!("pruned {pruned} weights below {}", args.prune_below));
    }
    let mut float_dev = evaluate_float(&float_model, &dev);
    if codebook {
        // k-means over the trained rows, weighted by how often training reads each. (Fine-tuning the
        // codebook with the codes fixed did not help on PKU, and quantization-aware training through a
        // codebook recomputed each epoch diverged; neither is kept.)
        let started = Instant::now();
        float_model = crate::codebook::quantize_rows(float_model, &outcome.row_usage, args.seed);
        let clustered_dev = evaluate_float(&float_model, &dev);
        say(format!(
            "codebook: {CODEBOOK_ENTRIES} entries by k-means in {:.1} s: float dev {float_dev} -> {clustered_dev}",
            started.elapsed().as_secs_f64()
        ));
        float_dev = clustered_dev;
    }
    let zeros = float_model.weights.iter().filter(|&&w| w == 0.0).count();
    let best = outcome.best_epoch();
    say(format!(
        "best epoch {} of {}: float dev {float_dev}; {:.1}% of emission weights are zero",
        best.epoch,
        outcome.epochs.len(),
        100.0 * zeros as f64 / float_model.weights.len() as f64
    ));

    // Quantize: try the candidate scales, keep the best on dev with the integer decoder.
    let mut chosen: Option<(QuantParams, Vec<u8>, DevScore)> = None;
    let train_file = args.train.as_ref().map_or("sample".to_string(), |p| file_name(p));
    for params in quantize::candidates(&float_model, weight_type)? {
        let metadata = metadata(args, &train_file, &outcome, &float_dev, None);
        let bytes = quantize::export(&float_model, params, &metadata)?;
        let model = Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("exported model does not load: {e}"))?;
        let score = integer::evaluate(&model, &dev, None);
        say(format!(
            "  quantized {} step 2^{} (frac bits {}, shift {}): dev {score}",
            weight_type_name(params.weight_type),
            params.emission_step().log2(),
            params.score_frac_bits,
            params.weight_shift
        ));
        if chosen.as_ref().is_none_or(|(_, _, s)| score.value() > s.value()) {
            chosen = Some((params, bytes, score));
        }
    }
    let (params, _, quantized_dev) = chosen.expect("at least one quantization candidate");
    let metadata = metadata(args, &train_file, &outcome, &float_dev, Some(&quantized_dev));
    let bytes = quantize::export(&float_model, params, &metadata)?;
    if let Some(budget) = args.max_model_bytes {
        if bytes.len() > budget {
            bail!("internal error: model of {} bytes exceeds the {budget}-byte budget", bytes.len());
        }
    }
    let seconds = started.elapsed().as_secs_f64();

    write_model(&args.out, &bytes)?;
    let words_path = words_path_for(&args.out);
    if corpus.is_segmentation() {
        let with_dev = args.refit.then(|| with_sentences(&corpus, dev.iter().cloned()));
        let mut vocabulary = corpus::vocabulary(with_dev.as_ref().unwrap_or(&corpus)).join("\n");
        vocabulary.push('\n');
        std::fs::write(&words_path, vocabulary).with_context(|| format!("writing {}", words_path.display()))?;
    }

    let scale = scale_report(&float_model, &dev);
    let mut report = String::new();
    let _ = writeln!(report, "\n== trained in {seconds:.1} s: {} ({} bytes)", args.out.display(), bytes.len());
    let _ = writeln!(
        report,
        "dev: float {}  quantized {}  (quantization cost {:+.2} points)",
        float_dev,
        quantized_dev,
        100.0 * (quantized_dev.value() - float_dev.value())
    );
    if args.refit {
        let _ = writeln!(
            report,
            "refit: the model was trained on the dev data too, so these dev scores are not held out; \
             held out, the selection run scored dev {} at epoch {}",
            best.dev, best.epoch
        );
    }
    let _ = writeln!(
        report,
        "integer layout: {} emission weights, step 2^{}, score unit 2^-{}, weight shift {}",
        weight_type_name(params.weight_type),
        params.emission_step().log2(),
        params.score_frac_bits,
        params.weight_shift
    );
    if let Some((reference_bits, reference_dev)) = &reference {
        let _ = writeln!(
            report,
            "budget cost: unlimited model (2^{reference_bits} rows, float) dev {reference_dev}; this model {quantized_dev}: \
             {:+.2} points",
            100.0 * (quantized_dev.value() - reference_dev.value())
        );
    }
    report.push_str(&describe_scale(&scale));
    report.push_str(&transition_table(
        &float_model.tag_names,
        &float_model.transitions,
        &float_model.start,
        &float_model.end,
        Some(&float_model.constraints().1),
    ));

    if !args.quiet {
        eprint!("{report}");
    }
    // Optional test scoring (not part of the training time).
    let mut float_test = None;
    let mut quantized_test = None;
    if let Some(test_path) = &args.test {
        let test = corpus::read_corpus(test_path, args.format, Some(&tag_names), word_tags)?;
        let dictionary = match &args.words {
            Some(path) => Some(Dictionary::from_bytes(
                &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
            )),
            None if corpus.is_segmentation() => Some(Dictionary::from_words(corpus::vocabulary(&corpus))),
            None => None,
        };
        let predicted = crate::evaluate::predict_float(&float_model, &test.sentences);
        let float_score =
            crate::evaluate::score_predictions(&tag_names, &test.sentences, &predicted, dictionary.as_ref());
        let model = Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
        let quantized_score = integer::evaluate(&model, &test.sentences, dictionary.as_ref());
        // Always shown, even with --quiet: it is what the user asked for.
        out!(
            "test {}: float {}\n  quantized {}",
            test_path.display(),
            describe_score(&float_score),
            describe_score(&quantized_score)
        );
        float_test = Some(float_score);
        quantized_test = Some(quantized_score);
    }

    out!(
        "wrote {} ({} bytes, {}) in {seconds:.1} s; dev {quantized_dev}{}",
        args.out.display(),
        bytes.len(),
        human_bytes(bytes.len()),
        if args.refit { " (seen in the refit)" } else { "" }
    );
    Ok(TrainSummary {
        float_model,
        params,
        bytes,
        float_dev,
        quantized_dev,
        float_test,
        quantized_test,
        scale,
        seconds,
    })
}

fn describe_score(score: &DevScore) -> String {
    match score {
        DevScore::Segmentation(counts) => counts.to_string(),
        other => other.to_string(),
    }
}

fn describe_scale(scale: &ScaleReport) -> String {
    let mut out = format!(
        "scale: mean emission margin (top-1 minus runner-up) {:.2}; allowed transitions mean |t| {:.2}, max |t| {:.2}, \
         largest spread into one tag {:.2}\n",
        scale.mean_emission_margin, scale.mean_abs_transition, scale.max_abs_transition, scale.max_transition_spread
    );
    if scale.transitions_negligible() {
        out.push_str(
            "WARNING: the transition scores are too small to change a typical decision (spread < 10% of the \
             emission margin): the CRF layer barely matters. Try a larger --crf-lr.\n",
        );
    }
    out
}

fn weight_type_name(weight_type: WeightType) -> &'static str {
    match weight_type {
        WeightType::I8 => "i8",
        WeightType::I16 => "i16",
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn human_bytes(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// `corpus` with `more` sentences after its own.
fn with_sentences(corpus: &Corpus, more: impl IntoIterator<Item = Sentence>) -> Corpus {
    let mut sentences = corpus.sentences.clone();
    sentences.extend(more);
    Corpus { tag_names: corpus.tag_names.clone(), sentences }
}

/// Trains the exported model: `members` runs with consecutive seeds, each choosing its epoch count on
/// `dev` and, with `refit` (the training and dev data, and their features), trained again on it for
/// that many epochs; the members' parameters are averaged ([`FloatModel::mean`]). The outcome's
/// epochs and choice are the first member's selection run (its dev scores are held out); its row
/// usage is that of the data the exported model was trained on.
fn train_members(
    train_corpus: &Corpus,
    dev: &[Sentence],
    spec: &FeatureSpec,
    refit: Option<&(Corpus, FeatureSpec)>,
    config: &TrainConfig,
    members: u32,
    say: &dyn Fn(String),
) -> Result<TrainOutcome> {
    let mut first: Option<TrainOutcome> = None;
    let mut models = Vec::new();
    let mut refit_row_usage = None;
    for member in 0..u64::from(members) {
        let member_config = TrainConfig { seed: config.seed.wrapping_add(member), ..config.clone() };
        let mut selection = train::train(train_corpus, dev, spec.clone(), &member_config, None);
        let chosen = selection.best_epoch();
        let epochs = chosen.epoch;
        if members > 1 {
            say(format!(
                "member {}/{members} (seed {}): epoch {epochs}, dev {}",
                member + 1,
                member_config.seed,
                chosen.dev
            ));
        }
        let refitted = refit.map(|(combined, refit_spec)| {
            say(format!(
                "refit: {epochs} epochs on the training and dev data ({} sentences)",
                combined.sentences.len()
            ));
            let refit_config = TrainConfig { epochs, keep_last: true, ..member_config };
            let refitted = train::train(combined, dev, refit_spec.clone(), &refit_config, None);
            refit_row_usage = Some(refitted.row_usage);
            refitted.model
        });
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

fn metadata(
    args: &TrainArgs,
    train_file: &str,
    outcome: &TrainOutcome,
    float_dev: &DevScore,
    quantized_dev: Option<&DevScore>,
) -> String {
    let mut text = format!(
        "trainer {}; train {train_file}; loss {:?}; lr {} crf-lr {}; epoch {}; {} templates; dev float {:.4}",
        env!("CARGO_PKG_VERSION"),
        args.loss,
        args.lr,
        args.crf_lr,
        outcome.best_epoch().epoch,
        outcome.model.features.templates.len(),
        float_dev.value()
    );
    if let Some(q) = quantized_dev {
        let _ = write!(text, " quantized {:.4}", q.value());
    }
    if let Some(words) = &outcome.model.features.lexicon {
        let _ = write!(text, "; word list {} words", words.len());
    }
    if args.ensemble > 1 {
        let _ = write!(text, "; mean of {} seeds from {}", args.ensemble, args.seed);
    }
    if args.refit {
        let _ = write!(text, "; refit on train and dev");
    }
    if !args.distill.is_empty() {
        let files: Vec<String> = args.distill.iter().map(|p| file_name(p)).collect();
        let _ = write!(text, "; distilled through {}", files.join(", "));
    }
    // Never let the metadata break a byte budget.
    let mut cut = METADATA_BUDGET.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
}

fn write_model(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Where the training vocabulary of a model is kept: next to it, with `.words` appended.
pub fn words_path_for(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_owned();
    name.push(".words");
    PathBuf::from(name)
}

fn read_model_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading model {}", path.display()))
}

fn load_model<'a>(path: &Path, bytes: &'a [u8]) -> Result<Model<'a>> {
    Model::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{}: not a valid model: {e}", path.display()))
}

/// The `eval` command.
pub fn run_eval(args: &EvalArgs) -> Result<()> {
    let model_bytes = read_model_file(&args.model)?;
    let model = load_model(&args.model, &model_bytes)?;
    let gold_bytes = corpus::read_bytes(&args.gold)?;
    let (dictionary, words_source) = match &args.words {
        Some(path) => (Some(Dictionary::from_bytes(&corpus::read_bytes(path)?)), Some(path.clone())),
        None => {
            let default = words_path_for(&args.model);
            match std::fs::read(&default) {
                Ok(bytes) => (Some(Dictionary::from_bytes(&bytes)), Some(default)),
                Err(_) => (None, None),
            }
        }
    };
    let started = Instant::now();
    if corpus::detect_format(&gold_bytes) == CorpusFormat::Conll {
        let tag_names: Vec<String> = model.tag_names().map(str::to_string).collect();
        let gold = corpus::parse_conll(&gold_bytes, &args.gold.display().to_string(), Some(&tag_names))?;
        let score = integer::evaluate(&model, &gold.sentences, None);
        if args.json {
            let DevScore::Tagging { correct, total } = score else { unreachable!("tagging score") };
            out!("{}", serde_json::json!({ "accuracy": score.value(), "correct": correct, "total": total }));
        } else {
            out!("{score}");
        }
        return Ok(());
    }
    // Validate the gold file (clear errors for bad lines), then rebuild each line's raw text.
    let gold_lines = corpus::parse_segmented_lines(&gold_bytes, &args.gold.display().to_string())?;
    let raw: String = gold_lines.iter().map(|words| words.concat() + "\n").collect();
    let (segmented, forced_cuts) = integer::segment_stream(&model, raw.as_bytes());
    if forced_cuts > 0 && !args.json {
        eprintln!("note: {forced_cuts} forced cuts (runs longer than the decoder's window)");
    }
    if let Some(path) = &args.output {
        std::fs::write(path, &segmented).with_context(|| format!("writing {}", path.display()))?;
    }
    let counts = scorer::score_files(&gold_bytes, &segmented, dictionary.as_ref());
    print_counts(
        &counts,
        &args.gold,
        words_source.as_deref(),
        Some(&args.model),
        args.json,
        started.elapsed().as_secs_f64(),
    )
}

fn print_counts(
    counts: &scorer::ScoreCounts,
    gold: &Path,
    words: Option<&Path>,
    model: Option<&Path>,
    json: bool,
    seconds: f64,
) -> Result<()> {
    let with_words = words.is_some();
    if json {
        let value = serde_json::json!({
            "model": model.map(|p| p.display().to_string()),
            "gold": gold.display().to_string(),
            "words": words.map(|p| p.display().to_string()),
            "precision": counts.precision(),
            "recall": counts.recall(),
            "f1": counts.f1(),
            "oov_rate": with_words.then(|| counts.oov_rate()),
            "oov_recall": if with_words { counts.oov_recall() } else { None },
            "iv_recall": if with_words { counts.iv_recall() } else { None },
            "counts": counts,
            "seconds": seconds,
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        out_raw!("{}", counts.official_summary());
        match words {
            Some(path) => out!("(OOV words: not in {})", path.display()),
            None => out!("(no word list: every word counts as OOV; pass --words FILE)"),
        }
        out!(
            "F1 {:.2}  P {:.2}  R {:.2}  OOV-R {}  IV-R {}  ({} lines, {:.1} s)",
            100.0 * counts.f1(),
            100.0 * counts.precision(),
            100.0 * counts.recall(),
            counts.oov_recall().map_or("--".into(), |v| format!("{:.2}", 100.0 * v)),
            counts.iv_recall().map_or("--".into(), |v| format!("{:.2}", 100.0 * v)),
            counts.lines,
            seconds
        );
    }
    Ok(())
}

/// The `score` command.
pub fn run_score(args: &ScoreArgs) -> Result<()> {
    let started = Instant::now();
    let gold = corpus::read_bytes(&args.gold)?;
    let test = corpus::read_bytes(&args.test)?;
    let dictionary = match &args.words {
        Some(path) => Dictionary::from_bytes(&corpus::read_bytes(path)?),
        None => Dictionary::default(),
    };
    let counts = scorer::score_files(&gold, &test, Some(&dictionary));
    let Some(training_path) = &args.conventions else {
        return print_counts(
            &counts,
            &args.gold,
            args.words.as_deref(),
            None,
            args.json,
            started.elapsed().as_secs_f64(),
        );
    };
    let training = corpus::read_bytes(training_path)?;
    let report = conventions::convention_conflicts(&gold, &test, &training, args.conflict_min_count, LISTED_CONFLICTS);
    if args.json {
        let value = serde_json::json!({
            "gold": args.gold.display().to_string(),
            "test": args.test.display().to_string(),
            "training": training_path.display().to_string(),
            "f1": counts.f1(),
            "conventions": report,
            "span_f1": report.f1(),
            "span_f1_without_conflicts": report.f1_without_conflicts(),
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    print_counts(&counts, &args.gold, args.words.as_deref(), None, false, started.elapsed().as_secs_f64())?;
    out!(
        "convention conflicts against {}: {} of {} disagreements ({} gold words) have the tested reading in the \
         training text at least {} times and the gold reading never",
        training_path.display(),
        report.conflicts,
        report.disagreements,
        report.conflict_gold_words,
        report.conflict_min_count()
    );
    if report.mismatched_lines > 0 {
        out!("({} lines left out: their characters differ between gold and test)", report.mismatched_lines);
    }
    out!(
        "F1 {:.2} (words in the same place), {:.2} with the conflicts read the gold way",
        100.0 * report.f1(),
        100.0 * report.f1_without_conflicts()
    );
    for c in &report.top {
        out!("  {:>4} x  gold {}  /  tested {}  (training: {} times)", c.occurrences, c.gold, c.test, c.training_count);
    }
    Ok(())
}

/// The `segment` command.
pub fn run_segment(args: &SegmentArgs) -> Result<()> {
    let started = Instant::now();
    let model_bytes = read_model_file(&args.model)?;
    let model = load_model(&args.model, &model_bytes)?;
    let loaded = Instant::now();
    let mut bytes_in = 0usize;
    let mut input: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?),
        None => Box::new(std::io::stdin().lock()),
    };
    // Stream: constant memory whatever the input size, output as soon as it is final.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut segmenter = decoder::Segmenter::<{ decoder::DEFAULT_WINDOW }>::new(&model);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut write_error: Option<std::io::Error> = None;
    let mut write = |bytes: &[u8]| {
        if write_error.is_none() {
            if let Err(e) = stdout.write_all(bytes) {
                write_error = Some(e);
            }
        }
    };
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the input"),
        };
        bytes_in += n;
        segmenter.push(&buffer[..n], &mut write);
    }
    segmenter.finish(&mut write);
    if let Some(e) = write_error {
        return Err(e).context("writing standard output");
    }
    stdout.flush().context("writing standard output")?;
    if let Some(path) = &args.timing {
        let timing = serde_json::json!({
            "load_s": (loaded - started).as_secs_f64(),
            "label_s": loaded.elapsed().as_secs_f64(),
            "bytes_in": bytes_in,
        });
        std::fs::write(path, format!("{timing}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Formats transition, start and end scores as a table; forbidden entries are marked.
pub fn transition_table(
    tag_names: &[String],
    transitions: &[f32],
    start: &[f32],
    end: &[f32],
    constraints: Option<&decoder::internal::tags::Constraints>,
) -> String {
    let l = tag_names.len();
    let cell = |value: f32, allowed: bool| {
        if allowed {
            format!("{value:>8.3}")
        } else {
            format!("{:>8}", format!("({value:.1})"))
        }
    };
    let mut out = String::from("transition scores (row: from, column: to; parenthesised: forbidden, never used)\n");
    let _ = write!(out, "{:>8}", "from\\to");
    for name in tag_names {
        let _ = write!(out, "{name:>8}");
    }
    out.push('\n');
    for from in 0..l {
        let _ = write!(out, "{:>8}", tag_names[from]);
        for to in 0..l {
            out.push_str(&cell(transitions[from * l + to], constraints.is_none_or(|c| c.allows(from, to))));
        }
        out.push('\n');
    }
    let _ = write!(out, "{:>8}", "start");
    for (j, &s) in start.iter().enumerate() {
        out.push_str(&cell(s, constraints.is_none_or(|c| c.allows_start(j))));
    }
    out.push('\n');
    let _ = write!(out, "{:>8}", "end");
    for (j, &e) in end.iter().enumerate() {
        out.push_str(&cell(e, constraints.is_none_or(|c| c.allows_end(j))));
    }
    out.push('\n');
    out
}

/// The `inspect` command.
pub fn run_inspect(args: &InspectArgs) -> Result<()> {
    let bytes = read_model_file(&args.model)?;
    let model = load_model(&args.model, &bytes)?;
    let body = model.body();
    let Some(emission) = model.ngram() else { bail!("{}: not an n-gram model", args.model.display()) };
    let (normalization, weight_shift) = match body.emission.table() {
        NgramTable::Hashed(s) => (s.normalization, s.weight_shift),
        NgramTable::Codebook(s) => (s.normalization, s.weight_shift),
    };
    let l = model.num_tags();
    let mut out = String::new();
    let _ = writeln!(out, "model {}: {} bytes, format version {}", args.model.display(), bytes.len(), body.version());
    let _ = writeln!(out, "metadata: {}", model.metadata());
    let _ =
        writeln!(out, "tags ({l}): {}   scheme {:?}", model.tag_names().collect::<Vec<_>>().join(" "), model.scheme());
    let _ = writeln!(
        out,
        "scores: integers in units of 2^-{} (real value = integer / {})",
        body.score_frac_bits,
        1u64 << body.score_frac_bits
    );
    let _ = writeln!(out, "emission: hashed n-grams, normalization flags {normalization:#04b}");
    let templates: Vec<String> = emission.templates().iter().map(|t| format!("{t:?}")).collect();
    let _ = writeln!(out, "  templates ({}): {}", templates.len(), templates.join(", "));
    if let Some((words, index_bits, index)) = body.emission.words() {
        let _ = writeln!(
            out,
            "  word list: {} words of 2 to {} characters = {} bytes, index of 2^{index_bits} buckets = {} bytes",
            emission.lexicon().len(),
            decoder::internal::lexicon::MAX_WORD_CHARS,
            words.len(),
            index.len()
        );
    }
    let weight_type = emission.weight_type();
    let step = i32::from(weight_shift) - i32::from(body.score_frac_bits);
    match emission.codes() {
        None => {
            let _ = writeln!(
                out,
                "  weights: [{}][{l}] {} = {} bytes, weight shift {weight_shift} (one step = 2^{step} real)",
                emission.rows(),
                weight_type_name(weight_type),
                emission.weight_bytes(),
            );
        }
        Some(codes) => {
            let _ = writeln!(
                out,
                "  codes: [{}] u8 = {} bytes; codebook: [{}][{l}] {}, weight shift {weight_shift} (one step = 2^{step} real)",
                emission.rows(),
                codes.len(),
                decoder::internal::format::CODEBOOK_ENTRIES,
                weight_type_name(weight_type),
            );
        }
    }
    let float = quantize::dequantize(&model);
    let nonzero = float.weights.iter().filter(|&&w| w != 0.0).count();
    let max = float.weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
    let _ = writeln!(
        out,
        "    {:.1}% nonzero, largest |w| {max:.3}",
        100.0 * nonzero as f64 / float.weights.len().max(1) as f64
    );
    let _ = writeln!(
        out,
        "transitions: [{l}][{l}] i16 = {} bytes; start [{l}] i16 = {} bytes; end [{l}] i16 = {} bytes",
        body.transitions.transitions.len(),
        body.transitions.start.len(),
        body.transitions.end.len()
    );
    let constraints = model.constraints();
    let _ = writeln!(out, "allowed transitions (1 = allowed; primitivity exponent {}):", model.primitive_exponent());
    let names: Vec<&str> = model.tag_names().collect();
    let _ = write!(out, "{:>8}", "from\\to");
    for name in &names {
        let _ = write!(out, "{name:>4}");
    }
    out.push('\n');
    for (from, name) in names.iter().enumerate() {
        let _ = write!(out, "{name:>8}");
        for to in 0..l {
            let _ = write!(out, "{:>4}", u8::from(constraints.allows(from, to)));
        }
        out.push('\n');
    }
    let bits = |mask: u16| {
        names.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, n)| *n).collect::<Vec<_>>().join(" ")
    };
    let _ = writeln!(out, "  may start: {}   may end: {}", bits(constraints.start), bits(constraints.end));
    out.push_str(&transition_table(&float.tag_names, &float.transitions, &float.start, &float.end, Some(constraints)));
    out_raw!("{out}");
    Ok(())
}

/// The `experiment lr` command.
pub fn run_lr_experiment(args: &ExperimentArgs) -> Result<()> {
    struct Run {
        name: String,
        crf_lr: Option<f32>,
        summary: TrainSummary,
    }
    let base = &args.train;
    let mut runs = Vec::new();
    let mut configs: Vec<(String, Loss, f32)> =
        args.multipliers.iter().map(|&m| (format!("CRF, CRF lr {m}x"), Loss::Crf, base.lr * m)).collect();
    configs.push(("Softmax".to_string(), Loss::Softmax, base.lr));
    let out_dir = base.out.parent().map(Path::to_path_buf).unwrap_or_default();
    for (i, (name, loss, crf_lr)) in configs.into_iter().enumerate() {
        eprintln!("\n=== {name} (lr {}, CRF lr {crf_lr})", base.lr);
        let mut run_args = base.clone();
        run_args.loss = loss;
        run_args.crf_lr = crf_lr;
        run_args.unconstrained_training = !args.constrained_training;
        run_args.out = out_dir.join(format!("experiment-lr-{i}.crfm"));
        let summary = run_train(&run_args)?;
        runs.push(Run { name, crf_lr: (loss == Loss::Crf).then_some(crf_lr), summary });
    }
    let has_test = base.test.is_some();
    let mut table = String::from("\n| run | emission lr | CRF lr | dev F1 float | dev F1 quantized |");
    if has_test {
        table.push_str(" test F1 float | test F1 quantized |");
    }
    table.push_str(" max transition spread | mean emission margin |\n|---|---|---|---|---|");
    if has_test {
        table.push_str("---|---|");
    }
    table.push_str("---|---|\n");
    for run in &runs {
        let s = &run.summary;
        let _ = write!(
            table,
            "| {} | {} | {} | {:.2} | {:.2} |",
            run.name,
            base.lr,
            run.crf_lr.map_or("-".to_string(), |v| v.to_string()),
            100.0 * s.float_dev.value(),
            100.0 * s.quantized_dev.value()
        );
        if has_test {
            let f = |v: &Option<DevScore>| v.map_or("-".to_string(), |v| format!("{:.2}", 100.0 * v.value()));
            let _ = write!(table, " {} | {} |", f(&s.float_test), f(&s.quantized_test));
        }
        let _ = writeln!(table, " {:.2} | {:.2} |", s.scale.max_transition_spread, s.scale.mean_emission_margin);
    }
    out!("{table}");
    for run in &runs {
        let m = &run.summary.float_model;
        out!("{}:", run.name);
        out!("{}", transition_table(&m.tag_names, &m.transitions, &m.start, &m.end, Some(&m.constraints().1)));
    }
    Ok(())
}

//! `trainer train`: the product's training options, their conversion to [`TrainOptions`], the
//! options that moved out (an error says where).

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, ValueEnum};

use super::out;
use super::progress::ConsoleProgress;
use crate::corpus::{CorpusFormat, WordTags};
use crate::features::TemplateSet;
use crate::neural::train::{NeuralConfig, NeuralLoss, TableInit};
use crate::pipeline::report::{describe_score, human_bytes};
use crate::pipeline::{self, Emission, TrainOptions, TrainSummary, WeightChoice};

/// Options of `train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// Training corpus: one sentence per line with words separated by spaces, or CoNLL `char<TAB>tag`
    /// lines, or a word-level CoNLL column file (tokens with feature columns, the tag last: a
    /// token-level model, see --template). Default: the built-in sample corpus.
    #[arg(long, value_name = "FILE")]
    pub train: Option<PathBuf>,
    /// Development corpus for choosing the epoch and the quantization scale. Default: every 20th
    /// sentence of the training corpus, held out.
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
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Tag set for segmented (words) corpora; auto: bmes6, or bmes with --max-model-bytes (fewer tags
    /// leave more table rows).
    #[arg(long, value_enum, default_value_t = WordTagsArg::Auto)]
    pub word_tags: WordTagsArg,
    /// CRF++ template file for a token-level model (word-level CoNLL training data); default: every
    /// input column in a window, word bigrams, shape, class, affixes and lower case.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// For a token-level model: list the training file's chunks (entity mentions) and give each token
    /// three more input columns from the list (the longest listed mention starting and ending at it, and
    /// the list's longest-match tag), jackknifed on the training text. The list is stored in the model
    /// file (format version 8), and `eval` and `label` compute the columns from it; the columns follow
    /// the file's own in a --template. Host only: the firmware does not compute them.
    #[arg(long)]
    pub mention_list: bool,
    /// Most passes over the training data.
    #[arg(long, default_value_t = 12)]
    pub epochs: usize,
    /// Stop after this many epochs without a better dev score.
    #[arg(long, default_value_t = 3)]
    pub patience: usize,
    /// Adagrad learning rate of the emission (feature) weights.
    #[arg(long, default_value_t = DEFAULT_LR)]
    pub lr: f32,
    /// Adagrad learning rate of the CRF layer (transition, start and end scores). A larger rate than
    /// --lr keeps the transitions from being frozen near zero while the emissions fit the data.
    #[arg(long, default_value_t = 1.0)]
    pub crf_lr: f32,
    /// Seed of the shuffling: the same seed gives the same model (for any --threads).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
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
    /// Feature templates (a named set); auto: compact for tables of at most 2^20 rows, else standard.
    #[arg(long, value_enum, default_value_t = TemplatesArg::Auto)]
    pub templates: TemplatesArg,
    /// Element type of the exported emission table.
    #[arg(long, value_enum, default_value_t = WeightTypeArg::Auto)]
    pub weight_type: WeightTypeArg,
    /// Make the model file fit in this many bytes (e.g. 163840 for 160 KiB): the largest table that
    /// fits is used and the F1 cost against the unlimited model is reported.
    #[arg(long, value_name = "BYTES")]
    pub max_model_bytes: Option<usize>,
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
    /// Unlabeled text for distillation (repeatable): the teacher (--teacher) labels each line and the
    /// labelled lines join the training data; dev data stays gold. Whitespace is removed, so a segmented
    /// corpus of another standard serves as raw text. Lifts small (--max-model-bytes) models.
    #[arg(long, value_name = "FILE")]
    pub distill: Vec<PathBuf>,
    /// The model file that labels --distill text. Default with --max-model-bytes: the unlimited
    /// reference model trained first in the same run.
    #[arg(long, value_name = "MODEL")]
    pub teacher: Option<PathBuf>,
    /// The emission model: linear (hashed n-gram features, the default), neural (a character
    /// encoder of embeddings and convolutions trained with candle under the same CRF layer; the
    /// `--neural` settings and `--crf-lr-mult` shape it) or hybrid (the encoder plus a hashed table of
    /// the linear model's n-gram features, trained jointly).
    #[arg(long, value_enum, default_value_t = EmissionArg::Linear)]
    pub emission: EmissionArg,
    /// Neural: the CRF layer's AdamW learning rate is the encoder's (`--neural lr=X`) times this (the
    /// CRF layer's own rate).
    #[arg(long, default_value_t = 100.0)]
    pub crf_lr_mult: f64,
    /// Neural: shape and training settings, comma-separated KEY=VALUE: dim=64 (embedding width),
    /// bucket-bits=15 (log2 of the n-gram embedding rows), channels=128, kernel=3, dilations=1:2 (one per
    /// convolution; the model reads at most 4 characters each side), lr=0.001 (AdamW, encoder),
    /// dropout=0.2, batch=32 (sentences per step), loss=crf|softmax, minutes=M (stop training after M
    /// minutes; the best epoch so far is exported); hybrid only: table-bits=20 (log2 of the n-gram
    /// table's rows), table-lr-mult=30 (the table's learning rate over the encoder's), table-init=linear|zero
    /// (linear: start the table and the CRF layer from a linear model of the table's features trained
    /// first), table-decay=0 (AdamW weight decay on the table), table-dropout=0 (dropout of table rows);
    /// experiment, neural only: base=MODEL.crfm (add the encoder to the fixed scores of a linear model
    /// file, the CRF layer starting from its; float scores only, no model is written),
    /// base-jackknife=M0:M1:... (models trained without every n-th training sentence, which score them).
    #[arg(long, value_name = "KEY=VALUE,...", value_delimiter = ',', value_parser = parse_neural_setting)]
    pub neural: Vec<NeuralSetting>,
    /// Print less: no progress bars or per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Parses no arguments, for [`TrainArgs`]'s defaults.
#[derive(Parser)]
struct DefaultsOnly {
    #[command(flatten)]
    args: TrainArgs,
}

impl Default for TrainArgs {
    fn default() -> Self {
        DefaultsOnly::parse_from(["trainer"]).args
    }
}

impl TrainArgs {
    /// The library options these arguments stand for (the experiment knobs at their defaults).
    pub fn options(&self) -> TrainOptions {
        TrainOptions {
            train: self.train.clone(),
            dev: self.dev.clone(),
            test: self.test.clone(),
            words: self.words.clone(),
            out: self.out.clone(),
            format: self.format.into(),
            word_tags: self.word_tags.into(),
            epochs: self.epochs,
            patience: self.patience,
            lr: self.lr,
            crf_lr: self.crf_lr,
            seed: self.seed,
            ensemble: self.ensemble,
            refit: self.refit,
            templates: self.templates.into(),
            max_model_bytes: self.max_model_bytes,
            reference_model: !self.no_reference,
            lexicon: !self.no_lexicon,
            lexicon_extra: self.lexicon_extra.clone(),
            distill: self.distill.clone(),
            teacher: self.teacher.clone(),
            weight_type: self.weight_type.into(),
            emission: match self.emission {
                EmissionArg::Linear => Emission::Linear,
                EmissionArg::Neural => Emission::Neural,
                EmissionArg::Hybrid => Emission::Hybrid,
            },
            neural: self
                .neural
                .iter()
                .fold(NeuralConfig { crf_lr_mult: self.crf_lr_mult, ..NeuralConfig::default() }, |config, setting| {
                    setting.apply(config)
                }),
            ..TrainOptions::default()
        }
    }
}

/// `train` as the command line gives it: the options, and any of the removed ones.
#[derive(Debug, Clone, Args)]
pub struct TrainCommand {
    /// The training options.
    #[command(flatten)]
    pub args: TrainArgs,
    /// Options that left `train` (each an error).
    #[command(flatten)]
    pub removed: RemovedOptions,
}

/// The options that only served experiments: hidden, and an error naming where they went. Each takes
/// an optional value, so that both the flags and the valued options are recognised.
#[derive(Debug, Clone, Default, Args)]
pub struct RemovedOptions {
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    loss: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    l1: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    l2: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    prune_below: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    batch_size: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    no_average: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    average_from: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    adagrad_init: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    adagrad: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    min_feature_count: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    unconstrained_training: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    template_list: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    bucket_bits: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    hashes_per_feature: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    lexicon_words: Option<Option<String>>,
    #[arg(long, hide = true, num_args = 0..=1, allow_negative_numbers = true)]
    holdout: Option<Option<String>>,
}

impl RemovedOptions {
    /// Fails, naming the first removed option given and where it went.
    pub fn check(&self) -> Result<()> {
        let given = [
            ("--loss", &self.loss),
            ("--l1", &self.l1),
            ("--l2", &self.l2),
            ("--prune-below", &self.prune_below),
            ("--batch-size", &self.batch_size),
            ("--no-average", &self.no_average),
            ("--average-from", &self.average_from),
            ("--adagrad-init", &self.adagrad_init),
            ("--adagrad", &self.adagrad),
            ("--min-feature-count", &self.min_feature_count),
            ("--unconstrained-training", &self.unconstrained_training),
            ("--template-list", &self.template_list),
            ("--bucket-bits", &self.bucket_bits),
            ("--hashes-per-feature", &self.hashes_per_feature),
            ("--lexicon-words", &self.lexicon_words),
            ("--holdout", &self.holdout),
        ];
        if let Some((name, _)) = given.iter().find(|(_, value)| value.is_some()) {
            bail!(
                "{name} is no longer an option of `trainer train` (it served experiments): the example program \
                 takes it, `cargo run --release -p trainer --example tune -- <train options> {name} ...`; \
                 docs/experiments.md records what it gave"
            );
        }
        Ok(())
    }
}

/// `--emission`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmissionArg {
    /// Hashed character n-gram features and a word list.
    Linear,
    /// Character and n-gram embeddings, 1-D convolutions, a dense layer (trained with candle).
    Neural,
    /// The neural encoder plus a hashed n-gram table of the linear model's features, trained jointly.
    Hybrid,
}

/// One `--neural` setting.
#[derive(Debug, Clone, PartialEq)]
pub enum NeuralSetting {
    /// `dim=N`.
    Dim(usize),
    /// `bucket-bits=N`.
    BucketBits(u8),
    /// `channels=N`.
    Channels(usize),
    /// `kernel=N`.
    Kernel(usize),
    /// `dilations=A:B:...`.
    Dilations(Vec<usize>),
    /// `lr=X`.
    Lr(f64),
    /// `dropout=X`.
    Dropout(f32),
    /// `batch=N`.
    Batch(usize),
    /// `loss=crf|softmax`.
    Loss(NeuralLoss),
    /// `minutes=M`.
    Minutes(f64),
    /// `table-bits=N` (hybrid).
    TableBits(u8),
    /// `table-lr-mult=X` (hybrid).
    TableLrMult(f64),
    /// `table-init=zero|linear` (hybrid).
    TableInit(TableInit),
    /// `table-decay=X` (hybrid).
    TableDecay(f64),
    /// `table-dropout=X` (hybrid).
    TableDropout(f32),
    /// `base=MODEL` (neural).
    Base(PathBuf),
    /// `base-jackknife=M0:M1:...` (neural, with `base=`).
    BaseJackknife(Vec<PathBuf>),
}

impl NeuralSetting {
    /// `config` with this setting.
    pub fn apply(&self, config: NeuralConfig) -> NeuralConfig {
        match self.clone() {
            Self::Dim(dim) => NeuralConfig { dim, ..config },
            Self::BucketBits(bucket_bits) => NeuralConfig { bucket_bits, ..config },
            Self::Channels(channels) => NeuralConfig { channels, ..config },
            Self::Kernel(kernel) => NeuralConfig { kernel, ..config },
            Self::Dilations(dilations) => NeuralConfig { dilations, ..config },
            Self::Lr(lr) => NeuralConfig { lr, ..config },
            Self::Dropout(dropout) => NeuralConfig { dropout, ..config },
            Self::Batch(batch_size) => NeuralConfig { batch_size, ..config },
            Self::Loss(loss) => NeuralConfig { loss, ..config },
            Self::Minutes(minutes) => NeuralConfig { max_seconds: Some(minutes * 60.0), ..config },
            Self::TableBits(bits) => NeuralConfig { table_bits: Some(bits), ..config },
            Self::TableLrMult(table_lr_mult) => NeuralConfig { table_lr_mult, ..config },
            Self::TableInit(table_init) => NeuralConfig { table_init, ..config },
            Self::TableDecay(table_weight_decay) => NeuralConfig { table_weight_decay, ..config },
            Self::TableDropout(table_dropout) => NeuralConfig { table_dropout, ..config },
            Self::Base(base) => NeuralConfig { base: Some(base), ..config },
            Self::BaseJackknife(base_jackknife) => NeuralConfig { base_jackknife, ..config },
        }
    }
}

/// Parses one `KEY=VALUE` of `--neural` (ranges are checked with the whole configuration).
fn parse_neural_setting(text: &str) -> Result<NeuralSetting, String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
        value.trim().parse().map_err(|_| format!("{key}={value}: `{value}` is not a valid number here"))
    }
    Ok(match key.trim() {
        "dim" => NeuralSetting::Dim(number(key, value)?),
        "bucket-bits" => NeuralSetting::BucketBits(number(key, value)?),
        "channels" => NeuralSetting::Channels(number(key, value)?),
        "kernel" => NeuralSetting::Kernel(number(key, value)?),
        "dilations" => NeuralSetting::Dilations(value.split(':').map(|d| number(key, d)).collect::<Result<_, _>>()?),
        "lr" => NeuralSetting::Lr(number(key, value)?),
        "dropout" => NeuralSetting::Dropout(number(key, value)?),
        "batch" => NeuralSetting::Batch(number(key, value)?),
        "table-bits" => NeuralSetting::TableBits(number(key, value)?),
        "table-lr-mult" => NeuralSetting::TableLrMult(number(key, value)?),
        "table-decay" => NeuralSetting::TableDecay(number(key, value)?),
        "table-dropout" => NeuralSetting::TableDropout(number(key, value)?),
        "base" => NeuralSetting::Base(PathBuf::from(value.trim())),
        "base-jackknife" => NeuralSetting::BaseJackknife(value.split(':').map(|p| PathBuf::from(p.trim())).collect()),
        "table-init" => NeuralSetting::TableInit(match value.trim() {
            "zero" => TableInit::Zero,
            "linear" => TableInit::Linear,
            other => return Err(format!("table-init={other}: the table starts from zero or linear")),
        }),
        "loss" => NeuralSetting::Loss(match value.trim() {
            "crf" => NeuralLoss::Crf,
            "softmax" => NeuralLoss::Softmax,
            other => return Err(format!("loss={other}: the loss is crf or softmax")),
        }),
        "minutes" => {
            let minutes: f64 = number(key, value)?;
            if !(minutes.is_finite() && minutes > 0.0) {
                return Err(format!("minutes={value}: give a positive number of minutes"));
            }
            NeuralSetting::Minutes(minutes)
        }
        other => {
            return Err(format!(
                "unknown setting `{other}` (dim, bucket-bits, channels, kernel, dilations, lr, dropout, batch, loss, \
                 minutes, table-bits, table-lr-mult, table-init, table-decay, table-dropout, base, base-jackknife)"
            ))
        }
    })
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Decide from the first non-blank line: a TAB means CoNLL, anything else segmented words.
    Auto,
    /// One sentence per line, words separated by whitespace (word segmentation, BMES tags).
    Words,
    /// One `char<TAB>tag` per line, a blank line between sentences.
    Conll,
}

impl From<FormatArg> for CorpusFormat {
    fn from(arg: FormatArg) -> Self {
        match arg {
            FormatArg::Auto => Self::Auto,
            FormatArg::Words => Self::Words,
            FormatArg::Conll => Self::Conll,
        }
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

impl From<WordTagsArg> for Option<WordTags> {
    fn from(arg: WordTagsArg) -> Self {
        match arg {
            WordTagsArg::Auto => None,
            WordTagsArg::Bmes => Some(WordTags::Bmes),
            WordTagsArg::Bmes6 => Some(WordTags::Bmes6),
            WordTagsArg::Bi => Some(WordTags::Bi),
        }
    }
}

/// `--templates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplatesArg {
    /// Compact for tables of at most 2^20 rows, standard otherwise.
    Auto,
    /// 8 templates for small tables, where fewer features collide less.
    Compact,
    /// The decoder's 13 default templates.
    Basic,
    /// The basic set plus the centred character trigram.
    Standard,
}

impl From<TemplatesArg> for TemplateSet {
    fn from(arg: TemplatesArg) -> Self {
        match arg {
            TemplatesArg::Auto => Self::Auto,
            TemplatesArg::Compact => Self::Compact,
            TemplatesArg::Basic => Self::Basic,
            TemplatesArg::Standard => Self::Standard,
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

impl From<WeightTypeArg> for WeightChoice {
    fn from(arg: WeightTypeArg) -> Self {
        match arg {
            WeightTypeArg::Auto => Self::Auto,
            WeightTypeArg::I8 => Self::I8,
            WeightTypeArg::I16 => Self::I16,
            WeightTypeArg::Codebook => Self::Codebook,
        }
    }
}

/// Runs `train` as parsed: refuses removed options, starts the worker threads, trains.
pub(super) fn run_command(command: &TrainCommand) -> Result<()> {
    command.removed.check()?;
    super::set_threads(command.args.threads)?;
    if let Some(path) = &command.args.train {
        if crate::token::is_token_level(&crate::corpus::read_bytes(path)?) {
            if command.args.emission != EmissionArg::Linear {
                bail!(
                    "--emission neural and hybrid train on character corpora; {} is a word-level CoNLL file",
                    path.display()
                );
            }
            return train_tokens_and_print(&command.args, None);
        }
    }
    if command.args.template.is_some() || command.args.mention_list {
        bail!(
            "--template and --mention-list are for token-level models, trained on a word-level CoNLL column file \
             (--train)"
        );
    }
    let options = command.args.options();
    if options.emission != Emission::Linear {
        let (mut console, mut silent) = (ConsoleProgress::new(), pipeline::Silent);
        let progress: &mut dyn pipeline::Progress = if command.args.quiet { &mut silent } else { &mut console };
        let summary = pipeline::neural::train(&options, progress)?;
        out!("{}", pipeline::neural::describe_written(&options, &summary));
        return Ok(());
    }
    train_and_print(&options, command.args.quiet).map(|_| ())
}

/// Trains as `options` say, showing progress on standard error unless `quiet`, and prints the test
/// scores (if any) and the written model to standard output.
pub fn train_and_print(options: &TrainOptions, quiet: bool) -> Result<TrainSummary> {
    let (mut console, mut silent) = (ConsoleProgress::new(), pipeline::Silent);
    let progress: &mut dyn pipeline::Progress = if quiet { &mut silent } else { &mut console };
    let summary = pipeline::train(options, progress)?;
    if let (Some(test_path), Some(float), Some(quantized)) =
        (&options.test, &summary.float_test, &summary.quantized_test)
    {
        // Always shown, even with --quiet: it is what the user asked for.
        out!(
            "test {}: float {}\n  quantized {}",
            test_path.display(),
            describe_score(float),
            describe_score(quantized)
        );
    }
    out!(
        "wrote {} ({} bytes, {}) in {:.1} s; dev {}{}",
        options.out.display(),
        summary.bytes.len(),
        human_bytes(summary.bytes.len()),
        summary.seconds,
        summary.quantized_dev,
        if options.refit { " (seen in the refit)" } else { "" }
    );
    Ok(summary)
}

/// The default of --lr.
const DEFAULT_LR: f32 = 0.2;
/// The learning rate of token-level models when --lr is left at its default.
const TOKEN_LR: f32 = 0.05;

/// The L2 strength (over the whole corpus, as crfsuite's `c2`) of token-level models. Dev entity F1
/// against none: CoNLL-2000 94.43 vs 94.27, Weibo NER 56.97 vs 55.98, CoNLL-2003 91.14 vs 91.15 (its
/// 64 KiB model 89.75 vs 89.63); 0.3 and 1 helped CoNLL-2000 more but cost CoNLL-2003 0.3 and 0.8.
const TOKEN_L2: f32 = 0.1;

/// Rows of a token-level model's table: `2^TOKEN_BUCKET_BITS`.
const TOKEN_BUCKET_BITS: u8 = 20;

/// A budget model's soft teacher (an experiment that `trainer train` does not offer: the `tune` example's
/// `--soft-teacher WEIGHT --teacher-temperature T`; docs/experiments.md has what it gave), checked.
pub fn soft_teacher(
    weight: f32,
    temperature: f32,
    max_model_bytes: Option<usize>,
) -> Result<Option<crate::token::SoftTeacher>> {
    if !(0.0..=1.0).contains(&weight) {
        bail!("--soft-teacher {weight}: the teacher's share must be between 0 and 1");
    }
    if !(temperature > 0.0 && temperature.is_finite()) {
        bail!("--teacher-temperature {temperature}: must be a positive number");
    }
    if weight > 0.0 && max_model_bytes.is_none() {
        bail!("--soft-teacher needs --max-model-bytes (the teacher is the model without a budget)");
    }
    Ok((weight > 0.0).then_some(crate::token::SoftTeacher { weight, temperature }))
}

/// `train` on a word-level CoNLL column file: a token-level model, with `teacher` if given.
pub fn train_tokens_and_print(args: &TrainArgs, teacher: Option<crate::token::SoftTeacher>) -> Result<()> {
    print_token_training(&token_train_options(args, teacher)?, args.quiet)
}

/// The settings of a token-level model that `train` gives for `args`, with `teacher` if given (the
/// `tune` example changes more of them before training).
pub fn token_train_options(
    args: &TrainArgs,
    teacher: Option<crate::token::SoftTeacher>,
) -> Result<crate::token::TokenTrainOptions> {
    if !args.distill.is_empty() || args.teacher.is_some() {
        bail!("--distill and --teacher are for character models; a token-level model trains on its CoNLL file");
    }
    if args.max_model_bytes.is_none() && args.weight_type == WeightTypeArg::Codebook {
        bail!("--weight-type codebook needs --max-model-bytes for a token-level model");
    }
    Ok(crate::token::TokenTrainOptions {
        train: args.train.clone().context("--train")?,
        dev: args.dev.clone(),
        template: args.template.clone(),
        out: args.out.clone(),
        bucket_bits: TOKEN_BUCKET_BITS,
        max_model_bytes: args.max_model_bytes,
        ensemble: args.ensemble,
        teacher,
        codebook: match args.weight_type {
            WeightTypeArg::Auto | WeightTypeArg::Codebook => true,
            WeightTypeArg::I8 => false,
            WeightTypeArg::I16 => bail!("token-level models store i8 weights (--weight-type i8 or codebook)"),
        },
        hashes_per_feature: 1,
        codebook_epochs: 0,
        codebook_lr: 0.0,
        pull: None,
        curvature_floor: None,
        mentions: args.mention_list,
        config: crate::train::TrainConfig {
            epochs: args.epochs,
            patience: args.patience,
            // Token-level models fit best at a smaller rate than segmentation (on CoNLL-2003, 0.05 scored
            // better than 0.02 and 0.2): the default --lr stands for TOKEN_LR here.
            lr: if args.lr == DEFAULT_LR { TOKEN_LR } else { args.lr },
            crf_lr: args.crf_lr,
            seed: args.seed,
            l2: TOKEN_L2,
            ..Default::default()
        },
    })
}

/// Trains the token-level model `options` describe, showing progress unless `quiet`, and prints what it
/// wrote and its dev scores.
pub fn print_token_training(options: &crate::token::TokenTrainOptions, quiet: bool) -> Result<()> {
    let (mut console, mut silent) = (ConsoleProgress::new(), pipeline::Silent);
    let progress: &mut dyn pipeline::Progress = if quiet { &mut silent } else { &mut console };
    let summary = crate::token::train_tokens(options, progress)?;
    out!(
        "wrote {} ({} bytes, {}; {:?} tags, {} templates) in {:.1} s; dev entity F1 {:.2} (precision {:.2}, recall {:.2})",
        options.out.display(),
        summary.bytes.len(),
        human_bytes(summary.bytes.len()),
        summary.scheme,
        summary.templates,
        summary.seconds,
        summary.dev.f1(),
        summary.dev.precision(),
        summary.dev.recall()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::soft_teacher;

    #[test]
    fn a_soft_teacher_needs_a_budget_and_sane_settings() {
        let error = |weight, temperature, budget| soft_teacher(weight, temperature, budget).unwrap_err().to_string();
        assert!(error(0.5, 1.0, None).contains("--soft-teacher needs --max-model-bytes"));
        assert!(error(1.5, 1.0, Some(65536)).contains("between 0 and 1"));
        assert!(error(0.5, 0.0, Some(65536)).contains("--teacher-temperature 0: must be a positive number"));
        assert_eq!(soft_teacher(0.0, 1.0, None).unwrap(), None);
        let teacher = soft_teacher(0.5, 2.0, Some(65536)).unwrap().unwrap();
        assert_eq!((teacher.weight, teacher.temperature), (0.5, 2.0));
    }
}

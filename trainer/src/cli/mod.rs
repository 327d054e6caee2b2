//! The command line: `train` (the default), `eval`, `score`, `segment`, `label`, `conlleval`, `features`
//! and `inspect`. Each command
//! parses its options, converts them to the library's and calls it; one command per file.

mod conlleval;
mod eval;
mod features;
mod inspect;
mod label;
mod progress;
mod segment;
mod span_args;
mod train;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand};

pub use conlleval::{run_conlleval, ConllevalArgs};
pub use eval::{run_eval, run_score, EvalArgs, ScoreArgs};
pub use features::{run_features, FeaturesArgs};
pub use inspect::{run_inspect, InspectArgs};
pub use label::{run_label, LabelArgs};
pub use progress::ConsoleProgress;
pub use segment::{run_segment, SegmentArgs};
pub use train::{
    print_token_training, soft_teacher, token_train_options, train_and_print, train_tokens_and_print, FormatArg,
    RemovedOptions, TemplatesArg, TrainArgs, TrainCommand, WeightTypeArg, WordTagsArg,
};

/// `println!` that returns an error (for `?`) instead of panicking when standard output is closed
/// (e.g. piped into `head`).
macro_rules! out {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!("{}\n", format_args!($($arg)*)))
            .context("writing standard output")?
    };
}

/// `print!` counterpart of [`out!`].
macro_rules! out_raw {
    ($($arg:tt)*) => {
        std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!($($arg)*))
            .context("writing standard output")?
    };
}
pub(crate) use {out, out_raw};

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
    pub train: TrainCommand,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model, pick the best epoch on dev data, quantize it and write the model file.
    Train(Box<TrainCommand>),
    /// Segment a gold file's text with a model (the decoder's integer path) and score it like the
    /// official SIGHAN `score` script.
    Eval(EvalArgs),
    /// Score an existing segmentation against a gold file, exactly like the official SIGHAN `score`
    /// script (`score WORDS GOLD TEST`), without a model.
    Score(ScoreArgs),
    /// Segment raw text: one output line per input line, words separated by two spaces.
    Segment(SegmentArgs),
    /// Tag a CoNLL column file with a token-level model: its lines plus the predicted tag as one more
    /// column (the format conlleval reads).
    Label(LabelArgs),
    /// Score a CoNLL column file whose last two columns are the gold and the guessed tag by conlleval's
    /// rules (chunk precision, recall and F1), without a model.
    Conlleval(ConllevalArgs),
    /// Write a tagged CoNLL column file's token-level features (a model's templates, a template file's
    /// or the default) in CRFsuite's attribute format: CRFsuite then trains on exactly our features.
    Features(FeaturesArgs),
    /// Print a model file's header, tensor sizes, tag scheme, constraints and transition scores.
    Inspect(InspectArgs),
    /// Removed: the learning-rate study moved to the `tune` example program (`--study lr`).
    #[command(hide = true)]
    Experiment {
        /// Whatever was given; the command only says where it went.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
}

/// Runs training with `threads` worker threads (`None`: one per core) for the whole process.
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if let Some(threads) = threads {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("starting worker threads")?;
    }
    Ok(())
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => train::run_command(&cli.train),
        Some(Command::Train(command)) => train::run_command(&command),
        Some(Command::Eval(args)) => run_eval(&args),
        Some(Command::Score(args)) => run_score(&args),
        Some(Command::Segment(args)) => run_segment(&args),
        Some(Command::Label(args)) => run_label(&args),
        Some(Command::Conlleval(args)) => run_conlleval(&args),
        Some(Command::Features(args)) => run_features(&args),
        Some(Command::Inspect(args)) => run_inspect(&args),
        Some(Command::Experiment { .. }) => bail!(
            "`trainer experiment` was removed: the CRF learning-rate study (`experiment lr`) is now \
             `cargo run --release -p trainer --example tune -- --study lr <train options>` (see docs/background.md)"
        ),
    }
}

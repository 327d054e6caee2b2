//! Every training knob of the trainer library, for experiments: `trainer train`'s options plus those
//! that only served experiments (regularisation, averaging, Adagrad, feature pruning, template lists,
//! table sizes, ...), and the CRF learning-rate study. On a word-level CoNLL file (a token-level model)
//! the knobs of its training loop, table and codebook apply. What was tried and what it gave is recorded in
//! docs/experiments.md.
//!
//! ```text
//! cargo run --release -p trainer --example tune -- <train options> --l2 1 --batch-size 16
//! cargo run --release -p trainer --example tune -- --study lr --train pku_training.utf8 --test ... --words ...
//! cargo run --release -p trainer --example tune -- --study neural-lr --train 199801_seg.utf8 --test ... --words ...
//! ```

mod neural_lr;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Parser, ValueEnum};
use trainer::cli::{self, TrainArgs};
use trainer::crf::Loss;
use trainer::evaluate::DevScore;
use trainer::optimizer::AdagradMode;
use trainer::pipeline::report::transition_table;
use trainer::pipeline::{TrainOptions, TrainSummary};

/// Trains like `trainer train`, with every library knob; or runs a study.
#[derive(Debug, Parser)]
#[command(name = "tune")]
struct Tune {
    /// `trainer train`'s options.
    #[command(flatten)]
    train: TrainArgs,
    /// The experiment knobs.
    #[command(flatten)]
    knobs: Knobs,
    /// Run a study (several trainings and a table) instead of one training run.
    #[arg(long, value_enum)]
    study: Option<Study>,
    /// Options of `--study lr` (--multipliers also of `--study neural-lr`).
    #[command(flatten)]
    lr_study: LrStudyArgs,
    /// Options of `--study neural-lr`.
    #[command(flatten)]
    neural_lr_study: neural_lr::NeuralLrArgs,
}

/// The studies.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Study {
    /// The CRF learning-rate study (docs/background.md): CRF with the CRF layer's learning rate at
    /// several multiples of the emission rate (--multipliers), and the softmax baseline. Prints F1 and
    /// the learned transition matrix of each. --crf-lr and --loss are set by the study. Models go next
    /// to --out as experiment-lr-N.crfm.
    Lr,
    /// The CRF learning-rate study on the neural emission model (issue #18): softmax and CRF with the
    /// CRF layer's rate at --multipliers times the encoder's, for each of --encoder-lrs and --depths,
    /// --seeds each, trained without the hard masks to convergence on dev (--patience, --max-epochs);
    /// PKU test F1 decoded without and with the masks and what the transitions learned. Writes
    /// --study-json and the table into --study-doc. The shared shape comes from --neural.
    NeuralLr,
}

/// Options of `--study lr`.
#[derive(Debug, Clone, Args)]
struct LrStudyArgs {
    /// CRF learning rates to try, as multiples of --lr.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1.0, 10.0, 100.0, 1000.0])]
    multipliers: Vec<f32>,
    /// Train under the hard constraints. By default the study trains without them, so the transition
    /// matrix itself must learn which transitions are impossible (decoding always applies them).
    #[arg(long)]
    constrained_training: bool,
}

/// The library knobs that `trainer train` does not offer (each defaults to the library's default).
#[derive(Debug, Clone, Args)]
struct Knobs {
    /// Training objective.
    #[arg(long, value_enum)]
    loss: Option<LossArg>,
    /// L1 regularisation strength over the whole corpus (like crfsuite's c1); drives weights to zero.
    #[arg(long)]
    l1: Option<f32>,
    /// L2 regularisation strength over the whole corpus (like crfsuite's c2).
    #[arg(long)]
    l2: Option<f32>,
    /// Set emission weights smaller than this to zero after training (pruning).
    #[arg(long)]
    prune_below: Option<f32>,
    /// Sentences per optimizer step.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Use the last iterate instead of the average of the iterates.
    #[arg(long)]
    no_average: bool,
    /// Average the iterates from this epoch on.
    #[arg(long)]
    average_from: Option<usize>,
    /// Initial Adagrad squared-gradient sum: larger values damp the first updates of rare features.
    #[arg(long)]
    adagrad_init: Option<f32>,
    /// Adagrad's squared-gradient sums for the emission table: per row (faster) or per weight.
    #[arg(long, value_enum)]
    adagrad: Option<AdagradArg>,
    /// Leave features seen fewer times than this in the training data out of training (1 keeps all).
    #[arg(long)]
    min_feature_count: Option<u32>,
    /// Train without the hard constraints (impossible tag transitions then must be learned, as in a
    /// plain CRF); decoding always applies them.
    #[arg(long)]
    unconstrained_training: bool,
    /// Feature templates as a list, overriding --templates: e.g.
    /// "bias,C-2,C-1,C0,C1,C2,C-1C0,C0C1,C-1C0C1,T0..0,T-1..1" (C = characters at offsets, up to three;
    /// T<a>..<b> = character classes over a span; offsets -4..4).
    #[arg(long, value_name = "LIST")]
    template_list: Option<String>,
    /// log2 of the number of rows of the feature hash table (default 22, or 16 for the built-in sample;
    /// ignored with --max-model-bytes).
    #[arg(long, value_parser = clap::value_parser!(u8).range(4..=24))]
    bucket_bits: Option<u8>,
    /// Rows each feature reads (and sums) in a codebook model (default 2, a token-level one 1; direct
    /// weights read 1). A token-level model reads two only with at most 16 templates.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    hashes_per_feature: Option<u8>,
    /// Most words in the word list, the most frequent kept (default: all of them without a byte budget;
    /// with --max-model-bytes, as many as fill the list's share of the budget).
    #[arg(long, value_name = "N")]
    lexicon_words: Option<usize>,
    /// Share of the training corpus held out as dev data when --dev is not given.
    #[arg(long)]
    holdout: Option<f64>,
    /// A token-level model with --max-model-bytes: train the model without a budget first, then fit the
    /// budget model to the gold tags (share 1 - WEIGHT) and that teacher's path distribution on each
    /// training sentence (share WEIGHT).
    #[arg(long, value_name = "WEIGHT", default_value_t = 0.0)]
    soft_teacher: f32,
    /// The teacher's scores are divided by this before its distribution is taken (--soft-teacher).
    #[arg(long, value_name = "T", default_value_t = 1.0)]
    teacher_temperature: f32,
    /// A token-level codebook model: epochs of training the codebook and the CRF layer with the rows'
    /// codes fixed, after k-means (0: the k-means entries).
    #[arg(long, value_name = "N")]
    codebook_epochs: Option<usize>,
    /// The Adagrad learning rate of --codebook-epochs.
    #[arg(long, value_name = "LR")]
    codebook_lr: Option<f32>,
    /// A token-level codebook model: epochs of quantization-aware training after k-means (the CRF loss
    /// plus a pull of each row towards its entry, the rows clustered again after each epoch; 0: none).
    #[arg(long, value_name = "N", default_value_t = 0)]
    qat_epochs: usize,
    /// The pull's strength per read of a row in the first --qat-epochs epoch.
    #[arg(long, value_name = "L0", default_value_t = 0.01)]
    qat_pull: f32,
    /// The pull's strength is multiplied by this after every --qat-epochs epoch.
    #[arg(long, value_name = "G", default_value_t = 2.0)]
    qat_growth: f32,
    /// The Adagrad learning rate of --qat-epochs, for the table and the CRF layer alike.
    #[arg(long, value_name = "LR", default_value_t = 0.01)]
    qat_lr: f32,
    /// Run the --qat-epochs as one training run, Adagrad's squared-gradient sums carried from epoch to
    /// epoch (without it each epoch starts a fresh Adagrad).
    #[arg(long)]
    qat_carry: bool,
    /// A token-level codebook model: k-means weighted per row and tag by the training loss's curvature
    /// (the sum over the row's reads of p_t (1 - p_t), plus this floor per read) instead of by reads.
    #[arg(long, value_name = "FLOOR")]
    kmeans_curvature: Option<f32>,
}

/// `--loss`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LossArg {
    /// Linear-chain CRF negative log-likelihood.
    Crf,
    /// Per-character softmax cross-entropy on the emissions alone.
    Softmax,
}

/// `--adagrad`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum AdagradArg {
    /// One sum per row.
    Row,
    /// One sum per weight.
    Coordinate,
}

impl Knobs {
    /// Sets the knobs given on the command line.
    fn apply(&self, options: &mut TrainOptions) {
        if let Some(loss) = self.loss {
            options.loss = match loss {
                LossArg::Crf => Loss::Crf,
                LossArg::Softmax => Loss::Softmax,
            };
        }
        if let Some(adagrad) = self.adagrad {
            options.adagrad = adagrad.into();
        }
        options.l1 = self.l1.unwrap_or(options.l1);
        options.l2 = self.l2.unwrap_or(options.l2);
        options.prune_below = self.prune_below.unwrap_or(options.prune_below);
        options.batch_size = self.batch_size.unwrap_or(options.batch_size);
        options.average &= !self.no_average;
        options.average_from = self.average_from.unwrap_or(options.average_from);
        options.adagrad_init = self.adagrad_init.unwrap_or(options.adagrad_init);
        options.min_feature_count = self.min_feature_count.unwrap_or(options.min_feature_count);
        options.constrained_training &= !self.unconstrained_training;
        options.template_list = self.template_list.clone().or(options.template_list.take());
        options.bucket_bits = self.bucket_bits.or(options.bucket_bits);
        options.hashes_per_feature = self.hashes_per_feature.or(options.hashes_per_feature);
        options.lexicon_words = self.lexicon_words.or(options.lexicon_words);
        options.holdout = self.holdout.unwrap_or(options.holdout);
    }
}

impl Knobs {
    /// Sets the knobs given on the command line that a token-level model has (the loop's settings, the
    /// table's rows without a budget and the rows each feature reads).
    fn apply_to_tokens(&self, options: &mut trainer::token::TokenTrainOptions) {
        let config = &mut options.config;
        config.l1 = self.l1.unwrap_or(config.l1);
        config.l2 = self.l2.unwrap_or(config.l2);
        config.batch_size = self.batch_size.unwrap_or(config.batch_size);
        config.average &= !self.no_average;
        config.average_from = self.average_from.unwrap_or(config.average_from);
        config.adagrad_init = self.adagrad_init.unwrap_or(config.adagrad_init);
        config.min_feature_count = self.min_feature_count.unwrap_or(config.min_feature_count);
        config.constrained &= !self.unconstrained_training;
        if let Some(adagrad) = self.adagrad {
            config.adagrad = adagrad.into();
        }
        options.bucket_bits = self.bucket_bits.unwrap_or(options.bucket_bits);
        options.hashes_per_feature = self.hashes_per_feature.unwrap_or(options.hashes_per_feature);
        options.codebook_epochs = self.codebook_epochs.unwrap_or(options.codebook_epochs);
        options.codebook_lr = self.codebook_lr.unwrap_or(options.codebook_lr);
        options.curvature_floor = self.kmeans_curvature;
        if self.qat_epochs > 0 {
            options.pull = Some(trainer::codebook_pull::PullSchedule {
                epochs: self.qat_epochs,
                strength: self.qat_pull,
                growth: self.qat_growth,
                lr: self.qat_lr,
                carry_optimizer: self.qat_carry,
            });
        }
    }
}

impl From<AdagradArg> for AdagradMode {
    fn from(arg: AdagradArg) -> Self {
        match arg {
            AdagradArg::Row => AdagradMode::Row,
            AdagradArg::Coordinate => AdagradMode::Coordinate,
        }
    }
}

fn main() {
    if let Err(error) = run(Tune::parse()) {
        eprintln!("error: {error:#}");
        std::process::exit(1);
    }
}

fn run(tune: Tune) -> Result<()> {
    if let Some(Study::NeuralLr) = tune.study {
        let threads = neural_lr::threads_per_job(&tune.neural_lr_study, tune.train.threads);
        // candle's matrix products read their thread count from this variable; each job's rayon pool
        // has as many threads.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
        cli::set_threads(Some(threads))?;
        return neural_lr::neural_lr_study(&tune.train, &tune.neural_lr_study, &tune.lr_study.multipliers, threads);
    }
    cli::set_threads(tune.train.threads)?;
    let token_level = tune
        .train
        .train
        .as_deref()
        .is_some_and(|path| std::fs::read(path).is_ok_and(|bytes| trainer::token::is_token_level(&bytes)));
    if token_level {
        let teacher =
            cli::soft_teacher(tune.knobs.soft_teacher, tune.knobs.teacher_temperature, tune.train.max_model_bytes)?;
        let mut options = cli::token_train_options(&tune.train, teacher)?;
        tune.knobs.apply_to_tokens(&mut options);
        return cli::print_token_training(&options, tune.train.quiet);
    }
    anyhow::ensure!(
        tune.knobs.soft_teacher == 0.0,
        "--soft-teacher is for token-level models (a word-level CoNLL --train)"
    );
    let mut options = tune.train.options();
    tune.knobs.apply(&mut options);
    if let Some(Study::Lr) = tune.study {
        lr_study(&options, &tune.lr_study, tune.train.quiet)
    } else {
        cli::train_and_print(&options, tune.train.quiet).map(|_| ())
    }
}

/// The CRF learning-rate study: one run per CRF-layer rate and the softmax baseline, then a table of
/// their scores and their transition matrices.
fn lr_study(base: &TrainOptions, args: &LrStudyArgs, quiet: bool) -> Result<()> {
    struct Run {
        name: String,
        crf_lr: Option<f32>,
        summary: TrainSummary,
    }
    let mut runs = Vec::new();
    let mut configs: Vec<(String, Loss, f32)> =
        args.multipliers.iter().map(|&m| (format!("CRF, CRF lr {m}x"), Loss::Crf, base.lr * m)).collect();
    configs.push(("Softmax".to_string(), Loss::Softmax, base.lr));
    let out_dir = base.out.parent().map(Path::to_path_buf).unwrap_or_default();
    for (i, (name, loss, crf_lr)) in configs.into_iter().enumerate() {
        eprintln!("\n=== {name} (lr {}, CRF lr {crf_lr})", base.lr);
        let run_options = TrainOptions {
            loss,
            crf_lr,
            constrained_training: args.constrained_training,
            out: out_dir.join(format!("experiment-lr-{i}.crfm")),
            ..base.clone()
        };
        let summary = cli::train_and_print(&run_options, quiet)?;
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
    println!("{table}");
    for run in &runs {
        let m = &run.summary.float_model;
        println!("{}:", run.name);
        println!("{}", transition_table(&m.tag_names, &m.transitions, &m.start, &m.end, Some(&m.constraints().1)));
    }
    Ok(())
}

//! `--study neural-lr`: the CRF learning-rate study on the neural emission model (issue #18). Reads the
//! corpora, trains every run of the plan ([`trainer::neural::study`]), writes the runs as JSON and
//! renders their table into docs/background.md between the study's marker lines.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context as _, Result};
use clap::Args;
use trainer::cli::TrainArgs;
use trainer::corpus::{self, WordTags};
use trainer::neural::study::{render_table, replace_table, run_study, sample_split, StudyData, StudyPlan, StudyReport};
use trainer::neural::train::NeuralConfig;
use trainer::scorer::Dictionary;

/// Options of `--study neural-lr` (with `trainer train`'s --train, --test, --words, --neural for the
/// shared shape, --patience and --threads).
#[derive(Debug, Clone, Args)]
pub struct NeuralLrArgs {
    /// Encoder learning rates (AdamW).
    #[arg(long, value_delimiter = ',', default_values_t = vec![3e-4, 3e-3])]
    encoder_lrs: Vec<f64>,
    /// Most epochs for each encoder learning rate, in the same order (runs stop earlier by --patience).
    #[arg(long, value_delimiter = ',', default_values_t = vec![60, 30])]
    max_epochs: Vec<usize>,
    /// The depths: one dilation list per depth, e.g. `1,1:1:1` (one convolution; three).
    #[arg(long, value_delimiter = ',', default_values_t = vec!["1".to_string(), "1:1:1".to_string()])]
    depths: Vec<String>,
    /// Seeds of every configuration.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 2, 3])]
    seeds: Vec<u64>,
    /// Leave out the softmax baseline (e.g. to time CRF runs alone).
    #[arg(long)]
    no_softmax: bool,
    /// Training sentences sampled evenly from --train (the rest is not used).
    #[arg(long, default_value_t = 2000)]
    train_sentences: usize,
    /// Dev sentences held out of --train (every n-th sentence).
    #[arg(long, default_value_t = 500)]
    dev_sentences: usize,
    /// Initial transition scores uniform in ±this (default: Glorot's range for a 4 x 4 matrix,
    /// sqrt(6 / 8), as the note's Keras CRF layer started); 0 starts them at zero as `trainer train` does.
    #[arg(long, default_value_t = 0.866)]
    initial_transition_range: f32,
    /// Trainings at once, each on --threads threads (default: one thread each with several jobs).
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Where the runs are written as JSON.
    #[arg(long, default_value = "docs/neural-lr-study.json")]
    study_json: PathBuf,
    /// The document whose marked block receives the table.
    #[arg(long, default_value = "docs/background.md")]
    study_doc: PathBuf,
    /// Train nothing: render the table of this JSON file (written by an earlier study) into --study-doc.
    #[arg(long, value_name = "JSON")]
    render_only: Option<PathBuf>,
}

/// Parses one `--depths` entry, e.g. `1:1:1`.
fn parse_dilations(text: &str) -> Result<Vec<usize>> {
    text.split(':')
        .map(|d| d.trim().parse().with_context(|| format!("--depths: `{text}` is not a list of dilations like 1:1:1")))
        .collect()
}

/// Threads per training: `--threads`, or one each when several run at once, or every core.
pub fn threads_per_job(args: &NeuralLrArgs, threads: Option<usize>) -> usize {
    threads.unwrap_or(if args.jobs > 1 { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get()) })
}

/// Runs the study (or only renders, with --render-only); `multipliers` are the CRF-layer rates as
/// multiples of the encoder's (the linear study's --multipliers).
pub fn neural_lr_study(
    train: &TrainArgs,
    args: &NeuralLrArgs,
    multipliers: &[f32],
    threads_per_job: usize,
) -> Result<()> {
    if let Some(json) = &args.render_only {
        let text = std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
        let report: StudyReport = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a study written by --study neural-lr", json.display()))?;
        return render_into(&report, &args.study_doc);
    }
    if train.dev.is_some() {
        bail!("--study neural-lr holds its dev data out of --train (see --dev-sentences); --dev is not used");
    }
    let (Some(train_path), Some(test_path)) = (&train.train, &train.test) else {
        bail!("--study neural-lr needs --train (a segmented corpus) and --test");
    };
    // The table is written into the document, so check its markers before hours of training.
    check_markers(&args.study_doc)?;
    let options = train.options();
    let plan = StudyPlan {
        base: NeuralConfig {
            patience: train.patience,
            initial_transition_range: args.initial_transition_range,
            ..options.neural.clone()
        },
        encoder_lrs: args.encoder_lrs.clone(),
        max_epochs: args.max_epochs.clone(),
        depths: args.depths.iter().map(|d| parse_dilations(d)).collect::<Result<_>>()?,
        multipliers: multipliers.iter().map(|&m| f64::from(m)).collect(),
        seeds: args.seeds.clone(),
        softmax: !args.no_softmax,
    };
    plan.validate()?;

    let corpus = corpus::read_corpus(train_path, options.format, None, WordTags::Bmes)?;
    let total = corpus.sentences.len();
    let (train_sentences, dev) = sample_split(&corpus.sentences, args.train_sentences, args.dev_sentences)?;
    let test = corpus::read_corpus(test_path, options.format, Some(&corpus.tag_names), WordTags::Bmes)?;
    let dictionary = match &train.words {
        Some(words) => {
            Some(Dictionary::from_bytes(&std::fs::read(words).with_context(|| format!("reading {}", words.display()))?))
        }
        None => None,
    };
    let characters: usize = train_sentences.iter().map(|s| s.chars.len()).sum();
    let data_text = format!(
        "{} of the {total} sentences of {} ({characters} characters), dev {} other sentences of it",
        train_sentences.len(),
        file_name(train_path),
        dev.len()
    );
    let b = &plan.base;
    let settings = format!(
        "embeddings {}, {} channels, kernel {}, n-gram buckets 2^{}, dropout {}, batches of {}, patience {}, \
         initial transitions uniform in ±{}",
        b.dim, b.channels, b.kernel, b.bucket_bits, b.dropout, b.batch_size, b.patience, b.initial_transition_range
    );
    let data = StudyData {
        tag_names: corpus.tag_names.clone(),
        train: train_sentences,
        dev,
        test: test.sentences,
        dictionary,
    };
    let runs = plan.runs().len();
    eprintln!("{runs} runs, {} at once with {threads_per_job} thread(s) each; training on {data_text}", args.jobs);
    let started = Instant::now();
    let message = |line: String| eprintln!("{line}");
    let results = run_study(&plan, &data, args.jobs, threads_per_job, &message)?;
    let report = StudyReport {
        command: command_line(),
        data: data_text,
        settings,
        jobs: args.jobs,
        threads_per_job,
        wall_seconds: started.elapsed().as_secs_f64(),
        runs: results,
    };
    let json = serde_json::to_string_pretty(&report)?;
    std::fs::write(&args.study_json, json + "\n").with_context(|| format!("writing {}", args.study_json.display()))?;
    eprintln!("wrote {} ({} runs, {:.1} min)", args.study_json.display(), runs, report.wall_seconds / 60.0);
    render_into(&report, &args.study_doc)
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The command as run, for the table's header (the program name as `cargo run` invokes it).
fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo run --release -p trainer --example tune -- {}", args.join(" "))
}

fn check_markers(doc: &Path) -> Result<()> {
    let text = std::fs::read_to_string(doc).with_context(|| format!("reading {}", doc.display()))?;
    ensure!(
        replace_table(&text, "").is_some(),
        "{} has no table markers ({} ... {}); add them where the table goes",
        doc.display(),
        trainer::neural::study::TABLE_BEGIN,
        trainer::neural::study::TABLE_END
    );
    Ok(())
}

fn render_into(report: &StudyReport, doc: &Path) -> Result<()> {
    check_markers(doc)?;
    let text = std::fs::read_to_string(doc).with_context(|| format!("reading {}", doc.display()))?;
    let table = render_table(report);
    let updated = replace_table(&text, &table).expect("markers checked above");
    std::fs::write(doc, updated).with_context(|| format!("writing {}", doc.display()))?;
    println!("{table}");
    eprintln!("rendered the table into {}", doc.display());
    Ok(())
}

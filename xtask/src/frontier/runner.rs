//! The runner: trains each planned model with the project's trainer, scores
//! it with `trainer eval`, and writes the outputs.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{bail, ensure, Context, Result};

use crate::{
    firmware::Board,
    measure::record::{measurements_path, MeasurementFile},
    process,
    util::{group_digits, now_utc, shown_path, GitState},
    workspace_root,
};

use super::{
    cost::DecodeCosts,
    plan::{distill_sources, run_plan, sorted_budgets, BoardFlash, Budget, Corpus, CorpusFiles, WordTags},
    report::{percent, render_json, render_markdown, FrontierReport, FrontierRun, Scores},
    svg::render_svg,
};

/// Sentences of the training corpus a `--quick` run trains on.
pub const QUICK_SENTENCES: usize = 2000;

/// Where scratch models (and `--quick` training subsets) go.
pub fn scratch_dir(quick: bool) -> PathBuf {
    let frontier = workspace_root().join("target").join("frontier");
    if quick {
        frontier.join("quick")
    } else {
        frontier.join("models")
    }
}

/// Where the outputs go unless `--out-dir` says otherwise: `docs/`, or for
/// a `--quick` run (whose numbers are not comparable) `target/frontier/`.
pub fn default_out_dir(quick: bool) -> PathBuf {
    if quick {
        workspace_root().join("target").join("frontier")
    } else {
        workspace_root().join("docs")
    }
}

/// Reads the output of `trainer eval --json`.
pub fn parse_scores(json: &str) -> Result<Scores> {
    let value: serde_json::Value = serde_json::from_str(json).context("`trainer eval --json` printed no JSON")?;
    scores_from_json(&value)
}

/// The scores in the parsed output of `trainer eval --json`.
pub fn scores_from_json(value: &serde_json::Value) -> Result<Scores> {
    let number = |key: &str| {
        value.get(key).and_then(serde_json::Value::as_f64).with_context(|| format!("the scores lack a number `{key}`"))
    };
    Ok(Scores {
        precision: number("precision")?,
        recall: number("recall")?,
        f1: number("f1")?,
        oov_recall: value.get("oov_recall").and_then(serde_json::Value::as_f64),
    })
}

/// The first `count` non-blank lines of a corpus (one sentence per line).
pub fn first_sentences(corpus: &[u8], count: usize) -> Vec<u8> {
    let mut subset = Vec::new();
    for line in corpus.split(|&byte| byte == b'\n').filter(|line| !line.trim_ascii().is_empty()).take(count) {
        subset.extend_from_slice(line);
        subset.push(b'\n');
    }
    subset
}

/// What `cargo xtask frontier` was asked to do.
#[derive(Debug, Clone)]
pub struct FrontierOptions {
    /// Where the corpora are.
    pub data_dir: PathBuf,
    /// The budgets, in any order.
    pub budgets: Vec<Budget>,
    /// The corpora, in the order they run.
    pub corpora: Vec<Corpus>,
    /// Where frontier.md, .json and .svg go.
    pub out_dir: PathBuf,
    /// Firmware flash other than the model.
    pub code_bytes: u64,
    /// A smoke test: a small training set and one epoch.
    pub quick: bool,
    /// How this run was asked for, for the Markdown header.
    pub command_line: String,
}

/// A command line as the Markdown shows it: the data directory as `$D`,
/// paths inside the workspace relative to it.
fn shown_command(command: &Command, data_dir: &Path) -> String {
    let root = format!("{}/", workspace_root().display());
    process::display(command).replace(&data_dir.display().to_string(), "$D").replace(&root, "")
}

/// Runs every (corpus, budget) pair and writes the outputs.
pub fn run(options: &FrontierOptions) -> Result<FrontierReport> {
    let data_dir = &options.data_dir;
    if !data_dir.is_dir() {
        bail!(
            "no corpora: {} is not a directory; pass --data DIR or set {}",
            data_dir.display(),
            crate::measure::DATA_DIR_VARIABLE
        );
    }
    let mut missing = Vec::new();
    for corpus in &options.corpora {
        missing.extend(corpus.files(data_dir).missing().into_iter().map(|path| path.display().to_string()));
    }
    if !missing.is_empty() {
        bail!(
            "the corpora are not in {} (missing: {}); pass --data DIR or set {}",
            data_dir.display(),
            missing.join(", "),
            crate::measure::DATA_DIR_VARIABLE
        );
    }
    // Absolute and without `..`, so that the `D=` the Markdown shows reads
    // well and works from any directory.
    let data_dir = &fs::canonicalize(data_dir).with_context(|| format!("resolving {}", data_dir.display()))?;
    // The mps2-an385 has the mps2-an386's 4 MiB: a column of its own would repeat that one.
    let boards = Board::ALL
        .into_iter()
        .filter(|&board| board != Board::Mps2An385)
        .map(BoardFlash::of)
        .collect::<Result<Vec<_>>>()?;
    let budgets = sorted_budgets(&options.budgets);
    ensure!(!budgets.is_empty() && !options.corpora.is_empty(), "no budgets or no corpora to run");
    let generated = now_utc()?;
    // Read before the long runs, so a broken file fails at once.
    let decode_costs = DecodeCosts::select(&MeasurementFile::load(&measurements_path())?.measurements);

    // One build, then the binary itself: `cargo run` per step would check
    // the whole build graph every time.
    process::run(process::cargo().current_dir(workspace_root()).args(["build", "--release", "-p", "trainer"]))?;
    let runner = Runner {
        trainer: crate::release_trainer(),
        scratch: scratch_dir(options.quick),
        data_dir,
        quick: options.quick,
    };
    fs::create_dir_all(&runner.scratch).with_context(|| format!("creating {}", runner.scratch.display()))?;

    // Every corpus's training text that is in the data directory (for
    // --quick, its first sentences), which every budgeted model distills.
    let mut available = Vec::new();
    for corpus in Corpus::ALL {
        let train = corpus.files(data_dir).train;
        if train.is_file() {
            let train = if options.quick { write_quick_subset(corpus, &train, &runner.scratch)? } else { train };
            available.push((corpus, train));
        }
    }

    let plan = run_plan(&budgets);
    let total = plan.len() * options.corpora.len();
    let mut runs = Vec::with_capacity(total);
    for &corpus in &options.corpora {
        let mut files = corpus.files(data_dir);
        if let Some((_, train)) = available.iter().find(|(other, _)| *other == corpus) {
            files.train = train.clone();
        }
        let distill = distill_sources(corpus, &available);
        let mut teacher = None;
        for &(budget, tags) in &plan {
            println!("\nfrontier: [{}/{total}] {} {} {}", runs.len() + 1, corpus.title(), budget.label(), tags.label());
            let distillation = match (budget, &teacher) {
                (Budget::Bytes(_), Some(teacher)) => Some((teacher, distill.as_slice())),
                _ => None,
            };
            let (run, model) = runner.train_and_evaluate(corpus, &files, budget, tags, distillation)?;
            println!(
                "frontier: {} {} {}: {} model bytes, F1 {}, OOV-R {}, trained in {:.1} s",
                corpus.title(),
                budget.label(),
                tags.label(),
                group_digits(run.model_bytes),
                percent(run.scores.f1),
                run.scores.oov_recall.map_or_else(|| "—".to_owned(), percent),
                run.train_seconds
            );
            if budget == Budget::Unlimited {
                teacher = Some(model);
            }
            runs.push(run);
        }
    }
    // As the outputs show them: corpus, budget, tags (the unlimited model,
    // trained first, last).
    runs.sort_by_key(|run| (run.corpus, run.budget, run.word_tags));

    let report = FrontierReport {
        runs,
        code_bytes: options.code_bytes,
        boards,
        generated,
        commit: GitState::of_workspace().describe(),
        command_line: options.command_line.clone(),
        data_dir: data_dir.display().to_string(),
        quick: options.quick,
        decode_costs,
    };
    write_outputs(&report, &options.out_dir)?;
    Ok(report)
}

/// Writes the first [`QUICK_SENTENCES`] sentences of `train` into the
/// scratch directory (under target/, never into the repository).
fn write_quick_subset(corpus: Corpus, train: &Path, scratch: &Path) -> Result<PathBuf> {
    let text = fs::read(train).with_context(|| format!("reading {}", train.display()))?;
    let subset = scratch.join(format!("{}-train-first-{QUICK_SENTENCES}.txt", corpus.name()));
    fs::write(&subset, first_sentences(&text, QUICK_SENTENCES))
        .with_context(|| format!("writing {}", subset.display()))?;
    Ok(subset)
}

/// What every run shares: the trainer, where models go, the corpora.
struct Runner<'a> {
    trainer: PathBuf,
    scratch: PathBuf,
    data_dir: &'a Path,
    quick: bool,
}

impl Runner<'_> {
    /// Trains a model for `budget` with `tags` on `files` (distilling, with
    /// `distillation`, the texts through the teacher model), and scores it
    /// on their test set. Returns the run and the model file.
    fn train_and_evaluate(
        &self,
        corpus: Corpus,
        files: &CorpusFiles,
        budget: Budget,
        tags: WordTags,
        distillation: Option<(&PathBuf, &[PathBuf])>,
    ) -> Result<(FrontierRun, PathBuf)> {
        let name = match budget {
            Budget::Unlimited => format!("{}-{}.crfm", corpus.name(), budget.slug()),
            Budget::Bytes(_) => format!("{}-{}-{}.crfm", corpus.name(), budget.slug(), tags.name()),
        };
        let model = self.scratch.join(name);

        let mut train = Command::new(&self.trainer);
        train.current_dir(workspace_root()).arg("train").arg("--train").arg(&files.train);
        if let Some(dev) = &files.dev {
            train.arg("--dev").arg(dev);
        }
        if let Some(bytes) = budget.bytes() {
            // The reference model would double the time and is not reported
            // here; the teacher is the unlimited run's model.
            train.args(["--max-model-bytes", &bytes.to_string(), "--no-reference", "--word-tags", tags.name()]);
        }
        if let Some((teacher, texts)) = distillation {
            train.arg("--teacher").arg(teacher);
            for text in texts {
                train.arg("--distill").arg(text);
            }
        }
        if self.quick {
            train.args(["--epochs", "1"]);
        }
        train.arg("--out").arg(&model).arg("-q");
        let started = Instant::now();
        process::run(&mut train)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let model_bytes =
            fs::metadata(&model).with_context(|| format!("reading the size of {}", model.display()))?.len();

        let mut eval = Command::new(&self.trainer);
        eval.current_dir(workspace_root()).arg("eval").arg("--model").arg(&model).arg("--gold").arg(&files.gold);
        if let Some(words) = &files.words {
            eval.arg("--words").arg(words);
        }
        eval.arg("--json");
        eprintln!("$ {}", process::display(&eval));
        let output = eval.output().with_context(|| format!("could not start `{}`", process::display(&eval)))?;
        if !output.status.success() {
            bail!(
                "`{}` failed ({}):\n{}",
                process::display(&eval),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let scores = parse_scores(&String::from_utf8_lossy(&output.stdout))
            .with_context(|| format!("reading the scores of `{}`", process::display(&eval)))?;

        let shown = |path: &Path| shown_path(path, self.data_dir);
        let run = FrontierRun {
            corpus,
            budget,
            word_tags: tags,
            teacher: distillation.map(|(teacher, _)| shown(teacher)),
            distill: distillation.map(|(_, texts)| texts.iter().map(|text| shown(text)).collect()).unwrap_or_default(),
            model_bytes,
            scores,
            train_seconds,
            train_command: shown_command(&train, self.data_dir),
            eval_command: shown_command(&eval, self.data_dir),
        };
        Ok((run, model))
    }
}

/// Writes frontier.md, frontier.json and frontier.svg into `out_dir`.
pub fn write_outputs(report: &FrontierReport, out_dir: &Path) -> Result<()> {
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let json = serde_json::to_string_pretty(&render_json(report))? + "\n";
    let outputs =
        [("frontier.md", render_markdown(report)), ("frontier.json", json), ("frontier.svg", render_svg(report)?)];
    for (name, contents) in outputs {
        let path = out_dir.join(name);
        fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        println!("frontier: wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVAL_JSON: &str = r#"{
      "counts": { "lines": 1944, "true_words": 104372 },
      "f1": 0.8184131014830336,
      "gold": "/data/icwb2/pku_test_gold.utf8",
      "iv_recall": 0.8316593131773173,
      "model": "target/frontier/quick/pku-32k.crfm",
      "oov_rate": 0.057544168934196914,
      "oov_recall": 0.6531801531801531,
      "precision": 0.8154588085341146,
      "recall": 0.8213888782432069,
      "seconds": 0.048463022,
      "words": "/data/icwb2/pku_training_words.utf8"
    }"#;

    #[test]
    fn scores_are_read_from_eval_json() {
        let scores = parse_scores(EVAL_JSON).unwrap();
        assert_eq!(scores.f1, 0.8184131014830336);
        assert_eq!(scores.precision, 0.8154588085341146);
        assert_eq!(scores.recall, 0.8213888782432069);
        assert_eq!(scores.oov_recall, Some(0.6531801531801531));
        let without_words = parse_scores(r#"{"precision": 0.9, "recall": 0.8, "f1": 0.85, "oov_recall": null}"#);
        assert_eq!(without_words.unwrap().oov_recall, None);
        assert!(parse_scores(r#"{"precision": 0.9, "recall": 0.8}"#).is_err());
        assert!(parse_scores("F1 81.84").is_err());
    }

    #[test]
    fn the_quick_subset_keeps_the_first_non_blank_lines() {
        let corpus = "一 二\r\n\n三  四\n\n五\n六\n".as_bytes();
        assert_eq!(first_sentences(corpus, 3), "一 二\r\n三  四\n五\n".as_bytes());
        assert_eq!(first_sentences(corpus, 10), "一 二\r\n三  四\n五\n六\n".as_bytes());
        assert!(first_sentences(b"", 5).is_empty());
    }
}

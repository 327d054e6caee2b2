//! Training and scoring the README's models with the release trainer.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::{
    models::{self, ModelSpec, DATA_DIR_SYMBOL},
    read_json, render_all, ConventionResult, ModelResult, ResultsFile, README, RESULTS_JSON, RESULTS_MARKDOWN,
};
use crate::{
    frontier::{report::Scores, runner::scores_from_json},
    measure::host::sha256_of,
    process,
    util::{json::number, utc_timestamp, GitState},
    workspace_root,
};

/// What `cargo xtask results` is asked to do.
#[derive(Debug, Clone)]
pub struct ResultsOptions {
    /// Where the corpora are (`$D`).
    pub data_dir: PathBuf,
    /// The models to re-measure; empty: all of them.
    pub only: Vec<String>,
    /// The command as typed, recorded in docs/results.json.
    pub command_line: String,
}

/// How a user runs the trainer that `cargo build --release -p trainer` builds.
const SHOWN_TRAINER: &str = "cargo run --release -p trainer --";

/// Where the models and their test outputs go (from the repository root).
const MODEL_DIR: &str = "target/results";

/// The commit, dirtiness and time of one run.
struct Stamp {
    commit: String,
    dirty: bool,
    generated: String,
}

/// Trains and scores the selected models, writing docs/results.json after
/// each (so an interrupted run keeps what it measured), then renders.
pub fn run(options: &ResultsOptions) -> Result<()> {
    let selected = models::select(&options.only)?;
    models::check_corpora(&selected, &options.data_dir)?;
    let root = workspace_root();
    let mut file = match read_json::<ResultsFile>(&root, RESULTS_JSON)? {
        Some(previous) if !options.only.is_empty() => previous,
        _ => ResultsFile {
            command: String::new(),
            commit: String::new(),
            dirty: false,
            generated: String::new(),
            data_dir: DATA_DIR_SYMBOL.to_owned(),
            models: Vec::new(),
        },
    };
    let stamp = stamp();
    file.command = options.command_line.clone();
    file.commit = stamp.commit.clone();
    file.dirty = stamp.dirty;
    file.generated = stamp.generated.clone();
    process::run(process::cargo().current_dir(&root).args(["build", "--release", "-p", "trainer"]))?;
    let trainer = Trainer { binary: crate::release_trainer(), root: root.clone(), data_dir: &options.data_dir };
    fs::create_dir_all(root.join(MODEL_DIR)).with_context(|| format!("creating {MODEL_DIR}"))?;
    for spec in selected {
        println!("\nresults: {} ({})", spec.name, spec.description);
        let result = trainer.measure(spec, &stamp)?;
        println!(
            "results: {}: F1 {:.2}, {} bytes, trained in {:.0} s",
            spec.name,
            100.0 * result.f1,
            result.model_bytes,
            result.training_seconds
        );
        merge(&mut file.models, result);
        let path = root.join(RESULTS_JSON);
        let text = serde_json::to_string_pretty(&file)? + "\n";
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    render_all(&root)
}

/// Puts `result` in place of the entry of the same name, keeping the
/// entries in the order of [`models::MODELS`] and dropping names no longer
/// in it.
fn merge(entries: &mut Vec<ModelResult>, result: ModelResult) {
    entries.retain(|entry| entry.name != result.name);
    entries.push(result);
    let rank = |name: &str| models::MODELS.iter().position(|model| model.name == name);
    entries.retain(|entry| rank(&entry.name).is_some());
    entries.sort_by_key(|entry| rank(&entry.name));
}

/// The release trainer and where its inputs are.
struct Trainer<'a> {
    binary: PathBuf,
    root: PathBuf,
    data_dir: &'a Path,
}

impl Trainer<'_> {
    /// A trainer command for `arguments` (`$D/...` expanded), and the same
    /// command as a user types it.
    fn command(&self, arguments: &[&str]) -> (Command, String) {
        let mut command = Command::new(&self.binary);
        command.current_dir(&self.root).args(arguments.iter().map(|argument| models::expand(argument, self.data_dir)));
        (command, format!("{SHOWN_TRAINER} {}", arguments.join(" ")))
    }

    /// Runs `command` and parses its standard output as JSON.
    fn json_of(&self, command: &mut Command) -> Result<Value> {
        let shown = process::display(command);
        println!("$ {shown}");
        let output = command.output().with_context(|| format!("could not start `{shown}`"))?;
        if !output.status.success() {
            bail!("`{shown}` failed ({}):\n{}", output.status, String::from_utf8_lossy(&output.stderr));
        }
        serde_json::from_slice(&output.stdout).with_context(|| format!("`{shown}` printed no JSON"))
    }

    fn measure(&self, spec: &ModelSpec, stamp: &Stamp) -> Result<ModelResult> {
        let model = format!("{MODEL_DIR}/{}.crfm", spec.name);
        let mut train_args = vec!["train"];
        train_args.extend_from_slice(spec.train_args);
        train_args.extend_from_slice(&["--out", &model]);
        let (mut train, train_command) = self.command(&train_args);
        let started = Instant::now();
        process::run(&mut train)?;
        let training_seconds = started.elapsed().as_secs_f64();

        let output = format!("{MODEL_DIR}/{}.out", spec.name);
        let eval_args = if spec.corpus.token_level() {
            vec!["eval", "--model", &model, "--test", spec.corpus.gold(), "--json"]
        } else {
            let mut args = vec!["eval", "--model", &model, "--gold", spec.corpus.gold()];
            if let Some(words) = spec.corpus.words() {
                args.extend_from_slice(&["--words", words]);
            }
            args.extend_from_slice(&["--output", &output, "--json"]);
            args
        };
        let (mut eval, eval_command) = self.command(&eval_args);
        let json = self.json_of(&mut eval)?;
        let scores = if spec.corpus.token_level() { token_scores(&json) } else { scores_from_json(&json) }
            .with_context(|| format!("`{eval_command}`"))?;

        let conventions = if spec.conventions {
            let training = spec.corpus.training_text();
            let score_args =
                ["score", "--gold", spec.corpus.gold(), "--test", &output, "--conventions", training, "--json"];
            let (mut score, score_command) = self.command(&score_args);
            Some(convention_result(&self.json_of(&mut score)?, score_command, training)?)
        } else {
            None
        };

        let model_path = self.root.join(&model);
        let model_sha256 = sha256_of(&model_path)?;
        let reproduces_committed_model = match spec.committed {
            Some(committed) => Some(sha256_of(&self.root.join(committed))? == model_sha256),
            None => None,
        };
        Ok(ModelResult {
            name: spec.name.to_owned(),
            description: spec.description.to_owned(),
            corpus: spec.corpus.name().to_owned(),
            train_command,
            f1: scores.f1,
            precision: scores.precision,
            recall: scores.recall,
            oov_recall: scores.oov_recall,
            eval_command,
            model_bytes: fs::metadata(&model_path).with_context(|| format!("reading {model}"))?.len(),
            model_sha256,
            training_seconds,
            reproduces_committed_model,
            conventions,
            commit: stamp.commit.clone(),
            dirty: stamp.dirty,
            generated: stamp.generated.clone(),
        })
    }
}

/// Reads a token-level `trainer eval --json` (conlleval's figures, in percent) as fractions, the unit of
/// the segmenters' scores.
fn token_scores(json: &Value) -> Result<Scores> {
    let fraction = |key: &str| number(json, key).map(|percent| percent / 100.0);
    Ok(Scores { precision: fraction("precision")?, recall: fraction("recall")?, f1: fraction("f1")?, oov_recall: None })
}

/// Reads `trainer score --conventions --json`: `f1`, `span_f1_without_conflicts`
/// and the counts under `conventions`.
fn convention_result(json: &Value, score_command: String, training: &str) -> Result<ConventionResult> {
    let count = |key: &str| {
        json.get("conventions")
            .and_then(|report| report.get(key))
            .and_then(Value::as_u64)
            .with_context(|| format!("`{score_command}`: no count `conventions.{key}` in its JSON"))
    };
    Ok(ConventionResult {
        training: training.to_owned(),
        f1: number(json, "f1").with_context(|| format!("`{score_command}`"))?,
        disagreements: count("disagreements")?,
        conflicts: count("conflicts")?,
        conflict_gold_words: count("conflict_gold_words")?,
        f1_with_conflicts_read_the_gold_way: number(json, "span_f1_without_conflicts")
            .with_context(|| format!("`{score_command}`"))?,
        score_command,
    })
}

/// HEAD's short hash, whether the tree has changes, and the time now.
/// Changes to the files this command writes do not count: they cannot
/// change a model, and every `--only` run leaves them modified.
fn stamp() -> Stamp {
    let git = GitState::of_workspace_ignoring(&[RESULTS_JSON, RESULTS_MARKDOWN, README]);
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs());
    Stamp {
        commit: git.commit.unwrap_or_else(|| "unknown".to_owned()),
        dirty: git.dirty,
        generated: utc_timestamp(seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, f1: f64) -> ModelResult {
        ModelResult {
            name: name.to_owned(),
            description: String::new(),
            corpus: "pku".to_owned(),
            train_command: String::new(),
            eval_command: String::new(),
            f1,
            precision: f1,
            recall: f1,
            oov_recall: None,
            model_bytes: 1,
            model_sha256: String::new(),
            training_seconds: 1.0,
            reproduces_committed_model: None,
            conventions: None,
            commit: String::new(),
            dirty: false,
            generated: String::new(),
        }
    }

    #[test]
    fn a_remeasured_model_replaces_its_entry_and_the_order_follows_the_model_list() {
        let mut entries = vec![entry("default", 0.1), entry("gone", 0.2), entry("pku", 0.3)];
        merge(&mut entries, entry("default", 0.9));
        merge(&mut entries, entry("ctb6", 0.5));
        let names: Vec<(&str, f64)> = entries.iter().map(|entry| (entry.name.as_str(), entry.f1)).collect();
        assert_eq!(names, [("pku", 0.3), ("ctb6", 0.5), ("default", 0.9)]);
    }

    #[test]
    fn token_level_scores_are_read_in_percent_and_kept_as_fractions() {
        let json: Value = serde_json::from_str(
            r#"{"accuracy": 96.8, "f1": 84.5, "precision": 85.0, "recall": 84.0, "per_type": {}}"#,
        )
        .unwrap();
        let scores = token_scores(&json).unwrap();
        assert!((scores.f1 - 0.845).abs() < 1e-12 && (scores.precision - 0.85).abs() < 1e-12, "{scores:?}");
        assert_eq!(scores.oov_recall, None);
        let error = token_scores(&serde_json::from_str(r#"{"f1": 84.5}"#).unwrap()).unwrap_err().to_string();
        assert!(error.contains("precision"), "{error}");
    }

    #[test]
    fn convention_counts_are_read_from_score_json() {
        let json: Value = serde_json::from_str(
            r#"{"f1": 0.95, "span_f1": 0.95, "span_f1_without_conflicts": 0.96,
                "conventions": {"disagreements": 3000, "conflicts": 600, "conflict_gold_words": 1000}}"#,
        )
        .unwrap();
        let result = convention_result(&json, "score".to_owned(), "$D/t").unwrap();
        assert_eq!((result.disagreements, result.conflicts, result.conflict_gold_words), (3000, 600, 1000));
        assert_eq!(result.f1_with_conflicts_read_the_gold_way, 0.96);
        let broken: Value = serde_json::from_str(r#"{"f1": 0.95, "conventions": {}}"#).unwrap();
        let error = convention_result(&broken, "score".to_owned(), "$D/t").unwrap_err().to_string();
        assert!(error.contains("conventions.disagreements"), "{error}");
    }
}

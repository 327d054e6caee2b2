//! `cargo xtask results`: one source for every figure the README quotes.
//!
//! It trains the models the README's commands train ([`models::MODELS`]),
//! scores each with `trainer eval` (and `trainer score --conventions`),
//! writes `docs/results.json`, then renders `docs/results.md` and the
//! README's headline table from that file, `docs/firmware.json` (`cargo
//! xtask firmware measure`) and `docs/frontier.json` (`cargo xtask
//! frontier`). A test renders again from the committed JSON files and fails
//! when the documents differ, so no figure is typed by hand.

pub mod line_rates;
pub mod models;
pub mod python_speed;
pub mod render;
mod runner;

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};

pub use runner::{run, ResultsOptions};

use crate::{
    frontier, measure,
    measure::record::{Measurement, MeasurementFile},
    workspace_root,
};

/// Where the measurements of `cargo xtask results` go (from the repository root).
pub const RESULTS_JSON: &str = "docs/results.json";
/// The rendered results document.
pub const RESULTS_MARKDOWN: &str = "docs/results.md";
/// What `cargo xtask firmware measure` writes.
pub use crate::measure::record::MEASUREMENTS_FILE as FIRMWARE_JSON;
/// What `cargo xtask frontier` writes.
pub const FRONTIER_JSON: &str = "docs/frontier.json";
/// The README holding the headline block.
pub const README: &str = "README.md";
/// The frontier's Markdown, whose decode-cost sentence comes from docs/firmware.json.
pub const FRONTIER_MARKDOWN: &str = "docs/frontier.md";

/// The options of `cargo xtask results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// Re-measure only these models (comma separated), keeping the others'
    /// entries in docs/results.json. Names: pku, ctb6, ctb6-ensemble-refit,
    /// pku-160k, pku-160k-6tags, default, conll2000, weibo-ner, conll2003,
    /// conll2003-64k.
    #[arg(long, value_name = "NAME", value_delimiter = ',', conflicts_with = "render")]
    pub only: Vec<String>,
    /// The corpora (default: CRF_DATA_DIR, else ../shared/data next to the
    /// workspace).
    #[arg(long, value_name = "DIR", conflicts_with = "render")]
    pub data: Option<PathBuf>,
    /// Train nothing: render docs/results.md and the README's headline table
    /// from docs/results.json, docs/firmware.json and docs/frontier.json.
    #[arg(long)]
    pub render: bool,
}

/// Runs `cargo xtask results` as the arguments say.
pub fn command(args: &ResultsArgs) -> Result<()> {
    if args.render {
        return render_all(&workspace_root());
    }
    run(&ResultsOptions {
        data_dir: args.data.clone().unwrap_or_else(measure::data_dir),
        only: args.only.clone(),
        // As typed, minus the binary's path: `cargo xtask results --only pku`.
        command_line: format!("cargo xtask {}", std::env::args().skip(1).collect::<Vec<_>>().join(" ")),
    })
}

/// `docs/results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    /// The command that wrote it last.
    pub command: String,
    /// The commit of that run (short hash).
    pub commit: String,
    /// Whether that run's tree had uncommitted changes.
    pub dirty: bool,
    /// When that run started, `2026-12-04 16:00 UTC`.
    pub generated: String,
    /// The data directory as the commands show it (`$D`).
    pub data_dir: String,
    /// One entry per model, in the order of [`models::MODELS`].
    pub models: Vec<ModelResult>,
}

/// One trained and scored model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelResult {
    /// Its name in [`models::MODELS`].
    pub name: String,
    /// One line saying what it is.
    pub description: String,
    /// The test set: `pku` or `ctb6`.
    pub corpus: String,
    /// The training command as a user types it.
    pub train_command: String,
    /// The scoring command as a user types it.
    pub eval_command: String,
    /// Test F1 of the quantized model, a fraction.
    pub f1: f64,
    /// Test precision, a fraction.
    pub precision: f64,
    /// Test recall, a fraction.
    pub recall: f64,
    /// Recall of the test words missing from the word list, a fraction.
    pub oov_recall: Option<f64>,
    /// The model file's size.
    pub model_bytes: u64,
    /// The model file's SHA-256, lowercase hex.
    pub model_sha256: String,
    /// Wall-clock seconds of `trainer train` (they vary with load).
    pub training_seconds: f64,
    /// For a model that stands for a committed file: whether it is
    /// byte-identical to it.
    pub reproduces_committed_model: Option<bool>,
    /// The convention conflicts between the test output and the gold.
    pub conventions: Option<ConventionResult>,
    /// The commit the model was measured at (short hash).
    pub commit: String,
    /// Whether that tree had uncommitted changes.
    pub dirty: bool,
    /// When it was measured.
    pub generated: String,
}

/// What `trainer score --conventions TRAINING --json` reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConventionResult {
    /// The command as a user types it.
    pub score_command: String,
    /// The training text compared against (`$D/...`).
    pub training: String,
    /// F1 of the test output, a fraction.
    pub f1: f64,
    /// Maximal spans where the output and the gold disagree.
    pub disagreements: u64,
    /// Disagreements the training text reads the output's way at least
    /// three times and the gold's way never.
    pub conflicts: u64,
    /// The gold words inside those conflicts.
    pub conflict_gold_words: u64,
    /// F1 with every conflict read the gold way, a fraction.
    pub f1_with_conflicts_read_the_gold_way: f64,
}

/// `docs/frontier.json`, as far as the results read it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FrontierFile {
    /// The command that wrote it.
    pub command: String,
    /// The commit it was written at.
    pub commit: String,
    /// When.
    pub generated: String,
    /// Every trained and scored model.
    pub runs: Vec<FrontierRun>,
}

/// One model of the frontier.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FrontierRun {
    /// `pku` or `ctb6`.
    pub corpus: String,
    /// The byte budget; `None`: unlimited.
    pub budget_bytes: Option<u64>,
    /// The tag count.
    pub tags: u32,
    /// Test F1 of the quantized model, a fraction.
    pub f1: f64,
    /// The model file's size.
    pub model_bytes: u64,
    /// Per board, whether firmware code plus model fit its flash.
    pub fits: std::collections::BTreeMap<String, bool>,
}

/// The three measurement files, each `None` when absent.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `docs/results.json`.
    pub results: Option<ResultsFile>,
    /// `docs/firmware.json`.
    pub firmware: Option<MeasurementFile>,
    /// `docs/frontier.json`.
    pub frontier: Option<FrontierFile>,
}

/// Reads `root/relative` as JSON of type `T`; `None` if the file is absent.
pub fn read_json<T: serde::de::DeserializeOwned>(root: &Path, relative: &str) -> Result<Option<T>> {
    let path = root.join(relative);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text).map(Some).with_context(|| format!("{}: not the expected JSON", path.display()))
}

impl Sources {
    /// Reads the measurement files under the repository root `root`.
    pub fn read(root: &Path) -> Result<Self> {
        Ok(Self {
            results: read_json(root, RESULTS_JSON)?,
            firmware: read_json(root, FIRMWARE_JSON)?,
            frontier: read_json(root, FRONTIER_JSON)?,
        })
    }
}

/// The documents rendered from the measurement files.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The whole of `docs/results.md`.
    pub results_markdown: String,
    /// The whole of `README.md`, its headline block replaced.
    pub readme: String,
    /// The whole of `docs/frontier.md`, if `docs/frontier.json` exists.
    pub frontier_markdown: Option<String>,
    /// The whole of `python/README.md`, its speed table replaced (from `docs/python-speed.json`).
    pub python_readme: String,
}

/// Renders docs/results.md and the README (under `root`) from the
/// measurement files, without writing anything.
pub fn render_documents(root: &Path) -> Result<Rendered> {
    let sources = Sources::read(root)?;
    let readme_path = root.join(README);
    let readme = fs::read_to_string(&readme_path).with_context(|| format!("reading {}", readme_path.display()))?;
    Ok(Rendered {
        results_markdown: render::results_markdown(&sources),
        readme: line_rates::replace_line_rates(
            &render::replace_headline(&readme, &render::headline_table(&sources))
                .with_context(|| readme_path.display().to_string())?,
            &sources.firmware.as_ref().map(line_rates::line_rate_table).unwrap_or_default(),
        ),
        frontier_markdown: frontier_markdown(root)?,
        python_readme: python_readme(root)?,
    })
}

/// python/README.md with the table of `docs/python-speed.json` (`cargo xtask bench-python
/// --instructions`) in its block; an empty block without that file.
fn python_readme(root: &Path) -> Result<String> {
    let path = root.join(python_speed::PYTHON_README);
    let readme = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let speed: Option<python_speed::PythonSpeed> = read_json(root, python_speed::PYTHON_SPEED_JSON)?;
    Ok(python_speed::replace_python_speed(
        &readme,
        &speed.as_ref().map(python_speed::python_speed_table).unwrap_or_default(),
    ))
}

/// docs/frontier.md as `cargo xtask frontier --rerender` writes it from docs/frontier.json and the
/// decode costs of docs/firmware.json; `None` without docs/frontier.json.
fn frontier_markdown(root: &Path) -> Result<Option<String>> {
    let path = root.join(FRONTIER_JSON);
    if !path.is_file() {
        return Ok(None);
    }
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let measurements = MeasurementFile::load(&root.join(FIRMWARE_JSON))?.measurements;
    let report = frontier::rerender::report_from_json(&value, frontier::DecodeCosts::select(&measurements))
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(frontier::render_markdown(&report)))
}

/// Renders docs/results.md and the README's headline block under the
/// repository root `root` from docs/results.json, docs/firmware.json and
/// docs/frontier.json, and writes them. Every command that writes one of
/// those files calls this (or [`render_all`]) when it finishes.
pub fn render_results(root: &Path) -> Result<()> {
    let rendered = render_documents(root)?;
    for (relative, text) in [
        (RESULTS_MARKDOWN, &rendered.results_markdown),
        (README, &rendered.readme),
        (python_speed::PYTHON_README, &rendered.python_readme),
    ] {
        let path = root.join(relative);
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "results: rendered {RESULTS_MARKDOWN}, the headline table of {README} and the speed table of {}",
        python_speed::PYTHON_README
    );
    Ok(())
}

/// [`render_results`], and docs/frontier.* again from docs/frontier.json
/// (they quote the decode costs of docs/firmware.json): what a command that
/// wrote results.json or firmware.json calls when it finishes.
pub fn render_all(root: &Path) -> Result<()> {
    if root.join(FRONTIER_JSON).is_file() {
        frontier::rerender(&root.join("docs"))?;
    }
    render_results(root)
}

#[cfg(test)]
mod tests;

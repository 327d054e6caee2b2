//! `trainer label`: tag a CoNLL column file with a token-level model, writing its lines with the
//! predicted tag as one more column (what conlleval reads).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;

use super::out_raw;
use crate::pipeline::{load_model, read_model_file};

/// Options of `label`.
#[derive(Debug, Clone, Args)]
pub struct LabelArgs {
    /// The token-level model file (holding its mention list if it was trained with `--mention-list`).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// The CoNLL column file: the model's input columns, optionally followed by a gold tag column.
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the time spent loading the model and labeling (reading the file, computing the features,
    /// labeling and writing the output) to this file as JSON: `{"load_s": .., "label_s": ..}`.
    #[arg(long, value_name = "FILE")]
    pub timing: Option<PathBuf>,
}

/// Runs `label`.
pub fn run_label(args: &LabelArgs) -> Result<()> {
    let started = Instant::now();
    let bytes = read_model_file(&args.model)?;
    let model = load_model(&args.model, &bytes)?;
    let loaded = Instant::now();
    let text = crate::token::label_file(&model, &args.input)?;
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => out_raw!("{text}"),
    }
    if let Some(path) = &args.timing {
        let timing = serde_json::json!({
            "load_s": (loaded - started).as_secs_f64(),
            "label_s": loaded.elapsed().as_secs_f64(),
        });
        std::fs::write(path, format!("{timing}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

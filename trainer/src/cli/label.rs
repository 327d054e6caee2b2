//! `trainer label`: tag a CoNLL column file with a token-level model, writing its lines with the
//! predicted tag as one more column (what conlleval reads).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Args;

use super::out_raw;
use crate::pipeline::{load_model, read_model_file};

/// Options of `label`.
#[derive(Debug, Clone, Args)]
pub struct LabelArgs {
    /// The token-level model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// The CoNLL column file: the model's input columns, optionally followed by a gold tag column.
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// Write here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `label`.
pub fn run_label(args: &LabelArgs) -> Result<()> {
    let bytes = read_model_file(&args.model)?;
    let model = load_model(&args.model, &bytes)?;
    let text = crate::token::label_file(&model, &args.input)?;
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => out_raw!("{text}"),
    }
    Ok(())
}

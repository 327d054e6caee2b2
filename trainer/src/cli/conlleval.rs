//! `trainer conlleval`: score a CoNLL column file whose last two columns are the gold and the guessed tag
//! (the input of the CoNLL `conlleval` script), by its rules; for labels from other taggers
//! (`bench/bench-peers` scores CRFsuite's this way).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;

use super::{out, out_raw};
use crate::conlleval::{score_conll_file, ConllReport};

/// Options of `conlleval`.
#[derive(Debug, Clone, Args)]
pub struct ConllevalArgs {
    /// The file: one token a line, any columns, then the gold tag and the guessed tag; a blank line
    /// between sentences.
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// Print the scores as JSON (`precision`, `recall`, `f1`, `accuracy`, `tokens`, `per_type`).
    #[arg(long)]
    pub json: bool,
}

/// Runs `conlleval`.
pub fn run_conlleval(args: &ConllevalArgs) -> Result<()> {
    let started = Instant::now();
    let report = score_conll_file(&args.input)?;
    if args.json {
        let json = report_json(&report, started.elapsed().as_secs_f64());
        out!("{}", serde_json::to_string_pretty(&json).context("formatting the scores")?);
    } else {
        out_raw!("{}", report.render_conlleval());
    }
    Ok(())
}

/// A conlleval report as JSON: overall precision, recall, F1 and tag accuracy, the token count, per
/// chunk type its scores and counts, and `seconds`.
pub(super) fn report_json(report: &ConllReport, seconds: f64) -> serde_json::Value {
    let per_type: serde_json::Map<String, serde_json::Value> = report
        .by_type
        .iter()
        .map(|(kind, c)| {
            let value = serde_json::json!({
                "precision": c.precision(), "recall": c.recall(), "f1": c.f1(),
                "gold": c.gold, "guessed": c.guessed, "correct": c.correct,
            });
            (kind.clone(), value)
        })
        .collect();
    serde_json::json!({
        "precision": report.precision(),
        "recall": report.recall(),
        "f1": report.f1(),
        "accuracy": report.accuracy(),
        "tokens": report.tokens,
        "per_type": per_type,
        "seconds": seconds,
    })
}

//! `cargo xtask frontier --rerender`: the outputs written again from an
//! existing `frontier.json`, without training anything, so that a change to
//! the rendering or a new measurement in `docs/firmware.json` reaches
//! `frontier.md` without the hours of a full run. The runs, their date and
//! their commit stay those of the JSON.

use std::{fs, path::Path};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::{
    firmware::Board,
    measure::record::{measurements_path, MeasurementFile},
    util::json::{array, integer, number, string},
};

use super::{
    cost::DecodeCosts,
    plan::{BoardFlash, Budget, Corpus, WordTags},
    report::{FrontierReport, FrontierRun, Scores},
    runner::write_outputs,
};

/// Reads `out_dir/frontier.json`, takes the decode costs from
/// docs/firmware.json, and writes the three outputs into `out_dir` again.
pub fn rerender(out_dir: &Path) -> Result<FrontierReport> {
    let path = out_dir.join("frontier.json");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let decode_costs = DecodeCosts::select(&MeasurementFile::load(&measurements_path())?.measurements);
    let report = report_from_json(&value, decode_costs).with_context(|| format!("reading {}", path.display()))?;
    write_outputs(&report, out_dir)?;
    Ok(report)
}

/// The report that `frontier.json` (as [`super::render_json`] writes it)
/// describes, with `decode_costs` in place of the costs it quoted.
pub fn report_from_json(value: &Value, decode_costs: DecodeCosts) -> Result<FrontierReport> {
    let boards = array(value, "boards")?
        .iter()
        .map(|board| {
            let name = string(board, "board")?;
            let board_kind = <Board as clap::ValueEnum>::from_str(&name, false)
                .map_err(|_| anyhow::anyhow!("unknown board `{name}`"))?;
            Ok(BoardFlash { board: board_kind, flash_bytes: integer(board, "flash_bytes")? })
        })
        .collect::<Result<Vec<_>>>()?;
    let runs = array(value, "runs")?
        .iter()
        .enumerate()
        .map(|(index, run)| run_from_json(run).with_context(|| format!("in runs[{index}]")))
        .collect::<Result<Vec<_>>>()?;
    Ok(FrontierReport {
        runs,
        code_bytes: integer(value, "code_bytes")?,
        boards,
        generated: string(value, "generated")?,
        commit: string(value, "commit")?,
        command_line: string(value, "command")?,
        data_dir: string(value, "data_dir")?,
        quick: value.get("quick").and_then(Value::as_bool).context("no boolean `quick`")?,
        decode_costs,
    })
}

fn run_from_json(run: &Value) -> Result<FrontierRun> {
    let corpus_name = string(run, "corpus")?;
    let corpus = Corpus::ALL
        .into_iter()
        .find(|corpus| corpus.name() == corpus_name)
        .with_context(|| format!("unknown corpus `{corpus_name}`"))?;
    let tags_name = string(run, "word_tags")?;
    let word_tags = WordTags::ALL
        .into_iter()
        .find(|tags| tags.name() == tags_name)
        .with_context(|| format!("unknown word tags `{tags_name}`"))?;
    let budget: Budget = string(run, "budget")?.parse()?;
    let distill = array(run, "distill")?
        .iter()
        .map(|text| text.as_str().map(str::to_owned).context("`distill` holds a non-string"))
        .collect::<Result<Vec<_>>>()?;
    Ok(FrontierRun {
        corpus,
        budget,
        word_tags,
        teacher: run.get("teacher").and_then(Value::as_str).map(str::to_owned),
        distill,
        model_bytes: integer(run, "model_bytes")?,
        scores: Scores {
            precision: number(run, "precision")?,
            recall: number(run, "recall")?,
            f1: number(run, "f1")?,
            oov_recall: run.get("oov_recall").and_then(Value::as_f64),
        },
        train_seconds: number(run, "train_seconds")?,
        train_command: string(run, "train_command")?,
        eval_command: string(run, "eval_command")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontier::{render_json, render_markdown, report::tests::sample_report};

    #[test]
    fn a_report_reads_back_from_its_json_and_renders_the_same() {
        let report = sample_report();
        let reread = report_from_json(&render_json(&report), report.decode_costs.clone()).unwrap();
        assert_eq!(reread, report);
        assert_eq!(render_markdown(&reread), render_markdown(&report));
    }

    #[test]
    fn a_broken_json_names_what_is_missing() {
        let mut json = render_json(&sample_report());
        json["runs"][1]["word_tags"] = "bmes8".into();
        let error = format!("{:#}", report_from_json(&json, DecodeCosts::default()).unwrap_err());
        assert!(error.contains("runs[1]") && error.contains("bmes8"), "{error}");
        let mut json = render_json(&sample_report());
        json.as_object_mut().unwrap().remove("code_bytes");
        let error = format!("{:#}", report_from_json(&json, DecodeCosts::default()).unwrap_err());
        assert!(error.contains("code_bytes"), "{error}");
    }
}

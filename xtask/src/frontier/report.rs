//! The frontier's report: the runs, and their Markdown and JSON renderings
//! (the SVG plot: [`super::svg`]).

use std::collections::BTreeSet;

use crate::util::group_digits;

use super::{
    cost::{decode_cost_sentence, decode_costs_json, DecodeCosts},
    plan::{BoardFlash, Budget, Corpus, WordTags},
    runner::QUICK_SENTENCES,
};

/// The scores `trainer eval --json` reports, as fractions in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Word precision.
    pub precision: f64,
    /// Word recall.
    pub recall: f64,
    /// Word F1.
    pub f1: f64,
    /// Recall of the test words not in the word list (`None`: no list).
    pub oov_recall: Option<f64>,
}

/// One trained and evaluated model.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierRun {
    /// What it was trained and tested on.
    pub corpus: Corpus,
    /// The budget it was trained for.
    pub budget: Budget,
    /// Its tag set.
    pub word_tags: WordTags,
    /// The model that labelled its distilled text, as the commands show it
    /// (`None`: not distilled).
    pub teacher: Option<String>,
    /// The text it distilled (`--distill`), as the commands show it.
    pub distill: Vec<String>,
    /// The size of the model file.
    pub model_bytes: u64,
    /// Its test scores (quantized model, integer decoder).
    pub scores: Scores,
    /// Wall-clock seconds of `trainer train`.
    pub train_seconds: f64,
    /// The training command line, as shown in the Markdown.
    pub train_command: String,
    /// The evaluation command line, as shown in the Markdown.
    pub eval_command: String,
}

/// Everything the outputs show.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierReport {
    /// The runs, grouped by corpus, budgets increasing, 4 tags before 6.
    pub runs: Vec<FrontierRun>,
    /// Firmware flash other than the model, in bytes.
    pub code_bytes: u64,
    /// The boards whose fit is reported, lm3s6965evb first.
    pub boards: Vec<BoardFlash>,
    /// When the runs were made: `2026-12-01 19:04 UTC`.
    pub generated: String,
    /// The commit they were made at, and whether the tree had changes.
    pub commit: String,
    /// How this report was made: `cargo xtask frontier ...`.
    pub command_line: String,
    /// The data directory, which the commands name as `$D`.
    pub data_dir: String,
    /// A `--quick` smoke test (small training set, one epoch).
    pub quick: bool,
    /// The measured decode costs the Markdown quotes (docs/firmware.json).
    pub decode_costs: DecodeCosts,
}

impl FrontierReport {
    pub(crate) fn corpora(&self) -> Vec<Corpus> {
        self.runs.iter().map(|run| run.corpus).collect::<BTreeSet<_>>().into_iter().collect()
    }

    pub(crate) fn runs_of(&self, corpus: Corpus) -> impl Iterator<Item = &FrontierRun> {
        self.runs.iter().filter(move |run| run.corpus == corpus)
    }

    /// The lm3s6965evb's flash, whose model room the plot marks.
    pub(crate) fn smallest_board(&self) -> Option<BoardFlash> {
        self.boards.iter().copied().min_by_key(|board| board.flash_bytes)
    }
}

/// A fraction as a percentage with two decimals: 0.98765 is `98.77`.
pub fn percent(fraction: f64) -> String {
    format!("{:.2}", 100.0 * fraction)
}

fn yes_no(yes: bool) -> &'static str {
    if yes {
        "yes"
    } else {
        "no"
    }
}

/// `frontier.md`: header, then per corpus a table and the command lines.
pub fn render_markdown(report: &FrontierReport) -> String {
    let mut text = String::from("# Accuracy-size frontier\n\n");
    if report.quick {
        text.push_str(&format!(
            "**Quick smoke test** (`--quick`): trained on the first {QUICK_SENTENCES} sentences for one epoch, \
             distilled from the first {QUICK_SENTENCES} sentences of each training file. \
             These numbers say that the command works, nothing about the models; do not compare them.\n\n"
        ));
    }
    text.push_str(&format!(
        "Written by `{}` (xtask/src/frontier/) on {} at commit {}.\n\n",
        report.command_line, report.generated, report.commit
    ));
    text.push_str(
        "For each corpus the project's trainer first trains the *unlimited* model (no budget: the trainer's \
         default table and tags, 6), then for each byte budget two models, one with 4 tags (`--word-tags bmes`) \
         and one with 6 (`--word-tags bmes6`), each `trainer train --max-model-bytes N --no-reference` distilled \
         from the unlimited model: `--teacher` that model `--distill` the corpus's own training text `--distill` \
         the other corpus's (the teacher labels it, the labelled lines join the training data; dev stays gold). \
         `trainer eval` scores the **quantized** model through the decoder's integer path, scored like the \
         official SIGHAN script. P, R, F1 and OOV-R (recall of out-of-vocabulary words) in percent; *model \
         bytes*: the size of the model file, which is what the firmware embeds; *train s*: wall-clock seconds of \
         `trainer train` on this machine, distillation included (they vary with load, F1 does not). \
         `frontier.json` has the same runs, scores as fractions; `frontier.svg` plots F1 against model bytes, \
         a line per corpus and tag set.\n\n",
    );
    text.push_str(&decode_cost_sentence(&report.decode_costs));
    text.push_str("\n\n");
    let fit_rules: Vec<String> = report
        .boards
        .iter()
        .map(|board| {
            format!(
                "{} ({}, {} B flash: room for a model of {} B)",
                board.board,
                board.board.core(),
                group_digits(board.flash_bytes),
                group_digits(board.model_room(report.code_bytes))
            )
        })
        .collect();
    text.push_str(&format!(
        "*Fits*: firmware code ({} B: the lm3s6965evb firmware's flash other than the model, measured by building \
         it, as `cargo xtask firmware build` prints it; or `--code-bytes`) plus the model is at most the board's flash (firmware/boards/*/memory.x): \
         {}.\n\n",
        group_digits(report.code_bytes),
        fit_rules.join("; ")
    ));
    text.push_str(
        "Regenerate with `cargo xtask frontier` (every budget on PKU and CTB6); options: `--budgets 32K,160K,...` \
         (the unlimited model always runs: it is the teacher), `--corpus pku|ctb6|all` (the other corpus's training \
         text is still distilled when it is in the data directory), `--data DIR` (default `CRF_DATA_DIR`, else \
         `../shared/data`), `--out-dir DIR`, `--code-bytes N`, and `--quick` for a smoke test into \
         target/frontier/ (the first sentences of each training file, one epoch; distilled from those subsets).\n",
    );

    for corpus in report.corpora() {
        text.push_str(&format!("\n## {}\n\n{}\n\n", corpus.title(), corpus.description()));
        text.push_str(&tag_comparison_table(report, corpus));
        let fit_columns: String =
            report.boards.iter().map(|board| format!(" fits {} ({}) |", board.core_tag(), board.board)).collect();
        text.push_str(&format!("\n| budget | tags | model bytes | F1 | P | R | OOV-R | train s |{fit_columns}\n"));
        text.push_str(&format!("|---|---|---|---|---|---|---|---|{}\n", "---|".repeat(report.boards.len())));
        for run in report.runs_of(corpus) {
            let fits: String = report
                .boards
                .iter()
                .map(|board| format!(" {} |", yes_no(board.fits(report.code_bytes, run.model_bytes))))
                .collect();
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} |{fits}\n",
                run.budget.label(),
                run.word_tags.count(),
                group_digits(run.model_bytes),
                percent(run.scores.f1),
                percent(run.scores.precision),
                percent(run.scores.recall),
                run.scores.oov_recall.map_or_else(|| "—".to_owned(), percent),
                run.train_seconds,
            ));
        }
        text.push_str(&format!(
            "\nCommands, from the workspace root, with `D={}`, in the order they ran (the unlimited model first: it \
             is the teacher of the others):\n\n```sh\n",
            report.data_dir
        ));
        let mut in_order: Vec<&FrontierRun> = report.runs_of(corpus).collect();
        in_order.sort_by_key(|run| run.budget != Budget::Unlimited);
        for run in in_order {
            text.push_str(&format!("{}\n{}\n", run.train_command, run.eval_command));
        }
        text.push_str("```\n");
    }
    text
}

/// Per budget, the F1 of each tag set side by side, and what 6 tags add.
fn tag_comparison_table(report: &FrontierReport, corpus: Corpus) -> String {
    let f1 = |budget: Budget, tags: WordTags| {
        report.runs_of(corpus).find(|run| run.budget == budget && run.word_tags == tags).map(|run| run.scores.f1)
    };
    let budgets: BTreeSet<Budget> = report.runs_of(corpus).map(|run| run.budget).collect();
    let mut text = String::from("| budget | F1, 4 tags | F1, 6 tags | 6 − 4 |\n|---|---|---|---|\n");
    for budget in budgets {
        let (four, six) = (f1(budget, WordTags::Bmes), f1(budget, WordTags::Bmes6));
        let cell = |f1: Option<f64>| f1.map_or_else(|| "—".to_owned(), percent);
        let gain = match (four, six) {
            // `+ 0.0`: a difference that rounds to zero prints as +0.00, not -0.00.
            (Some(four), Some(six)) => format!("{:+.2}", (10_000.0 * (six - four)).round() / 100.0 + 0.0),
            _ => "—".to_owned(),
        };
        text.push_str(&format!("| {} | {} | {} | {gain} |\n", budget.label(), cell(four), cell(six)));
    }
    text
}

/// `frontier.json`: the runs with their scores (fractions, as `trainer eval
/// --json` reports them) and board fit.
pub fn render_json(report: &FrontierReport) -> serde_json::Value {
    let boards: Vec<serde_json::Value> = report
        .boards
        .iter()
        .map(|board| {
            serde_json::json!({
                "board": board.board.name(),
                "core": board.board.core(),
                "flash_bytes": board.flash_bytes,
                "model_room_bytes": board.model_room(report.code_bytes),
            })
        })
        .collect();
    let runs: Vec<serde_json::Value> = report
        .runs
        .iter()
        .map(|run| {
            let fits: serde_json::Map<String, serde_json::Value> = report
                .boards
                .iter()
                .map(|board| (board.board.name().to_owned(), board.fits(report.code_bytes, run.model_bytes).into()))
                .collect();
            serde_json::json!({
                "corpus": run.corpus.name(),
                "budget": run.budget.to_string(),
                "budget_bytes": run.budget.bytes(),
                "word_tags": run.word_tags.name(),
                "tags": run.word_tags.count(),
                "teacher": run.teacher,
                "distill": run.distill,
                "model_bytes": run.model_bytes,
                "precision": run.scores.precision,
                "recall": run.scores.recall,
                "f1": run.scores.f1,
                "oov_recall": run.scores.oov_recall,
                "train_seconds": run.train_seconds,
                "fits": fits,
                "train_command": run.train_command,
                "eval_command": run.eval_command,
            })
        })
        .collect();
    let (m3_instructions_per_char, m3_decode_measurements) = decode_costs_json(&report.decode_costs);
    serde_json::json!({
        "generated": report.generated,
        "commit": report.commit,
        "command": report.command_line,
        "data_dir": report.data_dir,
        "quick": report.quick,
        "code_bytes": report.code_bytes,
        "m3_instructions_per_char": m3_instructions_per_char,
        "m3_decode_measurements": m3_decode_measurements,
        "boards": boards,
        "runs": runs,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{
        firmware::Board,
        frontier::plan::{KIB, MIB},
    };

    pub(crate) fn sample_report() -> FrontierReport {
        let run = |corpus: Corpus, budget: Budget, word_tags: WordTags, model_bytes, f1: f64, oov_recall| {
            let name = format!("{}-{}-{}.crfm", corpus.name(), budget.slug(), word_tags.name());
            let distilled = budget != Budget::Unlimited;
            FrontierRun {
                corpus,
                budget,
                word_tags,
                teacher: distilled.then(|| format!("{}-unlimited.crfm", corpus.name())),
                distill: if distilled { vec!["$D/a.txt".to_owned(), "$D/b.txt".to_owned()] } else { Vec::new() },
                model_bytes,
                scores: Scores { precision: f1 - 0.004, recall: f1 + 0.004, f1, oov_recall },
                train_seconds: 12.34,
                train_command: format!("target/release/trainer train --word-tags {} --out {name}", word_tags.name()),
                eval_command: format!("target/release/trainer eval --model {name} --json"),
            }
        };
        FrontierReport {
            runs: vec![
                run(Corpus::Pku, Budget::Bytes(160 * KIB), WordTags::Bmes, 131_304, 0.9438, Some(0.751)),
                run(Corpus::Pku, Budget::Bytes(160 * KIB), WordTags::Bmes6, 131_310, 0.9458, Some(0.761)),
                run(Corpus::Pku, Budget::Unlimited, WordTags::Bmes6, 25_166_186, 0.9504, Some(0.805)),
                run(Corpus::Ctb6, Budget::Bytes(256 * KIB), WordTags::Bmes, 262_184, 0.9301, None),
            ],
            code_bytes: 41_000,
            boards: vec![
                BoardFlash { board: Board::Lm3s6965evb, flash_bytes: 256 * KIB },
                BoardFlash { board: Board::Mps2An386, flash_bytes: 4 * MIB },
            ],
            generated: "2026-12-01 19:04 UTC".to_owned(),
            commit: "0f889af".to_owned(),
            command_line: "cargo xtask frontier".to_owned(),
            data_dir: "/data".to_owned(),
            quick: false,
            decode_costs: DecodeCosts::default(),
        }
    }

    #[test]
    fn markdown_has_a_table_per_corpus_with_tags_fit_and_the_commands() {
        let report = sample_report();
        let markdown = render_markdown(&report);
        assert!(markdown.contains("Written by `cargo xtask frontier` (xtask/src/frontier/) on 2026-12-01 19:04 UTC"));
        assert!(markdown.contains("lm3s6965evb (Cortex-M3, 262,144 B flash: room for a model of 221,144 B)"));
        assert!(!markdown.contains("Quick smoke test"));
        assert!(markdown.contains(&decode_cost_sentence(&report.decode_costs)));
        let pku = markdown.find("\n## PKU\n").unwrap();
        let ctb6 = markdown.find("\n## CTB6\n").unwrap();
        assert!(pku < ctb6);
        // A row per (budget, tag set).
        assert!(markdown.contains(
            "| budget | tags | model bytes | F1 | P | R | OOV-R | train s | fits M3 (lm3s6965evb) | fits M4 (mps2-an386) |\n\
             |---|---|---|---|---|---|---|---|---|---|\n\
             | 160 KiB | 4 | 131,304 | 94.38 | 93.98 | 94.78 | 75.10 | 12.3 | yes | yes |\n\
             | 160 KiB | 6 | 131,310 | 94.58 | 94.18 | 94.98 | 76.10 | 12.3 | yes | yes |\n\
             | unlimited | 6 | 25,166,186 | 95.04 | 94.64 | 95.44 | 80.50 | 12.3 | no | no |\n"
        ));
        // The tag sets side by side; a budget without one of them shows a dash.
        assert!(markdown.contains(
            "| budget | F1, 4 tags | F1, 6 tags | 6 − 4 |\n|---|---|---|---|\n\
             | 160 KiB | 94.38 | 94.58 | +0.20 |\n| unlimited | — | 95.04 | — |\n"
        ));
        // 41,000 + 262,184 B is over 256 KiB: the M3 does not take it, the M4 does.
        assert_eq!(
            tag_comparison_table(
                &FrontierReport {
                    runs: vec![
                        FrontierRun { scores: Scores { f1: 0.9, ..report.runs[0].scores }, ..report.runs[0].clone() },
                        FrontierRun {
                            scores: Scores { f1: 0.899_999, ..report.runs[1].scores },
                            ..report.runs[1].clone()
                        },
                    ],
                    ..report.clone()
                },
                Corpus::Pku
            )
            .lines()
            .last(),
            Some("| 160 KiB | 90.00 | 90.00 | +0.00 |")
        );
        assert!(markdown.contains("| 256 KiB | 4 | 262,184 | 93.01 | 92.61 | 93.41 | — | 12.3 | no | yes |\n"));
        assert!(markdown.contains(
            "the teacher of the others):\n\n```sh\n\
             target/release/trainer train --word-tags bmes6 --out pku-unlimited-bmes6.crfm\n\
             target/release/trainer eval --model pku-unlimited-bmes6.crfm --json\n\
             target/release/trainer train --word-tags bmes --out pku-160k-bmes.crfm\n\
             target/release/trainer eval --model pku-160k-bmes.crfm --json\n\
             target/release/trainer train --word-tags bmes6 --out pku-160k-bmes6.crfm\n"
        ));
        let quick = render_markdown(&FrontierReport { quick: true, ..sample_report() });
        assert!(quick.contains("**Quick smoke test**"));
    }

    #[test]
    fn json_lists_every_run_with_its_tags_distillation_and_fit() {
        let json = render_json(&sample_report());
        assert_eq!(json["code_bytes"], 41_000);
        assert_eq!(json["boards"][0]["model_room_bytes"], 221_144);
        // Nothing measured in the sample: no figure, rather than a made-up one.
        assert_eq!(json["m3_instructions_per_char"]["bmes"], serde_json::Value::Null);
        assert_eq!(json["m3_decode_measurements"]["bmes6"], serde_json::Value::Null);
        let runs = json["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[0]["budget"], "160K");
        assert_eq!(runs[0]["budget_bytes"], 163_840);
        assert_eq!(runs[0]["word_tags"], "bmes");
        assert_eq!(runs[0]["tags"], 4);
        assert_eq!(runs[0]["teacher"], "pku-unlimited.crfm");
        assert_eq!(runs[0]["distill"], serde_json::json!(["$D/a.txt", "$D/b.txt"]));
        assert_eq!(runs[0]["train_command"], "target/release/trainer train --word-tags bmes --out pku-160k-bmes.crfm");
        assert_eq!(runs[0]["fits"]["lm3s6965evb"], true);
        assert_eq!(runs[1]["word_tags"], "bmes6");
        assert_eq!(runs[2]["budget_bytes"], serde_json::Value::Null);
        assert_eq!(runs[2]["teacher"], serde_json::Value::Null);
        assert_eq!(runs[2]["distill"], serde_json::json!([]));
        assert_eq!(runs[2]["fits"]["mps2-an386"], false);
        assert_eq!(runs[3]["corpus"], "ctb6");
        assert_eq!(runs[3]["oov_recall"], serde_json::Value::Null);
        assert_eq!(runs[3]["fits"]["lm3s6965evb"], false);
    }
}

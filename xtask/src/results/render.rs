//! Markdown from the measurement files: docs/results.md and the README's
//! headline table. Figures are formatted as the README writes them: F1 as a
//! percentage with two decimals, bytes with thousands separators (or MiB
//! for large models), instructions per character as a grouped integer.

use std::fmt::Write;

use anyhow::{Context, Result};

pub use crate::{frontier::report::percent, util::group_digits};

use super::{FrontierRun, Measurement, ModelResult, Sources, FIRMWARE_JSON, FRONTIER_JSON, RESULTS_JSON};

/// The line that opens the README's generated block.
pub const HEADLINE_START: &str = "<!-- results:headline -->";
/// The line that closes it.
pub const HEADLINE_END: &str = "<!-- /results:headline -->";

/// The board whose figures the headline quotes.
const HEADLINE_BOARD: &str = "lm3s6965evb";

/// Shown where a figure has no measurement.
const NONE: &str = "—";

const MIB: u64 = 1 << 20;
const KIB: u64 = 1 << 10;

/// A model size: exact with separators below 1 MiB (`123,456`), else in
/// MiB with one decimal (`28.6 MiB`).
pub fn format_bytes(bytes: u64) -> String {
    if bytes < MIB {
        group_digits(bytes)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

/// A byte budget: `32 KiB`, `1 MiB`, or grouped bytes when no unit divides it.
fn format_budget(bytes: u64) -> String {
    if bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes % KIB == 0 {
        format!("{} KiB", bytes / KIB)
    } else {
        group_digits(bytes)
    }
}

/// Instructions per character rounded to an integer: 1234.5 is `1,235`.
pub fn format_instructions(per_char: f64) -> String {
    group_digits(per_char.round() as u64)
}

fn yes_no(yes: bool) -> &'static str {
    if yes {
        "yes"
    } else {
        "no"
    }
}

fn model<'a>(sources: &'a Sources, name: &str) -> Option<&'a ModelResult> {
    sources.results.as_ref()?.models.iter().find(|model| model.name == name)
}

/// The firmware measurement on the headline board of the model with this hash.
fn firmware_run<'a>(sources: &'a Sources, sha256: &str) -> Option<&'a Measurement> {
    let firmware = sources.firmware.as_ref()?;
    firmware
        .measurements
        .iter()
        .find(|run| run.board == HEADLINE_BOARD && run.model_sha256 == sha256 && run.without_user_dict())
}

/// What a user dictionary costs: each image with one against the same board and model without, in
/// instructions per character (nothing when no image with a dictionary has its fixed-cost twin).
fn user_dict_cost(out: &mut String, measurements: &[Measurement]) {
    let pairs: Vec<(&Measurement, &Measurement)> = measurements
        .iter()
        .filter_map(|with| {
            with.user_dict.as_ref()?;
            let alone = measurements.iter().find(|alone| {
                alone.board == with.board
                    && alone.model_sha256 == with.model_sha256
                    && alone.input == with.input
                    && alone.without_user_dict()
            })?;
            Some((alone, with))
        })
        .collect();
    if pairs.is_empty() {
        return;
    }
    out.push_str(
        "User dictionary cost: instructions per character of an image with a user dictionary against the same \
         board and model without one (the fixed cost), on the same input.\n\n\
         | board | model | user dictionary | fixed instructions/char | with the dictionary | ratio | \
         flash used with it | commits (fixed, with) |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (alone, with) in pairs {
        let dirty = |run: &Measurement| if run.dirty { " (dirty)" } else { "" };
        let _ = writeln!(
            out,
            "| {} ({}) | `{}` | `{}` | {} | {} | {:.3} | {} of {} | {}{}, {}{} |",
            with.board,
            with.core,
            with.model,
            with.user_dict.as_deref().unwrap_or_default(),
            format_instructions(alone.instructions_per_char),
            format_instructions(with.instructions_per_char),
            with.instructions_per_char / alone.instructions_per_char,
            group_digits(with.flash_used_bytes),
            group_digits(with.flash_bytes),
            alone.commit,
            dirty(alone),
            with.commit,
            dirty(with)
        );
    }
    out.push('\n');
}

/// The README's headline table (with a line saying where it comes from).
pub fn headline_table(sources: &Sources) -> String {
    let f1 = |name: &str| model(sources, name).map_or(NONE.to_owned(), |model| percent(model.f1));
    let bytes = |name: &str| model(sources, name).map_or(NONE.to_owned(), |model| format_bytes(model.model_bytes));
    let on_board = |name: &str| match model(sources, name).and_then(|model| firmware_run(sources, &model.model_sha256))
    {
        Some(run) => (format_instructions(run.instructions_per_char), format!("{} ({})", run.board, run.core)),
        None => (NONE.to_owned(), NONE.to_owned()),
    };
    let mut table = String::from(
        "| model | PKU test F1 | CTB6 test F1 | model bytes | Cortex-M3 instructions/char | runs on |\n\
         |---|---|---|---|---|---|\n",
    );
    let _ = writeln!(table, "| unlimited | {} | {} | {} | {NONE} | host |", f1("pku"), f1("ctb6"), bytes("pku"));
    for (label, name) in
        [("160 KiB, with a word list", "pku-160k"), ("the firmware's default (200 KiB, no word list)", "default")]
    {
        let (instructions, board) = on_board(name);
        let _ = writeln!(table, "| {label} | {} | {NONE} | {} | {instructions} | {board} |", f1(name), bytes(name));
    }
    table.push_str(
        "\nF1 of the quantized models on the SIGHAN 2005 PKU and the CTB6 test sets; \
         [docs/results.md](docs/results.md) has the commands and more figures \
         (this table is rendered by `cargo xtask results --render`).\n",
    );
    table
}

/// `readme` with the lines between the headline markers replaced by `block`.
pub fn replace_headline(readme: &str, block: &str) -> Result<String> {
    replace_block(readme, HEADLINE_START, HEADLINE_END, block).with_context(|| {
        format!(
            "no `{HEADLINE_START}` ... `{HEADLINE_END}` block, in that order (the headline table goes between them)"
        )
    })
}

/// `text` with what lies between the marker lines `start` and `end` replaced by `block`; `None` when
/// either marker is missing or `end` comes first.
pub fn replace_block(text: &str, start: &str, end: &str, block: &str) -> Option<String> {
    let (block_start, block_end) = (text.find(start)?, text.find(end)?);
    if block_end < block_start {
        return None;
    }
    let body_start = block_start + start.len();
    Some(format!("{}\n{block}{}", &text[..body_start], &text[block_end..]))
}

/// The whole of docs/results.md.
pub fn results_markdown(sources: &Sources) -> String {
    let mut out = String::from("# Results\n\n");
    out.push_str(
        "Every figure here (and in the README's headline table) is rendered by `cargo xtask results --render` \
         (xtask/src/results/) from the JSON files the measuring commands write; a test (`cargo test -p xtask`) \
         fails when this file or the README's table differs from that rendering. `$D` is the corpus directory \
         (`../shared/data`, or `CRF_DATA_DIR`). F1 is for the **quantized** model, through the decoder's integer \
         code path; training times vary with the machine's load, F1 does not.\n\n",
    );
    models_section(&mut out, sources);
    conventions_section(&mut out, sources);
    firmware_section(&mut out, sources);
    frontier_section(&mut out, sources);
    out.push_str(
        "## Other segmenters\n\n\
         [bench-peers.md](bench-peers.md) compares other segmenters on the same files \
         (`bench/bench-peers`).\n",
    );
    out
}

fn models_section(out: &mut String, sources: &Sources) {
    out.push_str("## Models\n\n");
    let Some(results) = &sources.results else {
        let _ = writeln!(out, "Not measured yet: `cargo xtask results` trains the models and writes {RESULTS_JSON}.\n");
        return;
    };
    let _ = writeln!(
        out,
        "Written by `{}` at commit {}{} on {} ({RESULTS_JSON}). PKU models are trained on People's Daily \
         1998-01 and scored on the SIGHAN 2005 PKU test set, OOV words being those missing from \
         `pku_training_words.utf8`; CTB6 models are scored on CTB6 test, OOV words being those missing from \
         the model's training words. Token-level models (CoNLL column files: CoNLL-2000 chunking, Weibo NER, \
         CoNLL-2003 NER) are scored by conlleval's rules, chunk or entity F1 on the test file (`eng.testb` for \
         CoNLL-2003), with no OOV recall.\n",
        results.command,
        results.commit,
        if results.dirty { " (with uncommitted changes)" } else { "" },
        results.generated
    );
    out.push_str(
        "| model | what | test set | F1 | precision | recall | OOV recall | model bytes | training |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for model in &results.models {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {:.0} s |",
            model.name,
            model.description,
            model.corpus.to_uppercase(),
            percent(model.f1),
            percent(model.precision),
            percent(model.recall),
            model.oov_recall.map_or(NONE.to_owned(), percent),
            format_bytes(model.model_bytes),
            model.training_seconds
        );
    }
    for model in &results.models {
        if let Some(reproduces) = model.reproduces_committed_model {
            let _ = writeln!(
                out,
                "\nThe `{}` model is byte-identical to the committed one (SHA-256 `{}`): {}.",
                model.name,
                model.model_sha256,
                yes_no(reproduces)
            );
        }
    }
    out.push_str("\nThe commands, each followed by its scoring:\n\n```sh\n");
    for model in &results.models {
        let _ = writeln!(out, "# {}\n{}\n{}", model.name, model.train_command, model.eval_command);
    }
    out.push_str("```\n\n");
    let stale: Vec<String> = results
        .models
        .iter()
        .filter(|model| model.commit != results.commit || model.dirty)
        .map(|model| format!("`{}` at {}{}", model.name, model.commit, if model.dirty { " (dirty)" } else { "" }))
        .collect();
    if !stale.is_empty() {
        let _ = writeln!(out, "Measured at another commit (`--only` runs): {}.\n", stale.join(", "));
    }
}

fn conventions_section(out: &mut String, sources: &Sources) {
    let Some(results) = &sources.results else { return };
    let with_conventions: Vec<&ModelResult> =
        results.models.iter().filter(|model| model.conventions.is_some()).collect();
    if with_conventions.is_empty() {
        return;
    }
    out.push_str(
        "## Convention conflicts\n\n\
         A test set's gold can follow conventions that the training text never does. `trainer score \
         --conventions TRAIN` counts the disagreements with the gold whose reading the training text has at \
         least 3 times and whose gold reading it never has.\n\n\
         | model | F1 | disagreements | of which conflicts (gold words) | F1 with the conflicts read the gold way |\n\
         |---|---|---|---|---|\n",
    );
    for model in &with_conventions {
        let Some(conventions) = &model.conventions else { continue };
        let _ = writeln!(
            out,
            "| `{}` (against `{}`) | {} | {} | {} ({}) | {} |",
            model.name,
            conventions.training,
            percent(conventions.f1),
            group_digits(conventions.disagreements),
            group_digits(conventions.conflicts),
            group_digits(conventions.conflict_gold_words),
            percent(conventions.f1_with_conflicts_read_the_gold_way)
        );
    }
    out.push_str("\n```sh\n");
    for model in &with_conventions {
        if let Some(conventions) = &model.conventions {
            let _ = writeln!(out, "{}", conventions.score_command);
        }
    }
    out.push_str("```\n\n");
}

fn firmware_section(out: &mut String, sources: &Sources) {
    out.push_str("## On the microcontroller\n\n");
    let Some(firmware) = &sources.firmware else {
        let _ = writeln!(
            out,
            "Not measured yet: `cargo xtask firmware measure` streams text through the firmware under QEMU \
             and writes {FIRMWARE_JSON}.\n"
        );
        return;
    };
    let _ = writeln!(
        out,
        "Written by `{}` ({FIRMWARE_JSON}): the firmware segments the input under `qemu -icount shift=0`. \
         \"Same as host\": its output equals the host's segmentation with the same model.\n",
        firmware.command
    );
    out.push_str(
        "| board | model | model bytes | tags | word list | input characters | instructions/char | peak stack | \
         static RAM | code | flash used of flash | same as host | F1 | commit |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for run in &firmware.measurements {
        // Name the results model with the same bytes, if any.
        let same_model = sources
            .results
            .iter()
            .flat_map(|results| &results.models)
            .find(|model| model.model_sha256 == run.model_sha256)
            .map_or(String::new(), |model| format!(" (= `{}`)", model.name));
        let same_model = match &run.user_dict {
            Some(list) => format!("{same_model} + user dictionary `{list}`"),
            None => same_model,
        };
        let _ = writeln!(
            out,
            "| {} ({}) | `{}`{same_model} | {} | {} | {} | {} | {} | {} | {} | {} | {} of {} | {} | {} | {}{} |",
            run.board,
            run.core,
            run.model,
            group_digits(run.model_bytes),
            run.tags,
            yes_no(run.word_list),
            group_digits(run.characters),
            format_instructions(run.instructions_per_char),
            group_digits(run.peak_stack_bytes),
            group_digits(run.static_ram_bytes),
            group_digits(run.code_bytes),
            group_digits(run.flash_used_bytes),
            group_digits(run.flash_bytes),
            yes_no(run.identical_to_host),
            run.f1.map_or(NONE.to_owned(), percent),
            run.commit,
            if run.dirty { " (dirty)" } else { "" }
        );
    }
    out.push('\n');
    user_dict_cost(out, &firmware.measurements);
    let line_rates = super::line_rates::line_rate_table(firmware);
    if !line_rates.is_empty() {
        let _ = writeln!(
            out,
            "Serial line rate, by `cargo xtask firmware line-rate --board B`: the line-rate build takes one input \
             byte per byte period (10 bits) at the board's core clock, under `qemu -icount shift=0`; the highest \
             standard rate at which the whole input goes through with no byte lost, output identical to the host \
             and the line kept fed (idle in under 5% of the byte periods), and what the first rate above it that \
             loses input loses (counted by the firmware). Only input is paced: the answer (about 1.4 times the \
             input's bytes) is not. The input comes from flash where the board has room for it (embedded in the \
             image: the line never idles and a run repeats exactly), else over UART0, which QEMU refills in real \
             time: where it fell behind, the figure is a lower bound set by QEMU, not by the firmware.\n\n{line_rates}"
        );
    }
    if !firmware.token_measurements.is_empty() {
        out.push_str(
            "Token-level models (CoNLL lines in, one tag a line out), by `cargo xtask firmware measure --model M`: \
             the firmware labels the input under `qemu -icount shift=0`; \"same as host\": its answers equal the tag \
             column of `trainer label`; F1: conlleval's entity F1 of `trainer eval` on the input.\n\n\
             | board | model | model bytes | input | tokens | instructions/token | peak stack | static RAM | code | \
             flash used | same as host | F1 | commit |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for run in &firmware.token_measurements {
            let _ = writeln!(
                out,
                "| {} ({}) | `{}` | {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {}{} |",
                run.board,
                run.core,
                run.model,
                group_digits(run.model_bytes),
                run.input,
                group_digits(run.tokens),
                format_instructions(run.instructions_per_token),
                group_digits(run.peak_stack_bytes),
                group_digits(run.static_ram_bytes),
                group_digits(run.code_bytes),
                group_digits(run.flash_used_bytes),
                yes_no(run.identical_to_host),
                run.f1.map_or(NONE.to_owned(), |f1| format!("{f1:.2}")),
                run.commit,
                if run.dirty { " (dirty)" } else { "" }
            );
        }
        out.push('\n');
    }
}

fn frontier_section(out: &mut String, sources: &Sources) {
    out.push_str("## Accuracy against model size\n\n");
    let Some(frontier) = &sources.frontier else {
        let _ = writeln!(
            out,
            "Not measured yet: `cargo xtask frontier` trains and scores the models per budget and writes \
             {FRONTIER_JSON}.\n"
        );
        return;
    };
    let _ = writeln!(
        out,
        "Written by `{}` at commit {} on {} ({FRONTIER_JSON}; [frontier.md](frontier.md) has the exact \
         commands, [frontier.svg](frontier.svg) the plot). Test F1 of the quantized models per byte budget, \
         each distilled from the unlimited model. These are the frontier's own runs, at its commit: where a \
         budget matches a model above, the two F1 figures can differ by a run's noise or by what changed \
         in between.\n",
        frontier.command, frontier.commit, frontier.generated
    );
    let mut budgets: Vec<Option<u64>> = Vec::new();
    for run in &frontier.runs {
        if !budgets.contains(&run.budget_bytes) {
            budgets.push(run.budget_bytes);
        }
    }
    // Unlimited (`None`) last.
    budgets.sort_by_key(|budget| budget.unwrap_or(u64::MAX));
    let header: Vec<String> = budgets
        .iter()
        .map(|budget| match budget {
            Some(bytes) => format_budget(*bytes),
            None => {
                match frontier.runs.iter().filter(|run| run.budget_bytes.is_none()).map(|run| run.model_bytes).max() {
                    Some(bytes) => format!("unlimited ({})", format_bytes(bytes)),
                    None => "unlimited".to_owned(),
                }
            }
        })
        .collect();
    let _ = writeln!(out, "| budget | {} |\n|---{}|", header.join(" | "), "|---".repeat(budgets.len()));
    let mut corpora: Vec<&str> = Vec::new();
    let mut tag_counts: Vec<u32> = Vec::new();
    for run in &frontier.runs {
        if !corpora.contains(&run.corpus.as_str()) {
            corpora.push(&run.corpus);
        }
        if !tag_counts.contains(&run.tags) {
            tag_counts.push(run.tags);
        }
    }
    tag_counts.sort_unstable();
    for corpus in &corpora {
        for tags in &tag_counts {
            let cells: Vec<String> = budgets
                .iter()
                .map(|budget| {
                    let run = frontier.runs.iter().find(|run: &&FrontierRun| {
                        run.corpus == *corpus && run.tags == *tags && run.budget_bytes == *budget
                    });
                    run.map_or(String::new(), |run| percent(run.f1))
                })
                .collect();
            let _ = writeln!(out, "| {}, {tags} tags | {} |", corpus.to_uppercase(), cells.join(" | "));
        }
    }
    let fits: Vec<&str> = budgets
        .iter()
        .map(|budget| {
            let mut runs = frontier.runs.iter().filter(|run| run.budget_bytes == *budget);
            yes_no(runs.all(|run| run.fits.get(HEADLINE_BOARD).copied().unwrap_or(false)))
        })
        .collect();
    let _ = writeln!(out, "| fits {HEADLINE_BOARD} | {} |\n", fits.join(" | "));
}

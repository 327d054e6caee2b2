//! The Python package's cost against `trainer segment`, in instructions counted by callgrind
//! (`cargo xtask bench-python --instructions` writes [`PYTHON_SPEED_JSON`]), for the table in
//! python/README.md between [`PYTHON_SPEED_START`] and [`PYTHON_SPEED_END`].

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::util::group_digits;

/// Where `cargo xtask bench-python --instructions` writes its counts (from the repository root).
pub const PYTHON_SPEED_JSON: &str = "docs/python-speed.json";
/// The package's README, which holds the table.
pub const PYTHON_README: &str = "python/README.md";
/// The line that opens the table's block.
pub const PYTHON_SPEED_START: &str = "<!-- results:python-speed -->";
/// The line that closes it.
pub const PYTHON_SPEED_END: &str = "<!-- /results:python-speed -->";

/// `docs/python-speed.json`: instructions of whole processes under callgrind; each way's net cost is
/// its count less that of the same process doing everything but segmenting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PythonSpeed {
    /// The command that wrote it.
    pub command: String,
    /// The commit measured (short hash).
    pub commit: String,
    /// Whether that tree had uncommitted changes.
    pub dirty: bool,
    /// When.
    pub generated: String,
    /// The model, as the command shows it.
    pub model: String,
    /// The input (`$D/...`).
    pub input: String,
    /// Its size.
    pub input_bytes: u64,
    /// `python --version` of the interpreter measured.
    pub python: String,
    /// `trainer segment --model MODEL INPUT`.
    pub trainer_instructions: u64,
    /// The same on an empty input (start, model loading, exit).
    pub trainer_empty_instructions: u64,
    /// `python/bench/segment_once.py MODEL INPUT none`: the interpreter, the model loaded, the input read
    /// and decoded, no segmenting.
    pub python_none_instructions: u64,
    /// The same with `Model.segment(text)` (the list of words).
    pub segment_instructions: u64,
    /// The same with `Model.segment(line)` called once per line of the input, each list dropped before
    /// the next call (the split into lines included).
    pub segment_lines_instructions: u64,
    /// The same with `Model.segment_text(text)` (one str).
    pub segment_text_instructions: u64,
}

impl PythonSpeed {
    /// `trainer segment`'s net instructions.
    pub fn trainer_net(&self) -> u64 {
        self.trainer_instructions.saturating_sub(self.trainer_empty_instructions)
    }

    /// A Python way's net instructions and their ratio to `trainer segment`'s.
    fn net_and_ratio(&self, instructions: u64) -> (u64, f64) {
        let net = instructions.saturating_sub(self.python_none_instructions);
        (net, net as f64 / self.trainer_net().max(1) as f64)
    }

    /// `Model.segment`'s ratio to `trainer segment` (net instructions).
    pub fn segment_ratio(&self) -> f64 {
        self.net_and_ratio(self.segment_instructions).1
    }

    /// `Model.segment`'s ratio called once per line.
    pub fn segment_lines_ratio(&self) -> f64 {
        self.net_and_ratio(self.segment_lines_instructions).1
    }

    /// `Model.segment_text`'s ratio.
    pub fn segment_text_ratio(&self) -> f64 {
        self.net_and_ratio(self.segment_text_instructions).1
    }
}

/// The Markdown table and the line saying how it was measured.
pub fn python_speed_table(speed: &PythonSpeed) -> String {
    let mut out = String::from("| way | instructions | ratio to `trainer segment` |\n|---|---:|---:|\n");
    let _ = writeln!(out, "| `trainer segment` | {} | 1.000 |", group_digits(speed.trainer_net()));
    for (way, instructions) in [
        ("`Model.segment(text)` (list of str)", speed.segment_instructions),
        ("`Model.segment(line)`, one call per line", speed.segment_lines_instructions),
        ("`Model.segment_text(text)` (one str)", speed.segment_text_instructions),
    ] {
        let (net, ratio) = speed.net_and_ratio(instructions);
        let _ = writeln!(out, "| {way} | {} | {ratio:.3} |", group_digits(net));
    }
    let _ = writeln!(
        out,
        "\n`{}` at {}{}, {}: `{}` on `{}` ({} bytes), {}; instructions as callgrind counts them, each less \
         the same process without the segmenting.",
        speed.command,
        speed.commit,
        if speed.dirty { " (with uncommitted changes)" } else { "" },
        speed.generated,
        speed.model,
        speed.input,
        group_digits(speed.input_bytes),
        speed.python
    );
    out
}

/// `readme` with its block replaced by `table`; unchanged if it has no such block.
pub fn replace_python_speed(readme: &str, table: &str) -> String {
    super::render::replace_block(readme, PYTHON_SPEED_START, PYTHON_SPEED_END, table)
        .unwrap_or_else(|| readme.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speed() -> PythonSpeed {
        PythonSpeed {
            command: "cargo xtask bench-python --instructions".to_owned(),
            commit: "0123456789ab".to_owned(),
            dirty: false,
            generated: "2026-12-06 04:00 UTC".to_owned(),
            model: "models/default.crfm".to_owned(),
            input: "$D/icwb2/pku_test.utf8".to_owned(),
            input_bytes: 509_588,
            python: "Python 3.11.7".to_owned(),
            trainer_instructions: 202_000_000,
            trainer_empty_instructions: 2_000_000,
            python_none_instructions: 100_000_000,
            segment_instructions: 324_000_000,
            segment_lines_instructions: 336_000_000,
            segment_text_instructions: 310_000_000,
        }
    }

    #[test]
    fn ratios_are_net_instructions_over_the_trainers() {
        let speed = speed();
        assert_eq!(speed.trainer_net(), 200_000_000);
        assert!((speed.segment_ratio() - 1.12).abs() < 1e-12);
        assert!((speed.segment_lines_ratio() - 1.18).abs() < 1e-12);
        assert!((speed.segment_text_ratio() - 1.05).abs() < 1e-12);
        let table = python_speed_table(&speed);
        assert!(table.contains("| `trainer segment` | 200,000,000 | 1.000 |"), "{table}");
        assert!(table.contains("| `Model.segment(text)` (list of str) | 224,000,000 | 1.120 |"), "{table}");
        assert!(table.contains("| `Model.segment(line)`, one call per line | 236,000,000 | 1.180 |"), "{table}");
        assert!(table.contains("| `Model.segment_text(text)` (one str) | 210,000,000 | 1.050 |"), "{table}");
        assert!(table.contains("(509,588 bytes)"), "{table}");
    }

    #[test]
    fn the_readme_block_is_replaced_and_a_readme_without_one_is_kept() {
        let readme = "a\n<!-- results:python-speed -->\nold\n<!-- /results:python-speed -->\nb\n";
        let once = replace_python_speed(readme, "| t |\n");
        assert_eq!(once, "a\n<!-- results:python-speed -->\n| t |\n<!-- /results:python-speed -->\nb\n");
        assert_eq!(replace_python_speed(&once, "| t |\n"), once);
        assert_eq!(replace_python_speed("no block\n", "| t |\n"), "no block\n");
    }
}

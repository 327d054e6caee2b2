//! `docs/firmware.json`: what `cargo xtask firmware measure` measured, one
//! entry per board and model, each with the commit it was measured at.
//!
//! Other commands (the frontier's decode-cost sentence, `cargo xtask
//! results`) read their firmware figures from this file instead of quoting
//! numbers in code, so the keys below are a format: add keys, never rename.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::workspace_root;

/// Where the measurements are kept, relative to the workspace root.
pub const MEASUREMENTS_FILE: &str = "docs/firmware.json";

/// [`MEASUREMENTS_FILE`] in this workspace.
pub fn measurements_path() -> PathBuf {
    workspace_root().join(MEASUREMENTS_FILE)
}

/// One board running the segmenter with one model over one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The board (its QEMU machine): `lm3s6965evb`.
    pub board: String,
    /// Its processor core: `Cortex-M3`.
    pub core: String,
    /// The embedded model file: relative to the workspace root when inside
    /// it, else as given.
    pub model: String,
    /// SHA-256 of the model file, in hex: which model, whatever its path.
    pub model_sha256: String,
    /// Size of the model file.
    pub model_bytes: u64,
    /// How many tags the model has.
    pub tags: u64,
    /// Whether the model carries a word list.
    pub word_list: bool,
    /// The input text, with the data directory written as `$D`.
    pub input: String,
    /// Bytes of input the firmware received.
    pub input_bytes: u64,
    /// Characters of input.
    pub characters: u64,
    /// Lines of input.
    pub lines: u64,
    /// Instructions executed in the segmenter per character (`-icount shift=0`).
    pub instructions_per_char: f64,
    /// Deepest stack use of the run.
    pub peak_stack_bytes: u64,
    /// `.data`, `.bss` and `.uninit`.
    pub static_ram_bytes: u64,
    /// Static RAM plus peak stack.
    pub ram_in_use_bytes: u64,
    /// Flash other than the model.
    pub code_bytes: u64,
    /// Flash taken by the whole image.
    pub flash_used_bytes: u64,
    /// The board's flash (its memory.x).
    pub flash_bytes: u64,
    /// Forced cuts of the streaming Viterbi.
    pub forced_cuts: u64,
    /// The firmware's UART output equals `trainer segment` of the same input
    /// with the same model.
    pub identical_to_host: bool,
    /// Word F1 of the firmware's output against the input's gold file
    /// (`None`: no gold file).
    pub f1: Option<f64>,
    /// Recall of out-of-vocabulary words (`None`: no gold file or word list).
    pub oov_recall: Option<f64>,
    /// The commit measured (12 hex digits; `unknown` outside git).
    pub commit: String,
    /// Tracked files differed from that commit.
    pub dirty: bool,
    /// When: `2026-12-04 16:00 UTC`.
    pub generated: String,
    /// The command that measured this entry.
    #[serde(default)]
    pub measured_by: String,
    /// The user dictionary built into the image (`--user-dict`), as in
    /// [`Measurement::model`]; `None`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_dict: Option<String>,
    /// SHA-256 of that word list, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_dict_sha256: Option<String>,
}

impl Measurement {
    /// What identifies an entry: a later measurement with the same key
    /// replaces it.
    pub fn key(&self) -> (&str, &str, Option<&str>) {
        (&self.board, &self.model_sha256, self.user_dict_sha256.as_deref())
    }

    /// Whether the image ran the model alone (no user dictionary): the
    /// entries that stand for a model's cost.
    pub fn without_user_dict(&self) -> bool {
        self.user_dict_sha256.is_none()
    }
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MeasurementFile {
    /// The command that last wrote the file.
    pub command: String,
    /// Sorted by board, model path, then model hash.
    pub measurements: Vec<Measurement>,
    /// What `cargo xtask firmware line-rate` found, one entry per board and
    /// model (sorted like `measurements`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_rates: Vec<LineRate>,
    /// Token-level models (CoNLL in, tags out) measured by `cargo xtask firmware measure --model`, one
    /// entry per board and model (sorted like `measurements`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_measurements: Vec<super::tokens::TokenMeasurement>,
}

/// The highest standard baud rate at which a board takes a whole input
/// without losing a byte, and the rate above it, which loses some.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineRate {
    /// The board (its QEMU machine).
    pub board: String,
    /// Its processor core.
    pub core: String,
    /// The core clock the rate is for (the board's documented clock; under
    /// `-icount shift=0` one instruction stands for one cycle).
    pub core_clock_hz: u64,
    /// The embedded model file, as in [`Measurement::model`].
    pub model: String,
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// The input text, with the data directory written as `$D`.
    pub input: String,
    /// Bytes of input.
    pub input_bytes: u64,
    /// Where the timer took the input from: `flash` (embedded in the image:
    /// never idle, deterministic) or `uart` (fed by QEMU in real time);
    /// `None` in records older than the choice (UART0).
    #[serde(default)]
    pub input_source: Option<String>,
    /// The highest standard rate with no byte lost, output identical to the
    /// host, and the UART kept fed (under 5% idle byte periods; `None`: no
    /// rate).
    pub sustained_baud: Option<u32>,
    /// At the sustained rate, the share of byte periods (percent) that found
    /// no byte waiting: the line ran that much slower than its rate.
    #[serde(default)]
    pub sustained_idle_percent: Option<f64>,
    /// The first standard rate above it that lost input (`None`: none up
    /// to 921600).
    pub lossy_baud: Option<u32>,
    /// Input bytes lost at `lossy_baud` (UART overruns plus full queue).
    pub lossy_lost_bytes: Option<u64>,
    /// The commit measured (12 hex digits; `unknown` outside git).
    pub commit: String,
    /// Tracked files differed from that commit.
    pub dirty: bool,
    /// When: `2026-12-04 16:00 UTC`.
    pub generated: String,
    /// The command that measured this entry.
    pub measured_by: String,
}

impl MeasurementFile {
    /// Reads `path`; a file that does not exist reads as no measurements.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
        };
        Self::parse(&text).with_context(|| format!("reading the measurements in {}", path.display()))
    }

    /// Reads the file's JSON text.
    pub fn parse(text: &str) -> Result<Self> {
        let mut file: Self = serde_json::from_str(text)?;
        file.sort();
        Ok(file)
    }

    /// Adds `line_rate`, replacing the entry of the same board and model.
    pub fn insert_line_rate(&mut self, line_rate: LineRate) {
        self.line_rates.retain(|old| (&old.board, &old.model_sha256) != (&line_rate.board, &line_rate.model_sha256));
        self.line_rates.push(line_rate);
        self.sort();
    }

    /// Adds `measurement`, replacing the entry of the same board and model.
    pub fn insert_token_measurement(&mut self, measurement: super::tokens::TokenMeasurement) {
        self.token_measurements
            .retain(|old| (&old.board, &old.model_sha256) != (&measurement.board, &measurement.model_sha256));
        self.token_measurements.push(measurement);
        self.sort();
    }

    /// Adds `measurement`, replacing the entry of the same board, model and
    /// user dictionary.
    pub fn insert(&mut self, measurement: Measurement) {
        self.measurements.retain(|old| old.key() != measurement.key());
        self.measurements.push(measurement);
        self.sort();
    }

    fn sort(&mut self) {
        self.measurements.sort_by(|a, b| {
            (&a.board, &a.model, &a.model_sha256, &a.user_dict).cmp(&(
                &b.board,
                &b.model,
                &b.model_sha256,
                &b.user_dict,
            ))
        });
        self.line_rates
            .sort_by(|a, b| (&a.board, &a.model, &a.model_sha256).cmp(&(&b.board, &b.model, &b.model_sha256)));
        self.token_measurements
            .sort_by(|a, b| (&a.board, &a.model, &a.model_sha256).cmp(&(&b.board, &b.model, &b.model_sha256)));
    }

    /// The JSON text, pretty-printed, with a final newline.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }

    /// Writes the file to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        fs::write(path, self.to_json()?).with_context(|| format!("writing {}", path.display()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A measurement of `model` on `board` whose model hash is `sha`.
    pub(crate) fn measurement(
        board: &str,
        model: &str,
        sha: &str,
        tags: u64,
        instructions_per_char: f64,
    ) -> Measurement {
        Measurement {
            board: board.to_owned(),
            core: "Cortex-M3".to_owned(),
            model: model.to_owned(),
            model_sha256: sha.to_owned(),
            model_bytes: 1000,
            tags,
            word_list: true,
            input: "$D/icwb2/pku_test.utf8".to_owned(),
            input_bytes: 10,
            characters: 5,
            lines: 1,
            instructions_per_char,
            peak_stack_bytes: 1,
            static_ram_bytes: 2,
            ram_in_use_bytes: 3,
            code_bytes: 4,
            flash_used_bytes: 1004,
            flash_bytes: 262_144,
            forced_cuts: 0,
            identical_to_host: true,
            f1: Some(0.9),
            oov_recall: None,
            commit: "0123456789ab".to_owned(),
            dirty: false,
            generated: "2026-12-04 16:00 UTC".to_owned(),
            measured_by: "cargo xtask firmware measure".to_owned(),
            user_dict: None,
            user_dict_sha256: None,
        }
    }

    #[test]
    fn a_measurement_with_a_user_dictionary_keeps_the_models_own_entry() {
        let mut file = MeasurementFile::default();
        file.insert(measurement("mps2-an386", "models/default.crfm", "aa", 4, 1465.5));
        let mut with_dict = measurement("mps2-an386", "models/default.crfm", "aa", 4, 1884.3);
        with_dict.user_dict = Some("target/user-dict/pfr-top10k.txt".to_owned());
        with_dict.user_dict_sha256 = Some("cc".to_owned());
        file.insert(with_dict.clone());
        with_dict.instructions_per_char = 1900.0;
        file.insert(with_dict);
        let entries: Vec<(Option<&str>, f64)> = file
            .measurements
            .iter()
            .map(|entry| (entry.user_dict_sha256.as_deref(), entry.instructions_per_char))
            .collect();
        assert_eq!(entries, [(None, 1465.5), (Some("cc"), 1900.0)]);
        let json = file.to_json().unwrap();
        assert_eq!(json.matches("user_dict_sha256").count(), 1, "absent for the entry without one: {json}");
    }

    #[test]
    fn a_new_measurement_replaces_the_same_board_and_model_and_keeps_the_others() {
        let mut file = MeasurementFile::default();
        file.insert(measurement("mps2-an386", "models/default.crfm", "aa", 4, 10.0));
        file.insert(measurement("lm3s6965evb", "models/default.crfm", "aa", 4, 20.0));
        file.insert(measurement("lm3s6965evb", "target/pku-160k.crfm", "bb", 4, 30.0));
        // The same model under another path is the same model.
        file.insert(measurement("lm3s6965evb", "elsewhere/default.crfm", "aa", 4, 40.0));
        let entries: Vec<(&str, &str, f64)> = file
            .measurements
            .iter()
            .map(|entry| (entry.board.as_str(), entry.model.as_str(), entry.instructions_per_char))
            .collect();
        assert_eq!(
            entries,
            [
                ("lm3s6965evb", "elsewhere/default.crfm", 40.0),
                ("lm3s6965evb", "target/pku-160k.crfm", 30.0),
                ("mps2-an386", "models/default.crfm", 10.0),
            ]
        );
    }

    #[test]
    fn the_file_keeps_its_keys_and_reads_back_what_it_wrote() {
        let mut file = MeasurementFile { command: "cargo xtask firmware measure".to_owned(), ..Default::default() };
        file.insert(measurement("lm3s6965evb", "models/default.crfm", "aa", 4, 1234.5));
        let json = file.to_json().unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        let entry = &value["measurements"][0];
        for key in [
            "board",
            "core",
            "model",
            "model_sha256",
            "model_bytes",
            "tags",
            "word_list",
            "input",
            "input_bytes",
            "characters",
            "lines",
            "instructions_per_char",
            "peak_stack_bytes",
            "static_ram_bytes",
            "ram_in_use_bytes",
            "code_bytes",
            "flash_used_bytes",
            "flash_bytes",
            "forced_cuts",
            "identical_to_host",
            "f1",
            "oov_recall",
            "commit",
            "dirty",
            "generated",
        ] {
            assert!(entry.get(key).is_some(), "no `{key}` in {entry}");
        }
        assert_eq!(entry["oov_recall"], serde_json::Value::Null);
        assert_eq!(value["command"], "cargo xtask firmware measure");
        assert_eq!(MeasurementFile::parse(&json).unwrap(), file);
        assert!(MeasurementFile::parse("{\"measurements\": 3}").is_err());
    }

    #[test]
    fn a_missing_file_holds_no_measurements_and_a_broken_one_is_named() {
        let dir = std::env::temp_dir().join(format!("xtask-record-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        assert!(MeasurementFile::load(&dir.join("absent.json")).unwrap().measurements.is_empty());
        let broken = dir.join("broken.json");
        fs::write(&broken, "{").unwrap();
        let error = format!("{:#}", MeasurementFile::load(&broken).unwrap_err());
        assert!(error.contains("broken.json"), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }
}

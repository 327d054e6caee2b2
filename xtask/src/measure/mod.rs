//! Streaming text through the firmware's segmenter under QEMU, and the
//! figures it logs: instructions per character, stack, RAM and flash.
//!
//! The firmware ends its input at EOT (0x04) and logs `key=value` pairs
//! (firmware/src/app.rs); [`Figures`] reads them back. [`session`] turns a
//! run into a [`record::Measurement`] (with the host's view from [`host`]),
//! and [`record`] keeps them in `docs/firmware.json`.

pub mod host;
pub mod record;
pub mod serial;
pub mod session;
pub mod tokens;

use std::{
    collections::BTreeMap,
    env, fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::{
    firmware::Board,
    qemu::{self, RunOptions, RunOutcome},
    toolchain::Toolchain,
    workspace_root,
};

/// End of transmission: the byte that ends the firmware's input.
pub const EOT: u8 = 0x04;

/// The environment variable that points at the corpora.
pub const DATA_DIR_VARIABLE: &str = "CRF_DATA_DIR";

/// The corpora: `CRF_DATA_DIR`, else `<workspace>/../shared/data`.
pub fn data_dir() -> PathBuf {
    match env::var_os(DATA_DIR_VARIABLE) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("..").join("shared").join("data"),
    }
}

/// The PKU test input of the SIGHAN 2005 bakeoff, if present.
pub fn pku_test_input() -> Option<PathBuf> {
    let path = data_dir().join("icwb2").join("pku_test.utf8");
    path.is_file().then_some(path)
}

/// The committed sample text used when the corpora are absent.
pub fn sample_input() -> PathBuf {
    workspace_root().join("tests").join("data").join("sample.utf8")
}

/// The figures a segmenter run logged, by key.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    values: BTreeMap<String, String>,
}

impl Figures {
    /// Collects every `key=value` token of the log (a later value of the
    /// same key replaces an earlier one: the end-of-run report wins).
    pub fn parse(defmt_log: &str) -> Self {
        let mut values = BTreeMap::new();
        for token in defmt_log.split_whitespace() {
            if let Some((key, value)) = token.split_once('=') {
                let is_key = !key.is_empty() && key.bytes().all(|byte| byte.is_ascii_lowercase() || byte == b'_');
                if is_key {
                    values.insert(key.to_owned(), value.trim_matches(|c| c == '"' || c == ',').to_owned());
                }
            }
        }
        Self { values }
    }

    /// The value of `key` as an integer.
    pub fn integer(&self, key: &str) -> Result<u64> {
        let value = self.values.get(key).with_context(|| format!("the firmware logged no `{key}=`"))?;
        value.parse().with_context(|| format!("`{key}={value}` is not an integer"))
    }

    /// The value of `key` as a number.
    pub fn number(&self, key: &str) -> Result<f64> {
        let value = self.values.get(key).with_context(|| format!("the firmware logged no `{key}=`"))?;
        value.parse().with_context(|| format!("`{key}={value}` is not a number"))
    }
}

/// What the segmenter costs on a board, from one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SegmenterFigures {
    /// Instructions executed inside the segmenter per input character
    /// (under `-icount shift=0`).
    pub instructions_per_char: f64,
    /// Deepest stack use of the whole run, in bytes.
    pub peak_stack: u64,
    /// Static RAM (`.data`, `.bss`, `.uninit`), in bytes.
    pub static_ram: u64,
    /// Static RAM plus peak stack.
    pub ram_in_use: u64,
    /// Flash taken by the image, in bytes.
    pub flash: u64,
    /// Flash other than the model: code, constants, `.data` initial values.
    pub flash_code: u64,
    /// Flash taken by the embedded model.
    pub flash_model: u64,
    /// Input bytes the firmware received (EOT excluded).
    pub bytes_in: u64,
    /// Input characters.
    pub characters: u64,
    /// Output bytes the firmware sent.
    pub bytes_out: u64,
    /// Forced cuts of the streaming Viterbi.
    pub forced_cuts: u64,
}

impl SegmenterFigures {
    /// Reads the figures from a run's defmt log.
    pub fn from_log(defmt_log: &str) -> Result<Self> {
        let figures = Figures::parse(defmt_log);
        Ok(Self {
            instructions_per_char: figures.number("instructions_per_char")?,
            peak_stack: figures.integer("peak_stack")?,
            static_ram: figures.integer("static_ram")?,
            ram_in_use: figures.integer("ram_in_use")?,
            flash: figures.integer("flash")?,
            flash_code: figures.integer("flash_code")?,
            flash_model: figures.integer("flash_model")?,
            bytes_in: figures.integer("bytes_in")?,
            characters: figures.integer("characters")?,
            bytes_out: figures.integer("bytes_out")?,
            forced_cuts: figures.integer("forced_cuts")?,
        })
    }
}

impl fmt::Display for SegmenterFigures {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{:.1} instructions/char, peak stack {} B, static RAM {} B, RAM in use {} B ({:.1} KiB), \
             flash {} B ({:.1} KiB) = code {} + model {}",
            self.instructions_per_char,
            self.peak_stack,
            self.static_ram,
            self.ram_in_use,
            self.ram_in_use as f64 / 1024.0,
            self.flash,
            self.flash as f64 / 1024.0,
            self.flash_code,
            self.flash_model
        )
    }
}

/// A segmenter run under QEMU.
#[derive(Debug, Clone)]
pub struct SegmenterRun {
    /// How QEMU ended and what it produced (UART0 output: the segmented text).
    pub outcome: RunOutcome,
    /// The figures, if the run got as far as logging them.
    pub figures: Option<SegmenterFigures>,
}

impl SegmenterRun {
    /// Input bytes per second of wall-clock time (QEMU included).
    pub fn throughput(&self, input_bytes: usize) -> f64 {
        input_bytes as f64 / self.outcome.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Streams `input` (then EOT) through the segmenter image `elf` on `board`
/// under `qemu -icount shift=0`, and collects its output and figures.
pub fn run_segmenter(
    toolchain: &Toolchain,
    board: Board,
    elf: &Path,
    input: &[u8],
    timeout: Duration,
) -> Result<SegmenterRun> {
    run_segmenter_with(toolchain, board, elf, input, RunOptions { timeout, icount: true, ..RunOptions::default() })
}

/// Like [`run_segmenter`], with the run's other `options` given (their
/// UART input is replaced by `input` and EOT).
pub fn run_segmenter_with(
    toolchain: &Toolchain,
    board: Board,
    elf: &Path,
    input: &[u8],
    mut options: RunOptions,
) -> Result<SegmenterRun> {
    if input.contains(&EOT) {
        bail!("the input contains EOT (0x04), which would end it early");
    }
    let mut uart_input = input.to_vec();
    uart_input.push(EOT);
    options.uart_input = uart_input;
    let outcome = qemu::run(toolchain, board, elf, &options)?;
    let figures = SegmenterFigures::from_log(&outcome.defmt_log).ok();
    Ok(SegmenterRun { outcome, figures })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_from_key_value_tokens_and_the_last_one_wins() {
        let log = "INFO  memory: flash=100 flash_code=60 flash_model=40 static_ram=8 ram_in_use=9\n\
                   INFO  model: tags=\"B M E S\" bytes=40\n\
                   INFO  input: bytes_in=12 characters=10 line_feeds=2 bytes_out=16 forced_cuts=0\n\
                   INFO  segmenter: ticks=5 instructions_per_char=812.5 (instructions: valid under qemu)\n\
                   INFO  memory: peak_stack=4000 static_ram=8 ram_in_use=4008\n";
        let figures = SegmenterFigures::from_log(log).unwrap();
        assert_eq!(figures.ram_in_use, 4008);
        assert_eq!(figures.flash_model, 40);
        assert_eq!(figures.instructions_per_char, 812.5);
        assert_eq!(Figures::parse(log).values.get("tags").map(String::as_str), Some("B"));
        assert!(SegmenterFigures::from_log("INFO  boot: board=x").is_err());
    }
}

//! Token-level models on the firmware (format version 6): a CoNLL file streamed over UART0, one answer
//! line per input line back (firmware/src/uart_tokens.rs), compared with the tag column that `trainer
//! label` appends, and the figures the firmware logs per token.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::{data_dir, Figures};

/// CoNLL-2003's English test set (`conll2003/eng.testb` under the data directory), if present.
pub fn conll2003_test() -> Option<PathBuf> {
    let path = data_dir().join("conll2003").join("eng.testb");
    path.is_file().then_some(path)
}

/// The column `trainer label` appends, one line per line of its output: the last white-space separated
/// field of each line, or an empty line for a blank one. This is what the firmware answers.
pub fn tag_column(labelled: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labelled.len() / 4);
    for line in labelled.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if let Some(last) = line.split(|b| b.is_ascii_whitespace()).rfind(|field| !field.is_empty()) {
            out.extend_from_slice(last);
        }
        out.push(b'\n');
    }
    out
}

/// What the token labeler costs on a board, from one run's log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenFigures {
    /// Instructions executed inside the labeler per token labelled (under `-icount shift=0`).
    pub instructions_per_token: f64,
    /// Input lines answered.
    pub lines: u64,
    /// Tokens labelled.
    pub tokens: u64,
    /// Sentences labelled (the parts of split ones included).
    pub sentences: u64,
    /// Sentences split because they outgrew the labeler's buffer.
    pub split_sentences: u64,
    /// Lines answered with an error (`!code`).
    pub error_lines: u64,
    /// Input bytes the firmware received (EOT excluded).
    pub bytes_in: u64,
    /// Output bytes the firmware sent.
    pub bytes_out: u64,
    /// Deepest stack use of the whole run, in bytes.
    pub peak_stack: u64,
    /// Static RAM (`.data`, `.bss`, `.uninit`), in bytes.
    pub static_ram: u64,
    /// Static RAM plus peak stack.
    pub ram_in_use: u64,
    /// The labeler's state (on the stack, part of the peak stack), in bytes.
    pub labeler_state: u64,
    /// Flash taken by the image, in bytes.
    pub flash: u64,
    /// Flash other than the model.
    pub flash_code: u64,
    /// Flash taken by the embedded model.
    pub flash_model: u64,
}

impl TokenFigures {
    /// Reads the figures from a token run's defmt log.
    pub fn from_log(defmt_log: &str) -> Result<Self> {
        let figures = Figures::parse(defmt_log);
        Ok(Self {
            instructions_per_token: figures.number("instructions_per_token")?,
            lines: figures.integer("lines")?,
            tokens: figures.integer("tokens")?,
            sentences: figures.integer("sentences")?,
            split_sentences: figures.integer("split_sentences")?,
            error_lines: figures.integer("error_lines")?,
            bytes_in: figures.integer("bytes_in")?,
            bytes_out: figures.integer("bytes_out")?,
            peak_stack: figures.integer("peak_stack")?,
            static_ram: figures.integer("static_ram")?,
            ram_in_use: figures.integer("ram_in_use")?,
            labeler_state: figures.integer("labeler_state")?,
            flash: figures.integer("flash")?,
            flash_code: figures.integer("flash_code")?,
            flash_model: figures.integer("flash_model")?,
        })
    }
}

impl fmt::Display for TokenFigures {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{:.1} instructions/token, peak stack {} B (labeler state {} B), static RAM {} B, RAM in use {} B \
             ({:.1} KiB), flash {} B ({:.1} KiB) = code {} + model {}; {} lines, {} tokens, {} sentences, {} split, \
             {} error lines",
            self.instructions_per_token,
            self.peak_stack,
            self.labeler_state,
            self.static_ram,
            self.ram_in_use,
            self.ram_in_use as f64 / 1024.0,
            self.flash,
            self.flash as f64 / 1024.0,
            self.flash_code,
            self.flash_model,
            self.lines,
            self.tokens,
            self.sentences,
            self.split_sentences,
            self.error_lines
        )
    }
}

/// One board labelling one CoNLL input with one token-level model, in `docs/firmware.json`
/// (`token_measurements`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenMeasurement {
    /// The board (its QEMU machine).
    pub board: String,
    /// Its processor core.
    pub core: String,
    /// The embedded model file, as in `Measurement::model`.
    pub model: String,
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// Size of the model file.
    pub model_bytes: u64,
    /// The input, with the data directory written as `$D`.
    pub input: String,
    /// Bytes of input.
    pub input_bytes: u64,
    /// Input lines.
    pub lines: u64,
    /// Tokens labelled.
    pub tokens: u64,
    /// Sentences labelled.
    pub sentences: u64,
    /// Instructions executed in the labeler per token (`-icount shift=0`).
    pub instructions_per_token: f64,
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
    /// The firmware's answers equal the tag column of `trainer label` of the same input.
    pub identical_to_host: bool,
    /// conlleval's entity F1 (percent) of `trainer eval` on the input (the firmware's tags are the same
    /// when `identical_to_host`).
    pub f1: Option<f64>,
    /// The commit measured (12 hex digits; `unknown` outside git).
    pub commit: String,
    /// Tracked files differed from that commit.
    pub dirty: bool,
    /// When: `2026-12-04 16:00 UTC`.
    pub generated: String,
    /// The command that measured this entry.
    pub measured_by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_column_is_the_last_field_of_each_line() {
        let labelled = b"-DOCSTART- -X- O O\n\nEU NNP B-NP I-ORG I-ORG\nrejects VBZ B-VP O O\n  \n";
        assert_eq!(tag_column(labelled), b"O\n\nI-ORG\nO\n\n");
        assert_eq!(tag_column(b""), b"");
    }

    #[test]
    fn token_figures_are_read_from_the_log() {
        let log = "INFO  memory: flash=100 flash_code=60 flash_model=40 static_ram=8 labeler_state=7 ram_in_use=9\n\
                   INFO  input: bytes_in=12 lines=5 tokens=3 sentences=1 split_sentences=0 error_lines=1 bytes_out=9\n\
                   INFO  labeler: ticks=5 instructions_per_token=812.5 (instructions: valid under qemu)\n\
                   INFO  memory: peak_stack=4000 static_ram=8 ram_in_use=4008\n";
        let figures = TokenFigures::from_log(log).unwrap();
        assert_eq!((figures.tokens, figures.error_lines, figures.ram_in_use), (3, 1, 4008));
        assert_eq!(figures.instructions_per_token, 812.5);
        assert!(TokenFigures::from_log("INFO  input: bytes_in=12 characters=3").is_err());
    }
}

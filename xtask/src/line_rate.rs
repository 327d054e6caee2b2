//! `cargo xtask firmware line-rate`: the highest standard baud rate at which
//! a board takes a whole input, paced as a real serial line would deliver
//! it (the firmware's `line-rate` build: a timer takes one byte per byte
//! period at the board's documented core clock), without losing a byte and
//! answering like the host; and the next rate up, whose loss the firmware
//! must count.
//!
//! The input reaches the timer one of three ways ([`InputSource`]): embedded
//! in the image's flash, on boards with room for it; read from the host file
//! through semihosting, on the boards whose flash cannot hold it (in both,
//! the line never idles and a run under `-icount` repeats exactly); or over
//! UART0, which QEMU feeds in real time, falling behind on a loaded host.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::{
    firmware::{self, Board, CargoOutput, FirmwareBuild},
    measure::{self, serial::SerialFigures, Figures},
    qemu::{RunOptions, RunOutcome},
    toolchain::Toolchain,
};

/// The firmware feature of the line-rate build.
pub const LINE_RATE_FEATURE: &str = "line-rate";
/// The firmware feature of the line-rate build whose input is in flash.
pub const LINE_INPUT_FLASH_FEATURE: &str = "line-input-flash";
/// The firmware feature of the line-rate build that reads its input from a
/// host file through semihosting.
pub const LINE_INPUT_SEMIHOSTING_FEATURE: &str = "line-input-semihosting";

/// Where the line-rate build's timer takes each input byte from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputSource {
    /// The input embedded in flash at build time (`CRF_LINE_INPUT`), then
    /// EOT: never late, deterministic under `-icount`.
    Flash,
    /// The input file on the host (`CRF_LINE_INPUT`, its path built in),
    /// read through semihosting 256 bytes at a time, then EOT: a test
    /// harness (a semihosting call costs the emulated clock only its trap
    /// under `-icount shift=0,sleep=off`), never late, deterministic.
    Semihosting,
    /// UART0, fed by QEMU in real time from what the host sends.
    Uart,
}

impl InputSource {
    /// Flash on the boards with room for the PKU test input beside the
    /// firmware (4 MiB on the MPS2 boards, 1 MiB on the Netduino Plus 2);
    /// the host file through semihosting on the others (256 KiB of flash
    /// each, about 200 KiB of it the model).
    pub fn for_board(board: Board) -> Self {
        if matches!(board, Board::Mps2An385 | Board::Mps2An386 | Board::Mps2An505 | Board::Netduinoplus2) {
            InputSource::Flash
        } else {
            InputSource::Semihosting
        }
    }

    /// `flash`, `semihosting` or `uart` (the firmware logs the same as
    /// `input_source=`).
    pub fn name(self) -> &'static str {
        match self {
            InputSource::Flash => "flash",
            InputSource::Semihosting => "semihosting",
            InputSource::Uart => "uart",
        }
    }
}

impl std::fmt::Display for InputSource {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The input of a line-rate run: its bytes, and a file holding them (which
/// a flash-fed build embeds and a semihosting-fed one reads).
#[derive(Debug, Clone)]
pub struct LineInput {
    /// The file.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl LineInput {
    /// The input in the file `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Self { path: path.to_owned(), bytes })
    }

    /// `bytes` as an input, written to `name` under firmware/target/line-input
    /// (left untouched if it already holds them, so the image is not rebuilt).
    pub fn staged(name: &str, bytes: Vec<u8>) -> Result<Self> {
        let dir = crate::firmware_dir().join("target").join("line-input");
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(name);
        if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(Self { path, bytes })
    }
}

/// The standard rates tried, lowest first.
pub const STANDARD_BAUD_RATES: [u32; 8] = [9_600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600];

/// Where the search starts when no rate is given: the rate users expect.
pub const DEFAULT_START_BAUD: u32 = 115_200;

/// One run of the line-rate build at one baud rate.
#[derive(Debug, Clone)]
pub struct LineRateRun {
    /// The rate.
    pub baud: u32,
    /// Where the timer took the input from.
    pub source: InputSource,
    /// What QEMU produced.
    pub outcome: RunOutcome,
    /// What the serial port received and lost (`None`: not logged).
    pub serial: Option<SerialFigures>,
    /// The board's core clock, from its boot line.
    pub core_clock_hz: Option<u64>,
    /// The UART output equals the host's segmentation.
    pub identical_to_host: bool,
    /// Byte periods from the first byte to EOT, and those that found no byte
    /// waiting (the line ran slower there: QEMU feeds the UART in real time).
    pub byte_periods: Option<(u64, u64)>,
}

impl LineRateRun {
    /// Exited 0, lost nothing, and answered like the host.
    pub fn clean(&self) -> bool {
        self.outcome.success() && self.serial.is_some_and(|serial| !serial.lost_any()) && self.identical_to_host
    }

    /// Exited 0 and counted a loss.
    pub fn counted_loss(&self) -> bool {
        self.outcome.success() && self.serial.is_some_and(|serial| serial.lost_any())
    }

    /// The share of byte periods, in percent, that found no byte waiting.
    pub fn idle_percent(&self) -> Option<f64> {
        self.byte_periods
            .filter(|&(periods, _)| periods > 0)
            .map(|(periods, idle)| 100.0 * idle as f64 / periods as f64)
    }

    /// Input bytes lost (overruns plus full queue).
    pub fn lost_bytes(&self) -> Option<u64> {
        self.serial.map(|serial| serial.lost_overrun + serial.lost_queue_full)
    }

    /// One line for the console.
    pub fn summary(&self) -> String {
        let serial = self.serial.map_or_else(
            || "no serial figures".to_owned(),
            |s| {
                format!(
                    "received {} B, lost {} (overrun) + {} (queue full)",
                    s.received, s.lost_overrun, s.lost_queue_full
                )
            },
        );
        let idle =
            self.idle_percent().map_or(String::new(), |idle| format!(", line idle in {idle:.1}% of byte periods"));
        format!(
            "{} baud (input from {}): {}, {serial}, output {}the host's{idle}, {:.1}s in QEMU",
            self.baud,
            self.source,
            self.outcome.exit,
            if self.identical_to_host { "identical to " } else { "differs from " },
            self.outcome.elapsed.as_secs_f64()
        )
    }
}

/// Builds the line-rate image of `board` for `baud` (and `model`, if not the
/// default; cargo's output shown only if the build fails) with its input
/// from `source`, and runs `input` through it: embedded in the image
/// (flash), read from its file by the image (semihosting), or sent over
/// UART0; `expected` is the host's answer.
#[allow(clippy::too_many_arguments)]
pub fn run_at(
    toolchain: &Toolchain,
    board: Board,
    source: InputSource,
    model: Option<&Path>,
    baud: u32,
    input: &LineInput,
    expected: &[u8],
    timeout: Duration,
) -> Result<LineRateRun> {
    let mut image = match source {
        InputSource::Flash => {
            FirmwareBuild::with_features(board, &[LINE_INPUT_FLASH_FEATURE]).with_line_input(&input.path)
        }
        InputSource::Semihosting => {
            FirmwareBuild::with_features(board, &[LINE_INPUT_SEMIHOSTING_FEATURE]).with_line_input(&input.path)
        }
        InputSource::Uart => FirmwareBuild::with_features(board, &[LINE_RATE_FEATURE]),
    }
    .with_baud(baud);
    if let Some(model) = model {
        image = image.with_model(model);
    }
    let elf = firmware::build(toolchain, &image, CargoOutput::OnFailure)?;
    let options = RunOptions { timeout, icount: true, prompt_reader: true, ..RunOptions::default() };
    let outcome = match source {
        // Nothing comes from the host's UART feed, so nothing from outside
        // sets the pace.
        InputSource::Flash | InputSource::Semihosting => {
            let options = RunOptions { without_host_input: true, ..options };
            crate::qemu::run(toolchain, board, &elf, &options)
        }
        InputSource::Uart => {
            measure::run_segmenter_with(toolchain, board, &elf, &input.bytes, options).map(|run| run.outcome)
        }
    }
    .with_context(|| format!("running {}", image.image_name()))?;
    let serial = SerialFigures::from_log(&outcome.defmt_log).ok();
    let figures = Figures::parse(&outcome.defmt_log);
    let core_clock_hz = figures.integer("core_clock_hz").ok();
    let byte_periods = figures.integer("byte_periods").ok().zip(figures.integer("idle_byte_periods").ok());
    let identical_to_host = outcome.uart_output == expected;
    Ok(LineRateRun { baud, source, outcome, serial, core_clock_hz, identical_to_host, byte_periods })
}

/// The standard rate just above `baud`, if any.
pub fn next_rate_above(baud: u32) -> Option<u32> {
    STANDARD_BAUD_RATES.into_iter().find(|&rate| rate > baud)
}

/// The standard rate just below `baud`, if any.
pub fn next_rate_below(baud: u32) -> Option<u32> {
    STANDARD_BAUD_RATES.into_iter().rev().find(|&rate| rate < baud)
}

/// The outcome of a search: the sustained rate's run and the lossy run above it.
#[derive(Debug, Clone)]
pub struct LineRateSearch {
    /// The highest run that proves its rate (`None`: none did).
    pub sustained: Option<LineRateRun>,
    /// The first run above it that lost input (`None`: none did, up to 921600).
    pub lossy: Option<LineRateRun>,
}

/// A clean run proves its rate only if the UART was kept fed: QEMU fills it
/// in real time, and above some rate it falls behind, so the line runs
/// slower than its nominal rate. Above this share of idle byte periods a
/// clean run proves nothing.
pub const MAX_IDLE_PERCENT: f64 = 5.0;

impl LineRateRun {
    /// Clean, with the input at (nearly) the nominal rate.
    pub fn proves_rate(&self) -> bool {
        self.clean() && self.idle_percent().is_some_and(|idle| idle < MAX_IDLE_PERCENT)
    }
}

/// Finds the highest standard rate that a run proves ([`LineRateRun::proves_rate`]),
/// starting at `start` and moving up while runs prove theirs or down while
/// they do not; then, from the rate above it, the first rate that loses
/// input, to show the loss counted. `run` runs one rate. A run that fails, or
/// loses nothing yet answers unlike the host, or loses bytes without counting
/// them, is an error: the firmware is broken.
pub fn search(start: u32, mut run: impl FnMut(u32) -> Result<LineRateRun>) -> Result<LineRateSearch> {
    let mut done: Vec<LineRateRun> = Vec::new();
    let mut at = |baud: u32, done: &mut Vec<LineRateRun>| -> Result<LineRateRun> {
        if let Some(earlier) = done.iter().find(|earlier| earlier.baud == baud) {
            return Ok(earlier.clone());
        }
        let line_rate_run = run(baud)?;
        println!("line-rate: {}", line_rate_run.summary());
        if !line_rate_run.clean() && !line_rate_run.counted_loss() {
            bail!(
                "at {baud} baud the firmware failed or lost input without counting it:\n{}",
                line_rate_run.outcome.report()
            );
        }
        done.push(line_rate_run.clone());
        Ok(line_rate_run)
    };

    let first = at(start, &mut done)?;
    let sustained = if first.proves_rate() {
        let mut sustained = first;
        while let Some(higher) = next_rate_above(sustained.baud) {
            let next = at(higher, &mut done)?;
            if !next.proves_rate() {
                break;
            }
            sustained = next;
        }
        Some(sustained)
    } else {
        let mut found = None;
        let mut baud = start;
        while let Some(lower) = next_rate_below(baud) {
            let next = at(lower, &mut done)?;
            if next.proves_rate() {
                found = Some(next);
                break;
            }
            baud = lower;
        }
        found
    };

    let mut lossy = None;
    let mut baud = sustained.as_ref().map_or(STANDARD_BAUD_RATES[0], |run| run.baud);
    if sustained.is_none() {
        let lowest = at(baud, &mut done)?;
        if lowest.counted_loss() {
            lossy = Some(lowest);
        }
    }
    while lossy.is_none() {
        let Some(higher) = next_rate_above(baud) else { break };
        let next = at(higher, &mut done)?;
        if next.counted_loss() {
            lossy = Some(next);
        }
        baud = higher;
    }
    Ok(LineRateSearch { sustained, lossy })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::qemu::QemuExit;

    /// A run at `baud` that lost `lost` bytes with the line idle in
    /// `idle_percent` of its byte periods.
    fn fake_run(baud: u32, lost: u64, idle_percent: u64) -> LineRateRun {
        let outcome = RunOutcome {
            exit: QemuExit::Code(0),
            uart_output: Vec::new(),
            defmt_log: String::new(),
            qemu_stderr: String::new(),
            elapsed: Duration::from_secs(1),
        };
        LineRateRun {
            baud,
            source: InputSource::Uart,
            outcome,
            serial: Some(SerialFigures { received: 1000, lost_overrun: 0, lost_queue_full: lost }),
            core_clock_hz: Some(50_000_000),
            identical_to_host: lost == 0,
            byte_periods: Some((100, idle_percent)),
        }
    }

    #[test]
    fn the_search_keeps_only_rates_the_line_really_ran_at_and_finds_the_first_lossy_one_above() {
        // Lossless up to 460800, but QEMU kept the UART fed only up to 230400.
        let board = |baud: u32| match baud {
            ..=230_400 => fake_run(baud, 0, 1),
            460_800 => fake_run(baud, 0, 40),
            _ => fake_run(baud, 99, 60),
        };
        let mut tried = Vec::new();
        let found = search(115_200, |baud| {
            tried.push(baud);
            Ok(board(baud))
        })
        .unwrap();
        assert_eq!(found.sustained.map(|run| run.baud), Some(230_400));
        assert_eq!(found.lossy.map(|run| run.baud), Some(921_600));
        assert_eq!(tried, [115_200, 230_400, 460_800, 921_600]);

        // Starting too high, the search goes down, and every rate runs once.
        let mut tried = Vec::new();
        let found = search(921_600, |baud| {
            tried.push(baud);
            Ok(board(baud))
        })
        .unwrap();
        assert_eq!(found.sustained.map(|run| run.baud), Some(230_400));
        assert_eq!(found.lossy.map(|run| run.baud), Some(921_600));
        assert_eq!(tried, [921_600, 460_800, 230_400]);
    }

    #[test]
    fn an_uncounted_loss_is_an_error() {
        let error = search(115_200, |baud| {
            let mut run = fake_run(baud, 0, 0);
            run.identical_to_host = false;
            Ok(run)
        })
        .unwrap_err();
        assert!(error.to_string().contains("without counting it"), "{error}");
    }

    #[test]
    fn neighbouring_rates_are_the_standard_ones() {
        assert_eq!(next_rate_above(115_200), Some(230_400));
        assert_eq!(next_rate_above(100_000), Some(115_200));
        assert_eq!(next_rate_above(921_600), None);
        assert_eq!(next_rate_below(9_600), None);
        assert_eq!(next_rate_below(57_600), Some(38_400));
    }
}

/// What `cargo xtask firmware line-rate` was asked.
#[derive(Debug, Clone)]
pub struct LineRateRequest {
    /// The board.
    pub board: Board,
    /// The rate to start at (default [`DEFAULT_START_BAUD`]).
    pub start_baud: Option<u32>,
    /// The model to embed (default: models/default.crfm).
    pub model: Option<std::path::PathBuf>,
    /// QEMU's time limit per run.
    pub timeout: Duration,
    /// The command line, for the record.
    pub command_line: String,
}

/// Runs the search on the PKU test input (the committed sample without the
/// corpora) and records it in docs/firmware.json.
pub fn measure_and_record(request: &LineRateRequest) -> Result<LineRateSearch> {
    use crate::{
        measure::{
            host::{sha256_of, Trainer},
            record::{self, LineRate, MeasurementFile},
            session::shown_model_path,
        },
        util::{self, shown_path, GitState},
    };

    let toolchain = Toolchain::setup()?;
    let input_path = measure::pku_test_input().unwrap_or_else(|| {
        println!("line-rate: no PKU test input under {}; using the committed sample", measure::data_dir().display());
        measure::sample_input()
    });
    let input = LineInput::read(&input_path)?;
    let source = InputSource::for_board(request.board);
    let model = request.model.clone().unwrap_or_else(firmware::default_model);
    let expected = Trainer::build()?.segment(&model, &input_path)?;
    // This command's own outputs (one run per board) do not make the
    // next board's measurement dirty.
    let git = GitState::of_workspace_ignoring(&[
        record::MEASUREMENTS_FILE,
        "docs/results.md",
        "README.md",
        "docs/frontier.md",
        "docs/frontier.svg",
    ]);
    let record_path = record::measurements_path();
    let mut record = MeasurementFile::load(&record_path)?;
    let start = request.start_baud.unwrap_or(DEFAULT_START_BAUD);
    println!(
        "line-rate: {} on {}, {} bytes from {source}, from {start} baud",
        input_path.display(),
        request.board,
        input.bytes.len()
    );

    let found = search(start, |baud| {
        run_at(&toolchain, request.board, source, request.model.as_deref(), baud, &input, &expected, request.timeout)
    })?;
    let any_run = found.sustained.as_ref().or(found.lossy.as_ref()).context("the search ran nothing")?;
    let data_dir = std::fs::canonicalize(measure::data_dir()).unwrap_or_else(|_| measure::data_dir());
    let input_shown = shown_path(&std::fs::canonicalize(&input_path).unwrap_or(input_path.clone()), &data_dir);
    record.insert_line_rate(LineRate {
        board: request.board.name().to_owned(),
        core: request.board.core().to_owned(),
        core_clock_hz: any_run.core_clock_hz.context("the firmware logged no core_clock_hz=")?,
        model: shown_model_path(&model),
        model_sha256: sha256_of(&model)?,
        input: input_shown,
        input_bytes: input.bytes.len() as u64,
        input_source: Some(source.name().to_owned()),
        sustained_baud: found.sustained.as_ref().map(|run| run.baud),
        sustained_idle_percent: found.sustained.as_ref().and_then(LineRateRun::idle_percent),
        lossy_baud: found.lossy.as_ref().map(|run| run.baud),
        lossy_lost_bytes: found.lossy.as_ref().and_then(LineRateRun::lost_bytes),
        commit: git.commit.clone().unwrap_or_else(|| "unknown".to_owned()),
        dirty: git.dirty,
        generated: util::now_utc()?,
        measured_by: request.command_line.clone(),
    });
    record.save(&record_path)?;
    crate::results::render_all(&crate::workspace_root())?;
    println!(
        "line-rate: {} (input from {source}): sustained {} baud, {}; wrote {}",
        request.board,
        found.sustained.as_ref().map_or("no".to_owned(), |run| run.baud.to_string()),
        found.lossy.as_ref().map_or("no standard rate above".to_owned(), |run| format!(
            "{} baud loses {} bytes (counted)",
            run.baud,
            run.lost_bytes().unwrap_or_default()
        )),
        record_path.display()
    );
    Ok(found)
}

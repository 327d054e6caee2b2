//! The firmware's line-rate build under QEMU: input paced as a real serial
//! line delivers it (a timer takes one byte per byte period), from UART0,
//! from flash, or from a host file read through semihosting.
//!
//! A test binary of its own, and its tests take turns ([`ONE_EMULATOR`]),
//! so that the UART-fed run runs alone: QEMU fills the UART in real time,
//! and another emulator on the same cores starves that feed, so the line
//! runs slower than its nominal rate (reported as idle byte periods).

use std::{sync::Mutex, time::Duration};

use integration_tests::{host_segmentation, reference_input, report_line, toolchain};
use xtask::{
    firmware::{default_model, Board},
    line_rate::{self, InputSource, LineInput, LineRateRun, MAX_IDLE_PERCENT},
    measure,
};

/// Held by each test while it runs its emulator.
static ONE_EMULATOR: Mutex<()> = Mutex::new(());

/// Generous: the PKU test input takes about half a minute per run.
const LINE_RATE_TIMEOUT: Duration = Duration::from_secs(300);

/// Above this share of idle byte periods the lossy run was not fed at its
/// rate (a loaded host), and cannot show a loss.
const MAX_LOSSY_IDLE_PERCENT: f64 = 20.0;

/// `input` through the line-rate build of `board` at `baud`, the input
/// taken from `source`.
fn line_rate_run(board: Board, source: InputSource, baud: u32, input: &LineInput) -> LineRateRun {
    let toolchain = toolchain();
    let expected = host_segmentation(&default_model(), &input.bytes);
    let run = line_rate::run_at(&toolchain, board, source, None, baud, input, &expected, LINE_RATE_TIMEOUT)
        .unwrap_or_else(|error| panic!("line-rate build on {board} at {baud} baud: {error:#}"));
    report_line(&format!("line rate on {board}: {}", run.summary()));
    run
}

/// The PKU test input (or the sample) as a line-rate input.
fn reference_line_input() -> LineInput {
    let (_, input) = reference_input();
    LineInput::staged("reference-input.utf8", input).expect("staging the line-rate input")
}

/// At 115,200 baud, input paced as on a real line goes through without a
/// lost byte on the LM3S6965 at 50 MHz; at 921,600 baud (about 540 cycles a
/// byte, under what the segmenter needs) bytes are lost, and the firmware
/// counts them and still ends cleanly. (Exactly how many depends on QEMU's
/// timing, so only "some, and counted" is asserted.) Every byte on the wire
/// is accounted for in both runs.
#[test]
fn line_rate_input_is_lossless_at_115200_baud_and_loss_is_counted_above_the_sustained_rate() {
    let _alone = ONE_EMULATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let board = Board::Lm3s6965evb;
    let input = reference_line_input();
    let input_len = input.bytes.len();
    let clean = line_rate_run(board, InputSource::Uart, 115_200, &input);
    assert!(clean.clean(), "{}\n{}", clean.summary(), clean.outcome.report());
    assert_eq!(clean.serial.map(|serial| serial.received), Some(input_len as u64));
    // The input really came at the rate: QEMU kept the UART fed.
    let idle = clean.idle_percent().expect("byte periods logged");
    assert!(idle < MAX_IDLE_PERCENT, "the line was idle in {idle:.1}% of byte periods: {}", clean.summary());

    let fast = line_rate_run(board, InputSource::Uart, 921_600, &input);
    assert!(fast.outcome.success(), "{}", fast.outcome.report());
    let serial = fast.serial.expect("serial figures logged");
    assert_eq!(serial.received, input_len as u64, "every byte on the wire is accounted for");
    // QEMU never overruns the UART (it waits for FIFO room), so each lost
    // byte is a full-queue drop, and the segmented bytes make up the rest.
    let segmented = measure::Figures::parse(&fast.outcome.defmt_log).integer("bytes_in").expect("bytes_in logged");
    assert_eq!(serial.lost_overrun, 0, "{}", fast.summary());
    assert_eq!(segmented + serial.lost_queue_full, serial.received, "{}", fast.summary());
    if serial.lost_any() {
        assert!(fast.outcome.defmt_log.contains("WARN"), "the loss is a warning: {}", fast.outcome.report());
        return;
    }
    // Nothing lost: the answer must then be the host's, and the only excuse
    // is a line that did not run at its rate.
    assert!(fast.identical_to_host, "nothing lost, yet the output differs from the host's: {}", fast.summary());
    let idle = fast.idle_percent().expect("byte periods logged");
    assert!(idle > MAX_LOSSY_IDLE_PERCENT, "nothing lost at 921600 baud with the line fed: {}", fast.summary());
    report_line(&format!(
        "SKIPPED the loss check at 921600 baud: QEMU fed the line in only {:.1}% of byte periods (a loaded host)",
        100.0 - idle
    ));
}

/// Lines of the PKU test input (or the sample) in the flash- and
/// semihosting-fed tests: a run takes seconds, not the whole input's half
/// minute.
const PREFIX_INPUT_LINES: usize = 300;

/// The first [`PREFIX_INPUT_LINES`] lines of the PKU test input (or the
/// sample), staged as `name`.
fn prefix_line_input(name: &str) -> LineInput {
    let (_, reference) = reference_input();
    let lines: Vec<&[u8]> = reference.split_inclusive(|&byte| byte == b'\n').take(PREFIX_INPUT_LINES).collect();
    LineInput::staged(name, lines.concat()).expect("staging the line-rate input")
}

/// The segmented bytes and the byte periods of `run`, which must have taken
/// every byte of an input of `input_len` bytes, from its flash or its host
/// file, and accounted for each.
fn accounted(run: &LineRateRun, input_len: usize) -> (u64, u64) {
    assert!(run.outcome.success(), "{}", run.outcome.report());
    let serial = run.serial.expect("serial figures logged");
    assert_eq!(serial.received, input_len as u64, "every byte on the line is taken: {}", run.summary());
    let figures = measure::Figures::parse(&run.outcome.defmt_log);
    // The input came from the source the run was built for, all of it.
    let source = format!("input_source={}", run.source);
    assert!(run.outcome.defmt_log.contains(&source), "{source} not logged: {}", run.outcome.report());
    assert_eq!(figures.integer("source_bytes").ok(), Some(input_len as u64), "{}", run.outcome.report());
    let segmented = figures.integer("bytes_in").expect("bytes_in logged");
    assert_eq!(serial.lost_overrun, 0, "the UART carries no input: {}", run.summary());
    assert_eq!(segmented + serial.lost_queue_full, serial.received, "{}", run.summary());
    // The flash never makes the line wait: one byte in every period.
    let (periods, idle) = run.byte_periods.expect("byte periods logged");
    assert_eq!(idle, 0, "{}", run.summary());
    (segmented, periods)
}

/// With the input in flash the timer never waits for QEMU's UART feed:
/// on the MPS2 AN386 (Cortex-M4 at 25 MHz) at 115,200 baud every byte
/// arrives on time and goes through, answered like the host; at 921,600
/// baud (271 cycles a byte, under what the segmenter needs) bytes are lost,
/// each counted, and under `-icount` two runs lose exactly the same bytes
/// and answer exactly alike.
#[test]
fn flash_fed_input_is_lossless_at_115200_baud_and_loses_the_same_counted_bytes_in_every_run_above() {
    let _alone = ONE_EMULATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let board = Board::Mps2An386;
    let input = prefix_line_input("flash-test-input.utf8");
    let input_len = input.bytes.len();

    lossless_run(board, InputSource::Flash, 115_200, &input);
    let lost = lossy_runs_repeat(board, InputSource::Flash, 921_600, &input);
    report_line(&format!("flash-fed line rate on {board}: 921600 baud loses {lost} of {input_len} bytes in both runs"));
}

/// A run at `baud` that loses nothing, answers like the host and takes one
/// byte period per input byte, and one for EOT (not counted as input).
fn lossless_run(board: Board, source: InputSource, baud: u32, input: &LineInput) -> LineRateRun {
    let input_len = input.bytes.len();
    let clean = line_rate_run(board, source, baud, input);
    assert!(clean.clean(), "{}\n{}", clean.summary(), clean.outcome.report());
    let (segmented, periods) = accounted(&clean, input_len);
    assert_eq!(segmented, input_len as u64);
    assert_eq!(periods, input_len as u64 + 1, "{}", clean.summary());
    clean
}

/// Two runs at `baud` (above the sustained rate) that lose bytes, count and
/// report the loss as a warning, and lose and answer exactly alike: the
/// bytes lost.
fn lossy_runs_repeat(board: Board, source: InputSource, baud: u32, input: &LineInput) -> u64 {
    let input_len = input.bytes.len();
    let first = line_rate_run(board, source, baud, input);
    let second = line_rate_run(board, source, baud, input);
    let lost = first.lost_bytes().expect("serial figures logged");
    assert!(lost > 0, "nothing lost at {baud} baud: {}", first.summary());
    assert!(first.outcome.defmt_log.contains("WARN"), "the loss is a warning: {}", first.outcome.report());
    assert!(!first.identical_to_host, "bytes were lost, yet the answer is the host's: {}", first.summary());
    let (first_segmented, _) = accounted(&first, input_len);
    let (second_segmented, _) = accounted(&second, input_len);
    assert_eq!(second.lost_bytes(), Some(lost), "{} / {}", first.summary(), second.summary());
    assert_eq!(second_segmented, first_segmented);
    assert!(second.outcome.uart_output == first.outcome.uart_output, "two runs answered differently");
    lost
}

/// Where flash cannot hold the input, the timer reads it from the host file
/// through semihosting, which under `-icount shift=0,sleep=off` costs the
/// emulated clock only the trap: on the micro:bit (Cortex-M0 at 16 MHz) at
/// 115,200 baud every byte arrives on time and goes through, answered like
/// the host; at 230,400 baud (694 cycles a byte, under the segmenter's
/// average of about 975 per byte there) bytes are lost, each counted, and
/// two runs lose exactly the same bytes and answer exactly alike.
#[test]
fn semihosted_input_on_the_microbit_is_lossless_at_115200_baud_and_loses_the_same_counted_bytes_in_every_run_above() {
    let _alone = ONE_EMULATOR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let board = Board::Microbit;
    let input = prefix_line_input("semihosted-test-input.utf8");
    let input_len = input.bytes.len();

    let clean = lossless_run(board, InputSource::Semihosting, 115_200, &input);
    // The file came in 256-byte reads, the last one empty (end of file).
    let refills = measure::Figures::parse(&clean.outcome.defmt_log).integer("refills").expect("refills logged");
    assert_eq!(refills, input_len.div_ceil(256) as u64 + 1, "{}", clean.outcome.report());

    let lost = lossy_runs_repeat(board, InputSource::Semihosting, 230_400, &input);
    report_line(&format!(
        "semihosting-fed line rate on {board}: 230400 baud loses {lost} of {input_len} bytes in both runs"
    ));
}

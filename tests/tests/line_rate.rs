//! The firmware's line-rate build under QEMU: input paced as a real serial
//! line delivers it (a timer takes one byte per byte period).
//!
//! A test binary of its own, so that it runs alone: QEMU fills the UART in
//! real time, and another emulator on the same cores starves that feed, so
//! the line runs slower than its nominal rate (reported as idle byte periods).

use std::time::Duration;

use integration_tests::{host_segmentation, reference_input, report_line, toolchain};
use xtask::{
    firmware::{default_model, Board},
    line_rate::{self, LineRateRun, MAX_IDLE_PERCENT},
    measure,
};

/// Generous: the PKU test input takes about half a minute per run.
const LINE_RATE_TIMEOUT: Duration = Duration::from_secs(300);

/// Above this share of idle byte periods the lossy run was not fed at its
/// rate (a loaded host), and cannot show a loss.
const MAX_LOSSY_IDLE_PERCENT: f64 = 20.0;

/// The PKU test input (or the sample) through the line-rate build of `board`
/// at `baud`.
fn line_rate_run(board: Board, baud: u32) -> (LineRateRun, usize) {
    let toolchain = toolchain();
    let (_, input) = reference_input();
    let expected = host_segmentation(&default_model(), &input);
    let run = line_rate::run_at(&toolchain, board, None, baud, &input, &expected, LINE_RATE_TIMEOUT)
        .unwrap_or_else(|error| panic!("line-rate build on {board} at {baud} baud: {error:#}"));
    report_line(&format!("line rate on {board}: {}", run.summary()));
    (run, input.len())
}

/// At 115,200 baud, input paced as on a real line goes through without a
/// lost byte on the LM3S6965 at 50 MHz; at 921,600 baud (about 540 cycles a
/// byte, under what the segmenter needs) bytes are lost, and the firmware
/// counts them and still ends cleanly. (Exactly how many depends on QEMU's
/// timing, so only "some, and counted" is asserted.) Every byte on the wire
/// is accounted for in both runs.
#[test]
fn line_rate_input_is_lossless_at_115200_baud_and_loss_is_counted_above_the_sustained_rate() {
    let board = Board::Lm3s6965evb;
    let (clean, input_len) = line_rate_run(board, 115_200);
    assert!(clean.clean(), "{}\n{}", clean.summary(), clean.outcome.report());
    assert_eq!(clean.serial.map(|serial| serial.received), Some(input_len as u64));
    // The input really came at the rate: QEMU kept the UART fed.
    let idle = clean.idle_percent().expect("byte periods logged");
    assert!(idle < MAX_IDLE_PERCENT, "the line was idle in {idle:.1}% of byte periods: {}", clean.summary());

    let (fast, input_len) = line_rate_run(board, 921_600);
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

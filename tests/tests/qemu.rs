//! The firmware under QEMU: it boots, checks its model and exits 0 at the end
//! of its (here empty) input on every board, a crash or a hang fails the run,
//! and UART0 works both ways. The segmenter itself: tests/segmenter.rs.
//!
//! One test binary on purpose: its tests share the firmware target
//! directory, and xtask serialises their builds within one process.

use std::time::Duration;

use integration_tests::{build, print_exit, toolchain};
use xtask::{
    firmware::{Board, FirmwareBuild},
    measure::EOT,
    qemu::{self, QemuExit, RunOptions, RunOutcome},
};

/// Runs `image` under QEMU and prints its exit status.
fn run(image: &FirmwareBuild, options: &RunOptions) -> RunOutcome {
    let toolchain = toolchain();
    let elf = build(&toolchain, image);
    let outcome = qemu::run(&toolchain, image.board, &elf, options)
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    print_exit(image, &outcome);
    outcome
}

fn boots_and_exits_zero(board: Board) {
    let image = FirmwareBuild::new(board);
    // No text, just the end of the input.
    let options = RunOptions { uart_input: vec![EOT], ..RunOptions::default() };
    let outcome = run(&image, &options);
    assert!(outcome.success(), "{}", outcome.report());
    for expected in [
        format!("boot: board={} core={}", board.name(), board.core()),
        "model: file=default.crfm".to_owned(),
        "window=256".to_owned(),
        "ram_in_use=".to_owned(),
        "input: bytes_in=0 characters=0".to_owned(),
    ] {
        assert!(outcome.defmt_log.contains(&expected), "no `{expected}` in the log:\n{}", outcome.report());
    }
    assert_eq!(outcome.uart_output, b"", "{}", outcome.report());
}

#[test]
fn boots_and_exits_zero_on_lm3s6965evb_cortex_m3() {
    boots_and_exits_zero(Board::Lm3s6965evb);
}

#[test]
fn boots_and_exits_zero_on_mps2_an385_cortex_m3() {
    boots_and_exits_zero(Board::Mps2An385);
}

#[test]
fn boots_and_exits_zero_on_mps2_an386_cortex_m4() {
    boots_and_exits_zero(Board::Mps2An386);
}

#[test]
fn boots_and_exits_zero_on_mps2_an505_cortex_m33() {
    boots_and_exits_zero(Board::Mps2An505);
}

#[test]
fn boots_and_exits_zero_on_netduinoplus2_cortex_m4() {
    boots_and_exits_zero(Board::Netduinoplus2);
}

#[test]
fn boots_and_exits_zero_on_microbit_cortex_m0() {
    boots_and_exits_zero(Board::Microbit);
}

#[test]
fn a_panic_fails_the_run() {
    let image = FirmwareBuild::with_features(Board::Lm3s6965evb, &["selftest-panic"]);
    let outcome = run(&image, &RunOptions::default());
    assert_eq!(outcome.exit, QemuExit::Code(101), "{}", outcome.report());
    assert!(outcome.defmt_log.contains("selftest-panic: deliberate panic"), "{}", outcome.report());
}

#[test]
fn a_hardfault_fails_the_run() {
    let image = FirmwareBuild::with_features(Board::Mps2An386, &["selftest-hardfault"]);
    let outcome = run(&image, &RunOptions::default());
    assert_eq!(outcome.exit, QemuExit::Code(102), "{}", outcome.report());
    assert!(outcome.defmt_log.contains("HardFault"), "{}", outcome.report());
}

#[test]
fn uart0_echoes_input_on_every_board() {
    let text = "切分 these words\n";
    for board in Board::ALL {
        let image = FirmwareBuild::with_features(board, &["selftest-echo"]);
        let options = RunOptions { uart_input: format!("{text}\u{4}").into_bytes(), ..RunOptions::default() };
        let outcome = run(&image, &options);
        assert!(outcome.success(), "{}", outcome.report());
        assert_eq!(String::from_utf8_lossy(&outcome.uart_output), text, "{}", outcome.report());
        let echoed = format!("echoed {} bytes", text.len());
        assert!(outcome.defmt_log.contains(&echoed), "{}", outcome.report());
    }
}

#[test]
fn a_hang_is_killed_at_the_timeout() {
    // Echo firmware without the closing EOT waits for input forever.
    let image = FirmwareBuild::with_features(Board::Lm3s6965evb, &["selftest-echo"]);
    let options = RunOptions { timeout: Duration::from_secs(2), ..RunOptions::default() };
    let outcome = run(&image, &options);
    assert!(matches!(outcome.exit, QemuExit::TimedOut(_)), "{}", outcome.report());
    assert!(outcome.elapsed < Duration::from_secs(10), "{}", outcome.report());
}

//! The application: what the firmware does once the board is up. Today it
//! reports what it runs on and greets over UART0; the segmenter comes here.

use cortex_m::peripheral::CPUID;

use crate::{board, exit::ExitCode};

/// Written to UART0 once the firmware is ready for input.
const READY_BANNER: &[u8] = b"firmware: ready\n";

/// Runs the application to completion.
pub fn run(board: &mut board::Board, cpuid: &CPUID) -> ExitCode {
    let cpuid = cpuid.base.read();
    let core = core_name(cpuid);
    defmt::info!("boot: board={=str} core={=str} cpuid={=u32:#010x}", board::NAME, core, cpuid);
    if core != board::CORE {
        defmt::error!("this image was built for a {=str}, but runs on a {=str}", board::CORE, core);
        return ExitCode::Failure;
    }

    board.uart0.write_all(READY_BANNER);
    run_selftests(&mut board.uart0);

    defmt::info!("done");
    ExitCode::Success
}

/// The self-tests enabled by cargo features, for the QEMU tests. `cfg!`
/// rather than `#[cfg]`, so every build compiles (and lints) all of them.
fn run_selftests(uart: &mut board::Uart0) {
    if cfg!(feature = "selftest-panic") {
        panic!("selftest-panic: deliberate panic after boot");
    }
    if cfg!(feature = "selftest-hardfault") {
        // An undefined instruction: UsageFault, escalated to HardFault.
        cortex_m::asm::udf();
    }
    if cfg!(feature = "selftest-echo") {
        echo_until_end_of_transmission(uart);
    }
}

/// The core's name from the CPUID register's part number (bits 4..16).
fn core_name(cpuid: u32) -> &'static str {
    match (cpuid >> 4) & 0xfff {
        0xc23 => "Cortex-M3",
        0xc24 => "Cortex-M4",
        0xc27 => "Cortex-M7",
        _ => "unknown core",
    }
}

/// End of transmission (Ctrl-D): ends the echo.
const EOT: u8 = 0x04;

/// Sends back every byte received on UART0 until EOT, so that tests can
/// check both directions of the serial link.
fn echo_until_end_of_transmission(uart: &mut board::Uart0) {
    let mut echoed: u32 = 0;
    loop {
        let byte = uart.read_byte();
        if byte == EOT {
            break;
        }
        uart.write_byte(byte);
        echoed += 1;
    }
    defmt::info!("echoed {=u32} bytes", echoed);
}

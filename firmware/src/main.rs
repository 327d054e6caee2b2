//! Firmware entry point: brings up the board, runs the application and turns
//! its outcome into a semihosting exit code, so that a QEMU run (or a debug
//! probe) reports success or failure like a host process.
//!
//! This binary is the only place that chooses the global defmt logger and
//! the panic handler; the libraries it uses (the decoder) never do.

#![no_std]
#![no_main]

mod app;
mod board;
mod crash;
mod exit;
#[cfg(feature = "line-input-flash")]
mod line_input;
#[cfg(feature = "line-rate")]
mod line_rate;
mod memory;
mod mmio;
mod model_image;
#[cfg(feature = "line-input-semihosting")]
mod semihosted_input;
mod serial;
mod systick;
mod uart_segmenter;
#[cfg(feature = "tokens")]
mod uart_tokens;
mod user_dict_image;

// The global defmt logger (build.rs checks that exactly one is enabled):
// semihosting under QEMU, RTT with a debug probe on real hardware.
#[cfg(feature = "logger-rtt")]
use defmt_rtt as _;
#[cfg(feature = "logger-semihosting")]
use defmt_semihosting as _;

#[cortex_m_rt::entry]
fn main() -> ! {
    // Only fails if taken twice, and `main` runs once.
    let core_peripherals = cortex_m::Peripherals::take().expect("core peripherals taken once");
    let board = board::Board::take();
    let used = app::CorePeripherals { cpuid: core_peripherals.CPUID, syst: core_peripherals.SYST };
    let outcome = app::run(board, used);
    exit::exit(outcome)
}

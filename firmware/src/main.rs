//! Firmware entry point: brings up the board, runs the application and turns
//! its outcome into a semihosting exit code, so that a QEMU run (or a debug
//! probe) reports success or failure like a host process.
//!
//! This binary is the only place that chooses the global defmt logger and
//! the panic handler; the libraries it uses never do.

#![no_std]
#![no_main]

mod app;
mod board;
mod crash;
mod exit;
mod mmio;

// The global defmt logger: frames go to the debugger (QEMU) over semihosting.
use defmt_semihosting as _;

#[cortex_m_rt::entry]
fn main() -> ! {
    // Only fails if taken twice, and `main` runs once.
    let core_peripherals = cortex_m::Peripherals::take().expect("core peripherals taken once");
    let mut board = board::Board::take();
    let outcome = app::run(&mut board, &core_peripherals.CPUID);
    exit::exit(outcome)
}

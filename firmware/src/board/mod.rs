//! The board the firmware is built for, chosen by a `board-*` cargo feature
//! (build.rs checks that exactly one is enabled and links its memory.x).
//!
//! Each board module provides the same items: `NAME`, `CORE`,
//! `CORE_CLOCK_HZ`, `UART0_INTERRUPTS`, `Uart0::init` and the
//! [`SerialPort`] implementation of [`Uart0`]; the micro:bit also its own
//! `wait_for_transmitter`.

use core::sync::atomic::{AtomicBool, Ordering};

#[cfg(feature = "board-lm3s6965evb")]
mod lm3s6965evb;
#[cfg(feature = "board-lm3s6965evb")]
use lm3s6965evb as selected;

#[cfg(feature = "board-mps2-an385")]
mod mps2_an385;
#[cfg(feature = "board-mps2-an385")]
use mps2_an385 as selected;

#[cfg(feature = "board-mps2-an386")]
mod mps2_an386;
#[cfg(feature = "board-mps2-an386")]
use mps2_an386 as selected;

#[cfg(feature = "board-mps2-an505")]
mod mps2_an505;
#[cfg(feature = "board-mps2-an505")]
use mps2_an505 as selected;

#[cfg(feature = "board-netduinoplus2")]
mod netduinoplus2;
#[cfg(feature = "board-netduinoplus2")]
use netduinoplus2 as selected;

#[cfg(feature = "board-microbit")]
mod microbit;
#[cfg(feature = "board-microbit")]
use microbit as selected;

#[cfg(any(feature = "board-mps2-an385", feature = "board-mps2-an386", feature = "board-mps2-an505"))]
mod cmsdk_uart;

use crate::mmio::Reg32;
#[cfg(feature = "board-microbit")]
pub use selected::wait_for_transmitter;
pub use selected::{CORE, CORE_CLOCK_HZ, NAME, UART0_INTERRUPTS};

/// Sleeps until an interrupt (called with interrupts masked, while the
/// output queue is full): the UART's transmit interrupt wakes the core once
/// it takes more output.
#[cfg(not(feature = "board-microbit"))]
pub fn wait_for_transmitter() {
    cortex_m::asm::wfi();
}

/// The NVIC's interrupt set-enable registers (one bit per interrupt).
const NVIC_ISER: usize = 0xE000_E100;
/// The NVIC's interrupt set-pending registers.
const NVIC_ISPR: usize = 0xE000_E200;

/// Lets the NVIC take external interrupt `number` (the peripheral must still
/// enable it). A plain register write rather than `NVIC::unmask`, which
/// needs a device crate's interrupt enum.
pub fn enable_interrupt(number: u16) {
    let word = usize::from(number / 32) * 4;
    // SAFETY: ISER0..ISER15 are the NVIC's registers on every Cortex-M; a
    // write of 1 bits enables those interrupts and touches nothing else.
    let set_enable = unsafe { Reg32::new(NVIC_ISER + word) };
    set_enable.write(1 << (number % 32));
}

/// The board's peripherals that the application uses, handed out once.
pub struct Board {
    /// The serial port that QEMU connects to `-serial` (the first UART).
    pub uart0: Uart0,
}

/// Guards against two owners of the same peripherals.
static TAKEN: AtomicBool = AtomicBool::new(false);

impl Board {
    /// Initialises the board's peripherals; panics if called twice.
    pub fn take() -> Self {
        // A load and a store with interrupts masked: Armv6-M has no atomic swap.
        let taken_before = cortex_m::interrupt::free(|_| {
            let taken = TAKEN.load(Ordering::Relaxed);
            TAKEN.store(true, Ordering::Relaxed);
            taken
        });
        assert!(!taken_before, "board taken twice");
        Self { uart0: Uart0::init() }
    }
}

/// The board's first UART, the one QEMU connects to `-serial`, 8N1. A
/// handle holds no state: the main program and the interrupt handler each
/// use one (see serial.rs for who touches what). The board module
/// initialises it (`Uart0::init`) and implements [`SerialPort`] for it.
pub struct Uart0(());

impl Uart0 {
    /// Another handle on the initialised UART, for its interrupt handler.
    pub fn for_interrupt_handler() -> Self {
        Self(())
    }
}

/// What serial.rs needs of a UART: register access without blocking, and
/// its interrupts switched one direction at a time. The caller keeps the
/// main program and the interrupt handler from switching them at once.
pub trait SerialPort {
    /// Hands `byte` to the transmitter unless it has no room; `false` then.
    fn try_write_byte(&mut self, byte: u8) -> bool;

    /// A received byte, if one is waiting.
    fn try_read_byte(&mut self) -> Option<u8>;

    /// Whether the receiver dropped a byte since the last call (clears the
    /// flag).
    fn take_overrun(&mut self) -> bool;

    /// Turns the receive interrupt on or off.
    fn set_receive_interrupt(&mut self, on: bool);

    /// Turns the transmit interrupt on or off.
    fn set_transmit_interrupt(&mut self, on: bool);

    /// Acknowledges every pending interrupt of the UART (the handler then
    /// looks at its buffers themselves).
    fn clear_interrupts(&mut self);

    /// Sends one byte, blocking while the transmitter has no room.
    fn write_byte(&mut self, byte: u8) {
        while !self.try_write_byte(byte) {}
    }

    /// Blocks until a byte arrives (polling: for the echo self-test, which
    /// runs before the interrupt-driven serial port starts).
    fn read_byte(&mut self) -> u8 {
        loop {
            if let Some(byte) = self.try_read_byte() {
                return byte;
            }
        }
    }
}

/// Raises external interrupt `number` in software if `raise`, else writes
/// the same register without effect (a zero bit changes nothing): both take
/// the same instructions, for timing an interrupt's cost.
#[inline(never)]
pub fn raise_interrupt(number: u16, raise: bool) {
    let word = usize::from(number / 32) * 4;
    // SAFETY: ISPR0..ISPR15 are the NVIC's registers on every Cortex-M; a
    // write of 1 bits pends those interrupts and touches nothing else.
    let set_pending = unsafe { Reg32::new(NVIC_ISPR + word) };
    set_pending.write(u32::from(raise) << (number % 32));
}

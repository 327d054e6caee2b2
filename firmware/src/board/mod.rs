//! The board the firmware is built for, chosen by a `board-*` cargo feature
//! (build.rs checks that exactly one is enabled and links its memory.x).
//!
//! Each board module provides the same items: `NAME`, `CORE`, and `Uart0`
//! with `init`, `write_byte` and `try_read_byte`.

use core::sync::atomic::{AtomicBool, Ordering};

#[cfg(feature = "board-lm3s6965evb")]
mod lm3s6965evb;
#[cfg(feature = "board-lm3s6965evb")]
use lm3s6965evb as selected;

#[cfg(feature = "board-mps2-an386")]
mod mps2_an386;
#[cfg(feature = "board-mps2-an386")]
use mps2_an386 as selected;

pub use selected::{Uart0, CORE, NAME};

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
        assert!(!TAKEN.swap(true, Ordering::Relaxed), "board taken twice");
        Self { uart0: Uart0::init() }
    }
}

impl Uart0 {
    /// Writes all of `bytes`, blocking while the transmit FIFO is full.
    pub fn write_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_byte(byte);
        }
    }

    /// Blocks until a byte arrives.
    pub fn read_byte(&mut self) -> u8 {
        loop {
            if let Some(byte) = self.try_read_byte() {
                return byte;
            }
        }
    }
}

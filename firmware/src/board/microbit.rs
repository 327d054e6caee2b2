//! BBC micro:bit v1 (nRF51822, Cortex-M0), `qemu-system-arm -M microbit`.
//!
//! The nRF51's UART signals by events: a register per event that the
//! peripheral sets to 1 and software clears by writing 0; an event raises
//! the UART's interrupt while it is set and enabled in INTEN (a level, like
//! the other boards' status flags).

use core::sync::atomic::{AtomicBool, Ordering};

use super::{SerialPort, Uart0};
use crate::mmio::Reg32;

/// Board name, as QEMU's `-M` calls it.
pub const NAME: &str = "microbit";
/// The processor core the board carries.
pub const CORE: &str = "Cortex-M0";
/// The nRF51822's core clock (16 MHz, its only one).
pub const CORE_CLOCK_HZ: u32 = 16_000_000;
/// UART0's interrupt (receive, transmit and errors share it).
pub const UART0_INTERRUPTS: &[u16] = &[2];

/// UART0 (nRF51 reference manual v3.0, chapter 29).
const UART0_BASE: usize = 0x4000_2000;
const TASKS_STARTRX: usize = 0x000;
const TASKS_STARTTX: usize = 0x008;
const EVENTS_RXDRDY: usize = 0x108;
const EVENTS_TXDRDY: usize = 0x11C;
const EVENTS_ERROR: usize = 0x124;
const INTENSET: usize = 0x304;
const INTENCLR: usize = 0x308;
const ERRORSRC: usize = 0x480;
const ENABLE: usize = 0x500;
const PSELTXD: usize = 0x50C;
const PSELRXD: usize = 0x514;
const RXD: usize = 0x518;
const TXD: usize = 0x51C;
const BAUDRATE: usize = 0x524;
const CONFIG: usize = 0x56C;
const INTEN_RXDRDY: u32 = 1 << 2;
const INTEN_TXDRDY: u32 = 1 << 7;
const ERRORSRC_OVERRUN: u32 = 1 << 0;
const ENABLE_UART: u32 = 4;
const TASK_TRIGGER: u32 = 1;
const BAUDRATE_115200: u32 = 0x01D7_E000;
/// The micro:bit's USB serial bridge: nRF51 pins P0.24 (TX) and P0.25 (RX).
const PIN_TXD: u32 = 24;
const PIN_RXD: u32 = 25;

/// A byte written to TXD is still being sent (TXDRDY not yet raised for it).
/// The transmitter has no status register, only the event, which is also 0
/// before the first byte; the main program and the interrupt handler never
/// send at once (see serial.rs), so a load and a store suffice.
static SENDING: AtomicBool = AtomicBool::new(false);

/// Returns at once: the caller polls the transmitter instead of sleeping.
/// QEMU's nRF51 UART raises TXDRDY without updating its interrupt line when
/// the host reads a byte late (its chardev write had to wait), so a core
/// asleep in `wfi` for the transmit interrupt would never wake.
pub fn wait_for_transmitter() {}

/// One UART0 register.
fn register(offset: usize) -> Reg32 {
    // SAFETY: UART0's registers on the nRF51822 (reference manual, 29.10).
    unsafe { Reg32::new(UART0_BASE + offset) }
}

impl Uart0 {
    pub(super) fn init() -> Self {
        register(PSELTXD).write(PIN_TXD);
        register(PSELRXD).write(PIN_RXD);
        register(BAUDRATE).write(BAUDRATE_115200);
        // No parity, no flow control.
        register(CONFIG).write(0);
        register(ENABLE).write(ENABLE_UART);
        register(TASKS_STARTTX).write(TASK_TRIGGER);
        register(TASKS_STARTRX).write(TASK_TRIGGER);
        Self(())
    }
}

impl SerialPort for Uart0 {
    /// Starts sending `byte` unless the previous byte is still being sent.
    /// TXDRDY stays set once a byte is out (only the next write clears it),
    /// so an idle transmitter keeps the transmit interrupt raised, like the
    /// other boards' "transmit register empty" flags.
    fn try_write_byte(&mut self, byte: u8) -> bool {
        if SENDING.load(Ordering::Relaxed) && register(EVENTS_TXDRDY).read() == 0 {
            return false;
        }
        register(EVENTS_TXDRDY).write(0);
        register(TXD).write(u32::from(byte));
        SENDING.store(true, Ordering::Relaxed);
        true
    }

    /// A received byte, if one is waiting. The event is cleared before RXD
    /// is read, as the reference manual asks: reading RXD raises it again
    /// while more bytes wait in the receiver's 6-byte FIFO.
    fn try_read_byte(&mut self) -> Option<u8> {
        if register(EVENTS_RXDRDY).read() == 0 {
            return None;
        }
        register(EVENTS_RXDRDY).write(0);
        Some(register(RXD).read() as u8)
    }

    /// Whether the receiver dropped a byte because its FIFO was full since
    /// the last call (clears the flag and the error event).
    fn take_overrun(&mut self) -> bool {
        let overrun = register(ERRORSRC).read() & ERRORSRC_OVERRUN != 0;
        if overrun {
            register(ERRORSRC).write(ERRORSRC_OVERRUN);
            register(EVENTS_ERROR).write(0);
        }
        overrun
    }

    /// Turns the receive interrupt on or off.
    fn set_receive_interrupt(&mut self, on: bool) {
        set_interrupt(INTEN_RXDRDY, on);
    }

    /// Turns the transmit interrupt on or off.
    fn set_transmit_interrupt(&mut self, on: bool) {
        set_interrupt(INTEN_TXDRDY, on);
    }

    /// Nothing to acknowledge: the interrupt follows the events, which
    /// reading RXD and writing TXD clear.
    fn clear_interrupts(&mut self) {}
}

/// Enables (`on`) or disables the interrupts of the events in `bits`.
fn set_interrupt(bits: u32, on: bool) {
    // Separate set and clear registers: no read-modify-write.
    register(if on { INTENSET } else { INTENCLR }).write(bits);
}

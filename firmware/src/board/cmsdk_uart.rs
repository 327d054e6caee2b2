//! UART0 of the Arm MPS2 boards: a CMSDK APB UART (one-byte buffers).

use super::{SerialPort, Uart0};
use crate::mmio::Reg32;

use super::selected::{CORE_CLOCK_HZ, UART0_BASE};

const UART_DATA: usize = 0x00;
const UART_STATE: usize = 0x04;
const UART_CTRL: usize = 0x08;
/// Interrupt status (read) / clear (write 1).
const UART_INTSTATUS: usize = 0x0C;
const UART_BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const STATE_RX_OVERRUN: u32 = 1 << 3;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_TX_INTERRUPT: u32 = 1 << 2;
const CTRL_RX_INTERRUPT: u32 = 1 << 3;
/// Every interrupt status bit: TX, RX, TX overrun, RX overrun.
const INTSTATUS_ALL: u32 = 0b1111;
/// The serial line's rate on real hardware (QEMU ignores it); the CMSDK UART
/// needs a divider of at least 16.
const BAUD_RATE: u32 = 115_200;

/// One UART0 register.
fn register(offset: usize) -> Reg32 {
    // SAFETY: UART0's registers in the board's memory map (CMSDK APB UART).
    unsafe { Reg32::new(UART0_BASE + offset) }
}

impl Uart0 {
    pub(super) fn init() -> Self {
        register(UART_BAUDDIV).write(CORE_CLOCK_HZ / BAUD_RATE);
        register(UART_CTRL).write(CTRL_TX_EN | CTRL_RX_EN);
        Self(())
    }
}

impl SerialPort for Uart0 {
    /// Queues `byte` for sending unless the transmit buffer is full.
    fn try_write_byte(&mut self, byte: u8) -> bool {
        if register(UART_STATE).read() & STATE_TX_FULL != 0 {
            return false;
        }
        register(UART_DATA).write(u32::from(byte));
        true
    }

    /// A received byte, if one is waiting.
    fn try_read_byte(&mut self) -> Option<u8> {
        if register(UART_STATE).read() & STATE_RX_FULL == 0 {
            return None;
        }
        Some(register(UART_DATA).read() as u8)
    }

    /// Whether the receiver dropped a byte because its buffer was full since
    /// the last call (clears the flag).
    fn take_overrun(&mut self) -> bool {
        let overrun = register(UART_STATE).read() & STATE_RX_OVERRUN != 0;
        if overrun {
            register(UART_STATE).write(STATE_RX_OVERRUN);
        }
        overrun
    }

    /// Turns the receive interrupt on or off (the caller keeps the main
    /// program and the interrupt handler from doing this at once).
    fn set_receive_interrupt(&mut self, on: bool) {
        set_control(CTRL_RX_INTERRUPT, on);
    }

    /// Turns the transmit interrupt on or off (same caveat).
    fn set_transmit_interrupt(&mut self, on: bool) {
        set_control(CTRL_TX_INTERRUPT, on);
    }

    /// Acknowledges every pending UART interrupt (the handler then looks at
    /// the buffers themselves).
    fn clear_interrupts(&mut self) {
        register(UART_INTSTATUS).write(INTSTATUS_ALL);
    }
}

/// Sets (`on`) or clears `bits` of the control register.
fn set_control(bits: u32, on: bool) {
    let control = register(UART_CTRL).read();
    register(UART_CTRL).write(if on { control | bits } else { control & !bits });
}

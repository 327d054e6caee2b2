//! TI Stellaris LM3S6965 evaluation board (Cortex-M3), `qemu-system-arm -M lm3s6965evb`.

use super::{SerialPort, Uart0};
use crate::mmio::Reg32;

/// Board name, as QEMU's `-M` calls it.
pub const NAME: &str = "lm3s6965evb";
/// The processor core the board carries.
pub const CORE: &str = "Cortex-M3";
/// The core clock the board documents (the LM3S6965's maximum, 50 MHz).
pub const CORE_CLOCK_HZ: u32 = 50_000_000;
/// UART0's interrupt (receive, transmit and errors share it).
pub const UART0_INTERRUPTS: &[u16] = &[5];

/// UART0: a Stellaris (PL011-like) UART.
const UART0_BASE: usize = 0x4000_C000;
/// Data register: write to send, read to receive.
const UART_DR: usize = 0x000;
/// Receive status (read) / error clear (write).
const UART_RSR_ECR: usize = 0x004;
/// Flag register.
const UART_FR: usize = 0x018;
/// Line control register.
const UART_LCRH: usize = 0x02C;
/// Control register.
const UART_CTL: usize = 0x030;
/// Interrupt mask (1: enabled).
const UART_IM: usize = 0x038;
/// Interrupt clear.
const UART_ICR: usize = 0x044;
const FR_RXFE: u32 = 1 << 4; // receive FIFO empty
const FR_TXFF: u32 = 1 << 5; // transmit FIFO full
const RSR_OVERRUN: u32 = 1 << 3;
const LCRH_FIFO_ENABLE: u32 = 1 << 4;
const LCRH_WORD_LENGTH_8: u32 = 0b11 << 5;
const CTL_UARTEN: u32 = 1 << 0;
const CTL_TXE: u32 = 1 << 8;
const CTL_RXE: u32 = 1 << 9;
/// Receive, receive time-out (a FIFO below its trigger level goes quiet) and overrun.
const IM_RECEIVE: u32 = (1 << 4) | (1 << 6) | (1 << 10);
const IM_TRANSMIT: u32 = 1 << 5;

/// One UART0 register.
fn register(offset: usize) -> Reg32 {
    // SAFETY: UART0's registers on the LM3S6965 (datasheet, table 2-4).
    unsafe { Reg32::new(UART0_BASE + offset) }
}

impl Uart0 {
    pub(super) fn init() -> Self {
        // 8N1 with the 16-byte FIFOs on: input keeps arriving while the
        // segmenter works, instead of one byte at a time.
        register(UART_LCRH).write(LCRH_WORD_LENGTH_8 | LCRH_FIFO_ENABLE);
        register(UART_CTL).write(CTL_UARTEN | CTL_TXE | CTL_RXE);
        Self(())
    }
}

impl SerialPort for Uart0 {
    /// Queues `byte` for sending unless the transmit FIFO is full.
    fn try_write_byte(&mut self, byte: u8) -> bool {
        if register(UART_FR).read() & FR_TXFF != 0 {
            return false;
        }
        register(UART_DR).write(u32::from(byte));
        true
    }

    /// A received byte, if one is waiting.
    fn try_read_byte(&mut self) -> Option<u8> {
        if register(UART_FR).read() & FR_RXFE != 0 {
            return None;
        }
        // Bits 8..11 are error flags; the low byte is the data.
        Some(register(UART_DR).read() as u8)
    }

    /// Whether the receiver dropped a byte because its FIFO was full since
    /// the last call (clears the flag).
    fn take_overrun(&mut self) -> bool {
        let overrun = register(UART_RSR_ECR).read() & RSR_OVERRUN != 0;
        if overrun {
            register(UART_RSR_ECR).write(0);
        }
        overrun
    }

    /// Turns the receive interrupts on or off (the caller keeps the main
    /// program and the interrupt handler from doing this at once).
    fn set_receive_interrupt(&mut self, on: bool) {
        set_interrupt_mask(IM_RECEIVE, on);
    }

    /// Turns the transmit interrupt on or off (same caveat).
    fn set_transmit_interrupt(&mut self, on: bool) {
        set_interrupt_mask(IM_TRANSMIT, on);
    }

    /// Acknowledges every pending UART interrupt (the handler then looks at
    /// the FIFOs themselves).
    fn clear_interrupts(&mut self) {
        register(UART_ICR).write(IM_RECEIVE | IM_TRANSMIT);
    }
}

/// Sets (`on`) or clears `bits` of the interrupt mask register.
fn set_interrupt_mask(bits: u32, on: bool) {
    let mask = register(UART_IM).read();
    register(UART_IM).write(if on { mask | bits } else { mask & !bits });
}

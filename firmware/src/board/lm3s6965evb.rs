//! TI Stellaris LM3S6965 evaluation board (Cortex-M3), `qemu-system-arm -M lm3s6965evb`.

use crate::mmio::Reg32;

/// Board name, as QEMU's `-M` calls it.
pub const NAME: &str = "lm3s6965evb";
/// The processor core the board carries.
pub const CORE: &str = "Cortex-M3";

/// UART0: a Stellaris (PL011-like) UART.
const UART0_BASE: usize = 0x4000_C000;
/// Data register: write to send, read to receive.
const UART_DR: usize = 0x000;
/// Flag register.
const UART_FR: usize = 0x018;
/// Line control register.
const UART_LCRH: usize = 0x02C;
/// Control register.
const UART_CTL: usize = 0x030;
const FR_RXFE: u32 = 1 << 4; // receive FIFO empty
const FR_TXFF: u32 = 1 << 5; // transmit FIFO full
const LCRH_FIFO_ENABLE: u32 = 1 << 4;
const LCRH_WORD_LENGTH_8: u32 = 0b11 << 5;
const CTL_UARTEN: u32 = 1 << 0;
const CTL_TXE: u32 = 1 << 8;
const CTL_RXE: u32 = 1 << 9;

/// UART0, 8N1. Baud rate and pin muxing only matter on real silicon; the
/// emulator ignores them.
pub struct Uart0 {
    data: Reg32,
    flags: Reg32,
}

impl Uart0 {
    pub(super) fn init() -> Self {
        // SAFETY: UART0's registers on the LM3S6965 (datasheet, table 2-4).
        let (data, flags, line_control, control) = unsafe {
            (
                Reg32::new(UART0_BASE + UART_DR),
                Reg32::new(UART0_BASE + UART_FR),
                Reg32::new(UART0_BASE + UART_LCRH),
                Reg32::new(UART0_BASE + UART_CTL),
            )
        };
        // 8N1 with the 16-byte FIFOs on: input keeps arriving while the
        // segmenter works, instead of one byte at a time.
        line_control.write(LCRH_WORD_LENGTH_8 | LCRH_FIFO_ENABLE);
        control.write(CTL_UARTEN | CTL_TXE | CTL_RXE);
        Self { data, flags }
    }

    /// Sends one byte, blocking while the transmit FIFO is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.flags.read() & FR_TXFF != 0 {}
        self.data.write(u32::from(byte));
    }

    /// A received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.flags.read() & FR_RXFE != 0 {
            return None;
        }
        // Bits 8..11 are error flags; the low byte is the data.
        Some(self.data.read() as u8)
    }
}

//! Arm MPS2 with the AN386 FPGA image (Cortex-M4F), `qemu-system-arm -M mps2-an386`.

use crate::mmio::Reg32;

/// Board name, as QEMU's `-M` calls it.
pub const NAME: &str = "mps2-an386";
/// The processor core the board carries.
pub const CORE: &str = "Cortex-M4";

/// UART0: an Arm CMSDK APB UART.
const UART0_BASE: usize = 0x4000_4000;
const UART_DATA: usize = 0x00;
const UART_STATE: usize = 0x04;
const UART_CTRL: usize = 0x08;
const UART_BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
/// 25 MHz / 217 ≈ 115200 baud; the CMSDK UART needs a divider of at least 16.
const BAUD_DIVIDER_115200: u32 = 217;

/// UART0 of the CMSDK, 8N1.
pub struct Uart0 {
    data: Reg32,
    state: Reg32,
}

impl Uart0 {
    pub(super) fn init() -> Self {
        // SAFETY: UART0's registers in the AN386 memory map (CMSDK APB UART).
        let (data, state, control, baud_divider) = unsafe {
            (
                Reg32::new(UART0_BASE + UART_DATA),
                Reg32::new(UART0_BASE + UART_STATE),
                Reg32::new(UART0_BASE + UART_CTRL),
                Reg32::new(UART0_BASE + UART_BAUDDIV),
            )
        };
        baud_divider.write(BAUD_DIVIDER_115200);
        control.write(CTRL_TX_EN | CTRL_RX_EN);
        Self { data, state }
    }

    /// Sends one byte, blocking while the transmit buffer is full.
    pub fn write_byte(&mut self, byte: u8) {
        while self.state.read() & STATE_TX_FULL != 0 {}
        self.data.write(u32::from(byte));
    }

    /// A received byte, if one is waiting.
    pub fn try_read_byte(&mut self) -> Option<u8> {
        if self.state.read() & STATE_RX_FULL == 0 {
            return None;
        }
        Some(self.data.read() as u8)
    }
}

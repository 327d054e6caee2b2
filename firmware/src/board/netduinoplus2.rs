//! Netduino Plus 2 (STM32F405, Cortex-M4F), `qemu-system-arm -M netduinoplus2`.

use super::{SerialPort, Uart0};
use crate::mmio::Reg32;

/// Board name, as QEMU's `-M` calls it.
pub const NAME: &str = "netduinoplus2";
/// The processor core the board carries.
pub const CORE: &str = "Cortex-M4";
/// The core clock the board documents (the STM32F405's maximum, 168 MHz).
pub const CORE_CLOCK_HZ: u32 = 168_000_000;
/// USART1's interrupt (receive, transmit and errors share it).
pub const UART0_INTERRUPTS: &[u16] = &[37];

/// USART1, the first serial port (QEMU's `-serial`).
const USART1_BASE: usize = 0x4001_1000;
const USART_SR: usize = 0x00;
const USART_DR: usize = 0x04;
const USART_BRR: usize = 0x08;
const USART_CR1: usize = 0x0C;
const SR_OVERRUN: u32 = 1 << 3;
const SR_RX_NOT_EMPTY: u32 = 1 << 5;
const SR_TX_EMPTY: u32 = 1 << 7;
const CR1_RX_ENABLE: u32 = 1 << 2;
const CR1_TX_ENABLE: u32 = 1 << 3;
const CR1_RX_NOT_EMPTY_INTERRUPT: u32 = 1 << 5;
const CR1_TX_EMPTY_INTERRUPT: u32 = 1 << 7;
const CR1_USART_ENABLE: u32 = 1 << 13;
/// 115200 baud from the 84 MHz APB2 clock: 84e6 / (16 * 115200) = 45 + 9/16.
const BRR_115200_AT_84_MHZ: u32 = (45 << 4) | 9;

/// One USART1 register.
fn register(offset: usize) -> Reg32 {
    // SAFETY: USART1's registers on the STM32F405 (reference manual RM0090).
    unsafe { Reg32::new(USART1_BASE + offset) }
}

impl Uart0 {
    pub(super) fn init() -> Self {
        register(USART_BRR).write(BRR_115200_AT_84_MHZ);
        register(USART_CR1).write(CR1_USART_ENABLE | CR1_TX_ENABLE | CR1_RX_ENABLE);
        Self(())
    }
}

impl SerialPort for Uart0 {
    /// Queues `byte` for sending unless the transmit register is full.
    fn try_write_byte(&mut self, byte: u8) -> bool {
        if register(USART_SR).read() & SR_TX_EMPTY == 0 {
            return false;
        }
        register(USART_DR).write(u32::from(byte));
        true
    }

    /// A received byte, if one is waiting (reading it also clears the
    /// overrun flag).
    fn try_read_byte(&mut self) -> Option<u8> {
        if register(USART_SR).read() & SR_RX_NOT_EMPTY == 0 {
            return None;
        }
        Some(register(USART_DR).read() as u8)
    }

    /// Whether the receiver dropped a byte because the last one was not read
    /// in time (the next data read clears the flag).
    fn take_overrun(&mut self) -> bool {
        register(USART_SR).read() & SR_OVERRUN != 0
    }

    /// Turns the receive interrupt on or off (the caller keeps the main
    /// program and the interrupt handler from doing this at once).
    fn set_receive_interrupt(&mut self, on: bool) {
        set_control(CR1_RX_NOT_EMPTY_INTERRUPT, on);
    }

    /// Turns the transmit interrupt on or off (same caveat).
    fn set_transmit_interrupt(&mut self, on: bool) {
        set_control(CR1_TX_EMPTY_INTERRUPT, on);
    }

    /// Nothing to acknowledge: the USART's interrupts follow its status
    /// flags, which reading and writing the data register clear.
    fn clear_interrupts(&mut self) {}
}

/// Sets (`on`) or clears `bits` of control register 1.
fn set_control(bits: u32, on: bool) {
    let control = register(USART_CR1).read();
    register(USART_CR1).write(if on { control | bits } else { control & !bits });
}

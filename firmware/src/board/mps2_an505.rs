//! Arm MPS2 with the AN505 FPGA image (Cortex-M33), `qemu-system-arm -M mps2-an505`.

/// Board name, as QEMU's `-M` calls it.
pub const NAME: &str = "mps2-an505";
/// The processor core the board carries.
pub const CORE: &str = "Cortex-M33";
/// The core clock the board documents (AN505: 20 MHz).
pub const CORE_CLOCK_HZ: u32 = 20_000_000;
/// UART0's receive and transmit interrupts: expansion interrupts 0 and 1,
/// which follow the IoTKit's own 32.
pub const UART0_INTERRUPTS: &[u16] = &[32, 33];
/// UART0's registers through the Secure alias (the core runs Secure, and
/// the peripheral protection controller leaves UART0 Secure after reset).
pub(super) const UART0_BASE: usize = 0x5020_0000;

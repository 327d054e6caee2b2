//! Arm MPS2 with the AN386 FPGA image (Cortex-M4F), `qemu-system-arm -M mps2-an386`.

/// Board name, as QEMU's `-M` calls it.
pub const NAME: &str = "mps2-an386";
/// The processor core the board carries.
pub const CORE: &str = "Cortex-M4";
/// The core clock the board documents (AN386: 25 MHz).
pub const CORE_CLOCK_HZ: u32 = 25_000_000;
/// UART0's receive and transmit interrupts.
pub const UART0_INTERRUPTS: &[u16] = &[0, 1];
/// UART0's registers in the AN386 memory map.
pub(super) const UART0_BASE: usize = 0x4000_4000;

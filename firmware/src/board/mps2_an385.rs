//! Arm MPS2 with the AN385 FPGA image (Cortex-M3), `qemu-system-arm -M mps2-an385`.
//!
//! The same memory map and UART0 as the AN386 (QEMU's hw/arm/mps2.c builds both alike); its core has
//! no DSP or floating-point instructions, so its image is thumbv7m code.

/// Board name, as QEMU's `-M` calls it.
pub const NAME: &str = "mps2-an385";
/// The processor core the board carries.
pub const CORE: &str = "Cortex-M3";
/// The core clock the board documents (AN385: 25 MHz).
pub const CORE_CLOCK_HZ: u32 = 25_000_000;
/// UART0's receive and transmit interrupts.
pub const UART0_INTERRUPTS: &[u16] = &[0, 1];
/// UART0's registers in the AN385 memory map.
pub(super) const UART0_BASE: usize = 0x4000_4000;

//! Memory-mapped peripheral registers: one constructor whose caller vouches
//! for the address. (The firmware's only other `unsafe` reads the painted
//! stack, in memory.rs.)

use core::ptr;

/// One 32-bit memory-mapped register.
#[derive(Clone, Copy)]
pub struct Reg32 {
    addr: *mut u32,
}

impl Reg32 {
    /// # Safety
    /// `addr` must be a 4-byte aligned register of a peripheral that exists on
    /// the board, for which volatile reads and writes have no effect on memory
    /// that Rust code owns.
    pub const unsafe fn new(addr: usize) -> Self {
        Self { addr: addr as *mut u32 }
    }

    /// Volatile read.
    pub fn read(self) -> u32 {
        // SAFETY: `new`'s contract: a valid, aligned device register.
        unsafe { ptr::read_volatile(self.addr) }
    }

    /// Volatile write.
    pub fn write(self, value: u32) {
        // SAFETY: `new`'s contract: a valid, aligned device register.
        unsafe { ptr::write_volatile(self.addr, value) }
    }
}

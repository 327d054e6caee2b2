//! Where the image sits in memory, from the linker script's symbols
//! (cortex-m-rt's link.x), and how much stack the run has used.
//!
//! The reset handler paints everything between the end of the static
//! variables (`_stack_end`) and the top of RAM (`_stack_start`) with
//! [`STACK_PAINT_VALUE`] (cortex-m-rt feature `paint-stack`); the stack grows
//! down from the top and scrubs the paint off as it goes, so the lowest word
//! that no longer holds the paint marks the deepest the stack has been.

use core::ptr::{self, addr_of};

use cortex_m_rt::STACK_PAINT_VALUE;

// Symbols defined by cortex-m-rt's link.x; only their addresses mean anything.
extern "C" {
    /// Start of RAM (ORIGIN(RAM)): `.data`, `.bss` and `.uninit` follow.
    static _ram_start: u32;
    /// Lowest address the stack may grow to: the end of the static variables.
    static _stack_end: u32;
    /// Initial stack pointer: the top of RAM.
    static _stack_start: u32;
    /// Start of flash: the vector table.
    static __vector_table: u32;
    /// Where in flash the initial values of `.data` are stored.
    static __sidata: u32;
    /// Start and end of `.data` in RAM.
    static __sdata: u32;
    static __edata: u32;
}

/// An address as a number.
fn address(symbol: *const u32) -> usize {
    symbol as usize
}

/// Bytes of RAM taken by static variables (`.data`, `.bss`, `.uninit`).
pub fn static_ram_bytes() -> usize {
    address(addr_of!(_stack_end)) - address(addr_of!(_ram_start))
}

/// Bytes of RAM left to the stack (from the statics to the top of RAM).
pub fn stack_capacity_bytes() -> usize {
    address(addr_of!(_stack_start)) - address(addr_of!(_stack_end))
}

/// Bytes of flash the image occupies: everything up to the initial values of
/// `.data`, and those values.
pub fn flash_bytes() -> usize {
    let data_bytes = address(addr_of!(__edata)) - address(addr_of!(__sdata));
    address(addr_of!(__sidata)) - address(addr_of!(__vector_table)) + data_bytes
}

/// The deepest the stack has been since reset, in bytes: the distance from
/// the top of RAM to the lowest word whose paint has been scrubbed off. (A
/// stack word that happens to hold the paint value would hide up to the
/// words below it; an underestimate of a few bytes at worst in practice.)
pub fn peak_stack_bytes() -> usize {
    let bottom = address(addr_of!(_stack_end));
    let top = address(addr_of!(_stack_start));
    let lowest_used = (bottom..top).step_by(4).find(|&word| read_stack_word(word) != STACK_PAINT_VALUE).unwrap_or(top);
    top - lowest_used
}

/// Reads one word of the stack region.
fn read_stack_word(word_address: usize) -> u32 {
    // SAFETY: `word_address` is a 4-byte aligned address between `_stack_end`
    // and `_stack_start`: RAM reserved for the stack, always mapped. The scan
    // goes up from the bottom and stops at the first scrubbed word, so it
    // reads free stack (paint, or what deeper calls left there); a volatile
    // read has no side effects and no Rust reference is made to the memory.
    unsafe { ptr::read_volatile(word_address as *const u32) }
}

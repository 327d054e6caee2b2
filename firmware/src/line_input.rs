//! The flash-fed line-rate build's input (feature `line-input-flash`):
//! build.rs copies the file named by `CRF_LINE_INPUT` to
//! `OUT_DIR/line_input.bin`, embedded here. The byte timer takes one byte
//! of it per byte period, then EOT, so the input never waits for QEMU's
//! UART feed and a run under `-icount` repeats exactly.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::serial::EOT;

/// The input, without the final EOT.
static LINE_INPUT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/line_input.bin"));

/// Bytes already delivered. Written only by the byte timer's handler, so a
/// load and a store suffice.
static DELIVERED: AtomicU32 = AtomicU32::new(0);

/// Bytes in the embedded input (for the log).
pub fn len() -> usize {
    LINE_INPUT.len()
}

/// The next byte on the line: the input's bytes in order, then EOT.
pub fn next_byte() -> u8 {
    let delivered = DELIVERED.load(Ordering::Relaxed);
    match LINE_INPUT.get(delivered as usize) {
        Some(&byte) => {
            DELIVERED.store(delivered + 1, Ordering::Relaxed);
            byte
        }
        None => EOT,
    }
}

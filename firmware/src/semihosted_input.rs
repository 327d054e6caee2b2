//! The semihosting-fed line-rate build's input (feature
//! `line-input-semihosting`): a file on the host, named at build time by
//! `CRF_LINE_INPUT` (build.rs writes its absolute path to
//! `OUT_DIR/line_input_path.rs`), opened once with SYS_OPEN before the byte
//! timer starts and read with SYS_READ into a [`REFILL_BYTES`] buffer each
//! time the timer has taken the last byte of it; then EOT.
//!
//! This is a test harness, not what a real board does: it stands in for the
//! wire on the boards whose flash cannot hold the input beside the model
//! (lm3s6965evb and microbit, 256 KiB each). A semihosting call is a trap
//! (`bkpt 0xAB`) that QEMU serves on the host between two instructions, so
//! under `-icount shift=0,sleep=off` the refill costs the emulated clock only
//! the few instructions around the trap, once per [`REFILL_BYTES`] bytes,
//! inside the byte timer's handler: the bytes still arrive one per byte
//! period, as from a real UART at that rate, the line never idles, and two
//! runs repeat exactly. (On a real board under a debug probe a semihosting
//! call halts the core for milliseconds, so this build is for QEMU only.)

use core::cell::RefCell;

use cortex_m::interrupt::{self, CriticalSection, Mutex};
use semihosting::{fs::File, io::Read};

use crate::serial::EOT;

include!(concat!(env!("OUT_DIR"), "/line_input_path.rs"));

/// Bytes read from the host per SYS_READ.
pub const REFILL_BYTES: usize = 256;

/// The open file and what the last read brought.
struct HostInput {
    file: File,
    buffer: [u8; REFILL_BYTES],
    /// Bytes of `buffer` that the last read filled.
    filled: usize,
    /// The next byte of `buffer` to deliver.
    next: usize,
    /// SYS_READ calls so far (for the log).
    refills: u32,
    /// The file is exhausted (or a read failed): only EOT follows.
    ended: bool,
}

/// The input, once [`open`] has opened it; only the byte timer's handler
/// touches it afterwards.
static HOST_INPUT: Mutex<RefCell<Option<HostInput>>> = Mutex::new(RefCell::new(None));

/// The path, for the log.
fn path() -> &'static str {
    LINE_INPUT_PATH.to_str().unwrap_or("(not UTF-8)")
}

/// Opens the input on the host (SYS_OPEN) and returns its length in bytes
/// (SYS_FLEN); logs why and fails if either call fails (a missing file, or
/// QEMU run without `-semihosting-config enable=on`).
pub fn open() -> Result<usize, ()> {
    let file = File::open(LINE_INPUT_PATH).map_err(|error| {
        defmt::error!(
            "line_input: cannot open {=str} on the host through semihosting: {}",
            path(),
            defmt::Display2Format(&error)
        );
    })?;
    let len = file.metadata().map(|metadata| metadata.len()).map_err(|error| {
        defmt::error!("line_input: cannot get the length of {=str}: {}", path(), defmt::Display2Format(&error));
    })?;
    defmt::info!("line_input: file={=str} file_bytes={=u64} refill_bytes={=usize}", path(), len, REFILL_BYTES);
    interrupt::free(|cs| {
        HOST_INPUT.borrow(cs).replace(Some(HostInput {
            file,
            buffer: [0; REFILL_BYTES],
            filled: 0,
            next: 0,
            refills: 0,
            ended: false,
        }))
    });
    Ok(usize::try_from(len).unwrap_or(usize::MAX))
}

/// The next byte on the line: the file's bytes in order, then EOT (also
/// after a failed read, which is logged: the run then receives fewer bytes
/// than the file holds).
pub fn next_byte(cs: &CriticalSection) -> u8 {
    let mut input = HOST_INPUT.borrow(cs).borrow_mut();
    let Some(input) = input.as_mut() else { return EOT };
    if input.next == input.filled {
        if input.ended {
            return EOT;
        }
        input.refills += 1;
        match input.file.read(&mut input.buffer) {
            Ok(0) => {
                input.ended = true;
                return EOT;
            }
            Ok(count) => {
                input.filled = count;
                input.next = 0;
            }
            Err(error) => {
                defmt::error!("line_input: reading {=str} failed: {}", path(), defmt::Display2Format(&error));
                input.ended = true;
                return EOT;
            }
        }
    }
    let byte = input.buffer[input.next];
    input.next += 1;
    byte
}

/// SYS_READ calls so far.
pub fn refills() -> u32 {
    interrupt::free(|cs| HOST_INPUT.borrow(cs).borrow().as_ref().map_or(0, |input| input.refills))
}

//! The word segmenter on UART0: text in, segmented text out, until the host
//! sends EOT.
//!
//! # Protocol
//!
//! - The host starts sending once the firmware is up (it has logged its
//!   first line; `ready:` follows once the model is checked). Under QEMU a
//!   byte sent before UART0 is set up may be lost (xtask waits for the log).
//! - The host sends UTF-8 text, one sentence per line (`\n` or `\r\n`), in
//!   any pieces and at any rate; the firmware answers with the same lines
//!   segmented, words separated by two spaces, each ending in `\n`, exactly
//!   as `decoder::Segmenter<DEFAULT_WINDOW>` does on the host
//!   (invalid UTF-8 is passed through, empty lines stay empty lines).
//! - The byte EOT (0x04, Ctrl-D) ends the input: the firmware flushes the
//!   last line (adding its `\n` if it had none), logs its figures and exits 0.
//!   Text never contains EOT, so it needs no escaping; anything after it is
//!   ignored.
//! - Input arrives by interrupt into a 1 KiB queue while the segmenter works
//!   (serial.rs), so a host may stream at up to the sustained rate that
//!   `cargo xtask firmware line-rate` measures per board; a byte lost above
//!   it is counted and logged (`serial: ... lost_overrun=N
//!   lost_queue_full=N`), never dropped silently. Under QEMU nothing is lost
//!   at any rate: reception pauses while the queue is nearly full, and QEMU
//!   stops feeding a full UART FIFO.
//!
//! The stopwatch runs only inside the segmenter, pauses while its output is
//! queued, and leaves out the interrupt handlers, so it times the segmenter
//! alone, never the UART.

use decoder::{Segmenter, DEFAULT_WINDOW};

use crate::{serial::Serial, systick::Stopwatch};

/// Most input bytes handed to the segmenter in one call.
pub const INPUT_CHUNK_BYTES: usize = 128;

/// What one session read, wrote and spent.
#[derive(Default)]
pub struct SessionStats {
    /// Input bytes, EOT excluded.
    pub bytes_in: u64,
    /// Input characters: bytes that do not continue a UTF-8 sequence (so an
    /// invalid byte counts as a character, like the segmenter's units).
    pub characters: u64,
    /// Input line feeds.
    pub line_feeds: u64,
    /// Output bytes.
    pub bytes_out: u64,
    /// SysTick ticks spent inside the segmenter, interrupt handlers left out.
    pub segmenter_ticks: u64,
    /// Interrupt handlers that ran while the segmenter did.
    pub segmenter_interrupts: u64,
    /// Times the segmenter had to cut a run without an exact Viterbi agreement.
    pub forced_cuts: u64,
}

impl SessionStats {
    fn count_input(&mut self, chunk: &[u8]) {
        self.bytes_in += chunk.len() as u64;
        for &byte in chunk {
            self.characters += u64::from(byte & 0xC0 != 0x80);
            self.line_feeds += u64::from(byte == b'\n');
        }
    }
}

/// The segmenter's output sink: queues output for UART0 with the stopwatch
/// paused, so waiting for the UART never counts as segmenter time. (The
/// segmenter hands its output over in pieces of up to 128 bytes, so the
/// pauses cost next to nothing.)
struct UartSink<'a> {
    serial: &'a mut Serial,
    stopwatch: &'a mut Stopwatch,
    written: u64,
}

impl UartSink<'_> {
    /// Never inlined: the segmenter's hot loop, generic over its sink, then
    /// compiles the same whatever the sink does.
    #[inline(never)]
    fn write(&mut self, bytes: &[u8]) {
        self.stopwatch.stop();
        self.serial.write_all(bytes);
        self.written += bytes.len() as u64;
        self.stopwatch.start();
    }
}

/// Fills `chunk` with input: up to and including the next line feed, or
/// until it is full, or until EOT. Returns the number of bytes and whether
/// EOT ended the input (EOT itself is not part of the chunk).
///
/// Chunks depend only on the input, never on when bytes arrive, so the
/// segmenter's instruction count is the same from run to run; and a line is
/// answered as soon as its line feed arrives.
pub fn receive_chunk(serial: &mut Serial, chunk: &mut [u8; INPUT_CHUNK_BYTES]) -> (usize, bool) {
    let mut len = 0;
    while len < chunk.len() {
        let Some(byte) = serial.read_byte() else {
            return (len, true);
        };
        chunk[len] = byte;
        len += 1;
        if byte == b'\n' {
            break;
        }
    }
    (len, false)
}

/// Segments UART0 input onto UART0 until EOT, then flushes the last line
/// and waits until it has been sent.
#[inline(never)]
pub fn segment_until_end_of_transmission(
    serial: &mut Serial,
    segmenter: &mut Segmenter<'_, DEFAULT_WINDOW>,
) -> SessionStats {
    let mut stats = SessionStats::default();
    let mut stopwatch = Stopwatch::default();
    let mut chunk = [0u8; INPUT_CHUNK_BYTES];
    let mut bytes_out = 0;
    loop {
        let (len, ended) = receive_chunk(serial, &mut chunk);
        let input = &chunk[..len];
        stats.count_input(input);

        let mut sink = UartSink { serial, stopwatch: &mut stopwatch, written: 0 };
        sink.stopwatch.start();
        segmenter.push(input, |bytes| sink.write(bytes));
        if ended {
            segmenter.finish(|bytes| sink.write(bytes));
        }
        sink.stopwatch.stop();
        bytes_out += sink.written;
        if ended {
            break;
        }
    }
    serial.flush();
    stats.bytes_out = bytes_out;
    stats.segmenter_ticks = stopwatch.total_ticks();
    stats.segmenter_interrupts = stopwatch.total_interrupts();
    stats.forced_cuts = segmenter.forced_cuts();
    stats
}

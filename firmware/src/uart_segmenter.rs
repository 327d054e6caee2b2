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
//! - Nothing is dropped when input comes faster than it is processed: the
//!   firmware reads UART0 only when it is ready for more, and QEMU stops
//!   taking bytes from its chardev while the UART's receive FIFO is full. (On
//!   real hardware the same needs RTS/CTS flow control, or a host that waits
//!   for each line's answer before sending the next.)
//!
//! The stopwatch runs only inside the segmenter and pauses while its output
//! is written to UART0, so it times the segmenter alone, never the UART.

use decoder::{Segmenter, DEFAULT_WINDOW};

use crate::{board::Uart0, systick::Stopwatch};

/// End of transmission (Ctrl-D): ends the input.
pub const EOT: u8 = 0x04;

/// Most input bytes handed to the segmenter in one call.
const INPUT_CHUNK_BYTES: usize = 128;

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
    /// SysTick ticks spent inside the segmenter.
    pub segmenter_ticks: u64,
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

/// The segmenter's output sink: writes to UART0 with the stopwatch paused,
/// so waiting for the UART never counts as segmenter time. (The segmenter
/// hands its output over in pieces of up to 128 bytes, so the pauses cost
/// next to nothing.)
struct UartSink<'a> {
    uart: &'a mut Uart0,
    stopwatch: &'a mut Stopwatch,
    written: u64,
}

impl UartSink<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.stopwatch.stop();
        self.uart.write_all(bytes);
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
fn receive_chunk(uart: &mut Uart0, chunk: &mut [u8; INPUT_CHUNK_BYTES]) -> (usize, bool) {
    let mut len = 0;
    while len < chunk.len() {
        let byte = uart.read_byte();
        if byte == EOT {
            return (len, true);
        }
        chunk[len] = byte;
        len += 1;
        if byte == b'\n' {
            break;
        }
    }
    (len, false)
}

/// Segments UART0 input onto UART0 until EOT, then flushes the last line.
pub fn segment_until_end_of_transmission(
    uart: &mut Uart0,
    segmenter: &mut Segmenter<'_, DEFAULT_WINDOW>,
) -> SessionStats {
    let mut stats = SessionStats::default();
    let mut stopwatch = Stopwatch::default();
    let mut chunk = [0u8; INPUT_CHUNK_BYTES];
    let mut bytes_out = 0;
    loop {
        let (len, ended) = receive_chunk(uart, &mut chunk);
        let input = &chunk[..len];
        stats.count_input(input);

        let mut sink = UartSink { uart, stopwatch: &mut stopwatch, written: 0 };
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
    stats.bytes_out = bytes_out;
    stats.segmenter_ticks = stopwatch.total_ticks();
    stats.forced_cuts = segmenter.forced_cuts();
    stats
}

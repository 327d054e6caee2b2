//! The word segmenter on UART0: text in, segmented text out, until the host
//! sends EOT.
//!
//! # Protocol
//!
//! - The host sends UTF-8 text, one sentence per line (`\n` or `\r\n`), in
//!   any pieces and at any rate; the firmware answers with the same lines
//!   segmented, words separated by two spaces, each ending in `\n`, exactly
//!   as `decoder::segment::Segmenter<DEFAULT_WINDOW>` does on the host
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
//! Output goes through a small RAM buffer that is written to UART0 between
//! segmenter calls, so the stopwatch times the segmenter alone and never a
//! wait on the UART.

use decoder::{Segmenter, DEFAULT_WINDOW};

use crate::{board::Uart0, systick::Stopwatch};

/// End of transmission (Ctrl-D): ends the input.
pub const EOT: u8 = 0x04;

/// Most input bytes handed to the segmenter in one call.
const INPUT_CHUNK_BYTES: usize = 64;
/// Output bytes collected before they are written to UART0.
const OUTPUT_BUFFER_BYTES: usize = 256;

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

/// Output on its way to UART0.
struct OutputBuffer {
    bytes: [u8; OUTPUT_BUFFER_BYTES],
    len: usize,
    written: u64,
}

impl OutputBuffer {
    fn new() -> Self {
        Self { bytes: [0; OUTPUT_BUFFER_BYTES], len: 0, written: 0 }
    }

    /// Takes `bytes` from the segmenter. When the buffer is full it is written
    /// out with the stopwatch paused, so UART time never counts as segmenter
    /// time.
    #[inline]
    fn take(&mut self, bytes: &[u8], uart: &mut Uart0, stopwatch: &mut Stopwatch) {
        if self.len + bytes.len() > OUTPUT_BUFFER_BYTES {
            stopwatch.stop();
            self.write_to(uart);
            stopwatch.start();
        }
        match self.bytes.get_mut(self.len..self.len + bytes.len()) {
            Some(free) => {
                free.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            // Larger than the whole buffer (the segmenter's pieces never are).
            None => {
                stopwatch.stop();
                uart.write_all(bytes);
                self.written += bytes.len() as u64;
                stopwatch.start();
            }
        }
    }

    /// Writes the buffered bytes to UART0 and empties the buffer.
    fn write_to(&mut self, uart: &mut Uart0) {
        uart.write_all(&self.bytes[..self.len]);
        self.written += self.len as u64;
        self.len = 0;
    }
}

/// Fills `chunk` with input: waits for the first byte, then takes what has
/// already arrived, up to the chunk's size. Returns the number of bytes and
/// whether EOT ended the input (EOT itself is not part of the chunk).
fn receive_chunk(uart: &mut Uart0, chunk: &mut [u8; INPUT_CHUNK_BYTES]) -> (usize, bool) {
    let mut len = 0;
    let mut next = Some(uart.read_byte());
    while let Some(byte) = next {
        if byte == EOT {
            return (len, true);
        }
        chunk[len] = byte;
        len += 1;
        if len == chunk.len() {
            break;
        }
        next = uart.try_read_byte();
    }
    (len, false)
}

/// Segments UART0 input onto UART0 until EOT, then flushes the last line.
pub fn segment_until_end_of_transmission(uart: &mut Uart0, segmenter: &mut Segmenter<'_, DEFAULT_WINDOW>) -> SessionStats {
    let mut stats = SessionStats::default();
    let mut stopwatch = Stopwatch::default();
    let mut output = OutputBuffer::new();
    let mut chunk = [0u8; INPUT_CHUNK_BYTES];
    loop {
        let (len, ended) = receive_chunk(uart, &mut chunk);
        let input = &chunk[..len];
        stats.count_input(input);

        stopwatch.start();
        segmenter.push(input, |bytes| output.take(bytes, uart, &mut stopwatch));
        if ended {
            segmenter.finish(|bytes| output.take(bytes, uart, &mut stopwatch));
        }
        stopwatch.stop();

        output.write_to(uart);
        if ended {
            break;
        }
    }
    stats.bytes_out = output.written;
    stats.segmenter_ticks = stopwatch.total_ticks();
    stats.forced_cuts = segmenter.forced_cuts();
    stats
}

//! The token labeler on UART0 (a token-level model, format version 6): CoNLL lines in, one answer line
//! per input line out, until the host sends EOT.
//!
//! # Protocol
//!
//! - The host sends a CoNLL column file as it is, in any pieces: one token a line, its columns (the
//!   word, then the model's feature columns, e.g. `EU NNP B-NP`) separated by white space, with or
//!   without the gold tag as one more, last column (ignored); a blank line ends a sentence; `-DOCSTART-`
//!   lines end one too. `\r\n` and a missing final line feed are accepted.
//! - The firmware answers every input line with one line, in order, once the sentence it belongs to
//!   has ended: the predicted tag of a token line, an empty line for a blank line, `O` for a
//!   `-DOCSTART-` line (so the answers are the column that `trainer label` appends), and `!code` for a
//!   line it cannot label (`!columns`, `!utf8`, `!control`, `!too-long`; see `decoder::TokenLabeler`).
//! - A sentence of more than [`SENTENCE_LINES`] lines or [`SENTENCE_BYTES`] bytes of token text is
//!   split: what is buffered is labelled as a sentence of its own (counted, `split_sentences=`). A line
//!   longer than [`SENTENCE_BYTES`] is answered `!too-long`.
//! - EOT (0x04) ends the input: the last sentence is labelled and answered, the figures are logged and
//!   the firmware exits 0. Reception is the segmenter's (interrupt-driven, counted losses).
//!
//! The stopwatch runs only inside the labeler and pauses while answers are queued for the UART.

use decoder::{Answer, TokenLabeler};

use crate::{serial::Serial, systick::Stopwatch, uart_segmenter::receive_chunk};

/// Bytes of token text a sentence may take (the columns read, one space between them): CoNLL-2003's
/// longest sentence takes 1,212.
pub const SENTENCE_BYTES: usize = 4096;
/// Lines a sentence may have: CoNLL-2003's longest has 124 tokens.
pub const SENTENCE_LINES: usize = 256;

/// The firmware's labeler.
pub type Labeler<'m> = TokenLabeler<'m, SENTENCE_BYTES, SENTENCE_LINES>;

/// What one session read, wrote and spent.
#[derive(Default)]
pub struct TokenSessionStats {
    /// Input bytes, EOT excluded.
    pub bytes_in: u64,
    /// Output bytes.
    pub bytes_out: u64,
    /// SysTick ticks spent inside the labeler, interrupt handlers left out.
    pub labeler_ticks: u64,
    /// Interrupt handlers that ran while the labeler did.
    pub labeler_interrupts: u64,
}

/// The answers' sink: queues them for UART0 with the stopwatch paused.
struct AnswerSink<'a> {
    serial: &'a mut Serial,
    stopwatch: &'a mut Stopwatch,
    written: u64,
}

impl AnswerSink<'_> {
    #[inline(never)]
    fn answer(&mut self, answer: Answer<'_>) {
        self.stopwatch.stop();
        answer.write_line(|bytes| {
            self.serial.write_all(bytes);
            self.written += bytes.len() as u64;
        });
        self.stopwatch.start();
    }
}

/// Labels UART0 input onto UART0 until EOT, then answers the last sentence and waits until everything
/// has been sent.
#[inline(never)]
pub fn label_until_end_of_transmission(serial: &mut Serial, labeler: &mut Labeler<'_>) -> TokenSessionStats {
    let mut stats = TokenSessionStats::default();
    let mut stopwatch = Stopwatch::default();
    let mut chunk = [0u8; crate::uart_segmenter::INPUT_CHUNK_BYTES];
    loop {
        let (len, ended) = receive_chunk(serial, &mut chunk);
        let input = &chunk[..len];
        stats.bytes_in += input.len() as u64;
        let mut sink = AnswerSink { serial, stopwatch: &mut stopwatch, written: 0 };
        sink.stopwatch.start();
        labeler.push(input, |answer| sink.answer(answer));
        if ended {
            labeler.finish(|answer| sink.answer(answer));
        }
        sink.stopwatch.stop();
        stats.bytes_out += sink.written;
        if ended {
            break;
        }
    }
    serial.flush();
    stats.labeler_ticks = stopwatch.total_ticks();
    stats.labeler_interrupts = stopwatch.total_interrupts();
    stats
}

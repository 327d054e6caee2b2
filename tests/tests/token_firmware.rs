//! A token-level model (issue #19) on the firmware under QEMU: CoNLL lines streamed over UART0 come back
//! as one answer line per input line, byte-identical to the tag column that `trainer label` appends
//! (`trainer::token::label_file`), on the whole CoNLL-2003 test set when the corpora are present
//! (`CRF_DATA_DIR`, default `../shared/data`; skipped with a message otherwise), and malformed input gets
//! its documented answers (`decoder::TokenLabeler`), never a hang or a fault.
//!
//! The model is the committed `models/ner-conll2003-64k.crfm` (trainer/README.md says how it was made).

use std::{path::PathBuf, time::Duration};

use integration_tests::{build, first_difference, report_line, toolchain};
use xtask::{
    firmware::{Board, FirmwareBuild},
    measure::{
        self,
        serial::SerialFigures,
        tokens::{conll2003_test, tag_column, TokenFigures},
    },
    workspace_root,
};

const TIMEOUT: Duration = Duration::from_secs(300);

/// The firmware's sentence buffer (firmware/src/uart_tokens.rs).
const SENTENCE_BYTES: usize = 4096;
const SENTENCE_LINES: usize = 256;

/// The LM3S6965's budgets (as in tests/segmenter.rs): 256 KiB flash, 48 KiB of RAM for the application.
const LM3S6965_FLASH_BUDGET: u64 = 256 * 1024;
const LM3S6965_RAM_BUDGET: u64 = 48 * 1024;

fn model() -> PathBuf {
    workspace_root().join("models").join("ner-conll2003-64k.crfm")
}

/// Streams `input` through the token-level image for `board`: it must exit 0, lose no byte and answer
/// `expected`. Returns the figures.
fn labels(board: Board, what: &str, input: &[u8], expected: &[u8]) -> TokenFigures {
    let toolchain = toolchain();
    let image = FirmwareBuild::new(board).with_model(model());
    assert!(image.all_features().contains("tokens"), "{}", image.all_features());
    let elf = build(&toolchain, &image);
    let run = measure::run_segmenter(&toolchain, board, &elf, input, TIMEOUT)
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    let outcome = &run.outcome;
    assert!(outcome.success(), "{what} on {board}: {}", outcome.report());
    assert!(outcome.defmt_log.contains("format=6"), "{}", outcome.report());
    let figures = TokenFigures::from_log(&outcome.defmt_log)
        .unwrap_or_else(|error| panic!("{what} on {board}: {error:#}\n{}", outcome.report()));
    let serial = SerialFigures::from_log(&outcome.defmt_log).expect("serial figures");
    assert_eq!(serial, SerialFigures { received: input.len() as u64, lost_overrun: 0, lost_queue_full: 0 });
    assert_eq!(figures.bytes_in, input.len() as u64);
    assert_eq!(figures.bytes_out, outcome.uart_output.len() as u64);
    assert!(outcome.uart_output == expected, "{what} on {board}: {}", first_difference(expected, &outcome.uart_output));
    if board == Board::Lm3s6965evb {
        assert!(figures.flash <= LM3S6965_FLASH_BUDGET, "{board}: over the flash budget: {figures}");
        assert!(figures.ram_in_use <= LM3S6965_RAM_BUDGET, "{board}: over the RAM budget: {figures}");
    }
    report_line(&format!(
        "token labeler on {board} ({}), {what}: identical, {:.1}s in QEMU\n    {figures}",
        board.core(),
        outcome.elapsed.as_secs_f64()
    ));
    figures
}

fn conll2003_test_set_is_labelled_like_trainer_label(board: Board) {
    let Some(path) = conll2003_test() else {
        report_line(&format!(
            "SKIPPED the CoNLL-2003 check on {board}: no conll2003/eng.testb under {} (set {})",
            measure::data_dir().display(),
            measure::DATA_DIR_VARIABLE
        ));
        return;
    };
    let bytes = std::fs::read(model()).expect("reading the committed token-level model");
    let model = decoder::Model::from_bytes(&bytes).expect("a valid model");
    let labelled = trainer::token::label_file(&model, &path).expect("trainer label");
    let expected = tag_column(labelled.as_bytes());
    let input = std::fs::read(&path).unwrap();
    let figures = labels(board, "CoNLL-2003 eng.testb", &input, &expected);
    assert_eq!((figures.error_lines, figures.split_sentences), (0, 0), "{figures}");
    assert_eq!(figures.lines as usize, expected.iter().filter(|&&b| b == b'\n').count());
}

#[test]
fn conll2003_test_set_is_labelled_like_trainer_label_on_lm3s6965evb_cortex_m3() {
    conll2003_test_set_is_labelled_like_trainer_label(Board::Lm3s6965evb);
}

#[test]
fn conll2003_test_set_is_labelled_like_trainer_label_on_mps2_an386_cortex_m4() {
    conll2003_test_set_is_labelled_like_trainer_label(Board::Mps2An386);
}

/// What a serial line may carry besides well-formed CoNLL lines.
fn malformed_input() -> Vec<u8> {
    let mut input = Vec::new();
    input.extend_from_slice(b"-DOCSTART- -X- -X- O\n\n");
    // Token lines without and with the gold tag column, one with CRLF and tabs.
    input.extend_from_slice(b"EU NNP I-NP\nrejects VBZ I-VP O\nGerman\tJJ\tI-NP\tI-MISC\r\n");
    // Ragged columns: two, and five.
    input.extend_from_slice(b"call NN\nto TO I-VP O extra\n");
    // Invalid UTF-8, a NUL byte, an escape sequence.
    input.extend_from_slice(b"\xff\xfe NNP I-NP\nbo\0ycott VB I-VP\n\x1b[0m NN I-NP\n");
    // A token longer than the sentence buffer.
    input.extend_from_slice(&b"x".repeat(SENTENCE_BYTES + 100));
    input.extend_from_slice(b" NN I-NP\nlamb NN I-NP\n. . O\n");
    // Empty sentences: blank and white-space-only lines.
    input.extend_from_slice(b"\n\n  \t \n\r\n");
    // A sentence of more lines than the buffer holds: split, counted.
    for i in 0..SENTENCE_LINES + 44 {
        input.extend_from_slice(format!("word{i} NN I-NP\n").as_bytes());
    }
    input.push(b'\n');
    // A last line without a line feed.
    input.extend_from_slice(b"Peter NNP I-NP");
    input
}

#[test]
fn malformed_conll_input_gets_its_documented_answers_on_lm3s6965evb_cortex_m3() {
    let bytes = std::fs::read(model()).expect("reading the committed token-level model");
    let model = decoder::Model::from_bytes(&bytes).expect("a valid model");
    let input = malformed_input();
    // The host runs the firmware's labeler (same buffer sizes) over the same bytes.
    let mut labeler = decoder::TokenLabeler::<SENTENCE_BYTES, SENTENCE_LINES>::new(&model);
    let mut expected = Vec::new();
    labeler.push(&input, |answer| answer.write_line(|b| expected.extend_from_slice(b)));
    labeler.finish(|answer| answer.write_line(|b| expected.extend_from_slice(b)));
    // The answers it documents, line by line.
    let lines: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len() - 1, 2 + 3 + 2 + 3 + 3 + 4 + SENTENCE_LINES + 44 + 1 + 1, "one answer per input line");
    assert_eq!(&lines[..2], &[&b"O"[..], b""]);
    let tags: Vec<&str> = model.tag_names().collect();
    for &line in &lines[2..5] {
        assert!(tags.contains(&std::str::from_utf8(line).unwrap()), "{line:?}");
    }
    assert_eq!(&lines[5..11], &[&b"!columns"[..], b"!columns", b"!utf8", b"!control", b"!control", b"!too-long"]);
    assert_eq!(&lines[13..17], &[&b""[..], b"", b"", b""]);
    // Two splits: the over-long line did not fit after the tokens before it (they were labelled then),
    // and the sentence of 300 lines.
    let stats = labeler.stats();
    assert_eq!((stats.error_lines, stats.split_sentences), (6, 2), "{stats:?}");

    let figures = labels(Board::Lm3s6965evb, "malformed CoNLL input", &input, &expected);
    assert_eq!((figures.error_lines, figures.split_sentences), (6, 2), "{figures}");
}

//! The firmware's word segmenter under QEMU against the host's.
//!
//! Text streamed over UART0 (then EOT) must come back byte-identical to the
//! host's segmentation with the same model (`decoder::Segmenter::segment_to_vec`,
//! the code path of `trainer segment`): the whole PKU test input when the
//! corpora are present (`CRF_DATA_DIR`, default `../shared/data`), the
//! committed sample otherwise, and malformed input. A corrupted model must
//! fail at boot. Each run prints the board's figures (instructions per
//! character under `-icount shift=0`, peak stack, static RAM, flash split).
//!
//! One test binary, like tests/qemu.rs: its tests share the firmware target
//! directory, and xtask serialises their builds within one process.

use std::{fs, time::Duration};

use integration_tests::{build, first_difference, host_segmentation, reference_input, report_line, toolchain};
use xtask::{
    firmware::{default_model, Board, FirmwareBuild},
    measure::{self, serial::SerialFigures, SegmenterFigures, SegmenterRun, EOT},
    qemu::{self, QemuExit, RunOptions},
};

/// Generous: the PKU test input takes about half a minute per board.
const SEGMENTER_TIMEOUT: Duration = Duration::from_secs(300);

/// The image's budgets on the smallest board (LM3S6965: 256 KiB flash, 64 KiB
/// RAM of which the application may use 48 KiB, stack included).
const LM3S6965_FLASH_BUDGET: u64 = 256 * 1024;
const LM3S6965_RAM_BUDGET: u64 = 48 * 1024;
/// The micro:bit's nRF51822 (256 KiB flash, 16 KiB RAM): the image must fit
/// the whole chip, stack included.
const MICROBIT_FLASH_BUDGET: u64 = 256 * 1024;
const MICROBIT_RAM_BUDGET: u64 = 16 * 1024;

/// Streams `input` through the default image for `board` and checks that it
/// exits 0, loses no byte, and answers exactly like the host. Returns the run
/// for further checks.
fn segments_like_the_host(board: Board, what: &str, input: &[u8]) -> SegmenterRun {
    let toolchain = toolchain();
    let image = FirmwareBuild::new(board);
    let elf = build(&toolchain, &image);
    let expected = host_segmentation(&default_model(), input);

    let run = measure::run_segmenter(&toolchain, board, &elf, input, SEGMENTER_TIMEOUT)
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    let outcome = &run.outcome;
    assert!(outcome.success(), "{what} on {board}: {}", outcome.report());
    let figures = run.figures.unwrap_or_else(|| panic!("{what} on {board}: no figures logged:\n{}", outcome.report()));
    // Back-pressure: every byte sent arrived, however fast it was sent.
    assert_eq!(figures.bytes_in, input.len() as u64, "{what} on {board}: bytes lost on the way in");
    assert_eq!(figures.bytes_out, outcome.uart_output.len() as u64, "{what} on {board}: bytes lost on the way out");
    assert_serial_lost_nothing(board, what, outcome, input.len());
    assert!(
        outcome.uart_output == expected,
        "{what} on {board}: {}",
        first_difference(&expected, &outcome.uart_output)
    );
    print_figures(board, what, &run, input.len());
    run
}

/// Checks the serial port's counts: all `sent` bytes received, none lost.
fn assert_serial_lost_nothing(board: Board, what: &str, outcome: &qemu::RunOutcome, sent: usize) {
    let serial = SerialFigures::from_log(&outcome.defmt_log)
        .unwrap_or_else(|error| panic!("{what} on {board}: {error:#}\n{}", outcome.report()));
    assert_eq!(
        serial,
        SerialFigures { received: sent as u64, lost_overrun: 0, lost_queue_full: 0 },
        "{what} on {board}: the serial port lost input"
    );
}

/// One line per run with the board's figures (stderr: shown even on success).
fn print_figures(board: Board, what: &str, run: &SegmenterRun, input_bytes: usize) {
    let Some(figures) = &run.figures else { return };
    report_line(&format!(
        "segmenter on {board} ({}), {what}: identical to the host, {} bytes in, {} out, {} forced cuts, \
         {:.1}s in QEMU ({:.0} KB/s)\n    {figures}",
        board.core(),
        figures.bytes_in,
        figures.bytes_out,
        figures.forced_cuts,
        run.outcome.elapsed.as_secs_f64(),
        run.throughput(input_bytes) / 1000.0
    ));
}

fn check_budgets(board: Board, figures: &SegmenterFigures) {
    assert!(figures.flash_model > 0 && figures.flash_code > 0, "{board}: {figures}");
    if board == Board::Lm3s6965evb {
        assert!(figures.flash <= LM3S6965_FLASH_BUDGET, "{board}: over the flash budget: {figures}");
        assert!(figures.ram_in_use <= LM3S6965_RAM_BUDGET, "{board}: over the RAM budget: {figures}");
    }
    if board == Board::Microbit {
        assert!(figures.flash <= MICROBIT_FLASH_BUDGET, "{board}: over the flash budget: {figures}");
        assert!(figures.ram_in_use <= MICROBIT_RAM_BUDGET, "{board}: over the RAM budget: {figures}");
    }
}

#[test]
fn pku_test_input_is_segmented_like_the_host_on_lm3s6965evb_cortex_m3() {
    let (what, input) = reference_input();
    let run = segments_like_the_host(Board::Lm3s6965evb, &what, &input);
    check_budgets(Board::Lm3s6965evb, &run.figures.expect("checked"));
}

#[test]
fn pku_test_input_is_segmented_like_the_host_on_mps2_an386_cortex_m4() {
    let (what, input) = reference_input();
    let run = segments_like_the_host(Board::Mps2An386, &what, &input);
    check_budgets(Board::Mps2An386, &run.figures.expect("checked"));
}

#[test]
fn pku_test_input_is_segmented_like_the_host_on_mps2_an505_cortex_m33() {
    let (what, input) = reference_input();
    let run = segments_like_the_host(Board::Mps2An505, &what, &input);
    check_budgets(Board::Mps2An505, &run.figures.expect("checked"));
}

#[test]
fn pku_test_input_is_segmented_like_the_host_on_netduinoplus2_cortex_m4() {
    let (what, input) = reference_input();
    let run = segments_like_the_host(Board::Netduinoplus2, &what, &input);
    check_budgets(Board::Netduinoplus2, &run.figures.expect("checked"));
}

#[test]
fn pku_test_input_is_segmented_like_the_host_on_microbit_cortex_m0() {
    let (what, input) = reference_input();
    let run = segments_like_the_host(Board::Microbit, &what, &input);
    check_budgets(Board::Microbit, &run.figures.expect("checked"));
}

/// Characters for a long line without punctuation or spaces.
const LONG_LINE_CHARACTERS: &str = "我们在北京工作学习生活中国人民经济发展建设社会主义市场研究科学技术教育文化";

/// Input a serial line may well carry: everything here must come back as
/// the host segments it, without a crash.
fn malformed_input() -> Vec<u8> {
    let mut input = Vec::new();
    // Invalid UTF-8: bad bytes, a truncated sequence, lone continuation
    // bytes, an overlong encoding, a surrogate, a code point past U+10FFFF.
    input.extend_from_slice(b"bad \xff\xfe bytes, cut \xe4\xb8 short \xe4\xb8\xad\xe6\x96\x87\n");
    input.extend_from_slice(b"\x80\xbf\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe5\x9c\xa8\xf0\x9f\n");
    // NUL bytes and other control characters.
    input.extend_from_slice(b"NUL\0in\0\0the middle\0\n\0\0\n\x01\x02\x1b[0m\x7f\n");
    // Empty and white-space-only lines (ASCII, tab, ideographic space).
    input.extend_from_slice("\n\n\r\n   \t  \u{3000} \n\t\n \r\n".as_bytes());
    // Mixed Latin, digits and full-width punctuation and letters.
    input.extend_from_slice("GDP增长7.8%，ＡＢＣ１２３！Hello, world世界。３．１４ e-mail: a@b.cn\n".as_bytes());
    // Emoji, with a skin-tone modifier and a ZWJ sequence.
    input.extend_from_slice("今天😀很开心👍🏽，一家人👨\u{200d}👩\u{200d}👧去公园🌳。\n".as_bytes());
    // CRLF line endings, and a lone CR inside a line.
    input.extend_from_slice("我们在北京。\r\n他们在上海。\r\n前\r后\n".as_bytes());
    // 100,000 characters without punctuation or spaces: longer than every
    // buffer, so the streaming segmenter must commit (or cut) as it goes.
    let characters: Vec<char> = LONG_LINE_CHARACTERS.chars().collect();
    let long_line: String = (0..100_000).map(|i| characters[(i * 7 + i / 13) % characters.len()]).collect();
    input.extend_from_slice(long_line.as_bytes());
    input.push(b'\n');
    input.extend_from_slice("a".repeat(5_000).as_bytes());
    input.push(b'\n');
    // A last line without a line ending.
    input.extend_from_slice("最后一行没有换行".as_bytes());
    input
}

#[test]
fn malformed_input_is_segmented_like_the_host_on_lm3s6965evb_cortex_m3() {
    segments_like_the_host(Board::Lm3s6965evb, "malformed input", &malformed_input());
}

#[test]
fn malformed_input_is_segmented_like_the_host_on_mps2_an386_cortex_m4() {
    segments_like_the_host(Board::Mps2An386, "malformed input", &malformed_input());
}

#[test]
fn malformed_input_is_segmented_like_the_host_on_mps2_an505_cortex_m33() {
    segments_like_the_host(Board::Mps2An505, "malformed input", &malformed_input());
}

#[test]
fn malformed_input_is_segmented_like_the_host_on_netduinoplus2_cortex_m4() {
    segments_like_the_host(Board::Netduinoplus2, "malformed input", &malformed_input());
}

#[test]
fn malformed_input_is_segmented_like_the_host_on_microbit_cortex_m0() {
    segments_like_the_host(Board::Microbit, "malformed input", &malformed_input());
}

/// A model with a word list (format version 3: lexicon templates, whose word bits the firmware's
/// streaming segmenter keeps as it goes) answers like the host too. Trained here on the trainer's sample
/// corpus within 64 KiB.
#[test]
fn a_word_list_model_segments_like_the_host_on_lm3s6965evb_cortex_m3() {
    let scratch = std::env::temp_dir().join(format!("crf-lexicon-model-{}", std::process::id()));
    fs::create_dir_all(&scratch).unwrap();
    let model = scratch.join("lexicon.crfm");
    let options = trainer::pipeline::TrainOptions {
        out: model.clone(),
        max_model_bytes: Some(65_536),
        reference_model: false,
        ..trainer::pipeline::TrainOptions::default()
    };
    let summary =
        trainer::pipeline::train(&options, &mut trainer::pipeline::Silent).expect("training the word-list model");
    let loaded = decoder::Model::from_bytes(&summary.bytes).unwrap();
    assert_eq!(loaded.format_version(), 3);
    assert!(loaded.word_count() > 100, "{} words", loaded.word_count());

    let toolchain = toolchain();
    let board = Board::Lm3s6965evb;
    let image = FirmwareBuild::new(board).with_model(&model);
    let elf = build(&toolchain, &image);
    let mut input = fs::read(measure::sample_input()).expect("reading tests/data/sample.utf8");
    input.extend_from_slice(&malformed_input());
    let expected = host_segmentation(&model, &input);
    let run = measure::run_segmenter(&toolchain, board, &elf, &input, SEGMENTER_TIMEOUT)
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    let _ = fs::remove_dir_all(&scratch);
    let outcome = &run.outcome;
    assert!(outcome.success(), "word-list model on {board}: {}", outcome.report());
    assert!(outcome.defmt_log.contains("format=3"), "{}", outcome.report());
    assert!(
        outcome.uart_output == expected,
        "word-list model on {board}: {}",
        first_difference(&expected, &outcome.uart_output)
    );
    print_figures(board, "word-list model, sample and malformed input", &run, input.len());
}

/// A firmware built with `CRF_USER_DICT` keeps the listed words whole, byte-identical to the host's
/// segmenter with the same dictionary and rules.
#[test]
fn a_user_dictionary_image_segments_like_the_host() {
    let scratch = std::env::temp_dir().join(format!("crf-user-dict-{}", std::process::id()));
    fs::create_dir_all(&scratch).unwrap();
    let list = scratch.join("small-dict.txt");
    let words = "中华人民共和国成立\n北京大学\n研究生命\n一九四九年\n新年音乐会\n";
    fs::write(&list, words).unwrap();

    let toolchain = toolchain();
    let board = Board::Lm3s6965evb;
    let mut image = FirmwareBuild::new(board);
    image.user_dict = Some(list.clone());
    let elf = build(&toolchain, &image);
    let mut input = fs::read(measure::sample_input()).expect("reading tests/data/sample.utf8");
    input.extend_from_slice("中华人民共和国成立于1949年10月1日。北京大学的新年音乐会很好。\n".as_bytes());
    input.extend_from_slice(&malformed_input());
    let dictionary_bytes = decoder::build_dictionary(words.as_bytes()).unwrap();
    let dictionary = decoder::Dictionary::from_bytes(&dictionary_bytes).unwrap();
    let model_bytes = fs::read(default_model()).unwrap();
    let model = decoder::Model::from_bytes(&model_bytes).unwrap();
    let rules = decoder::SpanRules { dictionary: Some(&dictionary), forced_spans: true };
    let mut expected = Vec::new();
    decoder::Segmenter::<{ decoder::DEFAULT_WINDOW }>::with_rules(&model, rules)
        .segment_all(&input, |b| expected.extend_from_slice(b));
    assert!(String::from_utf8_lossy(&expected).contains("中华人民共和国成立  于"));
    let run = measure::run_segmenter(&toolchain, board, &elf, &input, SEGMENTER_TIMEOUT)
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    let _ = fs::remove_dir_all(&scratch);
    let outcome = &run.outcome;
    assert!(outcome.success(), "user dictionary on {board}: {}", outcome.report());
    assert!(outcome.defmt_log.contains("user_dict: bytes="), "{}", outcome.report());
    assert!(
        outcome.uart_output == expected,
        "user dictionary on {board}: {}",
        first_difference(&expected, &outcome.uart_output)
    );
    print_figures(board, "user dictionary, sample and malformed input", &run, input.len());
}

#[test]
fn a_corrupted_model_fails_cleanly_at_boot() {
    let model = fs::read(default_model()).expect("reading the default model");
    let scratch = std::env::temp_dir().join(format!("crf-corrupt-model-{}", std::process::id()));
    fs::create_dir_all(&scratch).unwrap();
    let corrupted = scratch.join("corrupted.crfm");
    let mut bytes = model;
    // A byte in the middle of the weight table: only the CRC can tell.
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&corrupted, &bytes).unwrap();

    let toolchain = toolchain();
    let board = Board::Lm3s6965evb;
    let image = FirmwareBuild::new(board).with_model(&corrupted);
    let elf = build(&toolchain, &image);
    let run = measure::run_segmenter(&toolchain, board, &elf, "我们在北京。\n".as_bytes(), Duration::from_secs(60))
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    let _ = fs::remove_dir_all(&scratch);

    let outcome = &run.outcome;
    assert_eq!(outcome.exit, QemuExit::Code(1), "{}", outcome.report());
    assert!(outcome.defmt_log.contains("model corrupted.crfm"), "{}", outcome.report());
    assert!(outcome.defmt_log.contains("rejected: model is corrupt: CRC-32"), "{}", outcome.report());
    assert!(outcome.defmt_log.contains("BadChecksum"), "{}", outcome.report());
    assert!(outcome.uart_output.is_empty(), "{}", outcome.report());
    report_line(&format!("corrupted model on {board}: rejected at boot, exit status 1"));
}

/// Reception pauses when the input queue fills and resumes once it drains, losing no byte and never
/// hanging. The `selftest-backpressure` image holds the main program until reception has paused and lets
/// a byte arrive while the UART handler masks reception: QEMU's STM32 USART (netduinoplus2) then keeps
/// its interrupt line raised until that byte is read, which once hung the firmware at random; the
/// LM3S6965's PL011 keeps such bytes in its FIFO.
#[test]
fn back_pressure_pauses_reception_without_losing_a_byte() {
    let toolchain = toolchain();
    let input = fs::read(measure::sample_input()).expect("reading tests/data/sample.utf8");
    // More than the firmware's input queue (1,024 bytes) holds, so reception must pause.
    assert!(input.len() > 2048, "the sample is too short to fill the input queue");
    let expected = host_segmentation(&default_model(), &input);
    for board in [Board::Netduinoplus2, Board::Lm3s6965evb] {
        let image = FirmwareBuild::with_features(board, &["selftest-backpressure"]);
        let elf = build(&toolchain, &image);
        let run = measure::run_segmenter(&toolchain, board, &elf, &input, Duration::from_secs(60))
            .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
        let outcome = &run.outcome;
        assert!(outcome.success(), "back-pressure on {board}: {}", outcome.report());
        assert_serial_lost_nothing(board, "back-pressure", outcome, input.len());
        let pauses = measure::Figures::parse(&outcome.defmt_log).integer("rx_pauses").unwrap();
        assert!(pauses >= 1, "back-pressure on {board}: reception never paused\n{}", outcome.report());
        assert!(
            outcome.uart_output == expected,
            "back-pressure on {board}: {}",
            first_difference(&expected, &outcome.uart_output)
        );
        report_line(&format!("back-pressure on {board}: rx_pauses={pauses}, no byte lost"));
    }
}

/// Bytes after EOT are ignored: the answer is the host's for the text before
/// it, and the serial port counts only those bytes.
fn bytes_after_end_of_transmission_are_ignored(board: Board) {
    let toolchain = toolchain();
    let image = FirmwareBuild::new(board);
    let elf = build(&toolchain, &image);
    let text = "我们在北京。\n最后一行没有换行".as_bytes();
    let mut uart_input = text.to_vec();
    uart_input.push(EOT);
    uart_input.extend_from_slice("之后的字节\n\x04\n more".as_bytes());
    let options = RunOptions { uart_input, ..RunOptions::default() };
    let outcome = qemu::run(&toolchain, board, &elf, &options)
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    assert!(outcome.success(), "{}", outcome.report());
    assert_eq!(outcome.uart_output, host_segmentation(&default_model(), text), "{}", outcome.report());
    let serial = SerialFigures::from_log(&outcome.defmt_log).unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(serial, SerialFigures { received: text.len() as u64, lost_overrun: 0, lost_queue_full: 0 });
}

#[test]
fn bytes_after_end_of_transmission_are_ignored_on_every_board() {
    for board in Board::ALL {
        bytes_after_end_of_transmission_are_ignored(board);
    }
}

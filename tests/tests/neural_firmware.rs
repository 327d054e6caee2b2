//! A neural model (issue #18) on the firmware under QEMU against the host, byte for byte: a small random
//! model over the committed sample's characters (`trainer::neural::sample`, until trained ones exist),
//! built into images with the firmware's `neural` feature (xtask sets it for a neural model).

use std::{fs, time::Duration};

use integration_tests::{build, first_difference, host_segmentation, report_line, toolchain};
use xtask::{
    firmware::{Board, FirmwareBuild},
    measure,
};

const TIMEOUT: Duration = Duration::from_secs(300);

fn neural_model_segments_like_the_host(board: Board) {
    let scratch = std::env::temp_dir().join(format!("crf-neural-model-{}-{board}", std::process::id()));
    fs::create_dir_all(&scratch).unwrap();
    let model = scratch.join("neural.crfm");
    let sample = fs::read(measure::sample_input()).expect("reading tests/data/sample.utf8");
    let text = String::from_utf8(sample.clone()).unwrap();
    let bytes = trainer::neural::sample::random_sample_model(&text, 2000, 18).expect("exporting the neural model");
    fs::write(&model, &bytes).unwrap();

    let toolchain = toolchain();
    let image = FirmwareBuild::new(board).with_model(&model);
    assert!(image.all_features().contains("neural"), "{}", image.all_features());
    let elf = build(&toolchain, &image);
    // The sample, then characters outside the vocabulary, white space and a line without an ending.
    let mut input = sample;
    input.extend_from_slice("ＡＢＣ abc 😀😀 丁\t一\r\n\n末行".as_bytes());
    let expected = host_segmentation(&model, &input);
    let run = measure::run_segmenter(&toolchain, board, &elf, &input, TIMEOUT)
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    let _ = fs::remove_dir_all(&scratch);
    let outcome = &run.outcome;
    assert!(outcome.success(), "neural model on {board}: {}", outcome.report());
    assert!(outcome.defmt_log.contains("format=5") && outcome.defmt_log.contains("neural"), "{}", outcome.report());
    assert!(
        outcome.uart_output == expected,
        "neural model on {board}: {}",
        first_difference(&expected, &outcome.uart_output)
    );
    let figures = run.figures.as_ref().expect("figures logged");
    report_line(&format!(
        "neural model ({} bytes) on {board} ({}), sample input: identical to the host\n    {figures}",
        bytes.len(),
        board.core()
    ));
}

#[test]
fn a_neural_model_segments_like_the_host_on_mps2_an386_cortex_m4() {
    neural_model_segments_like_the_host(Board::Mps2An386);
}

#[test]
fn a_neural_model_segments_like_the_host_on_lm3s6965evb_cortex_m3() {
    neural_model_segments_like_the_host(Board::Lm3s6965evb);
}

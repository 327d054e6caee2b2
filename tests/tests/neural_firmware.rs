//! Models with the neural encoder (issue #18) on the firmware under QEMU against the host, byte for byte:
//! the committed `models/neural-sample.crfm` (format version 5) and `models/hybrid-sample.crfm` (version 7,
//! the encoder plus an n-gram table), small models trained on the trainer's built-in sample corpus
//! (trainer/README.md gives the commands), built into images with the firmware's `neural` feature (xtask
//! sets it for both versions).

use std::{fs, path::PathBuf, time::Duration};

use integration_tests::{build, first_difference, host_segmentation, report_line, toolchain};
use xtask::{
    firmware::{Board, FirmwareBuild},
    measure, workspace_root,
};

const TIMEOUT: Duration = Duration::from_secs(300);

/// A committed model with the neural encoder, and what the firmware must log about it.
struct EncoderModel {
    /// Its file under `models/`.
    file: &'static str,
    /// Its format version (the firmware logs `format=N`).
    format: u16,
    /// The emission kind the firmware logs after the tag scheme.
    kind: &'static str,
}

const NEURAL: EncoderModel = EncoderModel { file: "neural-sample.crfm", format: 5, kind: "neural" };
const HYBRID: EncoderModel = EncoderModel { file: "hybrid-sample.crfm", format: 7, kind: "hybrid" };

impl EncoderModel {
    fn path(&self) -> PathBuf {
        workspace_root().join("models").join(self.file)
    }
}

fn segments_like_the_host(board: Board, model: EncoderModel) {
    let path = model.path();
    let toolchain = toolchain();
    let image = FirmwareBuild::new(board).with_model(&path);
    assert!(image.all_features().contains("neural"), "{}", image.all_features());
    let elf = build(&toolchain, &image);
    // The sample (characters the model never saw among them), then full-width letters, white space, an
    // emoji and a line without an ending.
    let mut input = fs::read(measure::sample_input()).expect("reading tests/data/sample.utf8");
    input.extend_from_slice("ＡＢＣ abc 😀😀 丁\t一\r\n\n末行".as_bytes());
    let expected = host_segmentation(&path, &input);
    let run = measure::run_segmenter(&toolchain, board, &elf, &input, TIMEOUT)
        .unwrap_or_else(|error| panic!("running {}: {error:#}", image.image_name()));
    let outcome = &run.outcome;
    let what = format!("{} on {board}", model.file);
    assert!(outcome.success(), "{what}: {}", outcome.report());
    let logged = format!("format={}", model.format);
    assert!(outcome.defmt_log.contains(&logged), "{what}: no `{logged}` in the log\n{}", outcome.report());
    assert!(outcome.defmt_log.contains(&format!(" {} vocabulary=", model.kind)), "{what}: {}", outcome.report());
    assert!(outcome.uart_output == expected, "{what}: {}", first_difference(&expected, &outcome.uart_output));
    let figures = run.figures.as_ref().expect("figures logged");
    report_line(&format!(
        "{what} ({}), sample input: identical to the host, {:.1}s in QEMU\n    {figures}",
        board.core(),
        outcome.elapsed.as_secs_f64()
    ));
}

#[test]
fn the_neural_sample_model_segments_like_the_host_on_mps2_an386_cortex_m4() {
    segments_like_the_host(Board::Mps2An386, NEURAL);
}

#[test]
fn the_neural_sample_model_segments_like_the_host_on_lm3s6965evb_cortex_m3() {
    segments_like_the_host(Board::Lm3s6965evb, NEURAL);
}

#[test]
fn the_hybrid_sample_model_segments_like_the_host_on_mps2_an386_cortex_m4() {
    segments_like_the_host(Board::Mps2An386, HYBRID);
}

#[test]
fn the_hybrid_sample_model_segments_like_the_host_on_lm3s6965evb_cortex_m3() {
    segments_like_the_host(Board::Lm3s6965evb, HYBRID);
}

//! Helpers shared by the integration tests in `tests/`.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use xtask::{
    firmware::{self, CargoOutput, FirmwareBuild},
    measure,
    qemu::RunOutcome,
    toolchain::Toolchain,
};

/// The toolchain, or a panic that tells the user how to get it: a missing
/// QEMU or thumb toolchain fails the tests rather than skipping them.
pub fn toolchain() -> Toolchain {
    Toolchain::detect().unwrap_or_else(|error| {
        panic!("the QEMU tests need the embedded toolchain: {error:#}\nRun `cargo xtask setup` first.")
    })
}

/// Builds `image` (quietly) and returns its ELF path.
pub fn build(toolchain: &Toolchain, image: &FirmwareBuild) -> PathBuf {
    firmware::build(toolchain, image, CargoOutput::OnFailure)
        .unwrap_or_else(|error| panic!("building {}: {error:#}", image.image_name()))
}

/// Prints how a QEMU run ended even when the test passes (libtest captures
/// `println!`, not direct writes to stderr).
pub fn print_exit(image: &FirmwareBuild, outcome: &RunOutcome) {
    let line = format!(
        "qemu: {} on {}: {} in {:.2}s\n",
        image.board.core(),
        image.image_name(),
        outcome.exit,
        outcome.elapsed.as_secs_f64()
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Writes a line to stderr, which libtest does not capture: figures and
/// skipped checks show in every run, passing or not.
pub fn report_line(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// The PKU test input if present, else the committed sample (and says so),
/// with a name for messages.
pub fn reference_input() -> (String, Vec<u8>) {
    match measure::pku_test_input() {
        Some(path) => ("PKU test input".to_owned(), fs::read(&path).expect("reading the PKU test input")),
        None => {
            report_line(&format!(
                "SKIPPED the full PKU check: no icwb2/pku_test.utf8 under {} (set {}); using the committed sample",
                measure::data_dir().display(),
                measure::DATA_DIR_VARIABLE
            ));
            let sample = measure::sample_input();
            ("committed sample".to_owned(), fs::read(&sample).expect("reading tests/data/sample.utf8"))
        }
    }
}

/// The host's segmentation of `input` with the model file `model`:
/// `decoder::Segmenter::segment_to_vec`, i.e. a `Segmenter` with
/// `DEFAULT_WINDOW` and the default separator, the code path of
/// `trainer segment` and of the firmware.
pub fn host_segmentation(model: &Path, input: &[u8]) -> Vec<u8> {
    let bytes = std::fs::read(model).unwrap_or_else(|error| panic!("reading {}: {error}", model.display()));
    let model = decoder::Model::from_bytes(&bytes)
        .unwrap_or_else(|error| panic!("{} is not a valid model: {error}", model.display()));
    decoder::Segmenter::segment_to_vec(&model, input)
}

/// Where two byte strings first differ, with some context of each, for a
/// failure message that stays readable on 700 KB outputs.
pub fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let at = expected.iter().zip(actual).position(|(a, b)| a != b).unwrap_or(expected.len().min(actual.len()));
    let line = expected[..at].iter().filter(|&&byte| byte == b'\n').count() + 1;
    let context = |bytes: &[u8]| {
        let start = at.saturating_sub(60);
        String::from_utf8_lossy(&bytes[start..(at + 60).min(bytes.len())]).into_owned()
    };
    format!(
        "outputs differ at byte {at} (line {line}; lengths: host {}, firmware {}):\n  host:     {:?}\n  firmware: {:?}",
        expected.len(),
        actual.len(),
        context(expected),
        context(actual)
    )
}

//! The committed sample models with the neural encoder (`models/neural-sample.crfm`,
//! `models/hybrid-sample.crfm`) are what their commands in trainer/README.md ("The committed sample
//! models") train: this trains each again on the built-in sample corpus and compares the files byte for
//! byte, so a change that alters them cannot pass unnoticed.

use std::{path::PathBuf, process::Command};

use decoder::Model;

/// The `--neural` settings both models share (trainer/README.md).
const SMALL_ENCODER: &str = "dim=16,bucket-bits=10,channels=24,dilations=1,lr=0.01,batch=16";

fn committed(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("models").join(file)
}

/// Trains `trainer train --emission EMISSION --epochs 10 --neural SETTINGS` and compares the file with the
/// committed `file`; returns the committed bytes.
fn trains_again_byte_for_byte(file: &str, emission: &str, settings: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(file);
    let trained = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["train", "-q", "--emission", emission, "--epochs", "10", "--neural", settings, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let expected = std::fs::read(committed(file)).unwrap_or_else(|error| panic!("reading models/{file}: {error}"));
    let actual = std::fs::read(&out).unwrap();
    assert!(
        actual == expected,
        "models/{file} is not what its command in trainer/README.md trains now ({} bytes against the \
         committed {}): train it again with that command if the change is meant to alter it, and say so",
        actual.len(),
        expected.len()
    );
    expected
}

#[test]
fn the_neural_sample_model_is_what_its_command_trains() {
    let bytes = trains_again_byte_for_byte("neural-sample.crfm", "neural", SMALL_ENCODER);
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.format_version(), 5);
}

#[test]
fn the_hybrid_sample_model_is_what_its_command_trains() {
    let settings = format!("{SMALL_ENCODER},table-bits=12");
    let bytes = trains_again_byte_for_byte("hybrid-sample.crfm", "hybrid", &settings);
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.format_version(), 7);
}

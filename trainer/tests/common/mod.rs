//! Shared helpers of the integration tests.
// Each test crate compiles this module and uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use decoder::internal::lattice::{backpointer_bytes, label_chars};
use decoder::{Event, Model, StreamLabeler};
use trainer::neural::train::NeuralConfig;

/// The shared corpora: `$CRF_DATA_DIR`, or `<workspace root>/../shared/data`. `None` (with a message
/// saying the test is skipped) when absent.
pub fn data_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("CRF_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    if dir.join("icwb2").is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED {test}: corpus directory {} not found (set CRF_DATA_DIR)", dir.display());
        None
    }
}

/// The tags whole-line Viterbi gives `line`.
pub fn whole_line_tags(model: &Model<'_>, line: &[char]) -> Vec<u8> {
    let mut tags = vec![0u8; line.len()];
    let mut backpointers = vec![0u8; backpointer_bytes(model.num_tags(), line.len())];
    label_chars(model, line, &mut backpointers, &mut tags).unwrap();
    tags
}

/// The tags the streaming labeler gives `line`, pushed as one line of text.
pub fn streamed_tags(model: &Model<'_>, line: &[char]) -> Vec<u8> {
    let mut labeler = StreamLabeler::<{ decoder::DEFAULT_WINDOW }>::new(model);
    let mut tags = Vec::new();
    let text: String = line.iter().collect();
    let mut collect = |e: Event| {
        if let Event::Unit(u) = e {
            tags.extend(u.tag);
        }
    };
    labeler.push(text.as_bytes(), &mut collect);
    labeler.push(b"\n", &mut collect);
    labeler.finish(&mut collect);
    tags
}

/// A small encoder that trains on the sample corpus in about a second an epoch.
pub fn small_encoder() -> NeuralConfig {
    NeuralConfig {
        dim: 16,
        bucket_bits: 10,
        channels: 24,
        dilations: vec![1],
        lr: 1e-2,
        batch_size: 16,
        ..NeuralConfig::default()
    }
}

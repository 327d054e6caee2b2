//! Shared helpers of the integration tests.
// Each test crate compiles this module and uses a part of it.
#![allow(dead_code)]

use std::path::PathBuf;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use decoder::internal::lattice::{backpointer_bytes, label_chars};
use decoder::{Event, Model, StreamLabeler};
use trainer::neural::export::CrfScores;
use trainer::neural::random::SplitMix;
use trainer::neural::train::NeuralConfig;

/// Characters of random test lines: in [`RANDOM_VOCABULARY`] (some full-width, normalised to ASCII), and
/// not ('x', '😀', '丁').
pub const RANDOM_ALPHABET: &[char] =
    &['中', '文', '字', '我', '们', '在', '北', '京', '。', 'a', 'Ｂ', '1', '😀', 'x', '丁'];
/// The vocabulary of the random neural models.
pub const RANDOM_VOCABULARY: &[char] = &['中', '文', '字', '我', '们', '在', '北', '京', '。', 'a', 'B', '1'];

/// A line of `len` characters drawn from [`RANDOM_ALPHABET`].
pub fn random_line(rng: &mut SplitMix, len: usize) -> Vec<char> {
    (0..len).map(|_| RANDOM_ALPHABET[(rng.next_u64() % RANDOM_ALPHABET.len() as u64) as usize]).collect()
}

/// A random BMES CRF layer.
pub fn random_bmes(rng: &mut SplitMix) -> CrfScores {
    CrfScores {
        tag_names: ["B", "M", "E", "S"].map(str::to_owned).to_vec(),
        transitions: rng.values(16, 2.0),
        start: rng.values(4, 2.0),
        end: rng.values(4, 2.0),
    }
}

/// `trainer segment --model MODEL` on `input` (standard input); its standard output, after checking that
/// it succeeded.
pub fn cli_segment(model: &Path, input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["segment", "--model"])
        .arg(model)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "trainer segment --model {}", model.display());
    String::from_utf8(output.stdout).unwrap()
}

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

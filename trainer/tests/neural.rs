//! The neural emission model end to end: the integer decoder against the float reference forward pass,
//! streaming against whole-line decoding, and damaged model files (errors, never panics).

mod common;
use common::{random_bmes, random_line, streamed_tags, whole_line_tags, RANDOM_VOCABULARY};

use decoder::internal::ModelInternals;
use decoder::Model;
use proptest::prelude::*;
use trainer::neural::error_bound::encoder_error_bounds;
use trainer::neural::export::export_neural;
use trainer::neural::forward::forward;
use trainer::neural::random::{random_weights, NeuralShape, SplitMix};
use trainer::neural::sample::random_sample_model;

/// A random shape within the decoder's limits: reach at most 4 each side, up to 4 convolutions.
fn random_shape(rng: &mut SplitMix) -> NeuralShape {
    let pick = |rng: &mut SplitMix, n: usize| (rng.next_u64() % n as u64) as usize;
    let ngram_choices: [(i8, u8); 5] = [(0, 1), (0, 2), (-1, 2), (-1, 3), (-2, 2)];
    let ngram_templates: Vec<(i8, u8)> = (0..pick(rng, 4)).map(|_| ngram_choices[pick(rng, 5)]).collect();
    let ngram_reach =
        ngram_templates.iter().map(|&(f, l)| (-f).max(f + l as i8 - 1).max(0) as usize).max().unwrap_or(0);
    let mut reach = ngram_reach;
    let mut convs = Vec::new();
    for _ in 0..pick(rng, 5) {
        let (kernel, dilation) = [(1, 1), (3, 1), (3, 2), (5, 1)][pick(rng, 4)];
        let half = dilation * (kernel - 1) / 2;
        if reach + half > 4 {
            break;
        }
        reach += half;
        convs.push((1 + pick(rng, 40), kernel, dilation));
    }
    NeuralShape {
        vocabulary: RANDOM_VOCABULARY.to_vec(),
        dim: 1 + pick(rng, 24),
        ngram_templates,
        ngram_buckets: 1 + pick(rng, 64) as u32,
        convs,
        num_tags: 4,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every integer score is within the worst-case bound of the float reference's (`encoder_error_bound`).
    #[test]
    fn integer_scores_follow_the_float_forward_pass(seed: u64) {
        let mut rng = SplitMix::new(seed);
        let shape = random_shape(&mut rng);
        let weights = random_weights(&shape, seed);
        let lines: Vec<Vec<char>> = (0..6).map(|i| random_line(&mut rng, 1 + i * 5)).collect();
        let bytes = export_neural(&weights, &random_bmes(&mut rng), &lines, "").unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        let unit = 2f64.powi(-i32::from(model.score_frac_bits()));
        let floats: Vec<Vec<f32>> = lines.iter().map(|line| forward(&weights, line)).collect();
        for (line, float) in lines.iter().zip(&floats) {
            let bounds = encoder_error_bounds(&weights, &lines, unit, line);
            for p in 0..line.len() {
                let mut out = [0i32; decoder::MAX_TAGS];
                model.emission_scores(line, p, &mut out);
                for tag in 0..4 {
                    let (int, float, bound) = (f64::from(out[tag]) * unit, f64::from(float[p * 4 + tag]), bounds[p * 4 + tag]);
                    prop_assert!((int - float).abs() <= bound, "{shape:?} line {line:?} position {p} tag {tag}: integer {int} float {float} bound {bound}");
                }
            }
        }
    }

    /// The streaming labeler gives the tags of whole-line Viterbi on every line.
    #[test]
    fn streaming_equals_whole_line(seed: u64) {
        let mut rng = SplitMix::new(seed);
        let shape = random_shape(&mut rng);
        let weights = random_weights(&shape, seed);
        let lines: Vec<Vec<char>> = (0..8).map(|i| random_line(&mut rng, i * 7)).collect();
        let bytes = export_neural(&weights, &random_bmes(&mut rng), &lines, "").unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        for line in &lines {
            prop_assert_eq!(streamed_tags(&model, line), whole_line_tags(&model, line));
        }
    }
}

/// The sample model on the committed sample, and on the PKU test input when the corpora are present.
#[test]
fn streaming_equals_whole_line_on_real_text() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let sample = std::fs::read_to_string(root.join("tests/data/sample.utf8")).unwrap();
    let bytes = random_sample_model(&sample, 2000, 18).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let data = std::env::var_os("CRF_DATA_DIR").map_or_else(|| root.join("../shared/data"), Into::into);
    let pku = std::fs::read_to_string(data.join("icwb2/pku_test.utf8")).ok();
    let mut lines = 0;
    for text in [Some(sample), pku].into_iter().flatten() {
        for line in text.lines() {
            // Runs between white space are decoded apart, as the streaming labeler does.
            for run in line.split(char::is_whitespace).filter(|r| !r.is_empty()) {
                let chars: Vec<char> = run.chars().collect();
                assert_eq!(streamed_tags(&model, &chars), whole_line_tags(&model, &chars), "{run}");
            }
            lines += 1;
        }
    }
    assert!(lines >= 30, "{lines} lines checked");
}

/// Truncations and bit flips (with the CRC recomputed, so that they reach the structure checks) give an
/// error or a model that decodes; never a panic.
#[test]
fn damaged_models_are_refused_or_decode_without_panics() {
    let sample = "中文字我们在北京。\n研究生命起源\n";
    let bytes = random_sample_model(sample, 50, 7).unwrap();
    let text: Vec<char> = "研究生命起源中文字我们在北京。😀".chars().collect();
    for len in 0..bytes.len() {
        assert!(Model::from_bytes(&bytes[..len]).is_err(), "truncated to {len} bytes");
    }
    let mut rng = SplitMix::new(1);
    let mut loaded = 0;
    for _ in 0..3000 {
        let mut damaged = bytes.clone();
        for _ in 0..1 + rng.next_u64() % 3 {
            let at = (rng.next_u64() % (damaged.len() - 4) as u64) as usize;
            damaged[at] ^= 1 << (rng.next_u64() % 8);
        }
        fix_crc(&mut damaged);
        if let Ok(model) = Model::from_bytes(&damaged) {
            loaded += 1;
            let _ = whole_line_tags(&model, &text);
            let _ = streamed_tags(&model, &text);
        }
    }
    // Most flips land in weights, which any value is valid for.
    assert!(loaded > 100, "{loaded} damaged models loaded");
}

fn fix_crc(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = decoder::internal::crc::crc32(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

/// The neural encoder's inference output on the sample model is pinned by the format's fixed tensors; here:
/// the segmenter works end to end and `inspect`'s description names the layers.
#[test]
fn sample_model_describes_itself() {
    let bytes = random_sample_model("中文字我们在北京。", 50, 3).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let neural = model.neural().unwrap();
    let text = trainer::neural::describe::describe(std::path::Path::new("m.crfm"), bytes.len(), &model, neural);
    assert!(text.contains("convolution 1: 64 channels, kernel 3"), "{text}");
    assert!(text.contains("format version 5"), "{text}");
    assert!(model.ngram().is_none());
}

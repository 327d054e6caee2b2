//! Streaming (WINDOW = 256) against whole-sentence Viterbi on the SIGHAN 2005 PKU test set, with models of
//! random weights (ties and convergence matter here, not accuracy). Skips with a message when the corpus
//! is absent (`ICWB2_DIR`, default `../shared/data/icwb2` next to the repository).

mod common;

use decoder::internal::segment::segment_line;
use decoder::{Model, Segmenter, DEFAULT_WINDOW};
use std::path::PathBuf;

fn corpus() -> Option<String> {
    let dir = std::env::var_os("ICWB2_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/icwb2"));
    let path = dir.join("pku_test.utf8");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            eprintln!("SKIPPED: {} not readable ({e}); set ICWB2_DIR to run this test", path.display());
            None
        }
    }
}

#[test]
fn streaming_equals_whole_sentence_on_pku() {
    let Some(text) = corpus() else { return };
    let chars = text.chars().count();
    let models = [
        ("i8 weights +-127, shift 4", common::default_bmes(1)),
        ("i8 weights +-127, shift 4, seed 2", common::default_bmes(2)),
        (
            "i8 weights +-3, shift 0 (many ties)",
            common::random_bmes(3, &decoder::internal::features::DEFAULT_TEMPLATES, 18, 3, 0),
        ),
        (
            "i8 weights +-1, shift 0 (ties everywhere)",
            common::random_bmes(4, &decoder::internal::features::DEFAULT_TEMPLATES, 18, 1, 0),
        ),
    ];
    for (name, spec) in models {
        let bytes = spec.encode();
        let model = Model::from_bytes(&bytes).unwrap();
        let mut streamed = Vec::new();
        let mut segmenter = Segmenter::<DEFAULT_WINDOW>::new(&model);
        segmenter.push(text.as_bytes(), |b| streamed.extend_from_slice(b));
        segmenter.finish(|b| streamed.extend_from_slice(b));
        let (cuts, peak) = (segmenter.forced_cuts(), segmenter.peak_pending());
        let streamed = String::from_utf8(streamed).unwrap();
        let whole: Vec<String> = text.lines().map(|l| segment_line(&model, l).join("  ")).collect();
        let differing = streamed.lines().zip(&whole).filter(|(a, b)| a != b).count();
        println!(
            "PKU test ({} lines, {chars} chars), {name}: {cuts} forced cuts, {differing} lines differ from \
             whole-sentence Viterbi, at most {peak} uncommitted columns",
            whole.len()
        );
        assert_eq!(streamed.lines().count(), whole.len());
        assert_eq!(cuts, 0, "{name}: forced cuts on PKU");
        assert_eq!(differing, 0, "{name}");
    }
}

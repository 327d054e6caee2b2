//! The user dictionary and forced spans on the SIGHAN 2005 PKU test set with the shipped default model:
//! with the gold test words that the training word list lacks as user dictionary, no listed word is ever
//! split; with no rule at all, the output is the model's own (an independent reference Viterbi). Skips
//! with a message when the corpus is absent (`ICWB2_DIR`, default `../shared/data/icwb2`).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use decoder::internal::segment::ChunkRoles;
use decoder::{build_dictionary, Dictionary, Event, Model, Segmenter, SpanRules, DEFAULT_WINDOW};

const MODEL: &[u8] = include_bytes!("../../models/default.crfm");

fn corpus_file(name: &str) -> Option<String> {
    let dir = std::env::var_os("ICWB2_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/icwb2"));
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) => {
            eprintln!("SKIPPED: {} not readable ({e}); set ICWB2_DIR to run this test", path.display());
            None
        }
    }
}

fn segment(model: &Model<'_>, rules: SpanRules<'_>, text: &str) -> String {
    let mut out = Vec::new();
    Segmenter::<DEFAULT_WINDOW>::with_rules(model, rules).segment_all(text.as_bytes(), |b| out.extend_from_slice(b));
    String::from_utf8(out).unwrap()
}

#[test]
fn no_oov_dictionary_word_is_ever_split_on_pku() {
    let (Some(text), Some(gold), Some(training)) =
        (corpus_file("pku_test.utf8"), corpus_file("pku_test_gold.utf8"), corpus_file("pku_training_words.utf8"))
    else {
        return;
    };
    let known: BTreeSet<&str> = training.lines().map(str::trim).collect();
    let oov: BTreeSet<&str> = gold
        .split_whitespace()
        .filter(|w| !known.contains(w) && w.chars().count() <= decoder::MAX_WORD_CHARS)
        .collect();
    let list = oov.iter().copied().collect::<Vec<_>>().join("\n");
    let bytes = build_dictionary(list.as_bytes()).unwrap();
    let dictionary = Dictionary::from_bytes(&bytes).unwrap();
    assert_eq!(dictionary.len(), oov.len());
    let model = Model::from_bytes(MODEL).unwrap();
    let out = segment(&model, SpanRules { dictionary: Some(&dictionary), forced_spans: false }, &text);
    let mut checked = 0;
    for (line_in, line_out) in text.lines().zip(out.lines()) {
        let words: BTreeSet<&str> = line_out.split("  ").collect();
        for run in line_in.split(char::is_whitespace) {
            let chars: Vec<char> = run.chars().collect();
            let mut at = 0;
            while at < chars.len() {
                // Leftmost-longest, naively: every length from the longest down.
                let len = (1..=decoder::MAX_WORD_CHARS.min(chars.len() - at))
                    .rev()
                    .find(|&n| oov.contains(chars[at..at + n].iter().collect::<String>().as_str()))
                    .unwrap_or(0);
                if len > 0 {
                    let word: String = chars[at..at + len].iter().collect();
                    assert!(words.contains(word.as_str()), "{word} is split in {line_out}");
                    checked += 1;
                }
                at += len.max(1);
            }
        }
    }
    println!("PKU test: {} OOV words listed, {checked} occurrences, none split", oov.len());
    assert!(checked > 1000, "only {checked} occurrences checked");
}

#[test]
fn without_rules_the_output_is_the_model_alone_on_pku() {
    let Some(text) = corpus_file("pku_test.utf8") else { return };
    let model = Model::from_bytes(MODEL).unwrap();
    let roles = ChunkRoles::of(&model);
    let mut expected = String::new();
    // The tag of the line's last unit, and whether a separator followed it.
    let mut last: Option<u8> = None;
    let mut separated = false;
    for event in common::reference_events(&model, text.as_bytes()) {
        match event {
            Event::Unit(unit) => match unit.tag {
                Some(tag) => {
                    if last.is_some_and(|p| separated || roles.boundary(p, tag)) {
                        expected.push_str("  ");
                    }
                    expected.push(unit.ch);
                    (last, separated) = (Some(tag), false);
                }
                None => separated = true,
            },
            Event::LineEnd(_) => {
                expected.push('\n');
                (last, separated) = (None, false);
            }
        }
    }
    assert_eq!(segment(&model, SpanRules::NONE, &text), expected);
}

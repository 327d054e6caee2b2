//! The scorer against numbers printed by the official SIGHAN `score` script (perl + GNU diff) on the
//! PKU test set. Skipped when the corpora are absent.

mod common;

use trainer::scorer::{score_files, Dictionary};

fn pku(test: &str) -> Option<(Vec<u8>, Dictionary)> {
    let dir = common::data_dir(test)?;
    let gold = std::fs::read(dir.join("icwb2/pku_test_gold.utf8")).expect("reading the PKU gold file");
    let words = std::fs::read(dir.join("icwb2/pku_training_words.utf8")).expect("reading the PKU word list");
    Some((gold, Dictionary::from_bytes(&words)))
}

#[test]
fn gold_against_itself() {
    let Some((gold, dictionary)) = pku("gold_against_itself") else { return };
    let counts = score_files(&gold, &gold, Some(&dictionary));
    // The official script: TRUE WORD COUNT 104372, OOV Rate 0.058, everything else perfect.
    assert_eq!(counts.true_words, 104_372);
    assert_eq!(counts.test_words, 104_372);
    assert_eq!(counts.f1(), 1.0);
    let summary = counts.official_summary();
    assert!(summary.contains("=== OOV Rate:\t0.058\n"), "{summary}");
    assert!(summary.contains("=== TOTAL NCHANGE:\t0\n"), "{summary}");
}

#[test]
fn one_word_per_character_matches_the_official_script() {
    let Some((gold, dictionary)) = pku("one_word_per_character_matches_the_official_script") else { return };
    // Every character of the gold text a word of its own, two spaces apart, line by line.
    let text = String::from_utf8(gold.clone()).expect("UTF-8 gold");
    let mut test = String::new();
    for line in text.split('\n') {
        let chars: Vec<String> = line.chars().filter(|c| !c.is_whitespace()).map(String::from).collect();
        test.push_str(&chars.join("  "));
        test.push('\n');
    }
    let counts = score_files(&gold, test.as_bytes(), Some(&dictionary));
    // Printed by icwb2-data/scripts/score (GNU diff 3.8) for this input, line for line.
    let official = "=== SUMMARY:\n\
                    === TOTAL INSERTIONS:\t68719\n\
                    === TOTAL DELETIONS:\t358\n\
                    === TOTAL SUBSTITUTIONS:\t58253\n\
                    === TOTAL NCHANGE:\t127330\n\
                    === TOTAL TRUE WORD COUNT:\t104372\n\
                    === TOTAL TEST WORD COUNT:\t172733\n\
                    === TOTAL TRUE WORDS RECALL:\t0.438\n\
                    === TOTAL TEST WORDS PRECISION:\t0.265\n\
                    === F MEASURE:\t0.330\n\
                    === OOV Rate:\t0.058\n\
                    === OOV Recall Rate:\t0.069\n\
                    === IV Recall Rate:\t0.461\n";
    assert_eq!(counts.official_summary(), official);
}

//! Entity scoring as the CoNLL `conlleval` script does it: hand-computed chunk counts for each tag
//! scheme, and the text report's exact layout.

use std::path::{Path, PathBuf};

use trainer::conlleval::{
    ends_chunk, score_conll_file, score_conll_files, starts_chunk, ChunkCounts, ChunkScorer, ChunkTag, ConllReport,
};

/// Scores sentences given as space-separated gold and guessed tag strings.
fn score(sentences: &[(&str, &str)]) -> ConllReport {
    let mut scorer = ChunkScorer::new();
    for (gold, guessed) in sentences {
        let (gold, guessed): (Vec<&str>, Vec<&str>) =
            (gold.split_whitespace().collect(), guessed.split_whitespace().collect());
        assert_eq!(gold.len(), guessed.len(), "test input: {gold:?} / {guessed:?}");
        scorer.add_sentence(gold.into_iter().zip(guessed));
    }
    scorer.finish()
}

fn counts(gold: usize, guessed: usize, correct: usize) -> ChunkCounts {
    ChunkCounts { gold, guessed, correct }
}

fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

#[test]
fn iob1_b_separates_adjacent_chunks_of_one_type() {
    // CoNLL-2003 (IOB1): `I-PER I-PER B-PER` is two people; `I-PER I-PER I-PER` one.
    let report = score(&[("I-PER I-PER B-PER", "I-PER I-PER I-PER")]);
    assert_eq!(report.chunks, counts(2, 1, 0));
    assert_eq!((report.tokens, report.correct_tags), (3, 2));
    assert_close(report.accuracy(), 200.0 / 3.0);
    assert_eq!((report.precision(), report.recall(), report.f1()), (0.0, 0.0, 0.0));

    let exact = score(&[("I-PER I-PER B-PER", "I-PER I-PER B-PER")]);
    assert_eq!(exact.chunks, counts(2, 2, 2));
    assert_eq!(exact.f1(), 100.0);
}

#[test]
fn iob2_chunks_need_the_same_type_and_span() {
    let report = score(&[("B-PER I-PER O B-LOC", "B-PER I-PER O B-ORG")]);
    assert_eq!(report.chunks, counts(2, 2, 1));
    assert_eq!(report.by_type["PER"], counts(1, 1, 1));
    assert_eq!(report.by_type["LOC"], counts(1, 0, 0));
    assert_eq!(report.by_type["ORG"], counts(0, 1, 0));
    assert_eq!((report.precision(), report.recall(), report.f1()), (50.0, 50.0, 50.0));

    // A guessed chunk one token too short or too long is wrong.
    let short = score(&[("B-PER I-PER I-PER O", "B-PER I-PER O O")]);
    assert_eq!(short.chunks, counts(1, 1, 0));
    let long = score(&[("B-PER I-PER O", "B-PER I-PER I-PER")]);
    assert_eq!(long.chunks, counts(1, 1, 0));
}

#[test]
fn i_after_o_or_another_type_opens_a_chunk() {
    // conlleval does not repair `O I-LOC` into a B: it is a chunk start, so these match.
    let report = score(&[("O I-LOC I-LOC", "O B-LOC I-LOC")]);
    assert_eq!(report.chunks, counts(1, 1, 1));
    assert_eq!(report.correct_tags, 2);

    let type_change = score(&[("B-PER I-LOC I-LOC", "B-PER B-LOC I-LOC")]);
    assert_eq!(type_change.chunks, counts(2, 2, 2));
    assert_eq!(type_change.by_type["LOC"], counts(1, 1, 1));
    assert_eq!(type_change.by_type["PER"], counts(1, 1, 1));
}

#[test]
fn bioes_single_and_end_tags_close_chunks() {
    let report = score(&[("B-PER E-PER S-LOC O S-PER", "B-PER E-PER B-LOC E-LOC S-PER")]);
    // Gold: PER 0-1, LOC 2, PER 4. Guessed: PER 0-1, LOC 2-3, PER 4. LOC's spans differ.
    assert_eq!(report.chunks, counts(3, 3, 2));
    assert_eq!(report.by_type["PER"], counts(2, 2, 2));
    assert_eq!(report.by_type["LOC"], counts(1, 1, 0));
    assert_close(report.f1(), 200.0 / 3.0);

    // `E` followed by `B`, and `S` followed by `S`, of one type: two chunks each.
    assert_eq!(score(&[("B-PER E-PER B-PER E-PER", "S-PER S-PER S-PER S-PER")]).chunks, counts(2, 4, 0));
    assert_eq!(score(&[("S-PER S-PER", "S-PER S-PER")]).chunks, counts(2, 2, 2));
    // An `I` after `S` opens a new chunk.
    assert_eq!(score(&[("S-PER I-PER E-PER", "S-PER B-PER E-PER")]).chunks, counts(2, 2, 2));
}

#[test]
fn ioe_and_bracket_tags_follow_the_original_rules() {
    // IOE: `E` ends a chunk, the next `I` opens one.
    assert_eq!(score(&[("I-NP E-NP I-NP O", "I-NP I-NP E-NP O")]).chunks, counts(2, 1, 0));
    // `[` and `]` chunks are one token long.
    assert_eq!(score(&[("[-NP ]-NP O", "[-NP ]-NP O")]).chunks, counts(2, 2, 2));
}

#[test]
fn a_chunk_ending_at_the_sentence_end_is_closed_by_the_boundary() {
    // Without the boundary, the second sentence's `I-PER` would continue the first sentence's chunk.
    let report = score(&[("O B-PER I-PER", "O B-PER I-PER"), ("I-PER O", "I-PER O")]);
    assert_eq!(report.chunks, counts(2, 2, 2));
    // A guessed chunk that ends with the sentence matches a gold one that does too.
    assert_eq!(score(&[("B-LOC I-LOC", "B-LOC I-LOC")]).chunks, counts(1, 1, 1));
    assert_eq!(score(&[("B-LOC I-LOC", "B-LOC B-LOC")]).chunks, counts(1, 2, 0));
}

#[test]
fn all_outside_tags_score_zero_without_dividing_by_zero() {
    let report = score(&[("O O O", "O O O"), ("O O", "O O")]);
    assert_eq!(report.chunks, counts(0, 0, 0));
    assert!(report.by_type.is_empty());
    assert_eq!((report.tokens, report.accuracy()), (5, 100.0));
    assert_eq!((report.precision(), report.recall(), report.f1()), (0.0, 0.0, 0.0));
    assert_eq!(
        report.render_conlleval(),
        "processed 5 tokens with 0 phrases; found: 0 phrases; correct: 0.\n\
         accuracy: 100.00%; precision:   0.00%; recall:   0.00%; FB1:   0.00\n"
    );
}

#[test]
fn no_input_prints_only_the_counts_line() {
    let report = ChunkScorer::new().finish();
    assert_eq!(report.accuracy(), 0.0);
    assert_eq!(report.render_conlleval(), "processed 0 tokens with 0 phrases; found: 0 phrases; correct: 0.\n");
}

/// Three sentences with four types, scored by hand:
/// - gold PER 1, LOC 2, ORG 1, MISC 1 (5 chunks); guessed PER 2, LOC 3, ORG 1 (6); correct PER 1, LOC 2;
/// - 10 tokens, 7 tagged correctly;
/// - overall P = 3/6, R = 3/5, F = 2 * 50 * 60 / 110 = 54.545...; LOC P = 2/3, R = 1, F = 80;
///   PER P = 1/2, R = 1, F = 66.666...; MISC and ORG 0.
const MIXED: &[(&str, &str)] = &[
    ("B-PER I-PER O B-LOC", "B-PER I-PER O B-LOC"),
    ("B-ORG I-ORG O B-MISC", "B-ORG O O B-LOC"),
    ("O B-LOC", "B-PER B-LOC"),
];

#[test]
fn mixed_types_are_counted_per_type() {
    let report = score(MIXED);
    assert_eq!(report.chunks, counts(5, 6, 3));
    assert_eq!((report.tokens, report.correct_tags), (10, 7));
    let types: Vec<(&str, ChunkCounts)> = report.by_type.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        types,
        vec![("LOC", counts(2, 3, 2)), ("MISC", counts(1, 0, 0)), ("ORG", counts(1, 1, 0)), ("PER", counts(1, 2, 1))]
    );
    assert_close(report.f1(), 6000.0 / 110.0);
    assert_close(report.by_type["LOC"].precision(), 200.0 / 3.0);
    assert_close(report.by_type["LOC"].f1(), 80.0);
    assert_close(report.by_type["PER"].f1(), 200.0 / 3.0);
}

#[test]
fn the_report_has_conllevals_exact_layout() {
    // The counts of `mixed_types_are_counted_per_type`; types right-aligned in 17 columns, each line
    // ending in the type's number of guessed chunks.
    let expected = "\
processed 10 tokens with 5 phrases; found: 6 phrases; correct: 3.
accuracy:  70.00%; precision:  50.00%; recall:  60.00%; FB1:  54.55
              LOC: precision:  66.67%; recall: 100.00%; FB1:  80.00  3
             MISC: precision:   0.00%; recall:   0.00%; FB1:   0.00  0
              ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  1
              PER: precision:  50.00%; recall: 100.00%; FB1:  66.67  2
";
    assert_eq!(score(MIXED).render_conlleval(), expected);
}

#[test]
fn long_and_non_ascii_type_names_are_padded_by_bytes() {
    let report = score(&[("B-LONG_ENTITY_TYPE_NAME B-Ä", "B-LONG_ENTITY_TYPE_NAME O")]);
    let text = report.render_conlleval();
    let lines: Vec<&str> = text.lines().collect();
    // perl's `%17s` never truncates, and counts the two UTF-8 bytes of `Ä` as two columns.
    assert_eq!(lines[2], "LONG_ENTITY_TYPE_NAME: precision: 100.00%; recall: 100.00%; FB1: 100.00  1");
    assert_eq!(lines[3], format!("{}Ä: precision:   0.00%; recall:   0.00%; FB1:   0.00  0", " ".repeat(15)));
}

#[test]
fn tags_split_at_the_first_dash() {
    assert_eq!(ChunkTag::parse("B-NP-SBJ"), ChunkTag { prefix: "B", kind: "NP-SBJ" });
    assert_eq!(ChunkTag::parse("O"), ChunkTag { prefix: "O", kind: "" });
    let report = score(&[("B-NP-SBJ I-NP-SBJ", "B-NP-SBJ I-NP-SBJ")]);
    assert_eq!(report.by_type["NP-SBJ"], counts(1, 1, 1));
}

#[test]
fn chunk_boundary_rules() {
    let tag = ChunkTag::parse;
    // IOB: I continues a chunk of its type, B always restarts.
    assert!(!ends_chunk(tag("B-X"), tag("I-X")));
    assert!(ends_chunk(tag("I-X"), tag("B-X")));
    assert!(starts_chunk(tag("I-X"), tag("B-X")));
    assert!(!starts_chunk(tag("B-X"), tag("I-X")));
    // A type change ends and starts a chunk; O neither starts nor is ended by one.
    assert!(ends_chunk(tag("I-X"), tag("I-Y")));
    assert!(starts_chunk(tag("I-X"), tag("I-Y")));
    assert!(!starts_chunk(tag("I-X"), tag("O")));
    assert!(!ends_chunk(tag("O"), tag("O")));
    // BIOES: E and S close; I after E or S opens.
    assert!(ends_chunk(tag("E-X"), tag("B-X")));
    assert!(ends_chunk(tag("S-X"), tag("I-X")));
    assert!(starts_chunk(tag("S-X"), tag("E-X")));
    assert!(!ends_chunk(tag("B-X"), tag("E-X")));
    assert!(!starts_chunk(tag("I-X"), tag("E-X")));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn one_file_with_gold_and_guessed_columns_scores_like_the_tag_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let text = "-DOCSTART- -X- O O\n\nEU B-ORG B-ORG\nrejects O O\n\nPeter B-PER B-PER\nBlackburn I-PER O";
    let report = score_conll_file(&write(dir.path(), "pairs.txt", text)).unwrap();
    assert_eq!(report, score(&[("B-ORG O", "B-ORG O"), ("B-PER I-PER", "B-PER O")]));
    assert_eq!(report.chunks, counts(2, 2, 1));

    // conlleval also reads lines of just the two tags.
    let bare = score_conll_file(&write(dir.path(), "bare.txt", "B-LOC B-LOC\nO B-LOC\n")).unwrap();
    assert_eq!(bare.chunks, counts(1, 2, 1));
}

#[test]
fn two_files_are_scored_token_by_token() {
    let dir = tempfile::tempdir().unwrap();
    let gold = write(dir.path(), "gold.txt", "EU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\nBlackburn NNP I-PER\n");
    // The prediction keeps only the words, and its sentences are separated by several blank lines.
    let predicted = write(dir.path(), "predicted.txt", "EU B-ORG\nrejects O\n\n\n\nPeter B-PER\nBlackburn B-PER\n\n");
    let report = score_conll_files(&gold, &predicted).unwrap();
    assert_eq!(report, score(&[("B-ORG O", "B-ORG O"), ("B-PER I-PER", "B-PER B-PER")]));
    assert_eq!(report.chunks, counts(2, 3, 1));
}

#[test]
fn different_tokens_are_an_error_naming_the_lines() {
    let dir = tempfile::tempdir().unwrap();
    let gold = write(dir.path(), "gold.txt", "a O\nb O\n\nc O\n");
    let error = |name: &str, text: &str| {
        let predicted = write(dir.path(), name, text);
        score_conll_files(&gold, &predicted).unwrap_err().to_string()
    };

    let changed = error("changed.txt", "a O\nb O\n\n\nz O\n");
    assert!(changed.contains("gold.txt:4: word \"c\""), "{changed}");
    assert!(changed.contains("changed.txt:5 has \"z\""), "{changed}");

    let merged = error("merged.txt", "a O\nb O\nc O\n");
    assert!(merged.contains("merged.txt:3: word \"c\" is not in"), "{merged}");

    let truncated = error("truncated.txt", "a O\n\nc O\n");
    assert!(truncated.contains("gold.txt:2: word \"b\" is missing from"), "{truncated}");

    let shorter = error("shorter.txt", "a O\nb O\n");
    assert!(shorter.contains("gold.txt:4: sentence 2 has no counterpart"), "{shorter}");

    let longer = error("longer.txt", "a O\nb O\n\nc O\n\nd O\n");
    assert!(longer.contains("longer.txt:6: sentence 3 has no counterpart"), "{longer}");
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let ragged = write(dir.path(), "ragged.txt", "a B-X B-X\nb O\n");
    let message = score_conll_file(&ragged).unwrap_err().to_string();
    assert!(message.contains("ragged.txt:2: 2 columns"), "{message}");
    let missing = dir.path().join("missing.txt");
    let message = score_conll_files(&ragged, &missing).unwrap_err().to_string();
    assert!(message.contains("ragged.txt:2"), "{message}");
    let good = write(dir.path(), "good.txt", "a O\n");
    let message = score_conll_files(&good, &missing).unwrap_err().to_string();
    assert!(message.contains("missing.txt"), "{message}");
}

#[test]
fn the_conlleval_and_features_commands_score_and_write_a_small_file() {
    let exe = env!("CARGO_BIN_EXE_trainer");
    let dir = tempfile::tempdir().unwrap();
    let pairs = write(dir.path(), "pairs.txt", "EU B-ORG B-ORG\nrejects O O\n\nPeter B-PER B-PER\nBlackburn I-PER O\n");
    let scored = std::process::Command::new(exe).args(["conlleval", "--json"]).arg(&pairs).output().unwrap();
    assert!(scored.status.success(), "{}", String::from_utf8_lossy(&scored.stderr));
    let json: serde_json::Value = serde_json::from_slice(&scored.stdout).unwrap();
    // 2 gold chunks, 2 guessed, 1 correct: P = R = F1 = 50%.
    assert_eq!((json["precision"].as_f64(), json["f1"].as_f64()), (Some(50.0), Some(50.0)));
    assert_eq!(json["per_type"]["PER"]["correct"], 0);

    let tagged = write(dir.path(), "tagged.txt", "He PRP B-NP\nsaid VBD B-VP\n");
    let template =
        write(dir.path(), "template.txt", "# the word and the next part of speech\nU00:%x[0,0]/%x[1,1]\nB\n");
    let out = dir.path().join("tagged.crfsuite");
    let written = std::process::Command::new(exe)
        .args(["features", "--template"])
        .arg(&template)
        .arg(&tagged)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "B-NP\tU00\\:He/VBD\nB-VP\tU00\\:said/_B+1\n\n");

    let bad = write(dir.path(), "bad.txt", "U00:%x[0,2]\n");
    let refused = std::process::Command::new(exe)
        .args(["features", "--template"])
        .arg(&bad)
        .arg(&tagged)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("bad.txt:1:") && message.contains("input columns"), "{message}");
}

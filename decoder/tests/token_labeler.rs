//! The streaming labeler of token-level models: the same tags as `label_tokens` on each sentence, one
//! answer per input line whatever the bytes, the same answers however the input is cut, and the
//! documented answers to malformed lines.

use decoder::internal::features::Template;
use decoder::internal::format::{TokenSpec, WeightType};
use decoder::internal::lattice::{backpointer_bytes, label_tokens};
use decoder::{Answer, LineError, Model, TokenLabeler, TokenStats};
use proptest::prelude::*;

mod common;
use common::{Rng, Spec};

const TAGS: &str = "O B-X I-X B-Y I-Y";
const TEMPLATES: &str = "U0:%x[0,0]\nU1:%x[-1,1]/%x[0,1]\nU2:%suffix2[0,0]\nU3:%shape[1,0]";

/// A token-level model of two input columns with random weights (IOB2 masks from the names).
fn token_model(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let l = TAGS.split(' ').count();
    let bucket_bits = 6;
    let weights = (0..(1usize << bucket_bits) * l).map(|_| rng.range(-100, 100) as i8 as u8).collect();
    let mut scores = |n: usize| (0..n).map(|_| rng.range(-300, 300) as i16).collect::<Vec<_>>();
    let (transitions, start, end) = (scores(l * l), scores(l), scores(l));
    let spec = Spec {
        names: TAGS.into(),
        custom: None,
        normalization: 0,
        templates: vec![Template::Bias],
        bucket_bits,
        weight_type: WeightType::I8,
        weight_shift: 2,
        weights,
        transitions,
        start,
        end,
    };
    spec.encode_tokens(&TokenSpec { columns: 2, templates: TEMPLATES })
}

/// Runs `pieces` through a labeler and writes the answers as the firmware does.
fn run<const B: usize, const L: usize>(model: &Model<'_>, pieces: &[&[u8]]) -> (String, TokenStats) {
    let mut labeler = TokenLabeler::<B, L>::new(model);
    let mut out = Vec::new();
    for piece in pieces {
        labeler.push(piece, |answer| answer.write_line(|bytes| out.extend_from_slice(bytes)));
    }
    labeler.finish(|answer| answer.write_line(|bytes| out.extend_from_slice(bytes)));
    (String::from_utf8(out).unwrap(), labeler.stats())
}

fn whole<const B: usize, const L: usize>(model: &Model<'_>, input: &str) -> (String, TokenStats) {
    run::<B, L>(model, &[input.as_bytes()])
}

/// The tags of one sentence by the decoder's whole-sentence routine, as names.
fn reference(model: &Model<'_>, sentence: &[[&str; 2]]) -> Vec<String> {
    let mut back = vec![0u8; backpointer_bytes(model.num_tags(), sentence.len())];
    let mut tags = vec![0u8; sentence.len()];
    label_tokens(model, sentence, &mut back, &mut tags).unwrap();
    tags.iter().map(|&t| model.tag_name(usize::from(t)).unwrap().to_owned()).collect()
}

const WORDS: [&str; 8] = ["EU", "rejects", "German", "call", "Peter", "Blackburn", "1,000", "."];
const POS: [&str; 4] = ["NNP", "VBZ", "JJ", "CD"];

fn random_sentences(rng: &mut Rng, count: usize) -> Vec<Vec<[&'static str; 2]>> {
    (0..count)
        .map(|_| {
            let len = 1 + rng.below(12) as usize;
            (0..len).map(|_| [WORDS[rng.below(8) as usize], POS[rng.below(4) as usize]]).collect()
        })
        .collect()
}

#[test]
fn tags_are_those_of_label_tokens_on_each_sentence() {
    let bytes = token_model(7);
    let model = Model::from_bytes(&bytes).unwrap();
    let mut rng = Rng(3);
    for round in 0..20 {
        let sentences = random_sentences(&mut rng, 1 + round % 5);
        let mut input = String::new();
        let mut expected = String::new();
        for (i, sentence) in sentences.iter().enumerate() {
            for (token, tag) in sentence.iter().zip(reference(&model, sentence)) {
                // Any white space between columns, a gold tag column (ignored) on some lines, CRLF on others.
                match rng.below(3) {
                    0 => input.push_str(&format!("{} {}\n", token[0], token[1])),
                    1 => input.push_str(&format!("{}\t {}  B-GOLD\r\n", token[0], token[1])),
                    _ => input.push_str(&format!("  {} {}\t\n", token[0], token[1])),
                }
                expected.push_str(&tag);
                expected.push('\n');
            }
            if i + 1 < sentences.len() {
                input.push('\n');
                expected.push('\n');
            }
        }
        let (out, stats) = whole::<4096, 256>(&model, &input);
        assert_eq!(out, expected, "{input}");
        assert_eq!(stats.sentences, sentences.len() as u64);
        assert_eq!((stats.error_lines, stats.split_sentences), (0, 0));
        // Cut anywhere, the answers are the same.
        let cuts: Vec<usize> = (0..input.len()).filter(|_| rng.below(4) == 0).collect();
        let pieces = common::split_at(input.as_bytes(), &cuts);
        assert_eq!(run::<4096, 256>(&model, &pieces).0, expected);
    }
}

#[test]
fn conll2003_layout_document_starts_blank_lines_and_a_missing_final_line_feed() {
    let bytes = token_model(1);
    let model = Model::from_bytes(&bytes).unwrap();
    let first = reference(&model, &[["EU", "NNP"], ["rejects", "VBZ"]]);
    let second = reference(&model, &[["Peter", "NNP"]]);
    let input = "\u{FEFF}-DOCSTART- -X- O\n\nEU NNP B-X\nrejects VBZ O\n\n\n-DOCSTART- -X- O\nPeter NNP";
    let expected = format!("O\n\n{}\n{}\n\n\nO\n{}\n", first[0], first[1], second[0]);
    let (out, stats) = whole::<4096, 256>(&model, input);
    assert_eq!(out, expected);
    assert_eq!(stats, TokenStats { lines: 8, tokens: 3, sentences: 2, split_sentences: 0, error_lines: 0 });
    // Nothing in, nothing out; a lone line feed is one blank line.
    assert_eq!(whole::<4096, 256>(&model, "").0, "");
    assert_eq!(whole::<4096, 256>(&model, "\n").0, "\n");
    assert_eq!(whole::<4096, 256>(&model, " \t \r\n").0, "\n");
}

#[test]
fn malformed_lines_answer_their_error_and_leave_the_sentence_to_the_others() {
    let bytes = token_model(2);
    let model = Model::from_bytes(&bytes).unwrap();
    let good = reference(&model, &[["EU", "NNP"], ["call", "JJ"]]);
    // Ragged columns (one, four), invalid UTF-8, a control character, then the good tokens between them.
    let input = b"EU NNP\nlonely\ncall JJ\na b c d\n\xff\xfe x\nbell\x07 NN\n";
    let (out, stats) = run::<4096, 256>(&model, &[input]);
    assert_eq!(out, format!("{}\n!columns\n{}\n!columns\n!utf8\n!control\n", good[0], good[1]));
    assert_eq!((stats.lines, stats.tokens, stats.error_lines), (6, 2, 4));
    for (error, code) in [
        (LineError::Columns, "columns"),
        (LineError::Utf8, "utf8"),
        (LineError::Control, "control"),
        (LineError::TooLong, "too-long"),
        (LineError::NotTokenLevel, "not-token-level"),
    ] {
        assert_eq!(error.code(), code);
        let mut line = Vec::new();
        Answer::Error(error).write_line(|b| line.extend_from_slice(b));
        assert_eq!(line, format!("!{code}\n").as_bytes());
        assert!(!error.to_string().is_empty());
    }
}

#[test]
fn an_overlong_line_is_answered_too_long_and_its_neighbours_are_labelled() {
    let bytes = token_model(4);
    let model = Model::from_bytes(&bytes).unwrap();
    let long = "x".repeat(100);
    let input = format!("EU NNP\n{long} NN\ncall JJ\n");
    // 64 bytes of buffer: the long line cannot fit, whatever is buffered; it splits the sentence.
    for pieces in [vec![input.as_bytes()], input.as_bytes().chunks(7).collect()] {
        let (out, stats) = run::<64, 16>(&model, &pieces);
        let first = reference(&model, &[["EU", "NNP"]]);
        let second = reference(&model, &[["call", "JJ"]]);
        assert_eq!(out, format!("{}\n!too-long\n{}\n", first[0], second[0]), "{pieces:?}");
        assert_eq!((stats.split_sentences, stats.error_lines, stats.tokens), (1, 1, 2));
    }
    // With room enough, the same input is one sentence.
    let (out, stats) = whole::<4096, 256>(&model, &input.replace(&long, "xxxxx"));
    let with = reference(&model, &[["EU", "NNP"], ["xxxxx", "NN"], ["call", "JJ"]]);
    assert_eq!(out, format!("{}\n{}\n{}\n", with[0], with[1], with[2]));
    assert_eq!(stats.split_sentences, 0);
    // An overlong last line without line feed.
    let (out, _) = whole::<64, 16>(&model, &long);
    assert_eq!(out, "!too-long\n");
}

#[test]
fn a_sentence_longer_than_the_buffer_is_split_and_counted() {
    let bytes = token_model(5);
    let model = Model::from_bytes(&bytes).unwrap();
    let sentence: Vec<[&str; 2]> = (0..10).map(|i| [WORDS[i % 8], POS[i % 4]]).collect();
    let input: String = sentence.iter().map(|t| format!("{} {}\n", t[0], t[1])).collect();
    // Four lines a sentence: 4 + 4 + 2.
    let (out, stats) = whole::<4096, 4>(&model, &input);
    let expected: String = sentence.chunks(4).flat_map(|part| reference(&model, part)).map(|t| t + "\n").collect();
    assert_eq!(out, expected);
    assert_eq!((stats.sentences, stats.split_sentences, stats.tokens), (3, 2, 10));
    // Fewer bytes than the sentence: split where the next line does not fit.
    let (out, stats) = whole::<32, 256>(&model, &input);
    assert_eq!(out.lines().count(), 10);
    assert!(stats.split_sentences >= 1, "{stats:?}");
    assert_eq!(stats.error_lines, 0);
}

#[test]
fn a_character_model_answers_token_lines_not_token_level() {
    let spec = common::default_bmes(1);
    let bytes = spec.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    let (out, stats) = whole::<256, 16>(&model, "a b\n\nc d\n");
    assert_eq!(out, "!not-token-level\n\n!not-token-level\n");
    assert_eq!(stats.error_lines, 2);
    assert_eq!(TokenLabeler::<256, 16>::new(&model).columns(), 0);
}

/// Lines of an input as the labeler counts them: its line feeds, plus an unterminated last line.
fn line_count(input: &[u8]) -> usize {
    input.iter().filter(|&&b| b == b'\n').count() + usize::from(input.last().is_some_and(|&b| b != b'\n'))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any bytes, cut anywhere: no panic, one answer line per input line, the same answers for every cut.
    #[test]
    fn any_bytes_give_one_answer_per_line_however_cut(
        input in proptest::collection::vec(
            prop_oneof![
                4 => proptest::sample::select(b"ab X-.\t\n\r".to_vec()),
                1 => any::<u8>(),
            ],
            0..400,
        ),
        cuts in proptest::collection::vec(0usize..400, 0..8),
    ) {
        let bytes = token_model(9);
        let model = Model::from_bytes(&bytes).unwrap();
        let (out, stats) = run::<48, 6>(&model, &[&input]);
        prop_assert_eq!(out.matches('\n').count(), line_count(&input));
        prop_assert_eq!(stats.lines as usize, line_count(&input));
        let pieces = common::split_at(&input, &cuts);
        let (cut_out, _) = run::<48, 6>(&model, &pieces);
        prop_assert_eq!(cut_out, out);
    }
}

//! Word segmentation: streaming output against whole-line Viterbi, and the output format.

mod common;

use common::{random_small, reference_events, split_at, Rng, Spec};
use decoder::internal::features::DEFAULT_TEMPLATES;
use decoder::internal::format::WeightType;
use decoder::internal::segment::{segment, segment_line, segment_line_with_rules, ChunkRoles};
use decoder::Event;
use decoder::SpanRules;
use decoder::DEFAULT_SEPARATOR;
use decoder::{word_spans, Model, Segmenter, WordSpans, DEFAULT_WINDOW};
use proptest::prelude::*;

/// A BMES model with zero emission weights whose transitions favour the given pattern.
fn fixed(favour: &[(usize, usize)], start: [i16; 4], end: [i16; 4]) -> Spec {
    let mut transitions = vec![0i16; 16];
    for &(from, to) in favour {
        transitions[from * 4 + to] = 100;
    }
    Spec {
        names: "B M E S".into(),
        custom: None,
        normalization: 0,
        templates: DEFAULT_TEMPLATES.to_vec(),
        bucket_bits: 2,
        weight_type: WeightType::I8,
        weight_shift: 0,
        weights: vec![0; 16],
        transitions,
        start: start.to_vec(),
        end: end.to_vec(),
    }
}

fn run(model: &Model<'_>, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let cuts = segment::<DEFAULT_WINDOW>(model, input, DEFAULT_SEPARATOR, |b| out.extend_from_slice(b));
    assert_eq!(cuts, 0);
    out
}

#[test]
fn output_format() {
    // S -> S favoured, S start and end: every character is a word.
    let singles = fixed(&[(3, 3)], [0, 0, 0, 100], [0, 0, 0, 100]).encode();
    let singles = Model::from_bytes(&singles).unwrap();
    assert_eq!(run(&singles, "中文 分词\n".as_bytes()), "中  文  分  词\n".as_bytes());
    assert_eq!(run(&singles, b"a\xffb\xe4\xb8"), b"a  \xff  b  \xe4\xb8\n");
    assert_eq!(run(&singles, b"\n  \n\t\r\n"), b"\n\n\n");
    assert_eq!(run(&singles, b""), b"");
    assert_eq!(run(&singles, b" "), b"\n");
    assert_eq!(run(&singles, b"x\r\ny"), b"x\ny\n");
    assert_eq!(run(&singles, b"x\ry"), b"x  y\n");
    let mut out = Vec::new();
    segment::<16>(&singles, "甲乙".as_bytes(), b"/", |b| out.extend_from_slice(b));
    assert_eq!(out, "甲/乙\n".as_bytes());
    // A separator longer than the segmenter's output buffer, and output split over many sink calls.
    let long = [b'-'; 300];
    let input = "甲乙".repeat(100);
    let mut out = Vec::new();
    segment::<16>(&singles, input.as_bytes(), &long, |b| out.extend_from_slice(b));
    let expected = input.chars().map(String::from).collect::<Vec<_>>().join(std::str::from_utf8(&long).unwrap()) + "\n";
    assert_eq!(out, expected.as_bytes());
    // B -> E and E -> B favoured: two-character words; full-width text keeps its original bytes.
    let pairs = fixed(&[(0, 2), (2, 0)], [100, 0, 0, 0], [0, 0, 100, 0]).encode();
    let pairs = Model::from_bytes(&pairs).unwrap();
    assert_eq!(run(&pairs, "中文分词ＡＢ\n".as_bytes()), "中文  分词  ＡＢ\n".as_bytes());
    assert_eq!(segment_line(&pairs, "中文分词 ＡＢ"), ["中文", "分词", "ＡＢ"]);
    assert_eq!(Segmenter::segment_to_vec(&pairs, "中文分词".as_bytes()), "中文  分词\n".as_bytes());
}

#[test]
fn chunk_roles() {
    let bmes = fixed(&[], [0; 4], [0; 4]).encode();
    let roles = ChunkRoles::of(&Model::from_bytes(&bmes).unwrap());
    assert_eq!(roles, ChunkRoles { opens: 0b1001, closes: 0b1100 });
    assert!(roles.boundary(2, 0) && roles.boundary(3, 3) && !roles.boundary(0, 1) && !roles.boundary(1, 2));
}

/// Segmenting from the reference events (whole-sequence Viterbi per run).
fn reference_segmentation(model: &Model<'_>, input: &[u8]) -> Vec<u8> {
    let roles = ChunkRoles::of(model);
    let mut out = Vec::new();
    let mut last: Option<u8> = None; // tag of the previous unit of the current word run, None after a separator
    let mut line_has_word = false;
    for e in reference_events(model, input) {
        match e {
            Event::Unit(u) => match u.tag {
                Some(t) => {
                    let boundary = match last {
                        None => true,
                        Some(p) => roles.boundary(p, t),
                    };
                    if line_has_word && boundary {
                        out.extend_from_slice(DEFAULT_SEPARATOR);
                    }
                    out.extend_from_slice(u.as_bytes());
                    line_has_word = true;
                    last = Some(t);
                }
                None => last = None,
            },
            Event::LineEnd(_) => {
                out.push(b'\n');
                line_has_word = false;
                last = None;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn streaming_segmentation_equals_whole_line(seed: u64, len in 0usize..200, cuts in proptest::collection::vec(0usize..1000, 0..5)) {
        let mut rng = Rng(seed);
        let spec = random_small(&mut rng);
        let bytes = spec.encode();
        let model = Model::from_bytes(&bytes).unwrap();
        let alphabet = ["中", "文", "分", "词", "a", "1", " ", "\n", "\r\n", "\u{3000}", "\u{FFFD}"];
        let mut input = Vec::new();
        for _ in 0..len {
            input.extend_from_slice(alphabet[rng.below(alphabet.len() as u64) as usize].as_bytes());
        }
        if rng.below(3) == 0 {
            input.push(0xFF);
        }
        let expected = reference_segmentation(&model, &input);
        // No span rule: the model's own segmentation, exactly as before forced spans existed.
        let mut segmenter = Segmenter::<DEFAULT_WINDOW>::with_rules(&model, SpanRules::NONE);
        let mut out = Vec::new();
        for piece in split_at(&input, &cuts) {
            segmenter.push(piece, |b| out.extend_from_slice(b));
        }
        segmenter.finish(|b| out.extend_from_slice(b));
        prop_assert_eq!(segmenter.forced_cuts(), 0);
        prop_assert_eq!(&out, &expected);
        // segment_line agrees line by line on valid text.
        if let Ok(text) = std::str::from_utf8(&input) {
            let lines: Vec<String> = text.split_inclusive('\n').map(|l| segment_line_with_rules(&model, SpanRules::NONE, l).join("  ") + "\n").collect();
            prop_assert_eq!(String::from_utf8(out).unwrap(), lines.concat());
        }
    }
}

/// The words a `Segmenter` with `rules` writes (its output split at its separator and line breaks).
fn segmenter_words(model: &Model<'_>, rules: SpanRules<'_>, input: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    Segmenter::<DEFAULT_WINDOW>::with_rules_and_separator(model, rules, b"\n")
        .segment_all(input, |b| out.extend_from_slice(b));
    out.split(|&b| b == b'\n').filter(|word| !word.is_empty()).map(<[u8]>::to_vec).collect()
}

#[test]
fn word_spans_are_the_segmenters_words_in_place() {
    let singles = fixed(&[(3, 3)], [0, 0, 0, 100], [0, 0, 0, 100]).encode();
    let singles = Model::from_bytes(&singles).unwrap();
    let pairs = fixed(&[(0, 2), (2, 0)], [100, 0, 0, 0], [0, 0, 100, 0]).encode();
    let pairs = Model::from_bytes(&pairs).unwrap();
    let spans = |model: &Model<'_>, input: &str| {
        let mut spans = Vec::new();
        word_spans::<DEFAULT_WINDOW>(model, SpanRules::NONE, input.as_bytes(), |span| spans.push(span));
        spans
    };
    assert_eq!(spans(&singles, "中文 分\r\n词\rx"), [0..3, 3..6, 7..10, 12..15, 16..17]);
    assert_eq!(spans(&pairs, "中文分词\u{3000}ＡＢ\n"), [0..6, 6..12, 15..21]);
    assert_eq!(spans(&pairs, ""), []);
    assert_eq!(spans(&pairs, " \n\r\n"), []);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn word_spans_slice_the_segmenters_words(seed: u64, len in 0usize..200, cuts in proptest::collection::vec(0usize..1000, 0..5), forced_spans: bool) {
        let mut rng = Rng(seed);
        let spec = random_small(&mut rng);
        let bytes = spec.encode();
        let model = Model::from_bytes(&bytes).unwrap();
        let alphabet = ["中", "文", "分", "词", "a", "1", ".", "http://x.y/", " ", "\n", "\r", "\r\n", "\u{3000}", "\u{FFFD}"];
        let mut input = Vec::new();
        for _ in 0..len {
            input.extend_from_slice(alphabet[rng.below(alphabet.len() as u64) as usize].as_bytes());
        }
        if rng.below(3) == 0 {
            input.push(0xFF);
        }
        let rules = SpanRules { dictionary: None, forced_spans };
        let expected = segmenter_words(&model, rules, &input);
        // Whole, and streamed in pieces through `WordSpans` (ranges count from the first piece).
        let mut whole = Vec::new();
        word_spans::<DEFAULT_WINDOW>(&model, rules, &input, |span| whole.push(input[span].to_vec()));
        prop_assert_eq!(&whole, &expected);
        let mut labeler = decoder::StreamLabeler::<DEFAULT_WINDOW>::with_rules(&model, rules);
        let mut words = WordSpans::new(&model);
        let mut streamed = Vec::new();
        for piece in split_at(&input, &cuts) {
            labeler.push(piece, |event| words.event(event, &mut |span| streamed.push(input[span].to_vec())));
        }
        labeler.finish(|event| words.event(event, &mut |span| streamed.push(input[span].to_vec())));
        prop_assert_eq!(&streamed, &expected);
    }
}

//! Forced spans and the user dictionary: streaming equals whole-line decoding under the same rules, and
//! the forced spans always come out as the rules say, whatever the model's scores.

mod common;

use common::{random_small, split_at, Rng};
use decoder::internal::segment::segment_line_with_rules;
use decoder::{build_dictionary, Dictionary, Model, Segmenter, SpanRules, DEFAULT_WINDOW};
use proptest::prelude::*;

const WORDS: [&str; 6] = ["中文", "中文分词", "分词", "词a", "文", "a1"];
const ALPHABET: [&str; 18] = [
    "中", "文", "分", "词", "a", "1", "２", ".", "%", ",", "@", "x", "www.", "http://", " ", "\n", "\u{3000}",
    "\u{FFFD}",
];

/// A random small model whose tag names follow a chunk scheme (with tags that all open and close, as
/// unknown names do, no boundary can be forced or forbidden).
fn chunk_model(rng: &mut Rng) -> Vec<u8> {
    loop {
        let spec = random_small(rng);
        if !spec.names.starts_with('T') {
            return spec.encode();
        }
    }
}

fn streamed<const W: usize>(model: &Model<'_>, rules: SpanRules<'_>, input: &[u8], cuts: &[usize]) -> (String, u64) {
    let mut segmenter = Segmenter::<W>::with_rules(model, rules);
    let mut out = Vec::new();
    for piece in split_at(input, cuts) {
        segmenter.push(piece, |b| out.extend_from_slice(b));
    }
    segmenter.finish(|b| out.extend_from_slice(b));
    (String::from_utf8(out).unwrap(), segmenter.forced_cuts())
}

fn whole_lines(model: &Model<'_>, rules: SpanRules<'_>, text: &str) -> String {
    text.split_inclusive('\n').map(|l| segment_line_with_rules(model, rules, l).join("  ") + "\n").collect()
}

/// Leftmost-longest occurrences of `words` in `run` (naive), as character ranges.
fn naive_matches(words: &[&str], run: &[char]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < run.len() {
        let len = words
            .iter()
            .map(|w| w.chars().collect::<Vec<_>>())
            .filter(|w| run[at..].starts_with(w))
            .map(|w| w.len())
            .max()
            .unwrap_or(0);
        if len > 0 {
            found.push((at, at + len));
        }
        at += len.max(1);
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any model, any text, any split of the input: the streaming segmenter with forced spans and a
    /// dictionary gives exactly the whole-line (constrained Viterbi) segmentation.
    #[test]
    fn streaming_equals_whole_line_under_rules(seed: u64, len in 0usize..160, cuts in proptest::collection::vec(0usize..800, 0..5), forced: bool, pick in 0u8..64) {
        let mut rng = Rng(seed);
        let model_bytes = chunk_model(&mut rng);
        let model = Model::from_bytes(&model_bytes).unwrap();
        let chosen: Vec<&str> = WORDS.iter().enumerate().filter(|(i, _)| pick & (1 << i) != 0).map(|(_, w)| *w).collect();
        let dictionary_bytes = build_dictionary(chosen.join("\n").as_bytes()).unwrap();
        let dictionary = Dictionary::from_bytes(&dictionary_bytes).unwrap();
        let rules = SpanRules { dictionary: Some(&dictionary), forced_spans: forced };
        let text: String = (0..len).map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize]).collect();
        let (out, cuts_made) = streamed::<DEFAULT_WINDOW>(&model, rules, text.as_bytes(), &cuts);
        prop_assert_eq!(cuts_made, 0);
        prop_assert_eq!(&out, &whole_lines(&model, rules, &text));
        let (small, _) = streamed::<128>(&model, rules, text.as_bytes(), &cuts);
        prop_assert_eq!(&small, &out, "a 128-unit window decides spans the same way");

        // Every leftmost-longest dictionary occurrence is exactly one word (forced spans off, so only
        // the dictionary decides).
        let rules = SpanRules { dictionary: Some(&dictionary), forced_spans: false };
        let out = whole_lines(&model, rules, &text);
        for (line_in, line_out) in text.split_inclusive('\n').zip(out.lines()) {
            let words: Vec<&str> = line_out.split("  ").collect();
            for run in line_in.split(|c: char| c.is_whitespace()).filter(|r| !r.is_empty()) {
                let chars: Vec<char> = run.chars().collect();
                for (a, b) in naive_matches(&chosen, &chars) {
                    let word: String = chars[a..b].iter().collect();
                    prop_assert!(words.contains(&word.as_str()), "{word} split in {line_out:?}");
                }
            }
        }
    }

    /// Numbers are never split inside; URLs and addresses are one word, whatever the model.
    #[test]
    fn forced_spans_hold_for_any_model(seed: u64) {
        let mut rng = Rng(seed);
        let model_bytes = chunk_model(&mut rng);
        let model = Model::from_bytes(&model_bytes).unwrap();
        let text = "在http://a.cn/x?y=1看到１９９８年增长3.5%和1,234人，写信给a.b@x-y.com。";
        let out = whole_lines(&model, SpanRules::default(), text);
        let words: Vec<&str> = out.trim_end().split("  ").collect();
        prop_assert!(words.contains(&"http://a.cn/x?y=1"), "{out}");
        prop_assert!(words.contains(&"a.b@x-y.com"), "{out}");
        for number in ["１９９８", "3.5%", "1,234"] {
            prop_assert!(words.iter().any(|w| w.contains(number)), "{number} split in {out}");
        }
    }
}

#[test]
fn no_rules_is_the_plain_model() {
    let mut rng = Rng(7);
    let model_bytes = chunk_model(&mut rng);
    let model = Model::from_bytes(&model_bytes).unwrap();
    let text = "中文1.5分词http://x.cn a@b.cn\n";
    let plain = decoder::internal::segment::segment_line_with_rules(&model, SpanRules::NONE, text);
    let labeler = decoder::LineLabeler::new(&model);
    let chars: Vec<char> = "中文1.5分词http://x.cn".chars().collect();
    let mut tags = vec![0; chars.len()];
    let mut backpointers = vec![0; labeler.backpointer_bytes(chars.len())];
    labeler.label(&chars, &mut backpointers, &mut tags).unwrap();
    let with_none = decoder::LineLabeler::with_rules(&model, SpanRules::NONE);
    let mut tags_none = vec![0; chars.len()];
    with_none.label(&chars, &mut backpointers, &mut tags_none).unwrap();
    assert_eq!(tags, tags_none);
    assert_eq!(plain.concat(), "中文1.5分词http://x.cna@b.cn");
}

//! The streaming labeler against whole-sequence Viterbi, for any split of the input.

mod common;

use common::{random_small, reference_events, split_at, stream_events, Rng, Spec};
use decoder::internal::features::Template;
use decoder::internal::format::WeightType;
use decoder::internal::ModelInternals;
use decoder::{Event, LineEnding};
use decoder::{Model, StreamLabeler};
use proptest::prelude::*;

const PIECES: &[&[u8]] = &[
    b"a",
    b"b",
    b"Z",
    b"7",
    "中".as_bytes(),
    "文".as_bytes(),
    "，".as_bytes(),
    "Ａ".as_bytes(),
    "😀".as_bytes(),
    b" ",
    b"\t",
    b"\n",
    b"\r",
    b"\r\n",
    "\u{3000}".as_bytes(),
    b"\xff",
    b"\xe4",
    b"\xe4\xb8",
    b"\x80",
    b"\xef\xbf\xbd",
    b"\xf0\x9f",
    b"\x00",
];

/// Random input: mostly run characters, some separators, line ends and invalid bytes.
fn random_input(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let sep_rate = 1 + rng.below(30);
    for _ in 0..len {
        let p =
            if rng.below(sep_rate) == 0 { PIECES[8 + rng.below(14) as usize] } else { PIECES[rng.below(8) as usize] };
        out.extend_from_slice(p);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// With no forced cut, streaming equals whole-sequence Viterbi of each run, for any split.
    #[test]
    fn streaming_equals_whole_sequence(seed: u64, len in 0usize..300, cuts in proptest::collection::vec(0usize..2000, 0..6)) {
        let mut rng = Rng(seed);
        let spec = random_small(&mut rng);
        let bytes = spec.encode();
        let model = Model::from_bytes(&bytes).unwrap();
        let input = random_input(&mut rng, len);
        let expected = reference_events(&model, &input);
        let (whole, cuts0) = stream_events::<256>(&model, &[&input]);
        let (split, cuts1) = stream_events::<256>(&model, &split_at(&input, &cuts));
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(cuts0, cuts1);
        if cuts0 == 0 {
            prop_assert_eq!(&whole, &expected);
        }
    }

    /// A tiny window forces cuts; output still never depends on the split, covers every input byte, and
    /// (for derived schemes, where every state can complete) obeys the constraints.
    #[test]
    fn forced_cuts_are_split_independent_and_valid(seed: u64, len in 0usize..400, cuts in proptest::collection::vec(0usize..3000, 0..6)) {
        let mut rng = Rng(seed);
        let spec = random_small(&mut rng);
        let bytes = spec.encode();
        let model = Model::from_bytes(&bytes).unwrap();
        let mut input = random_input(&mut rng, len);
        input.retain(|&b| b != b' ' && b != b'\n'); // long runs
        let (whole, cuts0) = stream_events::<16>(&model, &[&input]);
        let (split, cuts1) = stream_events::<16>(&model, &split_at(&input, &cuts));
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(cuts0, cuts1);
        // Every byte is accounted for.
        let rebuilt = common::rebuild(&whole);
        prop_assert_eq!(&rebuilt, &input);
        if spec.custom.is_none() {
            let constraints = model.constraints();
            let mut run = Vec::new();
            for e in whole.iter().chain([&Event::LineEnd(LineEnding::EndOfInput)]) {
                match e {
                    Event::Unit(u) if u.tag.is_some() => run.push(u.tag.unwrap()),
                    _ => {
                        prop_assert!(constraints.allows_sequence(&run), "{:?}", run);
                        run.clear();
                    }
                }
            }
        }
        if cuts0 == 0 {
            prop_assert_eq!(&whole, &reference_events(&model, &input));
        }
    }
}

#[test]
fn line_endings_and_separators() {
    let spec = common::random_bmes(1, &decoder::internal::features::DEFAULT_TEMPLATES, 6, 20, 4);
    let bytes = spec.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    for input in [
        &b""[..],
        b"\n",
        b"\r\n",
        b"\r",
        b"\r\r\n",
        b"abc",
        b"abc\n",
        b"ab\r\ncd\r\n",
        b"a\rb",
        b"  \n\t\n",
        "中文 分词\u{3000}测试\n\n末行".as_bytes(),
        b"\xe4\xb8\n\xff\xfe ab\xe4",
        b"x\xef\xbf\xbdy",
    ] {
        let (events, cuts) = stream_events::<256>(&model, &[input]);
        assert_eq!(cuts, 0);
        assert_eq!(events, reference_events(&model, input), "{input:x?}");
        let bytewise: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(stream_events::<256>(&model, &bytewise).0, events);
    }
    let (events, _) = stream_events::<256>(&model, &[b"a\r\nb"]);
    let ends: Vec<_> = events.iter().filter_map(|e| if let Event::LineEnd(l) = e { Some(*l) } else { None }).collect();
    assert_eq!(ends, [LineEnding::CrLf, LineEnding::EndOfInput]);
}

#[test]
fn labeler_is_reusable_after_finish_and_reports_its_size() {
    let spec = common::random_bmes(2, &decoder::internal::features::DEFAULT_TEMPLATES, 6, 20, 4);
    let bytes = spec.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    let mut labeler = StreamLabeler::<256>::new(&model);
    let mut first = Vec::new();
    labeler.push("第一行".as_bytes(), |e| first.push(e));
    labeler.finish(|e| first.push(e));
    let mut second = Vec::new();
    labeler.push("第一行".as_bytes(), |e| second.push(e));
    labeler.finish(|e| second.push(e));
    assert_eq!(first, second);
    println!(
        "size_of StreamLabeler<256> = {} bytes, Segmenter<256> = {} bytes",
        core::mem::size_of::<StreamLabeler<256>>(),
        core::mem::size_of::<decoder::Segmenter<256>>()
    );
}

/// Wielandt's graph on `l` tags as custom constraints (worst-case exponent).
fn wielandt_custom(l: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut t = vec![0u8; l * l];
    if l == 1 {
        t[0] = 1;
    } else {
        for i in 0..l - 1 {
            t[i * l + i + 1] = 1;
        }
        t[(l - 1) * l] = 1;
        t[(l - 1) * l + 1] = 1;
    }
    (t, vec![1; l], vec![1; l])
}

/// 100,000 characters through models at the score bounds: 32 templates of i16 weights at +-2^15 (so
/// emissions reach +-2^20), transitions at the i16 extremes, worst-case graphs, every L up to 16.
#[test]
fn streaming_at_the_extremes() {
    let mut rng = Rng(99);
    let alphabet: Vec<char> = "中文分词测试的一二三ab1，。".chars().collect();
    let text: String = (0..100_000).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
    let mut templates = Vec::new();
    for i in 0..32 {
        let a = (i % 9) as i8 - 4;
        templates.push(match i % 3 {
            0 => Template::Char(a),
            1 => Template::Pair(a, 0),
            _ => Template::Bias,
        });
    }
    for l in 1..=16usize {
        for pattern in 0..3 {
            let bucket_bits = 3;
            let weights: Vec<u8> = (0..(1usize << bucket_bits) * l)
                .flat_map(|i| {
                    let w = match pattern {
                        0 => i16::MAX,
                        1 => i16::MIN,
                        _ => {
                            if rng.below(2) == 0 {
                                i16::MAX
                            } else {
                                i16::MIN
                            }
                        }
                    };
                    let w = if pattern < 2 && i % l == 0 { !w } else { w };
                    w.to_le_bytes()
                })
                .collect();
            let ext = |rng: &mut Rng| if rng.below(2) == 0 { i16::MAX } else { i16::MIN };
            let spec = Spec {
                names: (0..l).map(|i| format!("T{i}")).collect::<Vec<_>>().join(" "),
                custom: Some(wielandt_custom(l)),
                normalization: 0,
                templates: templates.clone(),
                bucket_bits,
                weight_type: WeightType::I16,
                weight_shift: 0,
                weights,
                transitions: (0..l * l).map(|_| ext(&mut rng)).collect(),
                start: (0..l).map(|_| ext(&mut rng)).collect(),
                end: (0..l).map(|_| ext(&mut rng)).collect(),
            };
            let bytes = spec.encode();
            let model = Model::from_bytes(&bytes).unwrap();
            assert_eq!(model.primitive_exponent(), (l - 1) * (l - 1) + 1);
            let (events, cuts) = stream_events::<1024>(&model, &[text.as_bytes()]);
            let units = events.iter().filter(|e| matches!(e, Event::Unit(_))).count();
            assert_eq!(units, 100_000);
            if cuts == 0 {
                assert_eq!(events, reference_events(&model, text.as_bytes()), "L = {l}");
            }
        }
    }
}

/// The smallest window with the widest back-pointer rows (L = 16: 8 bytes per row, 2 rows in 16 bytes).
#[test]
fn smallest_window_with_sixteen_tags() {
    let mut rng = Rng(5);
    let l = 16;
    let spec = Spec {
        names: (0..l).map(|i| format!("T{i}")).collect::<Vec<_>>().join(" "),
        custom: None,
        normalization: 0,
        templates: decoder::internal::features::DEFAULT_TEMPLATES.to_vec(),
        bucket_bits: 4,
        weight_type: WeightType::I8,
        weight_shift: 8,
        weights: (0..16 * l).map(|_| rng.range(-128, 127) as i8 as u8).collect(),
        transitions: (0..l * l).map(|_| rng.range(-30000, 30000) as i16).collect(),
        start: (0..l).map(|_| rng.range(-30000, 30000) as i16).collect(),
        end: (0..l).map(|_| rng.range(-30000, 30000) as i16).collect(),
    };
    let bytes = spec.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(StreamLabeler::<16>::new(&model).window_columns(), 2);
    let input = random_input(&mut rng, 3000);
    let (whole, cuts) = stream_events::<16>(&model, &[&input]);
    let bytewise: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(stream_events::<16>(&model, &bytewise), (whole.clone(), cuts));
    assert_eq!(common::rebuild(&whole), input);
    assert!(cuts > 0);
    // The big window agrees with whole-sequence Viterbi.
    let (big, big_cuts) = stream_events::<4096>(&model, &[&input]);
    if big_cuts == 0 {
        assert_eq!(big, reference_events(&model, &input));
    }
}

//! Codebook emission models (format version 2): equal to the direct table they expand to, equal to a
//! by-hand reference for any row count, and overflow-free at the extremes.

mod common;

use common::{random_small, reference_events, reference_viterbi, stream_events, Rng, Spec};
use decoder::internal::features::{row, template_hashes, Template};
use decoder::internal::format::{WeightType, CODEBOOK_ENTRIES};
use decoder::internal::lattice::{backpointer_bytes, label_chars, MAX_EMISSION};
use decoder::internal::lexicon::NoWords;
use decoder::internal::segment::segment;
use decoder::internal::text::normalize;
use decoder::internal::ModelInternals;
use decoder::DEFAULT_SEPARATOR;
use decoder::{Model, MAX_CHAR_TAGS, MAX_TEMPLATES};
use proptest::prelude::*;

/// Characters of every class, with full-width and upper-case forms for the normalisation flags.
const CHARS: &[char] = &[
    '中', '文', '分', '词', '测', '试', '的', '一', '二', '三', '十', '，', '。', '！', '“', 'a', 'b', 'Z', 'Q', '0',
    '7', 'Ａ', 'ｂ', '１', '，', '😀', '\u{fffd}', '-', '.',
];
/// Separators and line ends, for the streaming checks.
const SEPARATORS: &[&str] = &[" ", "\t", "\n", "\r\n", "\u{3000}"];

fn random_chars(rng: &mut Rng, len: usize) -> Vec<char> {
    (0..len).map(|_| CHARS[rng.below(CHARS.len() as u64) as usize]).collect()
}

fn random_text(rng: &mut Rng, len: usize) -> Vec<u8> {
    let sep_rate = 1 + rng.below(40);
    let mut out = String::new();
    for _ in 0..len {
        if rng.below(sep_rate) == 0 {
            out.push_str(SEPARATORS[rng.below(SEPARATORS.len() as u64) as usize]);
        } else {
            out.push(CHARS[rng.below(CHARS.len() as u64) as usize]);
        }
    }
    out.into_bytes()
}

/// `CODEBOOK_ENTRIES` random rows of `l` elements of `weight_type` in `-lim..=lim` (clamped to the type).
fn random_codebook(rng: &mut Rng, l: usize, weight_type: WeightType, lim: i64) -> Vec<u8> {
    let n = CODEBOOK_ENTRIES * l;
    match weight_type {
        WeightType::I8 => (0..n).map(|_| rng.range(-lim.min(128), lim.min(127)) as i8 as u8).collect(),
        WeightType::I16 => {
            (0..n).flat_map(|_| (rng.range(-lim.min(32768), lim.min(32767)) as i16).to_le_bytes()).collect()
        }
    }
}

/// `rows` random codes; sometimes from a few entries only (so rows share entries), always including the
/// first and the last entry when there is room.
fn random_codes(rng: &mut Rng, rows: usize) -> Vec<u8> {
    let used = if rng.below(2) == 0 { 256 } else { 1 + rng.below(8) };
    // `used` entries spread over 0..=255.
    let spread = (used - 1).max(1);
    let mut codes: Vec<u8> = (0..rows).map(|_| (rng.below(used) * 255 / spread) as u8).collect();
    if rows >= 2 {
        codes[0] = 0;
        codes[rows - 1] = 255;
    }
    codes
}

/// The direct `[rows][L]` table a codebook model stands for: row `r` is `codebook[codes[r]]`.
fn expand(codebook: &[u8], codes: &[u8], l: usize, weight_type: WeightType) -> Vec<u8> {
    let row_bytes = l * weight_type.bytes();
    codes.iter().flat_map(|&c| &codebook[usize::from(c) * row_bytes..][..row_bytes]).copied().collect()
}

/// Element `tag` of codebook entry `entry`, by hand.
fn element(codebook: &[u8], l: usize, weight_type: WeightType, entry: u8, tag: usize) -> i32 {
    let i = usize::from(entry) * l + tag;
    match weight_type {
        WeightType::I8 => i32::from(codebook[i] as i8),
        WeightType::I16 => i32::from(i16::from_le_bytes([codebook[2 * i], codebook[2 * i + 1]])),
    }
}

/// Emission scores of a codebook model at every position of `chars`, from the spec alone: normalised
/// characters, `Template::hash`, `features::row`, the codes and the codebook, summed and shifted.
/// Also returns the table row of every (position, template).
fn reference_emissions(spec: &Spec, codes: &[u8], chars: &[char]) -> (Vec<i32>, Vec<usize>) {
    reference_emissions_hashes(spec, codes, 1, chars)
}

/// [`reference_emissions`] with `hashes` rows per feature: the second is the row of the hash rotated
/// left by 16 bits (FORMAT.md), written out here rather than taken from the decoder.
fn reference_emissions_hashes(spec: &Spec, codes: &[u8], hashes: u8, chars: &[char]) -> (Vec<i32>, Vec<usize>) {
    let l = spec.num_tags();
    let rows = codes.len() as u32;
    let normalized: Vec<char> = chars.iter().map(|&c| normalize(c, spec.normalization)).collect();
    let mut emissions = Vec::new();
    let mut table_rows = Vec::new();
    for position in 0..chars.len() {
        let mut template_hash = Vec::new();
        template_hashes(&spec.templates, &normalized, position, &NoWords, |hash| template_hash.push(hash));
        let mut sum = vec![0i64; l];
        for hash in template_hash {
            for h in [hash, hash.rotate_left(16)].into_iter().take(usize::from(hashes)) {
                let r = row(h, rows);
                assert!(r < codes.len());
                table_rows.push(r);
                for (tag, s) in sum.iter_mut().enumerate() {
                    *s += i64::from(element(&spec.weights, l, spec.weight_type, codes[r], tag));
                }
            }
        }
        for s in sum {
            let score = s << spec.weight_shift;
            assert!(score.abs() <= i64::from(MAX_EMISSION));
            emissions.push(score as i32);
        }
    }
    (emissions, table_rows)
}

/// The decoder's emission scores and table rows at every position of `chars`.
fn model_emissions(model: &Model<'_>, chars: &[char]) -> (Vec<i32>, Vec<usize>) {
    let mut emissions = Vec::new();
    let mut table_rows = Vec::new();
    for position in 0..chars.len() {
        let mut out = [0i32; MAX_CHAR_TAGS];
        model.emission_scores(chars, position, &mut out);
        emissions.extend_from_slice(&out[..model.num_tags()]);
        model.table_rows(chars, position, |_, r| table_rows.push(r));
    }
    (emissions, table_rows)
}

fn label(model: &Model<'_>, chars: &[char]) -> (i64, Vec<u8>) {
    let mut bp = vec![0u8; backpointer_bytes(model.num_tags(), chars.len())];
    let mut tags = vec![0u8; chars.len()];
    let score = label_chars(model, chars, &mut bp, &mut tags).unwrap();
    (score, tags)
}

fn segmented<const W: usize>(model: &Model<'_>, input: &[u8]) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    let cuts = segment::<W>(model, input, DEFAULT_SEPARATOR, |b| out.extend_from_slice(b));
    (out, cuts)
}

/// A codebook model and its expanded direct table (`2^bucket_bits` rows) give the same scores, rows,
/// labels, streams and segmentations.
fn assert_same_as_expanded(spec: &Spec, codes: &[u8], rng: &mut Rng, len: usize) {
    let l = spec.num_tags();
    let direct = Spec { weights: expand(&spec.weights, codes, l, spec.weight_type), ..spec.clone() };
    assert_eq!(codes.len(), 1 << spec.bucket_bits);
    let (cb_bytes, direct_bytes) = (spec.encode_codebook(codes), direct.encode());
    assert_eq!(cb_bytes[4], 2);
    assert_eq!(direct_bytes[4], 1);
    let (cb, dm) = (Model::from_bytes(&cb_bytes).unwrap(), Model::from_bytes(&direct_bytes).unwrap());
    assert_eq!(cb.ngram().unwrap().rows(), dm.ngram().unwrap().rows());
    assert_eq!(cb.ngram().unwrap().bucket_bits(), None);
    assert_eq!(dm.ngram().unwrap().bucket_bits(), Some(spec.bucket_bits));
    assert_eq!(cb.ngram().unwrap().codes(), Some(codes));
    assert_eq!(cb.ngram().unwrap().weight_bytes(), codes.len() + CODEBOOK_ENTRIES * l * spec.weight_type.bytes());
    assert_eq!(dm.ngram().unwrap().weight_bytes(), codes.len() * l * spec.weight_type.bytes());
    assert_eq!(cb.ngram().unwrap().lookahead(), dm.ngram().unwrap().lookahead());

    let chars = random_chars(rng, len);
    assert_eq!(model_emissions(&cb, &chars), model_emissions(&dm, &chars));
    assert_eq!(label(&cb, &chars), label(&dm, &chars));
    let input = random_text(rng, len);
    let stream = stream_events::<256>(&cb, &[&input]);
    assert_eq!(stream, stream_events::<256>(&dm, &[&input]));
    if stream.1 == 0 {
        assert_eq!(stream.0, reference_events(&cb, &input));
    }
    assert_eq!(stream_events::<16>(&cb, &[&input]), stream_events::<16>(&dm, &[&input]));
    assert_eq!(segmented::<256>(&cb, &input), segmented::<256>(&dm, &input));
    assert_eq!(segmented::<16>(&cb, &input), segmented::<16>(&dm, &input));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random small models (1..=5 tags, derived or custom constraints, random templates, i8 or i16, any
    /// shift), random codebooks and codes.
    #[test]
    fn codebook_equals_its_expanded_table(seed: u64, len in 0usize..200) {
        let mut rng = Rng(seed);
        let mut spec = random_small(&mut rng);
        spec.bucket_bits = 1 + rng.below(10) as u8;
        let lim = match rng.below(3) {
            0 => 2,
            1 => 100,
            _ => i64::MAX,
        };
        spec.weights = random_codebook(&mut rng, spec.num_tags(), spec.weight_type, lim);
        let codes = random_codes(&mut rng, 1 << spec.bucket_bits);
        assert_same_as_expanded(&spec, &codes, &mut rng, len);
    }

    /// Any row count: the decoder's scores, rows, labels and path score equal the by-hand reference
    /// emissions run through the floating-point reference Viterbi.
    #[test]
    fn any_row_count_matches_reference(seed: u64, len in 0usize..120) {
        let mut rng = Rng(seed);
        let mut spec = random_small(&mut rng);
        let rows = [1usize, 2, 3, 7, 1000, 1000, 1001, 65_537][rng.below(8) as usize];
        let lim = 100 + rng.below(2) as i64 * 40_000;
        spec.weights = random_codebook(&mut rng, spec.num_tags(), spec.weight_type, lim);
        let codes = random_codes(&mut rng, rows);
        let hashes = if spec.templates.len() <= decoder::MAX_TEMPLATES / 2 { 1 + rng.below(2) as u8 } else { 1 };
        check_against_reference(&spec, &codes, hashes, &random_chars(&mut rng, len));
    }
}

fn check_against_reference(spec: &Spec, codes: &[u8], hashes: u8, chars: &[char]) -> Vec<usize> {
    let bytes = spec.encode_codebook_hashes(codes, hashes);
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.ngram().unwrap().rows(), codes.len());
    assert_eq!(model.ngram().unwrap().hashes_per_feature(), usize::from(hashes));
    let (emissions, table_rows) = reference_emissions_hashes(spec, codes, hashes, chars);
    assert_eq!(model_emissions(&model, chars), (emissions.clone(), table_rows.clone()));
    let (score, tags) = label(&model, chars);
    let (ref_score, ref_tags) =
        reference_viterbi(model.constraints(), &spec.transitions, &spec.start, &spec.end, &emissions, spec.num_tags());
    assert_eq!(tags, ref_tags);
    assert_eq!(score as f64, ref_score);
    table_rows
}

/// A fixed non-power-of-two table: 1000 rows, BMES, every template kind, both normalisations. The features
/// reach nearly every row, the first and the last included.
#[test]
fn thousand_rows_match_reference() {
    let mut rng = Rng(1000);
    let templates = vec![
        Template::Bias,
        Template::Char(0),
        Template::Char(-1),
        Template::Char(1),
        Template::Pair(-1, 0),
        Template::Pair(0, 1),
        Template::Triple(-1, 0, 1),
        Template::ClassSpan(-1, 1),
        Template::ClassSpan(0, 0),
    ];
    let mut spec = common::random_bmes(1000, &templates, 2, 100, 4);
    spec.normalization = decoder::internal::text::NORMALIZE_KNOWN;
    spec.weights = random_codebook(&mut rng, 4, WeightType::I8, 127);
    let codes: Vec<u8> = (0..1000).map(|_| rng.below(256) as u8).collect();
    let mut seen = vec![false; 1000];
    for len in [1, 2, 5, 50, 500, 3000] {
        for r in check_against_reference(&spec, &codes, 1 + (len % 2) as u8, &random_chars(&mut rng, len)) {
            seen[r] = true;
        }
    }
    let used = seen.iter().filter(|&&s| s).count();
    assert!(used > 900, "only {used} of 1000 rows used");
    assert!(seen[999] && seen[0]);
}

/// Custom constraints: allowed transitions, start and end tags.
type Masks = (Vec<u8>, Vec<u8>, Vec<u8>);

/// Every template slot used (32), codebooks at the extremes of the weight type and shift, long inputs:
/// no overflow (the `ci-test` profile and debug builds check), scores exactly as by hand, and the same
/// results as the expanded table. Patterns: every row at the maximum for tag 0 (all others at the
/// minimum), the opposite, alternating, and random extremes.
#[test]
fn extreme_codebooks_never_overflow() {
    const T: usize = 10_000;
    let pool = [
        Template::Bias,
        Template::Char(-4),
        Template::Char(-2),
        Template::Char(-1),
        Template::Char(0),
        Template::Char(1),
        Template::Char(2),
        Template::Char(4),
        Template::Pair(-1, 0),
        Template::Pair(0, 1),
        Template::Pair(-4, 4),
        Template::Triple(-2, -1, 0),
        Template::Triple(-1, 0, 1),
        Template::Triple(-4, 0, 4),
        Template::ClassSpan(0, 0),
        Template::ClassSpan(-1, 1),
        Template::ClassSpan(-4, 4),
    ];
    let templates: Vec<Template> = (0..MAX_TEMPLATES).map(|i| pool[i % pool.len()]).collect();
    let mut rng = Rng(32);
    let wielandt16 = {
        let l = MAX_CHAR_TAGS;
        let mut t = vec![0u8; l * l];
        for i in 0..l - 1 {
            t[i * l + i + 1] = 1;
        }
        t[(l - 1) * l] = 1;
        t[(l - 1) * l + 1] = 1;
        (t, vec![1; l], vec![1; l])
    };
    let tag_sets: [(String, Option<Masks>); 3] = [
        ("B M E S".into(), None),
        ((0..MAX_CHAR_TAGS).map(|i| format!("T{i}")).collect::<Vec<_>>().join(" "), Some(wielandt16)),
        ("B I O".into(), None),
    ];
    for (names, custom) in tag_sets {
        let l = names.split(' ').count();
        for (weight_type, shift, lo, hi) in
            [(WeightType::I8, 8u8, -128i32, 127i32), (WeightType::I16, 0, -32768, 32767)]
        {
            for pattern in 0..4 {
                let pick = |rng: &mut Rng, entry: usize, tag: usize| -> i32 {
                    let up = match pattern {
                        0 => tag == 0,
                        1 => tag == l - 1,
                        2 => (entry + tag) % 2 == 0,
                        _ => rng.below(2) == 0,
                    };
                    if up {
                        hi
                    } else {
                        lo
                    }
                };
                let elements: Vec<i32> = (0..CODEBOOK_ENTRIES * l).map(|i| pick(&mut rng, i / l, i % l)).collect();
                let codebook: Vec<u8> = match weight_type {
                    WeightType::I8 => elements.iter().map(|&e| e as i8 as u8).collect(),
                    WeightType::I16 => elements.iter().flat_map(|&e| (e as i16).to_le_bytes()).collect(),
                };
                let extreme = |rng: &mut Rng| if rng.below(2) == 0 { i16::MAX } else { i16::MIN };
                let spec = Spec {
                    names: names.clone(),
                    custom: custom.clone(),
                    normalization: 1,
                    templates: templates.clone(),
                    bucket_bits: 8,
                    weight_type,
                    weight_shift: shift,
                    weights: codebook,
                    transitions: (0..l * l).map(|_| extreme(&mut rng)).collect(),
                    start: (0..l).map(|_| extreme(&mut rng)).collect(),
                    end: (0..l).map(|_| extreme(&mut rng)).collect(),
                };
                let codes = random_codes(&mut rng, 1 << spec.bucket_bits);
                let bytes = spec.encode_codebook(&codes);
                let model = Model::from_bytes(&bytes).unwrap();
                let chars = random_chars(&mut rng, T);
                let (emissions, _) = reference_emissions(&spec, &codes, &chars);
                let (got, _) = model_emissions(&model, &chars);
                assert_eq!(got, emissions, "{names}, {weight_type:?}, pattern {pattern}");
                if pattern == 0 {
                    // Tag 0 of every entry at the maximum: exactly 32 * hi << shift = 32 * 2^15 - 32 * 2^shift.
                    assert!(got.chunks(l).all(|e| e[0] == 32 * (hi << shift)));
                    assert!(got.chunks(l).all(|e| e[1..].iter().all(|&s| s == 32 * (lo << shift))));
                    assert_eq!(32 * (lo << shift), -MAX_EMISSION);
                }
                let (score, tags) = label(&model, &chars);
                assert!(model.constraints().allows_sequence(&tags));
                // The returned score is the exact score of the returned path.
                let mut s = i64::from(spec.start[tags[0] as usize]) + i64::from(spec.end[tags[T - 1] as usize]);
                for (t, &y) in tags.iter().enumerate() {
                    s += i64::from(emissions[t * l + y as usize]);
                    if t > 0 {
                        s += i64::from(spec.transitions[tags[t - 1] as usize * l + y as usize]);
                    }
                }
                assert_eq!(score, s, "{names}, {weight_type:?}, pattern {pattern}");
                // Streaming with both windows, and the expanded table, on a shorter input.
                assert_same_as_expanded(&spec, &codes, &mut rng, 2000);
            }
        }
    }
}

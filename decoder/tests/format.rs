//! Freezes the model file format byte for byte, and checks every way loading can fail.

use decoder::internal::crc::crc32;
use decoder::internal::features::{template_hashes, Template};
use decoder::internal::format::{
    self, CodebookNgramSpec, CustomConstraints, EmissionSpec, HashedNgramSpec, LexiconNgramSpec, ModelBody, NgramTable,
    TransitionSpec, WeightType, CODEBOOK_ENTRIES, FORMAT_VERSION, OLDEST_FORMAT_VERSION,
};
use decoder::internal::lexicon::{word_hash, WordSet, WordSpan};
use decoder::internal::ModelInternals;
use decoder::TagScheme;
use decoder::{Model, ModelError, Tensor};

/// `tiny()` encoded. Computed independently (Python: struct + zlib.crc32); changing any byte of this is a
/// format change and needs a new `FORMAT_VERSION`. Version-1 bodies are still written as version 1, byte
/// for byte, by every later encoder.
#[rustfmt::skip]
const TINY: [u8; 95] = [
    // magic "CRFm", version 1 (varint)
    0x43, 0x52, 0x46, 0x6d, 0x01,
    // tag_names: len 7, "B M E S"
    0x07, 0x42, 0x20, 0x4d, 0x20, 0x45, 0x20, 0x53,
    // constraints: None; score_frac_bits: 8
    0x00, 0x08,
    // emission: HashedNgram (variant 0): normalization 1, templates (len 8: Bias, Char(0)), bucket_bits 1,
    // weight_type I8 (variant 0), weight_shift 4, weights (len 8, [2][4] i8)
    0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04,
    0x08, 0x01, 0x02, 0x03, 0x04, 0xff, 0xfe, 0xfd, 0xfc,
    // transitions: len 32, [4][4] i16 LE = -800, -700, ..., 700
    0x20, 0xe0, 0xfc, 0x44, 0xfd, 0xa8, 0xfd, 0x0c, 0xfe, 0x70, 0xfe, 0xd4, 0xfe, 0x38, 0xff, 0x9c, 0xff,
    0x00, 0x00, 0x64, 0x00, 0xc8, 0x00, 0x2c, 0x01, 0x90, 0x01, 0xf4, 0x01, 0x58, 0x02, 0xbc, 0x02,
    // start: len 8, [-1, 2, -3, 4]
    0x08, 0xff, 0xff, 0x02, 0x00, 0xfd, 0xff, 0x04, 0x00,
    // end: len 8, [32767, -32768, 5, -6]
    0x08, 0xff, 0x7f, 0x00, 0x80, 0x05, 0x00, 0xfa, 0xff,
    // metadata: len 1, "t"
    0x01, 0x74,
    // CRC-32 of everything above, little-endian
    0xb8, 0xd1, 0x05, 0x52,
];

/// `tiny_v2()` encoded, computed independently like [`TINY`]: these literal bytes, then the 1024-byte
/// codebook (the pattern `i as u8`, see [`tiny_v2_bytes`]), then [`TINY_V2_TAIL`].
#[rustfmt::skip]
const TINY_V2_HEAD: [u8; 36] = [
    // magic "CRFm", version 2 (varint)
    0x43, 0x52, 0x46, 0x6d, 0x02,
    // tag_names: len 7, "B M E S"
    0x07, 0x42, 0x20, 0x4d, 0x20, 0x45, 0x20, 0x53,
    // constraints: None; score_frac_bits: 8
    0x00, 0x08,
    // emission: CodebookNgram (variant 1): normalization 1, templates (len 8: Bias, Char(0)), rows 3 (varint
    // u32), hashes_per_feature 2, codes (len 3: 0, 1, 255), weight_type I8 (variant 0), weight_shift 4,
    0x01, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x02, 0x03, 0x00, 0x01, 0xff, 0x00,
    0x04,
    // codebook: len 1024 (varint 0x80 0x08), then [256][4] i8 (the pattern, not written here)
    0x80, 0x08,
];

/// Bytes of the codebook of `tiny_v2()`: `CODEBOOK_ENTRIES * 4 tags * 1 byte`.
const TINY_V2_CODEBOOK_LEN: usize = 1024;

/// The bytes after the codebook of `tiny_v2()`: the same transitions, start, end and metadata as [`TINY`],
/// then the CRC.
#[rustfmt::skip]
const TINY_V2_TAIL: [u8; 57] = [
    // transitions: len 32, [4][4] i16 LE = -800, -700, ..., 700
    0x20, 0xe0, 0xfc, 0x44, 0xfd, 0xa8, 0xfd, 0x0c, 0xfe, 0x70, 0xfe, 0xd4, 0xfe, 0x38, 0xff, 0x9c, 0xff,
    0x00, 0x00, 0x64, 0x00, 0xc8, 0x00, 0x2c, 0x01, 0x90, 0x01, 0xf4, 0x01, 0x58, 0x02, 0xbc, 0x02,
    // start: len 8, [-1, 2, -3, 4]
    0x08, 0xff, 0xff, 0x02, 0x00, 0xfd, 0xff, 0x04, 0x00,
    // end: len 8, [32767, -32768, 5, -6]
    0x08, 0xff, 0x7f, 0x00, 0x80, 0x05, 0x00, 0xfa, 0xff,
    // metadata: len 1, "t"
    0x01, 0x74,
    // CRC-32 of everything before it (head, codebook, tail), little-endian
    0x33, 0xbb, 0x7e, 0x6c,
];

/// The codebook of `tiny_v2()`: byte `i` is `i as u8` (entry `e` is the i8 row `[4e, 4e+1, 4e+2, 4e+3]`).
fn tiny_v2_codebook() -> Vec<u8> {
    (0..TINY_V2_CODEBOOK_LEN).map(|i| i as u8).collect()
}

/// `tiny_v2()` encoded: head, codebook pattern, tail.
fn tiny_v2_bytes() -> Vec<u8> {
    [&TINY_V2_HEAD[..], &tiny_v2_codebook(), &TINY_V2_TAIL].concat()
}

/// `tiny_v3()` encoded, computed independently like [`TINY`] (Python: struct, zlib.crc32 and the hashes of
/// FORMAT.md): [`TINY`]'s model with a third template, `Lexicon(Starting)`, and the word list 中文, 文字,
/// 中文字 (indexed in 2 buckets) in a version-3 `LexiconNgram` emission.
#[rustfmt::skip]
const TINY_V3: [u8; 127] = [
    // magic "CRFm", version 3 (varint)
    0x43, 0x52, 0x46, 0x6d, 0x03,
    // tag_names: len 7, "B M E S"; constraints: None; score_frac_bits: 8
    0x07, 0x42, 0x20, 0x4d, 0x20, 0x45, 0x20, 0x53, 0x00, 0x08,
    // emission: LexiconNgram (variant 2), its table NgramTable::Hashed (variant 0): normalization 1,
    // templates (len 12: Bias, Char(0), Lexicon(Starting) = [6, 0, 0, 0]), bucket_bits 1, weight_type I8,
    // weight_shift 4, weights (len 8)
    0x02, 0x00, 0x01, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04,
    0x08, 0x01, 0x02, 0x03, 0x04, 0xff, 0xfe, 0xfd, 0xfc,
    // words: len 12, three u32 LE hashes ascending: 0x070caae7, 0x6fca39f3, 0xf9c39d27
    0x0c, 0xe7, 0xaa, 0x0c, 0x07, 0xf3, 0x39, 0xca, 0x6f, 0x27, 0x9d, 0xc3, 0xf9,
    // index_bits 1; index: len 12, offsets [0, 2, 3] (two hashes below 0x8000_0000, one above)
    0x01, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    // transitions, start, end and metadata as in TINY
    0x20, 0xe0, 0xfc, 0x44, 0xfd, 0xa8, 0xfd, 0x0c, 0xfe, 0x70, 0xfe, 0xd4, 0xfe, 0x38, 0xff, 0x9c, 0xff,
    0x00, 0x00, 0x64, 0x00, 0xc8, 0x00, 0x2c, 0x01, 0x90, 0x01, 0xf4, 0x01, 0x58, 0x02, 0xbc, 0x02,
    0x08, 0xff, 0xff, 0x02, 0x00, 0xfd, 0xff, 0x04, 0x00,
    0x08, 0xff, 0x7f, 0x00, 0x80, 0x05, 0x00, 0xfa, 0xff,
    0x01, 0x74,
    // CRC-32
    0x83, 0x57, 0x53, 0xb6,
];

struct Owned {
    names: String,
    custom: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    normalization: u8,
    templates: Vec<u8>,
    bucket_bits: u8,
    weight_type: WeightType,
    weight_shift: u8,
    /// Direct table: `2^bucket_bits` rows of weights. With `codebook: Some((rows, codes))`, a codebook
    /// model: `bucket_bits` is unused and `weights` is the codebook.
    weights: Vec<u8>,
    codebook: Option<(u32, Vec<u8>)>,
    /// Rows per feature of a codebook model.
    hashes: u8,
    /// A lexicon model's word list (`[W]` u32 LE hashes), its index bits and index.
    words: Option<(Vec<u8>, u8, Vec<u8>)>,
    transitions: Vec<u8>,
    start: Vec<u8>,
    end: Vec<u8>,
}

fn tiny() -> Owned {
    Owned {
        names: "B M E S".into(),
        custom: None,
        normalization: 1,
        templates: [Template::Bias.encode(), Template::Char(0).encode()].concat(),
        bucket_bits: 1,
        weight_type: WeightType::I8,
        weight_shift: 4,
        weights: vec![1, 2, 3, 4, 0xff, 0xfe, 0xfd, 0xfc],
        codebook: None,
        hashes: 1,
        words: None,
        transitions: format::i16_bytes(&(0..16).map(|i| i * 100 - 800).collect::<Vec<i16>>()),
        start: format::i16_bytes(&[-1, 2, -3, 4]),
        end: format::i16_bytes(&[i16::MAX, i16::MIN, 5, -6]),
    }
}

/// A version-2 codebook model like `tiny()`: 3 rows with codes 0, 1, 255 into a `[256][4]` i8 codebook,
/// two rows per feature.
fn tiny_v2() -> Owned {
    Owned { weights: tiny_v2_codebook(), codebook: Some((3, vec![0, 1, 255])), hashes: 2, ..tiny() }
}

/// The hashes of the words, ascending, as a word list's bytes, with an index of `2^bits` buckets.
fn word_list(words: &[&str], bits: u8) -> (Vec<u8>, u8, Vec<u8>) {
    let mut hashes: Vec<u32> = words.iter().map(|w| word_hash(w.chars().map(|c| c as u32))).collect();
    hashes.sort_unstable();
    (
        hashes.iter().flat_map(|h| h.to_le_bytes()).collect(),
        bits,
        decoder::internal::lexicon::index_bytes(&hashes, bits),
    )
}

/// A version-3 lexicon model: `tiny()` plus a `Lexicon(Starting)` template and the words 中文, 文字, 中文字.
fn tiny_v3() -> Owned {
    let mut templates = tiny().templates;
    templates.extend(Template::Lexicon(WordSpan::Starting).encode());
    Owned { templates, words: Some(word_list(&["中文", "文字", "中文字"], 1)), ..tiny() }
}

impl Owned {
    fn body(&self) -> ModelBody<'_> {
        ModelBody {
            tag_names: &self.names,
            constraints: self.custom.as_ref().map(|(t, s, e)| CustomConstraints {
                allowed_transitions: t,
                allowed_start: s,
                allowed_end: e,
            }),
            score_frac_bits: 8,
            emission: match (&self.codebook, &self.words) {
                (None, Some((words, index_bits, index))) => EmissionSpec::LexiconNgram(LexiconNgramSpec {
                    table: NgramTable::Hashed(HashedNgramSpec {
                        normalization: self.normalization,
                        templates: &self.templates,
                        bucket_bits: self.bucket_bits,
                        weight_type: self.weight_type,
                        weight_shift: self.weight_shift,
                        weights: &self.weights,
                    }),
                    words,
                    index_bits: *index_bits,
                    index,
                }),
                (None, None) => EmissionSpec::HashedNgram(HashedNgramSpec {
                    normalization: self.normalization,
                    templates: &self.templates,
                    bucket_bits: self.bucket_bits,
                    weight_type: self.weight_type,
                    weight_shift: self.weight_shift,
                    weights: &self.weights,
                }),
                (Some((rows, codes)), words) => {
                    let table = CodebookNgramSpec {
                        normalization: self.normalization,
                        templates: &self.templates,
                        rows: *rows,
                        hashes_per_feature: self.hashes,
                        codes,
                        weight_type: self.weight_type,
                        weight_shift: self.weight_shift,
                        codebook: &self.weights,
                    };
                    match words {
                        None => EmissionSpec::CodebookNgram(table),
                        Some((words, index_bits, index)) => EmissionSpec::LexiconNgram(LexiconNgramSpec {
                            table: NgramTable::Codebook(table),
                            words,
                            index_bits: *index_bits,
                            index,
                        }),
                    }
                }
            },
            transitions: TransitionSpec { transitions: &self.transitions, start: &self.start, end: &self.end },
            metadata: "t",
        }
    }

    fn encode(&self) -> Vec<u8> {
        format::encode(&self.body()).unwrap()
    }

    fn load_err(&self) -> ModelError {
        Model::from_bytes(&self.encode()).unwrap_err()
    }
}

/// Replaces the trailing CRC with the right one for the bytes before it.
fn fix_crc(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = crc32(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn encoding_is_frozen() {
    // This decoder reads versions 1 to 8; each file is written with the oldest version that can express
    // it, so a direct-table (version 1) model is still exactly the version-1 bytes.
    assert_eq!(FORMAT_VERSION, 8);
    assert_eq!(OLDEST_FORMAT_VERSION, 1);
    assert_eq!(tiny().body().version(), 1);
    assert_eq!(tiny().encode(), TINY);
}

#[test]
fn codebook_encoding_is_frozen() {
    let bytes = tiny_v2_bytes();
    assert_eq!(bytes.len(), 36 + 1024 + 57);
    assert_eq!(tiny_v2().body().version(), 2);
    assert_eq!(tiny_v2().encode(), bytes);
    // The body is everything but magic, version and CRC; the codebook sits where the head says.
    assert_eq!(&bytes[TINY_V2_HEAD.len()..][..TINY_V2_CODEBOOK_LEN], &tiny_v2_codebook()[..]);
}

#[test]
fn literal_bytes_decode() {
    let owned = tiny();
    assert_eq!(format::decode(&TINY).unwrap(), owned.body());
    let model = Model::from_bytes(&TINY).unwrap();
    assert_eq!(model.num_tags(), 4);
    assert_eq!(model.scheme(), TagScheme::Bmes);
    assert_eq!(model.tag_name(2), Some("E"));
    assert_eq!(model.transition(1, 2), 600 - 800);
    assert_eq!(model.start_score(2), -3);
    assert_eq!(model.end_score(0), 32767);
    assert_eq!(model.end_score(1), -32768);
    assert_eq!(model.ngram().unwrap().bucket_bits(), Some(1));
    assert_eq!(model.ngram().unwrap().rows(), 2);
    assert_eq!(model.ngram().unwrap().codes(), None);
    assert_eq!(model.ngram().unwrap().weight_bytes(), 8);
    assert_eq!(model.ngram().unwrap().weight_type(), WeightType::I8);
    assert_eq!(model.ngram().unwrap().templates(), &[Template::Bias, Template::Char(0)]);
    assert_eq!(model.score_frac_bits(), 8);
    assert_eq!(model.metadata(), "t");
    assert_eq!(model.primitive_exponent(), 2);
}

#[test]
fn literal_codebook_bytes_decode() {
    let bytes = tiny_v2_bytes();
    let owned = tiny_v2();
    assert_eq!(format::decode(&bytes).unwrap(), owned.body());
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.body(), &owned.body());
    assert_eq!(model.num_tags(), 4);
    assert_eq!(model.scheme(), TagScheme::Bmes);
    assert_eq!(model.transition(3, 3), 700);
    assert_eq!(model.end_score(1), -32768);
    let emission = model.ngram().unwrap();
    assert_eq!(emission.rows(), 3);
    assert_eq!(emission.codes(), Some(&[0u8, 1, 255][..]));
    assert_eq!(emission.bucket_bits(), None);
    assert_eq!(emission.templates(), &[Template::Bias, Template::Char(0)]);
    assert_eq!(emission.weight_type(), WeightType::I8);
    // The codes and the codebook.
    assert_eq!(emission.weight_bytes(), 3 + CODEBOOK_ENTRIES * 4);
    assert_eq!(model.num_tags(), 4);
    assert_eq!(emission.lookahead(), 0);
    assert_eq!(model.metadata(), "t");
}

/// The scores of `tiny_v2()`, computed independently (Python: the hash of FORMAT.md, `row = (hash * 3) >>
/// 32`, the codebook pattern): Bias hashes to 0x9bb31115, row 1, code 1 = [4, 5, 6, 7]; Char(0) of 'g', '中',
/// 'a' hashes to rows 0, 1, 2, codes 0, 1, 255 = [0, 1, 2, 3], [4, 5, 6, 7], [-4, -3, -2, -1]; sums << 4.
#[test]
fn codebook_scores_are_frozen() {
    let bytes = tiny_v2_bytes();
    let model = Model::from_bytes(&bytes).unwrap();
    // Two rows per feature: the hash's and the rotated hash's (computed in Python).
    for (ch, rows, expected) in [
        ('g', [1, 0, 0, 0], [64, 128, 192, 256]),
        ('中', [1, 0, 1, 1], [192, 256, 320, 384]),
        ('a', [1, 0, 2, 1], [64, 128, 192, 256]),
    ] {
        let mut visited = Vec::new();
        model.table_rows(&[ch], 0, |template, row| visited.push((template, row)));
        assert_eq!(visited, [(0, rows[0]), (0, rows[1]), (1, rows[2]), (1, rows[3])], "{ch}");
        let mut out = [i32::MIN; decoder::MAX_CHAR_TAGS];
        model.emission_scores(&[ch], 0, &mut out);
        assert_eq!(out[..4], expected, "{ch}");
        // Entries at and above L are left alone.
        assert!(out[4..].iter().all(|&s| s == i32::MIN));
    }
}

#[test]
fn lexicon_encoding_is_frozen() {
    assert_eq!(tiny_v3().body().version(), 3);
    assert_eq!(tiny_v3().encode(), TINY_V3);
    assert_eq!(format::decode(&TINY_V3).unwrap(), tiny_v3().body());
}

/// Scores of `tiny_v3()`, computed independently (Python): Bias reads row 1; Char(0) of 中 and 文 rows 1,
/// of 字 row 0; the longest listed word starting at 中 in 中文字 is 中文字 (3, row 0), at 文 it is 文字
/// (2, row 1), at 字 none (0, row 0). Rows are [1, 2, 3, 4] and [-1, -2, -3, -4], summed and << 4.
#[test]
fn lexicon_scores_are_frozen() {
    let model = Model::from_bytes(&TINY_V3).unwrap();
    let emission = model.ngram().unwrap();
    assert_eq!(emission.lexicon().len(), 3);
    assert_eq!(model.word_count(), 3);
    assert!(emission.lexicon().contains(word_hash("文字".chars().map(|c| c as u32))));
    assert!(!emission.lexicon().contains(word_hash("中".chars().map(|c| c as u32))));
    assert_eq!(emission.templates()[2], Template::Lexicon(WordSpan::Starting));
    assert_eq!(emission.lookahead(), 4);
    let chars: Vec<char> = "中文字".chars().collect();
    for (position, rows, expected) in
        [(0, [1, 1, 0], [-16, -32, -48, -64]), (1, [1, 1, 1], [-48, -96, -144, -192]), (2, [1, 0, 0], [16, 32, 48, 64])]
    {
        // Positions are scored with the model's own word list.
        let mut visited = Vec::new();
        model.table_rows(&chars, position, |template, row| visited.push((template, row)));
        assert_eq!(visited, [(0, rows[0]), (1, rows[1]), (2, rows[2])], "position {position}");
        let mut out = [0i32; decoder::MAX_CHAR_TAGS];
        model.emission_scores(&chars, position, &mut out);
        assert_eq!(out[..4], expected, "position {position}");
    }
}

/// `tiny_v3()` with a fourth template, `LexiconChar(Covering, 0)` = `[7, 3, 0, 0]`, a version-4 file. Computed independently
/// (Python, the hashes of FORMAT.md): the longest listed word containing 中, 文 and 字 is 中文字, so the
/// values are 8 * 3 + 0, 1, 2; mixed with the character, the template's hashes are 0x9a44a334, 0xd210b5cb
/// and 0x5539cefe, rows 1, 1 and 0.
#[test]
fn covering_word_scores_are_frozen() {
    let mut m = tiny_v3();
    let template = Template::LexiconChar(WordSpan::Covering, 0);
    assert_eq!(template.encode(), [7, 3, 0, 0]);
    m.templates.extend(template.encode());
    let bytes = m.encode();
    // Version 4: the oldest that has the template. The bytes are version 3's but for the version, the
    // template and the CRC.
    assert_eq!(bytes[4], 4);
    assert_eq!(bytes.len(), TINY_V3.len() + 4);
    assert_eq!(bytes[..4], TINY_V3[..4]);
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.format_version(), 4);
    let emission = model.ngram().unwrap();
    assert_eq!(emission.templates()[3], template);
    // Labelled version 3, the same body is refused: version 3 has no such template.
    let mut as_v3 = bytes.clone();
    as_v3[4] = 3;
    fix_crc(&mut as_v3);
    assert_eq!(Model::from_bytes(&as_v3).unwrap_err(), ModelError::Malformed);
    // So is a covering span in a kind-6 template.
    let mut m = tiny_v3();
    m.templates.extend(Template::Lexicon(WordSpan::Covering).encode());
    assert_eq!(m.encode()[4], 4);
    let mut as_v3 = m.encode();
    as_v3[4] = 3;
    fix_crc(&mut as_v3);
    assert_eq!(Model::from_bytes(&as_v3).unwrap_err(), ModelError::Malformed);
    let chars: Vec<char> = "中文字".chars().collect();
    for (position, hash, rows, expected) in [
        (0, 0x9a44_a334, [1, 1, 0, 1], [-32, -64, -96, -128]),
        (1, 0xd210_b5cb, [1, 1, 1, 1], [-64, -128, -192, -256]),
        (2, 0x5539_cefe, [1, 0, 0, 0], [32, 64, 96, 128]),
    ] {
        let mut hashes = Vec::new();
        template_hashes(emission.templates(), &chars, position, emission.lexicon(), |h| hashes.push(h));
        assert_eq!(hashes[3], hash, "position {position}");
        let mut visited = Vec::new();
        model.table_rows(&chars, position, |template, row| visited.push((template, row)));
        assert_eq!(visited, [(0, rows[0]), (1, rows[1]), (2, rows[2]), (3, rows[3])], "position {position}");
        let mut out = [0i32; decoder::MAX_CHAR_TAGS];
        model.emission_scores(&chars, position, &mut out);
        assert_eq!(out[..4], expected, "position {position}");
    }
    // Without a word list the template is refused, like every lexicon template.
    let mut m = tiny();
    m.templates.extend(template.encode());
    assert_eq!(m.load_err(), ModelError::BadTemplate { index: 2 });
}

#[test]
fn lexicon_templates_need_a_word_list_and_the_list_must_be_sorted() {
    // A lexicon template in a model without a word list (version 1 or 2) is a bad template.
    let mut m = tiny();
    m.templates.extend(Template::Lexicon(WordSpan::Ending).encode());
    assert_eq!(m.load_err(), ModelError::BadTemplate { index: 2 });
    let mut m = tiny_v2();
    m.templates.extend(Template::Lexicon(WordSpan::Inside).encode());
    assert_eq!(m.load_err(), ModelError::BadTemplate { index: 2 });
    // Word lists: a partial hash, hashes out of order or repeated, an index that does not match.
    let mut m = tiny_v3();
    let (sorted, bits, index) = word_list(&["中文", "文字"], 0);
    m.words = Some((vec![1, 2, 3], 0, index.clone()));
    assert_eq!(m.load_err(), ModelError::BadWordList);
    m.words = Some(([&sorted[4..], &sorted[..4]].concat(), bits, index.clone()));
    assert_eq!(m.load_err(), ModelError::BadWordList);
    m.words = Some(([&sorted[..4], &sorted[..4]].concat(), bits, index.clone()));
    assert_eq!(m.load_err(), ModelError::BadWordList);
    m.words = Some((sorted.clone(), 1, index.clone()));
    assert_eq!(m.load_err(), ModelError::BadWordList);
    m.words = Some((sorted.clone(), 0, index));
    assert!(Model::from_bytes(&m.encode()).is_ok());
    // An empty list is a list: the templates read length 0 everywhere.
    m.words = Some(word_list(&[], 0));
    assert!(Model::from_bytes(&m.encode()).is_ok());
    // A codebook table with a word list.
    let mut m = tiny_v2();
    m.templates.extend(Template::Lexicon(WordSpan::Inside).encode());
    m.words = Some(word_list(&["中文"], 2));
    let bytes = m.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!((model.format_version(), model.ngram().unwrap().lexicon().len()), (3, 1));
    assert_eq!(model.ngram().unwrap().codes(), Some(&[0u8, 1, 255][..]));
    // A version-2 file cannot hold a lexicon model.
    let mut bytes = TINY_V3.to_vec();
    bytes[4] = 2;
    fix_crc(&mut bytes);
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::Malformed);
}

#[test]
fn version_two_reads_a_direct_table() {
    // Never written (the encoder picks version 1 for it), but a version-2 file may hold variant 0.
    let mut bytes = TINY.to_vec();
    bytes[4] = 2;
    fix_crc(&mut bytes);
    assert_eq!(format::decode(&bytes).unwrap(), tiny().body());
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.ngram().unwrap().bucket_bits(), Some(1));
}

#[test]
fn version_one_cannot_hold_a_codebook() {
    let mut bytes = tiny_v2_bytes();
    bytes[4] = 1;
    fix_crc(&mut bytes);
    // Independently computed CRC of the edited file (Python: zlib.crc32).
    assert_eq!(bytes[bytes.len() - 4..], 0x8e92_a9e7u32.to_le_bytes());
    assert_eq!(format::decode(&bytes).unwrap_err(), ModelError::Malformed);
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::Malformed);
    // Decoded after the body's structure: trailing bytes are reported first.
    let mut bytes = bytes[..bytes.len() - 4].to_vec();
    bytes.extend_from_slice(&[0xAA, 0, 0, 0, 0]);
    fix_crc(&mut bytes);
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::TrailingBytes { count: 1 });
}

#[test]
fn too_short() {
    assert_eq!(Model::from_bytes(b"CRFm").unwrap_err(), ModelError::TooShort { len: 4 });
    assert_eq!(Model::from_bytes(&[]).unwrap_err(), ModelError::TooShort { len: 0 });
}

#[test]
fn bad_magic() {
    let mut bytes = TINY.to_vec();
    bytes[0] = b'X';
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::BadMagic { found: *b"XRFm" });
}

#[test]
fn unsupported_version() {
    for (mut bytes, version) in
        [(TINY.to_vec(), 9u8), (tiny_v2_bytes(), 9), (TINY_V3.to_vec(), 9), (TINY.to_vec(), 0), (TINY.to_vec(), 127)]
    {
        bytes[4] = version;
        // Checked before the checksum: a newer file is reported as such, not as corrupt.
        assert_eq!(
            Model::from_bytes(&bytes).unwrap_err(),
            ModelError::UnsupportedVersion { found: version.into(), supported: FORMAT_VERSION }
        );
    }
    // A two-byte varint version (300 = 0xac 0x02): also reported, not misread.
    let mut bytes = TINY[..4].to_vec();
    bytes.extend_from_slice(&[0xac, 0x02]);
    bytes.extend_from_slice(&TINY[5..]);
    assert_eq!(
        Model::from_bytes(&bytes).unwrap_err(),
        ModelError::UnsupportedVersion { found: 300, supported: FORMAT_VERSION }
    );
}

#[test]
fn bad_checksum() {
    let mut bytes = TINY.to_vec();
    bytes[30] ^= 1;
    assert!(matches!(Model::from_bytes(&bytes).unwrap_err(), ModelError::BadChecksum { stored: 0x5205_d1b8, .. }));
    // In the codebook, which the decoder never reads at load: the CRC still covers it.
    let mut bytes = tiny_v2_bytes();
    bytes[TINY_V2_HEAD.len() + 700] ^= 0x80;
    assert!(matches!(Model::from_bytes(&bytes).unwrap_err(), ModelError::BadChecksum { stored: 0x6c7e_bb33, .. }));
}

#[test]
fn truncated_is_malformed() {
    let v2 = tiny_v2_bytes();
    for full in [&TINY[..], &v2] {
        for cut in 6..full.len() - 4 {
            let mut bytes = full[..cut].to_vec();
            bytes.extend_from_slice(&[0; 4]);
            fix_crc(&mut bytes);
            let err = Model::from_bytes(&bytes).unwrap_err();
            assert!(matches!(err, ModelError::Malformed | ModelError::TooShort { .. }), "cut {cut}: {err:?}");
        }
    }
}

#[test]
fn trailing_bytes() {
    let mut bytes = TINY[..TINY.len() - 4].to_vec();
    bytes.extend_from_slice(&[0xAA, 0xBB, 0, 0, 0, 0]);
    fix_crc(&mut bytes);
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::TrailingBytes { count: 2 });
    let v2 = tiny_v2_bytes();
    let mut bytes = v2[..v2.len() - 4].to_vec();
    bytes.extend_from_slice(&[0xAA, 0, 0, 0, 0]);
    fix_crc(&mut bytes);
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::TrailingBytes { count: 1 });
}

#[test]
fn bad_tag_count() {
    let mut m = tiny();
    m.names = String::new();
    assert_eq!(m.load_err(), ModelError::BadTagCount { count: 0 });
    m.names = (0..17).map(|i| format!("T{i}")).collect::<Vec<_>>().join(" ");
    assert_eq!(m.load_err(), ModelError::BadTagCount { count: 17 });
}

#[test]
fn bad_tag_name() {
    for names in ["B M E E", "B  M E", "B M E\tS", "B M E S "] {
        let mut m = tiny();
        m.names = names.into();
        assert_eq!(m.load_err(), ModelError::BadTagName, "{names:?}");
    }
}

#[test]
fn tensor_sizes() {
    let mut m = tiny();
    m.transitions.pop();
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::Transitions, expected: 32, found: 31 });
    let mut m = tiny();
    m.start.push(0);
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::Start, expected: 8, found: 9 });
    let mut m = tiny();
    m.end.clear();
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::End, expected: 8, found: 0 });
    let mut m = tiny();
    m.weights.push(0);
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 8, found: 9 });
    let mut m = tiny();
    m.weight_type = WeightType::I16;
    m.weight_shift = 0;
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 16, found: 8 });
    let mut m = tiny();
    m.custom = Some((vec![1; 15], vec![1; 4], vec![1; 4]));
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::AllowedTransitions, expected: 16, found: 15 });
    m.custom = Some((vec![1; 16], vec![1; 3], vec![1; 4]));
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::AllowedStart, expected: 4, found: 3 });
    m.custom = Some((vec![1; 16], vec![1; 4], vec![1; 5]));
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::AllowedEnd, expected: 4, found: 5 });
}

#[test]
fn bad_constraint() {
    let mut m = tiny();
    m.custom = Some((vec![1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], vec![1; 4], vec![1; 4]));
    assert_eq!(m.load_err(), ModelError::BadConstraint);
}

#[test]
fn unusable_constraints() {
    let mut m = tiny();
    m.custom = Some((vec![1; 16], vec![0; 4], vec![1; 4]));
    assert_eq!(m.load_err(), ModelError::UnusableConstraints);
    m.custom = Some((vec![1; 16], vec![1; 4], vec![0; 4]));
    assert_eq!(m.load_err(), ModelError::UnusableConstraints);
    // Primitive, but no sequence of length 1 or 2: only tag 0 starts, only tag 3 ends, and 0 -> 1 -> 2 -> 3.
    let mut t = vec![0u8; 16];
    for (from, to) in [(0, 1), (1, 2), (2, 3), (3, 0), (3, 1), (2, 0)] {
        t[from * 4 + to] = 1;
    }
    m.custom = Some((t, vec![1, 0, 0, 0], vec![0, 0, 0, 1]));
    assert_eq!(m.load_err(), ModelError::UnusableConstraints);
}

#[test]
fn transition_graph_not_primitive() {
    let mut m = tiny();
    // 0 <-> 1 only: periodic.
    m.names = "X Y".into();
    m.transitions.truncate(8);
    m.start.truncate(4);
    m.end.truncate(4);
    m.weights.truncate(4);
    m.custom = Some((vec![0, 1, 1, 0], vec![1, 1], vec![1, 1]));
    assert_eq!(m.load_err(), ModelError::TransitionGraphNotPrimitive);
    // Derived names that leave a tag unreachable (I-LOC without B-LOC) are not strongly connected.
    let mut m = tiny();
    m.names = "B-PER I-PER I-LOC O".into();
    assert_eq!(m.load_err(), ModelError::TransitionGraphNotPrimitive);
}

#[test]
fn bad_template_count() {
    let mut m = tiny();
    m.templates.clear();
    assert_eq!(m.load_err(), ModelError::BadTemplateCount { count: 0 });
    m.templates = Template::Bias.encode().repeat(33);
    assert_eq!(m.load_err(), ModelError::BadTemplateCount { count: 33 });
    m.templates = vec![1, 0, 0, 0, 1];
    assert_eq!(m.load_err(), ModelError::BadTemplateCount { count: 1 });
}

#[test]
fn bad_template() {
    for (bad, index) in [([9u8, 0, 0, 0], 1), ([2, 5, 0, 0], 1), ([5, 1, 0xFF, 0], 1), ([1, 0, 0, 1], 1)] {
        let mut m = tiny();
        m.templates.extend_from_slice(&bad);
        assert_eq!(m.load_err(), ModelError::BadTemplate { index: index + 1 }, "{bad:?}");
    }
}

#[test]
fn bad_bucket_bits() {
    let mut m = tiny();
    m.bucket_bits = 0;
    assert_eq!(m.load_err(), ModelError::BadBucketBits { bits: 0 });
    m.bucket_bits = 25;
    assert_eq!(m.load_err(), ModelError::BadBucketBits { bits: 25 });
}

#[test]
fn bad_weight_shift() {
    let mut m = tiny();
    m.weight_shift = 9;
    assert_eq!(m.load_err(), ModelError::BadWeightShift { shift: 9 });
    m.weight_type = WeightType::I16;
    m.weight_shift = 1;
    assert_eq!(m.load_err(), ModelError::BadWeightShift { shift: 1 });
}

#[test]
fn unknown_normalization() {
    let mut m = tiny();
    m.normalization = 4;
    assert_eq!(m.load_err(), ModelError::UnknownNormalization { flags: 4 });
}

#[test]
fn bad_row_count() {
    let mut m = tiny_v2();
    m.codebook = Some((0, vec![]));
    assert_eq!(m.load_err(), ModelError::BadRowCount { rows: 0 });
    // Checked before the codes' length.
    m.codebook = Some((0, vec![0; 3]));
    assert_eq!(m.load_err(), ModelError::BadRowCount { rows: 0 });
    m.codebook = Some(((1 << 24) + 1, vec![0; 3]));
    assert_eq!(m.load_err(), ModelError::BadRowCount { rows: (1 << 24) + 1 });
    m.codebook = Some((u32::MAX, vec![0; 3]));
    assert_eq!(m.load_err(), ModelError::BadRowCount { rows: u32::MAX });
}

#[test]
fn row_count_limits_load() {
    // One row: every feature reads it.
    let mut m = tiny_v2();
    m.codebook = Some((1, vec![255]));
    let bytes = m.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.ngram().unwrap().rows(), 1);
    let mut out = [0; decoder::MAX_CHAR_TAGS];
    model.emission_scores(&['x'], 0, &mut out);
    // Two templates, two rows per feature: entry 255 (`[-4, -3, -2, -1]`) four times, shifted by 4.
    assert_eq!(out[..4], [-256, -192, -128, -64]);
    // The largest table, 2^24 rows; the last row is reachable.
    let mut codes = vec![0u8; 1 << 24];
    codes[(1 << 24) - 1] = 255;
    m.codebook = Some((1 << 24, codes));
    let bytes = m.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.ngram().unwrap().rows(), 1 << 24);
    assert_eq!(model.ngram().unwrap().codes().map(<[u8]>::len), Some(1 << 24));
    assert_eq!(model.ngram().unwrap().weight_bytes(), (1 << 24) + 1024);
    assert_eq!(decoder::internal::features::row(u32::MAX, 1 << 24), (1 << 24) - 1);
}

#[test]
fn codebook_tensor_sizes() {
    let mut m = tiny_v2();
    m.codebook = Some((3, vec![0, 1]));
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::Codes, expected: 3, found: 2 });
    m.codebook = Some((3, vec![0, 1, 2, 3]));
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::Codes, expected: 3, found: 4 });
    m.codebook = Some((1000, vec![0; 999]));
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::Codes, expected: 1000, found: 999 });
    let mut m = tiny_v2();
    m.weights.pop();
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 1024, found: 1023 });
    m.weights.extend([0, 0]);
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 1024, found: 1025 });
    // The codebook has 256 entries whatever the row count.
    let mut m = tiny_v2();
    m.weights.truncate(3 * 4);
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 1024, found: 12 });
    let mut m = tiny_v2();
    m.weight_type = WeightType::I16;
    m.weight_shift = 0;
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 2048, found: 1024 });
    m.weights = vec![0; 2048];
    assert!(Model::from_bytes(&m.encode()).is_ok());
    // Its shape follows the tag count.
    let mut m = tiny_v2();
    m.names = "X Y".into();
    m.custom = Some((vec![1; 4], vec![1; 2], vec![1; 2]));
    m.transitions.truncate(8);
    m.start.truncate(4);
    m.end.truncate(4);
    assert_eq!(m.load_err(), ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 512, found: 1024 });
    m.weights.truncate(512);
    assert!(Model::from_bytes(&m.encode()).is_ok());
}

#[test]
fn codebook_bad_weight_shift() {
    let mut m = tiny_v2();
    m.weight_shift = 8;
    assert!(Model::from_bytes(&m.encode()).is_ok());
    m.weight_shift = 9;
    assert_eq!(m.load_err(), ModelError::BadWeightShift { shift: 9 });
    m.weight_type = WeightType::I16;
    m.weights = vec![0; 2048];
    m.weight_shift = 1;
    assert_eq!(m.load_err(), ModelError::BadWeightShift { shift: 1 });
}

#[test]
fn codebook_templates_and_normalization() {
    let mut m = tiny_v2();
    m.normalization = 4;
    assert_eq!(m.load_err(), ModelError::UnknownNormalization { flags: 4 });
    let mut m = tiny_v2();
    m.templates.clear();
    assert_eq!(m.load_err(), ModelError::BadTemplateCount { count: 0 });
    m.templates = Template::Bias.encode().repeat(33);
    assert_eq!(m.load_err(), ModelError::BadTemplateCount { count: 33 });
    // Templates times rows per feature may not exceed MAX_TEMPLATES (the score bound and the lanes).
    m.templates = Template::Bias.encode().repeat(32);
    assert_eq!(m.load_err(), ModelError::BadHashCount { hashes: 2 });
    m.templates = Template::Bias.encode().repeat(16);
    assert!(Model::from_bytes(&m.encode()).is_ok());
    m.templates = Template::Bias.encode().repeat(32);
    m.hashes = 1;
    assert!(Model::from_bytes(&m.encode()).is_ok());
    for hashes in [0, 3, 255] {
        m.hashes = hashes;
        assert_eq!(m.load_err(), ModelError::BadHashCount { hashes });
    }
    let mut m = tiny_v2();
    m.templates.extend_from_slice(&[2, 5, 0, 0]);
    assert_eq!(m.load_err(), ModelError::BadTemplate { index: 2 });
}

/// Every emission check fails at once; fixing them one by one reports them in the documented order.
#[test]
fn emission_validation_order() {
    // Codebook: normalisation, template count, templates, rows, weight shift, codes, codebook.
    let mut m = tiny_v2();
    m.normalization = 0x80;
    m.templates = vec![1, 0, 0, 0, 9, 0, 0, 0, 7];
    m.codebook = Some((0, vec![0; 5]));
    m.weight_shift = 9;
    m.weights.truncate(7);
    let seen = errors_fixing_in_turn(
        &mut m,
        &[
            &|m| m.normalization = 1,
            &|m| m.templates.truncate(8),
            &|m| m.templates[4] = 2,
            &|m| m.codebook = Some((3, vec![0; 5])),
            &|m| m.weight_shift = 4,
            &|m| m.codebook = Some((3, vec![0; 3])),
            &|m| m.weights = vec![0; 1024],
        ],
    );
    assert_eq!(
        seen,
        [
            ModelError::UnknownNormalization { flags: 0x80 },
            ModelError::BadTemplateCount { count: 2 },
            ModelError::BadTemplate { index: 1 },
            ModelError::BadRowCount { rows: 0 },
            ModelError::BadWeightShift { shift: 9 },
            ModelError::TensorSize { tensor: Tensor::Codes, expected: 3, found: 5 },
            ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 1024, found: 7 },
        ]
    );
    // Direct table: normalisation, templates, bucket bits, weight shift, weights.
    let mut m = tiny();
    m.normalization = 0x80;
    m.templates = vec![9, 0, 0, 0];
    m.bucket_bits = 25;
    m.weight_shift = 9;
    m.weights.pop();
    let seen = errors_fixing_in_turn(
        &mut m,
        &[
            &|m| m.normalization = 1,
            &|m| m.templates = Template::Bias.encode().to_vec(),
            &|m| m.bucket_bits = 1,
            &|m| m.weight_shift = 4,
            &|m| m.weights.push(0),
        ],
    );
    assert_eq!(
        seen,
        [
            ModelError::UnknownNormalization { flags: 0x80 },
            ModelError::BadTemplate { index: 0 },
            ModelError::BadBucketBits { bits: 25 },
            ModelError::BadWeightShift { shift: 9 },
            ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 8, found: 7 },
        ]
    );
}

/// The load error of `m` before each fix is applied in turn; after the last fix `m` must load.
fn errors_fixing_in_turn(m: &mut Owned, fixes: &[&dyn Fn(&mut Owned)]) -> Vec<ModelError> {
    let mut seen = Vec::new();
    for fix in fixes {
        seen.push(m.load_err());
        fix(m);
    }
    assert!(Model::from_bytes(&m.encode()).is_ok());
    seen
}

#[test]
fn errors_display() {
    let e = ModelError::BadChecksum { stored: 1, computed: 2 };
    assert!(e.to_string().contains("corrupt"));
    assert!(ModelError::UnusableConstraints.to_string().contains("sequence length"));
    let version = ModelError::UnsupportedVersion { found: 3, supported: 2 }.to_string();
    assert!(version.contains("version 3") && version.contains("1..=2"), "{version}");
    let rows = ModelError::BadRowCount { rows: 16_777_217 }.to_string();
    assert!(rows.contains("16777217 rows") && rows.contains("1..=2^24"), "{rows}");
    let codes = ModelError::TensorSize { tensor: Tensor::Codes, expected: 3, found: 2 }.to_string();
    assert!(codes.contains("Codes") && codes.contains("expected 3"), "{codes}");

    // Every variant (and every tensor) displays its own text. `ModelError` is `#[non_exhaustive]`, so a new
    // variant must be added here by hand.
    let tensors = [
        Tensor::EmissionWeights,
        Tensor::Codes,
        Tensor::Transitions,
        Tensor::Start,
        Tensor::End,
        Tensor::AllowedTransitions,
        Tensor::AllowedStart,
        Tensor::AllowedEnd,
    ];
    let mut all = vec![
        ModelError::TooShort { len: 3 },
        ModelError::BadMagic { found: *b"XRFm" },
        ModelError::UnsupportedVersion { found: 3, supported: 2 },
        ModelError::BadChecksum { stored: 1, computed: 2 },
        ModelError::Malformed,
        ModelError::TrailingBytes { count: 2 },
        ModelError::BadTagCount { count: 17 },
        ModelError::BadTagName,
        ModelError::BadConstraint,
        ModelError::UnusableConstraints,
        ModelError::TransitionGraphNotPrimitive,
        ModelError::BadTemplateCount { count: 33 },
        ModelError::BadTemplate { index: 1 },
        ModelError::BadBucketBits { bits: 25 },
        ModelError::BadRowCount { rows: 0 },
        ModelError::BadWeightShift { shift: 9 },
        ModelError::UnknownNormalization { flags: 4 },
    ];
    all.extend(tensors.map(|tensor| ModelError::TensorSize { tensor, expected: 3, found: 2 }));
    let texts: Vec<String> = all.iter().map(ToString::to_string).collect();
    for (i, t) in texts.iter().enumerate() {
        assert!(!t.is_empty() && !t.ends_with('.'), "{:?}: {t:?}", all[i]);
        assert!(texts[..i].iter().all(|other| other != t), "{:?} repeats {t:?}", all[i]);
    }
}

/// A token-level (version 6) file is the version-1 body of `tiny()` followed by the template section,
/// `columns` (one byte) and the template text (varint length, UTF-8), before the CRC.
#[test]
fn token_section_encoding_is_frozen() {
    use decoder::internal::format::{decode_with_tokens, encode_with_tokens, TokenSpec};
    use decoder::internal::lattice::{backpointer_bytes, label_tokens};
    let owned = tiny();
    let section = TokenSpec { columns: 2, templates: "U0:%x[0,0]\nU1:%x[-1,1]" };
    let bytes = encode_with_tokens(&owned.body(), Some(&section)).unwrap();
    let mut expected = TINY[..4].to_vec();
    expected.push(0x06); // version 6
    expected.extend_from_slice(&TINY[5..TINY.len() - 4]); // the body, unchanged
    expected.extend_from_slice(&[0x02, 0x16]); // columns 2, templates: len 22
    expected.extend_from_slice(b"U0:%x[0,0]\nU1:%x[-1,1]");
    expected.extend_from_slice(&crc32(&expected).to_le_bytes());
    assert_eq!(bytes, expected);
    // Without a section, the same body is still written as version 1.
    assert_eq!(encode_with_tokens(&owned.body(), None).unwrap(), TINY);

    let (body, tokens) = decode_with_tokens(&bytes).unwrap();
    assert_eq!((body, tokens), (owned.body(), Some(section)));
    let model = Model::from_bytes(&bytes).unwrap();
    assert!(model.is_token_level());
    assert_eq!(model.format_version(), 6);
    assert!(!Model::from_bytes(&TINY).unwrap().is_token_level());
    // Labelling runs on the token columns (one tag per token, allowed by the BMES masks).
    let sentence = [["a", "X"], ["b", "Y"], ["c", "Z"]];
    let mut back = vec![0u8; backpointer_bytes(4, 3)];
    let mut tags = [0u8; 3];
    label_tokens(&model, &sentence[..], &mut back, &mut tags).unwrap();
    assert!(decoder::internal::ModelInternals::constraints(&model).allows_sequence(&tags), "{tags:?}");

    // A bad template is refused with its line; a version-6 file without a section is malformed.
    let bad = TokenSpec { columns: 2, templates: "U0:%x[0,0]\nU1:%x[0,2]" };
    let bytes = encode_with_tokens(&owned.body(), Some(&bad)).unwrap();
    match Model::from_bytes(&bytes).unwrap_err() {
        ModelError::BadTokenTemplates(e) => assert_eq!((e.line, e.at), (1, 3)),
        other => panic!("{other:?}"),
    }
    let mut truncated = TINY.to_vec();
    truncated[4] = 6;
    fix_crc(&mut truncated);
    assert_eq!(Model::from_bytes(&truncated).unwrap_err(), ModelError::Malformed);
}

#[test]
fn mention_section_encoding_is_frozen() {
    use decoder::internal::format::{decode_sections, encode_token_model, TokenSpec};
    use decoder::{Answer, LineError, TokenLabeler};
    let owned = tiny();
    // Four input columns: the word, then the three a mention list gives.
    let section = TokenSpec { columns: 4, templates: "U0:%x[0,0]\nU1:%x[0,3]" };
    let list = "PER\ta b\nLOC\tc";
    let bytes = encode_token_model(&owned.body(), Some(&section), Some(list)).unwrap();
    let mut expected = TINY[..4].to_vec();
    expected.push(0x08); // version 8
    expected.extend_from_slice(&TINY[5..TINY.len() - 4]); // the body, unchanged
    expected.extend_from_slice(&[0x04, 0x15]); // columns 4, templates: len 21
    expected.extend_from_slice(b"U0:%x[0,0]\nU1:%x[0,3]");
    expected.push(0x0d); // the list: len 13
    expected.extend_from_slice(b"PER\ta b\nLOC\tc");
    expected.extend_from_slice(&crc32(&expected).to_le_bytes());
    assert_eq!(bytes, expected);
    // Without a list the same model is version 6, byte for byte what `encode_with_tokens` writes.
    let v6 = encode_token_model(&owned.body(), Some(&section), None).unwrap();
    assert_eq!(v6, format::encode_with_tokens(&owned.body(), Some(&section)).unwrap());
    assert_eq!(v6[4], 6);
    assert_eq!(Model::from_bytes(&v6).unwrap().mention_list(), None);
    // A list without a token section is not written.
    assert_eq!(encode_token_model(&owned.body(), None, Some(list)).unwrap(), TINY);

    let sections = decode_sections(&bytes).unwrap();
    assert_eq!((sections.tokens, sections.mentions), (Some(section), Some(list)));
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!((model.format_version(), model.mention_list()), (8, Some(list)));
    // The empty list is a list.
    let empty = encode_token_model(&owned.body(), Some(&section), Some("")).unwrap();
    assert_eq!(Model::from_bytes(&empty).unwrap().mention_list(), Some(""));

    // A device does not compute the mention columns: a line without them is refused, not labelled.
    let mut labeler = TokenLabeler::<64, 4>::new(&model);
    assert_eq!(labeler.columns(), 4);
    let mut answers = Vec::new();
    let mut keep = |answer: Answer<'_>| answers.push(matches!(answer, Answer::Error(LineError::Columns)));
    labeler.push(b"a\na 2 0 B-PER\n", &mut keep);
    labeler.finish(&mut keep);
    assert_eq!(answers, [true, false]);

    // Bad lines are refused with their number, a list for too few columns with line 0.
    for (list, line) in [("PER\ta b\nLOC c", 2), ("PER\ta  b", 1), ("PER\ta b\n", 2)] {
        let bytes = encode_token_model(&owned.body(), Some(&section), Some(list)).unwrap();
        assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::BadMentionList { line }, "{list:?}");
    }
    let narrow = TokenSpec { columns: 3, templates: "U0:%x[0,0]" };
    let bytes = encode_token_model(&owned.body(), Some(&narrow), Some(list)).unwrap();
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::BadMentionList { line: 0 });

    // Truncated or corrupt sections: a version-8 file without its list, or with a list cut short or not
    // UTF-8, is malformed (the CRC made right each time, so the structure check is what refuses it).
    let mut without = v6.clone();
    without[4] = 8;
    fix_crc(&mut without);
    assert_eq!(Model::from_bytes(&without).unwrap_err(), ModelError::Malformed);
    let list_at = expected.len() - 4 - list.len();
    let mut cut = expected[..expected.len() - 4 - 1].to_vec(); // the list's last byte gone
    cut.extend_from_slice(&[0; 4]);
    fix_crc(&mut cut);
    assert_eq!(Model::from_bytes(&cut).unwrap_err(), ModelError::Malformed);
    let mut not_utf8 = expected.clone();
    not_utf8[list_at] = 0xff;
    fix_crc(&mut not_utf8);
    assert_eq!(Model::from_bytes(&not_utf8).unwrap_err(), ModelError::Malformed);
    let mut longer = expected.clone();
    longer[list_at - 1] = 0x0e; // a length one past the file
    fix_crc(&mut longer);
    assert_eq!(Model::from_bytes(&longer).unwrap_err(), ModelError::Malformed);
    // Every cut of the file is refused, never a panic.
    for end in 0..expected.len() {
        assert!(Model::from_bytes(&expected[..end]).is_err(), "cut at {end}");
    }
}

#[test]
fn committed_models_encode_again_byte_for_byte() {
    // Decoding every committed model and encoding its sections again gives the same file: the writer
    // still picks each file's version (a token-level model without a mention list stays version 6).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "crfm") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let sections = format::decode_sections(&bytes).unwrap();
        let again = match sections.table {
            Some(table) => format::encode_with_table(&sections.body, &table),
            None => format::encode_token_model(&sections.body, sections.tokens.as_ref(), sections.mentions),
        };
        assert!(again.unwrap() == bytes, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 4, "{checked} models under {}", dir.display());
}

//! Freezes the hybrid emission model's format (version 7: the neural encoder plus an n-gram table) byte
//! for byte and its integer scores, checks that every disagreement is refused with its reason, and that
//! no damaged file panics.

mod common;
use common::tiny_neural::{channel, join, scores4, tiny_body, tiny_neural_spec, TINY_NEURAL};

use decoder::internal::format::{self, EmissionSpec, HashedNgramSpec, NeuralSpec, NgramTable, WeightType};
use decoder::internal::ModelInternals;
use decoder::{Model, ModelError, NeuralPart, NeuralProblem, Tensor};

/// `tiny()` encoded: the body of `TINY_NEURAL` (without its CRC) with version 7 and the emission variant
/// `Hybrid`, then the table section and the CRC. Computed independently (Python: the neural bytes
/// spliced, then zlib.crc32); changing any byte is a format change and needs a new version.
const TINY_HYBRID: [u8; 198] = {
    let mut body: [u8; 171] = join(TINY_NEURAL, []);
    // The version, and the emission variant after the header's fields.
    (body[4], body[15]) = (0x07, 0x04);
    join::<194, 4, 198>(join(body, TABLE_SECTION), [0x88, 0x89, 0xb0, 0xfc])
};

/// Hashed (variant 0), normalization 1, templates (len 8: bias, char 0), bucket_bits 1, weight_type I8,
/// weight_shift 1, weights (len 8: two rows [5, -5, 0, 10]).
#[rustfmt::skip]
const TABLE_SECTION: [u8; 23] = [
    0x00, 0x01, 0x08, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x08, 0x05, 0xfb,
    0x00, 0x0a, 0x05, 0xfb, 0x00, 0x0a,
];

fn concat(parts: &[[u8; 9]]) -> Vec<u8> {
    parts.concat()
}

/// Two equal rows, so that the table's sum does not depend on which row a feature hashes to.
const TABLE_WEIGHTS: [u8; 8] = [5, 0xfb, 0, 10, 5, 0xfb, 0, 10];
const TEMPLATES: [u8; 8] = [1, 0, 0, 0, 2, 0, 0, 0];

fn table() -> HashedNgramSpec<'static> {
    HashedNgramSpec {
        normalization: 1,
        templates: &TEMPLATES,
        bucket_bits: 1,
        weight_type: WeightType::I8,
        weight_shift: 1,
        weights: &TABLE_WEIGHTS,
    }
}

fn encode(neural: NeuralSpec<'_>, table: NgramTable<'_>) -> Vec<u8> {
    let body = tiny_body(EmissionSpec::Hybrid(neural));
    format::encode_with_table(&body, &table).unwrap()
}

/// The tiny model with its dense biases `biases`.
fn tiny_with(biases: [i32; 4], table: NgramTable<'_>) -> Vec<u8> {
    let conv = concat(&[channel(0, 1), channel(5, 0)]);
    let dense = concat(&biases.map(|b| channel(b, 1)));
    encode(tiny_neural_spec(&conv, &dense), table)
}

fn tiny() -> Vec<u8> {
    tiny_with([0, 0, 100, -100], NgramTable::Hashed(table()))
}

#[test]
fn hybrid_encoding_is_frozen() {
    assert_eq!(tiny(), TINY_HYBRID);
    let model = Model::from_bytes(&TINY_HYBRID).unwrap();
    assert_eq!(model.format_version(), 7);
    assert!(model.ngram().is_none() && model.neural().is_some());
    assert_eq!(model.hybrid_table().map(|t| t.rows()), Some(2));
    let templates: Vec<_> = model.hybrid_table().unwrap().templates().collect();
    assert_eq!(
        templates,
        [decoder::internal::features::Template::Bias, decoder::internal::features::Template::Char(0)]
    );
}

#[test]
fn hybrid_scores_are_the_encoders_plus_the_tables() {
    // The encoder's scores are those of tests/neural_format.rs (worked by hand there): [13, 0, 113, -113]
    // for 中, [4, 5, 109, -104] for the unknown 'x'. The table adds two rows [5, -5, 0, 10] << 1.
    let model = Model::from_bytes(&TINY_HYBRID).unwrap();
    let table = [20, -20, 0, 40];
    let expected: Vec<[i32; 4]> = [[13, 0, 113, -113], [4, 5, 109, -104], [13, 0, 113, -113]]
        .iter()
        .map(|n| [n[0] + table[0], n[1] + table[1], n[2] + table[2], n[3] + table[3]])
        .collect();
    assert_eq!(scores4(&model, "中x中"), expected);
}

#[test]
fn the_sum_saturates_at_the_lattice_bound() {
    // Dense biases of ±2^22 (halved: ±2^21) saturate the encoder at ±2^20; the table's +40 and -20
    // would carry tags 3 and 1 past it.
    let limit = (decoder::MAX_TEMPLATES as i32) << 15;
    let bytes = tiny_with([0, -(1 << 22), 0, 1 << 22], NgramTable::Hashed(table()));
    let model = Model::from_bytes(&bytes).unwrap();
    for s in scores4(&model, "中x") {
        assert_eq!((s[1], s[3]), (-limit, limit));
    }
}

#[test]
fn a_codebook_table_is_read_too() {
    let codes = [0u8, 0];
    let mut codebook = vec![0u8; 256 * 4];
    codebook[..4].copy_from_slice(&[1, 2, 3, 4]);
    let spec = format::CodebookNgramSpec {
        normalization: 1,
        templates: &TEMPLATES,
        rows: 2,
        hashes_per_feature: 1,
        codes: &codes,
        weight_type: WeightType::I8,
        weight_shift: 0,
        codebook: &codebook,
    };
    let bytes = tiny_with([0, 0, 100, -100], NgramTable::Codebook(spec));
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(scores4(&model, "中"), [[13 + 2, 2 * 2, 113 + 2 * 3, -113 + 2 * 4]]);
}

#[test]
fn disagreements_are_refused_with_their_reason() {
    let hashed = |f: fn(&mut HashedNgramSpec<'static>)| {
        let mut t = table();
        f(&mut t);
        Model::from_bytes(&tiny_with([0, 0, 100, -100], NgramTable::Hashed(t))).unwrap_err()
    };
    assert_eq!(
        hashed(|t| t.weights = &TABLE_WEIGHTS[..4]),
        ModelError::TensorSize { tensor: Tensor::EmissionWeights, expected: 8, found: 4 }
    );
    assert_eq!(hashed(|t| t.bucket_bits = 0), ModelError::BadBucketBits { bits: 0 });
    assert_eq!(hashed(|t| t.weight_shift = 9), ModelError::BadWeightShift { shift: 9 });
    assert_eq!(hashed(|t| t.templates = &[]), ModelError::BadTemplateCount { count: 0 });
    // A lexicon template reads a word list, which a hybrid model does not have.
    assert_eq!(hashed(|t| t.templates = &[6, 1, 0, 0]), ModelError::BadTemplate { index: 0 });
    assert_eq!(
        hashed(|t| t.normalization = 0),
        ModelError::BadNeural {
            part: NeuralPart::Embedding,
            problem: NeuralProblem::TableNormalization { encoder: 1, table: 0 }
        }
    );
    // The encoder's own checks come first.
    let conv = concat(&[channel(0, 1), channel(5, 0)]);
    let dense = concat(&[channel(0, 1); 3]);
    let bytes = encode(tiny_neural_spec(&conv, &dense), NgramTable::Hashed(table()));
    assert_eq!(
        Model::from_bytes(&bytes).unwrap_err(),
        ModelError::BadNeural {
            part: NeuralPart::Dense,
            problem: NeuralProblem::TensorSize { tensor: Tensor::LayerChannels, expected: 36, found: 27 }
        }
    );
    let message = hashed(|t| t.normalization = 0).to_string();
    assert_eq!(
        message,
        "neural encoder, embeddings: normalisation flags 0x01 differ from the hybrid n-gram table's 0x00"
    );
}

#[test]
fn a_hybrid_body_needs_its_table_and_nothing_else() {
    // Without the table section: the body ends where the table should begin.
    let conv = concat(&[channel(0, 1), channel(5, 0)]);
    let dense = concat(&[0, 0, 100, -100].map(|b| channel(b, 1)));
    let body = tiny_body(EmissionSpec::Hybrid(tiny_neural_spec(&conv, &dense)));
    let bare = format::encode(&body).unwrap();
    assert_eq!(Model::from_bytes(&bare).unwrap_err(), ModelError::Malformed);
    // A byte after the table.
    let mut longer = TINY_HYBRID[..TINY_HYBRID.len() - 4].to_vec();
    longer.extend_from_slice(&[0, 0, 0, 0, 0]);
    let n = longer.len() - 4;
    let crc = decoder::internal::crc::crc32(&longer[..n]);
    longer[n..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(Model::from_bytes(&longer).unwrap_err(), ModelError::TrailingBytes { count: 1 });
    // The table is a section of its own: the body's emission has none.
    assert_eq!(format::decode(&TINY_HYBRID).unwrap().emission.table(), None);
    assert!(format::decode_sections(&TINY_HYBRID).unwrap().table.is_some());
}

#[test]
fn a_version_six_file_cannot_hold_a_hybrid_model() {
    let mut bytes = TINY_HYBRID.to_vec();
    for version in [5, 6] {
        bytes[4] = version;
        let n = bytes.len() - 4;
        let crc = decoder::internal::crc::crc32(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::Malformed, "version {version}");
    }
}

/// Every single-byte change (with the checksum made to match) and every truncation either loads or is
/// refused; none panics, and a model that loads decodes.
#[test]
fn damaged_files_never_panic() {
    let fix_crc = |bytes: &mut Vec<u8>| {
        let n = bytes.len() - 4;
        let crc = decoder::internal::crc::crc32(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
    };
    let mut loaded = 0;
    for i in 0..TINY_HYBRID.len() - 4 {
        for value in [0u8, 1, 2, 7, 0x7f, 0x80, 0xff, TINY_HYBRID[i] ^ 1] {
            let mut bytes = TINY_HYBRID.to_vec();
            bytes[i] = value;
            fix_crc(&mut bytes);
            if let Ok(model) = Model::from_bytes(&bytes) {
                loaded += 1;
                let _ = scores4(&model, "中x中文。");
            }
        }
    }
    for len in 0..TINY_HYBRID.len() {
        let mut bytes = TINY_HYBRID[..len].to_vec();
        if bytes.len() >= 9 {
            fix_crc(&mut bytes);
        }
        assert!(Model::from_bytes(&bytes).is_err(), "truncated to {len} bytes");
    }
    assert!(loaded > 0);
}

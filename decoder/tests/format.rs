//! Freezes the model file format byte for byte, and checks every way loading can fail.

use decoder::features::Template;
use decoder::format::{
    self, CustomConstraints, EmissionSpec, HashedNgramSpec, ModelBody, TransitionSpec, WeightType, FORMAT_VERSION,
};
use decoder::tags::TagScheme;
use decoder::{crc::crc32, Model, ModelError, Tensor};

/// `tiny()` encoded. Computed independently (Python: struct + zlib.crc32); changing any byte of this is a
/// format change and needs a new `FORMAT_VERSION`.
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

struct Owned {
    names: String,
    custom: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    normalization: u8,
    templates: Vec<u8>,
    bucket_bits: u8,
    weight_type: WeightType,
    weight_shift: u8,
    weights: Vec<u8>,
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
        transitions: format::i16_bytes(&(0..16).map(|i| i * 100 - 800).collect::<Vec<i16>>()),
        start: format::i16_bytes(&[-1, 2, -3, 4]),
        end: format::i16_bytes(&[i16::MAX, i16::MIN, 5, -6]),
    }
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
            emission: EmissionSpec::HashedNgram(HashedNgramSpec {
                normalization: self.normalization,
                templates: &self.templates,
                bucket_bits: self.bucket_bits,
                weight_type: self.weight_type,
                weight_shift: self.weight_shift,
                weights: &self.weights,
            }),
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
    assert_eq!(FORMAT_VERSION, 1);
    assert_eq!(tiny().encode(), TINY);
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
    assert_eq!(model.emission().bucket_bits(), 1);
    assert_eq!(model.emission().templates(), &[Template::Bias, Template::Char(0)]);
    assert_eq!(model.score_frac_bits(), 8);
    assert_eq!(model.metadata(), "t");
    assert_eq!(model.primitive_exponent(), 2);
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
    let mut bytes = TINY.to_vec();
    bytes[4] = 2;
    // Checked before the checksum: a newer file is reported as such, not as corrupt.
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::UnsupportedVersion { found: 2, supported: 1 });
}

#[test]
fn bad_checksum() {
    let mut bytes = TINY.to_vec();
    bytes[30] ^= 1;
    assert!(matches!(Model::from_bytes(&bytes).unwrap_err(), ModelError::BadChecksum { stored: 0x5205_d1b8, .. }));
}

#[test]
fn truncated_is_malformed() {
    for cut in 6..TINY.len() - 4 {
        let mut bytes = TINY[..cut].to_vec();
        bytes.extend_from_slice(&[0; 4]);
        fix_crc(&mut bytes);
        let err = Model::from_bytes(&bytes).unwrap_err();
        assert!(matches!(err, ModelError::Malformed | ModelError::TooShort { .. }), "cut {cut}: {err:?}");
    }
}

#[test]
fn trailing_bytes() {
    let mut bytes = TINY[..TINY.len() - 4].to_vec();
    bytes.extend_from_slice(&[0xAA, 0xBB, 0, 0, 0, 0]);
    fix_crc(&mut bytes);
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::TrailingBytes { count: 2 });
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
fn errors_display() {
    let e = ModelError::BadChecksum { stored: 1, computed: 2 };
    assert!(e.to_string().contains("corrupt"));
    assert!(ModelError::UnusableConstraints.to_string().contains("sequence length"));
}

//! Freezes the neural emission model's format (version 5) byte for byte and its integer scores, and
//! checks that every shape disagreement is refused with its reason.

use decoder::internal::format::{
    self, ConvLayer, DenseLayer, EmissionSpec, ModelBody, NeuralSpec, Requantization, TransitionSpec,
};
use decoder::internal::ModelInternals;
use decoder::{Model, ModelError, NeuralPart, NeuralProblem, Tensor};

/// `tiny()` encoded. Computed independently (Python: struct + zlib.crc32); changing any byte is a format
/// change and needs a new version.
#[rustfmt::skip]
const TINY_NEURAL: [u8; 175] = [
    // magic "CRFm", version 5; tag_names "B M E S"; constraints None; score_frac_bits 8
    0x43, 0x52, 0x46, 0x6d, 0x05, 0x07, 0x42, 0x20, 0x4d, 0x20, 0x45, 0x20, 0x53, 0x00, 0x08,
    // emission: Neural (variant 3): normalization 1, vocabulary (len 4: U+4E2D 中), embedding_dim 2,
    // char_embeddings (len 4: [1, -1], [10, 20]), ngram_templates (len 2: first 0, length 2), buckets 1,
    // ngram_embeddings (len 2: [3, -3])
    0x03, 0x01, 0x04, 0x2d, 0x4e, 0x00, 0x00, 0x02, 0x04, 0x01, 0xff, 0x0a, 0x14, 0x02, 0x00, 0x02, 0x01,
    0x02, 0x03, 0xfd,
    // input: multiplier 2^30 (zigzag varint), shift 1 (i8)
    0x80, 0x80, 0x80, 0x80, 0x08, 0x01,
    // convs[0]: Some, out_channels 2, kernel 1, dilation 1, weights (len 4: [1, 0], [0, -1]),
    // channels (len 18: bias 0, multiplier 2^30, shift 1; bias 5, multiplier 2^30, shift 0)
    0x01, 0x02, 0x01, 0x01, 0x04, 0x01, 0x00, 0x00, 0xff, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00,
    // convs[1..4]: None
    0x00, 0x00, 0x00,
    // dense: weights (len 8: [1, 0], [0, 1], [1, 1], [-1, 0]), channels (len 36: biases 0, 0, 100, -100,
    // each with multiplier 2^30 and shift 1)
    0x08, 0x01, 0x00, 0x00, 0x01, 0x01, 0x01, 0xff, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x40, 0x01, 0x9c, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x40, 0x01,
    // transitions (len 32, zeros), start (len 8, zeros), end (len 8, zeros)
    0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00,
    // metadata "n"; CRC-32
    0x01, 0x6e, 0x5f, 0xc6, 0x5a, 0x60,
];

/// Per-channel parameters: bias, multiplier 2^30 (0.5), shift.
const fn channel(bias: i32, shift: i8) -> [u8; 9] {
    let b = bias.to_le_bytes();
    let m = (1i32 << 30).to_le_bytes();
    [b[0], b[1], b[2], b[3], m[0], m[1], m[2], m[3], shift as u8]
}

const CONV_CHANNELS: [u8; 18] = concat(channel(0, 1), channel(5, 0));
const DENSE_CHANNELS: [u8; 36] = {
    let (a, b) = (concat(channel(0, 1), channel(0, 1)), concat(channel(100, 1), channel(-100, 1)));
    let mut out = [0u8; 36];
    let mut i = 0;
    while i < 18 {
        out[i] = a[i];
        out[18 + i] = b[i];
        i += 1;
    }
    out
};

const fn concat(a: [u8; 9], b: [u8; 9]) -> [u8; 18] {
    let mut out = [0u8; 18];
    let mut i = 0;
    while i < 9 {
        out[i] = a[i];
        out[9 + i] = b[i];
        i += 1;
    }
    out
}

const HALF_SHIFTED_ONCE: Requantization = Requantization { multiplier: 1 << 30, shift: 1 };

fn tiny_spec() -> NeuralSpec<'static> {
    NeuralSpec {
        normalization: 1,
        vocabulary: &[0x2d, 0x4e, 0, 0],
        embedding_dim: 2,
        char_embeddings: &[1, 0xff, 10, 20],
        ngram_templates: &[0, 2],
        ngram_buckets: 1,
        ngram_embeddings: &[3, 0xfd],
        input: HALF_SHIFTED_ONCE,
        convs: [
            Some(ConvLayer {
                out_channels: 2,
                kernel: 1,
                dilation: 1,
                weights: &[1, 0, 0, 0xff],
                channels: &CONV_CHANNELS,
            }),
            None,
            None,
            None,
        ],
        dense: DenseLayer { weights: &[1, 0, 0, 1, 1, 1, 0xff, 0], channels: &DENSE_CHANNELS },
    }
}

fn encode(spec: NeuralSpec<'_>) -> Vec<u8> {
    let body = ModelBody {
        tag_names: "B M E S",
        constraints: None,
        score_frac_bits: 8,
        emission: EmissionSpec::Neural(spec),
        transitions: TransitionSpec { transitions: &[0; 32], start: &[0; 8], end: &[0; 8] },
        metadata: "n",
    };
    format::encode(&body).unwrap()
}

fn load_err(spec: NeuralSpec<'_>) -> ModelError {
    let bytes = encode(spec);
    Model::from_bytes(&bytes).err().unwrap_or_else(|| panic!("loaded: {spec:?}"))
}

fn scores(model: &Model<'_>, text: &str) -> Vec<[i32; 4]> {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .map(|p| {
            let mut out = [0; decoder::MAX_CHAR_TAGS];
            model.emission_scores(&chars, p, &mut out);
            [out[0], out[1], out[2], out[3]]
        })
        .collect()
}

#[test]
fn neural_encoding_is_frozen() {
    assert_eq!(encode(tiny_spec()), TINY_NEURAL);
    let model = Model::from_bytes(&TINY_NEURAL).unwrap();
    assert_eq!(model.format_version(), 5);
    assert!(model.ngram().is_none() && model.neural().is_some());
}

#[test]
fn neural_scores_are_frozen() {
    // Worked by hand: 中 = [10, 20] + bigram [3, -3] = [13, 17]; the convolution gives [13, relu(-17 + 5) = 0];
    // the dense layer [13, 0, 13 + 100, -13 - 100]. 'x' is unknown: [1, -1] + [3, -3] = [4, -4] -> [4,
    // round(9 / 2) = 5] -> [4, 5, 109, -104]. Every bigram lands in the one bucket.
    let model = Model::from_bytes(&TINY_NEURAL).unwrap();
    assert_eq!(scores(&model, "中x中"), [[13, 0, 113, -113], [4, 5, 109, -104], [13, 0, 113, -113]]);
}

#[test]
fn a_version_four_file_cannot_hold_a_neural_model() {
    let mut bytes = TINY_NEURAL.to_vec();
    bytes[4] = 4;
    let n = bytes.len() - 4;
    let crc = decoder::internal::crc::crc32(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(Model::from_bytes(&bytes).unwrap_err(), ModelError::Malformed);
}

#[test]
fn shape_disagreements_are_refused_with_their_reason() {
    let conv = |spec: &NeuralSpec<'static>| spec.convs[0].unwrap();
    let bad = |part, problem| ModelError::BadNeural { part, problem };
    let size = |tensor, expected, found| NeuralProblem::TensorSize { tensor, expected, found };

    let mut s = tiny_spec();
    s.char_embeddings = &[1, 2, 3];
    assert_eq!(load_err(s), bad(NeuralPart::Embedding, size(Tensor::CharEmbeddings, 4, 3)));

    let mut s = tiny_spec();
    s.vocabulary = &[2, 0, 0, 0, 1, 0, 0, 0];
    assert_eq!(load_err(s), bad(NeuralPart::Embedding, NeuralProblem::Vocabulary));

    let mut s = tiny_spec();
    s.embedding_dim = 0;
    assert_eq!(load_err(s), bad(NeuralPart::Embedding, NeuralProblem::Channels { found: 0 }));

    let mut s = tiny_spec();
    s.ngram_templates = &[0, 0];
    assert_eq!(load_err(s), bad(NeuralPart::Embedding, NeuralProblem::NgramTemplate { index: 0 }));

    let mut s = tiny_spec();
    s.ngram_buckets = 0;
    assert_eq!(load_err(s), bad(NeuralPart::Embedding, NeuralProblem::Buckets { found: 0 }));

    // The convolution's weights must match the embedding width (2 inputs).
    let mut s = tiny_spec();
    s.convs[0] = Some(ConvLayer { weights: &[1, 2], ..conv(&s) });
    assert_eq!(load_err(s), bad(NeuralPart::Conv(0), size(Tensor::LayerWeights, 4, 2)));

    let mut s = tiny_spec();
    s.convs[0] = Some(ConvLayer { kernel: 2, ..conv(&s) });
    assert_eq!(load_err(s), bad(NeuralPart::Conv(0), NeuralProblem::Kernel { width: 2, dilation: 1 }));

    // Kernel 9 reads 4 each side, plus the bigram's one to the right: 5 > 4.
    let mut s = tiny_spec();
    s.convs[0] = Some(ConvLayer { kernel: 9, weights: &[0; 36], ..conv(&s) });
    assert_eq!(load_err(s), bad(NeuralPart::Embedding, NeuralProblem::Reach { left: 4, right: 5 }));

    let mut s = tiny_spec();
    s.convs[0] = Some(ConvLayer { kernel: 3, dilation: 5, weights: &[0; 12], ..conv(&s) });
    assert_eq!(load_err(s), bad(NeuralPart::Conv(0), NeuralProblem::Reach { left: 5, right: 5 }));

    let mut s = tiny_spec();
    s.convs[2] = s.convs[0];
    assert_eq!(load_err(s), bad(NeuralPart::Conv(2), NeuralProblem::LayerAfterGap));

    let mut s = tiny_spec();
    const SHIFT_TOO_LARGE: [u8; 18] = concat(channel(0, 1), channel(5, 40));
    s.convs[0] = Some(ConvLayer { channels: &SHIFT_TOO_LARGE, ..conv(&s) });
    assert_eq!(load_err(s), bad(NeuralPart::Conv(0), NeuralProblem::Requantization { channel: 1 }));

    // A second convolution of 3 channels leaves the dense layer's [4][2] weights the wrong shape.
    let mut s = tiny_spec();
    s.convs[1] = Some(ConvLayer { out_channels: 3, weights: &[0; 6], channels: &[0; 27], ..conv(&s) });
    assert_eq!(load_err(s), bad(NeuralPart::Dense, size(Tensor::LayerWeights, 12, 8)));

    let mut s = tiny_spec();
    s.dense.channels = &[0; 27];
    assert_eq!(load_err(s), bad(NeuralPart::Dense, size(Tensor::LayerChannels, 36, 27)));

    let mut s = tiny_spec();
    s.input = Requantization { multiplier: -1, shift: 0 };
    assert_eq!(load_err(s), bad(NeuralPart::Embedding, NeuralProblem::Requantization { channel: 0 }));

    // Every message names the part and the problem.
    let message = load_err({
        let mut s = tiny_spec();
        s.dense.channels = &[0; 27];
        s
    })
    .to_string();
    assert_eq!(message, "neural encoder, dense layer: tensor LayerChannels has 27 bytes, its shapes need 36");
}

#[test]
fn every_neural_problem_has_its_own_message() {
    let problems = [
        NeuralProblem::TensorSize { tensor: Tensor::CharEmbeddings, expected: 4, found: 3 },
        NeuralProblem::TensorSize { tensor: Tensor::NgramEmbeddings, expected: 4, found: 3 },
        NeuralProblem::TensorSize { tensor: Tensor::LayerWeights, expected: 4, found: 3 },
        NeuralProblem::TensorSize { tensor: Tensor::LayerChannels, expected: 4, found: 3 },
        NeuralProblem::Channels { found: 257 },
        NeuralProblem::Kernel { width: 2, dilation: 1 },
        NeuralProblem::Reach { left: 5, right: 1 },
        NeuralProblem::LayerAfterGap,
        NeuralProblem::Vocabulary,
        NeuralProblem::NgramTemplate { index: 1 },
        NeuralProblem::Buckets { found: 0 },
        NeuralProblem::Requantization { channel: 3 },
    ];
    let parts = [NeuralPart::Embedding, NeuralPart::Conv(2), NeuralPart::Dense];
    let texts: Vec<String> = parts
        .iter()
        .flat_map(|&part| problems.iter().map(move |&problem| ModelError::BadNeural { part, problem }.to_string()))
        .collect();
    for (i, t) in texts.iter().enumerate() {
        assert!(t.starts_with("neural encoder, ") && !t.ends_with('.'), "{t:?}");
        assert!(texts[..i].iter().all(|other| other != t), "{t:?} repeats");
    }
    assert!(texts[problems.len()].contains("convolution 2"), "{}", texts[problems.len()]);
}

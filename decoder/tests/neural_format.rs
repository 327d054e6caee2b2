//! Freezes the neural emission model's format (version 5) byte for byte and its integer scores, and
//! checks that every shape disagreement is refused with its reason.

mod common;
use common::tiny_neural::{
    channel, join, scores4, tiny_body, tiny_neural_spec, TINY_CONV_CHANNELS, TINY_DENSE_CHANNELS, TINY_NEURAL,
};

use decoder::internal::format::{self, ConvLayer, EmissionSpec, NeuralSpec, Requantization};
use decoder::internal::ModelInternals;
use decoder::{Model, ModelError, NeuralPart, NeuralProblem, Tensor};

fn tiny_spec() -> NeuralSpec<'static> {
    tiny_neural_spec(&TINY_CONV_CHANNELS, &TINY_DENSE_CHANNELS)
}

fn encode(spec: NeuralSpec<'_>) -> Vec<u8> {
    let body = tiny_body(EmissionSpec::Neural(spec));
    format::encode(&body).unwrap()
}

fn load_err(spec: NeuralSpec<'_>) -> ModelError {
    let bytes = encode(spec);
    Model::from_bytes(&bytes).err().unwrap_or_else(|| panic!("loaded: {spec:?}"))
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
    assert_eq!(scores4(&model, "中x中"), [[13, 0, 113, -113], [4, 5, 109, -104], [13, 0, 113, -113]]);
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
    const SHIFT_TOO_LARGE: [u8; 18] = join(channel(0, 1), channel(5, 40));
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

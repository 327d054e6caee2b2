//! The tiny neural model whose bytes `neural_format.rs` and `hybrid_format.rs` freeze: one character,
//! one n-gram template, a 2-channel convolution and a dense layer of 4 tags.

use decoder::internal::format::{
    ConvLayer, DenseLayer, EmissionSpec, ModelBody, NeuralSpec, Requantization, TransitionSpec,
};
use decoder::internal::ModelInternals;
use decoder::Model;

/// The tiny neural model ([`tiny_neural_spec`] with [`TINY_CONV_CHANNELS`] and [`TINY_DENSE_CHANNELS`])
/// encoded. Computed independently (Python: struct + zlib.crc32); changing any byte is a format
/// change and needs a new version.
#[rustfmt::skip]
pub const TINY_NEURAL: [u8; 175] = [
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
pub const fn channel(bias: i32, shift: i8) -> [u8; 9] {
    let b = bias.to_le_bytes();
    let m = (1i32 << 30).to_le_bytes();
    [b[0], b[1], b[2], b[3], m[0], m[1], m[2], m[3], shift as u8]
}

/// `a` then `b` (`N = A + B`), in a constant.
pub const fn join<const A: usize, const B: usize, const N: usize>(a: [u8; A], b: [u8; B]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = if i < A { a[i] } else { b[i - A] };
        i += 1;
    }
    out
}

/// The convolution's channels: bias 0 with shift 1, bias 5 with shift 0.
pub const TINY_CONV_CHANNELS: [u8; 18] = join(channel(0, 1), channel(5, 0));
/// The dense layer's channels: biases 0, 0, 100, -100, each with shift 1.
pub const TINY_DENSE_CHANNELS: [u8; 36] =
    join::<18, 18, 36>(join(channel(0, 1), channel(0, 1)), join(channel(100, 1), channel(-100, 1)));

/// The requantization of every tiny layer: times 0.5, shifted left once (times 1).
pub const HALF_SHIFTED_ONCE: Requantization = Requantization { multiplier: 1 << 30, shift: 1 };

/// The tiny encoder with the given per-channel parameters of its convolution and dense layer.
pub fn tiny_neural_spec<'a>(conv_channels: &'a [u8], dense_channels: &'a [u8]) -> NeuralSpec<'a> {
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
                channels: conv_channels,
            }),
            None,
            None,
            None,
        ],
        dense: DenseLayer { weights: &[1, 0, 0, 1, 1, 1, 0xff, 0], channels: dense_channels },
    }
}

/// The first four emission scores of every character of `text`.
pub fn scores4(model: &Model<'_>, text: &str) -> Vec<[i32; 4]> {
    let chars: Vec<char> = text.chars().collect();
    (0..chars.len())
        .map(|p| {
            let mut out = [0; decoder::MAX_CHAR_TAGS];
            model.emission_scores(&chars, p, &mut out);
            [out[0], out[1], out[2], out[3]]
        })
        .collect()
}

/// The tiny model's body around `emission`: tags `B M E S`, zero transitions, metadata "n".
pub fn tiny_body(emission: EmissionSpec<'_>) -> ModelBody<'_> {
    ModelBody {
        tag_names: "B M E S",
        constraints: None,
        score_frac_bits: 8,
        emission,
        transitions: TransitionSpec { transitions: &[0; 32], start: &[0; 8], end: &[0; 8] },
        metadata: "n",
    }
}

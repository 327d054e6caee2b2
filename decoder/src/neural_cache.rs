//! The neural encoder's activations carried from one scored position to the next, so that each layer's
//! output is computed once per position rather than once per position of every receptive field that
//! contains it.
//!
//! Layer `l` (0: the embeddings; `1..=n`: the convolutions) keeps its outputs at the `2 * reach + 1`
//! positions the next layer reads (the last layer only the scored position) in a ring of rows. Scoring
//! the position `p` computes, for each layer, only its newest position `p + R_l` (`R_l`: the reach of the
//! layers after `l`): the embeddings at `p + R`, the first convolution at `p + R - reach_1`, and so on to
//! the last one at `p`, from the window centred on `p` and the rows of the layer below.
//!
//! The cache checks its own validity: it remembers the window it last saw, and the next window continues
//! it only if it is that window moved one position on. Any other window (a new line, a seek, the first
//! call) starts it again by replaying the `2 * R` positions before `p` from the current window alone,
//! which computes each layer at the `2 * R_l + 1` positions around `p`, as recomputation does. Each
//! activation is a function of the characters in its receptive field, all inside the current window, and
//! is computed by the same integer arithmetic as before; so the scores equal those of recomputing the
//! whole receptive field (`tests` below checks it against that reference), and the streaming labeler
//! still agrees exactly with whole-line decoding.
//!
//! Size: [`CACHE_ROWS`] rows of `MAX_CHANNELS` bytes (3,328 B) and the last window (36 B), wherever the
//! caller keeps it (the streaming labeler holds one; whole-line decoding one on the stack per line).

use crate::features::{Context, BEFORE_START, WINDOW};
use crate::format::{MAX_CHANNELS, MAX_CONV_LAYERS};
use crate::limits::MAX_OFFSET;
use crate::neural::{apply_conv, conv_reach, Neural, CENTRE};

/// Rows of activations a cache holds: layer `l < n` keeps `2 * reach_{l+1} + 1` rows, the last layer one,
/// and the reaches sum to at most `MAX_OFFSET` (checked at load): `2 * MAX_OFFSET + MAX_CONV_LAYERS + 1`.
pub(crate) const CACHE_ROWS: usize = 2 * MAX_OFFSET + MAX_CONV_LAYERS + 1;

/// Layers with a ring: the embeddings and each convolution.
const LAYERS: usize = MAX_CONV_LAYERS + 1;

/// One row of activations (int8; the first `channels` of the layer are meaningful).
type Row = [i8; MAX_CHANNELS];

/// The activations of the last few positions of each layer of one neural model (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct NeuralCache {
    /// The window of the last position computed.
    codes: [u32; WINDOW],
    /// Whether `codes` and the rows hold a computed position.
    warm: bool,
    /// Per layer, the index (within its ring) of its newest row.
    heads: [u8; LAYERS],
    /// The rings, one after another, layer 0 first.
    rows: [Row; CACHE_ROWS],
}

/// Where each layer's ring lies in [`NeuralCache::rows`]: first row and length.
#[derive(Debug, Clone, Copy)]
struct Rings {
    start: [u8; LAYERS],
    len: [u8; LAYERS],
    /// Layers in use: the embeddings and the model's convolutions.
    count: usize,
}

impl Rings {
    /// The rings of `neural`: layer `l` holds the `2 * reach + 1` positions its successor reads.
    fn of(neural: &Neural<'_>) -> Self {
        let mut rings = Self { start: [0; LAYERS], len: [1; LAYERS], count: 1 };
        let mut start = 0u8;
        for (layer, conv) in neural.convs().enumerate().take(MAX_CONV_LAYERS) {
            let len = 2 * conv_reach(conv.kernel, conv.dilation) as u8 + 1;
            rings.start[layer] = start;
            rings.len[layer] = len;
            start += len;
            rings.count = layer + 2;
        }
        rings.start[rings.count - 1] = start;
        rings
    }

    /// Index in [`NeuralCache::rows`] of the row `back` positions before the newest of `layer`.
    #[inline]
    fn row(&self, heads: &[u8; LAYERS], layer: usize, back: usize) -> usize {
        let len = usize::from(self.len[layer]);
        usize::from(self.start[layer]) + (usize::from(heads[layer]) + len - back % len) % len
    }
}

impl NeuralCache {
    /// An empty cache (the first call starts it).
    pub(crate) const fn new() -> Self {
        Self { codes: [BEFORE_START; WINDOW], warm: false, heads: [0; LAYERS], rows: [[0; MAX_CHANNELS]; CACHE_ROWS] }
    }

    /// Writes the score of each tag at the centre of `ctx` into `out[..L]` (see [`Neural::dense`]),
    /// computing each layer's newest position (or, when `ctx` does not continue the last window, its
    /// positions around the centre).
    pub(crate) fn scores<const N: usize>(&mut self, neural: &Neural<'_>, ctx: &Context, out: &mut [i32; N]) {
        let x = self.advance(neural, ctx);
        neural.dense(x, out);
    }

    /// Brings every layer up to the window of `ctx` and returns the last layer's activations at its
    /// centre (the dense layer's input).
    fn advance(&mut self, neural: &Neural<'_>, ctx: &Context) -> &Row {
        let codes = ctx.codes();
        let rings = Rings::of(neural);
        let continues = self.warm && self.codes[1..] == codes[..WINDOW - 1];
        if continues {
            self.step(neural, &rings, codes, 0);
        } else {
            // Replays the positions `p - 2R ..= p` from this window: layer `l`'s outputs from `p - R_l` on.
            let reach = neural.conv_reach() as isize;
            for offset in -2 * reach..=0 {
                self.step(neural, &rings, codes, offset);
            }
        }
        self.codes = *codes;
        self.warm = true;
        let last = rings.count - 1;
        &self.rows[rings.row(&self.heads, last, 0) % CACHE_ROWS]
    }

    /// Computes each layer's newest position as if the window were centred `offset` (`-2R..=0`)
    /// positions before the centre of `codes`: layer `l` at `p + offset + R_l`, skipped when no later
    /// output at the centre needs it (`offset < -2 R_l`).
    fn step(&mut self, neural: &Neural<'_>, rings: &Rings, codes: &[u32; WINDOW], offset: isize) {
        let mut after = neural.conv_reach();
        for head in self.heads.iter_mut().zip(&rings.len).take(rings.count) {
            *head.0 = (*head.0 + 1) % *head.1;
        }
        // Within 0..WINDOW for `-2R <= offset <= 0` and `after <= R <= MAX_OFFSET`.
        let slot_of = |after: usize| (CENTRE as isize + offset + after as isize).clamp(0, WINDOW as isize - 1) as usize;
        if offset >= -2 * after as isize {
            let slot = slot_of(after);
            let out = &mut self.rows[rings.row(&self.heads, 0, 0) % CACHE_ROWS];
            if codes[slot] < BEFORE_START {
                neural.embed(codes, slot, out);
            } else {
                *out = [0; MAX_CHANNELS];
            }
        }
        let mut in_channels = neural.embedding_dim();
        for (index, conv) in neural.convs().enumerate().take(MAX_CONV_LAYERS) {
            let (below, layer) = (index, index + 1);
            let reach = conv_reach(conv.kernel, conv.dilation);
            after = after.saturating_sub(reach);
            if offset >= -2 * after as isize {
                let slot = slot_of(after);
                // Rings lie in layer order: every row below starts before this layer's ring.
                let target = rings.row(&self.heads, layer, 0);
                let (inputs, outputs) = self.rows.split_at_mut(target.min(CACHE_ROWS));
                let Some(out) = outputs.first_mut() else { continue };
                if codes[slot] < BEFORE_START {
                    // Tap `j` reads the row `2 * reach - j * dilation` positions before the newest below.
                    let inputs: &[Row] = inputs;
                    let dilation = usize::from(conv.dilation);
                    let taps = core::array::from_fn(|j| {
                        let back = (2 * reach).checked_sub(j * dilation)?;
                        inputs.get(rings.row(&self.heads, below, back))
                    });
                    apply_conv(conv, in_channels, &taps, out);
                } else {
                    *out = [0; MAX_CHANNELS];
                }
            }
            in_channels = usize::from(conv.out_channels);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::features::AFTER_END;
    use crate::format::{ConvLayer, DenseLayer, NeuralSpec, Requantization, CHANNEL_PARAMETER_BYTES};

    /// Tags of the score arrays (the character labelers' width).
    const TAGS: usize = 16;

    /// A small deterministic generator (xorshift64*), so that one seed stands for one model.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// A value in `lo..=hi`.
        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + (self.next() % (hi - lo + 1) as u64) as i64
        }

        fn bytes(&mut self, len: usize, lo: i64, hi: i64) -> Vec<u8> {
            (0..len).map(|_| self.range(lo, hi) as i8 as u8).collect()
        }

        /// `[outputs]` channel parameters: a bias, a multiplier in `[2^28, 2^31)` and a right shift.
        fn channels(&mut self, outputs: usize) -> Vec<u8> {
            let mut bytes = Vec::with_capacity(outputs * CHANNEL_PARAMETER_BYTES);
            for _ in 0..outputs {
                bytes.extend_from_slice(&(self.range(-400, 400) as i32).to_le_bytes());
                bytes.extend_from_slice(&(self.range(1 << 28, i32::MAX.into()) as i32).to_le_bytes());
                bytes.push(self.range(-7, -1) as i8 as u8);
            }
            bytes
        }
    }

    /// One convolution's shape and tensors.
    struct ConvTensors {
        out_channels: u16,
        kernel: u8,
        dilation: u8,
        weights: Vec<u8>,
        channels: Vec<u8>,
    }

    /// The tensors of a random model: up to 3 n-gram templates and up to `MAX_CONV_LAYERS` convolutions
    /// of kernel 1, 3 or 5 and dilation 1 or 2, within the reach the format allows.
    struct Tensors {
        dim: u16,
        tags: usize,
        vocabulary: Vec<u8>,
        char_embeddings: Vec<u8>,
        templates: Vec<u8>,
        buckets: u32,
        ngram_embeddings: Vec<u8>,
        convs: Vec<ConvTensors>,
        dense_weights: Vec<u8>,
        dense_channels: Vec<u8>,
    }

    impl Tensors {
        fn random(seed: u64) -> Self {
            let mut rng = Rng(seed | 1);
            let dim = rng.range(1, 12) as usize;
            let tags = rng.range(1, 6) as usize;
            let vocabulary: Vec<u8> =
                ('a'..='f').filter(|_| rng.next() % 2 == 0).flat_map(|c| (c as u32).to_le_bytes()).collect();
            let char_embeddings = rng.bytes((vocabulary.len() / 4 + 1) * dim, -40, 40);
            let mut templates = Vec::new();
            let mut ngram_reach = 0;
            for _ in 0..rng.range(0, 3) {
                let (first, length) = (rng.range(-1, 0), rng.range(1, 2));
                ngram_reach = ngram_reach.max(-first).max(first + length - 1);
                templates.extend_from_slice(&[first as i8 as u8, length as u8]);
            }
            let buckets = if templates.is_empty() { 0 } else { rng.range(1, 8) as u32 };
            let ngram_embeddings = rng.bytes(buckets as usize * dim, -20, 20);
            let mut budget = MAX_OFFSET - ngram_reach as usize;
            let (mut convs, mut channels) = (Vec::new(), dim);
            for _ in 0..rng.range(0, MAX_CONV_LAYERS as i64) {
                let (mut kernel, dilation) = ([1u8, 3, 5][rng.range(0, 2) as usize], rng.range(1, 2) as u8);
                if conv_reach(kernel, dilation) > budget {
                    kernel = 1;
                }
                budget -= conv_reach(kernel, dilation);
                let out = rng.range(1, 10) as usize;
                let weights = rng.bytes(out * usize::from(kernel) * channels, -30, 30);
                convs.push(ConvTensors {
                    out_channels: out as u16,
                    kernel,
                    dilation,
                    weights,
                    channels: rng.channels(out),
                });
                channels = out;
            }
            let dense_weights = rng.bytes(tags * channels, -60, 60);
            let dense_channels = rng.channels(tags);
            Self {
                dim: dim as u16,
                tags,
                vocabulary,
                char_embeddings,
                templates,
                buckets,
                ngram_embeddings,
                convs,
                dense_weights,
                dense_channels,
            }
        }

        fn spec(&self) -> NeuralSpec<'_> {
            let mut convs = [None; MAX_CONV_LAYERS];
            for (slot, conv) in convs.iter_mut().zip(&self.convs) {
                *slot = Some(ConvLayer {
                    out_channels: conv.out_channels,
                    kernel: conv.kernel,
                    dilation: conv.dilation,
                    weights: &conv.weights,
                    channels: &conv.channels,
                });
            }
            NeuralSpec {
                normalization: 0,
                vocabulary: &self.vocabulary,
                embedding_dim: self.dim,
                char_embeddings: &self.char_embeddings,
                ngram_templates: &self.templates,
                ngram_buckets: self.buckets,
                ngram_embeddings: &self.ngram_embeddings,
                input: Requantization { multiplier: 1 << 30, shift: 0 },
                convs,
                dense: DenseLayer { weights: &self.dense_weights, channels: &self.dense_channels },
            }
        }
    }

    fn cached(cache: &mut NeuralCache, neural: &Neural<'_>, ctx: &Context) -> [i32; TAGS] {
        let mut out = [0; TAGS];
        cache.scores(neural, ctx, &mut out);
        out
    }

    fn recomputed(neural: &Neural<'_>, ctx: &Context) -> [i32; TAGS] {
        let mut out = [0; TAGS];
        neural.scores_recomputed(ctx, &mut out);
        out
    }

    /// Scores every position of each line in turn with one cache, advancing the window as whole-line
    /// decoding does, and after each position also the position `jumps` names (a window that does not
    /// continue the last one); checks each against recomputation. Returns how many distinct score rows
    /// were seen (a model whose scores never vary could not tell a stale activation from a fresh one).
    fn check(seed: u64, lines: &[Vec<char>], jumps: &[usize]) -> Result<usize, TestCaseError> {
        let tensors = Tensors::random(seed);
        let neural =
            Neural::from_spec(&tensors.spec(), tensors.tags).map_err(|e| TestCaseError::fail(std::format!("{e:?}")))?;
        let mut cache = NeuralCache::new();
        let mut seen = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let code = |i: usize| line.get(i).map_or(AFTER_END, |&c| c as u32);
            let mut ctx = Context::empty();
            for i in 0..MAX_OFFSET {
                ctx.shift_in(code(i));
            }
            for position in 0..line.len() {
                ctx.shift_in(code(position + MAX_OFFSET));
                prop_assert_eq!(ctx, Context::at(line, position));
                let expected = recomputed(&neural, &ctx);
                prop_assert_eq!(cached(&mut cache, &neural, &ctx), expected, "line {} position {}", index, position);
                if !seen.contains(&expected) {
                    seen.push(expected);
                }
                if let Some(&jump) = jumps.get(position) {
                    let elsewhere = Context::at(line, jump % line.len());
                    prop_assert_eq!(cached(&mut cache, &neural, &elsewhere), recomputed(&neural, &elsewhere));
                }
            }
        }
        Ok(seen.len())
    }

    fn line() -> impl Strategy<Value = Vec<char>> {
        proptest::collection::vec(proptest::char::range('a', 'h'), 0..20)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn cached_scores_equal_recomputation(
            seed in any::<u64>(),
            lines in proptest::collection::vec(line(), 1..4),
            jumps in proptest::collection::vec(any::<usize>(), 0..3),
        ) {
            check(seed, &lines, &jumps)?;
        }
    }

    #[test]
    fn the_check_sees_varying_scores() {
        // The check above is only as strong as the models' scores vary: over these seeds most models
        // give several distinct score rows on one line.
        let line: Vec<char> = "abcafhdebcgabba".chars().collect();
        let varied = (1..=40u64).filter(|&seed| check(seed, core::slice::from_ref(&line), &[]).unwrap() > 3).count();
        assert!(varied >= 20, "only {varied} of 40 models vary");
    }
}

//! Emission models: from the characters around a position to one integer score per tag.
//!
//! The lattice only sees [`EmissionModel`], so a second kind of model (say, a small integer CNN) plugs in
//! without touching Viterbi.

use crate::features::{bucket, CompiledTemplates, Context, Template};
use crate::format::WeightType;
use crate::{MAX_TAGS, MAX_TEMPLATES};

/// Per-position tag scores from a window of normalised characters.
pub trait EmissionModel {
    /// Number of tags `L`.
    fn num_tags(&self) -> usize;
    /// Normalisation flags (`text::NORMALIZE_*`) the model's features expect.
    fn normalization(&self) -> u8;
    /// How many characters after the current one the scores depend on (at most `features::MAX_OFFSET`).
    fn lookahead(&self) -> usize;
    /// Writes the score of each tag `0..L` at the window's centre into `out[..L]` (score units; each
    /// at most `MAX_TEMPLATES * 2^15` in magnitude). Entries at and above `L` are left as they are.
    fn scores(&self, ctx: &Context, out: &mut [i32; MAX_TAGS]);
}

/// The hashed character n-gram model, borrowing its weight table from the model bytes.
#[derive(Debug, Clone, Copy)]
pub struct HashedNgram<'a> {
    pub(crate) templates: [Template; MAX_TEMPLATES],
    pub(crate) template_count: usize,
    /// The same templates grouped by kind, for [`EmissionModel::scores`].
    pub(crate) compiled: CompiledTemplates,
    pub(crate) bucket_bits: u8,
    pub(crate) weight_type: WeightType,
    pub(crate) weight_shift: u8,
    /// `[2^bucket_bits][L]` elements; length validated at load.
    pub(crate) weights: &'a [u8],
    pub(crate) num_tags: usize,
    pub(crate) normalization: u8,
    pub(crate) lookahead: usize,
}

impl HashedNgram<'_> {
    /// The feature templates, in file order.
    pub fn templates(&self) -> &[Template] {
        &self.templates[..self.template_count]
    }

    /// log2 of the number of hash buckets.
    pub fn bucket_bits(&self) -> u8 {
        self.bucket_bits
    }

    /// Element type of the weight table.
    pub fn weight_type(&self) -> WeightType {
        self.weight_type
    }

    /// Bytes of the weight table.
    pub fn weight_bytes(&self) -> usize {
        self.weights.len()
    }

    /// The hash bucket of each template at `ctx` (what the trainer updates and the decoder reads).
    pub fn buckets(&self, ctx: &Context, mut visit: impl FnMut(usize, usize)) {
        for (index, template) in self.templates().iter().enumerate() {
            visit(index, bucket(template.hash(index, ctx), self.bucket_bits));
        }
    }
}

impl EmissionModel for HashedNgram<'_> {
    fn num_tags(&self) -> usize {
        self.num_tags
    }

    fn normalization(&self) -> u8 {
        self.normalization
    }

    fn lookahead(&self) -> usize {
        self.lookahead
    }

    #[inline]
    fn scores(&self, ctx: &Context, out: &mut [i32; MAX_TAGS]) {
        let l = self.num_tags.min(MAX_TAGS);
        let bits = self.bucket_bits;
        let weights = self.weights;
        // Weights are summed unshifted and shifted once: sum(w << s) == sum(w) << s exactly (no overflow:
        // |sum| <= 32 * 2^15). Rows are in bounds by the length check at load; `get` keeps it panic-free.
        let shift = u32::from(self.weight_shift);
        match (self.weight_type, l) {
            (WeightType::I8, 4) => {
                let mut acc = [0i32; 4];
                self.compiled.for_each_hash(ctx, |h| {
                    let row = bucket(h, bits) << 2;
                    if let Some(&[a, b, c, d]) = weights.get(row..row + 4) {
                        acc[0] += i32::from(a as i8);
                        acc[1] += i32::from(b as i8);
                        acc[2] += i32::from(c as i8);
                        acc[3] += i32::from(d as i8);
                    }
                });
                for (o, a) in out.iter_mut().zip(acc) {
                    *o = a << shift;
                }
            }
            (WeightType::I8, _) => {
                let mut acc = [0i32; MAX_TAGS];
                self.compiled.for_each_hash(ctx, |h| {
                    let row = bucket(h, bits) * l;
                    if let Some(row) = weights.get(row..row + l) {
                        for (a, &w) in acc.iter_mut().zip(row) {
                            *a += i32::from(w as i8);
                        }
                    }
                });
                for (o, a) in out[..l].iter_mut().zip(acc) {
                    *o = a << shift;
                }
            }
            (WeightType::I16, _) => {
                let mut acc = [0i32; MAX_TAGS];
                self.compiled.for_each_hash(ctx, |h| {
                    let row = bucket(h, bits) * 2 * l;
                    if let Some(row) = weights.get(row..row + 2 * l) {
                        for (a, w) in acc.iter_mut().zip(row.chunks_exact(2)) {
                            *a += i32::from(i16::from_le_bytes([w[0], w[1]]));
                        }
                    }
                });
                for (o, a) in out[..l].iter_mut().zip(acc) {
                    *o = a << shift;
                }
            }
        }
    }
}

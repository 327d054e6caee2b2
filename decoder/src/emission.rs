//! Emission models: from the characters around a position to one integer score per tag.
//!
//! [`Emission`] is the one interface: the whole-line labeler scores positions through a [`Scorer`] over
//! it, the streaming labeler through [`Emission::scores`] with its own window, so a second kind of model (the neural encoder of
//! issue #18) is one more variant here, without a second code path in the lattice, the trainer or the
//! firmware.

use crate::features::{CompiledTemplates, Context, Template, AFTER_END};
use crate::format::WeightType;
use crate::hash::{feature_hashes, row, second_hash};
use crate::lexicon::Lexicon;
use crate::limits::MAX_TEMPLATES;
use crate::text::normalize;

/// The word list of a model kind without one.
#[cfg(feature = "neural")]
const NO_WORDS: Lexicon<'static> = Lexicon::empty();

/// The emission model a [`crate::Model`] carries, one variant per kind.
// No allocator to box the larger variant in; the labelers keep one copy each.
#[cfg_attr(feature = "neural", allow(clippy::large_enum_variant))]
#[derive(Debug, Clone, Copy)]
pub(crate) enum Emission<'a> {
    /// Hashed character n-grams (direct weights or a codebook, with or without a word list).
    Hashed(HashedNgram<'a>),
    /// The integer neural encoder.
    #[cfg(feature = "neural")]
    Neural(crate::neural::Neural<'a>),
    /// The encoder plus an n-gram table (no word list), their scores summed.
    #[cfg(feature = "neural")]
    Hybrid(crate::neural::Neural<'a>, HybridTable<'a>),
}

impl<'a> Emission<'a> {
    /// Normalisation flags (`text::NORMALIZE_*`) the model's features expect.
    #[inline]
    pub(crate) fn normalization(&self) -> u8 {
        match self {
            Self::Hashed(m) => m.normalization,
            #[cfg(feature = "neural")]
            Self::Neural(m) | Self::Hybrid(m, _) => m.normalization,
        }
    }

    /// The word list the model's features read (empty for a model without one).
    #[inline]
    pub(crate) fn words(&self) -> &Lexicon<'a> {
        match self {
            Self::Hashed(m) => &m.lexicon,
            #[cfg(feature = "neural")]
            Self::Neural(_) | Self::Hybrid(..) => &NO_WORDS,
        }
    }

    /// Writes the score of each tag `0..L` at the window's centre into `out[..L]` (score units; each at
    /// most `MAX_TEMPLATES * 2^15` in magnitude). Entries at and above `L` are left as they are. `ctx`
    /// must have been built and advanced with this model's normalisation and word list. `cache` carries
    /// work from one position to the next (a neural encoder's activations): the scores are the same
    /// whatever it holds, and cheapest when `ctx` is the window of the last call moved one position on.
    // Only a neural encoder reads `cache`.
    #[cfg_attr(not(feature = "neural"), allow(unused_variables))]
    #[inline]
    pub(crate) fn scores<const N: usize>(&self, ctx: &Context, cache: &mut EmissionCache, out: &mut [i32; N]) {
        match self {
            Self::Hashed(m) => m.scores(ctx, out),
            #[cfg(feature = "neural")]
            Self::Neural(m) => cache.neural().scores(m, ctx, out),
            #[cfg(feature = "neural")]
            Self::Hybrid(neural, table) => {
                cache.neural().scores(neural, ctx, out);
                let mut rows = [0i32; N];
                table.scores(ctx, &mut rows);
                // Each part is within the bound; their sum saturates at it, as the encoder's scores do.
                let limit = (MAX_TEMPLATES as i32) << 15;
                for (o, r) in out.iter_mut().zip(rows).take(neural.num_tags()) {
                    *o = (*o + r).clamp(-limit, limit);
                }
            }
        }
    }
}

/// What an emission model carries from one scored position to the next: a neural encoder's recent
/// activations (`neural_cache`, 3.3 KiB, made on first use), nothing for an n-gram model. Any state gives
/// the same scores: the neural cache checks that each window continues the one before.
#[derive(Debug, Clone)]
pub(crate) struct EmissionCache {
    #[cfg(feature = "neural")]
    neural: Option<crate::neural_cache::NeuralCache>,
}

impl EmissionCache {
    /// A cache holding nothing yet.
    pub(crate) const fn new() -> Self {
        Self {
            #[cfg(feature = "neural")]
            neural: None,
        }
    }

    /// The neural encoder's cache, made on first use.
    #[cfg(feature = "neural")]
    #[inline]
    fn neural(&mut self) -> &mut crate::neural_cache::NeuralCache {
        // Matched by place (`ref mut`), so that the `None` arm holds no borrow of the slot.
        match self.neural {
            Some(ref mut cache) => cache,
            None => start_neural_cache(&mut self.neural),
        }
    }
}

/// Makes the neural cache in `slot`. Out of line: made inline, the 3.3 KiB value is built in the scoring
/// function's frame and copied, and that frame is on the stack for every position (3.5 KiB more peak
/// stack on the firmware); here the frame is gone before scoring starts.
#[cfg(feature = "neural")]
#[cold]
#[inline(never)]
fn start_neural_cache(slot: &mut Option<crate::neural_cache::NeuralCache>) -> &mut crate::neural_cache::NeuralCache {
    slot.insert(crate::neural_cache::NeuralCache::new())
}

/// Scores the positions of one sequence with one model: owns the model's emission and the feature
/// window, and advances the window only with that model's normalisation and word list, so the window can
/// never be out of step with the model that scores it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scorer<'a> {
    emission: Emission<'a>,
    ctx: Context,
}

impl<'a> Scorer<'a> {
    /// A scorer at the start of a sequence.
    pub(crate) const fn new(emission: Emission<'a>) -> Self {
        Self { emission, ctx: Context::empty() }
    }

    /// Back to the start of a (new) sequence.
    #[inline]
    pub(crate) fn reset(&mut self) {
        self.ctx = Context::empty();
    }

    /// Moves the window one character on: `ch` (raw; normalised here) enters at the far end, `MAX_OFFSET`
    /// characters ahead of the position scored next.
    #[inline(always)]
    pub(crate) fn shift_in(&mut self, ch: char) {
        self.shift_in_code(normalize(ch, self.emission.normalization()) as u32);
    }

    /// Moves the window one position past the end of the sequence.
    #[inline(always)]
    pub(crate) fn shift_in_end(&mut self) {
        self.shift_in_code(AFTER_END);
    }

    #[inline(always)]
    fn shift_in_code(&mut self, code: u32) {
        let Self { emission, ctx } = self;
        ctx.shift_in_with(code, emission.words());
    }

    /// The scores of the position at the window's centre (see [`Emission::scores`]).
    #[inline(always)]
    pub(crate) fn scores<const N: usize>(&self, cache: &mut EmissionCache, out: &mut [i32; N]) {
        self.emission.scores(&self.ctx, cache, out);
    }

    /// Positions the window on `position` of `chars` (raw characters; the sequence is exactly `chars`).
    pub(crate) fn seek(&mut self, chars: &[char], position: usize) {
        let flags = self.emission.normalization();
        let normalized = |i: usize| chars.get(i).map(|&c| normalize(c, flags));
        self.ctx = Context::at_fn(position, normalized, self.emission.words());
    }

    /// The rows of the hashed table each template reads at the window's centre: `visit(template index,
    /// row)`, once per row a feature reads (its hash's first). Nothing for a model of another kind.
    pub(crate) fn table_rows(&self, visit: impl FnMut(usize, usize)) {
        match &self.emission {
            Emission::Hashed(m) => m.table_rows(&self.ctx, visit),
            #[cfg(feature = "neural")]
            Emission::Hybrid(_, m) => m.table_rows(&self.ctx, visit),
            #[cfg(feature = "neural")]
            Emission::Neural(_) => {}
        }
    }
}

/// The hashed character n-gram model, borrowing its tables from the model bytes. Each template's feature
/// hash selects a row; the row holds the weights itself (`EmissionSpec::HashedNgram` of the format) or
/// one code into a shared codebook of weight rows (`EmissionSpec::CodebookNgram`).
#[derive(Debug, Clone, Copy)]
pub struct HashedNgram<'a> {
    pub(crate) templates: [Template; MAX_TEMPLATES],
    pub(crate) template_count: usize,
    /// The same templates grouped by kind, for [`HashedNgram::scores`].
    pub(crate) compiled: CompiledTemplates,
    /// Rows `R` of the hashed table (a power of two for direct weights).
    pub(crate) rows: u32,
    /// Rows read per feature `H` (1 for direct weights); validated `H * templates <= MAX_TEMPLATES`.
    pub(crate) hashes: u8,
    /// `[R]` codebook entries of the rows; `None` when the rows hold the weights.
    pub(crate) codes: Option<&'a [u8]>,
    pub(crate) weight_type: WeightType,
    pub(crate) weight_shift: u8,
    /// `[R][L]` elements (direct), or `[CODEBOOK_ENTRIES][L]` (codebook); length validated at load.
    pub(crate) weights: &'a [u8],
    pub(crate) num_tags: usize,
    pub(crate) normalization: u8,
    pub(crate) lookahead: usize,
    /// The word list of the lexicon templates (empty for a model without one).
    pub(crate) lexicon: Lexicon<'a>,
    /// For i8 weights and 4 tags: the bias templates' rows already summed the way
    /// [`HashedNgram::scores`] sums rows (`[even lanes, odd lanes]`); see [`Self::prepare`].
    pub(crate) bias_i8x4: [u32; 2],
}

impl HashedNgram<'_> {
    /// Fills the tables derived from the templates and weights (call once the other fields are set).
    pub(crate) fn prepare(&mut self) {
        let weights = self.weights;
        let mut acc = [0u32; 2];
        self.compiled.for_each_bias_hash(|h| {
            self.for_each_feature_row(h, |row| accumulate_i8x4(&mut acc, weights, row << 2));
        });
        self.bias_i8x4 = acc;
    }

    /// The feature templates, in file order.
    pub fn templates(&self) -> &[Template] {
        &self.templates[..self.template_count]
    }

    /// Number of rows of the hashed table.
    pub fn rows(&self) -> usize {
        self.rows as usize
    }

    /// log2 of the number of hash buckets of a model whose rows hold the weights; `None` for a codebook
    /// model.
    pub fn bucket_bits(&self) -> Option<u8> {
        match self.codes {
            None => Some(self.rows.trailing_zeros() as u8),
            Some(_) => None,
        }
    }

    /// `[R]` codebook entries of the rows, for a codebook model.
    pub fn codes(&self) -> Option<&[u8]> {
        self.codes
    }

    /// Element type of the weight table (or codebook).
    pub fn weight_type(&self) -> WeightType {
        self.weight_type
    }

    /// Bytes of the weight table, or of the codes and the codebook.
    pub fn weight_bytes(&self) -> usize {
        self.weights.len() + self.codes.map_or(0, <[u8]>::len)
    }

    /// The word list of the lexicon templates (empty for a model without one).
    pub fn lexicon(&self) -> &Lexicon<'_> {
        &self.lexicon
    }

    /// Rows read per feature (1 unless a codebook model says more).
    pub fn hashes_per_feature(&self) -> usize {
        usize::from(self.hashes)
    }

    /// The rows of the hashed table each template selects at `ctx`: `visit(template index, row)`, once per
    /// row a feature reads (its hash's first).
    pub(crate) fn table_rows(&self, ctx: &Context, mut visit: impl FnMut(usize, usize)) {
        for (index, template) in self.templates().iter().enumerate() {
            for hash in feature_hashes(template.hash(index, ctx), self.hashes) {
                visit(index, row(hash, self.rows));
            }
        }
    }

    /// Adds the weight rows of the feature with hash `hash` (one row, or two with `H = 2`) to `acc[..L]`,
    /// unshifted: the token-level models' general path (any weight type, any tag count).
    #[cfg(feature = "tokens")]
    pub(crate) fn accumulate<const N: usize>(&self, hash: u32, acc: &mut [i32; N]) {
        let l = self.num_tags.min(N);
        let weights = self.weights;
        self.for_each_feature_row(hash, |row| match self.weight_type {
            WeightType::I8 => {
                if let Some(row) = weights.get(row * l..row * l + l) {
                    for (a, &w) in acc.iter_mut().zip(row) {
                        *a += i32::from(w as i8);
                    }
                }
            }
            WeightType::I16 => {
                if let Some(row) = weights.get(row * 2 * l..(row + 1) * 2 * l) {
                    for (a, w) in acc.iter_mut().zip(row.chunks_exact(2)) {
                        *a += i32::from(i16::from_le_bytes([w[0], w[1]]));
                    }
                }
            }
        });
    }

    /// Calls `visit` with the row of `weights` of each of the feature's hashes.
    #[inline(always)]
    fn for_each_feature_row(&self, hash: u32, mut visit: impl FnMut(usize)) {
        // The hashes of `feature_hashes`, spelled out: on the Cortex-M3 its iterator costs markedly more
        // instructions a character (`cargo xtask firmware measure` shows it).
        visit(self.weight_row(hash));
        if self.hashes == 2 {
            visit(self.weight_row(second_hash(hash)));
        }
    }

    /// The row of `weights` a feature hash reads: its table row, or that row's codebook entry.
    #[inline(always)]
    fn weight_row(&self, hash: u32) -> usize {
        let table_row = row(hash, self.rows);
        match self.codes {
            // Lengths are checked at load; a missing code (impossible) reads entry 0.
            Some(codes) => codes.get(table_row).map_or(0, |&c| usize::from(c)),
            None => table_row,
        }
    }
}

impl HashedNgram<'_> {
    /// Normalisation flags (`text::NORMALIZE_*`) the model's features expect.
    pub fn normalization(&self) -> u8 {
        self.normalization
    }

    /// How many characters after the current one the scores depend on (at most `MAX_OFFSET`).
    pub fn lookahead(&self) -> usize {
        self.lookahead
    }

    /// See [`Emission::scores`].
    #[inline]
    fn scores<const N: usize>(&self, ctx: &Context, out: &mut [i32; N]) {
        // One loop for both table kinds: the branch on `codes` in `weight_row` costs two instructions a
        // feature, where a copy of every loop per kind doubled the decoder's code on Cortex-M. Sums stay
        // within MAX_TEMPLATES rows (validated `H * templates <= MAX_TEMPLATES`), as the score bound and
        // the 16-bit lanes below need.
        let l = self.num_tags.min(N);
        let weights = self.weights;
        // Weights are summed unshifted and shifted once: sum(w << s) == sum(w) << s exactly (no overflow:
        // |sum| <= 32 * 2^15). Rows are in bounds by the length check at load; `get` keeps it panic-free.
        let shift = u32::from(self.weight_shift);
        match (self.weight_type, l) {
            // 64-bit hosts sum the four sign-extended weights directly (one vector add).
            #[cfg(target_pointer_width = "64")]
            (WeightType::I8, 4) => {
                let mut acc = [0i32; 4];
                self.compiled.for_each_hash(ctx, |h| {
                    self.for_each_feature_row(h, |row| {
                        let row = row << 2;
                        if let Some(&[a, b, c, d]) = weights.get(row..row + 4) {
                            acc[0] += i32::from(a as i8);
                            acc[1] += i32::from(b as i8);
                            acc[2] += i32::from(c as i8);
                            acc[3] += i32::from(d as i8);
                        }
                    });
                });
                for (o, a) in out.iter_mut().zip(acc) {
                    *o = a << shift;
                }
            }
            #[cfg(not(target_pointer_width = "64"))]
            (WeightType::I8, 4) => {
                // Two tags per 32-bit accumulator: each weight biased by 128 to `0..=255` sits in a 16-bit
                // lane (tags 0 and 2 in `even`, 1 and 3 in `odd`); at most 32 rows sum to at most
                // 8160 < 2^16 per lane, so lanes never carry into each other. The bias is removed at the
                // end, which gives exactly the sum of the signed weights.
                // The biases' rows are constant: summed once by `prepare`.
                let mut acc = self.bias_i8x4;
                self.compiled.for_each_context_hash(ctx, |h| {
                    self.for_each_feature_row(h, |row| accumulate_i8x4(&mut acc, weights, row << 2));
                });
                // Element by element: a loop over the four here is not unrolled on thumb.
                let [a, b, c, d] = unpack_i8x4(acc, self.compiled.len() * usize::from(self.hashes));
                out[0] = a << shift;
                out[1] = b << shift;
                out[2] = c << shift;
                out[3] = d << shift;
            }
            (WeightType::I8, _) => {
                let mut acc = [0i32; N];
                self.compiled.for_each_hash(ctx, |h| {
                    self.for_each_feature_row(h, |row| {
                        let row = row * l;
                        if let Some(row) = weights.get(row..row + l) {
                            for (a, &w) in acc.iter_mut().zip(row) {
                                *a += i32::from(w as i8);
                            }
                        }
                    });
                });
                for (o, a) in out[..l].iter_mut().zip(acc) {
                    *o = a << shift;
                }
            }
            (WeightType::I16, _) => {
                let mut acc = [0i32; N];
                self.compiled.for_each_hash(ctx, |h| {
                    self.for_each_feature_row(h, |row| {
                        let row = row * 2 * l;
                        if let Some(row) = weights.get(row..row + 2 * l) {
                            for (a, w) in acc.iter_mut().zip(row.chunks_exact(2)) {
                                *a += i32::from(i16::from_le_bytes([w[0], w[1]]));
                            }
                        }
                    });
                });
                for (o, a) in out[..l].iter_mut().zip(acc) {
                    *o = a << shift;
                }
            }
        }
    }
}

/// Adds the i8 row of 4 weights at byte `row` to `acc = [even lanes, odd lanes]`: each weight
/// biased by 128 to `0..=255` in a 16-bit lane, tags 0 and 2 in `acc[0]`, 1 and 3 in `acc[1]`.
#[inline(always)]
fn accumulate_i8x4(acc: &mut [u32; 2], weights: &[u8], row: usize) {
    // A missing row (impossible: lengths are checked at load) counts as zeros.
    let w = match weights.get(row..row + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    } ^ 0x8080_8080;
    acc[0] += w & 0x00FF_00FF;
    acc[1] += (w >> 8) & 0x00FF_00FF;
}

/// The four signed sums from the lanes [`accumulate_i8x4`] filled with `rows` rows (at most 257).
#[cfg(any(test, not(target_pointer_width = "64")))]
#[inline(always)]
fn unpack_i8x4(acc: [u32; 2], rows: usize) -> [i32; 4] {
    let [even, odd] = acc;
    let bias = rows as i32 * 128;
    [(even & 0xFFFF) as i32 - bias, (odd & 0xFFFF) as i32 - bias, (even >> 16) as i32 - bias, (odd >> 16) as i32 - bias]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_lanes_sum_like_signed_weights() {
        // Extremes and a pseudo-random mix, up to MAX_TEMPLATES rows each.
        let mut weights = [0u8; 4 * 64];
        let mut x = 0x1234_5678u32;
        for (i, w) in weights.iter_mut().enumerate() {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *w = match i / 64 {
                0 => 0x80,
                1 => 0x7F,
                _ => (x >> 24) as u8,
            };
        }
        for start in [0usize, 16, 32, 48] {
            for rows in 0..=MAX_TEMPLATES.min(64 - start) {
                let mut acc = [0u32; 2];
                let mut expected = [0i32; 4];
                for r in start..start + rows {
                    accumulate_i8x4(&mut acc, &weights, 4 * r);
                    for (e, &w) in expected.iter_mut().zip(&weights[4 * r..4 * r + 4]) {
                        *e += i32::from(w as i8);
                    }
                }
                assert_eq!(unpack_i8x4(acc, rows), expected, "rows {start}..{}", start + rows);
            }
        }
    }
}

/// The n-gram table of a hybrid model: a view of its validated tables that decodes its templates at each
/// position. A [`HashedNgram`] beside the encoder would make every `Model` (the C API's storage bound) and
/// every labeler larger by its precompiled templates; the encoder's work dwarfs the decoding anyway.
#[cfg(feature = "neural")]
#[derive(Debug, Clone, Copy)]
pub struct HybridTable<'a> {
    /// `[K][TEMPLATE_BYTES]`, each validated at load (no lexicon template).
    templates: &'a [u8],
    rows: u32,
    hashes: u8,
    codes: Option<&'a [u8]>,
    weight_type: WeightType,
    weight_shift: u8,
    /// `[R][L]` elements (direct), or `[CODEBOOK_ENTRIES][L]` (codebook); length validated at load.
    weights: &'a [u8],
    num_tags: u8,
}

#[cfg(feature = "neural")]
impl<'a> HybridTable<'a> {
    /// The view of `table`, validated, whose templates are `templates` (the same, encoded).
    pub(crate) fn new(table: &HashedNgram<'a>, templates: &'a [u8]) -> Self {
        Self {
            templates,
            rows: table.rows,
            hashes: table.hashes,
            codes: table.codes,
            weight_type: table.weight_type,
            weight_shift: table.weight_shift,
            weights: table.weights,
            num_tags: table.num_tags as u8,
        }
    }

    /// The feature templates, in file order.
    pub fn templates(&self) -> impl Iterator<Item = Template> + 'a {
        self.templates
            .chunks_exact(crate::features::TEMPLATE_BYTES)
            .filter_map(|c| Template::decode([c[0], c[1], c[2], c[3]]))
    }

    /// Number of rows of the hashed table.
    pub fn rows(&self) -> usize {
        self.rows as usize
    }

    /// Element type of the weight table (or codebook).
    pub fn weight_type(&self) -> WeightType {
        self.weight_type
    }

    /// Left shift from a stored weight to score units.
    pub fn weight_shift(&self) -> u8 {
        self.weight_shift
    }

    /// Bytes of the weight table, or of the codes and the codebook.
    pub fn weight_bytes(&self) -> usize {
        self.weights.len() + self.codes.map_or(0, <[u8]>::len)
    }

    /// Calls `visit` with the row of `weights` each feature hash of each template reads at `ctx`.
    fn for_each_weight_row(&self, ctx: &Context, mut visit: impl FnMut(usize)) {
        for (index, template) in self.templates().enumerate() {
            for hash in feature_hashes(template.hash(index, ctx), self.hashes) {
                let table_row = row(hash, self.rows);
                // Lengths are checked at load; a missing code (impossible) reads entry 0.
                let weight_row = match self.codes {
                    Some(codes) => codes.get(table_row).map_or(0, |&c| usize::from(c)),
                    None => table_row,
                };
                visit(weight_row);
            }
        }
    }

    /// The rows of the hashed table each template selects at `ctx`: `visit(template index, row)`, once
    /// per row a feature reads (its hash's first).
    pub(crate) fn table_rows(&self, ctx: &Context, mut visit: impl FnMut(usize, usize)) {
        for (index, template) in self.templates().enumerate() {
            for hash in feature_hashes(template.hash(index, ctx), self.hashes) {
                visit(index, row(hash, self.rows));
            }
        }
    }

    /// The table's scores at `ctx` into `out[..L]`: the rows summed, shifted once (within
    /// `±MAX_TEMPLATES * 2^15`, as an n-gram model's).
    pub(crate) fn scores<const N: usize>(&self, ctx: &Context, out: &mut [i32; N]) {
        let l = usize::from(self.num_tags).min(N);
        let weights = self.weights;
        let mut acc = [0i32; N];
        self.for_each_weight_row(ctx, |weight_row| match self.weight_type {
            WeightType::I8 => {
                if let Some(row) = weights.get(weight_row * l..(weight_row + 1) * l) {
                    for (a, &w) in acc.iter_mut().zip(row) {
                        *a += i32::from(w as i8);
                    }
                }
            }
            WeightType::I16 => {
                if let Some(row) = weights.get(weight_row * 2 * l..(weight_row + 1) * 2 * l) {
                    for (a, w) in acc.iter_mut().zip(row.chunks_exact(2)) {
                        *a += i32::from(i16::from_le_bytes([w[0], w[1]]));
                    }
                }
            }
        });
        for (o, a) in out[..l].iter_mut().zip(acc) {
            *o = a << self.weight_shift;
        }
    }
}

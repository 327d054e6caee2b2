//! Viterbi decoding in `i32` with hard masking, on a precomputed score matrix or column by column.
//!
//! # Hard masking
//!
//! A forbidden transition, start or end tag is never *compared*, whatever the scores: each column keeps a
//! `live` bitmask of the tags some allowed path reaches, a tag's predecessors are taken only from the
//! allowed and live ones, the first column only from the allowed start tags, and the final choice only
//! from the live allowed end tags. Nothing is penalised with a large negative number, so no score can
//! "win" through a forbidden transition.
//!
//! # Overflow freedom
//!
//! After every column the largest live score is subtracted from every live score (renormalisation), so
//! the best live score is always 0. With
//!
//! - `E = MAX_TEMPLATES * 2^15 = 2^20` bounding one position's emission score (each weight, after its
//!   shift, fits an `i16`, and there are at most 32 templates; [`viterbi`] clamps caller-supplied
//!   emissions to `±E`),
//! - `S = 2^15` bounding every transition, start and end score (they are `i16`),
//! - `k <= (L-1)^2 + 1 <= 226` the primitivity exponent of the allowed-transition graph (checked at load:
//!   any tag reaches any tag in exactly `k` allowed steps),
//!
//! every live score after renormalisation lies in `[-2k(E+S), 0]`, and `2k(E+S) <= 488_767_488 < 2^29`.
//! Proof: at column `t >= k`, let `b` be the best state of column `t-k` (score 0). Every tag is live at
//! `t` and reachable from `b` in exactly `k` steps, so its score is at least `0 - k(E+S)`; every path to
//! column `t` passes through some state of column `t-k`, whose score is at most 0, so the best score at
//! `t` is at most `k(E+S)`. The spread is therefore at most `2k(E+S)`. For `t < k` the same argument from
//! the first column (or from the restart state of a forced cut in the streaming labeler) gives at most
//! `2(t+1)(E+S) <= 2k(E+S)`. Before renormalisation a value is a live score plus one transition plus one
//! emission, within `±(2^29 + 2^21)`, well inside `±2^30`; adding the end score keeps it there. So no
//! addition can overflow `i32`. The tests decode 100,000 positions of extreme scores for every `L` up
//! to 16 with overflow checks on, and a `debug_assert` checks the bound on every column.
//!
//! The 32-tag lattice of `wide-tags` (token-level models of 17 to 32 tags) has `k <= 31^2 + 1 = 962`, so
//! `2k(E+S) = 2_080_505_856 < 2^31 - 2^26` ([`max_spread`]`(32)`), and a value before renormalisation
//! stays within `±(2^31 - 2^26 + 2^21)`: still no overflow, with less room (its tests decode extreme
//! scores for 17, 24 and 32 tags).
//!
//! # Tie-breaking
//!
//! Deterministic: among predecessors with equal scores the lowest tag index wins, and among final
//! tags with equal scores (end score included) the lowest tag index wins. Equivalently, among all
//! best-scoring allowed sequences the decoder returns the one that is smallest when compared from the
//! **last** position backwards. Renormalisation subtracts the same number from every live score, so it
//! never changes a comparison.
//!
//! # Memory
//!
//! Back-pointers are packed: `ceil(log2 L)` bits per tag (at least 1), a row per position padded to 1, 2,
//! 4 or 8 bytes ([`row_bytes`]): one byte per character for `L <= 4` (BMES), 2 bytes for `L = 5`, 4 for
//! `L <= 8`, 8 for `L <= 16`; one byte per tag for more (the 32-tag lattice). [`viterbi`] and
//! [`label_chars`] need [`backpointer_bytes`]`(L, T)` bytes of
//! caller-supplied buffer and a fixed stack of about 2 KiB ([`TransitionScores`] is about 1.5 KiB: the
//! `[16][16]` `i32` transition table plus masks and predecessor lists; a column is 68 bytes).

use crate::emission::{EmissionCache, Scorer};
use crate::error::{LatticeError, Tensor};
#[cfg(feature = "wide-tags")]
use crate::limits::MAX_TAGS;
use crate::limits::{MAX_CHAR_TAGS, MAX_OFFSET, MAX_TEMPLATES};
use crate::model::Model;
use crate::spans::{allowed_table, span_at, span_code, SpanRules, AFTER_WORD};
use crate::tags::ChunkRoles;
use crate::tags::{all_tags, all_tags_in, Constraints, TagMask};
#[cfg(feature = "tokens")]
use crate::tokens::TokenColumns;

/// Largest magnitude of one position's emission score: `MAX_TEMPLATES * 2^15 = 2^20` score units.
pub const MAX_EMISSION: i32 = (MAX_TEMPLATES as i32) << 15;
/// Largest primitivity exponent of a graph on `MAX_CHAR_TAGS` tags (Wielandt): `(16-1)^2 + 1 = 226`.
pub const MAX_EXPONENT: i32 = ((MAX_CHAR_TAGS as i32) - 1) * ((MAX_CHAR_TAGS as i32) - 1) + 1;
/// Largest spread between the best and any live score of a column, in score units:
/// `2 * MAX_EXPONENT * (MAX_EMISSION + 2^15) = 488_767_488 < 2^29` (see the module docs for the proof).
pub const MAX_SPREAD: i32 = 2 * MAX_EXPONENT * (MAX_EMISSION + (1 << 15));

/// [`MAX_SPREAD`] for a lattice of `tags` tags (`tags <= 32`): `2 ((tags-1)^2 + 1) (MAX_EMISSION + 2^15)`,
/// [`MAX_SPREAD`] for 16 tags and `2_080_505_856 < 2^31 - 2^26` for 32 (see the module docs).
pub const fn max_spread(tags: usize) -> i32 {
    let k = (tags as i32 - 1) * (tags as i32 - 1) + 1;
    2 * k * (MAX_EMISSION + (1 << 15))
}

/// Bits of one packed back-pointer: `ceil(log2 L)`, at least 1.
pub const fn backpointer_bits(num_tags: usize) -> u32 {
    if num_tags <= 2 {
        1
    } else {
        usize::BITS - (num_tags - 1).leading_zeros()
    }
}

/// Bytes of one packed back-pointer row (all `L` tags of one position): `L * ceil(log2 L)` bits rounded up
/// to 1, 2, 4 or 8 bytes; for more than 16 tags (the 32-tag lattice of `wide-tags`), one byte per tag.
pub const fn row_bytes(num_tags: usize) -> usize {
    if num_tags > MAX_CHAR_TAGS {
        return num_tags;
    }
    let bits = num_tags * backpointer_bits(num_tags) as usize;
    let bytes = bits.div_ceil(8);
    if bytes <= 1 {
        1
    } else {
        bytes.next_power_of_two()
    }
}

/// Bytes of back-pointer buffer [`viterbi`] and [`label_chars`] need for `len` positions of `num_tags`
/// tags: `(len - 1) * row_bytes(num_tags)` (the first position has no back-pointers).
pub const fn backpointer_bytes(num_tags: usize, len: usize) -> usize {
    len.saturating_sub(1) * row_bytes(num_tags)
}

/// The CRF layer ready for decoding: transition, start and end scores widened to `i32`, with the
/// validated hard constraints as predecessor bitmasks and lists, for up to `N` tags in masks `M`. About
/// 1.5 KiB for the default 16 tags (5.5 KiB for 32); build it once per model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionScores<M: TagMask = u16, const N: usize = MAX_CHAR_TAGS> {
    num_tags: usize,
    /// `[to][from]` transition scores (score units), so a column's inner loop reads contiguously. Entries
    /// at or above `L` are 0.
    trans: [[i32; N]; N],
    /// `[L]` start scores (score units).
    start: [i32; N],
    /// `[L]` end scores (score units).
    end: [i32; N],
    /// `prev[to]`: bitmask of the tags allowed to precede `to`.
    prev: [M; N],
    /// `preds[to]`: the tags allowed to precede `to`, ascending, then the last one repeated up to
    /// `N` entries (the fast path for columns where every tag is live: a repeated candidate equals an
    /// earlier one and never wins under the strict `>`, so every list can be scanned to a fixed length).
    preds: [[u8; N]; N],
    /// Largest number of allowed predecessors of a tag.
    max_preds: usize,
    /// Tags without any allowed predecessor (none for validated constraints).
    orphans: M,
    /// All `L` tags.
    full: M,
    constraints: Constraints<M, N>,
    exponent: usize,
}

impl<M: TagMask, const N: usize> TransitionScores<M, N> {
    /// Scores from raw arrays (tests, tools): `transitions` is `[L][L]` (`[from * L + to]`), `start` and
    /// `end` are `[L]`, all in score units; `constraints` must pass
    /// [`Constraints::validate`](crate::tags::Constraints::validate).
    pub fn new(
        constraints: &Constraints<M, N>,
        transitions: &[i16],
        start: &[i16],
        end: &[i16],
    ) -> Result<Self, LatticeError> {
        let exponent = constraints.validate().map_err(LatticeError::Constraints)?;
        let l = constraints.num_tags;
        let check = |tensor, found: usize, expected: usize| {
            if found == expected {
                Ok(())
            } else {
                Err(LatticeError::ScoresShape { tensor, expected, found })
            }
        };
        check(Tensor::Transitions, transitions.len(), l * l)?;
        check(Tensor::Start, start.len(), l)?;
        check(Tensor::End, end.len(), l)?;
        let mut s = Self::empty(*constraints, exponent);
        for (from, row) in transitions.chunks_exact(l).enumerate() {
            for (to, &v) in row.iter().enumerate() {
                s.trans[to][from] = i32::from(v);
            }
        }
        for (i, (&a, &b)) in start.iter().zip(end).enumerate() {
            s.start[i] = i32::from(a);
            s.end[i] = i32::from(b);
        }
        Ok(s)
    }

    fn empty(constraints: Constraints<M, N>, exponent: usize) -> Self {
        let l = constraints.num_tags.min(N);
        let mut prev = [M::NONE; N];
        for (from, &next) in constraints.next.iter().enumerate().take(l) {
            for (to, p) in prev.iter_mut().enumerate().take(l) {
                if next & M::bit(to) != M::NONE {
                    *p |= M::bit(from);
                }
            }
        }
        let mut preds = [[0u8; N]; N];
        let mut max_preds = 0;
        let mut orphans = M::NONE;
        for to in 0..l {
            let mut count = 0;
            for from in 0..l {
                if prev[to] & M::bit(from) != M::NONE {
                    preds[to][count] = from as u8;
                    count += 1;
                }
            }
            if count == 0 {
                orphans |= M::bit(to);
            } else {
                let last = preds[to][count - 1];
                preds[to][count..].fill(last);
            }
            max_preds = max_preds.max(count);
        }
        Self {
            num_tags: l,
            trans: [[0; N]; N],
            start: [0; N],
            end: [0; N],
            prev,
            preds,
            max_preds,
            orphans,
            full: all_tags_in(l),
            constraints,
            exponent,
        }
    }

    /// Number of tags `L`.
    pub fn num_tags(&self) -> usize {
        self.num_tags
    }

    /// The hard constraints decoding obeys.
    pub fn constraints(&self) -> &Constraints<M, N> {
        &self.constraints
    }

    /// Primitivity exponent of the allowed-transition graph.
    pub fn primitive_exponent(&self) -> usize {
        self.exponent
    }

    /// Transition score `from -> to` (score units; 0 out of range).
    pub fn transition(&self, from: usize, to: usize) -> i32 {
        self.trans.get(to).and_then(|r| r.get(from)).copied().unwrap_or(0)
    }

    /// Start score of `tag` (score units; 0 out of range).
    pub fn start_score(&self, tag: usize) -> i32 {
        self.start.get(tag).copied().unwrap_or(0)
    }

    /// End score of `tag` (score units; 0 out of range).
    pub fn end_score(&self, tag: usize) -> i32 {
        self.end.get(tag).copied().unwrap_or(0)
    }

    /// First column: the allowed start tags among `allowed` (all allowed start tags when none of
    /// `allowed` may start), scored `start + emission`, renormalised. Returns the subtracted maximum.
    #[inline]
    pub(crate) fn first(&self, col: &mut Column<M, N>, emission: &[i32; N], allowed: M) -> i32 {
        let starts = self.constraints.start & all_tags_in(self.num_tags);
        col.live = if starts & allowed != M::NONE { starts & allowed } else { starts };
        let mut max = i32::MIN;
        let mut rest = col.live;
        while rest != M::NONE {
            let to = tz::<M, N>(rest);
            rest &= rest - M::ONE;
            let v = self.start[to] + emission[to];
            col.score[to] = v;
            max = max.max(v);
        }
        col.renormalise(max);
        max
    }

    /// The best final tag of a column: the live allowed end tags, scored with their end score, lowest index
    /// on ties. Returns the tag and its score. If no live tag may end (impossible for validated
    /// constraints, see [`Constraints::validate`]) the best live tag is returned instead.
    #[inline]
    pub(crate) fn best_end(&self, col: &Column<M, N>) -> (usize, i32) {
        let ends = col.live & self.constraints.end;
        let (candidates, with_end) = if ends != M::NONE { (ends, true) } else { (col.live, false) };
        let mut best = (0usize, i32::MIN);
        let mut rest = candidates;
        while rest != M::NONE {
            let tag = tz::<M, N>(rest);
            rest &= rest - M::ONE;
            let v = col.score[tag] + if with_end { self.end[tag] } else { 0 };
            if v > best.1 {
                best = (tag, v);
            }
        }
        best
    }
}

impl TransitionScores {
    /// The scores and constraints of a (validated) model. A model of more than 16 tags (a token-level
    /// model of `wide-tags`, decoded by [`label_tokens`]) gets the one-tag lattice here (every unit tag 0):
    /// the character labelers that use this one never label it otherwise.
    pub fn from_model(model: &Model<'_>) -> Self {
        #[cfg(feature = "wide-tags")]
        if model.num_tags() > MAX_CHAR_TAGS {
            return Self::empty(Constraints::unconstrained(1), 1);
        }
        let l = model.num_tags().min(MAX_CHAR_TAGS);
        let mut s = Self::empty(*model.constraints(), model.primitive_exponent());
        for to in 0..l {
            for from in 0..l {
                s.trans[to][from] = model.transition(from, to);
            }
            s.start[to] = model.start_score(to);
            s.end[to] = model.end_score(to);
        }
        s
    }

    /// One Viterbi column: for every tag with a live allowed predecessor, the best predecessor (lowest
    /// index on ties) into `args[to]`, and the new renormalised scores. Returns the packed back-pointer row
    /// and the subtracted maximum.
    #[inline]
    pub(crate) fn step(&self, col: &mut Column, emission: &[i32; MAX_CHAR_TAGS]) -> (u64, i32) {
        if col.live == self.full && self.orphans == 0 {
            match (self.num_tags, self.max_preds) {
                (4, 2) => self.step_full::<4, 2>(col, emission),
                (4, 3) => self.step_full::<4, 3>(col, emission),
                (4, _) => self.step_full::<4, 4>(col, emission),
                _ => self.step_full_any(col, emission),
            }
        } else {
            self.step_masked(col, emission, self.full)
        }
    }

    /// [`Self::step`] with only the tags of `allowed` (a forced span's mask, see `spans.rs`); when no
    /// allowed tag can be reached, the mask is ignored, so every column keeps a live tag.
    #[inline(always)]
    pub(crate) fn step_allowed(&self, col: &mut Column, emission: &[i32; MAX_CHAR_TAGS], allowed: u16) -> (u64, i32) {
        if allowed == self.full {
            self.step(col, emission)
        } else {
            self.step_masked(col, emission, allowed)
        }
    }

    /// [`Self::step`] when every tag is live (the steady state; every tag has an allowed predecessor), for
    /// `N` tags of which none has more than `P` allowed predecessors: fixed trip counts, fully unrolled,
    /// branch-free. Every allowed predecessor is live, and only allowed ones are in `preds`.
    #[inline(always)]
    fn step_full<const N: usize, const P: usize>(
        &self,
        col: &mut Column,
        emission: &[i32; MAX_CHAR_TAGS],
    ) -> (u64, i32) {
        let bits = backpointer_bits(N);
        let mut next = [0i32; N];
        let mut row = 0u64;
        let mut row32 = 0u32;
        let mut max = i32::MIN;
        for (to, v) in next.iter_mut().enumerate() {
            let list = &self.preds[to];
            let trans = &self.trans[to];
            let first = usize::from(list[0]) & (MAX_CHAR_TAGS - 1);
            let mut best = col.score[first] + trans[first];
            let mut arg = first;
            for &from in &list[1..P] {
                let from = usize::from(from) & (MAX_CHAR_TAGS - 1);
                let c = col.score[from] + trans[from];
                // Ascending list and a strict `>`: the lowest predecessor wins ties. Branch-free select.
                let take = -i32::from(c > best);
                best = (c & take) | (best & !take);
                arg = (from & take as usize) | (arg & !(take as usize));
            }
            *v = best + emission[to];
            max = max.max(*v);
            // A 64-bit shift costs a branch-free sequence on 32-bit cores: use 32 bits when the row fits.
            if N * bits as usize <= 32 {
                row32 |= (arg as u32) << (to as u32 * bits);
            } else {
                row |= (arg as u64) << (to as u32 * bits);
            }
        }
        for (s, &v) in col.score.iter_mut().zip(&next) {
            *s = v - max;
            debug_assert!(*s >= -MAX_SPREAD, "score spread bound violated");
        }
        (row | u64::from(row32), max)
    }

    /// [`Self::step_full`] for any `L`, scanning every padded predecessor list to `max_preds` entries.
    fn step_full_any(&self, col: &mut Column, emission: &[i32; MAX_CHAR_TAGS]) -> (u64, i32) {
        let l = self.num_tags.min(MAX_CHAR_TAGS);
        let bits = backpointer_bits(l);
        let p = self.max_preds.clamp(1, MAX_CHAR_TAGS);
        let mut next = [0i32; MAX_CHAR_TAGS];
        let mut row = 0u64;
        let mut max = i32::MIN;
        for (to, v) in next.iter_mut().enumerate().take(l) {
            let list = &self.preds[to];
            let trans = &self.trans[to];
            let first = usize::from(list[0]) & (MAX_CHAR_TAGS - 1);
            let mut best = col.score[first] + trans[first];
            let mut arg = first;
            for &from in &list[1..p] {
                let from = usize::from(from) & (MAX_CHAR_TAGS - 1);
                let c = col.score[from] + trans[from];
                if c > best {
                    best = c;
                    arg = from;
                }
            }
            *v = best + emission[to];
            max = max.max(*v);
            row |= (arg as u64) << (to as u32 * bits);
        }
        for (s, &v) in col.score.iter_mut().zip(&next).take(l) {
            *s = v - max;
            debug_assert!(*s >= -MAX_SPREAD, "score spread bound violated");
        }
        (row, max)
    }

    /// [`Self::step`] for columns where some tags are not live (the first `k` columns of a sequence, or
    /// after a forced cut, or constrained by `allowed`): predecessors are taken from `prev[to] & live`,
    /// and only tags of `allowed` are scored unless that leaves none live.
    fn step_masked(&self, col: &mut Column, emission: &[i32; MAX_CHAR_TAGS], allowed: u16) -> (u64, i32) {
        // With a user dictionary most columns are constrained: the common tag count gets fixed trip counts
        // and a 4-score pass (clearing and copying 16 scores per column cost a Cortex-M3 about 80
        // instructions). The other cases share one out-of-line pass (flash is tight on the Cortex-M3 with
        // a dictionary).
        if self.num_tags == 4 {
            let pass = self.masked_pass::<4>(col, emission, allowed);
            if pass.live != 0 || allowed == self.full {
                return col.take(pass);
            }
        } else {
            let pass = self.any_masked_pass(col, emission, allowed);
            if pass.live != 0 || allowed == self.full {
                return col.take(pass);
            }
        }
        // No allowed tag is reachable: score every tag instead.
        let pass = self.any_masked_pass(col, emission, self.full);
        col.take(pass)
    }

    /// [`Self::masked_pass`] for any tag count.
    #[inline(never)]
    fn any_masked_pass(
        &self,
        col: &Column,
        emission: &[i32; MAX_CHAR_TAGS],
        allowed: u16,
    ) -> MaskedPass<MAX_CHAR_TAGS> {
        self.masked_pass::<MAX_CHAR_TAGS>(col, emission, allowed)
    }

    /// Scores the tags of `allowed` that have a live predecessor.
    #[inline(always)]
    fn masked_pass<const N: usize>(
        &self,
        col: &Column,
        emission: &[i32; MAX_CHAR_TAGS],
        allowed: u16,
    ) -> MaskedPass<N> {
        let bits = backpointer_bits(self.num_tags);
        let mut next = [0i32; N];
        let mut live = 0u16;
        let mut row = 0u64;
        let mut row32 = 0u32;
        let mut max = i32::MIN;
        let l = self.num_tags.min(N);
        for to in 0..l {
            let preds = self.prev[to] & col.live;
            if preds == 0 || allowed & (1 << to) == 0 {
                continue;
            }
            let (best, arg) = best_predecessor::<u16, MAX_CHAR_TAGS>(preds, &col.score, &self.trans[to]);
            let v = best + emission[to];
            next[to] = v;
            max = max.max(v);
            live |= 1 << to;
            // A 64-bit shift costs a branch-free sequence on 32-bit cores: use 32 bits when the row fits.
            if N * 4 <= 32 {
                row32 |= (arg as u32) << (to as u32 * bits);
            } else {
                row |= (arg as u64) << (to as u32 * bits);
            }
        }
        if N * 4 <= 32 {
            row = u64::from(row32);
        }
        MaskedPass { next, live, row, max }
    }
}

/// The 32-tag lattice of `wide-tags` (token-level models of 17 to 32 tags): every column takes the
/// predecessors of each tag among the live allowed ones, as [`TransitionScores::step_masked`] does,
/// and writes the back-pointers one byte per tag.
#[cfg(feature = "wide-tags")]
impl TransitionScores<u32, MAX_TAGS> {
    /// The scores and constraints of a (validated) model of any tag count.
    pub fn from_model_wide(model: &Model<'_>) -> Self {
        let l = model.num_tags().min(MAX_TAGS);
        let mut s = Self::empty(model.constraints_in(), model.primitive_exponent());
        for to in 0..l {
            for from in 0..l {
                s.trans[to][from] = model.transition(from, to);
            }
            s.start[to] = model.start_score(to);
            s.end[to] = model.end_score(to);
        }
        s
    }

    /// One column: for every tag with a live allowed predecessor, its best predecessor (lowest index on
    /// ties) into `args[to]`, and the new renormalised scores. Returns the subtracted maximum.
    fn step_wide(&self, col: &mut Column<u32, MAX_TAGS>, emission: &[i32; MAX_TAGS], args: &mut [u8]) -> i32 {
        let mut next = [0i32; MAX_TAGS];
        let mut live = 0u32;
        let mut max = i32::MIN;
        for (to, arg_out) in args.iter_mut().enumerate().take(self.num_tags.min(MAX_TAGS)) {
            let preds = self.prev[to] & col.live;
            if preds == 0 {
                continue;
            }
            let (best, arg) = best_predecessor::<u32, MAX_TAGS>(preds, &col.score, &self.trans[to]);
            let v = best + emission[to];
            next[to] = v;
            max = max.max(v);
            live |= 1 << to;
            *arg_out = arg as u8;
        }
        col.score = next;
        col.live = live;
        col.renormalise(max);
        max
    }
}

/// [`decode`] on the 32-tag lattice: rows of one byte per tag.
#[cfg(feature = "wide-tags")]
fn decode_wide(
    scores: &TransitionScores<u32, MAX_TAGS>,
    len: usize,
    backpointers: &mut [u8],
    tags: &mut [u8],
    mut emissions: impl Iterator<Item = [i32; MAX_TAGS]>,
) -> Result<i64, LatticeError> {
    let l = scores.num_tags();
    // One byte per tag: `backpointer_bytes(l, len)` for the `l > 16` this lattice is for.
    let stride = l.max(1);
    let needed = len.saturating_sub(1) * stride;
    if backpointers.len() < needed {
        return Err(LatticeError::BackpointersTooSmall { needed, found: backpointers.len() });
    }
    if tags.len() < len {
        return Err(LatticeError::TagsTooSmall { needed: len, found: tags.len() });
    }
    if len == 0 {
        return Ok(0);
    }
    let mut col = Column::<u32, MAX_TAGS>::new();
    let e = emissions.next().unwrap_or([0; MAX_TAGS]);
    let mut total = i64::from(scores.first(&mut col, &e, all_tags_in(l)));
    for row in backpointers.chunks_exact_mut(stride).take(len - 1) {
        let e = emissions.next().unwrap_or([0; MAX_TAGS]);
        total += i64::from(scores.step_wide(&mut col, &e, row));
    }
    let (mut tag, last) = scores.best_end(&col);
    total += i64::from(last);
    for t in (0..len).rev() {
        if let Some(slot) = tags.get_mut(t) {
            *slot = tag as u8;
        }
        if t > 0 {
            tag = backpointers.get((t - 1) * stride + tag).map_or(0, |&b| usize::from(b)) & (MAX_TAGS - 1);
        }
    }
    Ok(total)
}

/// One pass of [`TransitionScores::step_masked`] over the first `N` tags: their new scores (before
/// renormalising; those of dead tags are left 0), live tags, packed back-pointers and best score.
struct MaskedPass<const N: usize> {
    next: [i32; N],
    live: u16,
    row: u64,
    max: i32,
}

/// One lattice column: renormalised scores of the live tags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column<M: TagMask = u16, const N: usize = MAX_CHAR_TAGS> {
    /// `[L]` scores (score units, in `[-MAX_SPREAD, 0]` for live tags; garbage for the others).
    pub(crate) score: [i32; N],
    /// Tags some allowed path reaches.
    pub(crate) live: M,
}

impl<M: TagMask, const N: usize> Column<M, N> {
    pub(crate) const fn new() -> Self {
        Self { score: [0; N], live: M::NONE }
    }

    #[inline]
    fn renormalise(&mut self, max: i32) {
        let mut rest = self.live;
        while rest != M::NONE {
            let tag = tz::<M, N>(rest);
            rest &= rest - M::ONE;
            self.score[tag] -= max;
            debug_assert!(self.score[tag] >= -max_spread(N), "score spread bound violated");
        }
    }
}

impl Column {
    /// Takes a pass's scores and live tags, renormalised: the column its step returns.
    #[inline(always)]
    fn take<const P: usize>(&mut self, pass: MaskedPass<P>) -> (u64, i32) {
        // Only the first `P` scores: the others belong to no live tag, so they may keep the old values.
        for (score, &next) in self.score.iter_mut().zip(&pass.next) {
            *score = next;
        }
        self.live = pass.live;
        self.renormalise(pass.max);
        (pass.row, pass.max)
    }
}

/// Index of the lowest set bit of a non-zero mask, masked so indexing `[_; N]` needs no check.
#[inline(always)]
fn tz<M: TagMask, const N: usize>(mask: M) -> usize {
    (mask.lowest() as usize) & (N - 1)
}

/// The best of the predecessors `preds` (non-empty) of one tag: the highest `score[from] + trans[from]`
/// and its `from`, the lowest index on ties.
#[inline(always)]
fn best_predecessor<M: TagMask, const N: usize>(mut preds: M, score: &[i32; N], trans: &[i32; N]) -> (i32, usize) {
    let mut arg = tz::<M, N>(preds);
    preds &= preds - M::ONE;
    let mut best = score[arg] + trans[arg];
    while preds != M::NONE {
        let from = tz::<M, N>(preds);
        preds &= preds - M::ONE;
        let c = score[from] + trans[from];
        if c > best {
            best = c;
            arg = from;
        }
    }
    (best, arg)
}

/// Reads the back-pointer of `tag` from a packed row.
#[inline(always)]
pub(crate) fn unpack(row: u64, tag: usize, bits: u32) -> usize {
    ((row >> (tag as u32 * bits)) & ((1 << bits) - 1)) as usize & (MAX_CHAR_TAGS - 1)
}

/// Reads a packed row of `stride` (1, 2, 4 or 8) bytes at `offset`; 0 when out of range.
#[inline(always)]
pub(crate) fn read_row(buf: &[u8], offset: usize, stride: usize) -> u64 {
    match stride {
        1 => buf.get(offset).map_or(0, |&b| u64::from(b)),
        2 => buf.get(offset..offset + 2).map_or(0, |b| u64::from(u16::from_le_bytes([b[0], b[1]]))),
        4 => buf.get(offset..offset + 4).map_or(0, |b| u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        _ => buf.get(offset..offset + 8).map_or(0, |b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        }),
    }
}

/// Writes the low `stride` bytes of a packed row at `offset` (nothing when out of range).
#[inline(always)]
pub(crate) fn write_row(buf: &mut [u8], offset: usize, stride: usize, row: u64) {
    let bytes = row.to_le_bytes();
    match stride {
        1 => {
            if let Some(b) = buf.get_mut(offset) {
                *b = bytes[0];
            }
        }
        _ => {
            if let (Some(dst), Some(src)) = (buf.get_mut(offset..offset + stride), bytes.get(..stride)) {
                dst.copy_from_slice(src);
            }
        }
    }
}

/// Whole-sequence Viterbi over a precomputed emission matrix.
///
/// - `emissions`: `[T][L]` scores (score units), row-major; each is clamped to `±MAX_EMISSION`.
/// - `backpointers`: at least [`backpointer_bytes`]`(L, T)` bytes of scratch.
/// - `tags_out`: at least `T` entries; `tags_out[..T]` receives the best allowed tag sequence (ties
///   broken as in the module docs).
///
/// Returns the score of that sequence (start + transitions + emissions + end, score units); 0 for `T = 0`.
pub fn viterbi(
    emissions: &[i32],
    scores: &TransitionScores,
    backpointers: &mut [u8],
    tags_out: &mut [u8],
) -> Result<i64, LatticeError> {
    let l = scores.num_tags();
    if emissions.len() % l != 0 {
        return Err(LatticeError::EmissionShape { len: emissions.len(), num_tags: l });
    }
    let rows = emissions.chunks_exact(l);
    decode(
        scores,
        rows.len(),
        backpointers,
        tags_out,
        rows.map(|row| {
            let mut e = [0i32; MAX_CHAR_TAGS];
            for (dst, &src) in e.iter_mut().zip(row) {
                *dst = src.clamp(-MAX_EMISSION, MAX_EMISSION);
            }
            (e, all_tags(l))
        }),
    )
}

/// [`viterbi`] on the 32-tag lattice of `wide-tags` (any `L` up to 32; back-pointers one byte per tag:
/// `(T - 1) * L` bytes, which is [`backpointer_bytes`]`(L, T)` for `L > 16`).
#[cfg(feature = "wide-tags")]
pub fn viterbi_wide(
    emissions: &[i32],
    scores: &TransitionScores<u32, MAX_TAGS>,
    backpointers: &mut [u8],
    tags_out: &mut [u8],
) -> Result<i64, LatticeError> {
    let l = scores.num_tags();
    if emissions.len() % l != 0 {
        return Err(LatticeError::EmissionShape { len: emissions.len(), num_tags: l });
    }
    let rows = emissions.chunks_exact(l);
    decode_wide(
        scores,
        rows.len(),
        backpointers,
        tags_out,
        rows.map(|row| {
            let mut e = [0i32; MAX_TAGS];
            for (dst, &src) in e.iter_mut().zip(row) {
                *dst = src.clamp(-MAX_EMISSION, MAX_EMISSION);
            }
            e
        }),
    )
}

/// Whole-line labelling with one model into caller buffers: the best allowed tag sequence of a whole
/// sequence of characters, by exact Viterbi (no window, no forced cut). It holds the model's transition
/// scores widened for decoding (about 1.5 KiB) and its emission model, so build it once per model and
/// label many lines with it; scores and emissions always come from the same model.
///
/// ```
/// let bytes = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.crfm"));
/// let model = decoder::Model::from_bytes(bytes)?;
/// let labeler = decoder::LineLabeler::new(&model);
///
/// let chars: Vec<char> = "我们在学习中文".chars().collect();
/// let mut backpointers = vec![0u8; labeler.backpointer_bytes(chars.len())];
/// let mut tags = vec![0u8; chars.len()];
/// labeler.label(&chars, &mut backpointers, &mut tags)?;
/// let names: Vec<&str> = tags.iter().map(|&t| model.tag_name(usize::from(t)).unwrap()).collect();
/// assert_eq!(names.concat(), "BESBEBE"); // 我们 在 学习 中文
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct LineLabeler<'m> {
    scores: TransitionScores,
    scorer: Scorer<'m>,
    rules: SpanRules<'m>,
    /// Allowed tags per span constraint code.
    allowed: [u16; 16],
}

impl<'m> LineLabeler<'m> {
    /// A labeler for `model`: the model's best labels, with no forced span ([`SpanRules::NONE`]).
    pub fn new(model: &Model<'m>) -> Self {
        Self::with_rules(model, SpanRules::NONE)
    }

    /// A labeler for `model` that keeps the spans `rules` asks for (see [`SpanRules`]), by constrained
    /// Viterbi.
    pub fn with_rules(model: &Model<'m>, rules: SpanRules<'m>) -> Self {
        let allowed = allowed_table(&ChunkRoles::from_names(model.tag_names()), model.num_tags());
        Self { scores: TransitionScores::from_model(model), scorer: model.scorer(), rules, allowed }
    }

    /// Number of tags `L` of the model.
    pub fn num_tags(&self) -> usize {
        self.scores.num_tags()
    }

    /// Bytes of back-pointer buffer [`LineLabeler::label`] needs for `len` characters:
    /// `(len - 1) * row_bytes(L)`, one byte per character for up to 4 tags.
    pub fn backpointer_bytes(&self, len: usize) -> usize {
        backpointer_bytes(self.num_tags(), len)
    }

    /// Labels `chars` as one sequence of raw characters: normalisation, features (positions outside
    /// `chars` read as outside the sequence), emissions and Viterbi; `tags[..chars.len()]` receives the
    /// tag indices. White space is not treated specially here: the streaming labelers split runs at
    /// separators and label each run exactly like this.
    ///
    /// `backpointers` needs [`LineLabeler::backpointer_bytes`]`(chars.len())` bytes, `tags` at least
    /// `chars.len()` entries, or a [`LatticeError`] says which is short. Returns the best path's score
    /// (score units of the model).
    pub fn label(&self, chars: &[char], backpointers: &mut [u8], tags: &mut [u8]) -> Result<i64, LatticeError> {
        let mut scorer = self.scorer;
        scorer.reset();
        let mut cache = EmissionCache::new();
        let mut ahead = chars.iter().copied();
        for _ in 0..MAX_OFFSET {
            match ahead.next() {
                Some(c) => scorer.shift_in(c),
                None => scorer.shift_in_end(),
            }
        }
        // The current span (`t` past its end: find the next one, or a free position).
        let (mut span_start, mut span_len, mut span_word) = (0usize, 0usize, false);
        let mut after_word = false;
        let mut t = 0usize;
        let emissions = core::iter::from_fn(|| {
            match ahead.next() {
                Some(c) => scorer.shift_in(c),
                None => scorer.shift_in_end(),
            }
            let mut e = [0i32; MAX_CHAR_TAGS];
            scorer.scores(&mut cache, &mut e);
            let mut code = 0;
            if t >= span_start + span_len {
                if after_word {
                    code = AFTER_WORD;
                }
                let (len, word) = span_at(&self.rules, chars.get(t..).unwrap_or(&[]));
                (span_start, span_len, span_word) = (t, len.max(1), word);
                after_word = word;
            }
            code |= span_code(span_word, t - span_start, span_len);
            t += 1;
            Some((e, self.allowed[usize::from(code & 15)]))
        });
        decode(&self.scores, chars.len(), backpointers, tags, emissions)
    }
}

/// [`LineLabeler::label`] with a labeler built for this one call (tests and tools; build a
/// [`LineLabeler`] once to label many sequences).
pub fn label_chars(
    model: &Model<'_>,
    chars: &[char],
    backpointers: &mut [u8],
    tags: &mut [u8],
) -> Result<i64, LatticeError> {
    LineLabeler::new(model).label(chars, backpointers, tags)
}

/// Labels one sequence of tokens with a token-level model ([`Model::is_token_level`]): its emission
/// scores from the model's token templates over `tokens`' columns, then the hard-masked Viterbi, into
/// `tags[..n]` for `n` tokens. `backpointers` needs [`backpointer_bytes`]`(L, n)` bytes. Returns the
/// best path's score. A model that is not token-level scores every token 0 (only its CRF layer counts).
#[cfg(feature = "tokens")]
pub fn label_tokens(
    model: &Model<'_>,
    tokens: &(impl TokenColumns + ?Sized),
    backpointers: &mut [u8],
    tags: &mut [u8],
) -> Result<i64, LatticeError> {
    let len = tokens.token_count();
    #[cfg(feature = "wide-tags")]
    if model.num_tags() > MAX_CHAR_TAGS {
        let scores = TransitionScores::from_model_wide(model);
        return decode_wide(
            &scores,
            len,
            backpointers,
            tags,
            (0..len).map(|position| {
                let mut e = [0i32; MAX_TAGS];
                model.token_scores(tokens, position, &mut e);
                e
            }),
        );
    }
    let scores = TransitionScores::from_model(model);
    let full = all_tags(model.num_tags());
    decode(
        &scores,
        len,
        backpointers,
        tags,
        (0..len).map(|position| {
            let mut e = [0i32; MAX_CHAR_TAGS];
            model.token_scores(tokens, position, &mut e);
            (e, full)
        }),
    )
}

/// The shared whole-sequence driver: `len` columns from `emissions`, traceback into `tags`.
fn decode(
    scores: &TransitionScores,
    len: usize,
    backpointers: &mut [u8],
    tags: &mut [u8],
    mut emissions: impl Iterator<Item = ([i32; MAX_CHAR_TAGS], u16)>,
) -> Result<i64, LatticeError> {
    let l = scores.num_tags();
    let needed = backpointer_bytes(l, len);
    if backpointers.len() < needed {
        return Err(LatticeError::BackpointersTooSmall { needed, found: backpointers.len() });
    }
    if tags.len() < len {
        return Err(LatticeError::TagsTooSmall { needed: len, found: tags.len() });
    }
    if len == 0 {
        return Ok(0);
    }
    let stride = row_bytes(l);
    let bits = backpointer_bits(l);
    let mut col = Column::new();
    let full = all_tags(l);
    let (e, allowed) = emissions.next().unwrap_or(([0; MAX_CHAR_TAGS], full));
    let mut total = i64::from(scores.first(&mut col, &e, allowed));
    for t in 1..len {
        let (e, allowed) = emissions.next().unwrap_or(([0; MAX_CHAR_TAGS], full));
        let (row, max) = scores.step_allowed(&mut col, &e, allowed);
        total += i64::from(max);
        write_row(backpointers, (t - 1) * stride, stride, row);
    }
    let (mut tag, last) = scores.best_end(&col);
    total += i64::from(last);
    for t in (0..len).rev() {
        if let Some(slot) = tags.get_mut(t) {
            *slot = tag as u8;
        }
        if t > 0 {
            tag = unpack(read_row(backpointers, (t - 1) * stride, stride), tag, bits);
        }
    }
    Ok(total)
}

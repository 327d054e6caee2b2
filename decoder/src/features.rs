//! Feature templates of the hashed character n-gram emission model, and the hash that maps a feature to a
//! row of the weight table. The trainer and the decoder both call these, so a feature hashes to the same
//! bucket on both sides.

use crate::lexicon::{lexicon_value, listed_ending_at, NoWords, WordSet, WordSpan, MAX_WORD_CHARS};
use crate::text::{char_class, CharClass};

/// Largest absolute character offset a template may use.
pub const MAX_OFFSET: usize = 4;
/// Width of a [`Context`] window: offsets `-MAX_OFFSET..=MAX_OFFSET`.
pub const WINDOW: usize = 2 * MAX_OFFSET + 1;

/// Feature code of a position before the start of the sequence.
pub const BEFORE_START: u32 = 0x11_0000;
/// Feature code of a position after the end of the sequence.
pub const AFTER_END: u32 = 0x11_0001;

/// The normalised characters around the current position: `codes[MAX_OFFSET + k]` is the character at
/// offset `k` (as a `u32` scalar value), or [`BEFORE_START`] / [`AFTER_END`] outside the sequence;
/// `classes` holds their [`CharClass`] as `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// `[WINDOW]` character codes, offset `-MAX_OFFSET` first.
    pub codes: [u32; WINDOW],
    /// `[WINDOW]` character classes (`CharClass as u8`).
    pub classes: [u8; WINDOW],
    /// `classes` packed 3 bits each, offset `-MAX_OFFSET` highest: `sum(classes[s] * 8^(WINDOW-1-s))`
    /// (every class is below 8), so a class span is a shift and a mask.
    class_bits: u32,
    /// Which spans of the window are listed words (see [`crate::lexicon`]): bit `4 * last + (len - 2)`
    /// for the span of `len` (2..=5) slots ending at slot `last`. Only spans inside the window count.
    word_bits: u64,
}

/// The bits of [`Context::word_bits`] whose span lies inside the window (it starts at slot 0 or later).
const WORD_BITS_IN_WINDOW: u64 = {
    let mut mask = 0u64;
    let mut last = 0;
    while last < WINDOW {
        let mut len = 2;
        while len <= MAX_WORD_CHARS {
            if len <= last + 1 {
                mask |= 1 << word_bit(last, len);
            }
            len += 1;
        }
        last += 1;
    }
    mask
};

/// The bit of [`Context::word_bits`] of the span of `len` slots ending at slot `last`.
#[inline]
const fn word_bit(last: usize, len: usize) -> u32 {
    (4 * last + len - 2) as u32
}

impl Context {
    /// A window with every position outside the sequence (before its start).
    pub const fn empty() -> Self {
        let classes = [CharClass::Boundary as u8; WINDOW];
        Self { codes: [BEFORE_START; WINDOW], classes, class_bits: pack_classes(&classes), word_bits: 0 }
    }

    /// Builds the window at `position` of a sequence of normalised characters, for a model without a
    /// word list.
    pub fn at(chars: &[char], position: usize) -> Self {
        Self::at_with(chars, position, &NoWords)
    }

    /// [`Context::at`] for a model whose word list is `words`.
    pub fn at_with(chars: &[char], position: usize, words: &impl WordSet) -> Self {
        let mut ctx = Self::empty();
        for slot in 0..WINDOW {
            let index = (position + slot).checked_sub(MAX_OFFSET);
            ctx.codes[slot] = match index {
                None => BEFORE_START,
                Some(i) => chars.get(i).map_or(AFTER_END, |&c| c as u32),
            };
            ctx.classes[slot] = class_of_code(ctx.codes[slot]);
        }
        ctx.class_bits = pack_classes(&ctx.classes);
        if !words.is_empty() {
            for last in 0..WINDOW {
                ctx.word_bits |= listed_ending_at(&ctx.codes, last, words) << (4 * last);
            }
        }
        ctx
    }

    /// Is the span of `len` slots ending at slot `last` a listed word?
    #[inline]
    pub(crate) fn listed(&self, last: usize, len: usize) -> bool {
        (2..=MAX_WORD_CHARS).contains(&len) && last < WINDOW && (self.word_bits >> word_bit(last, len)) & 1 == 1
    }

    /// Shifts the window one position forward and puts `code` (a character, or [`AFTER_END`]) at the far
    /// end: the streaming decoders' way to advance, for a model without a word list.
    #[inline]
    pub fn shift_in(&mut self, code: u32) {
        self.shift_in_with(code, &NoWords);
    }

    /// [`Context::shift_in`] for a model whose word list is `words`: only the spans ending at the new
    /// character are looked up (at most 4), the others move with the window.
    #[inline]
    pub fn shift_in_with(&mut self, code: u32, words: &impl WordSet) {
        // Spelled out element by element: a loop (or `copy_within`) becomes a `memmove` call.
        let [_, c1, c2, c3, c4, c5, c6, c7, c8] = self.codes;
        self.codes = [c1, c2, c3, c4, c5, c6, c7, c8, code];
        let [_, k1, k2, k3, k4, k5, k6, k7, k8] = self.classes;
        let class = class_of_code(code);
        self.classes = [k1, k2, k3, k4, k5, k6, k7, k8, class];
        self.class_bits = ((self.class_bits << 3) | u32::from(class)) & CLASS_BITS_MASK;
        if !words.is_empty() {
            self.word_bits = (self.word_bits >> 4) & WORD_BITS_IN_WINDOW;
            self.word_bits |= listed_ending_at(&self.codes, WINDOW - 1, words) << (4 * (WINDOW - 1));
        }
    }

    #[inline]
    fn code(&self, offset: i8) -> u32 {
        self.codes[slot(offset)]
    }
}

/// The bits of [`Context::class_bits`]: 3 per slot.
const CLASS_BITS_MASK: u32 = (1 << (3 * WINDOW)) - 1;

/// [`Context::class_bits`] of `classes` (each below 8).
const fn pack_classes(classes: &[u8; WINDOW]) -> u32 {
    let mut packed = 0u32;
    let mut i = 0;
    while i < WINDOW {
        packed = packed * 8 + classes[i] as u32;
        i += 1;
    }
    packed
}

#[inline]
fn slot(offset: i8) -> usize {
    // Offsets are validated to `-MAX_OFFSET..=MAX_OFFSET` when a template is decoded.
    (offset as isize + MAX_OFFSET as isize) as usize
}

#[inline]
fn class_of_code(code: u32) -> u8 {
    match char::from_u32(code) {
        Some(c) => char_class(c) as u8,
        None => CharClass::Boundary as u8,
    }
}

/// One feature template. Offsets are relative to the current character, in `-MAX_OFFSET..=MAX_OFFSET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    /// A constant feature: a per-tag bias.
    Bias,
    /// The character at one offset.
    Char(i8),
    /// The characters at two offsets.
    Pair(i8, i8),
    /// The characters at three offsets.
    Triple(i8, i8, i8),
    /// The classes of all characters from the first offset to the second, inclusive.
    ClassSpan(i8, i8),
    /// The length of the longest word of the model's word list in the span (0 for none; see
    /// [`crate::lexicon`]). Only models with a word list ([`crate::format::EmissionSpec::LexiconNgram`])
    /// may use it.
    Lexicon(WordSpan),
    /// A [`Template::Lexicon`] feature conjoined with the character at an offset: what the word list
    /// says, as this character reads it (a listed word's first character may still start another word).
    LexiconChar(WordSpan, i8),
}

/// Bytes per encoded template in the model file: kind, then three offsets as `i8`.
pub const TEMPLATE_BYTES: usize = 4;

impl Template {
    /// The file encoding: `[kind, a, b, c]`, unused offsets 0.
    pub const fn encode(self) -> [u8; TEMPLATE_BYTES] {
        match self {
            Self::Bias => [1, 0, 0, 0],
            Self::Char(a) => [2, a as u8, 0, 0],
            Self::Pair(a, b) => [3, a as u8, b as u8, 0],
            Self::Triple(a, b, c) => [4, a as u8, b as u8, c as u8],
            Self::ClassSpan(a, b) => [5, a as u8, b as u8, 0],
            Self::Lexicon(span) => [6, span.encode(), 0, 0],
            Self::LexiconChar(span, a) => [7, span.encode(), a as u8, 0],
        }
    }

    /// Parses and validates one encoded template; `None` if the kind is unknown, an offset is out of
    /// range, an unused offset is not 0, or a class span is reversed.
    pub fn decode(bytes: [u8; TEMPLATE_BYTES]) -> Option<Self> {
        let [kind, a, b, c] = bytes;
        let (a, b, c) = (a as i8, b as i8, c as i8);
        let ok = |o: i8| o.unsigned_abs() as usize <= MAX_OFFSET;
        let template = match (kind, a, b, c) {
            (1, 0, 0, 0) => Self::Bias,
            (2, a, 0, 0) if ok(a) => Self::Char(a),
            (3, a, b, 0) if ok(a) && ok(b) => Self::Pair(a, b),
            (4, a, b, c) if ok(a) && ok(b) && ok(c) => Self::Triple(a, b, c),
            (5, a, b, 0) if ok(a) && ok(b) && a <= b => Self::ClassSpan(a, b),
            (6, span, 0, 0) => Self::Lexicon(WordSpan::decode(span as u8)?),
            (7, span, a, 0) if ok(a) => Self::LexiconChar(WordSpan::decode(span as u8)?, a),
            _ => return None,
        };
        Some(template)
    }

    /// The oldest model format version that has this template: 1 for the n-gram kinds, 3 for
    /// [`Template::Lexicon`] (which also needs a word list), 4 for [`WordSpan::Covering`] and
    /// [`Template::LexiconChar`].
    pub const fn format_version(self) -> u16 {
        match self {
            Self::Bias | Self::Char(_) | Self::Pair(..) | Self::Triple(..) | Self::ClassSpan(..) => 1,
            Self::Lexicon(WordSpan::Starting | WordSpan::Ending | WordSpan::Inside) => 3,
            Self::Lexicon(WordSpan::Covering) | Self::LexiconChar(..) => 4,
        }
    }

    /// Smallest and largest offset the template reads (0 for [`Template::Bias`]).
    pub fn offset_range(self) -> (i8, i8) {
        match self {
            Self::Bias => (0, 0),
            Self::Char(a) => (a, a),
            Self::Pair(a, b) | Self::ClassSpan(a, b) => (a.min(b), a.max(b)),
            Self::Triple(a, b, c) => (a.min(b).min(c), a.max(b).max(c)),
            Self::Lexicon(span) => span.offset_range(),
            Self::LexiconChar(span, a) => {
                let (low, high) = span.offset_range();
                (low.min(a), high.max(a))
            }
        }
    }

    /// The feature's 32-bit hash for template number `index` in the model's list at context `ctx` (a
    /// [`Template::Lexicon`] reads the word bits the context was built with).
    #[inline]
    pub fn hash(self, index: usize, ctx: &Context) -> u32 {
        let h = seed(index);
        let h = match self {
            Self::Bias => h,
            Self::Char(a) => mix(h, ctx.code(a)),
            Self::Pair(a, b) => mix(mix(h, ctx.code(a)), ctx.code(b)),
            Self::Triple(a, b, c) => mix(mix(mix(h, ctx.code(a)), ctx.code(b)), ctx.code(c)),
            Self::ClassSpan(a, b) => {
                let mut packed = 0u32;
                for &class in &ctx.classes[slot(a)..=slot(b)] {
                    packed = packed * 8 + u32::from(class);
                }
                mix(h, packed)
            }
            Self::Lexicon(span) => mix(h, lexicon_value(span, ctx)),
            Self::LexiconChar(span, a) => mix(mix(h, lexicon_value(span, ctx)), ctx.code(a)),
        };
        finalize(h)
    }
}

/// The hash seed of template number `index`.
#[inline]
const fn seed(index: usize) -> u32 {
    (index as u32).wrapping_add(1).wrapping_mul(0x85EB_CA77)
}

/// Templates regrouped by kind for decoding: the same hashes as [`Template::hash`], computed in uniform
/// branch-free loops (one per kind) instead of dispatching on each template's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompiledTemplates {
    /// `[count]` entries grouped by kind: Bias, Char, Pair, Triple, ClassSpan, Lexicon, LexiconChar.
    entries: [Compiled; crate::MAX_TEMPLATES],
    /// End (exclusive) of each kind's group in `entries`.
    ends: [u8; KINDS],
}

/// Template kinds, each compiled into its own group.
const KINDS: usize = 7;

/// One template: its seed and the window slots (`0..WINDOW`) it reads (for a class span: its shift and
/// width in bits within `Context::class_bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Compiled {
    /// The template's seed; for a bias (which reads nothing) already its finalised hash.
    seed: u32,
    slots: [u8; 3],
}

impl CompiledTemplates {
    /// Compiles validated templates (at most `MAX_TEMPLATES`; extra ones are ignored).
    pub(crate) fn new(templates: &[Template]) -> Self {
        let mut out = Self { entries: [Compiled { seed: 0, slots: [0; 3] }; crate::MAX_TEMPLATES], ends: [0; KINDS] };
        let mut n = 0usize;
        for (kind, end) in out.ends.iter_mut().enumerate() {
            for (index, &t) in templates.iter().enumerate().take(crate::MAX_TEMPLATES) {
                let (k, slots) = match t {
                    Template::Bias => (0, [0, 0, 0]),
                    Template::Char(a) => (1, [slot(a), 0, 0]),
                    Template::Pair(a, b) => (2, [slot(a), slot(b), 0]),
                    Template::Triple(a, b, c) => (3, [slot(a), slot(b), slot(c)]),
                    // The span's shift and width in `Context::class_bits`.
                    Template::ClassSpan(a, b) => (4, [3 * (WINDOW - 1 - slot(b)), 3 * (slot(b) + 1 - slot(a)), 0]),
                    Template::Lexicon(span) => (5, [usize::from(span.encode()), 0, 0]),
                    Template::LexiconChar(span, a) => (6, [usize::from(span.encode()), slot(a), 0]),
                };
                if k == kind {
                    if let Some(e) = out.entries.get_mut(n) {
                        // A bias has no characters to mix in: store its final hash.
                        let seed = if k == 0 { finalize(seed(index)) } else { seed(index) };
                        *e = Compiled { seed, slots: slots.map(|s| s as u8) };
                        n += 1;
                    }
                }
            }
            *end = n as u8;
        }
        out
    }

    /// Number of templates.
    #[cfg(any(test, not(target_pointer_width = "64")))]
    #[inline]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.ends[KINDS - 1])
    }

    /// Calls `visit` with the hash of every template, grouped by kind (not in file order). Inlined into the
    /// caller so hashing, the row read and the accumulation form one loop body per kind.
    #[inline(always)]
    pub(crate) fn for_each_hash(&self, ctx: &Context, mut visit: impl FnMut(u32)) {
        self.for_each_bias_hash(&mut visit);
        self.for_each_context_hash(ctx, visit);
    }

    /// The part of [`Self::for_each_hash`] that does not depend on the context: the biases' hashes.
    #[inline(always)]
    pub(crate) fn for_each_bias_hash(&self, mut visit: impl FnMut(u32)) {
        let e0 = usize::from(self.ends[0]).min(crate::MAX_TEMPLATES);
        for e in self.entries.get(..e0).unwrap_or(&[]) {
            visit(e.seed);
        }
    }

    /// The rest of [`Self::for_each_hash`]: every template but the biases.
    #[inline(always)]
    pub(crate) fn for_each_context_hash(&self, ctx: &Context, mut visit: impl FnMut(u32)) {
        let codes = &ctx.codes;
        // Slots are validated `< WINDOW`; the checks below are never taken.
        let code = |s: u8| codes.get(usize::from(s)).copied().unwrap_or(0);
        // Element by element: `array::map` here becomes a loop through the stack.
        let end = |k: usize| usize::from(self.ends[k]).min(crate::MAX_TEMPLATES);
        let (e0, e1, e2, e3, e4, e5, e6) = (end(0), end(1), end(2), end(3), end(4), end(5), end(6));
        let entries = &self.entries;
        for e in entries.get(e0..e1).unwrap_or(&[]) {
            visit(finalize(mix(e.seed, code(e.slots[0]))));
        }
        for e in entries.get(e1..e2).unwrap_or(&[]) {
            visit(finalize(mix(mix(e.seed, code(e.slots[0])), code(e.slots[1]))));
        }
        for e in entries.get(e2..e3).unwrap_or(&[]) {
            visit(finalize(mix(mix(mix(e.seed, code(e.slots[0])), code(e.slots[1])), code(e.slots[2]))));
        }
        for e in entries.get(e3..e4).unwrap_or(&[]) {
            // `sum(classes[s] * 8^(b-s))` over the span `a..=b`, as `Template::hash` folds it.
            let (shift, width) = (u32::from(e.slots[0]) & 31, u32::from(e.slots[1]) & 31);
            let packed = (ctx.class_bits >> shift) & ((1 << width) - 1);
            visit(finalize(mix(e.seed, packed)));
        }
        // One test skips both word-list loops for a model without a list (the firmware's default).
        if e4 < e6 {
            for e in entries.get(e4..e5).unwrap_or(&[]) {
                // Decoded from a valid span when compiled; the fallback is never taken.
                let span = WordSpan::decode(e.slots[0]).unwrap_or(WordSpan::Starting);
                visit(finalize(mix(e.seed, lexicon_value(span, ctx))));
            }
            for e in entries.get(e5..e6).unwrap_or(&[]) {
                let span = WordSpan::decode(e.slots[0]).unwrap_or(WordSpan::Starting);
                visit(finalize(mix(mix(e.seed, lexicon_value(span, ctx)), code(e.slots[1]))));
            }
        }
    }
}

#[inline]
pub(crate) fn mix(h: u32, x: u32) -> u32 {
    (h ^ x).wrapping_mul(0xCC9E_2D51).rotate_left(15).wrapping_mul(0x1B87_3593)
}

/// MurmurHash3's finaliser: every input bit affects every output bit, so the top bits make a good bucket.
#[inline]
pub(crate) fn finalize(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// The row of a `2^bits`-bucket table that a feature hash selects (`bits` in `1..=32`): the same row as
/// [`row`] with `2^bits` rows.
#[inline]
pub fn bucket(hash: u32, bits: u8) -> usize {
    (hash >> (32 - u32::from(bits))) as usize
}

/// The second hash of a feature whose template hash is `hash`: a codebook model with
/// `hashes_per_feature = 2` reads the rows of `hash` and of `second_hash(hash)` and sums them, so two
/// features rarely share both rows. A rotation, one instruction: [`row`] takes a row mostly from the
/// hash's high bits, so the second row comes mostly from the bits the first one ignores.
#[inline]
pub const fn second_hash(hash: u32) -> u32 {
    hash.rotate_left(16)
}

/// The hashes whose rows a feature reads with `hashes_per_feature` rows per feature (1 or 2): `hash`, then
/// [`second_hash`]`(hash)`.
#[inline(always)]
pub fn feature_hashes(hash: u32, hashes_per_feature: u8) -> impl Iterator<Item = u32> {
    [hash, second_hash(hash)].into_iter().take(usize::from(hashes_per_feature))
}

/// The row of an `rows`-row table that a feature hash selects: `(hash * rows) >> 32`, in `0..rows` for
/// any row count (a power of two or not), spreading hashes as evenly as [`bucket`] does.
#[inline]
pub fn row(hash: u32, rows: u32) -> usize {
    ((u64::from(hash) * u64::from(rows)) >> 32) as usize
}

/// The first emission model's templates: character unigrams at offsets -2..=2; bigrams (-2,-1), (-1,0),
/// (0,1), (1,2) and (-1,1); the class of the current character and of the window -1..=1; and a bias.
pub const DEFAULT_TEMPLATES: [Template; 13] = [
    Template::Bias,
    Template::Char(-2),
    Template::Char(-1),
    Template::Char(0),
    Template::Char(1),
    Template::Char(2),
    Template::Pair(-2, -1),
    Template::Pair(-1, 0),
    Template::Pair(0, 1),
    Template::Pair(1, 2),
    Template::Pair(-1, 1),
    Template::ClassSpan(0, 0),
    Template::ClassSpan(-1, 1),
];

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let spans = [WordSpan::Starting, WordSpan::Ending, WordSpan::Inside, WordSpan::Covering];
        let lexicon = spans.map(Template::Lexicon).into_iter().chain(spans.map(|s| Template::LexiconChar(s, -4)));
        let extra = [Template::Triple(-1, 0, 1), Template::LexiconChar(WordSpan::Covering, 0)];
        for t in DEFAULT_TEMPLATES.iter().copied().chain(extra).chain(lexicon) {
            assert_eq!(Template::decode(t.encode()), Some(t));
        }
        assert_eq!(Template::LexiconChar(WordSpan::Covering, -1).encode(), [7, 3, 0xFF, 0]);
        assert_eq!(Template::decode([6, 4, 0, 0]), None);
        assert_eq!(Template::decode([7, 4, 0, 0]), None);
        assert_eq!(Template::decode([7, 0, 5, 0]), None);
        assert_eq!(Template::decode([7, 0, 0, 1]), None);
        assert_eq!(Template::decode([6, 0, 1, 0]), None);
        assert_eq!(Template::decode([2, 5, 0, 0]), None);
        assert_eq!(Template::decode([5, 1, 0xFF, 0]), None);
        assert_eq!(Template::decode([9, 0, 0, 0]), None);
        assert_eq!(Template::decode([1, 1, 0, 0]), None);
    }

    #[test]
    fn context_shift_with_words_matches_direct_window() {
        let chars: std::vec::Vec<char> = "中华人民共和国成立了中华".chars().collect();
        let words = Words(
            ["中华", "人民", "共和国", "中华人民", "人民共和国", "成立"]
                .map(|w| crate::lexicon::word_hash(w.chars().map(|c| c as u32)))
                .into(),
        );
        let mut ctx = Context::empty();
        for i in 0..MAX_OFFSET {
            ctx.shift_in_with(chars.get(i).map_or(AFTER_END, |&c| c as u32), &words);
        }
        let mut seen = 0;
        for position in 0..chars.len() {
            ctx.shift_in_with(chars.get(position + MAX_OFFSET).map_or(AFTER_END, |&c| c as u32), &words);
            assert_eq!(ctx, Context::at_with(&chars, position, &words), "position {position}");
            seen |= ctx.word_bits;
        }
        assert_ne!(seen, 0, "some words were found");
    }

    #[test]
    fn context_shift_matches_direct_window() {
        let chars: [char; 3] = ['中', '文', 'a'];
        let mut ctx = Context::empty();
        // Prime the look-ahead the way a streaming decoder does.
        for i in 0..MAX_OFFSET {
            ctx.shift_in(chars.get(i).map_or(AFTER_END, |&c| c as u32));
        }
        for position in 0..chars.len() {
            ctx.shift_in(chars.get(position + MAX_OFFSET).map_or(AFTER_END, |&c| c as u32));
            assert_eq!(ctx, Context::at(&chars, position));
        }
    }

    /// Words by hash, for the lexicon templates.
    struct Words(std::vec::Vec<u32>);

    impl WordSet for Words {
        fn contains(&self, hash: u32) -> bool {
            self.0.contains(&hash)
        }
    }

    #[test]
    fn compiled_templates_hash_like_templates() {
        let mut templates = std::vec::Vec::from(DEFAULT_TEMPLATES);
        templates.extend([Template::Triple(-4, 0, 4), Template::ClassSpan(-4, 4), Template::Char(-4), Template::Bias]);
        templates.extend([WordSpan::Inside, WordSpan::Starting, WordSpan::Ending].map(Template::Lexicon));
        templates.extend([Template::LexiconChar(WordSpan::Covering, 0), Template::Lexicon(WordSpan::Covering)]);
        templates.push(Template::LexiconChar(WordSpan::Starting, -1));
        let compiled = CompiledTemplates::new(&templates);
        assert_eq!(compiled.len(), templates.len());
        let chars: [char; 7] = ['中', '文', 'a', '1', '，', '三', 'Z'];
        let words =
            Words(["中文", "文a1", "1，三Z"].map(|w| crate::lexicon::word_hash(w.chars().map(|c| c as u32))).into());
        let mut lexicon_values = std::collections::BTreeSet::new();
        let mut covering_values = std::collections::BTreeSet::new();
        for position in 0..chars.len() {
            for (with_words, ctx) in
                [(false, Context::at(&chars, position)), (true, Context::at_with(&chars, position, &words))]
            {
                for span in [WordSpan::Starting, WordSpan::Ending, WordSpan::Inside] {
                    lexicon_values.insert(lexicon_value(span, &ctx));
                }
                covering_values.insert(lexicon_value(WordSpan::Covering, &ctx));
                let mut expected: std::vec::Vec<u32> =
                    templates.iter().enumerate().map(|(i, t)| t.hash(i, &ctx)).collect();
                let mut got = std::vec::Vec::new();
                compiled.for_each_hash(&ctx, |h| got.push(h));
                expected.sort_unstable();
                got.sort_unstable();
                assert_eq!(got, expected, "position {position}, words {with_words}");
            }
        }
        // The words were found: lengths 0, 2, 3 and 4 all occur.
        assert_eq!(lexicon_values.into_iter().collect::<std::vec::Vec<_>>(), [0, 2, 3, 4]);
        // 8 * length + place: 中 of 中文, 文 and a of 文a1 (longer than 中文), 1 ， 三 Z of 1，三Z.
        assert_eq!(covering_values.into_iter().collect::<std::vec::Vec<_>>(), [0, 16, 24, 25, 32, 33, 34, 35]);
    }

    #[test]
    fn row_generalises_bucket() {
        for bits in 1..=24u8 {
            for hash in [0u32, 1, 0x8000_0000, 0xDEAD_BEEF, u32::MAX] {
                assert_eq!(row(hash, 1 << bits), bucket(hash, bits));
            }
        }
        assert_eq!(row(u32::MAX, 1), 0);
        assert_eq!(row(u32::MAX, 1000), 999);
        assert_eq!(row(0, 1000), 0);
    }

    #[test]
    fn hash_depends_on_template_index_and_characters() {
        let a = Context::at(&['中', '文'], 0);
        let b = Context::at(&['中', '国'], 0);
        assert_ne!(Template::Char(0).hash(0, &a), Template::Char(0).hash(1, &a));
        assert_eq!(Template::Char(0).hash(3, &a), Template::Char(0).hash(3, &b));
        assert_ne!(Template::Char(1).hash(3, &a), Template::Char(1).hash(3, &b));
    }
}

//! Feature templates of the hashed character n-gram emission model (with the one table of template
//! kinds), and the window of characters around a position that they read. The trainer hashes features
//! with [`template_hashes`] and the decoder with the same templates, so a feature hashes to the same row
//! on both sides.

use core::fmt;

use crate::hash::{finalize, mix};
use crate::lexicon::{WordSet, WordSpan, MAX_WORD_CHARS, WORD_SEED};
use crate::limits::{MAX_OFFSET, MAX_TEMPLATES};
use crate::text::{char_class, CharClass};

/// Width of the feature window: offsets `-MAX_OFFSET..=MAX_OFFSET`.
pub const WINDOW: usize = 2 * MAX_OFFSET + 1;

/// Feature code of a position before the start of the sequence.
pub const BEFORE_START: u32 = 0x11_0000;
/// Feature code of a position after the end of the sequence.
pub const AFTER_END: u32 = 0x11_0001;

/// The normalised characters around the current position: `codes[MAX_OFFSET + k]` is the character at
/// offset `k` (as a `u32` scalar value), or [`BEFORE_START`] / [`AFTER_END`] outside the sequence;
/// `classes` holds their [`CharClass`] as `u8`.
///
/// Crate-private, and its word bits come from the word set it is built or shifted with: decoding builds
/// it only inside the emission scorer of a model (`emission::Scorer`), which always passes that model's
/// own word list, and training through [`template_hashes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Context {
    /// `[WINDOW]` character codes, offset `-MAX_OFFSET` first.
    codes: [u32; WINDOW],
    /// `[WINDOW]` character classes (`CharClass as u8`).
    classes: [u8; WINDOW],
    /// `classes` packed 3 bits each, offset `-MAX_OFFSET` highest: `sum(classes[s] * 8^(WINDOW-1-s))`
    /// (every class is below 8), so a class span is a shift and a mask.
    class_bits: u32,
    /// Which spans of the window are listed words: bit `4 * last + (len - 2)`
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
    pub(crate) const fn empty() -> Self {
        let classes = [CharClass::Boundary as u8; WINDOW];
        Self { codes: [BEFORE_START; WINDOW], classes, class_bits: pack_classes(&classes), word_bits: 0 }
    }

    /// Builds the window at `position` of a sequence of normalised characters, for a model without a
    /// word list.
    #[cfg(test)]
    pub(crate) fn at(chars: &[char], position: usize) -> Self {
        Self::at_with(chars, position, &crate::lexicon::NoWords)
    }

    /// Builds the window at `position` of a sequence of normalised characters, for a model whose word
    /// list is `words`.
    pub(crate) fn at_with(chars: &[char], position: usize, words: &impl WordSet) -> Self {
        Self::at_fn(position, |i| chars.get(i).copied(), words)
    }

    /// [`Context::at_with`] for the sequence whose `i`-th normalised character is `char_at(i)` (`None`
    /// past its end).
    pub(crate) fn at_fn(position: usize, char_at: impl Fn(usize) -> Option<char>, words: &impl WordSet) -> Self {
        let mut ctx = Self::empty();
        for slot in 0..WINDOW {
            let index = (position + slot).checked_sub(MAX_OFFSET);
            ctx.codes[slot] = match index {
                None => BEFORE_START,
                Some(i) => char_at(i).map_or(AFTER_END, |c| c as u32),
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
    #[cfg(test)]
    #[inline]
    pub(crate) fn shift_in(&mut self, code: u32) {
        self.shift_in_with(code, &crate::lexicon::NoWords);
    }

    /// [`Context::shift_in`] for a model whose word list is `words`: only the spans ending at the new
    /// character are looked up (at most 4), the others move with the window.
    #[inline]
    pub(crate) fn shift_in_with(&mut self, code: u32, words: &impl WordSet) {
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

    /// The window's codes, offset `-MAX_OFFSET` first.
    #[cfg(feature = "neural")]
    #[inline]
    pub(crate) fn codes(&self) -> &[u32; WINDOW] {
        &self.codes
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

/// The bits of the spans of `len` = 2..=[`MAX_WORD_CHARS`] slots ending at slot `last` of `codes` that
/// are words of `words` (bit `len - 2`), hashing from `last` back: spans reaching outside the sequence
/// (a `BEFORE_START` or `AFTER_END` slot) are never words.
#[inline]
fn listed_ending_at(codes: &[u32; WINDOW], last: usize, words: &impl WordSet) -> u64 {
    let mut bits = 0u64;
    let mut h = WORD_SEED;
    for len in 1..=MAX_WORD_CHARS.min(last + 1) {
        let code = codes.get(last + 1 - len).copied().unwrap_or(BEFORE_START);
        if code >= BEFORE_START {
            break;
        }
        h = mix(h, code);
        if len >= 2 && words.contains(finalize(h)) {
            bits |= 1 << (len - 2);
        }
    }
    bits
}

/// The feature value of a lexicon template reading `span` around the current character of `ctx`, from the
/// word bits the context was built with ([`Context::at_with`], [`Context::shift_in_with`]): the length
/// (2..=[`MAX_WORD_CHARS`]) of the longest listed word in the span, or 0 for none. For
/// [`WordSpan::Covering`], `8 * length + place` of the longest listed word containing the character
/// (`place` 0 when the character is its first; of equally long words, the one ending furthest right).
#[inline]
pub(crate) fn lexicon_value(span: WordSpan, ctx: &Context) -> u32 {
    let centre = MAX_OFFSET;
    let mut longest = 0;
    match span {
        WordSpan::Starting => {
            for len in 2..=MAX_WORD_CHARS {
                if ctx.listed(centre + len - 1, len) {
                    longest = len;
                }
            }
        }
        WordSpan::Ending => {
            for len in 2..=MAX_WORD_CHARS {
                if ctx.listed(centre, len) {
                    longest = len;
                }
            }
        }
        WordSpan::Inside => {
            for len in 3..=MAX_WORD_CHARS {
                // Last slot from `centre + 1` to `centre + len - 2` (the current character second).
                for last in centre + 1..=centre + len - 2 {
                    if ctx.listed(last, len) {
                        longest = len;
                    }
                }
            }
        }
        WordSpan::Covering => {
            let mut value = 0;
            for len in 2..=MAX_WORD_CHARS {
                // Last slot from `centre` (the character last) to `centre + len - 1` (first).
                for last in centre..(centre + len).min(WINDOW) {
                    if ctx.listed(last, len) {
                        value = 8 * len + (len - 1 - (last - centre));
                    }
                }
            }
            return value as u32;
        }
    }
    longest as u32
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
    /// [`WordSpan`]). Only models with a word list (`EmissionSpec::LexiconNgram` of the format) may use
    /// it.
    Lexicon(WordSpan),
    /// A [`Template::Lexicon`] feature conjoined with the character at an offset: what the word list
    /// says, as this character reads it (a listed word's first character may still start another word).
    LexiconChar(WordSpan, i8),
}

/// Bytes per encoded template in the model file: kind, then three offsets as `i8`.
pub const TEMPLATE_BYTES: usize = 4;

impl Template {
    /// The template's kind (its row of [`TEMPLATE_KINDS`]).
    pub const fn kind(self) -> TemplateKind {
        match self {
            Self::Bias => TemplateKind::Bias,
            Self::Char(_) => TemplateKind::Char,
            Self::Pair(..) => TemplateKind::Pair,
            Self::Triple(..) => TemplateKind::Triple,
            Self::ClassSpan(..) => TemplateKind::ClassSpan,
            Self::Lexicon(_) => TemplateKind::Lexicon,
            Self::LexiconChar(..) => TemplateKind::LexiconChar,
        }
    }

    /// The file encoding: `[kind code, a, b, c]`, unused bytes 0 (a lexicon template's first operand is
    /// its [`WordSpan`] byte).
    pub const fn encode(self) -> [u8; TEMPLATE_BYTES] {
        let code = self.kind().info().code;
        match self {
            Self::Bias => [code, 0, 0, 0],
            Self::Char(a) => [code, a as u8, 0, 0],
            Self::Pair(a, b) | Self::ClassSpan(a, b) => [code, a as u8, b as u8, 0],
            Self::Triple(a, b, c) => [code, a as u8, b as u8, c as u8],
            Self::Lexicon(span) => [code, span.encode(), 0, 0],
            Self::LexiconChar(span, a) => [code, span.encode(), a as u8, 0],
        }
    }

    /// Parses and validates one encoded template; `None` if the kind is unknown, an offset is out of
    /// range, an unused offset is not 0, or a class span is reversed.
    pub fn decode(bytes: [u8; TEMPLATE_BYTES]) -> Option<Self> {
        let [code, a, b, c] = bytes;
        let (a, b, c) = (a as i8, b as i8, c as i8);
        let ok = |o: i8| o.unsigned_abs() as usize <= MAX_OFFSET;
        let template = match (TemplateKind::from_code(code)?, a, b, c) {
            (TemplateKind::Bias, 0, 0, 0) => Self::Bias,
            (TemplateKind::Char, a, 0, 0) if ok(a) => Self::Char(a),
            (TemplateKind::Pair, a, b, 0) if ok(a) && ok(b) => Self::Pair(a, b),
            (TemplateKind::Triple, a, b, c) if ok(a) && ok(b) && ok(c) => Self::Triple(a, b, c),
            (TemplateKind::ClassSpan, a, b, 0) if ok(a) && ok(b) && a <= b => Self::ClassSpan(a, b),
            (TemplateKind::Lexicon, span, 0, 0) => Self::Lexicon(WordSpan::decode(span as u8)?),
            (TemplateKind::LexiconChar, span, a, 0) if ok(a) => Self::LexiconChar(WordSpan::decode(span as u8)?, a),
            _ => return None,
        };
        Some(template)
    }

    /// The oldest model format version that has this template: its kind's (1 for the n-gram kinds, 3 for
    /// [`Template::Lexicon`], which also needs a word list, 4 for [`Template::LexiconChar`]), or its
    /// span's if newer (4 for [`WordSpan::Covering`]).
    pub const fn format_version(self) -> u16 {
        let kind = self.kind().info().format_version;
        let span = match self {
            Self::Lexicon(span) | Self::LexiconChar(span, _) => span.format_version(),
            _ => 0,
        };
        if span > kind {
            span
        } else {
            kind
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
    pub(crate) fn hash(self, index: usize, ctx: &Context) -> u32 {
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

impl fmt::Display for Template {
    /// The kind's name and its operands, e.g. `char(-1)`, `class-span(-1, 1)`, `lexicon-char(covering, 0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.kind().info().name;
        match *self {
            Self::Bias => f.write_str(name),
            Self::Char(a) => write!(f, "{name}({a})"),
            Self::Pair(a, b) | Self::ClassSpan(a, b) => write!(f, "{name}({a}, {b})"),
            Self::Triple(a, b, c) => write!(f, "{name}({a}, {b}, {c})"),
            Self::Lexicon(span) => write!(f, "{name}({})", span.name()),
            Self::LexiconChar(span, a) => write!(f, "{name}({}, {a})", span.name()),
        }
    }
}

/// The kinds of [`Template`], in the order of [`TEMPLATE_KINDS`] (`kind as usize` is its row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateKind {
    /// [`Template::Bias`].
    Bias,
    /// [`Template::Char`].
    Char,
    /// [`Template::Pair`].
    Pair,
    /// [`Template::Triple`].
    Triple,
    /// [`Template::ClassSpan`].
    ClassSpan,
    /// [`Template::Lexicon`].
    Lexicon,
    /// [`Template::LexiconChar`].
    LexiconChar,
}

/// One row of [`TEMPLATE_KINDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind.
    pub kind: TemplateKind,
    /// Its byte in the file encoding (the first of the template's [`TEMPLATE_BYTES`]).
    pub code: u8,
    /// Its name, as [`Template`]'s `Display` writes it.
    pub name: &'static str,
    /// The oldest model format version that has the kind.
    pub format_version: u16,
}

/// The one table of template kinds: kind, file code, name and the format version that introduced it.
/// Encoding, decoding, naming, the format-version choice and the decoder's grouping by kind all read it.
pub const TEMPLATE_KINDS: [KindInfo; 7] = [
    KindInfo { kind: TemplateKind::Bias, code: 1, name: "bias", format_version: 1 },
    KindInfo { kind: TemplateKind::Char, code: 2, name: "char", format_version: 1 },
    KindInfo { kind: TemplateKind::Pair, code: 3, name: "pair", format_version: 1 },
    KindInfo { kind: TemplateKind::Triple, code: 4, name: "triple", format_version: 1 },
    KindInfo { kind: TemplateKind::ClassSpan, code: 5, name: "class-span", format_version: 1 },
    KindInfo { kind: TemplateKind::Lexicon, code: 6, name: "lexicon", format_version: 3 },
    KindInfo { kind: TemplateKind::LexiconChar, code: 7, name: "lexicon-char", format_version: 4 },
];

impl TemplateKind {
    /// The kind's row of [`TEMPLATE_KINDS`].
    pub const fn info(self) -> &'static KindInfo {
        &TEMPLATE_KINDS[self as usize]
    }

    /// The kind whose file code is `code`, if any.
    pub const fn from_code(code: u8) -> Option<Self> {
        let mut i = 0;
        while i < TEMPLATE_KINDS.len() {
            if TEMPLATE_KINDS[i].code == code {
                return Some(TEMPLATE_KINDS[i].kind);
            }
            i += 1;
        }
        None
    }
}

/// Calls `visit` with the hash of every template of `templates`, in order, at `position` of `chars`
/// (normalised characters; positions outside them read [`BEFORE_START`] / [`AFTER_END`]), the lexicon
/// templates reading `words`. Template number `k`'s hash depends on `k`, so pass the model's whole list.
/// These are the features training sees, hashed exactly as decoding a model with these templates and this
/// word list hashes them.
pub fn template_hashes(
    templates: &[Template],
    chars: &[char],
    position: usize,
    words: &impl WordSet,
    mut visit: impl FnMut(u32),
) {
    let ctx = Context::at_with(chars, position, words);
    for (index, template) in templates.iter().enumerate() {
        visit(template.hash(index, &ctx));
    }
}

/// Templates regrouped by kind for decoding: the same hashes as [`Template::hash`], computed in uniform
/// branch-free loops (one per kind) instead of dispatching on each template's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompiledTemplates {
    /// `[count]` entries grouped by kind, in [`TEMPLATE_KINDS`] order.
    entries: [Compiled; MAX_TEMPLATES],
    /// End (exclusive) of each kind's group in `entries`.
    ends: [u8; KINDS],
}

/// Template kinds, each compiled into its own group.
const KINDS: usize = TEMPLATE_KINDS.len();

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
        let mut out = Self { entries: [Compiled { seed: 0, slots: [0; 3] }; MAX_TEMPLATES], ends: [0; KINDS] };
        let mut n = 0usize;
        for (kind, end) in out.ends.iter_mut().enumerate() {
            for (index, &t) in templates.iter().enumerate().take(MAX_TEMPLATES) {
                let slots = match t {
                    Template::Bias => [0, 0, 0],
                    Template::Char(a) => [slot(a), 0, 0],
                    Template::Pair(a, b) => [slot(a), slot(b), 0],
                    Template::Triple(a, b, c) => [slot(a), slot(b), slot(c)],
                    // The span's shift and width in `Context::class_bits`.
                    Template::ClassSpan(a, b) => [3 * (WINDOW - 1 - slot(b)), 3 * (slot(b) + 1 - slot(a)), 0],
                    Template::Lexicon(span) => [usize::from(span.encode()), 0, 0],
                    Template::LexiconChar(span, a) => [usize::from(span.encode()), slot(a), 0],
                };
                let k = t.kind() as usize;
                if k == kind {
                    if let Some(e) = out.entries.get_mut(n) {
                        // A bias has no characters to mix in: store its final hash.
                        let seed = if t.kind() == TemplateKind::Bias { finalize(seed(index)) } else { seed(index) };
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
        let e0 = usize::from(self.ends[0]).min(MAX_TEMPLATES);
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
        let end = |k: usize| usize::from(self.ends[k]).min(MAX_TEMPLATES);
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
    use std::string::ToString;

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
    fn hash_depends_on_template_index_and_characters() {
        let a = Context::at(&['中', '文'], 0);
        let b = Context::at(&['中', '国'], 0);
        assert_ne!(Template::Char(0).hash(0, &a), Template::Char(0).hash(1, &a));
        assert_eq!(Template::Char(0).hash(3, &a), Template::Char(0).hash(3, &b));
        assert_ne!(Template::Char(1).hash(3, &a), Template::Char(1).hash(3, &b));
    }

    impl Words {
        fn of(words: &[&str]) -> Self {
            Self(words.iter().map(|w| crate::lexicon::word_hash(w.chars().map(|c| c as u32))).collect())
        }
    }

    fn at(text: &str, position: usize, words: &impl WordSet) -> Context {
        let chars: std::vec::Vec<char> = text.chars().collect();
        Context::at_with(&chars, position, words)
    }

    #[test]
    fn lexicon_values_starting_ending_and_around_the_character() {
        let words = Words::of(&["中华", "中华人民", "人民", "共和国", "人民共和国", "华人民共"]);
        let text = "中华人民共和国";
        // At 人 (position 2): starting 人民, 人民共和国 (5); ending 华人? no; inside 华人民共 (4 chars,
        // 人 second) and 中华人民 (人 third).
        let ctx = at(text, 2, &words);
        assert_eq!(lexicon_value(WordSpan::Starting, &ctx), 5);
        assert_eq!(lexicon_value(WordSpan::Ending, &ctx), 0);
        assert_eq!(lexicon_value(WordSpan::Inside, &ctx), 4);
        // At 民 (3): ending 人民 (2) and 中华人民 (4); starting none; inside 华人民共 and 人民共和国.
        let ctx = at(text, 3, &words);
        assert_eq!(lexicon_value(WordSpan::Ending, &ctx), 4);
        assert_eq!(lexicon_value(WordSpan::Starting, &ctx), 0);
        assert_eq!(lexicon_value(WordSpan::Inside, &ctx), 5);
        // At 国 (last): ending 共和国 (3) and 人民共和国 (5); nothing starts or spans past the end.
        let ctx = at(text, 6, &words);
        assert_eq!(lexicon_value(WordSpan::Ending, &ctx), 5);
        assert_eq!(lexicon_value(WordSpan::Starting, &ctx), 0);
        assert_eq!(lexicon_value(WordSpan::Inside, &ctx), 0);
        assert_eq!(lexicon_value(WordSpan::Starting, &at(text, 6, &crate::lexicon::NoWords)), 0);
        // Covering: 8 * length + place of the longest word containing the character.
        let covering = |i| lexicon_value(WordSpan::Covering, &at(text, i, &words));
        assert_eq!(covering(6), 8 * 5 + 4, "国, last of 人民共和国");
        assert_eq!(covering(3), 8 * 5 + 1, "民, second of 人民共和国");
        assert_eq!(covering(0), 8 * 4, "中, first of 中华人民 (longer than 中华)");
        // 华 is second of 中华人民 and first of 华人民共, as long: the one ending furthest right counts.
        assert_eq!(covering(1), 8 * 4);
        assert_eq!(lexicon_value(WordSpan::Covering, &at(text, 3, &crate::lexicon::NoWords)), 0);
        assert_eq!(lexicon_value(WordSpan::Ending, &at(text, 6, &crate::lexicon::NoWords)), 0);
    }

    #[test]
    fn spans_outside_the_sequence_are_never_words() {
        // A set that claims every hash: only spans inside the sequence may count.
        struct Everything;
        impl WordSet for Everything {
            fn contains(&self, _: u32) -> bool {
                true
            }
        }
        let ctx = at("一二三", 0, &Everything);
        assert_eq!(lexicon_value(WordSpan::Starting, &ctx), 3);
        assert_eq!(lexicon_value(WordSpan::Ending, &ctx), 0);
        assert_eq!(lexicon_value(WordSpan::Inside, &ctx), 0);
        let ctx = at("一二三四五六七八九", 4, &Everything);
        assert_eq!(lexicon_value(WordSpan::Starting, &ctx), 5);
        assert_eq!(lexicon_value(WordSpan::Ending, &ctx), 5);
        assert_eq!(lexicon_value(WordSpan::Inside, &ctx), 5);
    }

    #[test]
    fn the_kind_table_is_in_kind_order_and_round_trips() {
        for (row, info) in TEMPLATE_KINDS.iter().enumerate() {
            assert_eq!(info.kind as usize, row, "{info:?}");
            assert_eq!(TemplateKind::from_code(info.code), Some(info.kind));
        }
        assert_eq!(TemplateKind::from_code(0), None);
        assert_eq!(TemplateKind::from_code(8), None);
        assert_eq!(Template::ClassSpan(-1, 1).to_string(), "class-span(-1, 1)");
        assert_eq!(Template::LexiconChar(WordSpan::Covering, 0).to_string(), "lexicon-char(covering, 0)");
        assert_eq!(Template::Bias.to_string(), "bias");
        let versions = [Template::Char(0), Template::Lexicon(WordSpan::Inside), Template::Lexicon(WordSpan::Covering)];
        assert_eq!(versions.map(Template::format_version), [1, 3, 4]);
        assert_eq!(Template::LexiconChar(WordSpan::Starting, 1).format_version(), 4);
    }
}

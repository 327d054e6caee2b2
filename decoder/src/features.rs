//! Feature templates of the hashed character n-gram emission model, and the hash that maps a feature to a
//! row of the weight table. The trainer and the decoder both call these, so a feature hashes to the same
//! bucket on both sides.

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
}

impl Context {
    /// A window with every position outside the sequence (before its start).
    pub const fn empty() -> Self {
        Self { codes: [BEFORE_START; WINDOW], classes: [CharClass::Boundary as u8; WINDOW] }
    }

    /// Builds the window at `position` of a sequence of normalised characters.
    pub fn at(chars: &[char], position: usize) -> Self {
        let mut ctx = Self::empty();
        for slot in 0..WINDOW {
            let index = (position + slot).checked_sub(MAX_OFFSET);
            ctx.codes[slot] = match index {
                None => BEFORE_START,
                Some(i) => chars.get(i).map_or(AFTER_END, |&c| c as u32),
            };
            ctx.classes[slot] = class_of_code(ctx.codes[slot]);
        }
        ctx
    }

    /// Shifts the window one position forward and puts `code` (a character, or [`AFTER_END`]) at the far
    /// end: the streaming decoders' way to advance.
    pub fn shift_in(&mut self, code: u32) {
        self.codes.copy_within(1.., 0);
        self.classes.copy_within(1.., 0);
        self.codes[WINDOW - 1] = code;
        self.classes[WINDOW - 1] = class_of_code(code);
    }

    #[inline]
    fn code(&self, offset: i8) -> u32 {
        self.codes[slot(offset)]
    }
}

#[inline]
fn slot(offset: i8) -> usize {
    // Offsets are validated to `-MAX_OFFSET..=MAX_OFFSET` when a template is decoded.
    (offset as isize + MAX_OFFSET as isize) as usize
}

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
            _ => return None,
        };
        Some(template)
    }

    /// Smallest and largest offset the template reads (0 for [`Template::Bias`]).
    pub fn offset_range(self) -> (i8, i8) {
        match self {
            Self::Bias => (0, 0),
            Self::Char(a) => (a, a),
            Self::Pair(a, b) | Self::ClassSpan(a, b) => (a.min(b), a.max(b)),
            Self::Triple(a, b, c) => (a.min(b).min(c), a.max(b).max(c)),
        }
    }

    /// The feature's 32-bit hash for template number `index` in the model's list at context `ctx`.
    #[inline]
    pub fn hash(self, index: usize, ctx: &Context) -> u32 {
        let h = (index as u32 + 1).wrapping_mul(0x85EB_CA77);
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
        };
        finalize(h)
    }
}

#[inline]
fn mix(h: u32, x: u32) -> u32 {
    (h ^ x).wrapping_mul(0xCC9E_2D51).rotate_left(15).wrapping_mul(0x1B87_3593)
}

/// MurmurHash3's finaliser: every input bit affects every output bit, so the top bits make a good bucket.
#[inline]
fn finalize(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// The row of a `2^bits`-bucket table that a feature hash selects (`bits` in `1..=32`).
#[inline]
pub fn bucket(hash: u32, bits: u8) -> usize {
    (hash >> (32 - u32::from(bits))) as usize
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
    use super::*;

    #[test]
    fn encoding_round_trips() {
        for t in DEFAULT_TEMPLATES.iter().copied().chain([Template::Triple(-1, 0, 1)]) {
            assert_eq!(Template::decode(t.encode()), Some(t));
        }
        assert_eq!(Template::decode([2, 5, 0, 0]), None);
        assert_eq!(Template::decode([5, 1, 0xFF, 0]), None);
        assert_eq!(Template::decode([9, 0, 0, 0]), None);
        assert_eq!(Template::decode([1, 1, 0, 0]), None);
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

    #[test]
    fn hash_depends_on_template_index_and_characters() {
        let a = Context::at(&['中', '文'], 0);
        let b = Context::at(&['中', '国'], 0);
        assert_ne!(Template::Char(0).hash(0, &a), Template::Char(0).hash(1, &a));
        assert_eq!(Template::Char(0).hash(3, &a), Template::Char(0).hash(3, &b));
        assert_ne!(Template::Char(1).hash(3, &a), Template::Char(1).hash(3, &b));
    }
}

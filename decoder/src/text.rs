//! Text in: incremental UTF-8 decoding without allocation, character normalisation and character classes.
//!
//! Everything here is shared by the trainer and the decoder, so features are computed identically on both sides.

/// One decoded unit of input: a character, or one maximal invalid UTF-8 subsequence (decoded as U+FFFD,
/// the way `String::from_utf8_lossy` does), with the number of input bytes it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// The character; `char::REPLACEMENT_CHARACTER` for invalid bytes.
    pub ch: char,
    /// Input bytes this unit covers (1..=4).
    pub len: u8,
}

/// Byte-at-a-time UTF-8 decoder (Unicode "maximal subpart" replacement, identical to
/// `String::from_utf8_lossy`), so a stream split anywhere decodes exactly like the whole.
#[derive(Debug, Clone, Copy, Default)]
pub struct Utf8Decoder {
    code: u32,
    /// Continuation bytes still needed.
    need: u8,
    /// Bytes of the pending sequence seen so far.
    seen: u8,
    /// Allowed range of the next continuation byte.
    lower: u8,
    upper: u8,
}

impl Utf8Decoder {
    /// A decoder with nothing pending.
    pub const fn new() -> Self {
        Self { code: 0, need: 0, seen: 0, lower: 0x80, upper: 0xBF }
    }

    /// Feeds one byte; calls `emit` for each unit completed by it (zero, one or two).
    pub fn push(&mut self, byte: u8, mut emit: impl FnMut(Unit)) {
        if self.need > 0 {
            if (self.lower..=self.upper).contains(&byte) {
                self.code = (self.code << 6) | u32::from(byte & 0x3F);
                self.seen += 1;
                self.need -= 1;
                self.lower = 0x80;
                self.upper = 0xBF;
                if self.need == 0 {
                    // The ranges above admit only scalar values, so this never falls back.
                    let ch = char::from_u32(self.code).unwrap_or(char::REPLACEMENT_CHARACTER);
                    emit(Unit { ch, len: self.seen });
                    self.seen = 0;
                }
                return;
            }
            // The pending prefix is a maximal invalid subpart; this byte starts afresh.
            emit(Unit { ch: char::REPLACEMENT_CHARACTER, len: self.seen });
            *self = Self::new();
        }
        let (need, code, lower, upper) = match byte {
            0x00..=0x7F => {
                emit(Unit { ch: char::from(byte), len: 1 });
                return;
            }
            0xC2..=0xDF => (1, byte & 0x1F, 0x80, 0xBF),
            0xE0 => (2, 0, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE..=0xEF => (2, byte & 0x0F, 0x80, 0xBF),
            0xED => (2, 0x0D, 0x80, 0x9F),
            0xF0 => (3, 0, 0x90, 0xBF),
            0xF1..=0xF3 => (3, byte & 0x07, 0x80, 0xBF),
            0xF4 => (3, 0x04, 0x80, 0x8F),
            _ => {
                emit(Unit { ch: char::REPLACEMENT_CHARACTER, len: 1 });
                return;
            }
        };
        *self = Self { code: u32::from(code), need, seen: 1, lower, upper };
    }

    /// Ends the input: a pending incomplete sequence becomes one U+FFFD unit.
    pub fn finish(&mut self) -> Option<Unit> {
        let pending = (self.need > 0).then_some(Unit { ch: char::REPLACEMENT_CHARACTER, len: self.seen });
        *self = Self::new();
        pending
    }

    /// True when a multi-byte sequence is pending.
    pub const fn is_pending(&self) -> bool {
        self.need > 0
    }
}

/// Decodes a whole byte slice, calling `emit` with each unit and its byte offset.
pub fn decode_lossy(bytes: &[u8], mut emit: impl FnMut(usize, Unit)) {
    let mut decoder = Utf8Decoder::new();
    let mut start = 0usize;
    for &b in bytes {
        decoder.push(b, |u| {
            emit(start, u);
            start += usize::from(u.len);
        });
    }
    if let Some(u) = decoder.finish() {
        emit(start, u);
    }
}

/// Normalisation flag: fold full-width forms (U+FF01..=U+FF5E, U+3000) to their ASCII counterparts.
pub const NORMALIZE_WIDTH: u8 = 1;
/// Normalisation flag: fold ASCII upper case to lower case (after width folding).
pub const NORMALIZE_ASCII_LOWER: u8 = 2;
/// All normalisation flags this decoder knows.
pub const NORMALIZE_KNOWN: u8 = NORMALIZE_WIDTH | NORMALIZE_ASCII_LOWER;

/// The character as features see it. Output always keeps the input's own characters; only features
/// use this.
#[inline]
pub const fn normalize(ch: char, flags: u8) -> char {
    let mut c = ch as u32;
    if flags & NORMALIZE_WIDTH != 0 {
        if c >= 0xFF01 && c <= 0xFF5E {
            c -= 0xFF01 - 0x21;
        } else if c == 0x3000 {
            c = 0x20;
        }
    }
    if flags & NORMALIZE_ASCII_LOWER != 0 && c >= 'A' as u32 && c <= 'Z' as u32 {
        c += 0x20;
    }
    // Both foldings map scalar values to scalar values.
    match char::from_u32(c) {
        Some(folded) => folded,
        None => ch,
    }
}

/// True for characters that separate words in raw input and are never labeled (Unicode White_Space).
#[inline]
pub fn is_separator(ch: char) -> bool {
    // No White_Space character lies above U+3000, so CJK text skips the table look-up.
    (ch as u32) <= 0x3000 && ch.is_whitespace()
}

/// Coarse character classes used by class features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CharClass {
    /// Anything not listed below.
    Other = 0,
    /// CJK ideograph that is not a Chinese numeral.
    Han = 1,
    /// ASCII digit (after normalisation) or other decimal digit.
    Digit = 2,
    /// ASCII Latin letter (after normalisation).
    Latin = 3,
    /// Punctuation: ASCII punctuation, CJK symbols and punctuation, general punctuation.
    Punctuation = 4,
    /// Chinese numeral characters (一二三…十百千万亿零〇两).
    ChineseNumeral = 5,
    /// Outside the sequence (before its start or after its end).
    Boundary = 6,
}

#[cfg(test)]
const CHINESE_NUMERALS: [char; 15] =
    ['零', '〇', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十', '百', '千', '万'];

/// The Chinese numerals in the CJK Unified Ideographs block (all but '〇', U+3007).
/// Bit `n % 64` set for every `n` in [`HAN_NUMERALS`]: a quick filter before comparing against all of them.
const HAN_NUMERAL_LOW_BITS: u64 = {
    let mut mask = 0u64;
    let mut i = 0;
    while i < HAN_NUMERALS.len() {
        mask |= 1 << (HAN_NUMERALS[i] & 63);
        i += 1;
    }
    mask
};

const HAN_NUMERALS: [u32; 16] = [
    '零' as u32,
    '一' as u32,
    '二' as u32,
    '三' as u32,
    '四' as u32,
    '五' as u32,
    '六' as u32,
    '七' as u32,
    '八' as u32,
    '九' as u32,
    '十' as u32,
    '百' as u32,
    '千' as u32,
    '万' as u32,
    '亿' as u32,
    '两' as u32,
];

/// Classes of the ASCII characters.
const ASCII_CLASSES: [CharClass; 128] = {
    let mut table = [CharClass::Other; 128];
    let mut c = 0;
    while c < 128 {
        table[c] = match c as u8 {
            b'0'..=b'9' => CharClass::Digit,
            b'a'..=b'z' | b'A'..=b'Z' => CharClass::Latin,
            b'!'..=b'/' | b':'..=b'@' | b'['..=b'`' | b'{'..=b'~' => CharClass::Punctuation,
            _ => CharClass::Other,
        };
        c += 1;
    }
    table
};

/// The class of a (normalised) character.
#[inline]
pub fn char_class(ch: char) -> CharClass {
    let c = ch as u32;
    // The common cases first, without data-dependent branches: CJK ideographs (numerals compared all at
    // once) and ASCII (a table).
    if c.wrapping_sub(0x4E00) <= 0x9FFF - 0x4E00 {
        // Most ideographs fail the one-word filter (a bit per `c % 64` of some numeral) at once.
        let numeral =
            HAN_NUMERAL_LOW_BITS & (1 << (c & 63)) != 0 && HAN_NUMERALS.iter().fold(false, |hit, &n| hit | (n == c));
        return if numeral { CharClass::ChineseNumeral } else { CharClass::Han };
    }
    if let Some(&class) = ASCII_CLASSES.get(c as usize) {
        return class;
    }
    match ch {
        // Before the punctuation block U+3000..U+303F, which holds it.
        '〇' => CharClass::ChineseNumeral,
        '\u{3000}'..='\u{303F}' | '\u{2000}'..='\u{206F}' | '\u{FF00}'..='\u{FFEF}' => CharClass::Punctuation,
        '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2FFFF}' => CharClass::Han,
        c if c.is_numeric() => CharClass::Digit,
        _ => CharClass::Other,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn lossy(bytes: &[u8]) -> (String, Vec<u8>) {
        let mut s = String::new();
        let mut lens = Vec::new();
        decode_lossy(bytes, |_, u| {
            s.push(u.ch);
            lens.push(u.len);
        });
        (s, lens)
    }

    #[test]
    fn matches_std_lossy_on_tricky_inputs() {
        let cases: &[&[u8]] = &[
            b"abc",
            "中文，ＡＢＣ１２".as_bytes(),
            b"\xff\xfe",
            b"\xe4\xb8",
            b"\xe4\xb8a",
            b"\xed\xa0\x80",
            b"\xf0\x9f\x98\x80\xf0\x9f",
            b"\xf4\x90\x80\x80",
            b"\xc0\xaf",
            b"a\x00b",
        ];
        for &case in cases {
            let (s, lens) = lossy(case);
            assert_eq!(s, String::from_utf8_lossy(case), "{case:x?}");
            assert_eq!(lens.iter().map(|&l| usize::from(l)).sum::<usize>(), case.len());
        }
    }

    #[test]
    fn width_folding() {
        assert_eq!(normalize('Ａ', NORMALIZE_WIDTH), 'A');
        assert_eq!(normalize('１', NORMALIZE_WIDTH), '1');
        assert_eq!(normalize('，', NORMALIZE_WIDTH), ',');
        assert_eq!(normalize('\u{3000}', NORMALIZE_WIDTH), ' ');
        assert_eq!(normalize('中', NORMALIZE_WIDTH), '中');
        assert_eq!(normalize('Ａ', NORMALIZE_WIDTH | NORMALIZE_ASCII_LOWER), 'a');
        assert_eq!(normalize('Ａ', 0), 'Ａ');
    }

    /// The definition `char_class` implements (checked over every scalar value).
    fn reference_class(ch: char) -> CharClass {
        match ch {
            '0'..='9' => CharClass::Digit,
            'a'..='z' | 'A'..='Z' => CharClass::Latin,
            '!'..='/' | ':'..='@' | '['..='`' | '{'..='~' => CharClass::Punctuation,
            c if CHINESE_NUMERALS.contains(&c) || c == '亿' || c == '两' => CharClass::ChineseNumeral,
            '\u{3000}'..='\u{303F}' | '\u{2000}'..='\u{206F}' | '\u{FF00}'..='\u{FFEF}' => CharClass::Punctuation,
            '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2FFFF}' => CharClass::Han,
            c if c.is_numeric() => CharClass::Digit,
            _ => CharClass::Other,
        }
    }

    #[test]
    fn char_class_matches_its_definition_everywhere() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(char_class(c), reference_class(c), "{c:?} U+{:04X}", c as u32);
        }
    }

    #[test]
    fn separators_are_white_space() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(is_separator(c), c.is_whitespace(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn classes() {
        assert_eq!(char_class('7'), CharClass::Digit);
        assert_eq!(char_class('x'), CharClass::Latin);
        assert_eq!(char_class('。'), CharClass::Punctuation);
        assert_eq!(char_class('三'), CharClass::ChineseNumeral);
        for c in CHINESE_NUMERALS.iter().chain(&['亿', '两']) {
            assert_eq!(char_class(*c), CharClass::ChineseNumeral, "{c}");
        }
        assert_eq!(char_class('中'), CharClass::Han);
        assert_eq!(char_class('😀'), CharClass::Other);
    }
}

//! Token-level features: CRF++-style unigram templates over the columns of a sequence of tokens (the
//! words of a CoNLL column file and their feature columns), expanded into feature strings and hashed into
//! the same table the character n-gram model uses.
//!
//! A template is one line such as `U01:%x[-1,0]/%x[0,1]`: literal text and *references*
//! `%function[row,column]`, each replaced by a function of the column `column` of the token `row`
//! positions away from the current one. The expanded string (here, for the token `NN` before `VBZ`,
//! `U01:The/VBZ`) is the feature; its hash ([`feature_hash`]) picks a row of the table. So a template
//! file written for CRF++ means here what it means there, and the decoder computes the same features from
//! the token bytes without allocating: the string is never built, its bytes stream into the hash.
//!
//! Functions (all on the column's text): `x` (the text, as CRF++), `lower` (Unicode lower case),
//! `shape` (upper case letters `X`, lower case `x`, digits `d`, Han characters `C`, anything else
//! itself), `shortshape` (the shape with runs collapsed: `Xx` for `Peter`), `prefixN` / `suffixN` (the
//! first / last `N` characters, `N` in 1..=9, the whole text when shorter), `class` (one letter:
//! see [`token_class`]) and `chartype` (the character class of `text::char_class` of each of the first 8
//! characters, as digits: for CJK text). A reference before the first token reads `_B-1`, `_B-2`, ...,
//! after the last `_B+1`, `_B+2`, ... (CRF++'s strings), whatever the function.

use core::fmt;

use crate::hash::{finalize, mix};
use crate::limits::MAX_TEMPLATES;
use crate::text::{char_class, CharClass};

/// Largest absolute row offset a reference may name.
pub const MAX_ROW_OFFSET: i8 = 8;
/// Most input columns (the tag excluded) a token model may read.
pub const MAX_COLUMNS: usize = 64;
/// Longest template section (all lines with their separators), in bytes.
pub const MAX_TEMPLATE_TEXT: usize = 8192;
/// Characters `chartype` reads of a token.
pub const CHARTYPE_CHARS: usize = 8;
/// Seed of [`feature_hash`].
pub const TOKEN_SEED: u32 = 0x9747_B28C;

/// The tokens of one sequence, each with the same input columns (the word first).
pub trait TokenColumns {
    /// Number of tokens.
    fn token_count(&self) -> usize;
    /// Column `column` of token `token`; `""` when either is out of range.
    fn column(&self, token: usize, column: usize) -> &str;
}

impl<const N: usize, S: AsRef<str>> TokenColumns for [[S; N]] {
    fn token_count(&self) -> usize {
        self.len()
    }

    fn column(&self, token: usize, column: usize) -> &str {
        self.get(token).and_then(|t| t.get(column)).map_or("", AsRef::as_ref)
    }
}

#[cfg(feature = "alloc")]
impl<S: AsRef<str>> TokenColumns for [alloc::vec::Vec<S>] {
    fn token_count(&self) -> usize {
        self.len()
    }

    fn column(&self, token: usize, column: usize) -> &str {
        self.get(token).and_then(|t| t.get(column)).map_or("", AsRef::as_ref)
    }
}

/// What a reference computes from the column it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFunction {
    /// `x`: the text itself.
    Raw,
    /// `lower`: Unicode lower case.
    Lower,
    /// `shape`: `X`, `x`, `d`, `C` per character, others kept.
    Shape,
    /// `shortshape`: the shape with runs of one symbol collapsed.
    ShortShape,
    /// `prefixN`: the first `N` characters.
    Prefix(u8),
    /// `suffixN`: the last `N` characters.
    Suffix(u8),
    /// `class`: one letter for the token's make-up ([`token_class`]).
    Class,
    /// `chartype`: the character class of each of the first [`CHARTYPE_CHARS`] characters.
    CharType,
}

impl TokenFunction {
    /// The function named `name` (`x`, `lower`, `prefix3`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        let numbered = |prefix: &str| {
            let n = name.strip_prefix(prefix)?;
            match n.as_bytes() {
                [d @ b'1'..=b'9'] => Some(d - b'0'),
                _ => None,
            }
        };
        Some(match name {
            "x" => Self::Raw,
            "lower" => Self::Lower,
            "shape" => Self::Shape,
            "shortshape" => Self::ShortShape,
            "class" => Self::Class,
            "chartype" => Self::CharType,
            _ => {
                if let Some(n) = numbered("prefix") {
                    Self::Prefix(n)
                } else {
                    Self::Suffix(numbered("suffix")?)
                }
            }
        })
    }
}

/// One piece of a template line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text copied as it is.
    Literal(&'a str),
    /// `%function[row,column]`.
    Reference {
        /// What to compute.
        function: TokenFunction,
        /// Token offset from the current one.
        row: i8,
        /// Input column (0 = the word).
        column: u8,
    },
}

/// What is wrong with a template line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TemplateProblem {
    /// The line does not start with `U` (a unigram template).
    NotUnigram,
    /// A `%` that does not start `%name[row,column]`.
    BadReference,
    /// A function name this decoder does not know.
    UnknownFunction,
    /// A row offset outside `-MAX_ROW_OFFSET..=MAX_ROW_OFFSET`.
    RowOutOfRange,
    /// A column at or past the number of input columns.
    ColumnOutOfRange,
    /// More than [`MAX_TEMPLATES`] templates (times rows per feature), or none.
    TemplateCount,
    /// The section is longer than [`MAX_TEMPLATE_TEXT`], a line is empty, or the column count is 0 or
    /// above [`MAX_COLUMNS`].
    Section,
}

/// A template line that cannot be used: which line (0-based, within the section) and why, and the byte
/// of the line where the problem starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TemplateError {
    /// 0-based line of the template section.
    pub line: usize,
    /// Byte offset within the line.
    pub at: usize,
    /// What is wrong.
    pub problem: TemplateProblem,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotUnigram => "a feature template must start with U (or be a bare B line for the transitions)",
            Self::BadReference => "a % must start a reference %function[row,column], e.g. %x[-1,0]",
            Self::UnknownFunction => {
                "unknown function (known: x, lower, shape, shortshape, prefix1..prefix9, suffix1..suffix9, class, \
                 chartype)"
            }
            Self::RowOutOfRange => "row offset outside -8..=8",
            Self::ColumnOutOfRange => "column past the input columns of the data (the tag column cannot be read)",
            Self::TemplateCount => "between 1 and 32 unigram templates are needed",
            Self::Section => "template section too long, an empty template, or a bad column count",
        })
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template line {}, byte {}: {}", self.line + 1, self.at + 1, self.problem)
    }
}

impl core::error::Error for TemplateError {}

/// The pieces of one template line, in order; an error ends the iteration.
#[derive(Debug, Clone)]
pub struct Pieces<'a> {
    line: &'a str,
    at: usize,
    failed: bool,
}

impl<'a> Pieces<'a> {
    /// The pieces of `line`.
    pub fn new(line: &'a str) -> Self {
        Self { line, at: 0, failed: false }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Result<Piece<'a>, (usize, TemplateProblem)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.line.len() {
            return None;
        }
        // Byte scans rather than pattern searches: the firmware expands every template at every token.
        let bytes = self.line.as_bytes();
        let start = self.at;
        if bytes.get(start) != Some(&b'%') {
            let end = bytes.iter().skip(start).position(|&b| b == b'%').map_or(bytes.len(), |n| start + n);
            self.at = end;
            // `%` is ASCII, so both ends are character boundaries.
            return self.line.get(start..end).map(|text| Ok(Piece::Literal(text)));
        }
        let rest = self.line.get(start + 1..).unwrap_or("");
        if let Some((piece, used)) = parse_plain_reference(rest) {
            self.at = start + 1 + used;
            return Some(Ok(piece));
        }
        let result = parse_reference(rest);
        match result {
            Ok((piece, used)) => {
                self.at += 1 + used;
                Some(Ok(piece))
            }
            Err(problem) => {
                self.failed = true;
                Some(Err((start, problem)))
            }
        }
    }
}

/// The common spelling of a reference, `name[row,column]` without spaces (`x[-1,0]`), parsed byte by
/// byte: the piece [`parse_reference`] gives for it and the bytes used, or `None` for any other spelling
/// (and any error), which [`parse_reference`] then reads.
fn parse_plain_reference(text: &str) -> Option<(Piece<'_>, usize)> {
    let bytes = text.as_bytes();
    let open = bytes.iter().position(|&b| !b.is_ascii_alphanumeric())?;
    if open == 0 || bytes[open] != b'[' {
        return None;
    }
    let function = TokenFunction::from_name(text.get(..open)?)?;
    // A signed number of 1 to 3 digits from `at`, then the byte after it.
    let number = |mut at: usize| {
        let negative = match bytes.get(at) {
            Some(b'-') => {
                at += 1;
                true
            }
            Some(b'+') => {
                at += 1;
                false
            }
            _ => false,
        };
        let (mut value, mut digits) = (0i32, 0);
        while let Some(&d @ b'0'..=b'9') = bytes.get(at) {
            value = value * 10 + i32::from(d - b'0');
            digits += 1;
            at += 1;
        }
        (1..=3).contains(&digits).then_some((if negative { -value } else { value }, at))
    };
    let (row, at) = number(open + 1)?;
    if bytes.get(at) != Some(&b',') {
        return None;
    }
    let (column, at) = number(at + 1)?;
    if bytes.get(at) != Some(&b']')
        || row.abs() > i32::from(MAX_ROW_OFFSET)
        || !(0..MAX_COLUMNS as i32).contains(&column)
    {
        return None;
    }
    Some((Piece::Reference { function, row: row as i8, column: column as u8 }, at + 1))
}

/// Parses `name[row,column]` (after the `%`); returns the piece and the bytes it used.
fn parse_reference(text: &str) -> Result<(Piece<'_>, usize), TemplateProblem> {
    let open = text.find('[').ok_or(TemplateProblem::BadReference)?;
    let name = &text[..open];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(TemplateProblem::BadReference);
    }
    let close = text[open..].find(']').ok_or(TemplateProblem::BadReference)? + open;
    let (row, column) = text[open + 1..close].split_once(',').ok_or(TemplateProblem::BadReference)?;
    let function = TokenFunction::from_name(name).ok_or(TemplateProblem::UnknownFunction)?;
    let row: i32 = parse_int(row.trim()).ok_or(TemplateProblem::BadReference)?;
    let column: i32 = parse_int(column.trim()).ok_or(TemplateProblem::BadReference)?;
    if row.abs() > i32::from(MAX_ROW_OFFSET) {
        return Err(TemplateProblem::RowOutOfRange);
    }
    if !(0..MAX_COLUMNS as i32).contains(&column) {
        return Err(TemplateProblem::ColumnOutOfRange);
    }
    Ok((Piece::Reference { function, row: row as i8, column: column as u8 }, close + 1))
}

/// A small signed decimal (`-12`, `+3`, `0`): `None` for anything else or beyond 3 digits.
fn parse_int(text: &str) -> Option<i32> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value = digits.bytes().fold(0i32, |v, b| v * 10 + i32::from(b - b'0'));
    Some(if negative { -value } else { value })
}

/// Checks one unigram template line against `columns` input columns.
pub fn check_line(line: &str, columns: usize) -> Result<(), (usize, TemplateProblem)> {
    if !line.starts_with('U') {
        return Err((0, TemplateProblem::NotUnigram));
    }
    for piece in Pieces::new(line) {
        if let Piece::Reference { column, .. } = piece? {
            if usize::from(column) >= columns {
                let at = line.find('%').unwrap_or(0);
                return Err((at, TemplateProblem::ColumnOutOfRange));
            }
        }
    }
    Ok(())
}

/// A validated template section: `count` unigram lines separated by `\n`, over `columns` input columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTemplates<'a> {
    text: &'a str,
    // Bytes, not `usize`: a `Model` holds this, and the C API's model storage is fixed.
    count: u8,
    columns: u8,
}

impl<'a> TokenTemplates<'a> {
    /// Validates a section: 1..=`max_templates` non-empty lines, each a unigram template reading columns
    /// below `columns` (1..=[`MAX_COLUMNS`]).
    pub fn new(text: &'a str, columns: usize, max_templates: usize) -> Result<Self, TemplateError> {
        let whole = |problem| TemplateError { line: 0, at: 0, problem };
        if text.len() > MAX_TEMPLATE_TEXT || columns == 0 || columns > MAX_COLUMNS {
            return Err(whole(TemplateProblem::Section));
        }
        let mut count = 0;
        for (line, template) in text.split('\n').enumerate() {
            if template.is_empty() {
                return Err(TemplateError { line, at: 0, problem: TemplateProblem::Section });
            }
            check_line(template, columns).map_err(|(at, problem)| TemplateError { line, at, problem })?;
            count += 1;
        }
        if count == 0 || count > max_templates.min(MAX_TEMPLATES) {
            return Err(whole(TemplateProblem::TemplateCount));
        }
        Ok(Self { text, count: count as u8, columns: columns as u8 })
    }

    /// Number of templates (features per token).
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Never true for a validated section.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Input columns a token must have.
    pub fn columns(&self) -> usize {
        usize::from(self.columns)
    }

    /// The template lines, in order.
    pub fn lines(&self) -> impl Iterator<Item = &'a str> + Clone {
        self.text.split('\n')
    }

    /// The section as stored.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Calls `visit` with the hash of each template's feature at `position` of `tokens`, in template
    /// order.
    pub fn hashes(&self, tokens: &(impl TokenColumns + ?Sized), position: usize, mut visit: impl FnMut(u32)) {
        // The lines split by a byte scan (`str::split` costs the firmware markedly more a token).
        let mut rest = self.text;
        loop {
            let (line, next) = match rest.as_bytes().iter().position(|&b| b == b'\n') {
                Some(at) => (rest.get(..at).unwrap_or(""), rest.get(at + 1..)),
                None => (rest, None),
            };
            let mut hasher = FeatureHasher::new();
            expand(line, tokens, position, &mut |bytes| hasher.feed(bytes));
            visit(hasher.finish());
            match next {
                Some(next) => rest = next,
                None => return,
            }
        }
    }

    /// [`TokenTemplates::hashes`] as first written (lines by `str::split`): the tests compare the two.
    #[cfg(test)]
    fn hashes_by_split(&self, tokens: &(impl TokenColumns + ?Sized), position: usize, mut visit: impl FnMut(u32)) {
        for line in self.lines() {
            let mut hasher = FeatureHasher::new();
            expand(line, tokens, position, &mut |bytes| hasher.feed(bytes));
            visit(hasher.finish());
        }
    }
}

/// The streaming hash of a feature string: [`feature_hash`] of the bytes fed, in order.
#[derive(Debug, Clone, Copy)]
pub struct FeatureHasher {
    h: u32,
    len: u32,
}

impl Default for FeatureHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl FeatureHasher {
    /// An empty string's state.
    pub const fn new() -> Self {
        Self { h: TOKEN_SEED, len: 0 }
    }

    /// Appends `bytes`.
    #[inline]
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.h = mix(self.h, u32::from(b));
        }
        self.len = self.len.wrapping_add(bytes.len() as u32);
    }

    /// The hash of everything fed.
    pub fn finish(&self) -> u32 {
        finalize(self.h ^ self.len)
    }
}

/// The hash of a feature string: every byte mixed in order (`hash::mix`) from [`TOKEN_SEED`], then the
/// length, then the MurmurHash3 finaliser.
pub fn feature_hash(feature: &[u8]) -> u32 {
    let mut hasher = FeatureHasher::new();
    hasher.feed(feature);
    hasher.finish()
}

/// Streams the feature string of template `line` at `position` of `tokens` into `out`, piece by piece.
/// A line that does not parse stops at its first bad piece (validated sections never do).
pub fn expand(line: &str, tokens: &(impl TokenColumns + ?Sized), position: usize, out: &mut impl FnMut(&[u8])) {
    for piece in Pieces::new(line) {
        match piece {
            Ok(Piece::Literal(text)) => out(text.as_bytes()),
            Ok(Piece::Reference { function, row, column }) => {
                let target = position as isize + isize::from(row);
                if target < 0 || target as usize >= tokens.token_count() {
                    boundary(target, tokens.token_count(), out);
                } else {
                    apply(function, tokens.column(target as usize, usize::from(column)), out);
                }
            }
            Err(_) => return,
        }
    }
}

/// CRF++'s string for a row outside the sequence: `_B-k` before it, `_B+k` after it.
fn boundary(target: isize, len: usize, out: &mut impl FnMut(&[u8])) {
    let (sign, distance) = if target < 0 { (b'-', target.unsigned_abs()) } else { (b'+', target as usize + 1 - len) };
    out(b"_B");
    out(&[sign]);
    let mut digits = [0u8; 3];
    let mut n = distance.min(999);
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out(&digits[i..]);
}

fn put(c: char, out: &mut impl FnMut(&[u8])) {
    let mut buf = [0u8; 4];
    out(c.encode_utf8(&mut buf).as_bytes());
}

/// The shape symbol of a character: `X` upper case, `x` lower case, `d` digit, `C` Han, else itself.
pub fn shape_of(c: char) -> char {
    if c.is_uppercase() {
        'X'
    } else if c.is_lowercase() {
        'x'
    } else if c.is_numeric() {
        'd'
    } else if char_class(c) == CharClass::Han {
        'C'
    } else {
        c
    }
}

/// One letter for what a token is made of: `D` digits only, `N` a number with separators (`1,000`,
/// `3.5`, `12-14`), `U` upper-case letters only, `T` title case (an upper-case letter, then lower-case
/// ones), `L` lower-case letters only, `M` letters of both cases, `A` letters and digits, `P`
/// punctuation only, `H` containing a Han character, `O` anything else.
pub fn token_class(text: &str) -> u8 {
    let (mut upper, mut lower, mut digit, mut punct, mut sep, mut han, mut other) = (0, 0, 0, 0, 0, 0, 0);
    for c in text.chars() {
        if c.is_uppercase() {
            upper += 1;
        } else if c.is_lowercase() {
            lower += 1;
        } else if c.is_numeric() {
            digit += 1;
        } else if char_class(c) == CharClass::Han {
            han += 1;
        } else if c.is_ascii_punctuation() || char_class(c) == CharClass::Punctuation {
            punct += 1;
            if matches!(c, '.' | ',' | '-' | '/' | ':') {
                sep += 1;
            }
        } else {
            other += 1;
        }
    }
    let letters = upper + lower;
    let first_upper = text.chars().next().is_some_and(char::is_uppercase);
    match () {
        _ if han > 0 => b'H',
        _ if other > 0 => b'O',
        _ if digit > 0 && letters == 0 && punct == 0 => b'D',
        _ if digit > 0 && letters == 0 && punct == sep => b'N',
        _ if punct > 0 && letters == 0 && digit == 0 => b'P',
        _ if punct > 0 => b'O',
        _ if digit > 0 => b'A',
        _ if lower == 0 => b'U',
        _ if upper == 0 => b'L',
        _ if upper == 1 && first_upper => b'T',
        _ => b'M',
    }
}

/// Streams `function` of `text` into `out`.
fn apply(function: TokenFunction, text: &str, out: &mut impl FnMut(&[u8])) {
    match function {
        TokenFunction::Raw => out(text.as_bytes()),
        TokenFunction::Lower => {
            for c in text.chars() {
                for l in c.to_lowercase() {
                    put(l, out);
                }
            }
        }
        TokenFunction::Shape => {
            for c in text.chars() {
                put(shape_of(c), out);
            }
        }
        TokenFunction::ShortShape => {
            let mut last = None;
            for c in text.chars() {
                let s = shape_of(c);
                if last != Some(s) {
                    put(s, out);
                    last = Some(s);
                }
            }
        }
        TokenFunction::Prefix(n) => {
            let end = text.char_indices().nth(usize::from(n)).map_or(text.len(), |(i, _)| i);
            out(&text.as_bytes()[..end]);
        }
        TokenFunction::Suffix(n) => {
            let n = usize::from(n);
            let start = if n == 0 { text.len() } else { text.char_indices().rev().nth(n - 1).map_or(0, |(i, _)| i) };
            out(&text.as_bytes()[start..]);
        }
        TokenFunction::Class => out(&[token_class(text)]),
        TokenFunction::CharType => {
            for c in text.chars().take(CHARTYPE_CHARS) {
                out(&[b'0' + char_class(c) as u8]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(line: &str, tokens: &[[&str; 2]], position: usize) -> ([u8; 64], usize) {
        let mut buf = [0u8; 64];
        let mut len = 0;
        expand(line, tokens, position, &mut |bytes: &[u8]| {
            buf[len..len + bytes.len()].copy_from_slice(bytes);
            len += bytes.len();
        });
        (buf, len)
    }

    fn check(line: &str, tokens: &[[&str; 2]], position: usize, expected: &str) {
        let (buf, len) = expanded(line, tokens, position);
        assert_eq!(core::str::from_utf8(&buf[..len]).unwrap(), expected, "{line} at {position}");
    }

    const SENTENCE: [[&str; 2]; 3] = [["Peter", "NNP"], ["Ödön-2", "NNP"], ["1,000.5", "CD"]];

    #[test]
    fn crfpp_references_expand_as_crfpp_does() {
        check("U01:%x[-1,0]/%x[0,1]", &SENTENCE, 0, "U01:_B-1/NNP");
        check("U01:%x[-1,0]/%x[0,1]", &SENTENCE, 2, "U01:Ödön-2/CD");
        check("U02:%x[2,0]", &SENTENCE, 1, "U02:_B+1");
        check("U03:%x[-2,1]%x[+2,1]", &SENTENCE, 0, "U03:_B-2CD");
        check("U04:%x[3,0]", &SENTENCE, 1, "U04:_B+2");
        check("U", &SENTENCE, 1, "U");
    }

    /// A parsed piece, or where and why parsing stopped.
    type Parsed<'a> = Option<Result<Piece<'a>, (usize, TemplateProblem)>>;

    /// The pieces as first parsed (pattern searches, every reference by `parse_reference`).
    fn general_pieces(line: &str) -> ([Parsed<'_>; 16], usize) {
        let mut out = [None; 16];
        let (mut at, mut n) = (0, 0);
        while at < line.len() && n < 16 {
            let rest = &line[at..];
            if !rest.starts_with('%') {
                let end = rest.find('%').unwrap_or(rest.len());
                out[n] = Some(Ok(Piece::Literal(&rest[..end])));
                at += end;
            } else {
                match parse_reference(&rest[1..]) {
                    Ok((piece, used)) => {
                        out[n] = Some(Ok(piece));
                        at += 1 + used;
                    }
                    Err(problem) => {
                        out[n] = Some(Err((at, problem)));
                        n += 1;
                        break;
                    }
                }
            }
            n += 1;
        }
        (out, n)
    }

    #[test]
    fn the_byte_scanning_parse_is_the_general_one() {
        let lines = [
            "U01:%x[-1,0]/%x[0,1]",
            "U02:%x[+2,1]%lower[0,0]",
            "U03:%x[ -1 , 0 ]",
            "U04:%x[-08,0]|%suffix9[8,63]",
            "U05:%x[9,0]",
            "U06:%x[0,64]",
            "U07:%x[0,0000]",
            "U08:%x[0]",
            "U09:%y[0,0]",
            "U10:50%",
            "U11:%x0,0]",
            "U12:%[0,0]",
            "Ü13:é%shape[0,0]ß%prefix3[-2,0]",
            "U14:%x[0,0",
            "U15:%x[-,0]",
            "",
            "%%",
            "U16:%prefix0[0,0]",
        ];
        for line in lines {
            let mut fast = [None; 16];
            let mut n = 0;
            for piece in Pieces::new(line) {
                fast[n] = Some(piece);
                n += 1;
            }
            let (general, m) = general_pieces(line);
            assert_eq!((fast, n), (general, m), "{line}");
        }
        let t =
            TokenTemplates::new("U01:%x[-1,0]/%x[0,1]\nU02:%lower[0,0]\nU03:%shape[1,0]", 2, MAX_TEMPLATES).unwrap();
        for position in 0..3 {
            let (mut a, mut b) = ([0u32; 3], [0u32; 3]);
            let (mut i, mut j) = (0, 0);
            t.hashes(&SENTENCE[..], position, |h| {
                a[i] = h;
                i += 1;
            });
            t.hashes_by_split(&SENTENCE[..], position, |h| {
                b[j] = h;
                j += 1;
            });
            assert_eq!((a, i), (b, j));
        }
    }

    #[test]
    fn functions() {
        check("U:%lower[0,0]", &SENTENCE, 1, "U:ödön-2");
        check("U:%shape[0,0]", &SENTENCE, 0, "U:Xxxxx");
        check("U:%shortshape[0,0]", &SENTENCE, 1, "U:Xx-d");
        check("U:%prefix2[0,0]|%suffix3[0,0]", &SENTENCE, 1, "U:Öd|n-2");
        check("U:%suffix9[0,0]", &SENTENCE, 0, "U:Peter");
        check("U:%class[0,0]%class[1,0]%class[2,0]", &SENTENCE, 0, "U:TON");
        check("U:%chartype[0,0]", &[["中1", "x"]], 0, "U:12");
    }

    #[test]
    fn classes() {
        for (text, class) in [
            ("1998", b'D'),
            ("1,000", b'N'),
            ("EU", b'U'),
            ("I", b'U'),
            ("Peter", b'T'),
            ("rejects", b'L'),
            ("McDonald", b'M'),
            ("A4", b'A'),
            (",", b'P'),
            ("北京", b'H'),
            ("don't", b'O'),
        ] {
            assert_eq!(token_class(text), class, "{text}");
        }
    }

    #[test]
    fn bad_lines_are_located() {
        let err = |line: &str| check_line(line, 2).unwrap_err();
        assert_eq!(err("B01:%x[0,0]"), (0, TemplateProblem::NotUnigram));
        assert_eq!(err("U01:%x[0,0]/%y[0,0]"), (12, TemplateProblem::UnknownFunction));
        assert_eq!(err("U01:%x[0,2]"), (4, TemplateProblem::ColumnOutOfRange));
        assert_eq!(err("U01:%x[9,0]"), (4, TemplateProblem::RowOutOfRange));
        assert_eq!(err("U01:%x[0]"), (4, TemplateProblem::BadReference));
        assert_eq!(err("U01:%x0,0]"), (4, TemplateProblem::BadReference));
        assert_eq!(err("U01:%prefix0[0,0]"), (4, TemplateProblem::UnknownFunction));
        assert_eq!(err("U01:50%"), (6, TemplateProblem::BadReference));
        assert!(check_line("U01:%x[-8,1]/%suffix9[+8,0]", 2).is_ok());
    }

    #[test]
    fn sections_are_validated() {
        let t = TokenTemplates::new("U00:%x[0,0]\nU01:%x[-1,1]", 2, MAX_TEMPLATES).unwrap();
        assert_eq!((t.len(), t.columns()), (2, 2));
        let e = TokenTemplates::new("U00:%x[0,0]\n\nU01:%x[0,0]", 2, MAX_TEMPLATES).unwrap_err();
        assert_eq!((e.line, e.problem), (1, TemplateProblem::Section));
        let e = TokenTemplates::new("U00:%x[0,0]\nU01:%x[0,3]", 2, MAX_TEMPLATES).unwrap_err();
        assert_eq!((e.line, e.at, e.problem), (1, 4, TemplateProblem::ColumnOutOfRange));
        assert!(TokenTemplates::new("U00:%x[0,0]\nU01", 2, 1).is_err());
        assert!(TokenTemplates::new("U00:%x[0,0]", 0, 4).is_err());
    }

    #[test]
    fn hashes_are_those_of_the_expanded_strings() {
        let t = TokenTemplates::new("U01:%x[-1,0]/%x[0,1]\nU02:%lower[0,0]", 2, MAX_TEMPLATES).unwrap();
        let mut seen = [0u32; 2];
        let mut i = 0;
        t.hashes(&SENTENCE[..], 1, |h| {
            seen[i] = h;
            i += 1;
        });
        assert_eq!(seen, [feature_hash("U01:Peter/NNP".as_bytes()), feature_hash("U02:ödön-2".as_bytes())]);
        assert_ne!(feature_hash(b"ab"), feature_hash(b"ba"));
        assert_ne!(feature_hash(b""), feature_hash(b"\0"));
    }
}

//! Forced spans: stretches of a run that segmentation must respect, found left to right.
//!
//! - **Words**: user-dictionary words, URLs (`http://`, `https://`, `ftp://`, `www.`) and e-mail addresses
//!   come out as exactly one word: their first tag opens a word, their last closes it, the ones between
//!   do neither.
//! - **Numbers**: ASCII or full-width digits with decimal points (`.`, `．`) and thousands separators
//!   (`,`) between digits and an optional final `%` or `％` are never split inside, but may join their
//!   neighbours (PKU writes `１９９８年` as one word).
//!
//! At each position not covered by an earlier span, the longest span starting there wins (a word over a
//! number of the same length); spans never overlap and never cross a separator. A span is at most
//! [`SPAN_LOOKAHEAD`] characters: matching stops there and keeps the longest span found so far, so the
//! streaming labeler needs to look at most that far ahead. Decoding enforces spans with per-position
//! tag masks (constrained Viterbi), never by editing the output.

use crate::dictionary::{Dictionary, TrieNode};
use crate::limits::MAX_CHAR_TAGS;
use crate::tags::ChunkRoles;

/// Longest forced span, in characters (the streaming labeler's extra look-ahead).
pub const SPAN_LOOKAHEAD: usize = 64;

/// Which spans decoding forces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanRules<'d> {
    /// User-dictionary words to keep whole.
    pub dictionary: Option<&'d Dictionary<'d>>,
    /// Keep URLs and e-mail addresses whole and numbers unsplit.
    pub forced_spans: bool,
}

impl Default for SpanRules<'_> {
    /// Forced spans on, no dictionary.
    fn default() -> Self {
        Self { dictionary: None, forced_spans: true }
    }
}

impl<'d> SpanRules<'d> {
    /// No rule at all: decoding is the model's alone.
    pub const NONE: SpanRules<'static> = SpanRules { dictionary: None, forced_spans: false };

    /// Can any span start with `ch`? The cheap filter run on every character (`false` means certainly
    /// not; a dictionary answers for the whole block of `ch`).
    #[inline(always)]
    pub(crate) fn may_start(&self, ch: char) -> bool {
        if ch.is_ascii() {
            self.forced_spans && ch.is_ascii_alphanumeric() || self.dictionary.is_some_and(|d| d.block_may_start(ch))
        } else {
            self.forced_spans && is_wide_digit(ch) || self.dictionary.is_some_and(|d| d.block_may_start(ch))
        }
    }
}

/// Per-position constraint codes: bit flags on the tag of one position.
pub(crate) const MUST_OPEN: u8 = 1;
pub(crate) const NO_OPEN: u8 = 2;
/// Unused by spans (a word's end is forced through the next tag), kept for the table's completeness.
pub(crate) const MUST_CLOSE: u8 = 4;
pub(crate) const NO_CLOSE: u8 = 8;

/// The constraint code of position `index` of a span of `len` characters: no boundary inside (a tag
/// that does not close, then one that does not open), and for a whole word a tag that opens at its
/// first position and at the position after it ([`AFTER_WORD`]). Forcing the next tag to open rather
/// than the last to close works for every scheme: in BIO only `O` closes, and so "B I" then "B" is the
/// only way to end a two-character word before another.
#[inline]
pub(crate) fn span_code(whole_word: bool, index: usize, len: usize) -> u8 {
    let first = index == 0;
    let last = index + 1 == len;
    let mut code = 0;
    if !first {
        code |= NO_OPEN;
    }
    if !last {
        code |= NO_CLOSE;
    }
    if whole_word && first {
        code |= MUST_OPEN;
    }
    code
}

/// The constraint code of the position after a whole-word span.
pub(crate) const AFTER_WORD: u8 = MUST_OPEN;

/// The allowed tags for each of the 16 constraint codes, for tags with `roles` among `num_tags`.
pub(crate) fn allowed_table(roles: &ChunkRoles, num_tags: usize) -> [u16; 16] {
    let full = if num_tags >= MAX_CHAR_TAGS { u16::MAX } else { (1u16 << num_tags) - 1 };
    let mut table = [full; 16];
    for (code, allowed) in table.iter_mut().enumerate() {
        let code = code as u8;
        if code & MUST_OPEN != 0 {
            *allowed &= roles.opens;
        }
        if code & NO_OPEN != 0 {
            *allowed &= !roles.opens;
        }
        if code & MUST_CLOSE != 0 {
            *allowed &= roles.closes;
        }
        if code & NO_CLOSE != 0 {
            *allowed &= !roles.closes;
        }
    }
    table
}

#[inline(always)]
fn is_wide_digit(ch: char) -> bool {
    (ch as u32).wrapping_sub('０' as u32) < 10
}

fn is_digit(ch: char) -> bool {
    ch.is_ascii_digit() || is_wide_digit(ch)
}

const URL_PREFIXES: [&[u8]; 4] = [b"http://", b"https://", b"ftp://", b"www."];

/// An incremental longest-match over all span kinds from one start position: feed characters one by one
/// while [`SpanScan::feed`] returns `true`, then read [`SpanScan::best`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpanScan {
    /// Characters fed.
    len: u8,
    /// Longest span found: length (0 = none) and whether it is a whole word.
    best_len: u8,
    best_word: bool,
    /// Dictionary walk (`None` when dead or no dictionary).
    node: Option<TrieNode>,
    /// Number: 0 dead, 1 after a digit, 2 after a separator (a digit must follow), 3 after `%`.
    number: u8,
    /// URL: bit `i` set while prefix `i` still matches; 0 dead; `BODY` once a prefix matched.
    url: u8,
    /// E-mail: 0 dead, 1 local part, 2 after `@`, 3 domain label without a dot yet, 4 after a dot,
    /// 5 domain label after a dot.
    email: u8,
}

const URL_BODY: u8 = 0x80;

impl SpanScan {
    /// A scan that has seen nothing (all matchers dead).
    pub(crate) const IDLE: SpanScan =
        SpanScan { len: 0, best_len: 0, best_word: false, node: None, number: 0, url: 0, email: 0 };

    /// A scan starting at `first` (feed it next). Matchers that cannot start with `first` start dead,
    /// so that a CJK character, most of the time a dictionary word's start, only walks the trie.
    #[inline]
    pub(crate) fn start(rules: &SpanRules<'_>, first: char) -> Self {
        let on = rules.forced_spans;
        let ascii_alnum = on && first.is_ascii_alphanumeric();
        let url_start = ascii_alnum && matches!(first.to_ascii_lowercase(), 'h' | 'f' | 'w');
        Self {
            len: 0,
            best_len: 0,
            best_word: false,
            node: rules.dictionary.map(|d| d.root()),
            number: u8::from(on && is_digit(first)),
            url: if url_start { 0x0F } else { 0 },
            email: u8::from(ascii_alnum),
        }
    }

    /// Feeds the next character; `false` once no longer span can be found (no need to feed more).
    #[inline]
    pub(crate) fn feed(&mut self, rules: &SpanRules<'_>, ch: char) -> bool {
        let at = usize::from(self.len);
        if at >= SPAN_LOOKAHEAD {
            return false;
        }
        self.len += 1;
        let mut word = false;
        if let Some(node) = self.node {
            self.node = None;
            if let Some(dictionary) = rules.dictionary.filter(|d| at < d.max_word_chars()) {
                if let Some((next, terminal)) = dictionary.step(node, ch) {
                    self.node = Some(next);
                    word |= terminal;
                }
            }
        }
        // A CJK scan only walks the trie: the other matchers are dead from its start.
        let mut number_ends = false;
        if self.number | self.url | self.email != 0 {
            number_ends = self.feed_number(ch, at);
            word |= self.feed_url(ch, at);
            word |= self.feed_email(ch, at);
        }
        if word {
            self.best_len = self.len;
            self.best_word = true;
        } else if number_ends {
            self.best_len = self.len;
            self.best_word = false;
        }
        self.node.is_some() || self.number != 0 || self.url != 0 || self.email != 0
    }

    /// Advances the number matcher; `true` when a number ends here.
    fn feed_number(&mut self, ch: char, at: usize) -> bool {
        let digit = is_digit(ch);
        self.number = match self.number {
            1 if at == 0 => u8::from(digit),
            1 if digit => 1,
            1 if matches!(ch, '.' | '．' | ',') => 2,
            1 if matches!(ch, '%' | '％') => 3,
            2 if digit => 1,
            _ => 0,
        };
        matches!(self.number, 1 | 3)
    }

    /// Advances the URL matcher; `true` when a URL can end here.
    fn feed_url(&mut self, ch: char, at: usize) -> bool {
        if self.url == 0 {
            return false;
        }
        if self.url == URL_BODY {
            let url_char = ch.is_ascii_graphic() && !matches!(ch, '<' | '>' | '"');
            if !url_char {
                self.url = 0;
                return false;
            }
            return !matches!(ch, '.' | ',' | ';' | ':' | '!' | '?' | '\'' | ')');
        }
        let byte = if ch.is_ascii() { (ch as u8).to_ascii_lowercase() } else { 0 };
        let mut still = 0u8;
        let mut complete = false;
        for (i, prefix) in URL_PREFIXES.iter().enumerate() {
            if self.url & (1 << i) != 0 && prefix.get(at) == Some(&byte) {
                still |= 1 << i;
                complete |= prefix.len() == at + 1;
            }
        }
        // "http://" and "https://" never complete on the same character, nor does any other pair.
        self.url = if complete { URL_BODY } else { still };
        false
    }

    /// Advances the e-mail matcher; `true` when an address can end here.
    fn feed_email(&mut self, ch: char, at: usize) -> bool {
        let alnum = ch.is_ascii_alphanumeric();
        self.email = match self.email {
            1 if at == 0 => u8::from(alnum),
            1 if alnum || matches!(ch, '.' | '_' | '%' | '+' | '-') => 1,
            1 if ch == '@' => 2,
            2 | 4 if alnum => self.email + 1,
            3 | 5 if alnum || ch == '-' => self.email,
            3 | 5 if ch == '.' => 4,
            _ => 0,
        };
        self.email == 5 && alnum
    }

    /// The longest span found: its length (0 when none) and whether it must be a whole word.
    #[inline]
    pub(crate) fn best(&self) -> (usize, bool) {
        (usize::from(self.best_len), self.best_word)
    }
}

/// The longest span starting at `chars[0]` (0 when none), and whether it is a whole word.
pub(crate) fn span_at(rules: &SpanRules<'_>, chars: &[char]) -> (usize, bool) {
    let Some(&first) = chars.first() else { return (0, false) };
    if !rules.may_start(first) {
        return (0, false);
    }
    let mut scan = SpanScan::start(rules, first);
    for &ch in chars.iter().take(SPAN_LOOKAHEAD) {
        if !scan.feed(rules, ch) {
            break;
        }
    }
    scan.best()
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    /// The spans of `text` as `[word]` and `{number}` marks.
    fn marked(rules: &SpanRules<'_>, text: &str) -> String {
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::new();
        let mut at = 0;
        while at < chars.len() {
            let (len, word) = span_at(rules, &chars[at..]);
            if len == 0 {
                out.push(chars[at]);
                at += 1;
            } else {
                let (open, close) = if word { ('[', ']') } else { ('{', '}') };
                out.push(open);
                out.extend(&chars[at..at + len]);
                out.push(close);
                at += len;
            }
        }
        out
    }

    #[test]
    fn finds_numbers_urls_and_addresses() {
        let rules = SpanRules::default();
        assert_eq!(marked(&rules, "１９９８年增长3.5%和1,234"), "{１９９８}年增长{3.5%}和{1,234}");
        assert_eq!(marked(&rules, "见http://a.cn/x?y=1。"), "见[http://a.cn/x?y=1]。");
        assert_eq!(marked(&rules, "访问www.pku.edu.cn."), "访问[www.pku.edu.cn].");
        assert_eq!(marked(&rules, "写信a.b@x-y.com,好"), "写信[a.b@x-y.com],好");
        assert_eq!(marked(&rules, "a@b 3. x"), "a@b {3}. x");
        assert_eq!(marked(&SpanRules::NONE, "3.5%"), "3.5%");
    }

    #[test]
    fn dictionary_words_are_leftmost_longest() {
        let bytes = crate::dictionary::build_dictionary("北京\n北京大学\n大学生\n1998年\n".as_bytes()).unwrap();
        let d = Dictionary::from_bytes(&bytes).unwrap();
        let rules = SpanRules { dictionary: Some(&d), forced_spans: true };
        assert_eq!(marked(&rules, "北京大学生"), "[北京大学]生");
        assert_eq!(marked(&rules, "在北京大学生活"), "在[北京大学]生活");
        assert_eq!(marked(&rules, "1998年和1999年"), "[1998年]和{1999}年");
    }

    #[test]
    fn codes_force_words_and_keep_numbers_whole() {
        assert_eq!(span_code(true, 0, 1), MUST_OPEN);
        assert_eq!(span_code(true, 2, 3), NO_OPEN);
        assert_eq!(span_code(true, 1, 3), NO_OPEN | NO_CLOSE);
        assert_eq!(span_code(false, 0, 2), NO_CLOSE);
        assert_eq!(span_code(false, 1, 2), NO_OPEN);
        let roles = ChunkRoles::from_names(["B", "M", "E", "S"]);
        let table = allowed_table(&roles, 4);
        assert_eq!(table[0], 0b1111);
        assert_eq!(table[usize::from(MUST_OPEN | NO_CLOSE)], 0b0001); // B
        assert_eq!(table[usize::from(NO_OPEN | NO_CLOSE)], 0b0010); // M
        assert_eq!(table[usize::from(NO_OPEN | MUST_CLOSE)], 0b0100); // E
        assert_eq!(table[usize::from(MUST_OPEN | MUST_CLOSE)], 0b1000); // S
    }
}

//! Word segmentation scoring exactly as the SIGHAN bakeoff's `score` script (icwb2-data/scripts/score,
//! perl + `diff -y`) does it.
//!
//! For each pair of lines, the script writes the gold and the test words one per line into two files and
//! runs `diff -y` on them: a word is correct when `diff` keeps it as a common line, i.e. when it is part
//! of the common subsequence `diff` finds (see [`line_diff`], which reproduces GNU diff's choices so
//! that even the insertion/deletion/substitution counts agree). That is not the same as "same characters at
//! the same place": a word matches another equal word anywhere the LCS can line them up. Counts are
//! summed over lines; recall = correct gold words / gold words, precision = correct test words / test
//! words, F = 2PR/(P+R). A gold word is OOV when it is not in the dictionary (the training word list);
//! OOV (IV) recall is the share of OOV (IV) gold words that are correct. Lines are paired in order until
//! either file ends; a line whose gold side has no words is skipped entirely.
//!
//! Lines are handled the way the script handles them, byte for byte: leading and trailing ASCII
//! whitespace removed, U+3000 (and the Big5 ideographic space `A1 40`) turned into a space, `\r`
//! removed, then split at runs of ASCII whitespace (a leading separator yields an empty first word, as
//! perl's `split /\s+/` does). Not reproduced: `diff -y` truncates a column at 61 display columns, so the
//! script looks a 31-character-or-longer word up in the dictionary by its truncated prefix.

use std::collections::HashSet;
use std::fmt;

pub mod line_diff;

/// The word list that defines in-vocabulary words.
#[derive(Debug, Clone, Default)]
pub struct Dictionary {
    words: HashSet<Vec<u8>>,
}

/// ASCII whitespace as perl's `\s` sees bytes: space, \t, \n, \v, \f, \r.
fn is_perl_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn trim_perl_space(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_perl_space(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_perl_space(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Splits a file's bytes into records the way perl's `<FH>` does: each ends after a `\n` (the last may
/// have none).
pub fn perl_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split_inclusive(|&b| b == b'\n')
}

impl Dictionary {
    /// Reads a word list like the script: `chop` (drop the last byte of each record), then trim.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let words = perl_lines(bytes).map(|record| trim_perl_space(&record[..record.len() - 1]).to_vec()).collect();
        Self { words }
    }

    /// A dictionary of the given words.
    pub fn from_words<S: AsRef<str>>(words: impl IntoIterator<Item = S>) -> Self {
        Self { words: words.into_iter().map(|w| w.as_ref().as_bytes().to_vec()).collect() }
    }

    /// Is `word` in-vocabulary?
    pub fn contains(&self, word: &[u8]) -> bool {
        self.words.contains(word)
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// A line's words as the script splits them.
pub fn split_line(line: &[u8]) -> Vec<Vec<u8>> {
    let trimmed = trim_perl_space(line);
    let mut cleaned = Vec::with_capacity(trimmed.len());
    let mut i = 0;
    while i < trimmed.len() {
        if trimmed[i..].starts_with(b"\xE3\x80\x80") {
            cleaned.push(b' ');
            i += 3;
        } else if trimmed[i..].starts_with(b"\xA1\x40") {
            cleaned.push(b' ');
            i += 2;
        } else {
            if trimmed[i] != b'\r' {
                cleaned.push(trimmed[i]);
            }
            i += 1;
        }
    }
    if cleaned.is_empty() {
        return Vec::new();
    }
    // perl's split /\s+/ keeps a leading empty field and drops trailing ones.
    let mut words: Vec<Vec<u8>> = cleaned.split(|&b| is_perl_space(b)).map(<[u8]>::to_vec).collect();
    let leading_empty = words.first().is_some_and(Vec::is_empty);
    words.retain(|w| !w.is_empty());
    if leading_empty {
        words.insert(0, Vec::new());
    }
    words
}

/// Word counts summed over lines: everything the official script prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScoreCounts {
    /// Test words with no gold counterpart in their change region (`diff`'s `>` lines).
    pub insertions: usize,
    /// Gold words with no test counterpart in their change region (`<` lines).
    pub deletions: usize,
    /// Paired changed words (`|` lines).
    pub substitutions: usize,
    /// Gold words.
    pub true_words: usize,
    /// Test words.
    pub test_words: usize,
    /// Gold words `diff` keeps in common.
    pub true_correct: usize,
    /// Test words `diff` keeps in common.
    pub test_correct: usize,
    /// Gold words not in the dictionary.
    pub oov_words: usize,
    /// Gold words in the dictionary.
    pub iv_words: usize,
    /// OOV gold words that were missed.
    pub oov_missed: usize,
    /// IV gold words that were missed.
    pub iv_missed: usize,
    /// Lines scored.
    pub lines: usize,
}

impl ScoreCounts {
    /// Scores one line's words (already split) and adds the counts.
    pub fn add_line(&mut self, gold: &[Vec<u8>], test: &[Vec<u8>], dictionary: Option<&Dictionary>) {
        if gold.is_empty() {
            return;
        }
        self.lines += 1;
        self.true_words += gold.len();
        self.test_words += test.len();
        let gold_refs: Vec<&[u8]> = gold.iter().map(Vec::as_slice).collect();
        let test_refs: Vec<&[u8]> = test.iter().map(Vec::as_slice).collect();
        let changes = line_diff::diff_lines(&gold_refs, &test_refs);
        let (n, m) = (gold.len(), test.len());
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            let in_change = (i < n && changes.old[i]) || (j < m && changes.new[j]);
            if !in_change {
                // A common line. A test word that is a lone `|`, `<` or `>` looks like diff's gutter
                // mark to the script's patterns even here: counted as a change and a missed gold word.
                let lookalike = gutter_lookalike(&test[j]);
                match lookalike {
                    Some(b'|') => self.substitutions += 1,
                    Some(b'>') => self.insertions += 1,
                    Some(_) => self.deletions += 1,
                    None => {}
                }
                self.count_gold_word(&gold[i], lookalike.is_some(), dictionary);
                // Nothing follows the mark on a common line, so the test word is never an error.
                self.test_correct += 1;
                i += 1;
                j += 1;
                continue;
            }
            // One hunk: diff pairs its lines as `|` and prints the rest as `<` or `>`.
            let (first_gold, first_test) = (i, j);
            while i < n && changes.old[i] {
                i += 1;
            }
            while j < m && changes.new[j] {
                j += 1;
            }
            let (deleted, inserted) = (i - first_gold, j - first_test);
            let paired = deleted.min(inserted);
            self.substitutions += paired;
            self.deletions += deleted - paired;
            self.insertions += inserted - paired;
            for word in &gold[first_gold..i] {
                self.count_gold_word(word, true, dictionary);
            }
            // An empty test word leaves nothing after the gutter mark, so it is not an error.
            self.test_correct += test[first_test..j].iter().filter(|w| w.is_empty()).count();
        }
    }

    /// Counts a gold word as OOV or IV, and as missed or correct. An empty gold word (from a line that
    /// starts with U+3000) has no first column for the script's patterns: neither OOV nor IV, never missed.
    fn count_gold_word(&mut self, word: &[u8], missed: bool, dictionary: Option<&Dictionary>) {
        if word.is_empty() {
            self.true_correct += 1;
            return;
        }
        let iv = dictionary.is_some_and(|d| d.contains(word));
        match (iv, missed) {
            (true, true) => self.iv_missed += 1,
            (false, true) => self.oov_missed += 1,
            _ => self.true_correct += 1,
        }
        if iv {
            self.iv_words += 1;
        } else {
            self.oov_words += 1;
        }
    }

    /// Gold-word recall.
    pub fn recall(&self) -> f64 {
        self.true_correct as f64 / self.true_words as f64
    }

    /// Test-word precision.
    pub fn precision(&self) -> f64 {
        self.test_correct as f64 / self.test_words as f64
    }

    /// Balanced F-measure, computed as the script does.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        2.0 * p * r / (p + r)
    }

    /// Share of gold words that are OOV.
    pub fn oov_rate(&self) -> f64 {
        self.oov_words as f64 / self.true_words as f64
    }

    /// Recall on OOV gold words (`None` without OOV words).
    pub fn oov_recall(&self) -> Option<f64> {
        (self.oov_words > 0).then(|| 1.0 - self.oov_missed as f64 / self.oov_words as f64)
    }

    /// Recall on IV gold words (`None` without IV words).
    pub fn iv_recall(&self) -> Option<f64> {
        (self.iv_words > 0).then(|| 1.0 - self.iv_missed as f64 / self.iv_words as f64)
    }

    /// The summary block the official script prints, digit for digit (`%2.3f`).
    pub fn official_summary(&self) -> String {
        let opt = |v: Option<f64>| v.map_or_else(|| "--".to_string(), |v| format!("{v:.3}"));
        format!(
            "=== SUMMARY:\n\
             === TOTAL INSERTIONS:\t{}\n\
             === TOTAL DELETIONS:\t{}\n\
             === TOTAL SUBSTITUTIONS:\t{}\n\
             === TOTAL NCHANGE:\t{}\n\
             === TOTAL TRUE WORD COUNT:\t{}\n\
             === TOTAL TEST WORD COUNT:\t{}\n\
             === TOTAL TRUE WORDS RECALL:\t{:.3}\n\
             === TOTAL TEST WORDS PRECISION:\t{:.3}\n\
             === F MEASURE:\t{:.3}\n\
             === OOV Rate:\t{:.3}\n\
             === OOV Recall Rate:\t{}\n\
             === IV Recall Rate:\t{}\n",
            self.insertions,
            self.deletions,
            self.substitutions,
            self.insertions + self.deletions + self.substitutions,
            self.true_words,
            self.test_words,
            self.recall(),
            self.precision(),
            self.f1(),
            self.oov_rate(),
            opt(self.oov_recall()),
            opt(self.iv_recall()),
        )
    }
}

fn gutter_lookalike(word: &[u8]) -> Option<u8> {
    match word {
        [mark @ (b'|' | b'<' | b'>')] => Some(*mark),
        _ => None,
    }
}

impl fmt::Display for ScoreCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "P {:.2}  R {:.2}  F1 {:.2}", 100.0 * self.precision(), 100.0 * self.recall(), 100.0 * self.f1())?;
        if let Some(oov) = self.oov_recall() {
            write!(f, "  OOV-R {:.2}", 100.0 * oov)?;
        }
        if let Some(iv) = self.iv_recall() {
            write!(f, "  IV-R {:.2}", 100.0 * iv)?;
        }
        Ok(())
    }
}

/// Scores whole files (gold and test), line by line, like `score dictionary gold test`.
pub fn score_files(gold: &[u8], test: &[u8], dictionary: Option<&Dictionary>) -> ScoreCounts {
    let mut counts = ScoreCounts::default();
    for (gold_line, test_line) in perl_lines(gold).zip(perl_lines(test)) {
        counts.add_line(&split_line(gold_line), &split_line(test_line), dictionary);
    }
    counts
}

/// Scores word sequences given as strings (one sequence per sentence).
pub fn score_words<G: AsRef<str>, T: AsRef<str>>(
    gold: &[Vec<G>],
    test: &[Vec<T>],
    dictionary: Option<&Dictionary>,
) -> ScoreCounts {
    let mut counts = ScoreCounts::default();
    for (g, t) in gold.iter().zip(test) {
        let g: Vec<Vec<u8>> = g.iter().map(|w| w.as_ref().as_bytes().to_vec()).collect();
        let t: Vec<Vec<u8>> = t.iter().map(|w| w.as_ref().as_bytes().to_vec()).collect();
        counts.add_line(&g, &t, dictionary);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Vec<Vec<u8>> {
        split_line(s.as_bytes())
    }

    #[test]
    fn perfect_output_scores_one() {
        let dict = Dictionary::from_words(["我们", "是"]);
        let c = score_files("我们  是  学生\n".as_bytes(), "我们 是 学生\n".as_bytes(), Some(&dict));
        assert_eq!((c.true_words, c.test_words, c.true_correct, c.test_correct), (3, 3, 3, 3));
        assert_eq!(c.f1(), 1.0);
        assert_eq!((c.oov_words, c.iv_words), (1, 2));
        assert_eq!(c.oov_recall(), Some(1.0));
    }

    #[test]
    fn hand_computed_precision_recall_and_oov() {
        // gold: 中国 | 人民 | 银行 | 行长 (4 words); test: 中国 | 人民银行 | 行 | 长 (4 words).
        // Common: 中国 only. R = 1/4, P = 1/4.
        let dict = Dictionary::from_words(["中国", "人民"]);
        let c = score_files("中国  人民  银行  行长\n".as_bytes(), "中国  人民银行  行  长\n".as_bytes(), Some(&dict));
        assert_eq!((c.true_correct, c.test_correct), (1, 1));
        assert_eq!(c.recall(), 0.25);
        assert_eq!(c.precision(), 0.25);
        // OOV gold words: 银行, 行长 (both missed); IV: 中国 (hit), 人民 (missed).
        assert_eq!((c.oov_words, c.oov_missed, c.iv_words, c.iv_missed), (2, 2, 2, 1));
        assert_eq!(c.oov_recall(), Some(0.0));
        assert_eq!(c.iv_recall(), Some(0.5));
        // One change region with 3 gold and 3 test words: 3 substitutions.
        assert_eq!((c.substitutions, c.insertions, c.deletions), (3, 0, 0));
    }

    #[test]
    fn lcs_matches_equal_words_at_different_places() {
        // gold "a a|b"  = a, ab; test: a, a, b. Same characters. Position-based scoring finds "a" correct
        // only; the LCS pairs gold "a" with test "a" too, so also 1 -- but here is the subtle case:
        // gold: 的, 的确, 的 ; test: 的, 的, 确的. Span scoring: only the first 的 is right (1/3).
        // The LCS matches gold [的, 的] with test [的, 的]: 2 correct gold words and 2 correct test words,
        // although the second test 的 is a different character from the gold's third.
        let c = score_files("的  的确  的\n".as_bytes(), "的  的  确的\n".as_bytes(), None);
        assert_eq!((c.true_correct, c.test_correct), (2, 2));
        assert!((c.recall() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn insertions_and_deletions_by_region() {
        // gold: AB C ; test: A B C -> region {AB} vs {A, B}: 1 substitution + 1 insertion.
        let c = score_files(b"AB C\n", b"A B C\n", None);
        assert_eq!((c.substitutions, c.insertions, c.deletions), (1, 1, 0));
        assert_eq!((c.true_correct, c.test_correct), (1, 1));
        let c = score_files(b"A B C\n", b"AB C\n", None);
        assert_eq!((c.substitutions, c.insertions, c.deletions), (1, 0, 1));
    }

    #[test]
    fn lines_pair_until_either_file_ends_and_empty_gold_lines_are_skipped() {
        let c = score_files(b"a b\n\nc\nd\n", b"a b\nx\nc\n", None);
        assert_eq!(c.lines, 2);
        assert_eq!((c.true_words, c.test_words), (3, 3));
        assert_eq!(c.f1(), 1.0);
    }

    #[test]
    fn perl_line_handling() {
        assert_eq!(line("  a\t b  \r\n"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(line("a\u{3000}b"), vec![b"a".to_vec(), b"b".to_vec()]);
        // After trimming, an ideographic space at the start becomes a leading empty field.
        assert_eq!(line("\u{3000}a"), vec![Vec::new(), b"a".to_vec()]);
        assert!(line(" \r\n").is_empty());
        let dict = Dictionary::from_bytes(b"ab\r\n cd \nlast");
        assert!(dict.contains(b"ab") && dict.contains(b"cd") && dict.contains(b"las"));
    }

    #[test]
    fn summary_is_printed_like_the_script() {
        let c = score_files("中国  人民  银行  行长\n".as_bytes(), "中国  人民银行  行  长\n".as_bytes(), None);
        let summary = c.official_summary();
        assert!(summary.contains("=== TOTAL TRUE WORD COUNT:\t4\n"));
        assert!(summary.contains("=== F MEASURE:\t0.250\n"));
        assert!(summary.contains("=== IV Recall Rate:\t--\n"));
    }
}

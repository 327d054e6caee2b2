//! CoNLL column files, as used for named-entity recognition and chunking (CoNLL-2000, CoNLL-2003): one
//! token per line, its columns separated by whitespace (the word first, then any features), the last
//! column its tag; a blank line ends a sentence; `-DOCSTART-` lines mark document starts and are skipped.
//!
//! Word positions: a file whose every token (its first column) is a text followed by a decimal number
//! that counts the token's position in a word, 0 at the first character of a word and one more at each
//! next one (the Weibo NER files of the second release: `科0`, `技1`, `全0`, `方1`, `位2`, from a
//! word segmentation that is not part of the task), is read with the text alone; [`ConllFile`] says so
//! in `word_positions`. See [`strip_word_positions`] for the exact rule, which no other layout meets by
//! chance: a file of words that merely end in digits keeps them.
//!
//! Every data line of a file must have as many columns as the first one. Malformed input (ragged
//! columns, invalid UTF-8, a missing tag column) is a [`CorpusError`] naming the file and the line. An
//! empty file, or one of blank lines only, reads as zero sentences: whether that is acceptable is the
//! caller's decision.

use std::path::Path;

use crate::corpus::{check_no_controls, lines, malformed, read_bytes, CorpusError};

/// The first column of a line that starts a new document in the CoNLL-2003 files.
pub const DOCUMENT_START: &str = "-DOCSTART-";

/// Whether the last column of each line is a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagColumn {
    /// The last column is the tag, so every line needs at least two columns (a token and its tag).
    #[default]
    Last,
    /// There is no tag column (text still to be tagged): every column belongs to the token.
    Absent,
}

/// One sentence of a CoNLL column file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConllSentence {
    /// Per token, its columns without the tag: the word first, then any feature columns.
    pub tokens: Vec<Vec<String>>,
    /// Per token, its tag (the last column); empty when the file was read with [`TagColumn::Absent`].
    pub tags: Vec<String>,
    /// Per token, the 1-based line number it was read from (for error messages about it later).
    pub lines: Vec<usize>,
}

impl ConllSentence {
    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// True when the sentence has no token (never the case for a sentence the reader returns).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The word of token `index`: its first column (`""` for a token without columns).
    ///
    /// Panics when `index` is not below [`Self::len`], as slice indexing does.
    pub fn word(&self, index: usize) -> &str {
        self.tokens[index].first().map_or("", String::as_str)
    }
}

/// The contents of a CoNLL column file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConllFile {
    /// Columns per data line, tag included (0 for a file without data lines).
    pub columns: usize,
    /// The sentences in file order; none of them is empty.
    pub sentences: Vec<ConllSentence>,
    /// Each token's first column ended in its position in a word, which was removed (see
    /// [`strip_word_positions`]).
    pub word_positions: bool,
}

impl ConllFile {
    /// Number of tokens over all sentences.
    pub fn token_count(&self) -> usize {
        self.sentences.iter().map(ConllSentence::len).sum()
    }
}

/// Parses the bytes of a CoNLL column file. `source_name` names the source in errors.
///
/// A `-DOCSTART-` line also ends the current sentence, since documents never share one. A UTF-8
/// byte-order mark and CRLF line ends are accepted.
pub fn parse_conll_columns(bytes: &[u8], source_name: &str, tag_column: TagColumn) -> Result<ConllFile, CorpusError> {
    let mut file = ConllFile::default();
    let mut current = empty_sentence();
    for line in lines(bytes, source_name)? {
        let columns: Vec<&str> = line.text.split_whitespace().collect();
        if columns.first() == Some(&DOCUMENT_START) || columns.is_empty() {
            if !current.is_empty() {
                file.sentences.push(std::mem::replace(&mut current, empty_sentence()));
            }
            continue;
        }
        check_no_controls(line.text, source_name, line.number)?;
        if file.columns == 0 {
            if tag_column == TagColumn::Last && columns.len() < 2 {
                return Err(malformed(
                    source_name,
                    line.number,
                    format_args!("one column ({:?}): expected a token and its tag in the last column", columns[0]),
                ));
            }
            file.columns = columns.len();
        } else if columns.len() != file.columns {
            return Err(malformed(
                source_name,
                line.number,
                format_args!(
                    "{} columns, but the first data line of the file has {}; every line needs the same number",
                    columns.len(),
                    file.columns
                ),
            ));
        }
        let mut columns: Vec<String> = columns.into_iter().map(str::to_string).collect();
        if tag_column == TagColumn::Last {
            // At least two columns here: the first data line was checked, the rest have as many.
            if let Some(tag) = columns.pop() {
                current.tags.push(tag);
            }
        }
        current.tokens.push(columns);
        current.lines.push(line.number);
    }
    if !current.is_empty() {
        file.sentences.push(current);
    }
    file.word_positions = strip_word_positions(&mut file.sentences);
    Ok(file)
}

/// Removes the word positions from the tokens' first columns if every token has one, and says whether
/// it did. A token has one when its first column ends in the decimal digits of the position its place in
/// the sentence allows, after a non-empty text: 0 (the first character of a word; the only position a
/// sentence's first token may have) or one more than the previous token's position (the next character
/// of the same word), the latter preferred when both fit. Annotation slips are tolerated in at most 1% of
/// the tokens, when the token is one character followed by other digits (the Weibo training file has one:
/// `越2` after a position 0); the next token then counts from that position. The file must also have some
/// position above 0. Otherwise nothing changes, so that a corpus whose words end in digits (`A1`,
/// `F16`) keeps them.
pub fn strip_word_positions(sentences: &mut [ConllSentence]) -> bool {
    // First pass: find every token's text length; change nothing unless every token has a position.
    let mut lengths = Vec::new();
    let mut some_continuation = false;
    let mut slips = 0usize;
    for sentence in sentences.iter() {
        let mut previous: Option<usize> = None;
        for token in &sentence.tokens {
            let Some(word) = token.first() else { return false };
            let split = |position: usize| {
                let digits = position.to_string();
                word.strip_suffix(digits.as_str()).filter(|text| !text.is_empty()).map(|text| (text.len(), position))
            };
            let slip = || {
                let mut chars = word.chars();
                let first = chars.next()?;
                let digits = chars.as_str();
                let valid = (1..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
                valid.then(|| (first.len_utf8(), digits.parse::<usize>().unwrap_or(0)))
            };
            let expected = previous.and_then(|p| split(p + 1)).or_else(|| split(0));
            let Some((text_len, position)) = expected.or_else(|| {
                slips += 1;
                slip()
            }) else {
                return false;
            };
            some_continuation |= position > 0;
            previous = Some(position);
            lengths.push(text_len);
        }
    }
    if !some_continuation || slips * 100 > lengths.len() {
        return false;
    }
    let mut lengths = lengths.into_iter();
    for token in sentences.iter_mut().flat_map(|s| s.tokens.iter_mut()) {
        if let (Some(word), Some(len)) = (token.first_mut(), lengths.next()) {
            word.truncate(len);
        }
    }
    true
}

/// Reads a CoNLL column file (see [`parse_conll_columns`]); errors name the path.
pub fn read_conll_columns(path: &Path, tag_column: TagColumn) -> Result<ConllFile, CorpusError> {
    let bytes = read_bytes(path)?;
    parse_conll_columns(&bytes, &path.display().to_string(), tag_column)
}

fn empty_sentence() -> ConllSentence {
    ConllSentence { tokens: Vec::new(), tags: Vec::new(), lines: Vec::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConllFile, CorpusError> {
        parse_conll_columns(text.as_bytes(), "test.conll", TagColumn::Last)
    }

    fn error_text(text: &[u8], tag_column: TagColumn) -> String {
        match parse_conll_columns(text, "test.conll", tag_column) {
            Ok(file) => panic!("expected an error, read {file:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_conll2003_layout_with_documents_and_blank_lines() {
        let text = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n\n\
                    Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n\n";
        let file = parse(text).unwrap();
        assert_eq!(file.columns, 4);
        assert_eq!(file.sentences.len(), 2);
        let first = &file.sentences[0];
        assert_eq!(first.tokens, vec![vec!["EU", "NNP", "B-NP"], vec!["rejects", "VBZ", "B-VP"]]);
        assert_eq!(first.tags, vec!["B-ORG", "O"]);
        assert_eq!(first.lines, vec![3, 4]);
        assert_eq!(first.word(1), "rejects");
        assert_eq!(file.sentences[1].tags, vec!["B-PER", "I-PER"]);
        assert_eq!(file.sentences[1].lines, vec![7, 8]);
        assert_eq!(file.token_count(), 4);
    }

    #[test]
    fn tabs_crlf_bom_and_missing_final_blank_line_are_accepted() {
        let file = parse("\u{FEFF}Paris\tB-LOC\r\nis\tO\r\n\r\nHe\tO").unwrap();
        assert_eq!(file.columns, 2);
        assert_eq!(file.sentences.len(), 2);
        assert_eq!(file.sentences[0].tokens, vec![vec!["Paris"], vec!["is"]]);
        assert_eq!(file.sentences[1].tags, vec!["O"]);
    }

    #[test]
    fn document_start_ends_a_sentence() {
        let file = parse("a O\nb O\n-DOCSTART- O\nc O\n").unwrap();
        let words: Vec<Vec<&str>> = file.sentences.iter().map(|s| (0..s.len()).map(|i| s.word(i)).collect()).collect();
        assert_eq!(words, vec![vec!["a", "b"], vec!["c"]]);
    }

    #[test]
    fn empty_input_reads_as_no_sentences() {
        for text in ["", "\n\n\n", "  \n\t\n", "-DOCSTART- -X- O\n\n"] {
            let file = parse(text).unwrap();
            assert!(file.sentences.is_empty(), "{text:?}");
            assert_eq!(file.columns, 0, "{text:?}");
        }
    }

    #[test]
    fn ragged_columns_name_the_line() {
        let message = error_text(b"a X O\nb X O\n\nc O\n", TagColumn::Last);
        assert!(message.starts_with("test.conll:4: 2 columns"), "{message}");
        assert!(message.contains("has 3"), "{message}");
    }

    #[test]
    fn a_single_column_is_refused_when_tags_are_required() {
        let message = error_text(b"\n\nword\n", TagColumn::Last);
        assert!(message.starts_with("test.conll:3: one column (\"word\")"), "{message}");
    }

    #[test]
    fn a_single_column_is_a_token_without_tags() {
        let file = parse_conll_columns(b"word\nother\n", "test.conll", TagColumn::Absent).unwrap();
        assert_eq!(file.columns, 1);
        assert_eq!(file.sentences[0].tokens, vec![vec!["word"], vec!["other"]]);
        assert!(file.sentences[0].tags.is_empty());
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let message = error_text(b"a O\nb\xFF O\n", TagColumn::Last);
        assert!(message.starts_with("test.conll:2: invalid UTF-8"), "{message}");
    }

    #[test]
    fn control_characters_name_the_line() {
        let message = error_text(b"a O\n\nb\x01 O\n", TagColumn::Last);
        assert!(message.starts_with("test.conll:3: control character U+0001"), "{message}");
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.conll");
        let message = read_conll_columns(&path, TagColumn::Last).unwrap_err().to_string();
        assert!(message.contains("missing.conll"), "{message}");
    }

    #[test]
    fn word_positions_are_stripped_from_a_weibo_layout_file() {
        // The Weibo NER layout: each character followed by its position in a word, positions past 9
        // included, a character that is itself a digit, and a token of two characters (U+FFFD twice, as in
        // the corpus).
        let text = "科0\tO\n技1\tO\n全0\tB-PER.NAM\n方1\tI-PER.NAM\n位2\tO\n\n                    1\u{30}\tO\n9\u{31}\tO\n\u{FFFD}\u{FFFD}0\tO\na0\tO\nb1\tO\nc2\tO\nd3\tO\ne4\tO\nf5\tO\n                    g6\tO\nh7\tO\ni8\tO\nj9\tO\nk10\tO\nl11\tO\n\n                    a0\tO\nb1\tO\nc0\tO\nd1\tO\ne0\tO\nf1\tO\ng0\tO\nh1\tO\ni0\tO\nj1\tO\n                    a0\tO\nb1\tO\nc0\tO\nd1\tO\ne0\tO\nf1\tO\ng0\tO\nh1\tO\ni0\tO\nj1\tO\n                    a0\tO\nb1\tO\nc0\tO\nd1\tO\ne0\tO\nf1\tO\ng0\tO\nh1\tO\ni0\tO\nj1\tO\n                    a0\tO\nb1\tO\nc0\tO\nd1\tO\ne0\tO\nf1\tO\ng0\tO\nh1\tO\ni0\tO\nj1\tO\n                    a0\tO\nb1\tO\nc0\tO\nd1\tO\ne0\tO\nf1\tO\ng0\tO\nh1\tO\ni0\tO\nj1\tO\n                    a0\tO\nb1\tO\nc0\tO\nd1\tO\ne0\tO\nf1\tO\ng0\tO\nh1\tO\ni0\tO\nj1\tO\n                    a0\tO\nb1\tO\nc0\tO\nd1\tO\ne0\tO\nf1\tO\ng0\tO\nh1\tO\ni0\tO\nj1\tO\n                    a0\tO\nb1\tO\nc0\tO\nd1\tO\ne0\tO\nf1\tO\ng0\tO\nh1\tO\ni0\tO\nj1\tO\n                    性0\tO\n越2\tO\n势3\tO\n";
        let file = parse(text).unwrap();
        assert!(file.word_positions);
        let words: Vec<Vec<&str>> = file.sentences.iter().map(|s| (0..s.len()).map(|i| s.word(i)).collect()).collect();
        assert_eq!(words[0], ["科", "技", "全", "方", "位"]);
        assert_eq!(&words[1][..3], ["1", "9", "\u{FFFD}\u{FFFD}"]);
        assert_eq!(&words[1][13..], ["k", "l"]);
        assert_eq!(file.sentences[0].tags[2], "B-PER.NAM");
        // One slip in 100 tokens (`越2` after a position 0, as in the Weibo training file) is tolerated.
        assert_eq!(&words[2][80..], ["性", "越", "势"]);
    }

    #[test]
    fn words_that_merely_end_in_digits_are_kept() {
        for text in [
            // A position must start at 0 in each sentence.
            "F16 NN B-NP\nA1 NN I-NP\n",
            // Every token must have one: `x` has none.
            "a0 O\nb1 O\nx O\n",
            // Each position is 0 or one more than the previous one.
            "a0 O\nb1 O\nc3 O\n",
            // Slips in more than 1% of the tokens.
            "a0 O\nb1 O\nc3 O\nd0 O\n",
            // Only zeros: nothing says these are positions.
            "a0 O\nb0 O\n",
            // A position needs a text before it.
            "10 O\n1 O\n",
        ] {
            let file = parse(text).unwrap();
            assert!(!file.word_positions, "{text:?}");
            let original: Vec<&str> = text.lines().map(|l| l.split_whitespace().next().unwrap()).collect();
            let words: Vec<&str> = (0..file.sentences[0].len()).map(|i| file.sentences[0].word(i)).collect();
            assert_eq!(words, original, "{text:?}");
        }
    }

    #[test]
    fn reads_a_file_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.conll");
        std::fs::write(&path, "Paris B-LOC\n").unwrap();
        let file = read_conll_columns(&path, TagColumn::Last).unwrap();
        assert_eq!(file.sentences[0].tags, vec!["B-LOC"]);
    }
}

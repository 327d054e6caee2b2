//! CoNLL column files, as used for named-entity recognition and chunking (CoNLL-2000, CoNLL-2003): one
//! token per line, its columns separated by whitespace (the word first, then any features), the last
//! column its tag; a blank line ends a sentence; `-DOCSTART-` lines mark document starts and are skipped.
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
    Ok(file)
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
    fn reads_a_file_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.conll");
        std::fs::write(&path, "Paris B-LOC\n").unwrap();
        let file = read_conll_columns(&path, TagColumn::Last).unwrap();
        assert_eq!(file.sentences[0].tags, vec!["B-LOC"]);
    }
}

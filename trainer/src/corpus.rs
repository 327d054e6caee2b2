//! Corpus input: whitespace-segmented text (one sentence per line, words separated by whitespace, as in
//! the SIGHAN and CTB files) and CoNLL-style `char<TAB>tag` files (one character per line, a blank line
//! between sentences). Both become [`Sentence`]s: the characters as written plus one tag index per
//! character. CRLF line ends and a UTF-8 byte-order mark are accepted; anything malformed is an error
//! that names the file and the line.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use decoder::internal::segment::ChunkRoles;
use decoder::internal::tags::{derive_constraints_in, ModelConstraints as Constraints, TagScheme};
use decoder::internal::text::is_separator;

/// The tag names of word segmentation, in the order the exported model stores them.
pub const BMES_TAGS: [&str; 4] = ["B", "M", "E", "S"];
/// The six-tag segmentation set (Zhao et al. 2006): the second and third characters of a word get
/// tags of their own (`M-2`, `M-3`; the decoder reads them as word-internal `M` roles), which lets
/// the CRF layer model word length up to four characters.
pub const BMES6_TAGS: [&str; 6] = ["B", "M-2", "M-3", "M", "E", "S"];
#[cfg(test)]
const TAG_B: u8 = 0;
#[cfg(test)]
const TAG_M: u8 = 1;
#[cfg(test)]
const TAG_E: u8 = 2;
#[cfg(test)]
const TAG_S: u8 = 3;

/// Tag sets for word segmentation corpora.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WordTags {
    /// `B M E S`: begin, middle, end of a word, single-character word.
    #[default]
    Bmes,
    /// `B M-2 M-3 M E S`: as BMES, with the 2nd and 3rd characters of longer words tagged apart.
    Bmes6,
    /// `B I`: word-initial or not. Half the table of BMES for the same rows, for tiny models.
    Bi,
}

impl WordTags {
    /// The tag names, in model order.
    pub fn names(self) -> Vec<String> {
        let names: &[&str] = match self {
            Self::Bmes => &BMES_TAGS,
            Self::Bmes6 => &BMES6_TAGS,
            Self::Bi => &["B", "I"],
        };
        names.iter().map(|n| n.to_string()).collect()
    }

    /// The set whose names these are, if any.
    pub fn of(names: &[String]) -> Option<Self> {
        [Self::Bmes, Self::Bmes6, Self::Bi].into_iter().find(|t| t.names() == names)
    }

    /// Appends the tags of a word of `len` characters.
    fn tag_word(self, len: usize, tags: &mut Vec<u8>) {
        match (self, len) {
            (_, 0) => {}
            (Self::Bi, _) => {
                tags.push(0);
                tags.extend(std::iter::repeat_n(1, len - 1));
            }
            (Self::Bmes, 1) => tags.push(3),
            (Self::Bmes, _) => {
                tags.push(0);
                tags.extend(std::iter::repeat_n(1, len - 2));
                tags.push(2);
            }
            (Self::Bmes6, 1) => tags.push(5),
            (Self::Bmes6, _) => {
                tags.push(0);
                // Positions 2 and 3 (when not last) are M-2 and M-3, later ones M.
                for i in 1..len - 1 {
                    tags.push(match i {
                        1 => 1,
                        2 => 2,
                        _ => 3,
                    });
                }
                tags.push(4);
            }
        }
    }

    /// The hard constraints of the six-tag set (which its names do not imply).
    fn bmes6_constraints() -> Constraints {
        let mut c = Constraints::allow_all(6);
        let mask = |tags: &[usize]| tags.iter().fold(0, |m, &t| m | 1 << t);
        // B -> M-2 | E; M-2 -> M-3 | E; M-3 -> M | E; M -> M | E; E -> B | S; S -> B | S.
        c.next[0] = mask(&[1, 4]);
        c.next[1] = mask(&[2, 4]);
        c.next[2] = mask(&[3, 4]);
        c.next[3] = mask(&[3, 4]);
        c.next[4] = mask(&[0, 5]);
        c.next[5] = mask(&[0, 5]);
        c.start = mask(&[0, 5]);
        c.end = mask(&[4, 5]);
        c
    }
}

/// The tag scheme and hard constraints of a tag set: the decoder's derivation from the names, except
/// for the six-tag segmentation set, whose constraints are stored explicitly in the model.
pub fn constraints_for(tag_names: &[String]) -> (TagScheme, Constraints) {
    if WordTags::of(tag_names) == Some(WordTags::Bmes6) {
        (TagScheme::Custom, WordTags::bmes6_constraints())
    } else {
        derive_constraints_in(tag_names.iter().map(String::as_str))
    }
}

/// Why a corpus could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The file could not be read at all.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A line is not valid UTF-8, has the wrong shape, or uses an unknown tag.
    #[error("{source_name}:{line}: {reason}")]
    Malformed {
        /// The file (or a description of an in-memory source).
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The corpus has no usable sentence.
    #[error("{source_name}: no sentences")]
    Empty {
        /// The file.
        source_name: String,
    },
    /// More distinct tags than a model can hold.
    #[error("{source_name}: {count} distinct tags, at most {max} are supported")]
    TooManyTags {
        /// The file.
        source_name: String,
        /// Number of tags found.
        count: usize,
        /// The limit ([`decoder::MAX_CHAR_TAGS`]: a character model has at most 16 tags).
        max: usize,
    },
}

/// How a corpus file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CorpusFormat {
    /// Decide from the first non-blank line: a TAB means CoNLL, anything else segmented words.
    #[default]
    Auto,
    /// One sentence per line, words separated by whitespace (word segmentation, BMES tags).
    Words,
    /// One `char<TAB>tag` per line, a blank line between sentences.
    Conll,
}

/// One training or evaluation sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// The characters exactly as written (features see their normalised form).
    pub chars: Vec<char>,
    /// One tag index per character.
    pub tags: Vec<u8>,
}

/// A labelled corpus and the tag names its indices refer to.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Tag names in model order.
    pub tag_names: Vec<String>,
    /// The sentences, in file order.
    pub sentences: Vec<Sentence>,
}

impl Corpus {
    /// Number of characters over all sentences.
    pub fn char_count(&self) -> usize {
        self.sentences.iter().map(|s| s.chars.len()).sum()
    }

    /// True when the tags are a word-segmentation tag set.
    pub fn is_segmentation(&self) -> bool {
        WordTags::of(&self.tag_names).is_some()
    }
}

/// A line of a text file: its 1-based number and its content without the line end.
pub(crate) struct Line<'a> {
    pub(crate) number: usize,
    pub(crate) text: &'a str,
}

/// Splits UTF-8 text into lines, dropping a leading byte-order mark and `\n` / `\r\n` line ends.
/// Invalid UTF-8 is reported with the line it is on.
pub(crate) fn lines<'a>(bytes: &'a [u8], source_name: &str) -> Result<Vec<Line<'a>>, CorpusError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut number = 0;
    while !rest.is_empty() {
        number += 1;
        let (raw, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = std::str::from_utf8(raw).map_err(|e| CorpusError::Malformed {
            source_name: source_name.to_string(),
            line: number,
            reason: format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
        })?;
        out.push(Line { number, text });
    }
    Ok(out)
}

pub(crate) fn malformed(source_name: &str, line: usize, reason: impl fmt::Display) -> CorpusError {
    CorpusError::Malformed { source_name: source_name.to_string(), line, reason: reason.to_string() }
}

/// Control characters other than whitespace have no business in a corpus; they usually mean a binary
/// or wrongly decoded file.
pub(crate) fn check_no_controls(text: &str, source_name: &str, line: usize) -> Result<(), CorpusError> {
    match text.chars().find(|&c| c.is_control() && !is_separator(c)) {
        Some(c) => Err(malformed(source_name, line, format_args!("control character U+{:04X}", c as u32))),
        None => Ok(()),
    }
}

/// Parses whitespace-segmented text into one word list per line (blank lines give empty lists, so line
/// numbers stay aligned with the file; the scorer relies on that).
pub fn parse_segmented_lines(bytes: &[u8], source_name: &str) -> Result<Vec<Vec<String>>, CorpusError> {
    lines(bytes, source_name)?
        .into_iter()
        .map(|line| {
            check_no_controls(line.text, source_name, line.number)?;
            Ok(line.text.split(is_separator).filter(|w| !w.is_empty()).map(str::to_string).collect())
        })
        .collect()
}

/// Parses unlabeled text into one character sequence per non-blank line, with all whitespace removed
/// (so a segmented corpus serves as raw text: its segmentation is ignored). A CoNLL file is refused,
/// since removing its whitespace would glue characters to their tags.
pub fn parse_raw_lines(bytes: &[u8], source_name: &str) -> Result<Vec<Vec<char>>, CorpusError> {
    if detect_format(bytes) == CorpusFormat::Conll {
        let line = lines(bytes, source_name)?.iter().find(|l| l.text.contains('\t')).map_or(1, |l| l.number);
        return Err(malformed(
            source_name,
            line,
            "a TAB (CoNLL layout): unlabeled text must be plain or segmented text",
        ));
    }
    let mut texts = Vec::new();
    for line in lines(bytes, source_name)? {
        check_no_controls(line.text, source_name, line.number)?;
        let chars: Vec<char> = line.text.chars().filter(|&c| !is_separator(c)).collect();
        if !chars.is_empty() {
            texts.push(chars);
        }
    }
    if texts.is_empty() {
        return Err(CorpusError::Empty { source_name: source_name.to_string() });
    }
    Ok(texts)
}

/// The tags of a word sequence, e.g. BMES: `S` for one-character words, `B M* E` for longer ones.
pub fn words_to_sentence<S: AsRef<str>>(words: &[S], word_tags: WordTags) -> Sentence {
    let mut chars = Vec::new();
    let mut tags = Vec::new();
    for word in words {
        let start = chars.len();
        chars.extend(word.as_ref().chars());
        word_tags.tag_word(chars.len() - start, &mut tags);
    }
    Sentence { chars, tags }
}

/// Cuts characters into words at their tags: a word ends after a closing tag (`E`, `S`) and before an
/// opening one (`B`, `S`), exactly as the decoder's segmenter does (so even a sequence that breaks the
/// scheme yields every character exactly once).
pub fn tags_to_words(chars: &[char], tags: &[u8], roles: &ChunkRoles) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for (&c, &tag) in chars.iter().zip(tags) {
        if roles.opens(tag) && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c);
        if roles.closes(tag) {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Parses a whitespace-segmented corpus into tagged sentences (blank lines are skipped).
pub fn parse_segmented(bytes: &[u8], source_name: &str, word_tags: WordTags) -> Result<Corpus, CorpusError> {
    let sentences: Vec<Sentence> = parse_segmented_lines(bytes, source_name)?
        .iter()
        .filter(|words| !words.is_empty())
        .map(|words| words_to_sentence(words, word_tags))
        .collect();
    if sentences.is_empty() {
        return Err(CorpusError::Empty { source_name: source_name.to_string() });
    }
    Ok(Corpus { tag_names: word_tags.names(), sentences })
}

/// Parses a CoNLL-style `char<TAB>tag` corpus. With `known_tags` (a dev or test file read against a
/// model's tags) every tag must be one of them; otherwise the tag set is collected from the file.
pub fn parse_conll(bytes: &[u8], source_name: &str, known_tags: Option<&[String]>) -> Result<Corpus, CorpusError> {
    let mut raw_sentences: Vec<Vec<(char, &str, usize)>> = Vec::new();
    let mut current = Vec::new();
    let all_lines = lines(bytes, source_name)?;
    for line in &all_lines {
        if line.text.trim().is_empty() {
            if !current.is_empty() {
                raw_sentences.push(std::mem::take(&mut current));
            }
            continue;
        }
        let mut fields = line.text.split('\t');
        let (Some(token), Some(tag), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(malformed(source_name, line.number, "expected exactly two TAB-separated fields: char<TAB>tag"));
        };
        let mut token_chars = token.chars();
        let (Some(ch), None) = (token_chars.next(), token_chars.next()) else {
            return Err(malformed(source_name, line.number, format_args!("expected one character, found {token:?}")));
        };
        check_no_controls(token, source_name, line.number)?;
        let tag = tag.trim();
        if tag.is_empty() || tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(malformed(source_name, line.number, format_args!("bad tag {tag:?}")));
        }
        current.push((ch, tag, line.number));
    }
    if !current.is_empty() {
        raw_sentences.push(current);
    }
    if raw_sentences.is_empty() {
        return Err(CorpusError::Empty { source_name: source_name.to_string() });
    }

    let tag_names: Vec<String> = match known_tags {
        Some(tags) => tags.to_vec(),
        None => {
            let distinct: HashSet<&str> = raw_sentences.iter().flatten().map(|&(_, tag, _)| tag).collect();
            order_tags(distinct)
        }
    };
    if tag_names.len() > decoder::MAX_CHAR_TAGS {
        return Err(CorpusError::TooManyTags {
            source_name: source_name.to_string(),
            count: tag_names.len(),
            max: decoder::MAX_CHAR_TAGS,
        });
    }
    let mut sentences = Vec::with_capacity(raw_sentences.len());
    for raw in raw_sentences {
        let mut sentence = Sentence { chars: Vec::with_capacity(raw.len()), tags: Vec::with_capacity(raw.len()) };
        for (ch, tag, line) in raw {
            let index = tag_names
                .iter()
                .position(|t| t == tag)
                .ok_or_else(|| malformed(source_name, line, format_args!("tag {tag:?} is not one of {tag_names:?}")))?;
            sentence.chars.push(ch);
            sentence.tags.push(index as u8);
        }
        sentences.push(sentence);
    }
    Ok(Corpus { tag_names, sentences })
}

/// A stable tag order: `B M E S` when the tags are exactly those (the segmentation order), otherwise `O`
/// first and the rest sorted.
fn order_tags(distinct: HashSet<&str>) -> Vec<String> {
    let bmes: HashSet<&str> = BMES_TAGS.into_iter().collect();
    if distinct == bmes {
        return BMES_TAGS.iter().map(|t| t.to_string()).collect();
    }
    let mut names: Vec<String> = distinct.into_iter().map(str::to_string).collect();
    names.sort_by(|a, b| (a != "O", a).cmp(&(b != "O", b)));
    names
}

/// Guesses the layout from the first non-blank line.
pub fn detect_format(bytes: &[u8]) -> CorpusFormat {
    let first = bytes.split(|&b| b == b'\n').find(|line| line.iter().any(|b| !b.is_ascii_whitespace()));
    match first {
        Some(line) if line.contains(&b'\t') => CorpusFormat::Conll,
        _ => CorpusFormat::Words,
    }
}

/// Reads a file in memory, reporting the path on failure.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, CorpusError> {
    std::fs::read(path).map_err(|source| CorpusError::Io { path: path.to_path_buf(), source })
}

/// Parses corpus bytes in the given (or detected) layout. Segmented text gets the tags `word_tags`,
/// or those of `known_tags` when that is a segmentation tag set.
pub fn parse_corpus(
    bytes: &[u8],
    source_name: &str,
    format: CorpusFormat,
    known_tags: Option<&[String]>,
    word_tags: WordTags,
) -> Result<Corpus, CorpusError> {
    let format = if format == CorpusFormat::Auto { detect_format(bytes) } else { format };
    let word_tags = known_tags.and_then(WordTags::of).unwrap_or(word_tags);
    let corpus = match format {
        CorpusFormat::Conll => parse_conll(bytes, source_name, known_tags)?,
        _ => parse_segmented(bytes, source_name, word_tags)?,
    };
    if let Some(tags) = known_tags {
        if corpus.tag_names != tags {
            return Err(malformed(
                source_name,
                1,
                format_args!("tags {:?} do not match the model's {:?}", corpus.tag_names, tags),
            ));
        }
    }
    Ok(corpus)
}

/// Reads a corpus file in the given (or detected) layout (see [`parse_corpus`]).
pub fn read_corpus(
    path: &Path,
    format: CorpusFormat,
    known_tags: Option<&[String]>,
    word_tags: WordTags,
) -> Result<Corpus, CorpusError> {
    let bytes = read_bytes(path)?;
    parse_corpus(&bytes, &path.display().to_string(), format, known_tags, word_tags)
}

/// The vocabulary of a segmented corpus (what defines out-of-vocabulary words when scoring).
pub fn vocabulary(corpus: &Corpus) -> Vec<String> {
    let roles = ChunkRoles::from_names(corpus.tag_names.iter().map(String::as_str));
    let mut words: HashSet<String> = HashSet::new();
    for sentence in &corpus.sentences {
        words.extend(tags_to_words(&sentence.chars, &sentence.tags, &roles));
    }
    let mut words: Vec<String> = words.into_iter().collect();
    words.sort();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segmented_lines_accept_bom_and_crlf() {
        let text = "\u{FEFF}我们  是\r\n\r\n学生 。\n".as_bytes();
        let lines = parse_segmented_lines(text, "t").unwrap();
        assert_eq!(lines, vec![vec!["我们", "是"], vec![], vec!["学生", "。"]]);
    }

    #[test]
    fn words_become_bmes() {
        let s = words_to_sentence(&["我们", "是", "大学生"], WordTags::Bmes);
        assert_eq!(s.chars.iter().collect::<String>(), "我们是大学生");
        assert_eq!(s.tags, vec![TAG_B, TAG_E, TAG_S, TAG_B, TAG_M, TAG_E]);
        let roles = ChunkRoles::from_names(WordTags::Bmes.names().iter().map(String::as_str));
        assert_eq!(tags_to_words(&s.chars, &s.tags, &roles), vec!["我们", "是", "大学生"]);
    }

    #[test]
    fn six_tags_mark_the_second_and_third_characters() {
        let words = ["我", "们的", "大学生", "马克思主义", "一二三四五六"];
        let s = words_to_sentence(&words, WordTags::Bmes6);
        // S | B E | B M-2 E | B M-2 M-3 M E | B M-2 M-3 M M E
        assert_eq!(s.tags, vec![5, 0, 4, 0, 1, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 3, 4]);
        let names = WordTags::Bmes6.names();
        let (scheme, constraints) = constraints_for(&names);
        assert_eq!(scheme, TagScheme::Custom);
        assert!(constraints.allows_sequence(&s.tags));
        assert!(constraints.primitive_exponent().is_some());
        assert!(!constraints.allows_sequence(&[0, 2, 4]), "B M-3 E skips M-2");
        assert_eq!(tags_to_words(&s.chars, &s.tags, &ChunkRoles::from_names(names.iter().map(String::as_str))), words);
    }

    #[test]
    fn broken_tag_sequences_still_cover_every_character() {
        let chars: Vec<char> = "abcd".chars().collect();
        let roles = ChunkRoles::from_names(WordTags::Bmes.names().iter().map(String::as_str));
        // M at the start, B B, and an unterminated B at the end.
        assert_eq!(tags_to_words(&chars, &[TAG_M, TAG_B, TAG_B, TAG_B], &roles), vec!["a", "b", "c", "d"]);
        assert_eq!(tags_to_words(&chars, &[TAG_B, TAG_M, TAG_S, TAG_M], &roles), vec!["ab", "c", "d"]);
    }

    #[test]
    fn segmented_corpus_skips_blank_lines() {
        let corpus = parse_segmented("a b\n\n  \ncd\n".as_bytes(), "t", WordTags::Bmes).unwrap();
        assert_eq!(corpus.sentences.len(), 2);
        assert!(corpus.is_segmentation());
        assert!(matches!(parse_segmented(b"\n \r\n", "t", WordTags::Bmes), Err(CorpusError::Empty { .. })));
    }

    #[test]
    fn invalid_utf8_names_file_and_line() {
        let err = parse_segmented(b"ok\nbad \xff here\n", "corpus.txt", WordTags::Bmes).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("corpus.txt:2:"), "{message}");
        assert!(message.contains("UTF-8"), "{message}");
    }

    #[test]
    fn control_characters_are_rejected() {
        let err = parse_segmented(b"a b\nc\x00d\n", "x", WordTags::Bmes).unwrap_err();
        assert!(err.to_string().starts_with("x:2:"), "{err}");
    }

    #[test]
    fn conll_parses_sentences_and_orders_tags() {
        let text = "\u{FEFF}我\tS\r\n们\tB\n\n是\tS\n".as_bytes();
        let corpus = parse_conll(text, "c", None).unwrap();
        assert_eq!(corpus.tag_names, vec!["B", "S"]);
        assert_eq!(corpus.sentences.len(), 2);
        assert_eq!(corpus.sentences[0].tags, vec![1, 0]);

        let ner = parse_conll("张\tB-PER\n三\tI-PER\n说\tO\n".as_bytes(), "n", None).unwrap();
        assert_eq!(ner.tag_names, vec!["O", "B-PER", "I-PER"]);
    }

    #[test]
    fn conll_errors_name_file_and_line() {
        let missing_tab = parse_conll("我\tS\n们 B\n".as_bytes(), "f.conll", None).unwrap_err();
        assert!(missing_tab.to_string().starts_with("f.conll:2:"), "{missing_tab}");
        let two_chars = parse_conll("我们\tS\n".as_bytes(), "f.conll", None).unwrap_err();
        assert!(two_chars.to_string().starts_with("f.conll:1:"), "{two_chars}");
        let known = vec!["B".to_string(), "S".to_string()];
        let unknown = parse_conll("我\tS\n\n们\tX\n".as_bytes(), "d.conll", Some(&known)).unwrap_err();
        assert!(unknown.to_string().starts_with("d.conll:3:"), "{unknown}");
    }

    #[test]
    fn format_detection() {
        assert_eq!(detect_format("\n我\tS\n".as_bytes()), CorpusFormat::Conll);
        assert_eq!(detect_format("我们  是\n".as_bytes()), CorpusFormat::Words);
    }
}

//! The user dictionary: a flash-resident, zero-copy trie of words ("CRFd" files, `decoder/FORMAT.md`).
//!
//! Nodes are numbered so that edge `e` leads to node `e + 1` (node 0 is the root), and the edges of node
//! `i` are `child_start[i]..child_start[i + 1]`, sorted by character: a node costs 4 bytes, an edge 3,
//! and no child pointer is stored. A look-up binary-searches each node's edges and never walks more than
//! the file's maximum word length (at most [`MAX_WORD_CHARS`]), so its cost is bounded whatever the bytes.
//! The root, with one edge per distinct first character (thousands for a CJK word list), has an index:
//! the first root edge of every block of 128 code points, so a first step searches one small block.

use core::fmt;

use crate::crc::crc32;
#[cfg(feature = "alloc")]
use crate::text::is_separator;

/// The dictionary file's magic bytes.
pub const DICTIONARY_MAGIC: [u8; 4] = *b"CRFd";
/// The dictionary format version this decoder reads and writes.
pub const DICTIONARY_VERSION: u16 = 1;
/// Longest word a dictionary may hold, in characters (bounds every look-up).
pub const MAX_WORD_CHARS: usize = 32;

const HEADER: usize = 16;
/// Root-index blocks: block `b` holds the first characters `128b..128b + 128`; the last block also holds
/// every character above (so each entry, at most `128 * 511`, fits a `u16`). 1 KiB: a Cortex-M3 image
/// with the default model has little flash to spare.
const ROOT_BLOCKS: usize = 512;
const ROOT_BLOCK_SHIFT: u32 = 7;
const ROOT_INDEX_OFFSET: usize = HEADER;
const STARTS_OFFSET: usize = ROOT_INDEX_OFFSET + 2 * ROOT_BLOCKS;
/// Bit of an edge label marking that the node it leads to ends a word.
const TERMINAL: u32 = 1 << 23;
const CHAR_MASK: u32 = (1 << 21) - 1;

/// Why a byte slice is not a dictionary this decoder can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DictionaryError {
    /// Shorter than the header, root index and checksum.
    TooShort {
        /// Length of the slice in bytes.
        len: usize,
    },
    /// The first four bytes are not `CRFd`.
    BadMagic {
        /// The four bytes found.
        found: [u8; 4],
    },
    /// A version this decoder does not read.
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// The CRC-32 in the last four bytes does not match the contents.
    BadChecksum {
        /// Stored CRC-32.
        stored: u32,
        /// Computed CRC-32.
        computed: u32,
    },
    /// The maximum word length is 0 or above [`MAX_WORD_CHARS`].
    BadMaxWordChars {
        /// The length declared.
        found: u16,
    },
    /// The length does not match the node count the header declares.
    SizeMismatch {
        /// Bytes the header implies.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// The trie is inconsistent (edge ranges, labels, order or word count).
    BadTrie,
}

impl fmt::Display for DictionaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len } => write!(f, "dictionary is too short ({len} bytes)"),
            Self::BadMagic { found } => write!(f, "not a dictionary file (magic {found:02x?}, expected \"CRFd\")"),
            Self::UnsupportedVersion { found } => {
                write!(f, "dictionary format version {found} is not supported (this decoder reads version {DICTIONARY_VERSION})")
            }
            Self::BadChecksum { stored, computed } => write!(
                f,
                "dictionary is corrupt: its CRC-32 does not match its contents (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Self::BadMaxWordChars { found } => {
                write!(f, "dictionary declares a maximum word length of {found} characters (allowed 1..={MAX_WORD_CHARS})")
            }
            Self::SizeMismatch { expected, found } => {
                write!(f, "dictionary should be {expected} bytes for its node count, found {found}")
            }
            Self::BadTrie => write!(f, "dictionary trie is inconsistent"),
        }
    }
}

/// A loaded user dictionary: the validated file, read in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dictionary<'d> {
    bytes: &'d [u8],
    nodes: usize,
    max_word_chars: usize,
    words: usize,
    labels_offset: usize,
    /// The root index, sized so that a block's entries are read without a bounds check.
    root_index: &'d [u8; 2 * ROOT_BLOCKS],
}

/// A position in the trie during an incremental look-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrieNode(u32);

impl<'d> Dictionary<'d> {
    /// Validates `bytes` (magic, version, checksum, every size and the trie's structure); no copy.
    pub fn from_bytes(bytes: &'d [u8]) -> Result<Self, DictionaryError> {
        let len = bytes.len();
        if len < STARTS_OFFSET + 4 + 4 {
            return Err(DictionaryError::TooShort { len });
        }
        let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
        if magic != DICTIONARY_MAGIC {
            return Err(DictionaryError::BadMagic { found: magic });
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != DICTIONARY_VERSION {
            return Err(DictionaryError::UnsupportedVersion { found: version });
        }
        let stored = read_u32(bytes, len - 4);
        let computed = crc32(&bytes[..len - 4]);
        if stored != computed {
            return Err(DictionaryError::BadChecksum { stored, computed });
        }
        let max_chars = u16::from_le_bytes([bytes[6], bytes[7]]);
        if max_chars == 0 || usize::from(max_chars) > MAX_WORD_CHARS {
            return Err(DictionaryError::BadMaxWordChars { found: max_chars });
        }
        let words = read_u32(bytes, 8) as usize;
        let nodes = read_u32(bytes, 12) as usize;
        // Every node has one 4-byte start (plus one), every node but the root one 3-byte edge label.
        let expected = nodes
            .checked_mul(7)
            .and_then(|n| n.checked_add(STARTS_OFFSET + 4 + 4))
            .and_then(|n| n.checked_sub(3))
            .filter(|_| nodes >= 1)
            .unwrap_or(usize::MAX);
        if expected != len {
            return Err(DictionaryError::SizeMismatch { expected, found: len });
        }
        let dictionary = Self {
            bytes,
            nodes,
            max_word_chars: usize::from(max_chars),
            words,
            labels_offset: STARTS_OFFSET + 4 * (nodes + 1),
            root_index: bytes[ROOT_INDEX_OFFSET..STARTS_OFFSET]
                .try_into()
                .map_err(|_| DictionaryError::TooShort { len })?,
        };
        dictionary.validate_trie()?;
        Ok(dictionary)
    }

    /// Edge ranges start at 0, never decrease, end at `nodes - 1`, and node `i`'s edges lead to nodes
    /// after `i`; labels are characters, strictly ascending within a node; the terminal flags count the
    /// words; the root index never decreases and puts every root edge in its character's block.
    fn validate_trie(&self) -> Result<(), DictionaryError> {
        let edges = self.nodes - 1;
        if self.start(0) != 0 || self.start(self.nodes) != edges {
            return Err(DictionaryError::BadTrie);
        }
        let mut terminals = 0usize;
        for node in 0..self.nodes {
            let (from, to) = (self.start(node), self.start(node + 1));
            if to < from || to > edges || (from < to && from < node) {
                return Err(DictionaryError::BadTrie);
            }
            let mut previous = None;
            for edge in from..to {
                let label = self.label(edge);
                let ch = char::from_u32(label & CHAR_MASK).filter(|_| label & !(CHAR_MASK | TERMINAL) == 0);
                let Some(ch) = ch else { return Err(DictionaryError::BadTrie) };
                if previous.is_some_and(|p| p >= ch) || (node == 0 && !self.in_root_block(ch, edge)) {
                    return Err(DictionaryError::BadTrie);
                }
                previous = Some(ch);
                terminals += usize::from(label & TERMINAL != 0);
            }
        }
        if terminals != self.words {
            return Err(DictionaryError::BadTrie);
        }
        let root_edges = self.start(1);
        let mut previous = 0;
        for block in 0..ROOT_BLOCKS {
            let first = self.root_index(block);
            if first < previous || first > root_edges {
                return Err(DictionaryError::BadTrie);
            }
            previous = first;
        }
        Ok(())
    }

    /// Is root edge `edge` (labelled `ch`) inside the index range of `ch`'s block?
    fn in_root_block(&self, ch: char, edge: usize) -> bool {
        let (lo, hi) = self.root_range(ch);
        (lo..hi).contains(&edge)
    }

    /// The root edges that may be labelled `ch`: those of its block. (With labels ascending and the
    /// index never decreasing, an edge inside its own block's range is in no other block's range.)
    #[inline]
    fn root_range(&self, ch: char) -> (usize, usize) {
        let block = (ch as usize >> ROOT_BLOCK_SHIFT).min(ROOT_BLOCKS - 1);
        let lo = self.root_index(block);
        let hi = if block + 1 < ROOT_BLOCKS { self.root_index(block + 1) } else { self.start(1) };
        (lo, hi)
    }

    #[inline]
    fn root_index(&self, block: usize) -> usize {
        let block = block.min(ROOT_BLOCKS - 1);
        usize::from(u16::from_le_bytes([self.root_index[2 * block], self.root_index[2 * block + 1]]))
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words
    }

    /// Does the dictionary hold no word?
    pub fn is_empty(&self) -> bool {
        self.words == 0
    }

    /// Longest word, in characters (at most [`MAX_WORD_CHARS`]).
    pub fn max_word_chars(&self) -> usize {
        self.max_word_chars
    }

    /// The raw file.
    pub fn as_bytes(&self) -> &'d [u8] {
        self.bytes
    }

    /// Does some word start with `ch`? (A first step through the root index.)
    #[inline]
    pub fn may_start(&self, ch: char) -> bool {
        self.step(self.root(), ch).is_some()
    }

    /// Does some word start in the block of 128 code points holding `ch`? (A filter cheaper than
    /// [`Self::may_start`]: `false` means no word starts with `ch`.)
    #[inline]
    pub(crate) fn block_may_start(&self, ch: char) -> bool {
        let (lo, hi) = self.root_range(ch);
        lo < hi
    }

    /// The root, where every look-up starts.
    pub fn root(&self) -> TrieNode {
        TrieNode(0)
    }

    /// Follows `ch` from `node`: the next node and whether it ends a word, or `None` when no word
    /// continues with `ch`.
    #[inline]
    pub fn step(&self, node: TrieNode, ch: char) -> Option<(TrieNode, bool)> {
        let node = node.0 as usize;
        if node >= self.nodes {
            return None;
        }
        let (mut lo, mut hi) = if node == 0 { self.root_range(ch) } else { self.edges(node) };
        let key = ch as u32;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let label = self.label(mid);
            match (label & CHAR_MASK).cmp(&key) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Some((TrieNode(mid as u32 + 1), label & TERMINAL != 0)),
            }
        }
        None
    }

    /// Length in characters of the longest word that `chars` starts with (0 if none).
    pub fn longest_prefix(&self, chars: impl IntoIterator<Item = char>) -> usize {
        let mut node = self.root();
        let mut longest = 0;
        for (i, ch) in chars.into_iter().take(self.max_word_chars).enumerate() {
            match self.step(node, ch) {
                Some((next, terminal)) => {
                    node = next;
                    if terminal {
                        longest = i + 1;
                    }
                }
                None => break,
            }
        }
        longest
    }

    /// Does the dictionary hold exactly `word`?
    pub fn contains(&self, word: &str) -> bool {
        let n = word.chars().count();
        n > 0 && self.longest_prefix(word.chars()) == n
    }

    #[inline]
    fn start(&self, node: usize) -> usize {
        read_u32(self.bytes, STARTS_OFFSET + 4 * node) as usize
    }

    /// The edge range of `node`: its start and the next node's, in one read.
    #[inline]
    fn edges(&self, node: usize) -> (usize, usize) {
        let at = STARTS_OFFSET + 4 * node;
        match self.bytes.get(at..at + 8) {
            Some(b) => (
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
                u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize,
            ),
            None => (0, 0),
        }
    }

    #[inline]
    fn label(&self, edge: usize) -> u32 {
        let at = self.labels_offset + 3 * edge;
        match self.bytes.get(at..at + 3) {
            Some(b) => u32::from(b[0]) | (u32::from(b[1]) << 8) | (u32::from(b[2]) << 16),
            None => 0,
        }
    }
}

#[inline]
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + 4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => 0,
    }
}

/// Why a word list cannot become a dictionary; `line` is 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordListError {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong with it.
    pub kind: WordListErrorKind,
}

/// What is wrong with a word-list line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordListErrorKind {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line is empty.
    EmptyWord,
    /// The word has more than [`MAX_WORD_CHARS`] characters.
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The word contains white space (which always separates words).
    WhiteSpace,
}

impl fmt::Display for WordListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.line;
        match self.kind {
            WordListErrorKind::InvalidUtf8 => write!(f, "line {line}: not valid UTF-8"),
            WordListErrorKind::EmptyWord => write!(f, "line {line}: empty word"),
            WordListErrorKind::TooLong { chars } => {
                write!(f, "line {line}: word of {chars} characters (at most {MAX_WORD_CHARS})")
            }
            WordListErrorKind::WhiteSpace => write!(f, "line {line}: white space inside a word"),
        }
    }
}

/// Builds a dictionary file from a word list: one word per line (`\n` or `\r\n`; a final line ending is
/// optional; repeated words are kept once). Every line is checked, the first bad one is reported.
#[cfg(feature = "alloc")]
pub fn build_dictionary(word_list: &[u8]) -> Result<alloc::vec::Vec<u8>, WordListError> {
    use alloc::collections::{BTreeMap, VecDeque};
    use alloc::vec::Vec;

    #[derive(Default)]
    struct Node {
        children: BTreeMap<char, usize>,
        terminal: bool,
    }
    let mut trie: Vec<Node> = Vec::from([Node::default()]);
    let mut words = 0u32;
    let mut max_chars = 1usize;
    let body = word_list.strip_suffix(b"\n").unwrap_or(word_list);
    for (index, raw) in body.split(|&b| b == b'\n').enumerate() {
        let error = |kind| WordListError { line: index + 1, kind };
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let word = core::str::from_utf8(raw).map_err(|_| error(WordListErrorKind::InvalidUtf8))?;
        if word.is_empty() && word_list.is_empty() {
            break;
        }
        if word.is_empty() {
            return Err(error(WordListErrorKind::EmptyWord));
        }
        if word.chars().any(|c| is_separator(c) || c.is_whitespace()) {
            return Err(error(WordListErrorKind::WhiteSpace));
        }
        let chars = word.chars().count();
        if chars > MAX_WORD_CHARS {
            return Err(error(WordListErrorKind::TooLong { chars }));
        }
        max_chars = max_chars.max(chars);
        let mut node = 0;
        for ch in word.chars() {
            node = match trie[node].children.get(&ch) {
                Some(&next) => next,
                None => {
                    trie.push(Node::default());
                    let next = trie.len() - 1;
                    trie[node].children.insert(ch, next);
                    next
                }
            };
        }
        if !trie[node].terminal {
            trie[node].terminal = true;
            words += 1;
        }
    }
    // Breadth-first numbering: the children of each node get consecutive numbers, in character order.
    let mut order: Vec<usize> = Vec::with_capacity(trie.len());
    let mut queue = VecDeque::from([0usize]);
    while let Some(node) = queue.pop_front() {
        order.push(node);
        queue.extend(trie[node].children.values().copied());
    }
    let mut out = Vec::with_capacity(STARTS_OFFSET + 7 * trie.len() + 8);
    out.extend_from_slice(&DICTIONARY_MAGIC);
    out.extend_from_slice(&DICTIONARY_VERSION.to_le_bytes());
    out.extend_from_slice(&(max_chars as u16).to_le_bytes());
    out.extend_from_slice(&words.to_le_bytes());
    out.extend_from_slice(&(trie.len() as u32).to_le_bytes());
    // Entry `b`: the root edges (sorted by character) below block `b`'s first character.
    let first_chars: Vec<u32> = trie[0].children.keys().map(|&c| c as u32).collect();
    for block in 0..ROOT_BLOCKS as u32 {
        let below = first_chars.partition_point(|&c| c >> ROOT_BLOCK_SHIFT < block);
        out.extend_from_slice(&(below as u16).to_le_bytes());
    }
    let mut edges = 0u32;
    for &node in &order {
        out.extend_from_slice(&edges.to_le_bytes());
        edges += trie[node].children.len() as u32;
    }
    out.extend_from_slice(&edges.to_le_bytes());
    for &node in &order {
        for (&ch, &child) in &trie[node].children {
            let label = ch as u32 | if trie[child].terminal { TERMINAL } else { 0 };
            out.extend_from_slice(&label.to_le_bytes()[..3]);
        }
    }
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

#[cfg(all(test, feature = "alloc"))]
mod tests {
    use super::*;

    #[test]
    fn looks_up_longest_prefixes() {
        let bytes = build_dictionary("北京\n北京大学\n大学生\n".as_bytes()).unwrap();
        let d = Dictionary::from_bytes(&bytes).unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.longest_prefix("北京大学生".chars()), 4);
        assert_eq!(d.longest_prefix("北京大".chars()), 2);
        assert_eq!(d.longest_prefix("北".chars()), 0);
        assert!(d.contains("大学生") && !d.contains("大学"));
        assert!(d.may_start('北') && !d.may_start('学') && !d.may_start('匞'));
        let far = build_dictionary("\u{fff0}a\n\u{10000}b\n\u{10ffff}\n".as_bytes()).unwrap();
        let far = Dictionary::from_bytes(&far).unwrap();
        assert!(far.contains("\u{fff0}a") && far.contains("\u{10000}b") && far.contains("\u{10ffff}"));
        assert!(!far.may_start('\u{ffef}') && !far.may_start('\u{10001}') && !far.may_start('a'));
    }
}

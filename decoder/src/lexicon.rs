//! Word-list features: a model may carry the words of its training text (as 32-bit hashes), and lexicon
//! templates (`Template::Lexicon` in the features module) turn the longest listed word starting at, ending at
//! or spanning the current character into a feature.
//!
//! Why: character n-grams see at most three characters at once, so a long word is only ever seen in
//! pieces; the word list says directly that a span of up to [`MAX_WORD_CHARS`] characters is a known
//! word. (The trainer lists, for each training sentence, only the words seen in the rest of the training
//! text, so the model learns how far to trust the list on text it has not seen.)

use crate::hash::{finalize, mix};
use crate::limits::MAX_OFFSET;

/// Longest word a lexicon template looks up, in characters: the window reaches [`MAX_OFFSET`] characters
/// either side, so a word starting or ending at the current character has at most `MAX_OFFSET + 1`.
pub const MAX_WORD_CHARS: usize = MAX_OFFSET + 1;

/// Bytes of one word hash in the model file's list.
pub const WORD_HASH_BYTES: usize = 4;

/// Which words around the current character a lexicon template looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WordSpan {
    /// Listed words that start at the current character (offsets `0..len`).
    Starting,
    /// Listed words that end at the current character (offsets `1-len..=0`).
    Ending,
    /// Listed words with the current character strictly inside (neither first nor last).
    Inside,
    /// Listed words containing the current character anywhere: the feature is the longest one's length
    /// and the current character's place in it (see the features module's `lexicon_value`), the tag a
    /// dictionary lookup would suggest. Useful conjoined with the character (`Template::LexiconChar`).
    Covering,
}

impl WordSpan {
    /// The file encoding (the template's second byte).
    pub const fn encode(self) -> u8 {
        match self {
            Self::Starting => 0,
            Self::Ending => 1,
            Self::Inside => 2,
            Self::Covering => 3,
        }
    }

    /// Parses [`WordSpan::encode`]'s byte.
    pub const fn decode(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Starting),
            1 => Some(Self::Ending),
            2 => Some(Self::Inside),
            3 => Some(Self::Covering),
            _ => None,
        }
    }

    /// The oldest model format version that has the span (3; 4 for [`WordSpan::Covering`]).
    pub const fn format_version(self) -> u16 {
        match self {
            Self::Starting | Self::Ending | Self::Inside => 3,
            Self::Covering => 4,
        }
    }

    /// The span's name, as the features module's `Display` of a lexicon template writes it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Ending => "ending",
            Self::Inside => "inside",
            Self::Covering => "covering",
        }
    }

    /// Smallest and largest offset the span's lookups read.
    pub const fn offset_range(self) -> (i8, i8) {
        let reach = MAX_OFFSET as i8;
        match self {
            Self::Starting => (0, reach),
            Self::Ending => (-reach, 0),
            // A word of at most MAX_WORD_CHARS with characters on both sides of the current one.
            Self::Inside => (2 - MAX_WORD_CHARS as i8, MAX_WORD_CHARS as i8 - 2),
            Self::Covering => (1 - MAX_WORD_CHARS as i8, MAX_WORD_CHARS as i8 - 1),
        }
    }
}

/// A set of words, each given by its [`word_hash`].
pub trait WordSet {
    /// Is the word with this hash in the set?
    fn contains(&self, hash: u32) -> bool;

    /// True when the set certainly has no words (then nothing is looked up).
    fn is_empty(&self) -> bool {
        false
    }
}

/// The empty word set: every lexicon feature reads "no word" (length 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoWords;

impl WordSet for NoWords {
    #[inline]
    fn contains(&self, _hash: u32) -> bool {
        false
    }

    #[inline]
    fn is_empty(&self) -> bool {
        true
    }
}

/// The hash a word list stores for the word of these (normalised) character codes. The codes are mixed
/// in from the last one back, so the words ending at one character share their hashing
/// (the feature window hashes the four spans ending at the new character in one pass).
#[inline]
pub fn word_hash<I>(codes: I) -> u32
where
    I: IntoIterator<Item = u32>,
    I::IntoIter: DoubleEndedIterator,
{
    finalize(codes.into_iter().rev().fold(WORD_SEED, mix))
}

/// Distinct from every template seed (those are multiples of an odd constant by small numbers).
pub(crate) const WORD_SEED: u32 = 0x5BD1_E995;

/// Words per bucket of the index a writer should aim for: the lookup scans one bucket.
pub const WORDS_PER_BUCKET: usize = 8;

/// The index size (`index_bits`) for a list of `words` words: the fewest buckets that keep about
/// [`WORDS_PER_BUCKET`] words in each, at most `2^MAX_INDEX_BITS`.
pub const fn index_bits_for(words: usize) -> u8 {
    let mut bits = 0u8;
    while bits < MAX_INDEX_BITS && (WORDS_PER_BUCKET << bits) < words {
        bits += 1;
    }
    bits
}

/// Largest `index_bits` of a word list.
pub const MAX_INDEX_BITS: u8 = 24;

/// The bucket of a word hash in an index of `2^bits` buckets: its top `bits` bits.
#[inline]
pub const fn bucket_of(hash: u32, bits: u8) -> usize {
    (hash as u64 >> (32 - bits as u32)) as usize
}

/// A model's word list, borrowed from its bytes: `[W]` little-endian `u32` word hashes in strictly
/// ascending order, and an index of `2^index_bits + 1` little-endian `u32` offsets, `index[k]` the
/// number of hashes whose bucket ([`bucket_of`]) is below `k`. A lookup reads two offsets and scans one
/// bucket: about [`WORDS_PER_BUCKET`] hashes instead of a binary search's `log2 W` unpredictable steps.
/// Everything is checked at load ([`Lexicon::from_bytes`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lexicon<'a> {
    hashes: &'a [u8],
    index: &'a [u8],
    index_bits: u8,
}

impl<'a> Lexicon<'a> {
    /// The empty list.
    pub const fn empty() -> Self {
        Self { hashes: &[], index: &[], index_bits: 0 }
    }

    /// Borrows a list and its index, or `None` unless: the hashes are whole `u32`s in strictly ascending
    /// order, `index_bits <= MAX_INDEX_BITS`, the index has `2^index_bits + 1` offsets, and each offset
    /// is the number of hashes of a lower bucket (so the first is 0 and the last `W`).
    pub fn from_bytes(hashes: &'a [u8], index_bits: u8, index: &'a [u8]) -> Option<Self> {
        if hashes.len() % WORD_HASH_BYTES != 0 || index_bits > MAX_INDEX_BITS {
            return None;
        }
        let buckets = 1usize << index_bits;
        if index.len() != (buckets + 1) * WORD_HASH_BYTES {
            return None;
        }
        let lexicon = Self { hashes, index, index_bits };
        let ascending = (1..lexicon.len()).all(|i| lexicon.hash(i - 1) < lexicon.hash(i));
        if !ascending || lexicon.offset(0) != 0 || lexicon.offset(buckets) != lexicon.len() {
            return None;
        }
        // Every bucket's slice holds exactly the hashes of that bucket.
        let consistent = (0..buckets).all(|k| {
            let (start, end) = (lexicon.offset(k), lexicon.offset(k + 1));
            start <= end && end <= lexicon.len() && (start..end).all(|i| bucket_of(lexicon.hash(i), index_bits) == k)
        });
        consistent.then_some(lexicon)
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.hashes.len() / WORD_HASH_BYTES
    }

    /// True when the list has no words.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    #[inline]
    fn hash(&self, i: usize) -> u32 {
        read_u32(self.hashes, i)
    }

    #[inline]
    fn offset(&self, k: usize) -> usize {
        read_u32(self.index, k) as usize
    }
}

#[inline]
fn read_u32(bytes: &[u8], i: usize) -> u32 {
    match bytes.get(WORD_HASH_BYTES * i..WORD_HASH_BYTES * (i + 1)) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => u32::MAX,
    }
}

impl WordSet for Lexicon<'_> {
    #[inline]
    fn is_empty(&self) -> bool {
        Lexicon::is_empty(self)
    }

    #[inline]
    fn contains(&self, hash: u32) -> bool {
        // Also keeps `Lexicon::empty()`'s missing index (offsets read as u32::MAX) out of the arithmetic.
        if Lexicon::is_empty(self) {
            return false;
        }
        let k = bucket_of(hash, self.index_bits);
        // Offsets are validated at load; `get` keeps a wrong one from panicking.
        let bucket = self.hashes.get(WORD_HASH_BYTES * self.offset(k)..WORD_HASH_BYTES * self.offset(k + 1));
        for word in bucket.unwrap_or(&[]).chunks_exact(WORD_HASH_BYTES) {
            let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            if word >= hash {
                return word == hash;
            }
        }
        false
    }
}

/// The index of [`Lexicon`] for ascending `hashes`, as its little-endian bytes (`2^bits + 1` offsets).
#[cfg(feature = "alloc")]
pub fn index_bytes(hashes: &[u32], bits: u8) -> alloc::vec::Vec<u8> {
    let buckets = 1usize << bits;
    let mut offsets = alloc::vec![0u32; buckets + 1];
    for &h in hashes {
        offsets[bucket_of(h, bits) + 1] += 1;
    }
    for k in 1..=buckets {
        offsets[k] += offsets[k - 1];
    }
    offsets.iter().flat_map(|o| o.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    extern crate std;
    use std::vec::Vec;

    #[test]
    fn the_lexicon_finds_exactly_its_hashes_and_rejects_bad_lists() {
        let mut hashes: Vec<u32> = (0..1000u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
        hashes.sort_unstable();
        let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.to_le_bytes()).collect();
        assert_eq!(index_bits_for(1000), 7);
        for bits in [0u8, 3, index_bits_for(1000), 12] {
            let index = index_bytes(&hashes, bits);
            let lexicon = Lexicon::from_bytes(&bytes, bits, &index).unwrap();
            assert_eq!(lexicon.len(), 1000);
            assert!(hashes.iter().all(|&h| lexicon.contains(h)), "bits {bits}");
            let absent = |h: u32| hashes.binary_search(&h).is_err();
            let probes = hashes.iter().flat_map(|&h| [h.wrapping_add(1), h.wrapping_sub(1)]).chain([0, u32::MAX]);
            assert!(probes.filter(|&h| absent(h)).all(|h| !lexicon.contains(h)), "bits {bits}");
        }
        assert!(!Lexicon::empty().contains(0));
        let index = index_bytes(&hashes, 7);
        assert!(Lexicon::from_bytes(&bytes[..bytes.len() - 1], 7, &index).is_none());
        assert!(Lexicon::from_bytes(&bytes[..bytes.len() - 4], 7, &index).is_none(), "last offset is W");
        assert!(Lexicon::from_bytes(&bytes, 6, &index).is_none(), "index size");
        assert!(Lexicon::from_bytes(&bytes, 25, &index).is_none());
        let mut shifted = index.clone();
        shifted[4] = shifted[4].wrapping_add(1);
        assert!(Lexicon::from_bytes(&bytes, 7, &shifted).is_none(), "a hash outside its bucket");
        let mut unsorted = bytes.clone();
        unsorted.swap(0, 4);
        unsorted.swap(1, 5);
        unsorted.swap(2, 6);
        unsorted.swap(3, 7);
        assert!(Lexicon::from_bytes(&unsorted, 7, &index).is_none());
        let duplicated: Vec<u32> = std::vec![1, 1];
        let duplicated_bytes: Vec<u8> = duplicated.iter().flat_map(|h| h.to_le_bytes()).collect();
        assert!(Lexicon::from_bytes(&duplicated_bytes, 0, &index_bytes(&duplicated, 0)).is_none());
    }
}

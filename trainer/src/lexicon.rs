//! The word list of a lexicon model (see `decoder::internal::lexicon`), built from the training text.
//!
//! Trained naively, a list of the training words would be a perfect oracle on the training text (every
//! word of it is listed) and the model would trust it blindly; on new text, a fifth of whose words it
//! has never seen, it would fail. So the list is jackknifed: the training sentences fall into
//! [`FOLDS`] folds by their text, and each sees only the words that occur in the other folds, as unseen
//! text sees only the training words. (By text, not by position: a sentence distilled from the training
//! file itself is in the same fold as its gold copy, or the copy would list every word of it.) Dev, test
//! and the exported model use the whole list.
//!
//! On PKU (unlimited model) the list clearly lifts test F1 over `--no-lexicon`; a
//! prototype without the jackknife did worse than no list at all.
//!
//! Words from elsewhere (`--lexicon-extra`, e.g. another corpus's training word list) join the list as
//! they are: they do not come from the training text, so every training sentence sees them, as test
//! text will.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context as _, Result};

use decoder::internal::lexicon::{word_hash, WordSet, MAX_WORD_CHARS, WORD_HASH_BYTES};
use decoder::internal::segment::ChunkRoles;
use decoder::internal::text::normalize;

use crate::corpus::{self, Sentence};

/// Folds of the jackknife: a sentence is in fold [`fold_of`] of its characters.
pub const FOLDS: usize = 10;

/// The jackknife fold of a training sentence: a hash of its characters (FNV-1a), so equal sentences
/// share a fold.
pub fn fold_of(chars: &[char]) -> usize {
    let hash = chars
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &c| (h ^ u64::from(u32::from(c))).wrapping_mul(0x100_0000_01b3));
    (hash % FOLDS as u64) as usize
}

/// A word list with, for each word, how often it occurs in each fold of the training text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrainingLexicon {
    /// Word hash to occurrences per fold (empty for a list read back from a model file).
    counts: HashMap<u32, [u32; FOLDS]>,
    /// Hashes of the listed words given apart from the training text, which every fold sees.
    extra: HashSet<u32>,
    /// Every listed hash, ascending: what the model file stores.
    hashes: Vec<u32>,
    /// Training sentences the folds refer to (0 for a list read back from a model file).
    sentences: usize,
}

impl TrainingLexicon {
    /// The words of 2 to [`MAX_WORD_CHARS`] characters of `sentences` (tagged with `tag_names`) and of
    /// `extra` (words from elsewhere; others lengths are ignored), as the decoder hashes them after
    /// normalisation `flags`; with `max_words`, only that many, the most frequent in `sentences` first
    /// (an extra word not in them counts 0; ties by hash).
    pub fn from_sentences(
        sentences: &[Sentence],
        tag_names: &[String],
        flags: u8,
        extra: &[String],
        max_words: Option<usize>,
    ) -> Self {
        let roles = ChunkRoles::from_names(tag_names.iter().map(String::as_str));
        let mut counts: HashMap<u32, [u32; FOLDS]> = HashMap::new();
        for sentence in sentences {
            let fold = fold_of(&sentence.chars);
            for word in corpus::tags_to_words(&sentence.chars, &sentence.tags, &roles) {
                let len = word.chars().count();
                if (2..=MAX_WORD_CHARS).contains(&len) {
                    counts.entry(normalized_word_hash(&word, flags)).or_default()[fold] += 1;
                }
            }
        }
        let mut extra: HashSet<u32> = extra
            .iter()
            .filter(|word| (2..=MAX_WORD_CHARS).contains(&word.chars().count()))
            .map(|word| normalized_word_hash(word, flags))
            .collect();
        if let Some(max_words) = max_words {
            let mut ranked: Vec<(u32, u32)> = counts.iter().map(|(&h, c)| (c.iter().sum(), h)).collect();
            ranked.extend(extra.iter().filter(|h| !counts.contains_key(h)).map(|&h| (0, h)));
            if ranked.len() > max_words {
                ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                let kept: HashSet<u32> = ranked.iter().take(max_words).map(|&(_, h)| h).collect();
                counts.retain(|h, _| kept.contains(h));
                extra.retain(|h| kept.contains(h));
            }
        }
        let mut hashes: Vec<u32> = counts.keys().chain(&extra).copied().collect();
        hashes.sort_unstable();
        hashes.dedup();
        Self { counts, extra, hashes, sentences: sentences.len() }
    }

    /// A list read back from a model file's `[W]` little-endian hashes (no fold counts: it serves
    /// decoding, not training).
    pub fn from_hashes(bytes: &[u8]) -> Self {
        let mut hashes: Vec<u32> =
            bytes.chunks_exact(WORD_HASH_BYTES).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        hashes.sort_unstable();
        hashes.dedup();
        Self { counts: HashMap::new(), extra: HashSet::new(), hashes, sentences: 0 }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// True for an empty list.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Training sentences the folds were counted over.
    pub fn sentences(&self) -> usize {
        self.sentences
    }

    /// The model file's word list: `[W]` little-endian hashes, ascending.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.iter().flat_map(|h| h.to_le_bytes()).collect()
    }

    /// The word list as the model file stores it: hashes ([`Self::to_bytes`]), index bits and index
    /// (`decoder::internal::lexicon::Lexicon`).
    pub fn to_file(&self) -> (Vec<u8>, u8, Vec<u8>) {
        let bits = decoder::internal::lexicon::index_bits_for(self.hashes.len());
        (self.to_bytes(), bits, decoder::internal::lexicon::index_bytes(&self.hashes, bits))
    }

    /// The words the training sentence `chars` may see: those occurring in some other fold.
    pub fn for_training_sentence(&self, chars: &[char]) -> FoldWords<'_> {
        FoldWords { lexicon: self, fold: fold_of(chars) }
    }
}

impl WordSet for TrainingLexicon {
    fn contains(&self, hash: u32) -> bool {
        self.hashes.binary_search(&hash).is_ok()
    }
}

/// The jackknifed view of a [`TrainingLexicon`] for the sentences of one fold.
#[derive(Debug, Clone, Copy)]
pub struct FoldWords<'a> {
    lexicon: &'a TrainingLexicon,
    fold: usize,
}

impl WordSet for FoldWords<'_> {
    fn contains(&self, hash: u32) -> bool {
        self.lexicon
            .counts
            .get(&hash)
            .is_some_and(|per_fold| per_fold.iter().enumerate().any(|(fold, &n)| fold != self.fold && n > 0))
            || self.lexicon.extra.contains(&hash)
    }
}

/// The hash the decoder looks `word` up by, after normalisation `flags`.
fn normalized_word_hash(word: &str, flags: u8) -> u32 {
    word_hash(word.chars().map(|c| normalize(c, flags) as u32).collect::<Vec<_>>())
}

/// Reads a word list for `--lexicon-extra`: UTF-8 text, words separated by whitespace (one or more a
/// line, as in the SIGHAN `*_training_words` files; a leading byte-order mark is skipped).
pub fn read_extra_words(path: &Path) -> Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading word list {}", path.display()))?;
    let mut words = Vec::new();
    for (number, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(line)
            .with_context(|| format!("{}:{}: the word list is not UTF-8", path.display(), number + 1))?;
        let line = if number == 0 { line.trim_start_matches('\u{feff}') } else { line };
        words.extend(line.split_whitespace().map(str::to_owned));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::WordTags;

    fn sentences(lines: &[&[&str]]) -> Vec<Sentence> {
        lines.iter().map(|words| corpus::words_to_sentence(words, WordTags::Bmes)).collect()
    }

    fn hash(word: &str) -> u32 {
        word_hash(word.chars().map(|c| c as u32))
    }

    #[test]
    fn a_sentence_sees_only_the_words_of_the_other_folds() {
        // Sentences of different folds, found by trying short texts.
        let fold = |text: &str| fold_of(&text.chars().collect::<Vec<_>>());
        // Two-digit numbers: every text ends in a two-character "word".
        let texts: Vec<String> = (10..100).map(|i| format!("中国人民{i}")).collect();
        let a = texts.iter().find(|t| fold(t) == 0).unwrap();
        let b = texts.iter().find(|t| fold(t) == 1).unwrap();
        let c = texts.iter().find(|t| fold(t) == 0 && *t != a).unwrap();
        let split = |text: &str| -> Vec<String> {
            let rest: String = text.chars().skip(4).collect();
            vec!["中国".into(), "人民".into(), rest]
        };
        // a and c in fold 0, b in fold 1, all with 中国 人民 and a number; then a's exact copy (as a
        // distilled reading of the same text would be), which shares a's fold.
        let mut corpus = vec![
            corpus::words_to_sentence(&split(a), WordTags::Bmes),
            corpus::words_to_sentence(&split(b), WordTags::Bmes),
            corpus::words_to_sentence(&split(c), WordTags::Bmes),
        ];
        corpus.push(corpus[0].clone());
        corpus.push(corpus::words_to_sentence(&["中华人民共和国", "我"], WordTags::Bmes));
        let names = WordTags::Bmes.names();
        let lexicon = TrainingLexicon::from_sentences(&corpus, &names, 0, &[], None);
        assert!(lexicon.contains(hash("中国")) && lexicon.contains(hash("人民")));
        assert!(!lexicon.contains(hash("我")) && !lexicon.contains(hash("中华人民共和国")), "1 or 7 characters");
        assert_eq!(lexicon.sentences(), 5);
        let chars = |text: &str| text.chars().collect::<Vec<_>>();
        assert!(lexicon.for_training_sentence(&chars(a)).contains(hash("中国")), "seen in fold 1 (b)");
        // A word only in fold 0 (the numbers of a and c, in a and its copy) is unseen from fold 0.
        let a_rest: String = a.chars().skip(4).collect();
        assert!(lexicon.contains(hash(&a_rest)));
        assert!(!lexicon.for_training_sentence(&chars(a)).contains(hash(&a_rest)), "its copy is in its own fold");
        assert!(lexicon.for_training_sentence(&chars(b)).contains(hash(&a_rest)));
    }

    #[test]
    fn a_word_limit_keeps_the_most_frequent_and_the_bytes_round_trip() {
        let corpus = sentences(&[&["中国", "人民", "中国"], &["中国", "北京", "人民"], &["北京", "上海"]]);
        let names = WordTags::Bmes.names();
        let lexicon = TrainingLexicon::from_sentences(&corpus, &names, 0, &[], Some(2));
        assert_eq!(lexicon.len(), 2);
        assert!(lexicon.contains(hash("中国")), "3 times");
        // 人民 and 北京 occur twice each: the tie goes to the smaller hash.
        let tie_winner = if hash("人民") < hash("北京") { "人民" } else { "北京" };
        assert!(lexicon.contains(hash(tie_winner)));
        assert!(!lexicon.contains(hash("上海")));
        let bytes = lexicon.to_bytes();
        assert_eq!(bytes.len(), 2 * WORD_HASH_BYTES);
        let (hashes, bits, index) = lexicon.to_file();
        assert_eq!(hashes, bytes);
        assert!(
            decoder::internal::lexicon::Lexicon::from_bytes(&hashes, bits, &index).is_some(),
            "as the decoder requires"
        );
        let back = TrainingLexicon::from_hashes(&bytes);
        assert!(back.contains(hash("中国")) && !back.contains(hash("上海")));
        assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn extra_words_are_seen_from_every_fold_and_rank_after_the_training_words() {
        let corpus = sentences(&[&["中国", "人民", "中国"], &["北京", "人民"]]);
        let names = WordTags::Bmes.names();
        // 中国 is also a training word; the one-character and six-character words are ignored.
        let extra: Vec<String> = ["上海", "中国", "我", "ＡＢ", "一二三四五六"].map(String::from).into();
        let lexicon =
            TrainingLexicon::from_sentences(&corpus, &names, decoder::internal::text::NORMALIZE_WIDTH, &extra, None);
        assert_eq!(lexicon.len(), 5, "中国 人民 北京 上海 AB");
        assert!(lexicon.contains(hash("AB")), "normalised as the decoder reads text");
        for sentence in &corpus {
            // 上海 in no fold of the text, yet every sentence sees it; 北京 only from the other fold.
            let view = lexicon.for_training_sentence(&sentence.chars);
            assert!(view.contains(hash("上海")));
            assert_eq!(view.contains(hash("北京")), fold_of(&sentence.chars) != fold_of(&corpus[1].chars));
        }
        let limited = TrainingLexicon::from_sentences(&corpus, &names, 0, &extra, Some(3));
        assert!(["中国", "人民", "北京"].iter().all(|w| limited.contains(hash(w))), "training counts first");
        assert!(!limited.contains(hash("上海")));
    }

    #[test]
    fn an_extra_word_file_is_read_by_whitespace_and_bad_bytes_name_the_line() {
        let dir = std::env::temp_dir().join(format!("extra-words-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.utf8");
        std::fs::write(&good, "\u{feff}中国\r\n人民  北京\n\n上海\n").unwrap();
        assert_eq!(read_extra_words(&good).unwrap(), ["中国", "人民", "北京", "上海"]);
        let bad = dir.join("bad.utf8");
        std::fs::write(&bad, b"ok\nfine\n\xff\xfe\n").unwrap();
        let message = format!("{:#}", read_extra_words(&bad).unwrap_err());
        assert!(message.contains("bad.utf8:3"), "{message}");
        let missing = format!("{:#}", read_extra_words(&dir.join("missing")).unwrap_err());
        assert!(missing.contains("missing"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

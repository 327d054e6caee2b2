//! Mention features of token-level models (`trainer train --mention-list`): a gazetteer of the training
//! file's own chunks (entity mentions), looked up in every sentence as three more input columns.
//!
//! Each token gets, as text columns that templates read like any other: the length in tokens (capped at
//! [`LENGTH_CAP`]) of the longest listed mention starting at it and of the longest ending at it (`0` for
//! none), and its tag in a longest-match-first tagging of the sentence by the list (`B-X`, `I-X` or `O`,
//! `X` the type the mention has most often in the training file). On Weibo NER this lifts dev entity F1
//! by about 3 over the characters alone (docs/experiments.md).
//!
//! Trained naively the list would be an oracle on the training text (every mention of it is listed), so,
//! as the word list of segmentation models ([`crate::lexicon`]), it is jackknifed: a training sentence,
//! in fold [`fold_of`] of its text, sees only the mentions of the other folds. Dev, test and labelled
//! text see the whole list.
//!
//! The list is stored in the model file, as its mention section (format version 8, decoder/FORMAT.md;
//! one mention a line, `TYPE<TAB>tokens separated by spaces`), and `trainer eval` and `trainer label`
//! compute the columns from the model's list whenever it has one. These models are host only: the
//! firmware and the C API do not compute the columns (a device's token labeler refuses lines without
//! them).

use std::collections::{BTreeMap, HashMap};

use anyhow::{bail, Context as _, Result};
use decoder::internal::format;
use decoder::Model;

use crate::conll::ConllSentence;
use crate::conlleval::{ends_chunk, starts_chunk, ChunkTag};
use crate::lexicon::{fold_of, FOLDS};

/// Input columns the mention features add to each token (the model format's constant).
pub const MENTION_COLUMNS: usize = format::MENTION_COLUMNS;

/// The longest mention listed, in tokens (longer chunks are left out; the model format's limit).
pub const MAX_MENTION_TOKENS: usize = format::MAX_MENTION_TOKENS;

/// Mention lengths above this are written as this (few mentions are longer, so they share the value).
pub const LENGTH_CAP: usize = 4;

/// The template lines of the mention columns when the data has `columns` input columns before them: the
/// start and end lengths and their pair, the list's tag at -1, 0 and +1, and that tag with the token.
/// These lines are the ones measured on Weibo NER (docs/experiments.md).
pub fn template_lines(columns: usize) -> Vec<String> {
    let (start, end, tag) = (columns, columns + 1, columns + 2);
    vec![
        format!("%x[0,{start}]"),
        format!("%x[0,{end}]"),
        format!("%x[0,{start}]/%x[0,{end}]"),
        format!("%x[-1,{tag}]"),
        format!("%x[0,{tag}]"),
        format!("%x[1,{tag}]"),
        format!("%x[0,0]/%x[0,{tag}]"),
    ]
}

/// The key of a mention: its tokens' words separated by spaces (words never contain whitespace).
fn key(words: &[&str]) -> String {
    words.join(" ")
}

/// The jackknife fold of a sentence, from its words (so equal sentences share a fold).
pub fn sentence_fold(sentence: &ConllSentence) -> usize {
    let chars: Vec<char> = (0..sentence.len()).flat_map(|i| sentence.word(i).chars().chain([' '])).collect();
    fold_of(&chars)
}

/// The chunks of one sentence's tags by conlleval's rules: `(start, end, type)`, `end` exclusive.
pub fn chunks<'t>(tags: &[&'t str]) -> Vec<(usize, usize, &'t str)> {
    let outside = ChunkTag { prefix: "O", kind: "" };
    let mut out = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    let mut previous = outside;
    for (i, tag) in tags.iter().map(|t| ChunkTag::parse(t)).enumerate() {
        if let Some((start, kind)) = open.filter(|_| ends_chunk(previous, tag)) {
            out.push((start, i, kind));
            open = None;
        }
        if starts_chunk(previous, tag) {
            open = Some((i, tag.kind));
        }
        previous = tag;
    }
    if let Some((start, kind)) = open {
        out.push((start, tags.len(), kind));
    }
    out
}

/// A list of mentions with, for each, how often it has each type in each jackknife fold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MentionList {
    /// Mention key to type to occurrences per fold.
    counts: HashMap<String, BTreeMap<String, [u32; FOLDS]>>,
}

impl MentionList {
    /// The chunks of `sentences` (whose tags are `tags`, as names) of 1 to [`MAX_MENTION_TOKENS`] tokens.
    pub fn from_sentences<'a>(sentences: impl IntoIterator<Item = (&'a ConllSentence, Vec<&'a str>)>) -> Self {
        let mut list = Self::default();
        for (sentence, tags) in sentences {
            let fold = sentence_fold(sentence);
            for (start, end, kind) in chunks(&tags) {
                if end - start <= MAX_MENTION_TOKENS {
                    let words: Vec<&str> = (start..end).map(|i| sentence.word(i)).collect();
                    list.add(key(&words), kind, fold);
                }
            }
        }
        list
    }

    fn add(&mut self, key: String, kind: &str, fold: usize) {
        self.counts.entry(key).or_default().entry(kind.to_string()).or_default()[fold] += 1;
    }

    /// Number of listed mentions (distinct token sequences).
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The type of mention `key` as seen from outside fold `hidden` (every fold when `None`): the type it
    /// has most often there (ties: the first by name); `None` when those folds do not have it.
    fn lookup(&self, key: &str, hidden: Option<usize>) -> Option<&str> {
        let types = self.counts.get(key)?;
        let mut best: Option<(&str, u32)> = None;
        for (kind, folds) in types {
            let count: u32 = folds.iter().enumerate().filter(|(f, _)| Some(*f) != hidden).map(|(_, c)| c).sum();
            if count > 0 && best.is_none_or(|(_, most)| count > most) {
                best = Some((kind, count));
            }
        }
        best.map(|(kind, _)| kind)
    }

    /// The three mention columns of each token of `sentence`, the list seen from outside fold `hidden`.
    pub fn columns(&self, sentence: &ConllSentence, hidden: Option<usize>) -> Vec<[String; MENTION_COLUMNS]> {
        let n = sentence.len();
        // found[i]: (length, type) of each listed mention starting at token i.
        let mut found: Vec<Vec<(usize, &str)>> = vec![Vec::new(); n];
        let (mut starting, mut ending) = (vec![0usize; n], vec![0usize; n]);
        for (start, found_here) in found.iter_mut().enumerate() {
            let mut words = Vec::new();
            for end in start + 1..=n.min(start + MAX_MENTION_TOKENS) {
                words.push(sentence.word(end - 1));
                if let Some(kind) = self.lookup(&key(&words), hidden) {
                    let length = end - start;
                    found_here.push((length, kind));
                    starting[start] = starting[start].max(length);
                    ending[end - 1] = ending[end - 1].max(length);
                }
            }
        }
        // Tagging by the list: the longest mention at the leftmost untagged token, then past it.
        let mut tagged = vec!["O".to_string(); n];
        let mut i = 0;
        while i < n {
            match found[i].last() {
                Some(&(length, kind)) => {
                    tagged[i] = format!("B-{kind}");
                    for tag in &mut tagged[i + 1..i + length] {
                        *tag = format!("I-{kind}");
                    }
                    i += length;
                }
                None => i += 1,
            }
        }
        let capped = |length: usize| length.min(LENGTH_CAP).to_string();
        (0..n).map(|i| [capped(starting[i]), capped(ending[i]), std::mem::take(&mut tagged[i])]).collect()
    }

    /// Appends the mention columns to every token of `sentences`: with `jackknife`, each sentence sees the
    /// list without its own fold (training text), else the whole list.
    pub fn add_columns(&self, sentences: &mut [ConllSentence], jackknife: bool) {
        for sentence in sentences {
            let hidden = jackknife.then(|| sentence_fold(sentence));
            let added = self.columns(sentence, hidden);
            for (token, columns) in sentence.tokens.iter_mut().zip(added) {
                token.extend(columns);
            }
        }
    }

    /// The model section's text: each mention with its type (most frequent over all folds), sorted by
    /// mention, one a line (`TYPE<TAB>tokens separated by single spaces`), no line feed after the last.
    pub fn to_text(&self) -> String {
        let mut lines: Vec<(&str, &str)> =
            self.counts.keys().filter_map(|mention| Some((self.lookup(mention, None)?, mention.as_str()))).collect();
        lines.sort_by_key(|&(_, mention)| mention);
        lines.iter().map(|(kind, mention)| format!("{kind}\t{mention}")).collect::<Vec<_>>().join("\n")
    }

    /// Parses a mention list file's text (see [`Self::to_text`]); errors name `source_name` and the line.
    /// Blank lines and lines starting with `#` are skipped.
    pub fn parse(text: &str, source_name: &str) -> Result<Self> {
        let mut list = Self::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let number = index + 1;
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((kind, mention)) = line.split_once('\t') else {
                bail!("{source_name}:{number}: {line:?}: expected a type, a TAB and the mention's tokens");
            };
            let words: Vec<&str> = mention.split_whitespace().collect();
            if kind.is_empty() || kind.contains(char::is_whitespace) {
                bail!("{source_name}:{number}: {kind:?}: a type is one word, without spaces");
            }
            if words.is_empty() || words.len() > MAX_MENTION_TOKENS {
                bail!(
                    "{source_name}:{number}: a mention of {} tokens: 1 to {MAX_MENTION_TOKENS} are listed",
                    words.len()
                );
            }
            list.add(key(&words), kind, 0);
        }
        Ok(list)
    }

    /// `model` (a token-level model file's bytes) with this list as its mention section: the same
    /// body and templates, now format version 8.
    pub fn store_in_model(&self, model: &[u8]) -> Result<Vec<u8>> {
        let sections = format::decode_sections(model).map_err(|e| anyhow::anyhow!("the model does not load: {e}"))?;
        let tokens = sections.tokens.context("a mention list is for a token-level model")?;
        let text = self.to_text();
        let bytes = format::encode_token_model(&sections.body, Some(&tokens), Some(&text))?;
        Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("the model with its mention list does not load: {e}"))?;
        Ok(bytes)
    }

    /// The mention list `model` holds, if it has one (then the model reads its columns).
    pub fn of_model(model: &Model<'_>) -> Result<Option<Self>> {
        model.mention_list().map(|text| Self::parse(text, "the model's mention list")).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(words: &[&str]) -> ConllSentence {
        ConllSentence {
            tokens: words.iter().map(|w| vec![w.to_string()]).collect(),
            tags: vec![],
            lines: (1..=words.len()).collect(),
        }
    }

    #[test]
    fn chunks_follow_conlleval() {
        let tags = ["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"];
        assert_eq!(chunks(&tags), vec![(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC"), (5, 6, "ORG")]);
        assert_eq!(chunks(&["O", "O"]), vec![]);
    }

    #[test]
    fn columns_give_longest_matches_and_a_longest_first_tagging() {
        let text = "# a comment\nLOC\t北 京\nGPE\t北 京 市\nPER\t京\nORG\t市 政 府\n";
        let list = MentionList::parse(text, "list").unwrap();
        assert_eq!(list.len(), 4);
        let columns = list.columns(&sentence(&["在", "北", "京", "市", "政", "府"]), None);
        let column = |c: usize| columns.iter().map(|t| t[c].as_str()).collect::<Vec<_>>();
        assert_eq!(column(0), ["0", "3", "1", "3", "0", "0"]);
        assert_eq!(column(1), ["0", "0", "2", "3", "0", "3"]);
        // The longest mention at 北 wins; 市政府 overlaps it and is not tagged.
        assert_eq!(column(2), ["O", "B-GPE", "I-GPE", "I-GPE", "O", "O"]);
        // Lengths are capped.
        let long = MentionList::parse("ORG\ta b c d e f\n", "list").unwrap();
        let columns = long.columns(&sentence(&["a", "b", "c", "d", "e", "f"]), None);
        assert_eq!(columns[0][0], LENGTH_CAP.to_string());
        assert_eq!(columns[5][1], LENGTH_CAP.to_string());
    }

    #[test]
    fn a_training_sentence_does_not_see_its_own_mentions() {
        // Two sentences in different folds, each with one mention.
        let first = sentence(&["张", "三", "来", "了"]);
        let mut second = sentence(&["李", "四", "走", "了"]);
        let mut words = 0;
        while sentence_fold(&second) == sentence_fold(&first) {
            words += 1;
            second = sentence(&["李", "四", "走", "了", &"啊".repeat(words)]);
        }
        let tags = |n: usize| -> Vec<&str> {
            let mut t = vec!["B-PER", "I-PER"];
            t.resize(n, "O");
            t
        };
        let list = MentionList::from_sentences([(&first, tags(first.len())), (&second, tags(second.len()))]);
        assert_eq!(list.len(), 2);
        let mut sentences = [first, second, sentence(&["张", "三", "和", "李", "四"])];
        list.add_columns(&mut sentences[..2], true);
        list.add_columns(&mut sentences[2..], false);
        assert_eq!(sentences[0].tokens[0], ["张", "0", "0", "O"]);
        assert_eq!(sentences[1].tokens[0][1..], ["0", "0", "O"]);
        let tagged: Vec<&str> = sentences[2].tokens.iter().map(|t| t[3].as_str()).collect();
        assert_eq!(tagged, ["B-PER", "I-PER", "O", "B-PER", "I-PER"]);
        // The same columns from the list written out and read back.
        let back = MentionList::parse(&list.to_text(), "back").unwrap();
        let mut again = [sentence(&["张", "三", "和", "李", "四"])];
        back.add_columns(&mut again, false);
        assert_eq!(again, sentences[2..]);
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let error = |text: &str| MentionList::parse(text, "m.mentions").unwrap_err().to_string();
        assert!(error("PER\t张 三\nno tab here\n").starts_with("m.mentions:2: "), "{}", error("x\n"));
        assert!(error("\nPER\t\n").starts_with("m.mentions:2: a mention of 0 tokens"));
        assert!(error("A B\tx\n").starts_with("m.mentions:1: \"A B\": a type is one word"));
        assert!(error(&format!("LOC\t{}\n", "x ".repeat(11))).contains(":1: a mention of 11 tokens"));
    }
}

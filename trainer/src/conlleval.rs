//! Entity (chunk) scoring as the CoNLL shared tasks' `conlleval` perl script does it, for named-entity
//! recognition and chunking.
//!
//! A tag is split at its first `-` into a prefix and a type (`B-PER` is `B` and `PER`; a tag without a
//! dash, such as `O`, has the empty type). Whether a chunk ends before, or starts at, a token depends on
//! the previous and the current tag of the same side (gold or guessed): see [`ends_chunk`] and
//! [`starts_chunk`]. A guessed chunk is correct when it starts and ends with a gold chunk of the same
//! type. Counts and percentages follow the script exactly: precision is `100 * correct / guessed`
//! (0 without guessed chunks), recall `100 * correct / gold`, FB1 `2PR / (P + R)` (0 when `P + R` is
//! 0), accuracy the share of tokens whose gold and guessed tags are equal.
//!
//! Differences from the script, all outside its usual input: `-DOCSTART-` lines are skipped by the
//! reader (conlleval counts each as an `O` token, so its token count and accuracy include them; the
//! chunk counts are the same, since both treat the line as the end of any chunk), columns are split at
//! any run of whitespace (the script splits at each single space), a type named `0` stays `0` (perl's
//! truthiness makes it the empty type), and the per-type list names each type once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Result};

use crate::conll::{read_conll_columns, ConllFile, TagColumn};

/// The outside tag: no chunk.
const OUTSIDE: &str = "O";
/// conlleval's `.` prefix, which like `O` never opens a chunk by a change of type.
const DOT: &str = ".";
/// conlleval's per-type lines right-align the type in this many bytes (`printf "%17s: "`).
const TYPE_COLUMN_WIDTH: usize = 17;

/// Chunk counts, of one type or of all types together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkCounts {
    /// Chunks in the gold tags (conlleval's `foundCorrect`, "phrases").
    pub gold: usize,
    /// Chunks in the guessed tags (conlleval's `foundGuessed`, "found").
    pub guessed: usize,
    /// Guessed chunks identical to a gold chunk: same start, end and type (conlleval's `correctChunk`).
    pub correct: usize,
}

impl ChunkCounts {
    /// Percentage of guessed chunks that are correct; 0 without guessed chunks.
    pub fn precision(&self) -> f64 {
        percent(self.correct, self.guessed)
    }

    /// Percentage of gold chunks that were found; 0 without gold chunks.
    pub fn recall(&self) -> f64 {
        percent(self.correct, self.gold)
    }

    /// The harmonic mean of [`Self::precision`] and [`Self::recall`] (a percentage); 0 when both are 0.
    pub fn f1(&self) -> f64 {
        let (precision, recall) = (self.precision(), self.recall());
        // The script's order of operations, so the last digit rounds as it does.
        if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        }
    }
}

/// `100 * part / whole` as conlleval computes it, 0 for an empty whole.
fn percent(part: usize, whole: usize) -> f64 {
    if whole > 0 {
        100.0 * part as f64 / whole as f64
    } else {
        0.0
    }
}

/// The result of scoring guessed tags against gold tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConllReport {
    /// Tokens scored (sentence boundaries are not tokens).
    pub tokens: usize,
    /// Tokens whose guessed tag equals the gold one.
    pub correct_tags: usize,
    /// Chunk counts over all types.
    pub chunks: ChunkCounts,
    /// Chunk counts per type, in conlleval's order (sorted by the type's bytes). A type appears once it
    /// has a gold or a guessed chunk.
    pub by_type: BTreeMap<String, ChunkCounts>,
}

impl ConllReport {
    /// Percentage of tokens tagged correctly; 0 without tokens.
    pub fn accuracy(&self) -> f64 {
        percent(self.correct_tags, self.tokens)
    }

    /// Overall chunk precision (a percentage), as [`ChunkCounts::precision`].
    pub fn precision(&self) -> f64 {
        self.chunks.precision()
    }

    /// Overall chunk recall (a percentage), as [`ChunkCounts::recall`].
    pub fn recall(&self) -> f64 {
        self.chunks.recall()
    }

    /// Overall chunk F1 (conlleval's FB1, a percentage), as [`ChunkCounts::f1`].
    pub fn f1(&self) -> f64 {
        self.chunks.f1()
    }

    /// The report in conlleval's text format, byte for byte (its `printf` formats): a line of counts,
    /// then, when there were tokens, the overall scores, then one line per type ending in the type's
    /// number of guessed chunks.
    pub fn render_conlleval(&self) -> String {
        let mut out = String::new();
        let chunks = &self.chunks;
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "processed {} tokens with {} phrases; found: {} phrases; correct: {}.",
            self.tokens, chunks.gold, chunks.guessed, chunks.correct
        );
        if self.tokens > 0 {
            let _ = writeln!(
                out,
                "accuracy: {:6.2}%; precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}",
                self.accuracy(),
                chunks.precision(),
                chunks.recall(),
                chunks.f1()
            );
        }
        for (kind, counts) in &self.by_type {
            // perl's `%17s` pads by bytes, not characters.
            let padding = " ".repeat(TYPE_COLUMN_WIDTH.saturating_sub(kind.len()));
            let _ = writeln!(
                out,
                "{padding}{kind}: precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}  {}",
                counts.precision(),
                counts.recall(),
                counts.f1(),
                counts.guessed
            );
        }
        out
    }
}

/// A tag split as conlleval splits it (`/^([^-]*)-(.*)$/`): the prefix before the first dash, the type
/// after it; a tag without a dash is all prefix, with the empty type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkTag<'a> {
    /// `B`, `I`, `E`, `S`, `O`, `[`, `]`, ...
    pub prefix: &'a str,
    /// The chunk type (`PER`, `NP`, ...), possibly empty; it may contain dashes.
    pub kind: &'a str,
}

impl<'a> ChunkTag<'a> {
    /// Splits a tag at its first dash.
    pub fn parse(tag: &'a str) -> Self {
        match tag.split_once('-') {
            Some((prefix, kind)) => Self { prefix, kind },
            None => Self { prefix: tag, kind: "" },
        }
    }
}

/// The tag before a sentence's first token and at a sentence boundary.
const BOUNDARY: ChunkTag<'static> = ChunkTag { prefix: OUTSIDE, kind: "" };

/// Whether a chunk ended between a token tagged `previous` and the next one tagged `current`
/// (conlleval's `endOfChunk`).
///
/// The rules are those of conlleval version 2004-01-26 (Erik Tjong Kim Sang), which covers IOB1, IOB2,
/// IOE1, IOE2 and the `[`/`]` bracket tags: `B` or `I` followed by `B` or `O`; `E` followed by `E`,
/// `I` or `O`; after `[` or `]` always; and whenever the type changes after a tag other than `O` and
/// `.`. Added for BIOES, as in the widely used BIOES variants of the script (and seqeval's port): `B`
/// or `I` followed by `S`, and always after `E` or `S`. On files without `S` tags and without `E`
/// followed by `B` the added rules never fire, so results equal the original script's.
pub fn ends_chunk(previous: ChunkTag, current: ChunkTag) -> bool {
    let by_prefix =
        matches!((previous.prefix, current.prefix), ("B" | "I", "B" | "O" | "S") | ("E" | "S" | "[" | "]", _));
    by_prefix || (previous.prefix != OUTSIDE && previous.prefix != DOT && previous.kind != current.kind)
}

/// Whether a chunk started at a token tagged `current` after one tagged `previous` (conlleval's
/// `startOfChunk`).
///
/// Original rules (version 2004-01-26): `B` after `B`, `I` or `O`; `I` after `O`; `E` after `E` or
/// `O`; `I` after `E`; `[` and `]` always; and whenever the type changes, unless the tag is `O` or `.`
/// (so `I-X` after `O` or after another type opens a chunk: IOB1). Added for BIOES as in the script's
/// BIOES variants: `B` and `S` always, `I` and `E` after `S`. The additions only fire on `S` tags or on
/// `B` after `E`, which the original schemes never produce.
pub fn starts_chunk(previous: ChunkTag, current: ChunkTag) -> bool {
    let by_prefix =
        matches!((previous.prefix, current.prefix), (_, "B" | "S" | "[" | "]") | ("O" | "E" | "S", "I" | "E"));
    by_prefix || (current.prefix != OUTSIDE && current.prefix != DOT && previous.kind != current.kind)
}

/// An owned copy of the previous token's [`ChunkTag`], kept between calls.
#[derive(Debug, Clone)]
struct PreviousTag {
    prefix: String,
    kind: String,
}

impl PreviousTag {
    fn boundary() -> Self {
        Self { prefix: BOUNDARY.prefix.to_string(), kind: BOUNDARY.kind.to_string() }
    }

    fn tag(&self) -> ChunkTag<'_> {
        ChunkTag { prefix: &self.prefix, kind: &self.kind }
    }

    fn set(&mut self, tag: ChunkTag) {
        self.prefix.clear();
        self.prefix.push_str(tag.prefix);
        self.kind.clear();
        self.kind.push_str(tag.kind);
    }
}

/// Scores sentences one at a time, as conlleval reads its input line by line.
#[derive(Debug, Clone)]
pub struct ChunkScorer {
    report: ConllReport,
    last_gold: PreviousTag,
    last_guessed: PreviousTag,
    /// conlleval's `inCorrect`: the gold and guessed chunks open now started at the same token with the
    /// same type and no side has ended since, so they are correct if they also end together.
    in_correct: bool,
}

impl Default for ChunkScorer {
    fn default() -> Self {
        Self {
            report: ConllReport::default(),
            last_gold: PreviousTag::boundary(),
            last_guessed: PreviousTag::boundary(),
            in_correct: false,
        }
    }
}

impl ChunkScorer {
    /// A scorer that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scores one sentence given as `(gold, guessed)` tag pairs; a sentence boundary follows it, which
    /// ends any open chunk.
    pub fn add_sentence<G: AsRef<str>, P: AsRef<str>>(&mut self, pairs: impl IntoIterator<Item = (G, P)>) {
        for (gold, guessed) in pairs {
            self.step(ChunkTag::parse(gold.as_ref()), ChunkTag::parse(guessed.as_ref()), true);
        }
        // conlleval turns a blank line into an `O O` line that is not counted as a token.
        self.step(BOUNDARY, BOUNDARY, false);
    }

    /// The counts so far (conlleval's end of input: a chunk still open and correct is counted).
    pub fn finish(mut self) -> ConllReport {
        if self.in_correct {
            count_correct(&mut self.report, &self.last_gold.kind);
        }
        self.report
    }

    /// One line of conlleval's main loop.
    fn step(&mut self, gold: ChunkTag, guessed: ChunkTag, is_token: bool) {
        let last_gold = self.last_gold.tag();
        let last_guessed = self.last_guessed.tag();
        let report = &mut self.report;

        let gold_ends = ends_chunk(last_gold, gold);
        let guessed_ends = ends_chunk(last_guessed, guessed);
        if self.in_correct {
            if gold_ends && guessed_ends && last_guessed.kind == last_gold.kind {
                self.in_correct = false;
                count_correct(report, last_gold.kind);
            } else if gold_ends != guessed_ends || guessed.kind != gold.kind {
                self.in_correct = false;
            }
        }

        let gold_starts = starts_chunk(last_gold, gold);
        let guessed_starts = starts_chunk(last_guessed, guessed);
        if gold_starts && guessed_starts && guessed.kind == gold.kind {
            self.in_correct = true;
        }
        if gold_starts {
            report.chunks.gold += 1;
            type_counts(report, gold.kind).gold += 1;
        }
        if guessed_starts {
            report.chunks.guessed += 1;
            type_counts(report, guessed.kind).guessed += 1;
        }
        if is_token {
            report.tokens += 1;
            if gold == guessed {
                report.correct_tags += 1;
            }
        }

        self.last_gold.set(gold);
        self.last_guessed.set(guessed);
    }
}

fn type_counts<'r>(report: &'r mut ConllReport, kind: &str) -> &'r mut ChunkCounts {
    report.by_type.entry(kind.to_string()).or_default()
}

fn count_correct(report: &mut ConllReport, kind: &str) {
    report.chunks.correct += 1;
    type_counts(report, kind).correct += 1;
}

/// Scores a predicted CoNLL column file against a gold one: the tag is the last column of each, and
/// both must hold the same words (first column) in the same sentences; the first difference is an
/// error naming both lines. Other columns may differ (a prediction file may keep only the words).
pub fn score_conll_files(gold: &Path, predicted: &Path) -> Result<ConllReport> {
    let gold_file = read_conll_columns(gold, TagColumn::Last)?;
    let predicted_file = read_conll_columns(predicted, TagColumn::Last)?;
    check_same_tokens(&gold_file, &gold.display().to_string(), &predicted_file, &predicted.display().to_string())?;
    let mut scorer = ChunkScorer::new();
    for (gold_sentence, predicted_sentence) in gold_file.sentences.iter().zip(&predicted_file.sentences) {
        scorer.add_sentence(gold_sentence.tags.iter().zip(&predicted_sentence.tags));
    }
    Ok(scorer.finish())
}

/// Scores one CoNLL column file whose last two columns are the gold and the guessed tag, the input
/// conlleval reads.
pub fn score_conll_file(path: &Path) -> Result<ConllReport> {
    let file = read_conll_columns(path, TagColumn::Last)?;
    let mut scorer = ChunkScorer::new();
    for sentence in &file.sentences {
        // The reader guarantees at least two columns, so every token keeps its gold tag as last column.
        let gold_tags = sentence.tokens.iter().map(|columns| columns.last().map_or("", String::as_str));
        scorer.add_sentence(gold_tags.zip(&sentence.tags));
    }
    Ok(scorer.finish())
}

/// An error at the first place where two files' sentences or words differ.
fn check_same_tokens(gold: &ConllFile, gold_name: &str, predicted: &ConllFile, predicted_name: &str) -> Result<()> {
    for (number, (g, p)) in gold.sentences.iter().zip(&predicted.sentences).enumerate() {
        for index in 0..g.len().max(p.len()) {
            match (index < g.len(), index < p.len()) {
                (true, true) if g.word(index) != p.word(index) => bail!(
                    "{gold_name}:{}: word {:?}, but {predicted_name}:{} has {:?}: the files must hold the same tokens",
                    g.lines[index],
                    g.word(index),
                    p.lines[index],
                    p.word(index)
                ),
                (true, false) => bail!(
                    "{gold_name}:{}: word {:?} is missing from {predicted_name}, whose sentence {} ends at line {}",
                    g.lines[index],
                    g.word(index),
                    number + 1,
                    p.lines.last().copied().unwrap_or(0)
                ),
                (false, true) => bail!(
                    "{predicted_name}:{}: word {:?} is not in {gold_name}, whose sentence {} ends at line {}",
                    p.lines[index],
                    p.word(index),
                    number + 1,
                    g.lines.last().copied().unwrap_or(0)
                ),
                _ => {}
            }
        }
    }
    let (g, p) = (gold.sentences.len(), predicted.sentences.len());
    if g > p {
        bail!(
            "{gold_name}:{}: sentence {} has no counterpart in {predicted_name}, which ends after {p} sentences",
            gold.sentences[p].lines.first().copied().unwrap_or(0),
            p + 1
        );
    }
    if p > g {
        bail!(
            "{predicted_name}:{}: sentence {} has no counterpart in {gold_name}, which ends after {g} sentences",
            predicted.sentences[g].lines.first().copied().unwrap_or(0),
            g + 1
        );
    }
    Ok(())
}

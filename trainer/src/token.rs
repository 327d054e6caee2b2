//! Token-level CRFs over CoNLL column files (named-entity recognition, chunking): CRF++-compatible
//! template files, a default template, chunk-scheme detection (IOB1, IOB2, BIOES), training through the
//! shared loop, export with the template section (format version 6), labelling with the decoder and
//! scoring by conlleval's rules.
//!
//! The features are computed by `decoder::internal::tokens` (templates expanded over the token columns
//! and hashed without allocating), so the device computes exactly what the trainer trained.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use decoder::internal::features::feature_hashes;
use decoder::internal::format::TokenSpec;
use decoder::internal::lattice::{backpointer_bytes, label_tokens};
use decoder::internal::tags::{
    derive_constraints_in, iob1_constraints_in, parse_tag, ModelConstraints as Constraints, Role,
};
use decoder::internal::tokens::{check_line, TokenTemplates};
use decoder::{Model, MAX_TAGS, MAX_TEMPLATES};
use rayon::prelude::*;

use crate::conll::{parse_conll_columns, ConllFile, ConllSentence, TagColumn};
use crate::conlleval::{ChunkScorer, ConllReport};
use crate::corpus::read_bytes;
use crate::crf::Marginals;
use crate::evaluate::DevScore;
use crate::features::{FeatureSpec, FeaturizedCorpus};
use crate::mentions::{self, MentionList};
use crate::model::FloatModel;
use crate::pipeline::progress::{say, Progress};
use crate::quantize;
use crate::train::{train_featurized, TrainConfig};

/// The token-level templates of a model: the unigram lines (`\n`-separated) and the input columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFeatures {
    /// Input columns of a token (tag excluded).
    pub columns: u8,
    /// Unigram template lines separated by `\n`.
    pub templates: String,
    count: usize,
}

impl TokenFeatures {
    /// Validated templates (as the decoder validates them at load).
    pub fn new(columns: usize, templates: String) -> Result<Self, String> {
        let count = TokenTemplates::new(&templates, columns, MAX_TEMPLATES).map_err(|e| e.to_string())?.len();
        Ok(Self { columns: columns as u8, templates, count })
    }

    /// The templates a loaded model carries.
    pub fn from_decoder(templates: &TokenTemplates<'_>) -> Self {
        Self { columns: templates.columns() as u8, templates: templates.text().to_string(), count: templates.len() }
    }

    /// Number of templates (features per token).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Never true.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The model file's section.
    pub fn spec(&self) -> TokenSpec<'_> {
        TokenSpec { columns: self.columns, templates: &self.templates }
    }

    /// The feature hashes of every token of a sentence, `[T][K]`, computed by the decoder's code.
    pub fn hashes(&self, tokens: &[Vec<String>]) -> Vec<u32> {
        let Ok(templates) = TokenTemplates::new(&self.templates, usize::from(self.columns), MAX_TEMPLATES) else {
            return Vec::new(); // validated in `new`
        };
        let mut out = Vec::with_capacity(tokens.len() * self.count);
        for position in 0..tokens.len() {
            templates.hashes(tokens, position, |h| out.push(h));
        }
        out
    }
}

/// Parses a CRF++ template file: `#` comments and blank lines are skipped, `U...` lines are feature
/// templates, a bare `B` line stands for the transition features (which every model has). Errors name
/// the file and the line.
pub fn parse_template_file(text: &str, source_name: &str, columns: usize) -> Result<TokenFeatures> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let number = index + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('B') {
            if !rest.bytes().all(|b| b.is_ascii_digit() || b == b':') {
                bail!(
                    "{source_name}:{number}: {line:?}: a bigram template with observations is not supported \
                     (the CRF layer has one transition matrix); use a bare B line"
                );
            }
            continue;
        }
        if let Err((at, problem)) = check_line(line, columns) {
            bail!(
                "{source_name}:{number}: {line:?}, byte {}: {problem} (the data has {columns} input columns)",
                at + 1
            );
        }
        lines.push(line);
    }
    if lines.is_empty() || lines.len() > MAX_TEMPLATES {
        bail!("{source_name}: {} unigram templates; between 1 and {MAX_TEMPLATES} are supported", lines.len());
    }
    TokenFeatures::new(columns, lines.join("\n")).map_err(|e| anyhow::anyhow!("{source_name}: {e}"))
}

/// The default template for data with `columns` input columns (the word first): the word in a ±2
/// window and its bigrams with the neighbours; the second column (a tag such as the part of speech) in a
/// ±2 window with bigrams; further columns at ±1; the word's shape and short shape in a ±1 window, its
/// class, suffixes of 2 to 4 and prefixes of 2 and 3 characters, and its lower case with its neighbours';
/// then, where all four fit (two input columns), the second column's trigrams and the word with the second
/// column. Cut at [`MAX_TEMPLATES`] lines.
pub fn default_template(columns: usize) -> String {
    let mut lines: Vec<String> = Vec::new();
    for k in -2..=2 {
        lines.push(format!("%x[{k},0]"));
    }
    lines.push("%x[-1,0]/%x[0,0]".into());
    lines.push("%x[0,0]/%x[1,0]".into());
    for column in 1..columns {
        let reach = if column == 1 { 2 } else { 1 };
        for k in -reach..=reach {
            lines.push(format!("%x[{k},{column}]"));
        }
        if column == 1 {
            lines.push(format!("%x[-1,{column}]/%x[0,{column}]"));
            lines.push(format!("%x[0,{column}]/%x[1,{column}]"));
        }
    }
    for function in ["shortshape[-1,0]", "shortshape[0,0]", "shortshape[1,0]", "shape[0,0]", "class[0,0]"] {
        lines.push(format!("%{function}"));
    }
    for function in ["suffix2", "suffix3", "suffix4", "prefix2", "prefix3"] {
        lines.push(format!("%{function}[0,0]"));
    }
    for k in [0, -1, 1] {
        lines.push(format!("%lower[{k},0]"));
    }
    lines.push("%shortshape[-1,0]/%shortshape[0,0]/%shortshape[1,0]".into());
    // The second column's trigrams and the word with it, where all four fit (two input columns, such as
    // CoNLL-2000's word and part of speech: dev F1 94.27 against 94.00 without them).
    let second =
        ["%x[-2,1]/%x[-1,1]/%x[0,1]", "%x[-1,1]/%x[0,1]/%x[1,1]", "%x[0,1]/%x[1,1]/%x[2,1]", "%x[0,0]/%x[0,1]"];
    if columns >= 2 && lines.len() + second.len() <= MAX_TEMPLATES {
        lines.extend(second.iter().map(|l| l.to_string()));
    }
    lines.truncate(MAX_TEMPLATES);
    lines.iter().enumerate().map(|(i, l)| format!("U{i:02}:{l}")).collect::<Vec<_>>().join("\n")
}

/// The chunk scheme of a tag set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkScheme {
    /// `B-X`/`I-X`/`O` where `I-X` may start a chunk (CoNLL-2003).
    Iob1,
    /// `B-X`/`I-X`/`O` where every chunk starts with `B-X`.
    Iob2,
    /// Chunks with end and single tags.
    Bioes,
    /// Tags of no chunk scheme (every transition allowed).
    Other,
}

/// Detects the scheme from the tag names and, to tell IOB1 from IOB2, from the gold sequences: a chunk
/// opens with `I-X` when that starts a sentence or follows `O` or a tag of another type, and with `B-X`
/// when a `B-X` does. IOB1 when `I-X` opens some chunks and at least as many as `B-X` does: IOB2 data
/// with a few annotation slips (Weibo NER's training set has 10 `I-X` right after `O`, against about
/// 2,000 chunks that `B-X` opens) stays IOB2, while IOB1 data opens nearly every chunk with `I-X`
/// (CoNLL-2003's training set: 23,427 with `I-X`, 2 with `B-X`).
pub fn detect_scheme(tag_names: &[String], sentences: &[Vec<u8>]) -> ChunkScheme {
    let parsed: Vec<Option<(Role, &str)>> = tag_names.iter().map(|n| parse_tag(n)).collect();
    if parsed.iter().any(Option::is_none) {
        return ChunkScheme::Other;
    }
    let roles: Vec<(Role, &str)> = parsed.into_iter().flatten().collect();
    if roles.iter().any(|(r, _)| matches!(r, Role::End | Role::Single)) {
        return ChunkScheme::Bioes;
    }
    // Whether `tag` opens a chunk with the role `role` after `previous`.
    let opens_with = |role: Role, previous: Option<u8>, tag: u8| {
        let (tag_role, kind) = roles[usize::from(tag)];
        tag_role == role
            && previous.is_none_or(|p| {
                let (previous_role, previous_kind) = roles[usize::from(p)];
                previous_role == Role::Outside || previous_kind != kind
            })
    };
    let count = |role: Role| -> usize {
        sentences
            .iter()
            .map(|tags| {
                (0..tags.len()).filter(|&i| opens_with(role, i.checked_sub(1).map(|p| tags[p]), tags[i])).count()
            })
            .sum()
    };
    let inside = count(Role::Inside);
    if inside > 0 && inside >= count(Role::Begin) {
        ChunkScheme::Iob1
    } else {
        ChunkScheme::Iob2
    }
}

/// The hard constraints of a scheme over `tag_names`: IOB1's, or those the decoder derives from the
/// names (IOB2 = BIO, BIOES), and whether they must be stored in the model.
pub fn scheme_constraints(scheme: ChunkScheme, tag_names: &[String]) -> (Option<Constraints>, Constraints) {
    let names = tag_names.iter().map(String::as_str);
    if scheme == ChunkScheme::Iob1 {
        if let Some(c) = iob1_constraints_in(names.clone()) {
            return (Some(c), c);
        }
    }
    let (_, derived) = derive_constraints_in(names);
    (None, derived)
}

/// A CoNLL file's sentences with their tags as indices into `tag_names`.
#[derive(Debug, Clone)]
pub struct TokenCorpus {
    /// Tag names in model order.
    pub tag_names: Vec<String>,
    /// The sentences (columns without the tag).
    pub sentences: Vec<ConllSentence>,
    /// Per sentence, its tag indices.
    pub tags: Vec<Vec<u8>>,
    /// The file's tokens ended in their word positions, which were removed
    /// ([`crate::conll::strip_word_positions`]).
    pub word_positions: bool,
}

/// Reads a word-level CoNLL file with tags. With `known_tags` (a model's), a tag the model does not have
/// is an error naming the file and line; otherwise the tags are `O` first, then sorted. A file without
/// sentences, more than `MAX_TAGS` tags, or a different column count than `columns` is an error.
pub fn read_token_corpus(path: &Path, known_tags: Option<&[String]>, columns: Option<usize>) -> Result<TokenCorpus> {
    let bytes = read_bytes(path)?;
    let name = path.display().to_string();
    let file = parse_conll_columns(&bytes, &name, TagColumn::Last)?;
    token_corpus(file, &name, known_tags, columns)
}

/// [`read_token_corpus`] of a parsed file.
pub fn token_corpus(
    file: ConllFile,
    name: &str,
    known_tags: Option<&[String]>,
    columns: Option<usize>,
) -> Result<TokenCorpus> {
    if file.sentences.is_empty() {
        bail!("{name}: no sentence (a CoNLL file needs token lines, a blank line between sentences)");
    }
    if let Some(expected) = columns {
        if file.columns - 1 != expected {
            let line = file.sentences[0].lines[0];
            bail!("{name}:{line}: {} input columns and a tag, but the model reads {expected}", file.columns - 1);
        }
    }
    let tag_names: Vec<String> = match known_tags {
        Some(tags) => tags.to_vec(),
        None => {
            let mut names: Vec<String> = file.sentences.iter().flat_map(|s| s.tags.iter().cloned()).collect();
            names.sort_by(|a, b| (a != "O", a).cmp(&(b != "O", b)));
            names.dedup();
            names
        }
    };
    // Known tags are a model's (and, when scoring, the gold file's tags it lacks, never predicted).
    if known_tags.is_none() && tag_names.len() > MAX_TAGS {
        bail!(
            "{name}: {} distinct tags, but a model has at most {MAX_TAGS} ({})",
            tag_names.len(),
            tag_names.join(" ")
        );
    }
    if tag_names.len() > usize::from(u8::MAX) + 1 {
        bail!("{name}: {} distinct tags", tag_names.len());
    }
    let mut tags = Vec::with_capacity(file.sentences.len());
    for sentence in &file.sentences {
        let mut indices = Vec::with_capacity(sentence.len());
        for (tag, line) in sentence.tags.iter().zip(&sentence.lines) {
            match tag_names.iter().position(|n| n == tag) {
                Some(i) => indices.push(i as u8),
                None => bail!("{name}:{line}: tag {tag:?} is not one of the model's tags ({})", tag_names.join(" ")),
            }
        }
        tags.push(indices);
    }
    Ok(TokenCorpus { tag_names, sentences: file.sentences, tags, word_positions: file.word_positions })
}

/// Whether a training file is a word-level CoNLL column file (rather than segmented text or the
/// one-character-per-line CoNLL of character models): its first data lines (up to 50) all have the same
/// number of whitespace-separated columns, at least two, the last of them a chunk tag, and either three
/// or more columns, a first column of more than one character somewhere, or more than 16 distinct tags in
/// the file (more than a character model may have).
pub fn is_token_level(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(1 << 16)]);
    let mut columns = None;
    let mut long_word = false;
    let mut seen = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields[0] == crate::conll::DOCUMENT_START {
            continue;
        }
        if fields.len() < 2 || *columns.get_or_insert(fields.len()) != fields.len() {
            return false;
        }
        let tag = fields[fields.len() - 1];
        if parse_tag(tag).is_none() {
            return false;
        }
        long_word |= fields[0].chars().count() > 1;
        seen += 1;
        if seen == 50 {
            break;
        }
    }
    seen > 0 && (columns.unwrap_or(0) >= 3 || long_word || more_than_character_tags(bytes))
}

/// Whether a file's lines end in more distinct tags than a character model may have
/// ([`decoder::MAX_CHAR_TAGS`]): a one-character-a-line file of such tags (Weibo NER without its word
/// positions) trains as a token-level model rather than being refused.
fn more_than_character_tags(bytes: &[u8]) -> bool {
    let mut tags = std::collections::HashSet::new();
    for line in bytes.split(|&b| b == b'\n') {
        if let Some(tag) = line.split(|b| b.is_ascii_whitespace()).rfind(|field| !field.is_empty()) {
            tags.insert(tag);
            if tags.len() > decoder::MAX_CHAR_TAGS {
                return true;
            }
        }
    }
    false
}

/// What `trainer train` does with a token-level file.
#[derive(Debug, Clone)]
pub struct TokenTrainOptions {
    /// Training file.
    pub train: PathBuf,
    /// Dev file (for choosing the epoch and the quantization); default: every 20th training sentence.
    pub dev: Option<PathBuf>,
    /// CRF++ template file; default: [`default_template`].
    pub template: Option<PathBuf>,
    /// Where to write the model.
    pub out: PathBuf,
    /// The table has `2^bucket_bits` rows (without a budget).
    pub bucket_bits: u8,
    /// A byte budget: the model file gets the largest table that fits (`--max-model-bytes`).
    pub max_model_bytes: Option<usize>,
    /// With a budget: one-byte row codes into a codebook of 256 i8 rows (any row count) instead of i8 rows
    /// (a power of two).
    pub codebook: bool,
    /// Rows each feature reads and sums in a codebook model: 1, or 2 (a row and that of its second hash,
    /// so a feature's weights are the sum of two codebook entries); direct weights read 1.
    pub hashes_per_feature: u8,
    /// In a codebook model: epochs of training the codebook (and the CRF layer) with the codes fixed,
    /// after k-means ([`crate::codebook_fit`]); 0 keeps the k-means entries.
    pub codebook_epochs: usize,
    /// The Adagrad learning rate of that training, for the codebook and the CRF layer alike.
    pub codebook_lr: f32,
    /// In a codebook model: quantization-aware training between k-means and the final clustering
    /// ([`crate::codebook_pull`]); `None` clusters the trained rows as they are.
    pub pull: Option<crate::codebook_pull::PullSchedule>,
    /// In a codebook model: k-means weighted per row and tag by the loss's curvature
    /// ([`crate::codebook::curvature`], this floor per read) instead of by reads; `None`: by reads.
    pub curvature_floor: Option<f32>,
    /// Train this many models (seeds `config.seed`, `+1`, ...) and export the mean of their parameters.
    pub ensemble: u32,
    /// With a budget: distill from the model without one, trained first on the same data and tags.
    pub teacher: Option<SoftTeacher>,
    /// Add the mention columns of a list of the training file's chunks ([`crate::mentions`]), stored in
    /// the model file (format version 8).
    pub mentions: bool,
    /// The loop's settings.
    pub config: TrainConfig,
}

/// Knowledge distillation of a budget model from the unlimited one ([`TokenTrainOptions::teacher`]):
/// the budget model fits a mixture of the gold tags and the teacher's path distribution on each
/// training sentence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftTeacher {
    /// The teacher's share of the target (0: the gold tags alone, 1: the teacher alone).
    pub weight: f32,
    /// The teacher's scores are divided by this before its distribution is taken (above 1: softer).
    pub temperature: f32,
}

/// k-means runs (seeds) of a codebook model's clustering; the best on dev is kept.
const KMEANS_SEEDS: u64 = 4;

/// Room kept for the metadata string and the stored constraints of an IOB1 model when sizing a table.
const TOKEN_SIZE_MARGIN: usize = 64;

/// The most table rows with which a token-level model of `tag_names` and `features` fits `budget` bytes:
/// with `codebook` any row count (one byte each, beside the codebook), else a power of two of i8 rows.
pub fn largest_token_table(
    tag_names: &[String],
    features: &TokenFeatures,
    budget: usize,
    codebook: bool,
) -> Option<u32> {
    let l = tag_names.len();
    // The token section (columns, the templates' length and text) and IOB1's stored masks.
    let extra = 1 + 3 + features.templates.len() + l * l + 2 * l + TOKEN_SIZE_MARGIN;
    let fits = |rows: u32| {
        let spec = FeatureSpec::with_rows(vec![decoder::internal::features::Template::Bias], rows);
        let size = quantize::file_size(
            tag_names,
            1,
            &spec,
            codebook,
            decoder::internal::format::WeightType::I8,
            None,
            "token-level CoNLL model".len(),
        );
        size.saturating_add(extra) <= budget
    };
    let max_bits = decoder::MAX_BUCKET_BITS;
    if !codebook {
        return (4..=max_bits).rev().map(|bits| 1u32 << bits).find(|&rows| fits(rows));
    }
    if !fits(1) {
        return None;
    }
    let (mut fitting, mut too_big) = (1u32, (1u32 << max_bits) + 1);
    while too_big - fitting > 1 {
        let mid = fitting + (too_big - fitting) / 2;
        if fits(mid) {
            fitting = mid;
        } else {
            too_big = mid;
        }
    }
    Some(fitting)
}

/// What a token-level training run produced.
#[derive(Debug, Clone)]
pub struct TokenTrainSummary {
    /// The model file.
    pub bytes: Vec<u8>,
    /// The exported (integer) model's scores on dev.
    pub dev: ConllReport,
    /// The chunk scheme found in the training tags.
    pub scheme: ChunkScheme,
    /// Wall time of the whole run, in seconds.
    pub seconds: f64,
    /// Number of templates.
    pub templates: usize,
}

/// The features of a file of `columns` input columns: those of the CRF++ template file at `template`
/// (errors name it, and the line), or the default template for the columns.
pub fn read_token_features(template: Option<&Path>, columns: usize) -> Result<TokenFeatures> {
    read_features_or(template, columns, || Ok(default_template(columns)))
}

/// The features of the CRF++ template file at `template`, or `default` (template lines) without one.
fn read_features_or(
    template: Option<&Path>,
    columns: usize,
    default: impl FnOnce() -> Result<String>,
) -> Result<TokenFeatures> {
    match template {
        Some(path) => {
            let text =
                String::from_utf8(read_bytes(path)?).with_context(|| format!("{}: not UTF-8", path.display()))?;
            parse_template_file(&text, &path.display().to_string(), columns)
        }
        None => TokenFeatures::new(columns, default()?).map_err(anyhow::Error::msg),
    }
}

/// The default template for data of `columns` input columns followed by the mention columns: the
/// default template of the columns, then [`crate::mentions::template_lines`]. An error when they are
/// more than the decoder reads (then a template file has to choose).
pub fn default_template_with_mentions(columns: usize) -> Result<String> {
    let mut lines: Vec<String> = default_template(columns).lines().map(str::to_string).collect();
    let first = lines.len();
    let added = mentions::template_lines(columns);
    if first + added.len() > MAX_TEMPLATES {
        bail!(
            "the default template of {columns} input columns has {first} lines and the mention columns add {}: \
             more than the {MAX_TEMPLATES} a model reads; give a --template that reads columns {columns} to {}",
            added.len(),
            columns + mentions::MENTION_COLUMNS - 1
        );
    }
    lines.extend(added.iter().enumerate().map(|(i, l)| format!("U{:02}:{l}", first + i)));
    Ok(lines.join("\n"))
}

/// Builds the mention list of `train` and appends its columns to `train` (jackknifed) and `dev`.
fn add_mention_columns(train: &mut TokenCorpus, dev: &mut TokenCorpus) -> MentionList {
    let list = {
        let names = |tags: &Vec<u8>| tags.iter().map(|&t| train.tag_names[usize::from(t)].as_str()).collect();
        MentionList::from_sentences(train.sentences.iter().zip(train.tags.iter().map(names)))
    };
    list.add_columns(&mut train.sentences, true);
    list.add_columns(&mut dev.sentences, false);
    list
}

/// Trains a token-level model, exports it (the quantization that scores best on dev with the decoder's
/// integer path) and writes it.
pub fn train_tokens(options: &TokenTrainOptions, progress: &mut dyn Progress) -> Result<TokenTrainSummary> {
    let started = Instant::now();
    let mut train = read_token_corpus(&options.train, None, None)?;
    let file_columns = train.sentences[0].tokens[0].len();
    let mut dev = match &options.dev {
        Some(path) => read_token_corpus(path, Some(&train.tag_names), Some(file_columns))?,
        None => hold_out(&mut train, 20),
    };
    let (features, columns, mention_list) = if options.mentions {
        let list = add_mention_columns(&mut train, &mut dev);
        say(progress, format!("mention list: {} mentions of the training file (jackknifed)", list.len()));
        let columns = file_columns + mentions::MENTION_COLUMNS;
        // The default is built only without a --template: it fails where the file's default template
        // leaves no room for the mention lines, which a template file avoids.
        let default = || default_template_with_mentions(file_columns);
        (read_features_or(options.template.as_deref(), columns, default)?, columns, Some(list))
    } else {
        (read_token_features(options.template.as_deref(), file_columns)?, file_columns, None)
    };
    if train.word_positions {
        say(progress, "each token ends in its position in a word (the Weibo NER layout): read without it".into());
    }
    let scheme = detect_scheme(&train.tag_names, &train.tags);
    // Without a byte budget, IOB1 trains as IOB2: `B-X` opening every chunk lets a name's first word
    // learn apart from the rest. At 64 KiB the ninth tag's codebook columns cost more than that gains,
    // so IOB1 stays (both measured on CoNLL-2003 dev in docs/experiments.md).
    let retag = scheme == ChunkScheme::Iob1 && options.max_model_bytes.is_none();
    let (train, dev) = if retag {
        say(progress, "IOB1 tags retagged as IOB2 (B-X opens every chunk): the model labels in IOB2".into());
        let tag_names = iob2_tag_names(&train.tag_names);
        (retag_iob1_as_iob2(train, &tag_names), retag_iob1_as_iob2(dev, &tag_names))
    } else {
        (train, dev)
    };
    let model_scheme = if retag { ChunkScheme::Iob2 } else { scheme };
    let (custom, _) = scheme_constraints(model_scheme, &train.tag_names);
    say(
        progress,
        format!(
            "token-level CoNLL: {} sentences, {} tags ({:?}), {} input columns, {} templates",
            train.sentences.len(),
            train.tag_names.len(),
            scheme,
            columns,
            features.len()
        ),
    );
    let rows = match options.max_model_bytes {
        None => 1u32 << options.bucket_bits,
        Some(budget) => {
            let rows = largest_token_table(&train.tag_names, &features, budget, options.codebook)
                .with_context(|| format!("no table fits a model of {budget} bytes"))?;
            say(
                progress,
                format!(
                    "budget {budget} bytes: {rows} rows ({})",
                    if options.codebook { "one-byte codes into a 256-entry codebook of i8 rows" } else { "i8 weights" }
                ),
            );
            rows
        }
    };
    let codebook = options.max_model_bytes.is_some() && options.codebook;
    let hashes_per_feature = token_hashes_per_feature(options.hashes_per_feature, codebook, features.len())?;
    let features = Arc::new(features);
    let mut spec = FeatureSpec::with_rows(vec![decoder::internal::features::Template::Bias], rows);
    spec.tokens = Some(features.clone());
    spec.hashes_per_feature = hashes_per_feature;
    let mut model = FloatModel::zeros(train.tag_names.clone(), spec.clone());
    model.custom_constraints = custom;

    let featurized = featurize(&features, &spec, &train, options.config.min_feature_count);
    let dev_rows = featurize(&features, &spec, &dev, 1);
    let dev_score = |m: &FloatModel| dev_chunks(m, &dev_rows, &dev);
    let featurized = match options.teacher {
        Some(teacher) if options.max_model_bytes.is_some() => {
            let marginals = teacher_marginals(options, teacher, &features, &model, &train, &dev, progress);
            featurized.with_teacher(marginals, teacher.weight)
        }
        _ => featurized,
    };
    let mut outcome = train_featurized(&featurized, &dev_score, model.clone(), &options.config, progress);
    if options.ensemble > 1 {
        // The mean of the members' parameters: for a linear model, their score-averaging ensemble.
        for member in 1..options.ensemble {
            let config = TrainConfig { seed: options.config.seed + u64::from(member), ..options.config.clone() };
            let other = train_featurized(&featurized, &dev_score, model.clone(), &config, progress).model;
            let m = &mut outcome.model;
            for (mine, theirs) in [
                (&mut m.weights, &other.weights),
                (&mut m.transitions, &other.transitions),
                (&mut m.start, &other.start),
                (&mut m.end, &other.end),
            ] {
                for (a, b) in mine.iter_mut().zip(theirs) {
                    *a += b;
                }
            }
        }
        let n = options.ensemble as f32;
        let m = &mut outcome.model;
        for values in [&mut m.weights, &mut m.transitions, &mut m.start, &mut m.end] {
            values.iter_mut().for_each(|v| *v /= n);
        }
        say(progress, format!("ensemble of {}: dev {}", options.ensemble, dev_score(&outcome.model)));
    }
    if outcome.skipped_sentences > 0 {
        say(
            progress,
            format!("{} training sentences break the {scheme:?} constraints: skipped", outcome.skipped_sentences),
        );
    }

    let float_model = if codebook {
        // k-means from a few seeds; the clustering that scores best on dev is kept.
        let mut best: Option<(f64, FloatModel)> = None;
        let curvature =
            options.curvature_floor.map(|floor| crate::codebook::curvature(&outcome.model, &featurized, floor));
        for k in 0..KMEANS_SEEDS {
            let seed = options.config.seed.wrapping_add(k);
            let mut model = match &options.pull {
                Some(schedule) if schedule.epochs > 0 => {
                    crate::codebook_pull::pull_to_codebook(
                        outcome.model.clone(),
                        &featurized,
                        &dev_score,
                        &options.config,
                        schedule,
                        seed,
                        progress,
                    )
                    .model
                }
                _ => match &curvature {
                    Some(h) => crate::codebook::quantize_rows_by_curvature(outcome.model.clone(), h, seed),
                    None => crate::codebook::quantize_rows(outcome.model.clone(), &outcome.row_usage, seed),
                },
            };
            if options.codebook_epochs > 0 {
                let config = TrainConfig {
                    epochs: options.codebook_epochs,
                    lr: options.codebook_lr,
                    crf_lr: options.codebook_lr,
                    l1: 0.0,
                    l2: 0.0,
                    min_feature_count: 1,
                    average_from: 1,
                    ..options.config.clone()
                };
                model = crate::codebook_fit::fit_codebook(model, &featurized, &dev_score, &config, progress);
            }
            let score = dev_score(&model);
            say(
                progress,
                format!("codebook: rows clustered into 256 entries (k-means seed {seed}); float dev {score}"),
            );
            if best.as_ref().is_none_or(|(f1, _)| score.value() > *f1) {
                best = Some((score.value(), model));
            }
        }
        best.map(|(_, model)| model).context("no codebook")?
    } else {
        outcome.model.clone()
    };
    let mut best: Option<(f64, Vec<u8>, ConllReport)> = None;
    for params in quantize::candidates(&float_model, decoder::internal::format::WeightType::I8)? {
        let bytes = quantize::export(&float_model, params, "token-level CoNLL model")?;
        let model = Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("exported model does not load: {e}"))?;
        let report = score_tags(&dev, &label_corpus(&model, &dev.sentences)?);
        if best.as_ref().is_none_or(|(f1, _, _)| report.f1() > *f1) {
            best = Some((report.f1(), bytes, report));
        }
    }
    let Some((_, mut bytes, report)) = best else { bail!("no quantization candidate") };
    if let Some(list) = mention_list {
        // The list changes no score: the candidates are compared without it, the file keeps it.
        bytes = list.store_in_model(&bytes)?;
    }
    std::fs::write(&options.out, &bytes).with_context(|| format!("writing {}", options.out.display()))?;
    Ok(TokenTrainSummary {
        bytes,
        dev: report,
        scheme,
        seconds: started.elapsed().as_secs_f64(),
        templates: features.len(),
    })
}

/// The rows each feature reads, `requested` checked: 2 only in a codebook model, and only while the
/// `templates` still read at most the decoder's [`MAX_TEMPLATES`] rows a position.
fn token_hashes_per_feature(requested: u8, codebook: bool, templates: usize) -> Result<u8> {
    match requested {
        1 => Ok(1),
        2 if !codebook => {
            bail!("two rows per feature need a codebook model (--max-model-bytes, --weight-type codebook)")
        }
        2 if 2 * templates > MAX_TEMPLATES => bail!(
            "{templates} templates reading 2 rows each exceed the decoder's {MAX_TEMPLATES} rows a position: \
             use at most {} templates with two rows per feature",
            MAX_TEMPLATES / 2
        ),
        2 => Ok(2),
        other => bail!("{other} rows per feature: 1 or 2 are possible"),
    }
}

/// The featurized `corpus` for a table laid out as `spec` says (each feature's hash, then with two rows
/// per feature its second hash, as the decoder reads them).
fn featurize(features: &TokenFeatures, spec: &FeatureSpec, corpus: &TokenCorpus, min_count: u32) -> FeaturizedCorpus {
    let hashes: Vec<Vec<u32>> = corpus
        .sentences
        .par_iter()
        .map(|s| {
            let hashes = features.hashes(&s.tokens);
            if spec.hashes_per_feature == 1 {
                return hashes;
            }
            hashes.into_iter().flat_map(|h| feature_hashes(h, spec.hashes_per_feature)).collect()
        })
        .collect();
    let tags: Vec<&[u8]> = corpus.tags.iter().map(Vec::as_slice).collect();
    FeaturizedCorpus::from_hashes(hashes, &tags, spec.rows, spec.rows_per_position(), min_count)
}

/// The float model's dev score (entity F1 by conlleval's rules) on `dev`, featurized as `dev_rows`.
fn dev_chunks(m: &FloatModel, dev_rows: &FeaturizedCorpus, dev: &TokenCorpus) -> DevScore {
    let (_, constraints) = m.constraints();
    let predicted: Vec<Vec<u8>> = (0..dev_rows.len())
        .into_par_iter()
        .map(|i| {
            let mut emissions = Vec::new();
            m.emissions(dev_rows.sentence(i).rows, &mut emissions);
            m.viterbi(&emissions, &constraints)
        })
        .collect();
    DevScore::Chunks(score_tags(dev, &predicted).chunks)
}

/// Trains the teacher of a budget model (`student`'s tags and constraints, a table of
/// `2^options.bucket_bits` rows, the same loop settings) and returns its path distribution on each
/// training sentence, its scores divided by the temperature.
fn teacher_marginals(
    options: &TokenTrainOptions,
    teacher: SoftTeacher,
    features: &Arc<TokenFeatures>,
    student: &FloatModel,
    train: &TokenCorpus,
    dev: &TokenCorpus,
    progress: &mut dyn Progress,
) -> Vec<Marginals> {
    let mut spec = FeatureSpec::with_rows(vec![decoder::internal::features::Template::Bias], 1 << options.bucket_bits);
    spec.tokens = Some(features.clone());
    let mut model = FloatModel::zeros(student.tag_names.clone(), spec.clone());
    model.custom_constraints = student.custom_constraints;
    let train_rows = featurize(features, &spec, train, options.config.min_feature_count);
    let dev_rows = featurize(features, &spec, dev, 1);
    let dev_score = |m: &FloatModel| dev_chunks(m, &dev_rows, dev);
    say(progress, format!("teacher: {} rows, no budget", spec.rows));
    let outcome = train_featurized(&train_rows, &dev_score, model, &options.config, progress);
    let teacher_model = outcome.model;
    say(progress, format!("teacher: float dev {}", dev_score(&teacher_model)));
    let (_, constraints) = teacher_model.constraints();
    (0..train_rows.len())
        .into_par_iter()
        .map(|i| teacher_model.marginals(train_rows.sentence(i).rows, &constraints, teacher.temperature))
        .collect()
}

/// The `B-X` of an `I-X` tag name, spelt as the `I-X` is (`b_x` for `i_x`); `None` for other tags.
fn begin_name(name: &str) -> Option<String> {
    match parse_tag(name) {
        Some((Role::Inside, _)) => Some(format!("{}{}", if name.starts_with('i') { 'b' } else { 'B' }, &name[1..])),
        _ => None,
    }
}

/// The IOB2 tag names of IOB1 `names`: each `I-X` with its `B-X`, `O` first, then sorted as
/// [`token_corpus`] sorts them.
pub fn iob2_tag_names(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = names.iter().cloned().chain(names.iter().filter_map(|n| begin_name(n))).collect();
    out.sort_by(|a, b| (a != "O", a).cmp(&(b != "O", b)));
    out.dedup();
    out
}

/// `corpus` (IOB1: `I-X` opens a chunk first, after `O` or after another type, `B-X` only right after
/// an `X` chunk) with the same chunks in IOB2 (`B-X` opens every chunk), as indices into `tag_names`,
/// the [`iob2_tag_names`] of its tags.
pub fn retag_iob1_as_iob2(corpus: TokenCorpus, tag_names: &[String]) -> TokenCorpus {
    let index = |name: &str| tag_names.iter().position(|n| n == name).unwrap_or(0) as u8;
    // Per IOB1 tag: its new index, that of the tag opening its chunk, and its type if it is a chunk's.
    let as_is: Vec<u8> = corpus.tag_names.iter().map(|n| index(n)).collect();
    let opening: Vec<u8> = corpus.tag_names.iter().map(|n| begin_name(n).map_or(index(n), |b| index(&b))).collect();
    let parsed: Vec<Option<(Role, &str)>> = corpus.tag_names.iter().map(|n| parse_tag(n)).collect();
    let chunk_type = |tag: u8| match parsed[usize::from(tag)] {
        Some((Role::Begin | Role::Inside, kind)) => Some(kind),
        _ => None,
    };
    let tags = corpus
        .tags
        .iter()
        .map(|tags| {
            (0..tags.len())
                .map(|i| {
                    let tag = usize::from(tags[i]);
                    // Only `I-X` right after an `X` chunk's tag continues it.
                    let continues = matches!(parsed[tag], Some((Role::Inside, _)))
                        && i > 0
                        && chunk_type(tags[i - 1]) == chunk_type(tags[i]);
                    if continues {
                        as_is[tag]
                    } else {
                        opening[tag]
                    }
                })
                .collect()
        })
        .collect();
    TokenCorpus { tag_names: tag_names.to_vec(), tags, ..corpus }
}

/// Moves every `every`-th sentence of `corpus` into a dev corpus.
fn hold_out(corpus: &mut TokenCorpus, every: usize) -> TokenCorpus {
    let (mut keep, mut dev) = (
        TokenCorpus { sentences: vec![], tags: vec![], ..corpus.clone() },
        TokenCorpus { sentences: vec![], tags: vec![], ..corpus.clone() },
    );
    for (i, (s, t)) in corpus.sentences.drain(..).zip(corpus.tags.drain(..)).enumerate() {
        let target = if i % every == every - 1 { &mut dev } else { &mut keep };
        target.sentences.push(s);
        target.tags.push(t);
    }
    *corpus = keep;
    dev
}

/// Scores predicted tag indices against a corpus's gold tags by conlleval's rules.
pub fn score_tags(corpus: &TokenCorpus, predicted: &[Vec<u8>]) -> ConllReport {
    let mut scorer = ChunkScorer::new();
    for (gold, guess) in corpus.tags.iter().zip(predicted) {
        let name = |t: &u8| corpus.tag_names[usize::from(*t)].as_str();
        scorer.add_sentence(gold.iter().map(name).zip(guess.iter().map(name)));
    }
    scorer.finish()
}

/// Labels every sentence with a token-level model (the decoder's integer path), in parallel.
pub fn label_corpus(model: &Model<'_>, sentences: &[ConllSentence]) -> Result<Vec<Vec<u8>>> {
    if !model.is_token_level() {
        bail!("the model is not a token-level model (train one on a CoNLL column file)");
    }
    let l = model.num_tags();
    sentences
        .par_iter()
        .map(|s| {
            let mut back = vec![0u8; backpointer_bytes(l, s.len())];
            let mut tags = vec![0u8; s.len()];
            label_tokens(model, s.tokens.as_slice(), &mut back, &mut tags)
                .map_err(|e| anyhow::anyhow!("labelling failed: {e}"))?;
            Ok(tags)
        })
        .collect()
}

/// The input columns a token-level model reads.
pub fn model_columns(model: &Model<'_>) -> Option<usize> {
    use decoder::internal::ModelInternals;
    model.token_templates().map(|t| t.columns())
}

/// The tag names of a model.
pub fn model_tags(model: &Model<'_>) -> Vec<String> {
    model.tag_names().map(str::to_string).collect()
}

/// Labels a gold CoNLL file with a token-level model and scores it by conlleval's rules.
///
/// A gold tag the model does not have (CoNLL-2000's test set has `I-LST`, its training set only
/// `B-LST`) is scored as conlleval scores it: its chunks count as gold chunks the model missed. For a
/// model with a mention list (`train --mention-list`), the mention columns are computed from the list
/// the model file holds and follow the file's own, as in training.
pub fn evaluate_file(model: &Model<'_>, path: &Path) -> Result<ConllReport> {
    let mentions = MentionList::of_model(model)?;
    let bytes = read_bytes(path)?;
    let name = path.display().to_string();
    let mut file = parse_conll_columns(&bytes, &name, TagColumn::Last)?;
    let mut tags = model_tags(model);
    let mut extra: Vec<&String> = file.sentences.iter().flat_map(|s| &s.tags).filter(|t| !tags.contains(t)).collect();
    extra.sort();
    extra.dedup();
    tags.extend(extra.into_iter().cloned());
    if let Some(list) = &mentions {
        let columns = input_columns(model, mentions.as_ref())?;
        if let Some(first) = file.sentences.first().filter(|_| file.columns != columns + 1) {
            let line = first.lines[0];
            bail!(
                "{name}:{line}: {} columns, but the model reads {columns} and a tag (before the mention columns \
                 that its list adds)",
                file.columns
            );
        }
        list.add_columns(&mut file.sentences, false);
        file.columns += mentions::MENTION_COLUMNS;
    }
    let corpus = token_corpus(file, &name, Some(&tags), model_columns(model))?;
    let predicted = label_corpus(model, &corpus.sentences)?;
    Ok(score_tags(&corpus, &predicted))
}

/// The input columns a file for `model` has: those the model reads, less the mention columns when it
/// comes with its mention list (which computes them).
fn input_columns(model: &Model<'_>, mentions: Option<&MentionList>) -> Result<usize> {
    let columns = model_columns(model).context("the model is not a token-level model")?;
    match mentions {
        None => Ok(columns),
        Some(_) => columns.checked_sub(mentions::MENTION_COLUMNS).filter(|&c| c > 0).with_context(|| {
            format!("the model reads {columns} input columns: too few for a model with a mention list")
        }),
    }
}

/// `path`'s lines with the predicted tag appended as one more column (blank lines as they are,
/// `-DOCSTART-` lines with `O`): what conlleval reads. The file may or may not have a tag column: it has one when it has
/// one column more than the model reads. For a model with a mention list, the model reads the file's
/// columns and the mention columns computed from the list it holds (the output has the file's columns
/// only).
pub fn label_file(model: &Model<'_>, path: &Path) -> Result<String> {
    let mentions = MentionList::of_model(model)?;
    let columns = input_columns(model, mentions.as_ref())?;
    let bytes = read_bytes(path)?;
    let name = path.display().to_string();
    let probe = parse_conll_columns(&bytes, &name, TagColumn::Absent)?;
    let with_list = if mentions.is_some() { " before the mention columns that its list adds" } else { "" };
    let tag_column = match probe.columns {
        0 => TagColumn::Absent,
        c if c == columns => TagColumn::Absent,
        c if c == columns + 1 => TagColumn::Last,
        c => bail!("{name}: {c} columns, but the model reads {columns}{with_list} (and an optional tag column)"),
    };
    let mut file = parse_conll_columns(&bytes, &name, tag_column)?;
    if let Some(list) = &mentions {
        list.add_columns(&mut file.sentences, false);
    }
    let predicted = label_corpus(model, &file.sentences)?;
    let names = model_tags(model);
    // Map each token's line number to its tag.
    let mut by_line = std::collections::HashMap::new();
    for (sentence, tags) in file.sentences.iter().zip(&predicted) {
        for (line, tag) in sentence.lines.iter().zip(tags) {
            by_line.insert(*line, names[usize::from(*tag)].as_str());
        }
    }
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes))?;
    let mut out = String::with_capacity(text.len() + by_line.len() * 8);
    for (index, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push_str(line);
        if let Some(tag) = by_line.get(&(index + 1)) {
            out.push(' ');
            out.push_str(tag);
        } else if line.split_whitespace().next() == Some(crate::conll::DOCUMENT_START) {
            // conlleval wants every non-blank line to have the same number of columns.
            out.push_str(" O");
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoder::internal::tokens::feature_hash;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn template_files_parse_like_crfpp_and_errors_name_the_line() {
        let text = "# Unigram\nU00:%x[-1,0]\nU01:%x[0,0]/%x[0,1]\n\nU02:%suffix3[0,0]\n# Bigram\nB\n";
        let features = parse_template_file(text, "t.tmpl", 2).unwrap();
        assert_eq!(features.templates, "U00:%x[-1,0]\nU01:%x[0,0]/%x[0,1]\nU02:%suffix3[0,0]");
        assert_eq!(features.len(), 3);
        let error = |text: &str| parse_template_file(text, "t.tmpl", 2).unwrap_err().to_string();
        assert!(error("U00:%x[0,0]\nU01:%x[0,2]\n").starts_with("t.tmpl:2: \"U01:%x[0,2]\", byte 5: column"));
        assert!(error("\n\nU00:%foo[0,0]").starts_with("t.tmpl:3:"), "{}", error("\n\nU00:%foo[0,0]"));
        assert!(error("B01:%x[0,0]").contains("t.tmpl:1:"));
        assert!(error("X00:%x[0,0]").starts_with("t.tmpl:1:"));
        assert!(error("# nothing\nB\n").contains("0 unigram templates"));
        let many: String = (0..33).map(|i| format!("U{i}:%x[0,0]\n")).collect();
        assert!(error(&many).contains("33 unigram templates"));
    }

    #[test]
    fn the_documented_conll2003_template_is_the_default() {
        // docs/experiments.md derives its 64 KiB template experiments from this file.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/templates/conll2003-31.tpl");
        let text = std::fs::read_to_string(path).unwrap();
        let features = parse_template_file(&text, path, 3).unwrap();
        assert_eq!(features.templates, default_template(3));
        assert_eq!(features.len(), 31);
    }

    #[test]
    fn a_budget_gets_the_largest_table_that_fits() {
        let tags = names(&["O", "B-LOC", "B-MISC", "B-ORG", "I-LOC", "I-MISC", "I-ORG", "I-PER"]);
        let features = TokenFeatures::new(3, default_template(3)).unwrap();
        // Codebook: any row count, one byte each; i8: a power of two of 8-byte rows.
        let codes = largest_token_table(&tags, &features, 65536, true).unwrap();
        assert!((60_000..65_536).contains(&codes), "{codes}");
        assert_eq!(largest_token_table(&tags, &features, 65536, false), Some(4096));
        assert_eq!(largest_token_table(&tags, &features, 1000, true), None);
    }

    #[test]
    fn default_templates_are_valid_for_any_column_count() {
        for columns in 1..=6 {
            let features = TokenFeatures::new(columns, default_template(columns)).unwrap();
            assert!(features.len() <= MAX_TEMPLATES && features.len() >= 20, "{columns}: {}", features.len());
        }
    }

    #[test]
    fn trainer_features_are_the_decoders_hashes_of_crfpp_strings() {
        let features = TokenFeatures::new(2, "U00:%x[-1,0]/%x[0,1]\nU01:%shape[0,0]".into()).unwrap();
        let tokens = vec![vec!["Peter".to_string(), "NNP".to_string()], vec!["runs".into(), "VBZ".into()]];
        let expected: Vec<u32> = ["U00:_B-1/NNP", "U01:Xxxxx", "U00:Peter/VBZ", "U01:xxxx"]
            .iter()
            .map(|s| feature_hash(s.as_bytes()))
            .collect();
        assert_eq!(features.hashes(&tokens), expected);
    }

    #[test]
    fn iob1_is_retagged_as_iob2_with_the_same_chunks() {
        let iob1 = names(&["O", "B-PER", "I-LOC", "I-ORG", "I-PER"]);
        let tag_names = iob2_tag_names(&iob1);
        assert_eq!(tag_names, names(&["O", "B-LOC", "B-ORG", "B-PER", "I-LOC", "I-ORG", "I-PER"]));
        let index = |list: &[String], tags: &[&str]| -> Vec<u8> {
            tags.iter().map(|t| list.iter().position(|n| n == t).unwrap() as u8).collect()
        };
        let sentences = [
            // Two people side by side, a place, an organisation of two words after it.
            (
                vec!["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG"],
                vec!["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG"],
            ),
            (vec!["O", "I-LOC"], vec!["O", "B-LOC"]),
        ];
        let corpus = TokenCorpus {
            tag_names: iob1.clone(),
            sentences: sentences
                .iter()
                .map(|(tags, _)| ConllSentence {
                    tokens: vec![vec!["w".to_string()]; tags.len()],
                    tags: vec![],
                    lines: vec![0; tags.len()],
                })
                .collect(),
            tags: sentences.iter().map(|(tags, _)| index(&iob1, tags)).collect(),
            word_positions: false,
        };
        let retagged = retag_iob1_as_iob2(corpus.clone(), &tag_names);
        assert_eq!(retagged.tag_names, tag_names);
        for ((_, expected), got) in sentences.iter().zip(&retagged.tags) {
            assert_eq!(got, &index(&tag_names, expected));
        }
        // The same chunks by conlleval's rules: the IOB1 gold scored against the IOB2 tags.
        let mut scorer = ChunkScorer::new();
        for (gold, guess) in corpus.tags.iter().zip(&retagged.tags) {
            scorer.add_sentence(
                gold.iter()
                    .map(|&t| iob1[usize::from(t)].as_str())
                    .zip(guess.iter().map(|&t| tag_names[usize::from(t)].as_str())),
            );
        }
        let report = scorer.finish();
        assert_eq!(
            (report.f1(), report.chunks.gold, report.chunks.guessed),
            (100.0, 5, 5),
            "{}",
            report.render_conlleval()
        );
    }

    #[test]
    fn schemes_are_detected_from_names_and_sequences() {
        let tags = names(&["O", "B-PER", "I-PER"]);
        assert_eq!(detect_scheme(&tags, &[vec![1, 2, 0], vec![0, 1]]), ChunkScheme::Iob2);
        assert_eq!(detect_scheme(&tags, &[vec![1, 2, 0], vec![0, 2]]), ChunkScheme::Iob1);
        assert_eq!(detect_scheme(&tags, &[vec![2, 1]]), ChunkScheme::Iob1);
        // IOB2 with one slip (`I-X` after `O`) among chunks that `B-X` opens stays IOB2.
        assert_eq!(detect_scheme(&tags, &[vec![1, 2, 0, 2], vec![1, 0, 1]]), ChunkScheme::Iob2);
        assert_eq!(detect_scheme(&names(&["O", "B-X", "E-X", "S-X"]), &[]), ChunkScheme::Bioes);
        assert_eq!(detect_scheme(&names(&["NN", "VB"]), &[]), ChunkScheme::Other);
        // IOB1 is stored as custom constraints (its names are IOB2's), IOB2 derived from the names.
        let (custom, c) = scheme_constraints(ChunkScheme::Iob1, &tags);
        assert!(custom.is_some() && c.allows(0, 2) && !c.allows(0, 1));
        let (custom, c) = scheme_constraints(ChunkScheme::Iob2, &tags);
        assert!(custom.is_none() && !c.allows(0, 2) && c.allows(0, 1));
    }

    #[test]
    fn word_level_conll_is_told_from_segmented_text_and_character_conll() {
        assert!(is_token_level(b"-DOCSTART- -X- O\n\nEU NNP B-ORG\nrejects VBZ O\n"));
        assert!(is_token_level(b"Peter B-PER\nruns O\n"));
        assert!(!is_token_level("中\tB\n文\tE\n".as_bytes()));
        // One character a line, but more tags than a character model may have: token-level.
        let many: String = (0..17).map(|i| format!("中\tB-T{i}\n")).collect();
        assert!(is_token_level(many.as_bytes()));
        assert!(!is_token_level(many.lines().take(16).map(|l| format!("{l}\n")).collect::<String>().as_bytes()));
        assert!(!is_token_level("我们 在 北京 。\n他 说 。\n".as_bytes()));
    }

    /// A synthetic IOB1 corpus: names (capitalised, from a list) are PER, cities LOC, the rest O; two
    /// adjacent names are separated by B-PER on the second.
    fn synthetic(sentences: usize, seed: u64) -> String {
        let people = ["Anna", "Boris", "Clara", "Dmitri", "Elena"];
        let places = ["Paris", "Lyon", "Oslo", "Rome"];
        let words = ["the", "met", "in", "and", "saw", "went", "to", "today"];
        let mut rng = crate::train::SplitMix64::new(seed);
        let mut out = String::from("-DOCSTART- -X- O\n\n");
        for _ in 0..sentences {
            let mut previous_person = false;
            for _ in 0..6 + rng.next_u64() % 5 {
                let r = rng.next_u64();
                let (word, pos, tag) = match r % 6 {
                    0 => {
                        let tag = if previous_person { "B-PER" } else { "I-PER" };
                        (people[(r >> 8) as usize % people.len()], "NNP", tag)
                    }
                    1 => (places[(r >> 8) as usize % places.len()], "NNP", "I-LOC"),
                    _ => (words[(r >> 8) as usize % words.len()], "X", "O"),
                };
                previous_person = tag.ends_with("PER");
                out.push_str(&format!("{word} {pos} {tag}\n"));
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn training_recovers_a_synthetic_tagging_and_label_adds_a_column() {
        let dir = tempfile::tempdir().unwrap();
        let (train_path, test_path, model_path) =
            (dir.path().join("train.conll"), dir.path().join("test.conll"), dir.path().join("m.crfm"));
        std::fs::write(&train_path, synthetic(300, 1)).unwrap();
        std::fs::write(&test_path, synthetic(60, 2)).unwrap();
        let options = TokenTrainOptions {
            train: train_path.clone(),
            dev: None,
            template: None,
            out: model_path.clone(),
            bucket_bits: 14,
            max_model_bytes: None,
            codebook: false,
            hashes_per_feature: 1,
            codebook_epochs: 0,
            codebook_lr: 0.0,
            pull: None,
            curvature_floor: None,
            ensemble: 1,
            teacher: None,
            mentions: false,
            config: TrainConfig { epochs: 6, lr: 0.05, crf_lr: 1.0, ..Default::default() },
        };
        let summary = train_tokens(&options, &mut crate::pipeline::Silent).unwrap();
        assert_eq!(summary.scheme, ChunkScheme::Iob1);
        let bytes = std::fs::read(&model_path).unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        assert!(model.is_token_level());
        assert_eq!(model.format_version(), 6);
        // Trained as IOB2 (B-X opens every chunk), whose constraints follow from the names.
        assert_eq!(model.scheme(), decoder::TagScheme::Bio);
        assert_eq!(model_tags(&model), names(&["O", "B-LOC", "B-PER", "I-LOC", "I-PER"]));
        let report = evaluate_file(&model, &test_path).unwrap();
        assert_eq!(report.f1(), 100.0, "{}", report.render_conlleval());
        assert!(report.by_type.contains_key("PER") && report.by_type.contains_key("LOC"));

        let labelled = label_file(&model, &test_path).unwrap();
        let input = std::fs::read_to_string(&test_path).unwrap();
        assert_eq!(labelled.lines().count(), input.lines().count());
        // The gold chunks in IOB2, by line.
        let gold = read_token_corpus(&test_path, None, None).unwrap();
        let iob2 = retag_iob1_as_iob2(gold.clone(), &iob2_tag_names(&gold.tag_names));
        let mut gold_iob2 = std::collections::HashMap::new();
        for (sentence, tags) in gold.sentences.iter().zip(&iob2.tags) {
            for (line, &tag) in sentence.lines.iter().zip(tags) {
                gold_iob2.insert(*line, iob2.tag_names[usize::from(tag)].as_str());
            }
        }
        assert!(gold_iob2.values().any(|t| t.starts_with("I-")) && gold_iob2.values().any(|t| *t == "B-LOC"));
        for (number, (out, line)) in labelled.lines().zip(input.lines()).enumerate() {
            if line.is_empty() {
                assert!(out.is_empty());
            } else {
                // One more column: the prediction, here the gold tag in IOB2 (or O for -DOCSTART-).
                let (rest, tag) = out.rsplit_once(' ').unwrap();
                assert_eq!(rest, line);
                assert_eq!(tag, *gold_iob2.get(&(number + 1)).unwrap_or(&"O"), "{out}");
            }
        }
        // Without the gold column, the same predictions.
        let untagged: String = input
            .lines()
            .map(|l| l.rsplit_once(' ').map_or(String::new(), |(rest, _)| rest.to_string()) + "\n")
            .collect();
        let untagged_path = dir.path().join("untagged.conll");
        std::fs::write(&untagged_path, &untagged).unwrap();
        let relabelled = label_file(&model, &untagged_path).unwrap();
        for (a, b) in relabelled.lines().zip(labelled.lines()) {
            assert_eq!(a.rsplit(' ').next(), b.rsplit(' ').next());
        }

        // With a byte budget the model keeps IOB1 (its tags and stored constraints).
        let budget = TokenTrainOptions { max_model_bytes: Some(16_384), codebook: true, ..options };
        train_tokens(&budget, &mut crate::pipeline::Silent).unwrap();
        let bytes = std::fs::read(&model_path).unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        assert_eq!(model.scheme(), decoder::TagScheme::Custom);
        assert_eq!(model_tags(&model), names(&["O", "B-PER", "I-LOC", "I-PER"]));
        assert!(evaluate_file(&model, &test_path).unwrap().f1() > 90.0);

        // Two rows per feature (the sum of two codebook entries): the decoder reads both, and the model
        // still recovers the tagging; without a codebook, or with too many templates, a clear error.
        let few_templates = dir.path().join("few.tpl");
        std::fs::write(&few_templates, "U00:%x[-1,0]\nU01:%x[0,0]\nU02:%x[1,0]\nU03:%x[0,1]\n").unwrap();
        let two_rows = TokenTrainOptions { hashes_per_feature: 2, template: Some(few_templates), ..budget.clone() };
        train_tokens(&two_rows, &mut crate::pipeline::Silent).unwrap();
        let two_rows_bytes = std::fs::read(&model_path).unwrap();
        let model = Model::from_bytes(&two_rows_bytes).unwrap();
        assert_eq!(crate::quantize::dequantize(&model).unwrap().features.hashes_per_feature, 2);
        assert!(evaluate_file(&model, &test_path).unwrap().f1() > 90.0);
        let direct = TokenTrainOptions { codebook: false, ..two_rows.clone() };
        let error = train_tokens(&direct, &mut crate::pipeline::Silent).unwrap_err().to_string();
        assert!(error.contains("two rows per feature need a codebook model"), "{error}");
        let three = TokenTrainOptions { hashes_per_feature: 3, ..two_rows.clone() };
        let error = train_tokens(&three, &mut crate::pipeline::Silent).unwrap_err().to_string();
        assert!(error.contains("3 rows per feature: 1 or 2 are possible"), "{error}");
        let many_templates = dir.path().join("many.tpl");
        let lines: Vec<String> = (0..17).map(|i| format!("U{i:02}:%x[{},0]/%x[{},1]", i % 5 - 2, i / 5 - 1)).collect();
        std::fs::write(&many_templates, lines.join("\n")).unwrap();
        let wide = TokenTrainOptions { template: Some(many_templates), ..two_rows.clone() };
        let error = train_tokens(&wide, &mut crate::pipeline::Silent).unwrap_err().to_string();
        assert!(error.contains("17 templates reading 2 rows each exceed"), "{error}");

        // Distilled from the model without a budget (trained first), the budget model still recovers
        // the tagging, and the teacher changed its training.
        let teacher = SoftTeacher { weight: 0.5, temperature: 2.0 };
        let distilled = TokenTrainOptions { teacher: Some(teacher), ..budget };
        train_tokens(&distilled, &mut crate::pipeline::Silent).unwrap();
        let distilled_bytes = std::fs::read(&model_path).unwrap();
        assert_ne!(distilled_bytes, bytes);
        let model = Model::from_bytes(&distilled_bytes).unwrap();
        assert_eq!(model_tags(&model), names(&["O", "B-PER", "I-LOC", "I-PER"]));
        assert!(evaluate_file(&model, &test_path).unwrap().f1() > 90.0);
    }

    /// A synthetic IOB2 corpus of 12 entity types (25 tags): chunks of 1 to 3 words of their type's
    /// vocabulary, `O` words between them, and sometimes two chunks of different types side by side.
    fn synthetic_wide(sentences: usize, seed: u64) -> String {
        let mut rng = crate::train::SplitMix64::new(seed);
        let mut out = String::new();
        for _ in 0..sentences {
            for _ in 0..3 + rng.next_u64() % 4 {
                let r = rng.next_u64();
                if r % 3 == 0 {
                    out.push_str(&format!("o{} O\n", (r >> 8) % 6));
                }
                let kind = (r >> 16) % 12;
                for i in 0..1 + (r >> 24) % 3 {
                    let tag = if i == 0 { "B" } else { "I" };
                    out.push_str(&format!("e{kind}w{} {tag}-T{kind}\n", (r >> (32 + 2 * i)) % 3));
                }
            }
            out.push('\n');
        }
        out
    }

    /// More than 16 tags train and decode, and whatever the input (here tokens of every type in random
    /// order, and unseen ones), no label sequence has an `I-X` after `O`, after another type, or first.
    #[test]
    fn a_25_tag_iob2_corpus_trains_and_decoding_obeys_its_masks() {
        let dir = tempfile::tempdir().unwrap();
        let (train_path, test_path, model_path) =
            (dir.path().join("train.conll"), dir.path().join("test.conll"), dir.path().join("m.crfm"));
        std::fs::write(&train_path, synthetic_wide(400, 3)).unwrap();
        std::fs::write(&test_path, synthetic_wide(80, 4)).unwrap();
        let options = TokenTrainOptions {
            train: train_path,
            dev: None,
            template: None,
            out: model_path.clone(),
            bucket_bits: 14,
            max_model_bytes: None,
            codebook: false,
            hashes_per_feature: 1,
            codebook_epochs: 0,
            codebook_lr: 0.0,
            pull: None,
            curvature_floor: None,
            ensemble: 1,
            teacher: None,
            mentions: false,
            config: TrainConfig { epochs: 6, lr: 0.05, crf_lr: 1.0, ..Default::default() },
        };
        let summary = train_tokens(&options, &mut crate::pipeline::Silent).unwrap();
        assert_eq!(summary.scheme, ChunkScheme::Iob2);
        let bytes = std::fs::read(&model_path).unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        assert_eq!(model.num_tags(), 25);
        let report = evaluate_file(&model, &test_path).unwrap();
        // Two chunks of one type side by side read like one: not every chunk can be recovered.
        assert!(report.f1() > 80.0, "{}", report.render_conlleval());

        let mut rng = crate::train::SplitMix64::new(5);
        let sentences: Vec<ConllSentence> = (0..300)
            .map(|_| {
                let len = 1 + rng.next_u64() as usize % 12;
                let tokens = (0..len)
                    .map(|_| {
                        let r = rng.next_u64();
                        vec![match r % 4 {
                            0 => format!("o{}", (r >> 8) % 6),
                            1 => format!("unseen{}", (r >> 8) % 50),
                            _ => format!("e{}w{}", (r >> 8) % 12, (r >> 16) % 3),
                        }]
                    })
                    .collect();
                ConllSentence { tokens, tags: vec![], lines: vec![0; len] }
            })
            .collect();
        let names = model_tags(&model);
        let mut inside_continuations = 0;
        for tags in label_corpus(&model, &sentences).unwrap() {
            for (i, &tag) in tags.iter().enumerate() {
                let Some(kind) = names[usize::from(tag)].strip_prefix("I-") else { continue };
                let previous = i.checked_sub(1).map(|p| names[usize::from(tags[p])].as_str());
                let continues = previous.is_some_and(|p| p.get(2..) == Some(kind) && p != "O");
                assert!(continues, "{:?}", tags.iter().map(|&t| names[usize::from(t)].as_str()).collect::<Vec<_>>());
                inside_continuations += 1;
            }
        }
        assert!(inside_continuations > 0);
    }

    #[test]
    fn bad_input_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let error = |path: &Path, tags: Option<&[String]>| read_token_corpus(path, tags, None).unwrap_err().to_string();
        let ragged = write("ragged.conll", b"a X O\nb X O\n\nc O\n");
        assert!(error(&ragged, None).contains("ragged.conll:4: 2 columns"), "{}", error(&ragged, None));
        let utf8 = write("utf8.conll", b"a X O\nb\xFF X O\n");
        assert!(error(&utf8, None).contains("utf8.conll:2: invalid UTF-8"));
        let empty = write("empty.conll", b"\n\n-DOCSTART- -X- O\n\n");
        assert!(error(&empty, None).contains("empty.conll: no sentence"));
        let unseen = write("unseen.conll", b"a X O\n\nb X B-FOO\n");
        let known = names(&["O", "I-PER"]);
        assert!(error(&unseen, Some(&known)).contains("unseen.conll:3: tag \"B-FOO\" is not one of the model's tags"));
        let columns = read_token_corpus(&unseen, None, Some(3)).unwrap_err().to_string();
        assert!(columns.contains("unseen.conll:1: 2 input columns"), "{columns}");
        let many = write(
            "many.conll",
            (0..33).map(|i| format!("w X T{i}\n")).collect::<String>().replace('T', "B-T").as_bytes(),
        );
        assert!(error(&many, None).contains("33 distinct tags, but a model has at most 32"), "{}", error(&many, None));
    }
}

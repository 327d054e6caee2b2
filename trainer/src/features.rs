//! Feature extraction for training, through the decoder's own templates, context windows, hash and
//! bucket function, so a feature lands in the same weight row at training and at decoding time.

use std::sync::Arc;

use decoder::internal::features::{feature_hashes, row, template_hashes, Template, DEFAULT_TEMPLATES};
use decoder::internal::lexicon::{NoWords, WordSet, WordSpan};
use decoder::internal::text::{normalize, NORMALIZE_WIDTH};
use rayon::prelude::*;

use crate::corpus::Sentence;
use crate::crf::Marginals;
use crate::lexicon::TrainingLexicon;

/// Which features a model uses: templates, table size and character normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureSpec {
    /// Feature templates, in model order (the hash depends on the position in this list).
    pub templates: Vec<Template>,
    /// Rows of the hashed weight table (a power of two for the direct-weight model kind).
    pub rows: u32,
    /// Rows each feature reads and sums (1, or 2 with `decoder::internal::features::second_hash`); 2 only in
    /// codebook models.
    pub hashes_per_feature: u8,
    /// `decoder::internal::text::NORMALIZE_*` flags applied to characters before hashing.
    pub normalization: u8,
    /// The word list the lexicon templates read (`None`: a model without one, whose lexicon templates,
    /// if any, would read no words).
    pub lexicon: Option<Arc<TrainingLexicon>>,
    /// The token-level templates of a model over CoNLL columns (`None`: a character model, whose
    /// features are `templates`).
    pub tokens: Option<Arc<crate::token::TokenFeatures>>,
}

/// The lexicon templates a model with a word list gets: the longest listed word starting at, ending at
/// and spanning the current character, and (the last) the longest containing it, its length and the
/// character's place in it, together with the character.
///
/// The last one helped the unlimited CTB6 model (more than without the character, or conjoined with the
/// neighbouring characters too), not PKU's, and barely the microcontroller-sized ones, for markedly
/// more Cortex-M3 instructions a character: so only tables of more than [`COMPACT_MAX_ROWS`] rows (host
/// models) get it ([`lexicon_templates`]). trainer/README.md, *Word list*, gives the measurements.
pub const LEXICON_TEMPLATES: [Template; 4] = [
    Template::Lexicon(WordSpan::Starting),
    Template::Lexicon(WordSpan::Ending),
    Template::Lexicon(WordSpan::Inside),
    Template::LexiconChar(WordSpan::Covering, 0),
];

/// The lexicon templates of a model with a word list and a table of `rows` rows: all of
/// [`LEXICON_TEMPLATES`] for a large (host) table, the first three for a microcontroller-sized one.
pub fn lexicon_templates(rows: u32) -> &'static [Template] {
    if rows > COMPACT_MAX_ROWS {
        &LEXICON_TEMPLATES
    } else {
        &LEXICON_TEMPLATES[..CORE_LEXICON_TEMPLATES]
    }
}

/// How many of [`LEXICON_TEMPLATES`] every model with a word list gets; the rest are dropped where the
/// table is small or the decoder's row reads a position would run out.
pub const CORE_LEXICON_TEMPLATES: usize = 3;

/// Largest table for which `Auto` picks the compact set: on PKU with four tags it beat the basic set
/// at every size tried from 2^15 to 2^20 rows, by less the larger the table.
pub const COMPACT_MAX_ROWS: u32 = 1 << 20;

/// Named template sets for `--templates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TemplateSet {
    /// Compact for tables of at most 2^20 rows, standard otherwise.
    #[default]
    Auto,
    /// 8 templates for small tables, where fewer features collide less: unigrams -1..1, bigrams (-1,0)
    /// and (0,1), the classes at 0 and -1..1, and a bias.
    Compact,
    /// `decoder::internal::features::DEFAULT_TEMPLATES` (13): character unigrams at -2..2, the bigrams (-2,-1),
    /// (-1,0), (0,1), (1,2) and (-1,1), the class of the current character and of the window -1..1, and
    /// a bias.
    Basic,
    /// The basic set plus the centred trigram (-1,0,1): the best of the sets tried on PKU and CTB6
    /// (more trigrams, skip-bigrams, offsets ±3 or wider class spans did not help).
    Standard,
}

impl TemplateSet {
    /// The set `Auto` stands for with a table of `rows` rows.
    pub fn resolve(self, rows: u32) -> Self {
        match self {
            Self::Auto if rows <= COMPACT_MAX_ROWS => Self::Compact,
            Self::Auto => Self::Standard,
            other => other,
        }
    }

    /// The templates of the set (`Auto` as for a large table).
    pub fn templates(self) -> Vec<Template> {
        match self {
            Self::Compact => vec![
                Template::Bias,
                Template::Char(-1),
                Template::Char(0),
                Template::Char(1),
                Template::Pair(-1, 0),
                Template::Pair(0, 1),
                Template::ClassSpan(0, 0),
                Template::ClassSpan(-1, 1),
            ],
            Self::Basic => DEFAULT_TEMPLATES.to_vec(),
            Self::Auto | Self::Standard => {
                let mut templates = DEFAULT_TEMPLATES.to_vec();
                templates.push(Template::Triple(-1, 0, 1));
                templates
            }
        }
    }
}

/// Parses a template list such as `bias,C-1,C0,C-1C0,C-1C0C1,T-1..1`: `bias`; `C<o>` (character at
/// offset `o`), two or three `C<o>` in a row (character pairs and triples); `T<a>..<b>` (the classes of
/// the characters from offset `a` to `b`). Offsets lie in `-4..=4`.
pub fn parse_templates(list: &str) -> Result<Vec<Template>, String> {
    let offset = |text: &str| -> Result<i8, String> {
        let value: i8 = text.parse().map_err(|_| format!("bad offset {text:?}"))?;
        if value.unsigned_abs() as usize > decoder::internal::features::MAX_OFFSET {
            return Err(format!("offset {value} is outside -{0}..={0}", decoder::internal::features::MAX_OFFSET));
        }
        Ok(value)
    };
    let mut templates = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let template = if item.eq_ignore_ascii_case("bias") {
            Template::Bias
        } else if let Some(span) = item.strip_prefix(['T', 't']) {
            let (a, b) = span.split_once("..").ok_or_else(|| format!("{item:?}: expected T<a>..<b>"))?;
            let (a, b) = (offset(a)?, offset(b)?);
            if a > b {
                return Err(format!("{item:?}: the span is reversed"));
            }
            Template::ClassSpan(a, b)
        } else if item.starts_with(['C', 'c']) {
            let offsets = item[1..].split(['C', 'c']).map(offset).collect::<Result<Vec<_>, _>>()?;
            match offsets[..] {
                [a] => Template::Char(a),
                [a, b] => Template::Pair(a, b),
                [a, b, c] => Template::Triple(a, b, c),
                _ => return Err(format!("{item:?}: one to three characters")),
            }
        } else {
            return Err(format!("unknown template {item:?}"));
        };
        templates.push(template);
    }
    if templates.is_empty() || templates.len() > decoder::MAX_TEMPLATES {
        return Err(format!("between 1 and {} templates are needed", decoder::MAX_TEMPLATES));
    }
    Ok(templates)
}

impl FeatureSpec {
    /// A spec with the given templates, a table of `2^bucket_bits` rows and full-width folding.
    pub fn new(templates: Vec<Template>, bucket_bits: u8) -> Self {
        Self::with_rows(templates, 1 << bucket_bits)
    }

    /// A spec with the given templates, a table of `rows` rows (any number) and full-width folding.
    pub fn with_rows(templates: Vec<Template>, rows: u32) -> Self {
        Self { templates, rows, hashes_per_feature: 1, normalization: NORMALIZE_WIDTH, lexicon: None, tokens: None }
    }

    /// Table rows read per position: templates times rows per feature.
    pub fn rows_per_position(&self) -> usize {
        let features = self.tokens.as_ref().map_or(self.templates.len(), |t| t.len());
        features * usize::from(self.hashes_per_feature)
    }

    /// Number of rows of the weight table.
    pub fn buckets(&self) -> usize {
        self.rows as usize
    }

    /// log2 of the row count when it is a power of two (what the direct-weight model kind stores).
    pub fn bucket_bits(&self) -> Option<u8> {
        self.rows.is_power_of_two().then(|| self.rows.trailing_zeros() as u8)
    }

    /// The templates in the model file's encoding.
    pub fn encoded_templates(&self) -> Vec<u8> {
        self.templates.iter().flat_map(|t| t.encode()).collect()
    }

    /// The characters as the features see them.
    pub fn normalized(&self, chars: &[char]) -> Vec<char> {
        chars.iter().map(|&c| normalize(c, self.normalization)).collect()
    }

    /// The weight-table rows of every template at every position: `[T][K][hashes_per_feature]`.
    pub fn extract(&self, chars: &[char]) -> Vec<u32> {
        let mut rows = self.extract_hashes(chars);
        for r in &mut rows {
            *r = row(*r, self.rows) as u32;
        }
        rows
    }

    /// The 32-bit hashes every template's feature reads at every position (before bucketing):
    /// `[T][K][hashes_per_feature]`.
    pub fn extract_hashes(&self, chars: &[char]) -> Vec<u32> {
        match &self.lexicon {
            Some(lexicon) => self.extract_hashes_with(chars, lexicon.as_ref()),
            None => self.extract_hashes_with(chars, &NoWords),
        }
    }

    /// [`Self::extract_hashes`] with the lexicon templates reading `words`.
    pub fn extract_hashes_with(&self, chars: &[char], words: &impl WordSet) -> Vec<u32> {
        let normalized = self.normalized(chars);
        let mut hashes = Vec::with_capacity(chars.len() * self.rows_per_position());
        for position in 0..normalized.len() {
            template_hashes(&self.templates, &normalized, position, words, |hash| {
                hashes.extend(feature_hashes(hash, self.hashes_per_feature));
            });
        }
        hashes
    }
}

/// Marks a feature left out of training (see [`FeaturizedCorpus::new`]).
pub const UNUSED_ROW: u32 = u32::MAX;

/// Sentences with their features computed once: the training loop reads them every epoch.
#[derive(Debug, Clone)]
pub struct FeaturizedCorpus {
    /// Table rows read per position: templates times rows per feature.
    pub rows_per_position: usize,
    /// All feature rows, sentence after sentence, `[T][K]` each.
    rows: Vec<u32>,
    /// All gold tags, sentence after sentence.
    tags: Vec<u8>,
    /// Start of sentence `i` in positions; `offsets[i + 1]` is its end.
    offsets: Vec<usize>,
    /// Distinct features left out for rarity.
    dropped_features: usize,
    /// Per sentence, a teacher's marginals, and the weight of the teacher against the gold tags
    /// ([`FeaturizedCorpus::with_teacher`]); empty without a teacher.
    teacher: Vec<Marginals>,
    teacher_weight: f32,
}

/// One sentence of a [`FeaturizedCorpus`].
#[derive(Debug, Clone, Copy)]
pub struct FeaturizedSentence<'a> {
    /// `[T][K]` weight-table rows.
    pub rows: &'a [u32],
    /// `[T]` gold tags.
    pub tags: &'a [u8],
    /// A teacher's marginals and its weight against the gold tags (knowledge distillation).
    pub teacher: Option<(&'a Marginals, f32)>,
}

impl FeaturizedSentence<'_> {
    /// Number of positions `T`.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// True for an empty sentence.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }
}

impl FeaturizedCorpus {
    /// Extracts the features of every sentence (in parallel; the result does not depend on threads).
    /// Features seen fewer than `min_count` times in these sentences are left out ([`UNUSED_ROW`]):
    /// they get no weight, so they add nothing to the rows they share with other features, which
    /// matters in small tables where every row is shared (feature pruning).
    ///
    /// With a word list, each sentence sees the list jackknifed for it
    /// ([`TrainingLexicon::for_training_sentence`]), so the list must have been built from exactly these
    /// sentences.
    pub fn new(spec: &FeatureSpec, sentences: &[Sentence], min_count: u32) -> Self {
        if let Some(lexicon) = &spec.lexicon {
            assert_eq!(lexicon.sentences(), sentences.len(), "the word list must come from the training sentences");
        }
        let per_sentence: Vec<Vec<u32>> = sentences
            .par_iter()
            .map(|s| match &spec.lexicon {
                Some(lexicon) => spec.extract_hashes_with(&s.chars, &lexicon.for_training_sentence(&s.chars)),
                None => spec.extract_hashes(&s.chars),
            })
            .collect();
        let tags: Vec<&[u8]> = sentences.iter().map(|s| s.tags.as_slice()).collect();
        Self::from_hashes(per_sentence, &tags, spec.rows, spec.rows_per_position(), min_count)
    }

    /// The corpus of sentences whose feature hashes (`[T][rows_per_position]` each) and gold tags are
    /// given: what [`FeaturizedCorpus::new`] does after extracting them, for features computed elsewhere
    /// (token-level templates). Hashes map to rows of a `rows`-row table; those seen fewer than
    /// `min_count` times are left out.
    pub fn from_hashes(
        per_sentence: Vec<Vec<u32>>,
        sentence_tags: &[&[u8]],
        table_rows: u32,
        rows_per_position: usize,
        min_count: u32,
    ) -> Self {
        let mut counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        if min_count > 1 {
            for &hash in per_sentence.iter().flatten() {
                *counts.entry(hash).or_insert(0) += 1;
            }
        }
        let mut offsets = Vec::with_capacity(sentence_tags.len() + 1);
        offsets.push(0);
        let total: usize = sentence_tags.iter().map(|t| t.len()).sum();
        let mut rows = Vec::with_capacity(total * rows_per_position);
        let mut tags = Vec::with_capacity(total);
        for (sentence_tags, hashes) in sentence_tags.iter().zip(per_sentence) {
            rows.extend(hashes.iter().map(|&hash| {
                if min_count > 1 && counts[&hash] < min_count {
                    UNUSED_ROW
                } else {
                    row(hash, table_rows) as u32
                }
            }));
            tags.extend_from_slice(sentence_tags);
            offsets.push(tags.len());
        }
        let dropped_features = counts.values().filter(|&&c| c < min_count).count();
        Self { rows_per_position, rows, tags, offsets, dropped_features, teacher: Vec::new(), teacher_weight: 0.0 }
    }

    /// The corpus with a teacher: training then fits the mixture of the gold path (weight
    /// `1 - weight`) and the teacher's path distribution, of which `marginals` (one per sentence, in
    /// order) say what the gradient needs ([`crate::crf::Lattice::distilled_crf_gradient`]).
    pub fn with_teacher(self, marginals: Vec<Marginals>, weight: f32) -> Self {
        assert_eq!(marginals.len(), self.len(), "one teacher distribution per sentence");
        Self { teacher: marginals, teacher_weight: weight, ..self }
    }

    /// The same sentences reading row `map(row)` wherever they read `row` (rows left out stay out):
    /// e.g. a codebook entry instead of a table row.
    pub fn map_rows(&self, map: impl Fn(u32) -> u32) -> Self {
        let rows = self.rows.iter().map(|&r| if r == UNUSED_ROW { r } else { map(r) }).collect();
        Self {
            rows_per_position: self.rows_per_position,
            rows,
            tags: self.tags.clone(),
            offsets: self.offsets.clone(),
            dropped_features: self.dropped_features,
            teacher: self.teacher.clone(),
            teacher_weight: self.teacher_weight,
        }
    }

    /// Distinct features left out by the `min_count` of [`FeaturizedCorpus::new`].
    pub fn dropped_features(&self) -> usize {
        self.dropped_features
    }

    /// How often each table row is read: `[buckets]`.
    pub fn row_usage(&self, buckets: usize) -> Vec<u32> {
        let mut usage = vec![0u32; buckets];
        for &row in self.rows.iter().filter(|&&r| r != UNUSED_ROW) {
            usage[row as usize] += 1;
        }
        usage
    }

    /// Number of sentences.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there are no sentences.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total number of positions.
    pub fn positions(&self) -> usize {
        self.tags.len()
    }

    /// Sentence `index`.
    pub fn sentence(&self, index: usize) -> FeaturizedSentence<'_> {
        let (start, end) = (self.offsets[index], self.offsets[index + 1]);
        let k = self.rows_per_position;
        FeaturizedSentence {
            rows: &self.rows[start * k..end * k],
            tags: &self.tags[start..end],
            teacher: self.teacher.get(index).map(|marginals| (marginals, self.teacher_weight)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_host_sized_tables_get_the_covering_word_template() {
        let covering = Template::LexiconChar(WordSpan::Covering, 0);
        assert_eq!(lexicon_templates(COMPACT_MAX_ROWS), &LEXICON_TEMPLATES[..3]);
        assert!(!lexicon_templates(1 << 16).contains(&covering));
        assert_eq!(lexicon_templates(COMPACT_MAX_ROWS + 1), &LEXICON_TEMPLATES);
        assert!(lexicon_templates(1 << 22).contains(&covering));
    }
    use decoder::internal::text::NORMALIZE_WIDTH;

    #[test]
    fn width_folding_gives_identical_features() {
        let spec = FeatureSpec::new(TemplateSet::Standard.templates(), 16);
        assert_eq!(spec.normalization, NORMALIZE_WIDTH);
        let full: Vec<char> = "１９９８年".chars().collect();
        let half: Vec<char> = "1998年".chars().collect();
        assert_eq!(spec.extract(&full), spec.extract(&half));
    }

    #[test]
    fn template_lists_parse() {
        let t = parse_templates("bias, C-1, C0C1, C-1C0C1, T-1..1").unwrap();
        assert_eq!(
            t,
            vec![
                Template::Bias,
                Template::Char(-1),
                Template::Pair(0, 1),
                Template::Triple(-1, 0, 1),
                Template::ClassSpan(-1, 1)
            ]
        );
        assert!(parse_templates("C5").is_err());
        assert!(parse_templates("T1..0").is_err());
        assert!(parse_templates("X1").is_err());
        assert!(parse_templates("").is_err());
    }

    #[test]
    fn rows_are_in_range_and_laid_out_by_position() {
        let spec = FeatureSpec::new(TemplateSet::Basic.templates(), 10);
        let chars: Vec<char> = "中文分词".chars().collect();
        let rows = spec.extract(&chars);
        assert_eq!(rows.len(), chars.len() * spec.templates.len());
        assert!(rows.iter().all(|&r| (r as usize) < spec.buckets()));
        // The bias template (index 0) hits the same row everywhere.
        let k = spec.templates.len();
        assert!(rows.chunks(k).all(|p| p[0] == rows[0]));
        assert!(spec.templates.len() <= decoder::MAX_TEMPLATES);
        assert!(TemplateSet::Standard.templates().len() <= decoder::MAX_TEMPLATES);
    }
}

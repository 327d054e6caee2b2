//! A validated, zero-copy view of a model file.

use crate::emission::{Emission, HashedNgram, Scorer};
use crate::error::{ModelError, Tensor};
use crate::features::{CompiledTemplates, Template, TEMPLATE_BYTES};
use crate::format::{self, EmissionSpec, ModelBody, NgramTable, WeightType, CODEBOOK_ENTRIES};
use crate::lexicon::Lexicon;
use crate::limits::{MAX_BUCKET_BITS, MAX_CHAR_TAGS, MAX_HASHES_PER_FEATURE, MAX_OFFSET, MAX_TAGS, MAX_TEMPLATES};
use crate::tags::{derive_constraints, derive_constraints_in, Constraints, TagMask, TagScheme};
use crate::text::NORMALIZE_KNOWN;
#[cfg(feature = "tokens")]
use crate::tokens::{TokenColumns, TokenTemplates};

/// A model borrowed from its bytes (flash on a device): every tensor stays in the slice.
///
/// Construction validates everything decoding can index, so decoding any input with any `Model` never
/// panics or reads out of bounds. Label with it through [`crate::Segmenter`], [`crate::StreamLabeler`]
/// or [`crate::LineLabeler`].
///
/// ```
/// let bytes = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/default.crfm"));
/// let model = decoder::Model::from_bytes(bytes)?;
/// assert_eq!(model.tag_names().collect::<Vec<_>>(), ["B", "M", "E", "S"]);
/// assert_eq!(model.scheme(), decoder::TagScheme::Bmes);
///
/// // A damaged file is refused with the reason, never decoded.
/// let mut damaged = bytes.to_vec();
/// damaged[20] ^= 1;
/// assert!(matches!(decoder::Model::from_bytes(&damaged), Err(decoder::ModelError::BadChecksum { .. })));
/// # Ok::<(), decoder::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Model<'a> {
    body: ModelBody<'a>,
    // `num_tags` and `primitive_exponent` are small integers (at most `MAX_TAGS` and Wielandt's bound,
    // 962), not `usize`: a `Model` has room for the mention list's slice within the C API's fixed model
    // storage (`CRF_MODEL_STORAGE_BYTES`) when features unify `tokens` into it.
    num_tags: u8,
    scheme: TagScheme,
    /// The constraints of a model of at most 16 tags (the character labelers' width); for a wider one
    /// (token-level, `wide-tags`) the one-tag placeholder, and [`Model::constraints_in`] derives them.
    constraints: Constraints,
    primitive_exponent: u16,
    emission: Emission<'a>,
    /// The template section of a token-level model (format version 6).
    #[cfg(feature = "tokens")]
    tokens: Option<TokenTemplates<'a>>,
    /// The mention list of a token-level model (format version 8), checked.
    #[cfg(feature = "tokens")]
    mentions: Option<&'a str>,
}

impl<'a> Model<'a> {
    /// Checks and borrows a model file: magic, version, CRC-32, structure, then every size and constraint.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, ModelError> {
        let sections = format::decode_sections(bytes)?;
        let body = sections.body;
        #[cfg(feature = "tokens")]
        let token_section = sections.tokens;

        let num_tags = body.tag_names.split(' ').count();
        // Only a token-level model may have more than 16 tags (and only with `wide-tags`): the
        // character labelers are 16 wide in every build.
        #[cfg(feature = "tokens")]
        let max_tags = if token_section.is_some() { MAX_TAGS } else { MAX_CHAR_TAGS };
        #[cfg(not(feature = "tokens"))]
        let max_tags = MAX_CHAR_TAGS;
        if body.tag_names.is_empty() || num_tags > max_tags {
            return Err(ModelError::BadTagCount { count: if body.tag_names.is_empty() { 0 } else { num_tags } });
        }
        let names = body.tag_names.split(' ');
        for (i, name) in names.clone().enumerate() {
            let printable = name.chars().all(|c| !c.is_whitespace() && !c.is_control());
            if name.is_empty() || !printable || names.clone().take(i).any(|other| other == name) {
                return Err(ModelError::BadTagName);
            }
        }

        // Constant `false` without `wide-tags`: the branch is compiled out.
        let wide = cfg!(feature = "wide-tags") && num_tags > MAX_CHAR_TAGS;
        let (scheme, constraints, primitive_exponent) = if !wide {
            let (scheme, constraints) = match body.constraints {
                None => derive_constraints(names),
                Some(custom) => (TagScheme::Custom, custom_constraints(&custom, num_tags)?),
            };
            let primitive_exponent = constraints.validate()?;
            (scheme, constraints, primitive_exponent)
        } else {
            // The wide constraints are checked here and derived again where decoding needs them, so that
            // a `Model` keeps its size (the C API's storage bound) in every build.
            let (scheme, wide) = match body.constraints {
                None => derive_constraints_in::<u32, MAX_TAGS>(names),
                Some(custom) => (TagScheme::Custom, custom_constraints(&custom, num_tags)?),
            };
            (scheme, Constraints::unconstrained(1), wide.validate()?)
        };

        let pair_bytes = 2 * num_tags * num_tags;
        check_len(Tensor::Transitions, body.transitions.transitions, pair_bytes)?;
        check_len(Tensor::Start, body.transitions.start, 2 * num_tags)?;
        check_len(Tensor::End, body.transitions.end, 2 * num_tags)?;

        let emission = match body.emission {
            #[cfg(feature = "neural")]
            EmissionSpec::Neural(spec) => Emission::Neural(crate::neural::Neural::from_spec(&spec, num_tags)?),
            #[cfg(feature = "neural")]
            EmissionSpec::Hybrid(spec) => {
                let neural = crate::neural::Neural::from_spec(&spec, num_tags)?;
                // `decode_sections` reads the table of every hybrid body.
                let Some(table_spec) = sections.table else { return Err(ModelError::Malformed) };
                // The table as an n-gram model of its own (no word list: lexicon templates are refused).
                let table = table_model(table_spec, None, num_tags)?;
                if table.normalization != neural.normalization {
                    return Err(ModelError::BadNeural {
                        part: crate::error::NeuralPart::Embedding,
                        problem: crate::error::NeuralProblem::TableNormalization {
                            encoder: neural.normalization,
                            table: table.normalization,
                        },
                    });
                }
                let templates = match table_spec {
                    NgramTable::Hashed(t) => t.templates,
                    NgramTable::Codebook(t) => t.templates,
                };
                Emission::Hybrid(neural, crate::emission::HybridTable::new(&table, templates))
            }
            _ => Emission::Hashed(emission_model(&body.emission, num_tags)?),
        };
        #[cfg(feature = "tokens")]
        let tokens = match (token_section, &emission) {
            (None, _) => None,
            (Some(section), Emission::Hashed(table)) => Some(
                TokenTemplates::new(
                    section.templates,
                    usize::from(section.columns),
                    MAX_TEMPLATES / table.hashes_per_feature().max(1),
                )
                .map_err(ModelError::BadTokenTemplates)?,
            ),
            #[cfg(feature = "neural")]
            (Some(_), Emission::Neural(_) | Emission::Hybrid(..)) => return Err(ModelError::Malformed),
        };
        #[cfg(feature = "tokens")]
        if let (Some(list), Some(templates)) = (sections.mentions, &tokens) {
            crate::mentions::check_mention_list(list, templates.columns())
                .map_err(|line| ModelError::BadMentionList { line })?;
        }
        // Both checked above: at most MAX_TAGS tags, and an exponent within Wielandt's bound for them.
        let num_tags = u8::try_from(num_tags).map_err(|_| ModelError::BadTagCount { count: num_tags })?;
        let primitive_exponent =
            u16::try_from(primitive_exponent).map_err(|_| ModelError::TransitionGraphNotPrimitive)?;
        Ok(Self {
            body,
            num_tags,
            scheme,
            constraints,
            primitive_exponent,
            emission,
            #[cfg(feature = "tokens")]
            tokens,
            #[cfg(feature = "tokens")]
            mentions: sections.mentions,
        })
    }

    /// Number of tags `L`.
    pub fn num_tags(&self) -> usize {
        usize::from(self.num_tags)
    }

    /// The tag names, in tag order.
    pub fn tag_names(&self) -> impl Iterator<Item = &'a str> + Clone {
        self.body.tag_names.split(' ')
    }

    /// Name of tag `tag`, if it exists.
    pub fn tag_name(&self, tag: usize) -> Option<&'a str> {
        self.tag_names().nth(tag)
    }

    /// The recognised tag scheme.
    pub fn scheme(&self) -> TagScheme {
        self.scheme
    }

    /// The free-text metadata the trainer stored (trainer version, corpus, scores).
    pub fn metadata(&self) -> &'a str {
        self.body.metadata
    }

    /// The model format version this model needs: the oldest that can express it, which is the version
    /// the trainer writes it with.
    pub fn format_version(&self) -> u16 {
        #[cfg(feature = "tokens")]
        if self.mentions.is_some() {
            return self.body.version().max(format::MENTION_FORMAT_VERSION);
        }
        #[cfg(feature = "tokens")]
        if self.tokens.is_some() {
            return self.body.version().max(format::TOKEN_FORMAT_VERSION);
        }
        self.body.version()
    }

    /// True for a token-level model (CoNLL columns in, one tag per token out; format version 6), whose
    /// features come from token templates, not characters: label it with
    /// `internal::lattice::label_tokens`, not with the segmenter.
    #[cfg(feature = "tokens")]
    pub fn is_token_level(&self) -> bool {
        self.tokens.is_some()
    }

    /// The mention list of a token-level model trained with one (format version 8), as the file stores
    /// it (zero-copy): lines `TYPE<TAB>tokens separated by single spaces`, separated by `\n`, checked at
    /// load. The host computes the model's last [`format::MENTION_COLUMNS`] input columns from it (the
    /// decoder does not): text for this model must carry them, or the token labeler reports the line
    /// (`LineError::Columns`).
    #[cfg(feature = "tokens")]
    pub fn mention_list(&self) -> Option<&'a str> {
        self.mentions
    }

    /// The templates of a token-level model.
    #[cfg(feature = "tokens")]
    pub(crate) fn token_templates(&self) -> Option<&TokenTemplates<'a>> {
        self.tokens.as_ref()
    }

    /// The emission scores of every tag at token `position` of `tokens` into `out[..L]`: the rows of the
    /// token templates' feature hashes summed and shifted once (zeros for a model that is not token-level).
    #[cfg(feature = "tokens")]
    pub(crate) fn token_scores<const N: usize>(
        &self,
        tokens: &(impl TokenColumns + ?Sized),
        position: usize,
        out: &mut [i32; N],
    ) {
        *out = [0; N];
        let (Some(templates), Some(table)) = (&self.tokens, self.ngram()) else { return };
        let mut acc = [0i32; N];
        templates.hashes(tokens, position, |hash| table.accumulate(hash, &mut acc));
        let shift = u32::from(table.weight_shift);
        for (o, a) in out.iter_mut().zip(acc) {
            *o = a << shift;
        }
    }

    /// Number of words in the model's word list (0 for a model without one).
    pub fn word_count(&self) -> usize {
        self.emission.words().len()
    }

    /// The hard constraints decoding obeys, for a model of at most 16 tags (a one-tag placeholder for
    /// a wider one: see [`Model::constraints_in`]).
    pub(crate) fn constraints(&self) -> &Constraints {
        &self.constraints
    }

    /// The hard constraints decoding obeys, in width `N` (at least the model's tag count, or the
    /// unconstrained tag set of `N` tags is returned): derived again from the file, as at load.
    pub fn constraints_in<M: TagMask, const N: usize>(&self) -> Constraints<M, N> {
        let num_tags = self.num_tags();
        if num_tags > N {
            return Constraints::allow_all(N);
        }
        let derived = match &self.body.constraints {
            None => Some(derive_constraints_in(self.tag_names()).1),
            Some(custom) => custom_constraints(custom, num_tags).ok(),
        };
        derived.filter(|c| c.num_tags == num_tags).unwrap_or_else(|| Constraints::allow_all(N))
    }

    /// Least `k` such that any tag reaches any tag in exactly `k` allowed steps (bounds score spread).
    pub(crate) fn primitive_exponent(&self) -> usize {
        usize::from(self.primitive_exponent)
    }

    /// The decoded body, as the file stores it.
    pub(crate) fn body(&self) -> &ModelBody<'a> {
        &self.body
    }

    /// The hashed n-gram emission model, if the model is one (a hybrid model's table is
    /// [`Model::hybrid_table`]).
    pub(crate) fn ngram(&self) -> Option<&HashedNgram<'a>> {
        match &self.emission {
            Emission::Hashed(m) => Some(m),
            #[cfg(feature = "neural")]
            Emission::Neural(_) | Emission::Hybrid(..) => None,
        }
    }

    /// The neural encoder, if the model has one (a neural or a hybrid model).
    #[cfg(feature = "neural")]
    pub(crate) fn neural(&self) -> Option<&crate::neural::Neural<'a>> {
        match &self.emission {
            Emission::Neural(m) | Emission::Hybrid(m, _) => Some(m),
            Emission::Hashed(_) => None,
        }
    }

    /// The n-gram table of a hybrid model.
    #[cfg(feature = "neural")]
    pub(crate) fn hybrid_table(&self) -> Option<&crate::emission::HybridTable<'a>> {
        match &self.emission {
            Emission::Hybrid(_, m) => Some(m),
            Emission::Hashed(_) | Emission::Neural(_) => None,
        }
    }

    /// The emission model, for the streaming labeler (which keeps its feature window beside it).
    pub(crate) fn emission(&self) -> &Emission<'a> {
        &self.emission
    }

    /// A scorer for the positions of a sequence, at its start: how whole-sequence decoding reads emission
    /// scores.
    pub(crate) fn scorer(&self) -> Scorer<'a> {
        Scorer::new(self.emission)
    }

    /// Transition score from tag `from` to tag `to` (0 for tags out of range).
    #[inline]
    pub(crate) fn transition(&self, from: usize, to: usize) -> i32 {
        read_i16(self.body.transitions.transitions, from * self.num_tags() + to)
    }

    /// Score of starting with `tag` (0 for tags out of range).
    #[inline]
    pub(crate) fn start_score(&self, tag: usize) -> i32 {
        read_i16(self.body.transitions.start, tag)
    }

    /// Score of ending with `tag` (0 for tags out of range).
    #[inline]
    pub(crate) fn end_score(&self, tag: usize) -> i32 {
        read_i16(self.body.transitions.end, tag)
    }
}

/// The model's figures for a device log: format version, tags, scheme and the emission model's shape, as
/// `key=value` pairs (`format=3 tags="B M E S" scheme=Bmes templates=8 rows=... codebook=false
/// rows_per_feature=1` for an n-gram model).
#[cfg(feature = "defmt")]
impl defmt::Format for Model<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "format={=u16} tags=\"{=str}\" scheme={}",
            self.format_version(),
            self.body.tag_names,
            self.scheme
        );
        match &self.emission {
            Emission::Hashed(m) => defmt::write!(
                f,
                " templates={=usize} rows={=usize} codebook={=bool} rows_per_feature={=usize}",
                m.templates().len(),
                m.rows(),
                m.codes().is_some(),
                m.hashes_per_feature()
            ),
            #[cfg(feature = "neural")]
            Emission::Neural(m) => defmt::write!(
                f,
                " neural vocabulary={=usize} dim={=usize} convs={=usize} reach={=usize}",
                m.vocabulary_size(),
                m.embedding_dim(),
                m.conv_layers().count(),
                m.conv_reach()
            ),
            #[cfg(feature = "neural")]
            Emission::Hybrid(m, t) => defmt::write!(
                f,
                " hybrid vocabulary={=usize} dim={=usize} convs={=usize} reach={=usize} templates={=usize} rows={=usize}",
                m.vocabulary_size(),
                m.embedding_dim(),
                m.conv_layers().count(),
                m.conv_reach(),
                t.templates().count(),
                t.rows()
            ),
        }
    }
}

#[inline]
fn read_i16(bytes: &[u8], index: usize) -> i32 {
    match bytes.get(2 * index..2 * index + 2) {
        Some(b) => i32::from(i16::from_le_bytes([b[0], b[1]])),
        None => 0,
    }
}

/// The fields both emission kinds share, in the order they are validated.
struct CommonSpec<'a> {
    normalization: u8,
    templates: &'a [u8],
}

/// Validates an emission spec (normalisation, templates, table size, weight shift, tensor lengths, in
/// that order) and builds its decoder.
fn emission_model<'a>(spec: &EmissionSpec<'a>, num_tags: usize) -> Result<HashedNgram<'a>, ModelError> {
    // A neural spec never reaches here (`Model::from_bytes` builds it apart).
    let Some(table) = spec.table() else { return Err(ModelError::Malformed) };
    table_model(table, spec.words(), num_tags)
}

/// Validates an n-gram table (and its word list, if any) and builds its decoder.
fn table_model<'a>(
    table: NgramTable<'a>,
    words: Option<(&'a [u8], u8, &'a [u8])>,
    num_tags: usize,
) -> Result<HashedNgram<'a>, ModelError> {
    let common = match table {
        NgramTable::Hashed(s) => CommonSpec { normalization: s.normalization, templates: s.templates },
        NgramTable::Codebook(s) => CommonSpec { normalization: s.normalization, templates: s.templates },
    };
    let lexicon = match words {
        Some((words, bits, index)) => Some(Lexicon::from_bytes(words, bits, index).ok_or(ModelError::BadWordList)?),
        None => None,
    };
    if common.normalization & !NORMALIZE_KNOWN != 0 {
        return Err(ModelError::UnknownNormalization { flags: common.normalization });
    }
    let template_count = common.templates.len() / TEMPLATE_BYTES;
    if common.templates.len() % TEMPLATE_BYTES != 0 || template_count == 0 || template_count > MAX_TEMPLATES {
        return Err(ModelError::BadTemplateCount { count: template_count });
    }
    let mut templates = [Template::Bias; MAX_TEMPLATES];
    let mut lookahead = 0usize;
    for (index, chunk) in common.templates.chunks_exact(TEMPLATE_BYTES).enumerate() {
        let template =
            Template::decode([chunk[0], chunk[1], chunk[2], chunk[3]]).ok_or(ModelError::BadTemplate { index })?;
        // A lexicon template reads a word list, which only a lexicon model has.
        if matches!(template, Template::Lexicon(_) | Template::LexiconChar(..)) && lexicon.is_none() {
            return Err(ModelError::BadTemplate { index });
        }
        lookahead = lookahead.max(template.offset_range().1.max(0) as usize);
        templates[index] = template;
    }
    debug_assert!(lookahead <= MAX_OFFSET);

    let check_shift = |weight_type: WeightType, shift: u8| {
        let max_shift = match weight_type {
            WeightType::I8 => 8,
            WeightType::I16 => 0,
        };
        if shift > max_shift {
            return Err(ModelError::BadWeightShift { shift });
        }
        Ok(())
    };
    let (rows, hashes, codes, weight_type, weight_shift, weights) = match table {
        NgramTable::Hashed(s) => {
            if s.bucket_bits == 0 || s.bucket_bits > MAX_BUCKET_BITS {
                return Err(ModelError::BadBucketBits { bits: s.bucket_bits });
            }
            check_shift(s.weight_type, s.weight_shift)?;
            let rows = 1u32 << s.bucket_bits;
            check_len(Tensor::EmissionWeights, s.weights, rows as usize * num_tags * s.weight_type.bytes())?;
            (rows, 1, None, s.weight_type, s.weight_shift, s.weights)
        }
        NgramTable::Codebook(s) => {
            if s.rows == 0 || s.rows > 1 << MAX_BUCKET_BITS {
                return Err(ModelError::BadRowCount { rows: s.rows });
            }
            let h = s.hashes_per_feature;
            if h == 0 || h > MAX_HASHES_PER_FEATURE || template_count * usize::from(h) > MAX_TEMPLATES {
                return Err(ModelError::BadHashCount { hashes: h });
            }
            check_shift(s.weight_type, s.weight_shift)?;
            check_len(Tensor::Codes, s.codes, s.rows as usize)?;
            let codebook_bytes = CODEBOOK_ENTRIES * num_tags * s.weight_type.bytes();
            check_len(Tensor::EmissionWeights, s.codebook, codebook_bytes)?;
            (s.rows, h, Some(s.codes), s.weight_type, s.weight_shift, s.codebook)
        }
    };
    let mut emission = HashedNgram {
        templates,
        template_count,
        compiled: CompiledTemplates::new(&templates[..template_count]),
        rows,
        hashes,
        codes,
        weight_type,
        weight_shift,
        weights,
        num_tags,
        normalization: common.normalization,
        lookahead,
        lexicon: lexicon.unwrap_or_default(),
        bias_i8x4: [0; 2],
    };
    emission.prepare();
    Ok(emission)
}

fn check_len(tensor: Tensor, bytes: &[u8], expected: usize) -> Result<(), ModelError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(ModelError::TensorSize { tensor, expected, found: bytes.len() })
    }
}

fn custom_constraints<M: TagMask, const N: usize>(
    custom: &format::CustomConstraints<'_>,
    num_tags: usize,
) -> Result<Constraints<M, N>, ModelError> {
    check_len(Tensor::AllowedTransitions, custom.allowed_transitions, num_tags * num_tags)?;
    check_len(Tensor::AllowedStart, custom.allowed_start, num_tags)?;
    check_len(Tensor::AllowedEnd, custom.allowed_end, num_tags)?;
    let bits = |bytes: &[u8]| -> Result<M, ModelError> {
        bytes.iter().enumerate().try_fold(M::NONE, |acc, (i, &b)| match b {
            0 => Ok(acc),
            1 => Ok(acc | M::bit(i)),
            _ => Err(ModelError::BadConstraint),
        })
    };
    let mut c = Constraints::allow_all(num_tags);
    for (from, row) in custom.allowed_transitions.chunks_exact(num_tags).enumerate() {
        c.next[from] = bits(row)?;
    }
    c.start = bits(custom.allowed_start)?;
    c.end = bits(custom.allowed_end)?;
    Ok(c)
}

//! Quantization and export: the float model becomes integer scores in the one model format
//! (`decoder::internal::format`), written only through `format::encode`.
//!
//! All scores share one unit, `2^-score_frac_bits` (the decoder adds emission and transition scores
//! directly). Transitions, start and end scores are i16 in that unit. Emission weights are i8 or i16 with
//! a per-model power-of-two step `2^(weight_shift - score_frac_bits)`: the stored value `q` means
//! `q << weight_shift` score units. Symmetric rounding to nearest, saturating at ±127 / ±32767.

use decoder::internal::format::{
    self, CodebookNgramSpec, EmissionSpec, HashedNgramSpec, LexiconNgramSpec, ModelBody, NgramTable, TransitionSpec,
    WeightType, CODEBOOK_ENTRIES,
};
use decoder::internal::ModelInternals;

use crate::features::FeatureSpec;

use crate::model::FloatModel;

/// The integer layout of an exported model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuantParams {
    /// Element type of the emission table.
    pub weight_type: WeightType,
    /// Fractional bits of every score (the unit is `2^-score_frac_bits`).
    pub score_frac_bits: u8,
    /// Left shift from a stored emission weight to score units.
    pub weight_shift: u8,
}

impl QuantParams {
    /// The real value of one step of a stored emission weight.
    pub fn emission_step(&self) -> f64 {
        2f64.powi(i32::from(self.weight_shift) - i32::from(self.score_frac_bits))
    }

    /// The real value of one score unit (the step of transitions).
    pub fn score_step(&self) -> f64 {
        2f64.powi(-i32::from(self.score_frac_bits))
    }
}

/// Why a model could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The scores are too large for any scale the format allows.
    #[error("scores too large to quantize (largest emission weight {emission}, largest CRF score {crf})")]
    OutOfRange {
        /// Largest |emission weight|.
        emission: f32,
        /// Largest |allowed transition, start or end score|.
        crf: f32,
    },
    /// Direct weights need a power-of-two table (only a codebook model has any row count).
    #[error("a table of {rows} rows needs a codebook (direct weights need a power of two)")]
    RowCount {
        /// The row count.
        rows: u32,
    },
    /// Only a codebook model reads more than one row per feature.
    #[error("{hashes} rows per feature needs a codebook model (direct weights read one)")]
    HashesPerFeature {
        /// Rows per feature.
        hashes: u8,
    },
    /// postcard failed to serialise the body.
    #[error("encoding the model: {0}")]
    Encode(String),
}

const I8_MAX: f64 = 127.0;
const I16_MAX: f64 = 32767.0;
/// Finest score unit worth having: beyond 2^-20 rounding error is far below any decision margin.
const MAX_FRAC_BITS: i32 = 20;

fn max_abs(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Largest |score| of the CRF layer that can matter: allowed transitions, start and end tags. Forbidden
/// ones are never used by the decoder, so they are merely saturated.
fn max_abs_crf(model: &FloatModel) -> f32 {
    let (_, constraints) = model.constraints();
    let l = model.num_tags();
    let mut max = 0.0f32;
    for from in 0..l {
        for to in 0..l {
            if constraints.allows(from, to) {
                max = max.max(model.transitions[from * l + to].abs());
            }
        }
        if constraints.allows_start(from) {
            max = max.max(model.start[from].abs());
        }
        if constraints.allows_end(from) {
            max = max.max(model.end[from].abs());
        }
    }
    max
}

/// Scales worth trying for `weight_type`, best guess first: the finest emission step that clips no
/// weight, then (i8 only) finer steps that clip the few largest weights for resolution elsewhere.
/// `train` picks among them on dev data with the decoder's integer path.
pub fn candidates(model: &FloatModel, weight_type: WeightType) -> Result<Vec<QuantParams>, ExportError> {
    let emission = max_abs(&model.weights).max(1e-6);
    let crf = max_abs_crf(model).max(1e-6);
    let out_of_range = ExportError::OutOfRange { emission, crf };
    // Largest frac bits at which the CRF layer fits an i16.
    let crf_frac_limit = (I16_MAX / f64::from(crf)).log2().floor() as i32;
    match weight_type {
        WeightType::I16 => {
            let emission_limit = (I16_MAX / f64::from(emission)).log2().floor() as i32;
            let frac = emission_limit.min(crf_frac_limit).min(MAX_FRAC_BITS);
            if frac < 0 {
                return Err(out_of_range);
            }
            Ok(vec![QuantParams { weight_type, score_frac_bits: frac as u8, weight_shift: 0 }])
        }
        WeightType::I8 => {
            // Emission step 2^e with emission / 2^e <= 127.
            let no_clip = (f64::from(emission) / I8_MAX).log2().ceil() as i32;
            let mut out = Vec::new();
            for e in [no_clip, no_clip - 1, no_clip - 2] {
                // shift - frac = e, shift in 0..=8, frac in 0..=min(crf limit, MAX_FRAC_BITS).
                let frac = (8 - e).min(crf_frac_limit).min(MAX_FRAC_BITS);
                // Weights far below the finest unit (a model that learned next to nothing) get the
                // finest step there is.
                let shift = (frac + e).max(0);
                let duplicate = out
                    .iter()
                    .any(|p: &QuantParams| (i32::from(p.score_frac_bits), i32::from(p.weight_shift)) == (frac, shift));
                if frac < 0 || shift > 8 || duplicate {
                    continue;
                }
                out.push(QuantParams { weight_type, score_frac_bits: frac as u8, weight_shift: shift as u8 });
            }
            if out.is_empty() {
                return Err(out_of_range);
            }
            Ok(out)
        }
    }
}

fn quantize_value(value: f32, step: f64, limit: f64) -> i32 {
    (f64::from(value) / step).round().clamp(-limit, limit) as i32
}

/// The integer tensors of a quantized model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizedTensors {
    /// Emission weights as stored (i8 or i16 values).
    pub weights: Vec<i16>,
    /// Transitions in score units.
    pub transitions: Vec<i16>,
    /// Start scores in score units.
    pub start: Vec<i16>,
    /// End scores in score units.
    pub end: Vec<i16>,
}

/// Rounds every parameter to its integer.
pub fn quantize(model: &FloatModel, params: QuantParams) -> QuantizedTensors {
    let weight_limit = match params.weight_type {
        WeightType::I8 => I8_MAX,
        WeightType::I16 => I16_MAX,
    };
    let step = params.emission_step();
    let score = params.score_step();
    let q16 = |values: &[f32]| values.iter().map(|&v| quantize_value(v, score, I16_MAX) as i16).collect();
    QuantizedTensors {
        weights: model.weights.iter().map(|&w| quantize_value(w, step, weight_limit) as i16).collect(),
        transitions: q16(&model.transitions),
        start: q16(&model.start),
        end: q16(&model.end),
    }
}

/// Quantizes and serialises `model` into a model file.
pub fn export(model: &FloatModel, params: QuantParams, metadata: &str) -> Result<Vec<u8>, ExportError> {
    let tensors = quantize(model, params);
    let weights: Vec<u8> = match params.weight_type {
        WeightType::I8 => tensors.weights.iter().map(|&w| w as i8 as u8).collect(),
        WeightType::I16 => format::i16_bytes(&tensors.weights),
    };
    let tag_names = model.tag_names.join(" ");
    let templates = model.features.encoded_templates();
    let transitions = format::i16_bytes(&tensors.transitions);
    let start = format::i16_bytes(&tensors.start);
    let end = format::i16_bytes(&tensors.end);
    let (scheme, constraints) = model.constraints();
    let stored = StoredConstraints::new(scheme, &constraints, model.num_tags());
    let words = model.features.lexicon.as_ref().map(|lexicon| lexicon.to_file());
    let words = words.as_ref().map(|(hashes, bits, index)| (hashes.as_slice(), *bits, index.as_slice()));
    let emission = emission_spec(&model.features, model.codes.as_deref(), params, &templates, &weights, words)?;
    let body = ModelBody {
        tag_names: &tag_names,
        constraints: stored.as_ref().map(StoredConstraints::spec),
        score_frac_bits: params.score_frac_bits,
        emission,
        transitions: TransitionSpec { transitions: &transitions, start: &start, end: &end },
        metadata,
    };
    let tokens = model.features.tokens.as_ref().map(|t| t.spec());
    format::encode_with_tokens(&body, tokens.as_ref()).map_err(|e| ExportError::Encode(e.to_string()))
}

/// The hard constraints a model file stores: those of a [`decoder::TagScheme::Custom`] tag set (such as
/// the six-tag segmentation set), which the tag names do not imply. Every exporter (linear, neural,
/// hybrid) writes them through this one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredConstraints {
    allowed_transitions: Vec<u8>,
    allowed_start: Vec<u8>,
    allowed_end: Vec<u8>,
}

impl StoredConstraints {
    /// The bytes to store for `constraints` of `num_tags` tags under `scheme`; `None` when the decoder
    /// derives them from the names (every scheme but `Custom`).
    pub fn new(
        scheme: decoder::TagScheme,
        constraints: &decoder::internal::tags::ModelConstraints,
        num_tags: usize,
    ) -> Option<Self> {
        if scheme != decoder::TagScheme::Custom {
            return None;
        }
        let l = num_tags;
        let bit = |mask: decoder::internal::tags::ModelMask, i: usize| u8::from(mask & (1 << i) != 0);
        Some(Self {
            allowed_transitions: (0..l * l).map(|i| bit(constraints.next[i / l], i % l)).collect(),
            allowed_start: (0..l).map(|i| bit(constraints.start, i)).collect(),
            allowed_end: (0..l).map(|i| bit(constraints.end, i)).collect(),
        })
    }

    /// The constraints of a tag set named `tag_names` ([`crate::corpus::constraints_for`]), as stored.
    pub fn for_tags(tag_names: &[String]) -> Option<Self> {
        let (scheme, constraints) = crate::corpus::constraints_for(tag_names);
        Self::new(scheme, &constraints, tag_names.len())
    }

    /// The view [`format::ModelBody::constraints`] takes.
    pub fn spec(&self) -> format::CustomConstraints<'_> {
        format::CustomConstraints {
            allowed_transitions: &self.allowed_transitions,
            allowed_start: &self.allowed_start,
            allowed_end: &self.allowed_end,
        }
    }
}

/// The emission part of the file: a codebook model with `codes`, else direct weights (which need a
/// power-of-two row count); with `words` (a word list's hashes, index bits and index), either table in a
/// lexicon model.
fn emission_spec<'a>(
    features: &FeatureSpec,
    codes: Option<&'a [u8]>,
    params: QuantParams,
    templates: &'a [u8],
    weights: &'a [u8],
    words: Option<(&'a [u8], u8, &'a [u8])>,
) -> Result<EmissionSpec<'a>, ExportError> {
    let table = table_spec(features, codes, params, templates, weights)?;
    Ok(match (table, words) {
        (NgramTable::Hashed(s), None) => EmissionSpec::HashedNgram(s),
        (NgramTable::Codebook(s), None) => EmissionSpec::CodebookNgram(s),
        (table, Some((words, index_bits, index))) => {
            EmissionSpec::LexiconNgram(LexiconNgramSpec { table, words, index_bits, index })
        }
    })
}

fn table_spec<'a>(
    features: &FeatureSpec,
    codes: Option<&'a [u8]>,
    params: QuantParams,
    templates: &'a [u8],
    weights: &'a [u8],
) -> Result<NgramTable<'a>, ExportError> {
    Ok(match codes {
        Some(codes) => NgramTable::Codebook(CodebookNgramSpec {
            normalization: features.normalization,
            templates,
            rows: features.rows,
            hashes_per_feature: features.hashes_per_feature,
            codes,
            weight_type: params.weight_type,
            weight_shift: params.weight_shift,
            codebook: weights,
        }),
        None if features.hashes_per_feature != 1 => {
            return Err(ExportError::HashesPerFeature { hashes: features.hashes_per_feature })
        }
        None => NgramTable::Hashed(HashedNgramSpec {
            normalization: features.normalization,
            templates,
            bucket_bits: features.bucket_bits().ok_or(ExportError::RowCount { rows: features.rows })?,
            weight_type: params.weight_type,
            weight_shift: params.weight_shift,
            weights,
        }),
    })
}

/// Bytes of the model file with `model_tags`, `template_count` templates, the table of `features` (its
/// templates are not read), direct weights or (`codebook`) codes, a word list of `words` words (if
/// any), and metadata of `metadata_len` bytes.
pub fn file_size(
    model_tags: &[String],
    template_count: usize,
    features: &FeatureSpec,
    codebook: bool,
    weight_type: WeightType,
    words: Option<usize>,
    metadata_len: usize,
) -> usize {
    let l = model_tags.len();
    let rows = features.buckets();
    let codes = codebook.then(|| vec![0u8; rows]);
    let weight_rows = if codebook { CODEBOOK_ENTRIES } else { rows };
    let weights = vec![0u8; weight_rows * l * weight_type.bytes()];
    let templates = vec![1u8; template_count * decoder::internal::features::TEMPLATE_BYTES];
    let crf = vec![0u8; 2 * l * l];
    let edge = vec![0u8; 2 * l];
    let tag_names = model_tags.join(" ");
    let metadata = " ".repeat(metadata_len);
    let params = QuantParams { weight_type, score_frac_bits: 0, weight_shift: 0 };
    let word_bytes = words.map(|n| {
        let bits = decoder::internal::lexicon::index_bits_for(n);
        let index = vec![0u8; ((1usize << bits) + 1) * decoder::internal::lexicon::WORD_HASH_BYTES];
        (vec![0u8; n * decoder::internal::lexicon::WORD_HASH_BYTES], bits, index)
    });
    let words = word_bytes.as_ref().map(|(hashes, bits, index)| (hashes.as_slice(), *bits, index.as_slice()));
    let Ok(emission) = emission_spec(features, codes.as_deref(), params, &templates, &weights, words) else {
        return usize::MAX;
    };
    let body = ModelBody {
        tag_names: &tag_names,
        constraints: None,
        score_frac_bits: 0,
        emission,
        transitions: TransitionSpec { transitions: &crf, start: &edge, end: &edge },
        metadata: &metadata,
    };
    format::encode(&body).map_or(usize::MAX, |bytes| bytes.len())
}

/// The real-valued model a model file stands for (integer scores times their step); an error for a
/// model whose emission is not a hashed n-gram table.
pub fn dequantize(model: &decoder::Model<'_>) -> anyhow::Result<FloatModel> {
    let Some(emission) = model.ngram() else { anyhow::bail!("not an n-gram model: it has no table to dequantize") };
    let l = model.num_tags();
    let frac = i32::from(model.score_frac_bits());
    let spec = model.body().emission;
    let words = spec.words().map(|(hashes, _, _)| hashes);
    let (normalization, weight_type, weight_shift, stored) = match spec.table() {
        Some(NgramTable::Hashed(s)) => (s.normalization, s.weight_type, s.weight_shift, s.weights),
        Some(NgramTable::Codebook(s)) => (s.normalization, s.weight_type, s.weight_shift, s.codebook),
        None => anyhow::bail!("not an n-gram model: it has no table to dequantize"),
    };
    let step = 2f64.powi(i32::from(weight_shift) - frac);
    let weights: Vec<f32> = match weight_type {
        WeightType::I8 => stored.iter().map(|&b| (f64::from(b as i8) * step) as f32).collect(),
        WeightType::I16 => {
            stored.chunks_exact(2).map(|b| (f64::from(i16::from_le_bytes([b[0], b[1]])) * step) as f32).collect()
        }
    };
    let unit = 2f64.powi(-frac);
    let real = |v: i32| (f64::from(v) * unit) as f32;
    let transitions = (0..l * l).map(|i| real(model.transition(i / l, i % l))).collect();
    Ok(FloatModel {
        tag_names: model.tag_names().map(str::to_string).collect(),
        features: FeatureSpec {
            templates: emission.templates().to_vec(),
            rows: emission.rows() as u32,
            hashes_per_feature: emission.hashes_per_feature() as u8,
            normalization,
            lexicon: words.map(|w| std::sync::Arc::new(crate::lexicon::TrainingLexicon::from_hashes(w))),
            tokens: model.token_templates().map(|t| std::sync::Arc::new(crate::token::TokenFeatures::from_decoder(t))),
        },
        custom_constraints: (model.scheme() == decoder::TagScheme::Custom)
            .then(|| model.constraints_in::<decoder::internal::tags::ModelMask, { decoder::MAX_TAGS }>()),
        weights,
        codes: emission.codes().map(<[u8]>::to_vec),
        transitions,
        start: (0..l).map(|j| real(model.start_score(j))).collect(),
        end: (0..l).map(|j| real(model.end_score(j))).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{FeatureSpec, TemplateSet};

    fn sample_model() -> FloatModel {
        let tags: Vec<String> = ["B", "M", "E", "S"].iter().map(|s| s.to_string()).collect();
        let mut model = FloatModel::zeros(tags, FeatureSpec::new(TemplateSet::Basic.templates(), 6));
        for (i, w) in model.weights.iter_mut().enumerate() {
            *w = ((i * 7919) % 1000) as f32 / 250.0 - 2.0;
        }
        for (i, t) in model.transitions.iter_mut().enumerate() {
            *t = (i as f32 - 8.0) / 3.0;
        }
        model.start = vec![0.5, -7.0, -6.0, 0.25];
        model.end = vec![-3.0, -2.0, 1.0, 0.75];
        model
    }

    #[test]
    fn round_trip_through_the_decoder_is_within_half_a_step() {
        let model = sample_model();
        let (_, constraints) = model.constraints();
        for weight_type in [WeightType::I8, WeightType::I16] {
            for params in candidates(&model, weight_type).unwrap() {
                let bytes = export(&model, params, "test").unwrap();
                let loaded = decoder::Model::from_bytes(&bytes).expect("valid model");
                assert_eq!(loaded.metadata(), "test");
                let back = dequantize(&loaded).unwrap();
                assert_eq!(back.features, model.features);
                let step = params.emission_step() as f32;
                let limit = if weight_type == WeightType::I8 { 127.0 } else { 32767.0 } * step;
                for (a, b) in model.weights.iter().zip(&back.weights) {
                    let expected = a.clamp(-limit, limit);
                    assert!((expected - b).abs() <= step / 2.0 + 1e-6, "{params:?}: {a} -> {b}");
                }
                let unit = params.score_step() as f32;
                for from in 0..4 {
                    for to in 0..4 {
                        if constraints.allows(from, to) {
                            let (a, b) = (model.transitions[from * 4 + to], back.transitions[from * 4 + to]);
                            assert!((a - b).abs() <= unit / 2.0 + 1e-6);
                        }
                    }
                }
                // Every stored emission weight, shifted, stays within i16 as the format requires.
                assert!(params.weight_shift <= if weight_type == WeightType::I8 { 8 } else { 0 });
            }
        }
    }

    #[test]
    fn codebook_models_round_trip_through_the_decoder() {
        let model = sample_model();
        let rows = model.features.buckets();
        // A codebook of the first 256 rows, and codes that reuse them in a scrambled order.
        let codebook: Vec<f32> = model.weights.iter().copied().cycle().take(CODEBOOK_ENTRIES * 4).collect();
        let codes: Vec<u8> = (0..rows).map(|r| (r * 37 % 256) as u8).collect();
        let mut model = model.into_codebook(codebook, codes.clone());
        model.features.rows = rows as u32;
        model.features.hashes_per_feature = 2;
        let params = candidates(&model, WeightType::I8).unwrap()[0];
        let bytes = export(&model, params, "cb").unwrap();
        assert_eq!(bytes[4], 2, "codebook models are format version 2");
        let loaded = decoder::Model::from_bytes(&bytes).expect("valid model");
        assert_eq!(loaded.ngram().unwrap().codes(), Some(&codes[..]));
        let back = dequantize(&loaded).unwrap();
        assert_eq!(back.codes.as_deref(), Some(&codes[..]));
        assert_eq!(back.features, model.features);
        let step = params.emission_step() as f32;
        for (a, b) in model.weights.iter().zip(&back.weights) {
            assert!((a - b).abs() <= step / 2.0 + 1e-6);
        }
        let predicted =
            file_size(&model.tag_names, model.features.templates.len(), &model.features, true, WeightType::I8, None, 2);
        assert_eq!(bytes.len(), predicted);
        // Direct weights cannot have a row count that is not a power of two.
        let mut odd = sample_model();
        odd.features.rows = 63;
        odd.weights.truncate(63 * 4);
        assert!(matches!(export(&odd, params, ""), Err(ExportError::RowCount { rows: 63 })));
        // ... nor more than one row per feature.
        let mut two = sample_model();
        two.features.hashes_per_feature = 2;
        assert!(matches!(export(&two, params, ""), Err(ExportError::HashesPerFeature { hashes: 2 })));
    }

    #[test]
    fn an_all_zero_model_still_exports() {
        let tags: Vec<String> = ["B", "M", "E", "S"].iter().map(|s| s.to_string()).collect();
        let model = FloatModel::zeros(tags, FeatureSpec::new(TemplateSet::Basic.templates(), 4));
        for weight_type in [WeightType::I8, WeightType::I16] {
            let params = candidates(&model, weight_type).unwrap()[0];
            let bytes = export(&model, params, "").unwrap();
            assert!(decoder::Model::from_bytes(&bytes).is_ok());
        }
    }

    #[test]
    fn first_i8_candidate_clips_nothing() {
        let model = sample_model();
        let params = candidates(&model, WeightType::I8).unwrap()[0];
        let tensors = quantize(&model, params);
        let max_q = tensors.weights.iter().map(|w| w.unsigned_abs()).max().unwrap();
        assert!(max_q <= 127 && max_q > 63, "{max_q}");
    }

    #[test]
    fn file_size_matches_export() {
        let model = sample_model();
        let params = candidates(&model, WeightType::I8).unwrap()[0];
        let bytes = export(&model, params, "abc").unwrap();
        let predicted = file_size(
            &model.tag_names,
            model.features.templates.len(),
            &model.features,
            false,
            WeightType::I8,
            None,
            3,
        );
        assert_eq!(bytes.len(), predicted);
    }
}

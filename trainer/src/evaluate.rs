//! Scoring a model on labelled sentences: word-level P/R/F for segmentation (the SIGHAN scorer), tag
//! accuracy for other tasks. The float path is used during training; the integer path (the decoder's)
//! for exported models.

use std::fmt;

use rayon::prelude::*;

use crate::corpus::{tags_to_words, Sentence, WordTags};
use crate::model::FloatModel;
use crate::scorer::{score_words, Dictionary, ScoreCounts};
use decoder::internal::segment::ChunkRoles;

/// How well predicted tags match the gold ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DevScore {
    /// Word segmentation: the official word counts.
    Segmentation(ScoreCounts),
    /// Any other tagging task: per-character accuracy.
    Tagging {
        /// Characters tagged correctly.
        correct: usize,
        /// Characters.
        total: usize,
    },
    /// Chunking or named entities over tokens: conlleval's chunk counts.
    Chunks(crate::conlleval::ChunkCounts),
}

impl DevScore {
    /// The number model selection maximises: F1 or accuracy, in [0, 1].
    pub fn value(&self) -> f64 {
        match self {
            Self::Segmentation(counts) if counts.true_words > 0 => counts.f1(),
            Self::Segmentation(_) => 0.0,
            Self::Tagging { correct, total } => *correct as f64 / (*total).max(1) as f64,
            Self::Chunks(counts) => counts.f1() / 100.0,
        }
    }
}

impl fmt::Display for DevScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Segmentation(counts) => write!(f, "F1 {:.2}", 100.0 * counts.f1()),
            Self::Tagging { .. } => write!(f, "accuracy {:.2}", 100.0 * self.value()),
            Self::Chunks(counts) => write!(f, "entity F1 {:.2}", counts.f1()),
        }
    }
}

/// Scores predicted tag sequences against the sentences' gold tags.
pub fn score_predictions(
    tag_names: &[String],
    sentences: &[Sentence],
    predicted: &[Vec<u8>],
    dictionary: Option<&Dictionary>,
) -> DevScore {
    if WordTags::of(tag_names).is_some() {
        let roles = ChunkRoles::from_names(tag_names.iter().map(String::as_str));
        let gold: Vec<Vec<String>> = sentences.iter().map(|s| tags_to_words(&s.chars, &s.tags, &roles)).collect();
        let test: Vec<Vec<String>> =
            sentences.iter().zip(predicted).map(|(s, tags)| tags_to_words(&s.chars, tags, &roles)).collect();
        DevScore::Segmentation(score_words(&gold, &test, dictionary))
    } else {
        let total = sentences.iter().map(|s| s.tags.len()).sum();
        let correct =
            sentences.iter().zip(predicted).map(|(s, p)| s.tags.iter().zip(p).filter(|(a, b)| a == b).count()).sum();
        DevScore::Tagging { correct, total }
    }
}

/// Tags sentences with the float model (masked Viterbi), in parallel.
pub fn predict_float(model: &FloatModel, sentences: &[Sentence]) -> Vec<Vec<u8>> {
    let (_, constraints) = model.constraints();
    sentences
        .par_iter()
        .map_init(Vec::new, |emissions, sentence| {
            let rows = model.features.extract(&sentence.chars);
            model.emissions(&rows, emissions);
            model.viterbi(emissions, &constraints)
        })
        .collect()
}

/// Scores the float model on `sentences`.
pub fn evaluate_float(model: &FloatModel, sentences: &[Sentence]) -> DevScore {
    let predicted = predict_float(model, sentences);
    score_predictions(&model.tag_names, sentences, &predicted, None)
}

/// The scale of emission scores against the CRF layer, measured on some sentences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleReport {
    /// Mean over characters of (best emission score − runner-up).
    pub mean_emission_margin: f64,
    /// Mean |score| of the allowed transitions.
    pub mean_abs_transition: f64,
    /// Largest |score| of the allowed transitions.
    pub max_abs_transition: f64,
    /// Largest difference between two allowed transitions into the same tag: the most the CRF layer can
    /// change a decision by at one step.
    pub max_transition_spread: f64,
}

impl ScaleReport {
    /// True when the transitions are too small to overturn a typical emission decision.
    pub fn transitions_negligible(&self) -> bool {
        self.max_transition_spread < 0.1 * self.mean_emission_margin
    }
}

/// Measures [`ScaleReport`] for `model` on `sentences`.
pub fn scale_report(model: &FloatModel, sentences: &[Sentence]) -> ScaleReport {
    let l = model.num_tags();
    let (_, constraints) = model.constraints();
    let (margin_sum, positions) = sentences
        .par_iter()
        .map(|sentence| {
            let rows = model.features.extract(&sentence.chars);
            let mut emissions = Vec::new();
            model.emissions(&rows, &mut emissions);
            let mut sum = 0.0f64;
            for scores in emissions.chunks_exact(l) {
                let mut sorted: Vec<f32> = scores.to_vec();
                sorted.sort_by(|a, b| b.total_cmp(a));
                sum += f64::from(sorted[0] - sorted.get(1).copied().unwrap_or(sorted[0]));
            }
            (sum, emissions.len() / l)
        })
        .reduce(|| (0.0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let mut allowed = Vec::new();
    let mut spread = 0.0f64;
    for to in 0..l {
        let into: Vec<f64> = (0..l)
            .filter(|&from| constraints.allows(from, to))
            .map(|from| f64::from(model.transitions[from * l + to]))
            .collect();
        if let (Some(max), Some(min)) = (into.iter().copied().reduce(f64::max), into.iter().copied().reduce(f64::min)) {
            spread = spread.max(max - min);
        }
        allowed.extend(into);
    }
    ScaleReport {
        mean_emission_margin: margin_sum / positions.max(1) as f64,
        mean_abs_transition: allowed.iter().map(|v| v.abs()).sum::<f64>() / allowed.len().max(1) as f64,
        max_abs_transition: allowed.iter().map(|v| v.abs()).fold(0.0, f64::max),
        max_transition_spread: spread,
    }
}

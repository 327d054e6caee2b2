//! The floating-point model being trained: a hashed n-gram emission table plus the CRF layer
//! (transition, start and end scores), and its float Viterbi for evaluation during training.

use decoder::internal::tags::{ModelConstraints as Constraints, TagScheme};

use crate::crf::{Lattice, Marginals};
use crate::features::FeatureSpec;

/// A CRF over hashed n-gram features, all parameters `f32`, scores in natural-log units.
#[derive(Debug, Clone)]
pub struct FloatModel {
    /// Tag names in model order.
    pub tag_names: Vec<String>,
    /// Templates, table size and normalisation.
    pub features: FeatureSpec,
    /// `[rows][L]` emission weights, or with `codes` the `[CODEBOOK_ENTRIES][L]` codebook.
    pub weights: Vec<f32>,
    /// `[rows]` codebook entry of each table row, for a codebook model (`None`: rows hold weights).
    pub codes: Option<Vec<u8>>,
    /// `[L][L]` transition scores, `transitions[from * L + to]`.
    pub transitions: Vec<f32>,
    /// `[L]` scores of starting with each tag.
    pub start: Vec<f32>,
    /// `[L]` scores of ending with each tag.
    pub end: Vec<f32>,
    /// Hard constraints the tag names do not imply (IOB1 chunks, whose names are IOB2's); `None`: derived
    /// from the names.
    pub custom_constraints: Option<Constraints>,
}

impl FloatModel {
    /// A model with every parameter zero.
    pub fn zeros(tag_names: Vec<String>, features: FeatureSpec) -> Self {
        let l = tag_names.len();
        let weights = vec![0.0; features.buckets() * l];
        Self {
            tag_names,
            features,
            weights,
            codes: None,
            transitions: vec![0.0; l * l],
            start: vec![0.0; l],
            end: vec![0.0; l],
            custom_constraints: None,
        }
    }

    /// The element-wise mean of models of one shape (the same tags, features and table size, direct
    /// weights): an ensemble that costs nothing at decoding time (`None` for no models or mismatched
    /// shapes). For a linear model the mean of the parameters scores every input with the mean of the
    /// members' scores, so it is their score-averaging ensemble exactly.
    pub fn mean(models: &[FloatModel]) -> Option<FloatModel> {
        let (first, rest) = models.split_first()?;
        let same_shape = |m: &FloatModel| {
            m.tag_names == first.tag_names
                && m.features.rows == first.features.rows
                && m.features.templates == first.features.templates
                && m.codes.is_none()
                && m.weights.len() == first.weights.len()
        };
        if first.codes.is_some() || !rest.iter().all(same_shape) {
            return None;
        }
        let scale = 1.0 / models.len() as f32;
        let mean_of = |field: fn(&FloatModel) -> &[f32]| -> Vec<f32> {
            let mut sum: Vec<f32> = field(first).to_vec();
            for m in rest {
                for (s, v) in sum.iter_mut().zip(field(m)) {
                    *s += v;
                }
            }
            sum.iter().map(|s| s * scale).collect()
        };
        Some(FloatModel {
            weights: mean_of(|m| &m.weights),
            transitions: mean_of(|m| &m.transitions),
            start: mean_of(|m| &m.start),
            end: mean_of(|m| &m.end),
            ..first.clone()
        })
    }

    /// Number of tags `L`.
    pub fn num_tags(&self) -> usize {
        self.tag_names.len()
    }

    /// The tag scheme and hard constraints (derived from the tag names, as the decoder does, or the
    /// explicit ones of the six-tag segmentation set).
    pub fn constraints(&self) -> (TagScheme, Constraints) {
        if let Some(custom) = self.custom_constraints {
            return (TagScheme::Custom, custom);
        }
        crate::corpus::constraints_for(&self.tag_names)
    }

    /// Replaces the table by `codebook` (`[CODEBOOK_ENTRIES][L]`) and the code of each row.
    pub fn into_codebook(self, codebook: Vec<f32>, codes: Vec<u8>) -> Self {
        assert_eq!(codes.len(), self.features.buckets());
        Self { weights: codebook, codes: Some(codes), ..self }
    }

    /// Emission scores `[T][L]` of a sentence given its feature rows (`[T][rows_per_position]`).
    pub fn emissions(&self, rows: &[u32], out: &mut Vec<f32>) {
        let l = self.num_tags();
        let k = self.features.rows_per_position();
        let positions = rows.len() / k;
        out.clear();
        out.resize(positions * l, 0.0);
        for (scores, position_rows) in out.chunks_exact_mut(l).zip(rows.chunks_exact(k)) {
            for &row in position_rows {
                let row = self.codes.as_ref().map_or(row, |codes| u32::from(codes[row as usize]));
                let start = row as usize * l;
                for (s, w) in scores.iter_mut().zip(&self.weights[start..start + l]) {
                    *s += w;
                }
            }
        }
    }

    /// The path distribution's marginals of a sentence given its feature rows
    /// (`[T][rows_per_position]`), under `constraints`, every score (emissions, transitions, start and
    /// end) divided by `temperature` first (1: the model's own distribution).
    pub fn marginals(&self, rows: &[u32], constraints: &Constraints, temperature: f32) -> Marginals {
        let scale = |values: &[f32]| -> Vec<f32> { values.iter().map(|v| v / temperature).collect() };
        let mut emissions = Vec::new();
        self.emissions(rows, &mut emissions);
        Lattice {
            num_tags: self.num_tags(),
            emissions: &scale(&emissions),
            transitions: &scale(&self.transitions),
            start: &scale(&self.start),
            end: &scale(&self.end),
            constraints: Some(constraints),
        }
        .marginals()
    }

    /// The best tag sequence under the hard constraints (forbidden transitions, start and end tags are
    /// never chosen), like the decoder's integer Viterbi but in `f32`.
    pub fn viterbi(&self, emissions: &[f32], constraints: &Constraints) -> Vec<u8> {
        viterbi(emissions, &self.transitions, &self.start, &self.end, self.num_tags(), Some(constraints))
    }
}

/// Masked Viterbi over `[T][L]` emissions. With `constraints == None` every path is allowed.
pub fn viterbi(
    emissions: &[f32],
    transitions: &[f32],
    start: &[f32],
    end: &[f32],
    num_tags: usize,
    constraints: Option<&Constraints>,
) -> Vec<u8> {
    let l = num_tags;
    let t_len = emissions.len() / l;
    if t_len == 0 {
        return Vec::new();
    }
    let allows = |from: usize, to: usize| constraints.is_none_or(|c| c.allows(from, to));
    let mut score: Vec<f32> = (0..l)
        .map(
            |j| if constraints.is_none_or(|c| c.allows_start(j)) { start[j] + emissions[j] } else { f32::NEG_INFINITY },
        )
        .collect();
    let mut back = vec![0u8; t_len * l];
    let mut next = vec![0.0f32; l];
    for t in 1..t_len {
        for j in 0..l {
            let mut best = f32::NEG_INFINITY;
            let mut arg = 0usize;
            for i in 0..l {
                if !allows(i, j) {
                    continue;
                }
                let s = score[i] + transitions[i * l + j];
                if s > best {
                    best = s;
                    arg = i;
                }
            }
            next[j] = best + emissions[t * l + j];
            back[t * l + j] = arg as u8;
        }
        std::mem::swap(&mut score, &mut next);
    }
    let mut best = f32::NEG_INFINITY;
    let mut last = 0usize;
    for j in 0..l {
        if !constraints.is_none_or(|c| c.allows_end(j)) {
            continue;
        }
        let s = score[j] + end[j];
        if s > best {
            best = s;
            last = j;
        }
    }
    let mut tags = vec![0u8; t_len];
    tags[t_len - 1] = last as u8;
    for t in (1..t_len).rev() {
        tags[t - 1] = back[t * l + tags[t] as usize];
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::TemplateSet;

    #[test]
    fn viterbi_respects_the_mask() {
        let names: Vec<String> = ["B", "M", "E", "S"].iter().map(|s| s.to_string()).collect();
        let model = FloatModel::zeros(names, FeatureSpec::new(TemplateSet::Basic.templates(), 4));
        let (_, constraints) = model.constraints();
        // Emissions strongly prefer M everywhere, which can neither start nor end a sequence.
        let emissions: Vec<f32> = (0..3).flat_map(|_| [0.0, 5.0, 0.0, 0.0]).collect();
        let tags = model.viterbi(&emissions, &constraints);
        assert!(constraints.allows_sequence(&tags), "{tags:?}");
        assert_eq!(tags, vec![0, 1, 2]);
        let unmasked = viterbi(&emissions, &model.transitions, &model.start, &model.end, 4, None);
        assert_eq!(unmasked, vec![1, 1, 1]);
    }

    #[test]
    fn mean_scores_with_the_mean_of_the_members_scores() {
        let names: Vec<String> = ["B", "M", "E", "S"].iter().map(|s| s.to_string()).collect();
        let spec = FeatureSpec::new(TemplateSet::Basic.templates(), 4);
        let mut a = FloatModel::zeros(names.clone(), spec.clone());
        let mut b = FloatModel::zeros(names.clone(), spec.clone());
        for (i, (wa, wb)) in a.weights.iter_mut().zip(&mut b.weights).enumerate() {
            *wa = i as f32;
            *wb = -3.0 * i as f32 + 1.0;
        }
        a.transitions[5] = 2.0;
        b.transitions[5] = 4.0;
        b.start[3] = -1.0;
        a.end[0] = 0.5;
        let mean = FloatModel::mean(&[a.clone(), b.clone()]).expect("same shape");
        // Three positions, each reading rows of the 16-row table.
        let rows: Vec<u32> = (0..3 * spec.rows_per_position() as u32).map(|i| i * 5 % 16).collect();
        let (mut ea, mut eb, mut em) = (Vec::new(), Vec::new(), Vec::new());
        a.emissions(&rows, &mut ea);
        b.emissions(&rows, &mut eb);
        mean.emissions(&rows, &mut em);
        for ((x, y), m) in ea.iter().zip(&eb).zip(&em) {
            assert!((m - (x + y) / 2.0).abs() < 1e-4, "{m} vs {x} {y}");
        }
        assert_eq!(mean.transitions[5], 3.0);
        assert_eq!((mean.start[3], mean.end[0]), (-0.5, 0.25));

        let other_tags = FloatModel::zeros(names[..2].to_vec(), spec.clone());
        assert!(FloatModel::mean(&[a.clone(), other_tags]).is_none());
        let other_rows = FloatModel::zeros(names, FeatureSpec::new(TemplateSet::Basic.templates(), 5));
        assert!(FloatModel::mean(&[a, other_rows]).is_none());
        assert!(FloatModel::mean(&[]).is_none());
    }
}

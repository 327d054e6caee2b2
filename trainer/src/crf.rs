//! The CRF objective: log-partition and marginals by forward-backward in log space, the negative
//! log-likelihood of the gold path and its gradient; plus the per-character softmax baseline.
//!
//! Hard constraints take part in training when given: a forbidden transition, start or end tag has
//! probability zero, exactly as it can never be chosen when decoding. Then its score gets no gradient.

// Index loops over tags, positions and the two sides of a diff mirror the formulas more clearly than
// iterator chains would.
#![allow(clippy::needless_range_loop)]

use decoder::internal::tags::ModelConstraints as Constraints;

/// The scores of one sentence's lattice: `[T][L]` emissions and the CRF layer.
#[derive(Debug, Clone, Copy)]
pub struct Lattice<'a> {
    /// Number of tags `L`.
    pub num_tags: usize,
    /// `[T][L]` emission scores.
    pub emissions: &'a [f32],
    /// `[L][L]` transition scores, `from * L + to`.
    pub transitions: &'a [f32],
    /// `[L]` start scores.
    pub start: &'a [f32],
    /// `[L]` end scores.
    pub end: &'a [f32],
    /// Paths the model may take; `None` allows every path.
    pub constraints: Option<&'a Constraints>,
}

/// Which training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// Linear-chain CRF negative log-likelihood: emissions and transitions trained jointly.
    #[default]
    Crf,
    /// Per-character softmax cross-entropy on the emissions alone (transitions stay zero); decoded with
    /// the same masked Viterbi. The baseline of the learning-rate experiment.
    Softmax,
}

/// The gradient of one sentence's loss with respect to its scores.
#[derive(Debug, Clone, Default)]
pub struct SentenceGradient {
    /// The sentence's loss (natural log units).
    pub loss: f64,
    /// `[T][L]`: d loss / d emission score = model marginal − gold indicator.
    pub emissions: Vec<f32>,
    /// `[L][L]`: expected minus gold transition counts.
    pub transitions: Vec<f64>,
    /// `[L]`: expected minus gold start counts.
    pub start: Vec<f64>,
    /// `[L]`: expected minus gold end counts.
    pub end: Vec<f64>,
}

/// A path distribution's marginals ([`Lattice::marginals`]): what the CRF gradient reads of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Marginals {
    /// `[T][L]`: the probability of each tag at each position.
    pub emissions: Vec<f32>,
    /// `[L][L]`: the expected count of each transition.
    pub transitions: Vec<f64>,
    /// `[L]`: the probability of each first tag.
    pub start: Vec<f64>,
    /// `[L]`: the probability of each last tag.
    pub end: Vec<f64>,
}

impl Marginals {
    /// The expected counts as a gradient (before the target's counts are subtracted).
    fn into_gradient(self) -> SentenceGradient {
        SentenceGradient {
            loss: 0.0,
            emissions: self.emissions,
            transitions: self.transitions,
            start: self.start,
            end: self.end,
        }
    }
}

impl SentenceGradient {
    /// A zero loss and gradient for a sentence of `t_len` characters and `l` tags.
    fn zeros(t_len: usize, l: usize) -> Self {
        Self {
            loss: 0.0,
            emissions: vec![0.0; t_len * l],
            transitions: vec![0.0; l * l],
            start: vec![0.0; l],
            end: vec![0.0; l],
        }
    }
}

impl Lattice<'_> {
    fn len(&self) -> usize {
        self.emissions.len() / self.num_tags
    }

    fn emission(&self, t: usize, j: usize) -> f64 {
        f64::from(self.emissions[t * self.num_tags + j])
    }

    fn transition(&self, i: usize, j: usize) -> f64 {
        if self.constraints.is_none_or(|c| c.allows(i, j)) {
            f64::from(self.transitions[i * self.num_tags + j])
        } else {
            f64::NEG_INFINITY
        }
    }

    fn start_score(&self, j: usize) -> f64 {
        if self.constraints.is_none_or(|c| c.allows_start(j)) {
            f64::from(self.start[j])
        } else {
            f64::NEG_INFINITY
        }
    }

    fn end_score(&self, j: usize) -> f64 {
        if self.constraints.is_none_or(|c| c.allows_end(j)) {
            f64::from(self.end[j])
        } else {
            f64::NEG_INFINITY
        }
    }

    /// Score of one tag path (−∞ when the constraints forbid it).
    pub fn path_score(&self, tags: &[u8]) -> f64 {
        let Some(&first) = tags.first() else { return 0.0 };
        let mut score = self.start_score(usize::from(first));
        for (t, &tag) in tags.iter().enumerate() {
            score += self.emission(t, usize::from(tag));
            if t > 0 {
                score += self.transition(usize::from(tags[t - 1]), usize::from(tag));
            }
        }
        score + self.end_score(usize::from(tags[tags.len() - 1]))
    }

    /// The CRF layer in `f64` with forbidden entries at −∞, and for each tag its allowed predecessors
    /// and successors (so the recursions skip forbidden pairs instead of adding zeros).
    fn prepare(&self) -> Prepared {
        let l = self.num_tags;
        let transitions: Vec<f64> = (0..l * l).map(|k| self.transition(k / l, k % l)).collect();
        let predecessors = (0..l).map(|j| (0..l).filter(|&i| transitions[i * l + j].is_finite()).collect()).collect();
        let successors = (0..l).map(|i| (0..l).filter(|&j| transitions[i * l + j].is_finite()).collect()).collect();
        Prepared { transitions, predecessors, successors }
    }

    /// Forward scores `alpha[t][j]`: log-sum of the scores of all path prefixes ending in tag `j` at `t`.
    fn forward(&self, p: &Prepared) -> Vec<f64> {
        let (l, t_len) = (self.num_tags, self.len());
        let mut alpha = vec![f64::NEG_INFINITY; t_len * l];
        for j in 0..l {
            alpha[j] = self.start_score(j) + self.emission(0, j);
        }
        let mut terms = [0.0f64; decoder::MAX_TAGS];
        for t in 1..t_len {
            let (previous, current) = alpha.split_at_mut(t * l);
            let previous = &previous[(t - 1) * l..];
            for j in 0..l {
                let preds: &[usize] = &p.predecessors[j];
                for (term, &i) in terms.iter_mut().zip(preds) {
                    *term = previous[i] + p.transitions[i * l + j];
                }
                current[j] = log_sum_exp(&terms[..preds.len()]) + self.emission(t, j);
            }
        }
        alpha
    }

    /// Backward scores `beta[t][i]`: log-sum of the scores of all path suffixes after tag `i` at `t`.
    fn backward(&self, p: &Prepared) -> Vec<f64> {
        let (l, t_len) = (self.num_tags, self.len());
        let mut beta = vec![f64::NEG_INFINITY; t_len * l];
        for i in 0..l {
            beta[(t_len - 1) * l + i] = self.end_score(i);
        }
        let mut terms = [0.0f64; decoder::MAX_TAGS];
        let mut next_scores = vec![0.0f64; l];
        for t in (0..t_len - 1).rev() {
            // Emission of the next position plus its backward score, shared by every predecessor.
            for (j, score) in next_scores.iter_mut().enumerate() {
                *score = self.emission(t + 1, j) + beta[(t + 1) * l + j];
            }
            for i in 0..l {
                let succs: &[usize] = &p.successors[i];
                for (term, &j) in terms.iter_mut().zip(succs) {
                    *term = p.transitions[i * l + j] + next_scores[j];
                }
                beta[t * l + i] = log_sum_exp(&terms[..succs.len()]);
            }
        }
        beta
    }

    /// log Z: the log-sum of the scores of every allowed path.
    pub fn log_partition(&self) -> f64 {
        if self.len() == 0 {
            return 0.0;
        }
        let l = self.num_tags;
        let alpha = self.forward(&self.prepare());
        let last = &alpha[(self.len() - 1) * l..];
        let terms: Vec<f64> = (0..l).map(|j| last[j] + self.end_score(j)).collect();
        log_sum_exp(&terms)
    }

    /// The CRF negative log-likelihood of `gold` and its gradient with respect to every score.
    /// `None` when the gold path itself is forbidden by the constraints (its likelihood is zero).
    pub fn crf_gradient(&self, gold: &[u8]) -> Option<SentenceGradient> {
        let gold_score = self.path_score(gold);
        if !gold_score.is_finite() {
            return None;
        }
        let (log_z, expected) = self.expectations();
        let mut grad = SentenceGradient { loss: log_z - gold_score, ..expected.into_gradient() };
        if !gold.is_empty() {
            subtract_gold(&mut grad, gold, self.num_tags, 1.0);
        }
        Some(grad)
    }

    /// The cross-entropy of the model's path distribution against a mixture of the gold path (weight
    /// `1 - teacher_weight`) and a teacher's path distribution given by its [`Marginals`] (knowledge
    /// distillation), and its gradient: the model's expected counts minus the mixture's. `None` when
    /// the gold path is forbidden, as for [`Lattice::crf_gradient`].
    pub fn distilled_crf_gradient(
        &self,
        gold: &[u8],
        teacher: &Marginals,
        teacher_weight: f32,
    ) -> Option<SentenceGradient> {
        let gold_score = self.path_score(gold);
        if !gold_score.is_finite() {
            return None;
        }
        let (w, l) = (f64::from(teacher_weight), self.num_tags);
        let (log_z, expected) = self.expectations();
        let mut grad = expected.into_gradient();
        // The teacher's expected path score; entries it gives no mass (forbidden ones among them) add nothing.
        let mut teacher_score = 0.0;
        for (t, row) in teacher.emissions.chunks_exact(l).enumerate() {
            for (j, &p) in row.iter().enumerate().filter(|(_, &p)| p > 0.0) {
                teacher_score += f64::from(p) * self.emission(t, j);
                grad.emissions[t * l + j] -= (w * f64::from(p)) as f32;
            }
        }
        for (k, &p) in teacher.transitions.iter().enumerate().filter(|(_, &p)| p > 0.0) {
            teacher_score += p * self.transition(k / l, k % l);
            grad.transitions[k] -= w * p;
        }
        for j in 0..l {
            if teacher.start[j] > 0.0 {
                teacher_score += teacher.start[j] * self.start_score(j);
                grad.start[j] -= w * teacher.start[j];
            }
            if teacher.end[j] > 0.0 {
                teacher_score += teacher.end[j] * self.end_score(j);
                grad.end[j] -= w * teacher.end[j];
            }
        }
        grad.loss = log_z - (1.0 - w) * gold_score - w * teacher_score;
        if !gold.is_empty() {
            subtract_gold(&mut grad, gold, l, 1.0 - w);
        }
        Some(grad)
    }

    /// The path distribution's marginals: per position and tag, per transition (summed over the
    /// positions), at the start and at the end. A teacher's, for [`Lattice::distilled_crf_gradient`].
    pub fn marginals(&self) -> Marginals {
        self.expectations().1
    }

    /// log Z and the marginals, by forward-backward.
    fn expectations(&self) -> (f64, Marginals) {
        let (l, t_len) = (self.num_tags, self.len());
        let mut marginals = Marginals {
            emissions: vec![0.0; t_len * l],
            transitions: vec![0.0; l * l],
            start: vec![0.0; l],
            end: vec![0.0; l],
        };
        if t_len == 0 {
            return (0.0, marginals);
        }
        let prepared = self.prepare();
        let alpha = self.forward(&prepared);
        let beta = self.backward(&prepared);
        let last = &alpha[(t_len - 1) * l..];
        let end_terms: Vec<f64> = (0..l).map(|j| last[j] + self.end_score(j)).collect();
        let log_z = log_sum_exp(&end_terms);

        for t in 0..t_len {
            for j in 0..l {
                let p = (alpha[t * l + j] + beta[t * l + j] - log_z).exp();
                marginals.emissions[t * l + j] = p as f32;
                if t == 0 {
                    marginals.start[j] += p;
                }
                if t == t_len - 1 {
                    marginals.end[j] += p;
                }
            }
            if t > 0 {
                for i in 0..l {
                    let from = alpha[(t - 1) * l + i];
                    if from == f64::NEG_INFINITY {
                        continue;
                    }
                    for &j in &prepared.successors[i] {
                        let score =
                            from + prepared.transitions[i * l + j] + self.emission(t, j) + beta[t * l + j] - log_z;
                        marginals.transitions[i * l + j] += score.exp();
                    }
                }
            }
        }
        (log_z, marginals)
    }

    /// Per-character softmax cross-entropy of the emissions and its gradient (transitions get none).
    pub fn softmax_gradient(&self, gold: &[u8]) -> SentenceGradient {
        let (l, t_len) = (self.num_tags, self.len());
        let mut grad = SentenceGradient::zeros(t_len, l);
        let mut scores = vec![0.0; l];
        for t in 0..t_len {
            for (j, s) in scores.iter_mut().enumerate() {
                *s = self.emission(t, j);
            }
            let log_norm = log_sum_exp(&scores);
            for j in 0..l {
                grad.emissions[t * l + j] = (scores[j] - log_norm).exp() as f32;
            }
            let y = usize::from(gold[t]);
            grad.loss += log_norm - scores[y];
            grad.emissions[t * l + y] -= 1.0;
        }
        grad
    }
}

/// Per-lattice tables for the recursions.
struct Prepared {
    /// `[L][L]` transition scores, −∞ where forbidden.
    transitions: Vec<f64>,
    /// For each tag, the tags allowed before it.
    predecessors: Vec<Vec<usize>>,
    /// For each tag, the tags allowed after it.
    successors: Vec<Vec<usize>>,
}

/// Subtracts `weight` times the gold path's counts (a non-empty path).
fn subtract_gold(grad: &mut SentenceGradient, gold: &[u8], l: usize, weight: f64) {
    for (t, &tag) in gold.iter().enumerate() {
        let y = usize::from(tag);
        grad.emissions[t * l + y] -= weight as f32;
        if t > 0 {
            grad.transitions[usize::from(gold[t - 1]) * l + y] -= weight;
        }
    }
    grad.start[usize::from(gold[0])] -= weight;
    grad.end[usize::from(gold[gold.len() - 1])] -= weight;
}

/// `log Σ exp(x)`, exact for −∞ terms (an all −∞ input gives −∞, not NaN).
pub fn log_sum_exp(values: &[f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + values.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoder::internal::tags::derive_constraints_in as derive_constraints;

    /// A deterministic pseudo-random number in [-1, 1).
    fn noise(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    struct Tiny {
        emissions: Vec<f32>,
        transitions: Vec<f32>,
        start: Vec<f32>,
        end: Vec<f32>,
    }

    fn tiny(t_len: usize, l: usize, seed: u64) -> Tiny {
        let mut s = seed;
        let mut draw = |n: usize| (0..n).map(|_| 2.0 * noise(&mut s)).collect::<Vec<f32>>();
        Tiny { emissions: draw(t_len * l), transitions: draw(l * l), start: draw(l), end: draw(l) }
    }

    fn lattice<'a>(m: &'a Tiny, l: usize, c: Option<&'a Constraints>) -> Lattice<'a> {
        Lattice {
            num_tags: l,
            emissions: &m.emissions,
            transitions: &m.transitions,
            start: &m.start,
            end: &m.end,
            constraints: c,
        }
    }

    /// Every tag sequence of length `t_len` over `l` tags.
    fn all_paths(t_len: usize, l: usize) -> Vec<Vec<u8>> {
        (0..l.pow(t_len as u32))
            .map(|mut code| {
                (0..t_len)
                    .map(|_| {
                        let tag = (code % l) as u8;
                        code /= l;
                        tag
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn log_partition_equals_brute_force() {
        let (_, bmes) = derive_constraints(["B", "M", "E", "S"].into_iter());
        for (t_len, l, constraints) in
            [(1, 3, None), (4, 3, None), (5, 4, None), (5, 4, Some(&bmes)), (1, 4, Some(&bmes))]
        {
            let m = tiny(t_len, l, 7 + t_len as u64);
            let lat = lattice(&m, l, constraints);
            let scores: Vec<f64> = all_paths(t_len, l).iter().map(|p| lat.path_score(p)).collect();
            let brute = log_sum_exp(&scores);
            assert!((lat.log_partition() - brute).abs() < 1e-9, "T={t_len} L={l}: {} vs {brute}", lat.log_partition());
        }
    }

    #[test]
    fn marginals_sum_to_one_and_forbidden_ones_are_zero() {
        let (_, bmes) = derive_constraints(["B", "M", "E", "S"].into_iter());
        let m = tiny(6, 4, 3);
        let gold = [0u8, 1, 2, 3, 0, 2];
        let grad = lattice(&m, 4, Some(&bmes)).crf_gradient(&gold).unwrap();
        for t in 0..6 {
            // gradient = marginal - gold, so it sums to zero at each position.
            let sum: f32 = grad.emissions[t * 4..t * 4 + 4].iter().sum();
            assert!(sum.abs() < 1e-5);
        }
        // S -> M is forbidden: no expected count, and the gold path does not use it.
        assert_eq!(grad.transitions[3 * 4 + 1], 0.0);
        // The gold path B M E S B E is allowed, but S M E is not.
        assert!(lattice(&m, 4, Some(&bmes)).crf_gradient(&[3, 1, 2]).is_none());
    }

    /// The analytic gradient against central finite differences of the loss, for every parameter.
    #[test]
    fn gradient_matches_finite_differences() {
        let (_, bmes) = derive_constraints(["B", "M", "E", "S"].into_iter());
        for constraints in [None, Some(&bmes)] {
            let (t_len, l) = (5, 4);
            let gold = [0u8, 2, 3, 0, 2];
            let base = tiny(t_len, l, 11);
            let grad = lattice(&base, l, constraints).crf_gradient(&gold).unwrap();
            let loss_with = |edit: &dyn Fn(&mut Tiny)| {
                let mut m = Tiny {
                    emissions: base.emissions.clone(),
                    transitions: base.transitions.clone(),
                    start: base.start.clone(),
                    end: base.end.clone(),
                };
                edit(&mut m);
                lattice(&m, l, constraints).crf_gradient(&gold).unwrap().loss
            };
            let h = 1e-2f32;
            let check = |analytic: f64, plus: f64, minus: f64, what: &str| {
                let numeric = (plus - minus) / (2.0 * f64::from(h));
                assert!((analytic - numeric).abs() < 2e-3, "{what}: analytic {analytic} numeric {numeric}");
            };
            for idx in 0..t_len * l {
                check(
                    f64::from(grad.emissions[idx]),
                    loss_with(&|m| m.emissions[idx] += h),
                    loss_with(&|m| m.emissions[idx] -= h),
                    "emission",
                );
            }
            for idx in 0..l * l {
                check(
                    grad.transitions[idx],
                    loss_with(&|m| m.transitions[idx] += h),
                    loss_with(&|m| m.transitions[idx] -= h),
                    "transition",
                );
            }
            for idx in 0..l {
                check(grad.start[idx], loss_with(&|m| m.start[idx] += h), loss_with(&|m| m.start[idx] -= h), "start");
                check(grad.end[idx], loss_with(&|m| m.end[idx] += h), loss_with(&|m| m.end[idx] -= h), "end");
            }
        }
    }

    /// Distillation's gradient against finite differences of its loss, with a teacher of other scores;
    /// a teacher that is the gold path itself gives the plain CRF's loss and gradient.
    #[test]
    fn distilled_gradient_matches_finite_differences_and_a_gold_teacher_changes_nothing() {
        let (_, bmes) = derive_constraints(["B", "M", "E", "S"].into_iter());
        let (t_len, l) = (5, 4);
        let gold = [0u8, 2, 3, 0, 2];
        let base = tiny(t_len, l, 13);
        let teacher_scores = tiny(t_len, l, 17);
        let teacher = lattice(&teacher_scores, l, Some(&bmes)).marginals();
        let loss = |m: &Tiny| lattice(m, l, Some(&bmes)).distilled_crf_gradient(&gold, &teacher, 0.7).unwrap().loss;
        let grad = lattice(&base, l, Some(&bmes)).distilled_crf_gradient(&gold, &teacher, 0.7).unwrap();
        let h = 1e-2f32;
        // Which scores a finite difference shifts.
        type Field = fn(&mut Tiny) -> &mut Vec<f32>;
        let shifted = |field: Field, idx: usize, by: f32| {
            let mut m = Tiny {
                emissions: base.emissions.clone(),
                transitions: base.transitions.clone(),
                start: base.start.clone(),
                end: base.end.clone(),
            };
            field(&mut m)[idx] += by;
            loss(&m)
        };
        let fields: [(Field, Vec<f64>); 4] = [
            (|m| &mut m.emissions, grad.emissions.iter().map(|&g| f64::from(g)).collect()),
            (|m| &mut m.transitions, grad.transitions.clone()),
            (|m| &mut m.start, grad.start.clone()),
            (|m| &mut m.end, grad.end.clone()),
        ];
        for (field, analytic) in fields {
            for (idx, &a) in analytic.iter().enumerate() {
                let numeric = (shifted(field, idx, h) - shifted(field, idx, -h)) / (2.0 * f64::from(h));
                assert!((a - numeric).abs() < 2e-3, "index {idx}: analytic {a} numeric {numeric}");
            }
        }
        // The teacher moves the gradient: it is not the gold path's.
        let plain = lattice(&base, l, Some(&bmes)).crf_gradient(&gold).unwrap();
        assert!(plain.emissions.iter().zip(&grad.emissions).any(|(a, b)| (a - b).abs() > 0.01));
        // A teacher certain of the gold path: the plain CRF.
        let mut certain = Tiny { emissions: vec![-30.0; t_len * l], ..tiny(t_len, l, 19) };
        for (t, &y) in gold.iter().enumerate() {
            certain.emissions[t * l + usize::from(y)] = 30.0;
        }
        let gold_teacher = lattice(&certain, l, Some(&bmes)).marginals();
        let same = lattice(&base, l, Some(&bmes)).distilled_crf_gradient(&gold, &gold_teacher, 0.5).unwrap();
        assert!((same.loss - plain.loss).abs() < 1e-6, "{} vs {}", same.loss, plain.loss);
        for (a, b) in same.emissions.iter().zip(&plain.emissions) {
            assert!((a - b).abs() < 1e-5);
        }
        for (a, b) in same.transitions.iter().zip(&plain.transitions) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn softmax_gradient_matches_finite_differences() {
        let (t_len, l) = (3, 4);
        let gold = [3u8, 0, 2];
        let base = tiny(t_len, l, 5);
        let grad = lattice(&base, l, None).softmax_gradient(&gold);
        for idx in 0..t_len * l {
            let mut plus = base.emissions.clone();
            let mut minus = base.emissions.clone();
            plus[idx] += 1e-2;
            minus[idx] -= 1e-2;
            let loss = |e: &Vec<f32>| Lattice { emissions: e, ..lattice(&base, l, None) }.softmax_gradient(&gold).loss;
            let numeric = (loss(&plus) - loss(&minus)) / 2e-2;
            assert!((f64::from(grad.emissions[idx]) - numeric).abs() < 2e-3);
        }
    }
}

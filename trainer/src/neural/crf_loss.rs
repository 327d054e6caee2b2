//! The training objectives of the neural emission model, written in candle tensor operations so that
//! candle differentiates them (no hand-written gradient): the CRF negative log-likelihood (the forward
//! algorithm, log-sum-exp over the tag lattice, under the hard masks) and the per-character softmax
//! cross-entropy.
//!
//! A batch is `B` sentences padded to `T` characters; `mask` is 1 on real characters and 0 on padding.
//! The gold path's score is a sum of products with host-built one-hot and count tensors, so it is
//! differentiable in the emissions and the CRF scores alike.

use candle_core::{DType, Device, Result, Tensor};
use decoder::internal::tags::ModelConstraints as Constraints;

/// What a forbidden transition, start or end tag adds to a path's score in training: large enough
/// that no forbidden path carries probability, finite so that nothing becomes NaN.
pub const FORBIDDEN: f32 = -1.0e4;

/// The gold tags of a batch, as the host-side tensors the losses need.
#[derive(Debug)]
pub struct GoldBatch {
    /// `[B][T][1]`: 1 on real characters, 0 on padding.
    pub mask: Tensor,
    /// `[B][T][L]`: 1 at each real character's gold tag.
    pub one_hot: Tensor,
    /// `[L][L]`: how often each gold transition occurs in the batch.
    pub transition_counts: Tensor,
    /// `[L]`: gold first tags.
    pub start_counts: Tensor,
    /// `[L]`: gold last tags.
    pub end_counts: Tensor,
    /// Real characters in the batch.
    pub characters: usize,
}

impl GoldBatch {
    /// The tensors of `tags` (one sequence per sentence, none empty), padded to the longest.
    pub fn new(tags: &[&[u8]], num_tags: usize, device: &Device) -> Result<Self> {
        let (b, l) = (tags.len(), num_tags);
        let t = tags.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut mask = vec![0f32; b * t];
        let mut one_hot = vec![0f32; b * t * l];
        let mut transitions = vec![0f32; l * l];
        let (mut start, mut end) = (vec![0f32; l], vec![0f32; l]);
        for (i, sentence) in tags.iter().enumerate() {
            for (p, &tag) in sentence.iter().enumerate() {
                mask[i * t + p] = 1.0;
                one_hot[(i * t + p) * l + usize::from(tag)] = 1.0;
            }
            for pair in sentence.windows(2) {
                transitions[usize::from(pair[0]) * l + usize::from(pair[1])] += 1.0;
            }
            if let (Some(&first), Some(&last)) = (sentence.first(), sentence.last()) {
                start[usize::from(first)] += 1.0;
                end[usize::from(last)] += 1.0;
            }
        }
        Ok(Self {
            mask: Tensor::from_vec(mask, (b, t, 1), device)?,
            one_hot: Tensor::from_vec(one_hot, (b, t, l), device)?,
            transition_counts: Tensor::from_vec(transitions, (l, l), device)?,
            start_counts: Tensor::from_vec(start, l, device)?,
            end_counts: Tensor::from_vec(end, l, device)?,
            characters: tags.iter().map(|s| s.len()).sum(),
        })
    }

    /// The same batch with its tensors converted to `dtype` (the tests use f64).
    pub fn to_dtype(&self, dtype: DType) -> Result<Self> {
        Ok(Self {
            mask: self.mask.to_dtype(dtype)?,
            one_hot: self.one_hot.to_dtype(dtype)?,
            transition_counts: self.transition_counts.to_dtype(dtype)?,
            start_counts: self.start_counts.to_dtype(dtype)?,
            end_counts: self.end_counts.to_dtype(dtype)?,
            characters: self.characters,
        })
    }
}

/// The hard masks as additive penalties: `([L][L], [L], [L])`, 0 where allowed, [`FORBIDDEN`] where not.
pub fn mask_penalties(constraints: &Constraints, num_tags: usize, device: &Device) -> Result<[Tensor; 3]> {
    let l = num_tags;
    let penalty = |allowed: bool| if allowed { 0.0 } else { FORBIDDEN };
    let transitions: Vec<f32> = (0..l * l).map(|i| penalty(constraints.allows(i / l, i % l))).collect();
    let start: Vec<f32> = (0..l).map(|j| penalty(constraints.allows_start(j))).collect();
    let end: Vec<f32> = (0..l).map(|j| penalty(constraints.allows_end(j))).collect();
    Ok([
        Tensor::from_vec(transitions, (l, l), device)?,
        Tensor::from_vec(start, l, device)?,
        Tensor::from_vec(end, l, device)?,
    ])
}

/// No penalties at all (the shape of [`mask_penalties`]'s, all zero): the loss of a plain CRF, in which
/// the transition matrix itself must learn which transitions never occur (the CRF learning-rate study
/// trains so, as the original did).
pub fn no_penalties(num_tags: usize, device: &Device) -> Result<[Tensor; 3]> {
    let l = num_tags;
    Ok([
        Tensor::zeros((l, l), DType::F32, device)?,
        Tensor::zeros(l, DType::F32, device)?,
        Tensor::zeros(l, DType::F32, device)?,
    ])
}

/// `log(sum(exp(x)))` over `dim`, kept as a dimension of size 1 (the maximum is subtracted first, as a
/// constant, so that nothing overflows).
pub fn logsumexp(x: &Tensor, dim: usize) -> Result<Tensor> {
    let max = x.max_keepdim(dim)?.detach();
    max.broadcast_add(&x.broadcast_sub(&max)?.exp()?.sum_keepdim(dim)?.log()?)
}

/// The CRF layer's scores: transitions `[L][L]` (`[from][to]`), start `[L]`, end `[L]`.
#[derive(Debug, Clone, Copy)]
pub struct CrfTensors<'a> {
    /// `[L][L]`.
    pub transitions: &'a Tensor,
    /// `[L]`.
    pub start: &'a Tensor,
    /// `[L]`.
    pub end: &'a Tensor,
}

/// The summed CRF negative log-likelihood of the batch's gold paths: `log Z - score(gold)` per sentence,
/// over the lattice of `emissions` (`[B][T][L]`) under the hard masks `penalties`
/// ([`mask_penalties`], or [`no_penalties`] for a plain CRF). A scalar.
pub fn crf_nll(emissions: &Tensor, gold: &GoldBatch, crf: CrfTensors<'_>, penalties: &[Tensor; 3]) -> Result<Tensor> {
    let (b, t, l) = emissions.dims3()?;
    let transitions = (crf.transitions + &penalties[0])?.reshape((1, l, l))?;
    let start = (crf.start + &penalties[1])?.reshape((1, l))?;
    let end = (crf.end + &penalties[2])?.reshape((1, l))?;
    // Forward algorithm; a sentence's alpha stays as it is past its last character.
    let mut alpha = emissions.narrow(1, 0, 1)?.reshape((b, l))?.broadcast_add(&start)?;
    for p in 1..t {
        let scores = alpha.reshape((b, l, 1))?.broadcast_add(&transitions)?;
        let next = logsumexp(&scores, 1)?.reshape((b, l))?.add(&emissions.narrow(1, p, 1)?.reshape((b, l))?)?;
        let m = gold.mask.narrow(1, p, 1)?.reshape((b, 1))?;
        alpha = (&alpha + next.sub(&alpha)?.broadcast_mul(&m)?)?;
    }
    let log_z = logsumexp(&alpha.broadcast_add(&end)?, 1)?.sum_all()?;
    let gold_score = (emissions.mul(&gold.one_hot)?.sum_all()?
        + crf.transitions.mul(&gold.transition_counts)?.sum_all()?
        + crf.start.mul(&gold.start_counts)?.sum_all()?
        + crf.end.mul(&gold.end_counts)?.sum_all()?)?;
    log_z - gold_score
}

/// The summed per-character softmax cross-entropy of the gold tags (no CRF layer). A scalar.
pub fn softmax_nll(emissions: &Tensor, gold: &GoldBatch) -> Result<Tensor> {
    let log_probs = emissions.broadcast_sub(&logsumexp(emissions, 2)?)?;
    log_probs.mul(&gold.one_hot)?.sum_all()?.neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neural::random::SplitMix;
    use candle_core::Var;

    /// Brute force: log Z by enumerating every allowed path of a short sentence.
    /// `c == None`: every path counts.
    fn brute_log_z(e: &[f32], trans: &[f32], start: &[f32], end: &[f32], c: Option<&Constraints>, l: usize) -> f64 {
        let t = e.len() / l;
        let mut total = 0f64;
        for code in 0..l.pow(t as u32) {
            let path: Vec<usize> = (0..t).map(|p| code / l.pow(p as u32) % l).collect();
            let tags: Vec<u8> = path.iter().map(|&x| x as u8).collect();
            if c.is_some_and(|c| !c.allows_sequence(&tags)) {
                continue;
            }
            let mut s = f64::from(start[path[0]] + end[path[t - 1]]);
            for p in 0..t {
                s += f64::from(e[p * l + path[p]]);
                if p > 0 {
                    s += f64::from(trans[path[p - 1] * l + path[p]]);
                }
            }
            total += s.exp();
        }
        total.ln()
    }

    fn bmes() -> Constraints {
        crate::corpus::constraints_for(&["B", "M", "E", "S"].map(str::to_owned)).1
    }

    /// The candle loss of two sentences (5 and 3 characters in one padded batch) under `penalties`,
    /// against brute force over the paths `constraints` allow (every path when `None`).
    fn check_against_brute_force(constraints: Option<&Constraints>, penalties: &[Tensor; 3]) -> Result<f64> {
        let (l, device) = (4, Device::Cpu);
        let mut rng = SplitMix::new(5);
        let (trans, start, end) = (rng.values(16, 1.0), rng.values(4, 1.0), rng.values(4, 1.0));
        let tags: [&[u8]; 2] = [&[0, 2, 3, 0, 2], &[3, 0, 2]];
        let e = rng.values(2 * 5 * l, 2.0);
        let gold = GoldBatch::new(&tags, l, &device)?;
        let crf_t = [
            Tensor::from_vec(trans.clone(), (l, l), &device)?,
            Tensor::from_vec(start.clone(), l, &device)?,
            Tensor::from_vec(end.clone(), l, &device)?,
        ];
        let crf = CrfTensors { transitions: &crf_t[0], start: &crf_t[1], end: &crf_t[2] };
        let nll = crf_nll(&Tensor::from_vec(e.clone(), (2, 5, l), &device)?, &gold, crf, penalties)?;
        let mut expected = 0f64;
        for (i, sentence) in tags.iter().enumerate() {
            let n = sentence.len();
            let e_i = &e[i * 5 * l..(i * 5 + n) * l];
            let mut gold_score = f64::from(start[usize::from(sentence[0])] + end[usize::from(sentence[n - 1])]);
            for (p, &tag) in sentence.iter().enumerate() {
                gold_score += f64::from(e_i[p * l + usize::from(tag)]);
                if p > 0 {
                    gold_score += f64::from(trans[usize::from(sentence[p - 1]) * l + usize::from(tag)]);
                }
            }
            expected += brute_log_z(e_i, &trans, &start, &end, constraints, l) - gold_score;
        }
        let got = f64::from(nll.to_scalar::<f32>()?);
        assert!((got - expected).abs() < 1e-3 * expected.abs().max(1.0), "candle {got}, brute force {expected}");
        Ok(got)
    }

    #[test]
    fn the_forward_algorithm_sums_every_allowed_path() -> Result<()> {
        let constraints = bmes();
        check_against_brute_force(Some(&constraints), &mask_penalties(&constraints, 4, &Device::Cpu)?)?;
        Ok(())
    }

    /// Without the masks the loss is a plain CRF's: log Z sums the forbidden paths too, so the gold
    /// path's negative log-likelihood is larger than under the masks.
    #[test]
    fn without_penalties_the_forward_algorithm_sums_every_path() -> Result<()> {
        let constraints = bmes();
        let masked = check_against_brute_force(Some(&constraints), &mask_penalties(&constraints, 4, &Device::Cpu)?)?;
        let plain = check_against_brute_force(None, &no_penalties(4, &Device::Cpu)?)?;
        assert!(plain > masked + 0.1, "unmasked loss {plain}, masked {masked}");
        Ok(())
    }

    /// candle's gradient of the CRF loss against central finite differences, for every emission,
    /// transition, start and end score of a small random lattice (in f64, so that the differences are
    /// exact enough to compare tightly).
    #[test]
    fn crf_gradient_matches_finite_differences() -> Result<()> {
        let (l, device) = (4, Device::Cpu);
        let mut rng = SplitMix::new(9);
        let penalties = mask_penalties(&bmes(), l, &device)?;
        let penalties = [
            penalties[0].to_dtype(DType::F64)?,
            penalties[1].to_dtype(DType::F64)?,
            penalties[2].to_dtype(DType::F64)?,
        ];
        let tags: [&[u8]; 2] = [&[3, 0, 1, 2], &[0, 2]];
        let gold = GoldBatch::new(&tags, l, &device)?.to_dtype(DType::F64)?;
        let values = |rng: &mut SplitMix, n: usize| rng.values(n, 1.5).into_iter().map(f64::from).collect::<Vec<_>>();
        let params = [values(&mut rng, 2 * 4 * l), values(&mut rng, l * l), values(&mut rng, l), values(&mut rng, l)];
        let shapes: [&[usize]; 4] = [&[2, 4, l], &[l, l], &[l], &[l]];
        let loss = |p: &[Vec<f64>; 4]| -> Result<(Tensor, Vec<Var>)> {
            let vars: Vec<Var> =
                p.iter().zip(shapes).map(|(v, s)| Var::from_vec(v.clone(), s, &device)).collect::<Result<_>>()?;
            let crf =
                CrfTensors { transitions: vars[1].as_tensor(), start: vars[2].as_tensor(), end: vars[3].as_tensor() };
            Ok((crf_nll(vars[0].as_tensor(), &gold, crf, &penalties)?, vars))
        };
        let (value, vars) = loss(&params)?;
        let grads = value.backward()?;
        let h = 1e-5;
        let mut checked = 0;
        for (k, var) in vars.iter().enumerate() {
            let analytic: Vec<f64> = grads.get(var).expect("gradient").flatten_all()?.to_vec1()?;
            for i in 0..params[k].len() {
                let (mut plus, mut minus) = (params.clone(), params.clone());
                plus[k][i] += h;
                minus[k][i] -= h;
                let numeric = (loss(&plus)?.0.to_scalar::<f64>()? - loss(&minus)?.0.to_scalar::<f64>()?) / (2.0 * h);
                assert!(
                    (numeric - analytic[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
                    "tensor {k} element {i}: candle {} finite differences {numeric}",
                    analytic[i]
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 2 * 4 * l + l * l + 2 * l);
        // Padding contributes nothing: the second sentence's last two positions have zero gradient.
        let emission_grad: Vec<f64> = grads.get(&vars[0]).expect("gradient").flatten_all()?.to_vec1()?;
        assert!(emission_grad[(4 + 2) * l..].iter().all(|&g| g == 0.0));
        Ok(())
    }

    #[test]
    fn softmax_loss_is_the_cross_entropy() -> Result<()> {
        let device = Device::Cpu;
        let gold = GoldBatch::new(&[&[1u8, 0]], 2, &device)?;
        let e = Tensor::from_vec(vec![0.0f32, 1.0, 2.0, 0.0], (1, 2, 2), &device)?;
        let got = softmax_nll(&e, &gold)?.to_scalar::<f32>()?;
        let expected = -(1f32.exp() / (1.0 + 1f32.exp())).ln() - (2f32.exp() / (2f32.exp() + 1.0)).ln();
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
        Ok(())
    }
}

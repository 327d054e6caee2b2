//! Adagrad with lazy sparse updates, proximal L1/L2 regularisation and iterate averaging.
//!
//! - **Sparse and lazy.** A mini-batch touches a few thousand of the emission table's million rows, so
//!   only those rows are updated. The regularisation a row missed while it was not touched is applied in
//!   closed form when it is next touched: between touches its Adagrad step size is constant, so `n`
//!   missed proximal steps are one L1 step `n` times as long and the L2 factor to the `n`-th power.
//! - **Averaging** (Polyak-Ruppert, as in the averaged perceptron): the mean of all iterates generalises
//!   better than the last one. It is kept implicitly: every change `Δ` made at step `τ` adds `(τ - 1)·Δ`
//!   to an accumulator `u`, and after `c` steps the mean iterate is `w - u / c`.
//! - **Cache-friendly and parallel.** Each row's weights, squared-gradient sums, averaging accumulator
//!   and bookkeeping share one 64-byte-aligned record (one cache line for up to 4 tags), so an update
//!   costs one memory access per row. A step splits the table into contiguous row ranges, one per
//!   thread; every thread scans the whole batch in order and handles its own rows. Each row sees the
//!   same additions in the same order whatever the number of threads, so results are bit-identical.

use rayon::prelude::*;

/// Regularisation strengths for one step (already scaled to the mini-batch's share of the corpus).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepRegularization {
    /// L1 strength per step.
    pub l1: f32,
    /// L2 strength per step.
    pub l2: f32,
}

/// A pull of each row's centred weights (the row minus its mean over tags) towards a target row, for
/// quantization-aware training ([`crate::codebook_pull`]): each read of a row in a step adds the
/// proximal step of `strength * |centred(w) - target|^2`, which leaves the row's mean alone.
#[derive(Clone, PartialEq)]
pub struct RowPull {
    /// `[rows][L]` centred target rows.
    pub targets: Vec<f32>,
    /// The pull's strength per read.
    pub strength: f32,
}

impl std::fmt::Debug for RowPull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RowPull {{ {} target weights, strength {} }}", self.targets.len(), self.strength)
    }
}

const EPSILON: f32 = 1e-6;
const FLOATS_PER_LINE: usize = 16;

/// Soft thresholding: moves `w` towards zero by `amount`, stopping at zero.
fn shrink(w: f32, amount: f32) -> f32 {
    if w > amount {
        w - amount
    } else if w < -amount {
        w + amount
    } else {
        0.0
    }
}

/// One proximal Adagrad update of a coordinate; returns the new weight.
#[inline]
fn adagrad_coordinate(w: f32, sum_sq: &mut f32, g: f32, lr: f32, reg: StepRegularization) -> f32 {
    *sum_sq += g * g;
    proximal_step(w, *sum_sq, g, lr, reg)
}

/// The gradient step with step size `lr / sqrt(sum_sq)`, then the L2 and L1 proximal steps.
#[inline]
fn proximal_step(w: f32, sum_sq: f32, g: f32, lr: f32, reg: StepRegularization) -> f32 {
    let eta = lr / (sum_sq + EPSILON).sqrt();
    let mut new = w - eta * g;
    if reg.l2 > 0.0 {
        new /= 1.0 + eta * reg.l2;
    }
    if reg.l1 > 0.0 {
        new = shrink(new, eta * reg.l1);
    }
    new
}

/// Dense Adagrad with averaging, for small parameter vectors updated every step (the CRF layer).
#[derive(Debug, Clone)]
pub struct Adagrad {
    /// Base learning rate: the step of a coordinate is `lr / sqrt(sum of its squared gradients)`.
    pub lr: f32,
    /// The parameters (the current iterate).
    pub weights: Vec<f32>,
    sum_sq: Vec<f32>,
    averaged_delta: Vec<f32>,
    step: u32,
    /// Averaging covers the iterates after this step.
    average_origin: u32,
}

impl Adagrad {
    /// Starts from the given parameters; `initial_sum_sq` damps the first steps.
    pub fn new(weights: Vec<f32>, lr: f32, initial_sum_sq: f32) -> Self {
        let n = weights.len();
        Self { lr, weights, sum_sq: vec![initial_sum_sq; n], averaged_delta: vec![0.0; n], step: 0, average_origin: 0 }
    }

    /// Restarts averaging: later means cover only the iterates from now on.
    pub fn restart_average(&mut self) {
        self.average_origin = self.step;
        self.averaged_delta.fill(0.0);
    }

    /// One step with gradient `grad` (no regularisation).
    pub fn step(&mut self, grad: &[f32]) {
        self.step += 1;
        let weight_of_change = (self.step - 1 - self.average_origin) as f32;
        for (i, &g) in grad.iter().enumerate() {
            let w = self.weights[i];
            let new = adagrad_coordinate(w, &mut self.sum_sq[i], g, self.lr, StepRegularization::default());
            self.averaged_delta[i] += weight_of_change * (new - w);
            self.weights[i] = new;
        }
    }

    /// The mean of the iterates since averaging (re)started.
    pub fn averaged(&self) -> Vec<f32> {
        average(&self.weights, &self.averaged_delta, self.step - self.average_origin)
    }
}

fn average(weights: &[f32], averaged_delta: &[f32], steps: u32) -> Vec<f32> {
    if steps == 0 {
        return weights.to_vec();
    }
    let c = steps as f32;
    weights.iter().zip(averaged_delta).map(|(w, u)| w - u / c).collect()
}

/// Where each field of a row record lives. Weights `[0, L)`, averaging accumulator `[L, 2L)`, the
/// squared-gradient sums (one per weight, or one per row), then three `u32` kept as `f32` bits: the step
/// the row was last brought up to date, the batch stamp and the row's slot in the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    l: usize,
    sum_sq: usize,
    per_row: bool,
    last: usize,
    stamp: usize,
    slot: usize,
    stride: usize,
}

impl Layout {
    fn new(l: usize, per_row: bool) -> Self {
        let sum_sq = 2 * l;
        let last = sum_sq + if per_row { 1 } else { l };
        let stride = (last + 3).div_ceil(FLOATS_PER_LINE) * FLOATS_PER_LINE;
        Self { l, sum_sq, per_row, last, stamp: last + 1, slot: last + 2, stride }
    }

    /// Index of the squared-gradient sum of weight `j`.
    #[inline]
    fn sum_sq_of(&self, j: usize) -> usize {
        if self.per_row {
            self.sum_sq
        } else {
            self.sum_sq + j
        }
    }
}

/// How Adagrad accumulates squared gradients in the emission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdagradMode {
    /// One sum per row (the mean of the row's squared gradients), as for embedding tables: a row's
    /// record then fits one cache line for up to 6 tags, which makes updates markedly faster.
    #[default]
    Row,
    /// One sum per weight (classic Adagrad).
    Coordinate,
}

/// Sparse Adagrad over a table of rows of `L` weights (the emission table), with lazy regularisation
/// and averaging. See the module documentation.
#[derive(Debug, Clone)]
pub struct RowAdagrad {
    /// Base learning rate.
    pub lr: f32,
    data: Vec<f32>,
    /// Index of row 0 in `data` (makes records 64-byte aligned).
    base: usize,
    layout: Layout,
    /// Floats per row record: a multiple of 16.
    stride: usize,
    num_tags: usize,
    rows: usize,
    step: u32,
    /// Averaging covers the iterates after this step.
    average_origin: u32,
}

/// One sentence's contribution to a step: its feature rows `[T][K]` and gradients `[T][L]`.
#[derive(Debug, Clone, Copy)]
pub struct SentenceRows<'a> {
    /// Feature rows, `K` per position.
    pub rows: &'a [u32],
    /// Gradient with respect to the position's emission scores, `L` per position.
    pub grads: &'a [f32],
}

impl RowAdagrad {
    /// A table of `rows` rows of `num_tags` weights, starting from `weights` (`[rows][L]`).
    /// `initial_sum_sq` starts every squared-gradient sum above zero, which damps the first steps of
    /// rare features (with 0, a feature's first step is `lr` whatever its gradient).
    pub fn new(weights: &[f32], num_tags: usize, lr: f32, initial_sum_sq: f32, mode: AdagradMode) -> Self {
        let rows = weights.len() / num_tags;
        let layout = Layout::new(num_tags, mode == AdagradMode::Row);
        let stride = layout.stride;
        let mut data = vec![0.0f32; rows * stride + FLOATS_PER_LINE];
        let misalignment = (data.as_ptr() as usize % 64) / 4;
        let base = (FLOATS_PER_LINE - misalignment) % FLOATS_PER_LINE;
        for (row, values) in weights.chunks_exact(num_tags).enumerate() {
            let start = base + row * stride;
            data[start..start + num_tags].copy_from_slice(values);
            data[start + layout.sum_sq..start + layout.last].fill(initial_sum_sq);
        }
        Self { lr, data, base, layout, stride, num_tags, rows, step: 0, average_origin: 0 }
    }

    /// Restarts averaging: later means cover only the iterates from now on.
    pub fn restart_average(&mut self) {
        self.average_origin = self.step;
        let (l, stride) = (self.num_tags, self.stride);
        let table = &mut self.data[self.base..self.base + self.rows * stride];
        table.par_chunks_mut(stride).for_each(|record| record[l..2 * l].fill(0.0));
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u32 {
        self.step
    }

    /// The current weights of `row`.
    #[inline]
    pub fn row(&self, row: usize) -> &[f32] {
        let start = self.base + row * self.stride;
        &self.data[start..start + self.num_tags]
    }

    /// One step: sums the gradients of the batch per row and updates every touched row, then pulls each
    /// touched row towards its target in `pull` as often as the batch reads it.
    pub fn step(
        &mut self,
        batch: &[SentenceRows<'_>],
        templates: usize,
        reg: StepRegularization,
        pull: Option<&RowPull>,
    ) {
        self.step += 1;
        let parts = rayon::current_num_threads().clamp(1, 64);
        let rows_per_part = self.rows.div_ceil(parts).max(1);
        let (l, stride, step, lr, layout) = (self.num_tags, self.stride, self.step, self.lr, self.layout);
        let origin = self.average_origin;
        let table = &mut self.data[self.base..self.base + self.rows * stride];
        table.par_chunks_mut(rows_per_part * stride).enumerate().for_each(|(part, records)| {
            let first_row = part * rows_per_part;
            let part_rows = records.len() / stride;
            let mut touched: Vec<u32> = Vec::new();
            let mut sums: Vec<f32> = Vec::new();
            let mut reads: Vec<u32> = Vec::new();
            for sentence in batch {
                for (position_rows, grad) in sentence.rows.chunks_exact(templates).zip(sentence.grads.chunks_exact(l)) {
                    for &row in position_rows {
                        let local = (row as usize).wrapping_sub(first_row);
                        if local >= part_rows {
                            continue;
                        }
                        let record = &mut records[local * stride..(local + 1) * stride];
                        let slot = if record[layout.stamp].to_bits() == step {
                            record[layout.slot].to_bits() as usize
                        } else {
                            record[layout.stamp] = f32::from_bits(step);
                            let slot = touched.len();
                            record[layout.slot] = f32::from_bits(slot as u32);
                            touched.push(local as u32);
                            reads.push(0);
                            sums.extend(std::iter::repeat_n(0.0, l));
                            slot
                        };
                        reads[slot] += 1;
                        for (s, g) in sums[slot * l..slot * l + l].iter_mut().zip(grad) {
                            *s += g;
                        }
                    }
                }
            }
            for (slot, &local) in touched.iter().enumerate() {
                let record = &mut records[local as usize * stride..(local as usize + 1) * stride];
                catch_up(record, &layout, step, origin, lr, reg);
                let weight_of_change = (step - 1 - origin) as f32;
                let grad = &sums[slot * l..slot * l + l];
                if layout.per_row {
                    // Row-wise Adagrad: one step size for the row, from its mean squared gradient.
                    record[layout.sum_sq] += grad.iter().map(|g| g * g).sum::<f32>() / l as f32;
                }
                for (j, &g) in grad.iter().enumerate() {
                    let w = record[j];
                    if g == 0.0 && w == 0.0 {
                        continue;
                    }
                    if !layout.per_row {
                        record[layout.sum_sq + j] += g * g;
                    }
                    let new = proximal_step(w, record[layout.sum_sq_of(j)], g, lr, reg);
                    record[l + j] += weight_of_change * (new - w);
                    record[j] = new;
                }
                if let Some(pull) = pull {
                    let row = first_row + local as usize;
                    let target = &pull.targets[row * l..(row + 1) * l];
                    pull_row(record, &layout, lr, pull.strength * reads[slot] as f32, target, weight_of_change);
                }
                record[layout.last] = f32::from_bits(step);
            }
        });
    }

    /// Brings every row up to date with the regularisation of all steps so far (before reading weights).
    pub fn catch_up_all(&mut self, reg: StepRegularization) {
        let (stride, lr, layout) = (self.stride, self.lr, self.layout);
        let origin = self.average_origin;
        // Rows are up to date through `step - 1` after catching up "at" step + 1.
        let step = self.step + 1;
        let table = &mut self.data[self.base..self.base + self.rows * stride];
        table.par_chunks_mut(stride).for_each(|record| {
            catch_up(record, &layout, step, origin, lr, reg);
            record[layout.last] = f32::from_bits(step - 1);
        });
    }

    /// The current weights, `[rows][L]`.
    pub fn weights(&self) -> Vec<f32> {
        (0..self.rows).flat_map(|row| self.row(row).to_vec()).collect()
    }

    /// The mean of the iterates since averaging (re)started, `[rows][L]`.
    pub fn averaged(&self) -> Vec<f32> {
        let l = self.num_tags;
        let count = self.step - self.average_origin;
        let c = count.max(1) as f32;
        let mut out = vec![0.0f32; self.rows * l];
        let table = &self.data[self.base..self.base + self.rows * self.stride];
        out.par_chunks_mut(l).zip(table.par_chunks(self.stride)).for_each(|(out, record)| {
            for j in 0..l {
                out[j] = if count == 0 { record[j] } else { record[j] - record[l + j] / c };
            }
        });
        out
    }
}

/// The proximal step of `strength * |centred(w) - target|^2` on one record at its Adagrad step sizes:
/// each weight moves towards the row's mean plus its target, by `a / (1 + a)` with `a = 2 eta strength`.
#[inline]
fn pull_row(record: &mut [f32], layout: &Layout, lr: f32, strength: f32, target: &[f32], weight_of_change: f32) {
    let l = layout.l;
    let mean = record[..l].iter().sum::<f32>() / l as f32;
    for (j, &t) in target.iter().enumerate() {
        let w = record[j];
        let a = 2.0 * strength * lr / (record[layout.sum_sq_of(j)] + EPSILON).sqrt();
        let new = (w + a * (mean + t)) / (1.0 + a);
        record[l + j] += weight_of_change * (new - w);
        record[j] = new;
    }
}

/// Applies to one record the regularisation it missed between its last update and `step - 1`.
#[inline]
fn catch_up(record: &mut [f32], layout: &Layout, step: u32, origin: u32, lr: f32, reg: StepRegularization) {
    let l = layout.l;
    let last = record[layout.last].to_bits();
    let missed = (step - 1).saturating_sub(last);
    if missed == 0 || (reg.l1 == 0.0 && reg.l2 == 0.0) {
        return;
    }
    // Changes are booked at the step they are applied (a slight approximation for the average).
    let weight_of_change = (step - 1).saturating_sub(origin) as f32;
    for j in 0..l {
        let w = record[j];
        if w == 0.0 {
            continue;
        }
        let eta = lr / (record[layout.sum_sq_of(j)] + EPSILON).sqrt();
        let mut new = w;
        if reg.l2 > 0.0 {
            new /= (1.0 + eta * reg.l2).powi(missed as i32);
        }
        if reg.l1 > 0.0 {
            new = shrink(new, eta * reg.l1 * missed as f32);
        }
        record[l + j] += weight_of_change * (new - w);
        record[j] = new;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_row_batch<'a>(rows: &'a [u32], grads: &'a [f32]) -> [SentenceRows<'a>; 1] {
        [SentenceRows { rows, grads }]
    }

    #[test]
    fn averaging_matches_explicit_mean() {
        let mut opt = RowAdagrad::new(&[0.0; 4], 2, 0.5, 0.0, AdagradMode::Coordinate);
        let mut iterates = Vec::new();
        let grads = [[1.0, -2.0], [0.5, 0.0], [-1.0, 1.0]];
        for (step, g) in grads.iter().enumerate() {
            let rows = [(step % 2) as u32];
            opt.step(&one_row_batch(&rows, g), 1, StepRegularization::default(), None);
            iterates.push(opt.weights());
        }
        let mean: Vec<f32> =
            (0..4).map(|i| iterates.iter().map(|w| w[i]).sum::<f32>() / iterates.len() as f32).collect();
        for (a, b) in opt.averaged().iter().zip(&mean) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }

        let mut dense = Adagrad::new(vec![0.0; 2], 0.5, 0.0);
        let mut dense_iterates = Vec::new();
        for g in &grads {
            dense.step(g);
            dense_iterates.push(dense.weights.clone());
        }
        for (i, a) in dense.averaged().iter().enumerate() {
            let mean = dense_iterates.iter().map(|w| w[i]).sum::<f32>() / 3.0;
            assert!((a - mean).abs() < 1e-6);
        }
    }

    #[test]
    fn lazy_l1_equals_eager_l1() {
        let reg = StepRegularization { l1: 0.01, l2: 0.0 };
        // Row 0 gets a gradient at steps 1 and 5; in between, only row 1 is touched.
        let mut lazy = RowAdagrad::new(&[0.0; 2], 1, 0.1, 0.0, AdagradMode::Coordinate);
        // Eager: both rows every step (a zero gradient still regularises), via a tiny reference loop.
        let (mut w, mut g2) = ([0.0f32; 2], [0.0f32; 2]);
        for step in 1..=5 {
            let g0 = if step == 1 || step == 5 { -1.0 } else { 0.0 };
            let (rows, grads): (Vec<u32>, Vec<f32>) =
                if g0 != 0.0 { (vec![0, 1], vec![g0, 0.3]) } else { (vec![1], vec![0.3]) };
            let batch: Vec<SentenceRows<'_>> = rows
                .iter()
                .zip(grads.chunks(1))
                .map(|(r, g)| SentenceRows { rows: std::slice::from_ref(r), grads: g })
                .collect();
            lazy.step(&batch, 1, reg, None);
            for (i, g) in [g0, 0.3].into_iter().enumerate() {
                if g == 0.0 && w[i] == 0.0 {
                    continue;
                }
                w[i] = adagrad_coordinate(w[i], &mut g2[i], g, 0.1, reg);
            }
        }
        assert!((lazy.row(0)[0] - w[0]).abs() < 1e-6, "{:?} {:?}", lazy.weights(), w);
        lazy.catch_up_all(reg);
        assert!((lazy.row(1)[0] - w[1]).abs() < 1e-6);
    }

    #[test]
    fn l1_drives_untouched_weights_to_zero() {
        let mut opt = RowAdagrad::new(&[0.0; 2], 1, 0.1, 0.0, AdagradMode::Coordinate);
        opt.step(&one_row_batch(&[0], &[-1.0]), 1, StepRegularization::default(), None);
        for _ in 0..100 {
            opt.step(&one_row_batch(&[1], &[0.5]), 1, StepRegularization::default(), None);
        }
        assert!(opt.row(0)[0] > 0.0);
        opt.catch_up_all(StepRegularization { l1: 1.0, l2: 0.0 });
        assert_eq!(opt.row(0)[0], 0.0);
    }

    #[test]
    fn batch_gradients_are_summed_per_row() {
        let mut opt = RowAdagrad::new(&[0.0; 8], 2, 1.0, 0.0, AdagradMode::Coordinate);
        // Two positions with K = 2 templates each: row 3 at both (its gradients cancel on tag 1).
        let rows = [3u32, 1, 3, 0];
        let grads = [1.0, 2.0, 1.0, -2.0];
        opt.step(&[SentenceRows { rows: &rows, grads: &grads }], 2, StepRegularization::default(), None);
        // Adagrad's first step moves each coordinate with a nonzero gradient by lr against its sign.
        let row3 = opt.row(3);
        assert!((row3[0] + 1.0).abs() < 1e-3, "{row3:?}");
        assert_eq!(row3[1], 0.0);
        assert!((opt.row(1)[0] + 1.0).abs() < 1e-3);
        assert!((opt.row(0)[1] - 1.0).abs() < 1e-3);
        assert_eq!(opt.row(2), &[0.0, 0.0]);
    }

    #[test]
    fn a_pull_moves_a_rows_differences_towards_its_target_once_per_read() {
        // Three rows of three tags, all with the target [-1, 0, 1]; a step with zero gradients reads
        // row 0 twice, row 1 once and row 2 not at all. The squared-gradient sums start at 1, so each
        // step size is lr = 0.5 and a read pulls by a = 2 * strength * 0.5 = 1 (two reads: 2).
        let pull = RowPull { targets: [-1.0, 0.0, 1.0].repeat(3), strength: 1.0 };
        let start = [4.0, 2.0, 0.0, 1.0, 1.0, 1.0, 5.0, 0.0, 0.0];
        let mut opt = RowAdagrad::new(&start, 3, 0.5, 1.0, AdagradMode::Row);
        let rows = [0u32, 1, 0];
        let grads = [0.0; 9];
        opt.step(&one_row_batch(&rows, &grads), 1, StepRegularization::default(), Some(&pull));
        // Each weight moves to (w + a (mean + target)) / (1 + a): the row's mean stays.
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
        assert!(close(opt.row(0), &[2.0, 2.0, 2.0]), "{:?}", opt.row(0));
        assert!(close(opt.row(1), &[0.5, 1.0, 1.5]), "{:?}", opt.row(1));
        assert_eq!(opt.row(2), &[5.0, 0.0, 0.0]);
        for _ in 0..40 {
            opt.step(&one_row_batch(&rows, &grads), 1, StepRegularization::default(), Some(&pull));
        }
        assert!(close(opt.row(0), &[1.0, 2.0, 3.0]) && close(opt.row(1), &[0.0, 1.0, 2.0]), "{:?}", opt.weights());
        // Without the pull, zero gradients move nothing.
        let mut still = RowAdagrad::new(&start, 3, 0.5, 1.0, AdagradMode::Row);
        still.step(&one_row_batch(&rows, &grads), 1, StepRegularization::default(), None);
        assert_eq!(still.weights(), start);
    }

    #[test]
    fn row_mode_shares_one_step_size_per_row() {
        let mut opt = RowAdagrad::new(&[0.0; 2], 2, 1.0, 0.0, AdagradMode::Row);
        opt.step(&one_row_batch(&[0], &[3.0, -1.0]), 1, StepRegularization::default(), None);
        // Mean squared gradient 5: both weights move by g / sqrt(5).
        let row = opt.row(0);
        assert!((row[0] + 3.0 / 5f32.sqrt()).abs() < 1e-5 && (row[1] - 1.0 / 5f32.sqrt()).abs() < 1e-5, "{row:?}");
        assert_eq!(opt.layout.stride, 16, "6 values and bookkeeping fit one cache line");
        assert_eq!(Layout::new(6, true).stride, 16);
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let rows: Vec<u32> = (0..400).map(|i| (i * 7919 % 97) as u32).collect();
        let grads: Vec<f32> = (0..400).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut opt = RowAdagrad::new(&[0.0; 100], 1, 0.3, 0.5, AdagradMode::Coordinate);
                for chunk in 0..4 {
                    let batch = [SentenceRows {
                        rows: &rows[chunk * 100..(chunk + 1) * 100],
                        grads: &grads[chunk * 100..(chunk + 1) * 100],
                    }];
                    opt.step(&batch, 1, StepRegularization { l1: 0.01, l2: 0.01 }, None);
                }
                opt.averaged()
            })
        };
        assert_eq!(run(1), run(3));
    }
}

//! The CRF learning-rate study on the neural emission model (issue #18; the idea is in
//! docs/background.md): softmax and CRF with the CRF layer's rate at several multiples of the encoder's,
//! for several encoder rates, depths and seeds, each trained to convergence on dev without the hard masks
//! in the loss (as the original did), then scored on test decoded without and with the masks.
//!
//! Per run it measures what the idea is about: how far the transitions moved from their initial values,
//! how many forbidden transitions still score above the lowest allowed one, and how many forbidden tag
//! pairs unmasked decoding outputs. [`run_study`] trains the runs on worker threads (one rayon pool
//! each); [`render_table`] turns the runs into the markdown table of docs/background.md.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{ensure, Context as _, Result};
use decoder::internal::tags::ModelConstraints as Constraints;
use serde::{Deserialize, Serialize};

use super::forward::forward;
use super::train::{train_neural, NeuralConfig, NeuralLoss, NeuralModel};
use crate::corpus::{constraints_for, Sentence};
use crate::evaluate::{score_predictions, DevScore};
use crate::model::viterbi;
use crate::pipeline::{Progress, ProgressEvent};
use crate::scorer::Dictionary;

/// Mean over the `[L][L]` tag pairs of `|learned - initial|`.
pub fn mean_transition_shift(learned: &[f32], initial: &[f32]) -> f64 {
    assert_eq!(learned.len(), initial.len(), "transition matrices of different sizes");
    let total: f64 = learned.iter().zip(initial).map(|(a, b)| f64::from((a - b).abs())).sum();
    total / learned.len().max(1) as f64
}

/// How many forbidden transitions score above the lowest-scoring allowed one: the transitions that
/// unmasked Viterbi may prefer to a legal path (the note's `S→E` above `S→B`). Zero when the matrix
/// has learned to rank every forbidden pair below every allowed one.
pub fn forbidden_above_lowest_allowed(transitions: &[f32], constraints: &Constraints, num_tags: usize) -> usize {
    let l = num_tags;
    let pairs = || (0..l).flat_map(|from| (0..l).map(move |to| (from, to)));
    let lowest_allowed = pairs()
        .filter(|&(from, to)| constraints.allows(from, to))
        .map(|(from, to)| transitions[from * l + to])
        .fold(f32::INFINITY, f32::min);
    pairs().filter(|&(from, to)| !constraints.allows(from, to) && transitions[from * l + to] > lowest_allowed).count()
}

/// Adjacent tag pairs in `predicted` that the hard masks forbid (e.g. `S M`): what unmasked decoding
/// outputs that masked decoding never can.
pub fn forbidden_pairs(predicted: &[Vec<u8>], constraints: &Constraints) -> usize {
    predicted
        .iter()
        .flat_map(|tags| tags.windows(2))
        .filter(|pair| !constraints.allows(usize::from(pair[0]), usize::from(pair[1])))
        .count()
}

/// Each sentence decoded by float Viterbi without the hard masks and with them (one forward pass).
pub fn predict_unmasked_and_masked(model: &NeuralModel, sentences: &[Sentence]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    use rayon::prelude::*;
    let c = &model.crf;
    let l = c.tag_names.len();
    let constraints = constraints_for(&c.tag_names).1;
    sentences
        .par_iter()
        .map(|s| {
            let e = forward(&model.weights, &s.chars);
            let unmasked = viterbi(&e, &c.transitions, &c.start, &c.end, l, None);
            let masked = viterbi(&e, &c.transitions, &c.start, &c.end, l, Some(&constraints));
            (unmasked, masked)
        })
        .unzip()
}

/// `train_sentences` training and `dev_sentences` dev sentences from one corpus, both spread evenly
/// over it and disjoint: dev is every `n/dev_sentences`-th sentence, training an even sample of the rest.
pub fn sample_split(
    sentences: &[Sentence],
    train_sentences: usize,
    dev_sentences: usize,
) -> Result<(Vec<Sentence>, Vec<Sentence>)> {
    ensure!(train_sentences > 0, "--train-sentences must be at least 1");
    ensure!(dev_sentences > 0, "--dev-sentences must be at least 1");
    ensure!(
        train_sentences + dev_sentences <= sentences.len(),
        "--train-sentences {train_sentences} and --dev-sentences {dev_sentences} ask for more than the corpus's {} sentences",
        sentences.len()
    );
    let stride = sentences.len() / dev_sentences;
    let (mut dev, mut rest) = (Vec::new(), Vec::new());
    for (i, sentence) in sentences.iter().enumerate() {
        if i % stride == stride - 1 && dev.len() < dev_sentences {
            dev.push(sentence.clone());
        } else {
            rest.push(sentence);
        }
    }
    let train = (0..train_sentences).map(|k| rest[k * rest.len() / train_sentences].clone()).collect();
    Ok((train, dev))
}

/// The corpora of a study.
#[derive(Debug, Clone)]
pub struct StudyData {
    /// Tag names (BMES).
    pub tag_names: Vec<String>,
    /// Training sentences.
    pub train: Vec<Sentence>,
    /// Dev sentences (epoch selection and early stopping, masked decoding).
    pub dev: Vec<Sentence>,
    /// Test sentences (scored decoded without and with the masks).
    pub test: Vec<Sentence>,
    /// The training word list of the official scoring (OOV recall), if any.
    pub dictionary: Option<Dictionary>,
}

/// One training run of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// The encoder's AdamW learning rate.
    pub encoder_lr: f64,
    /// One dilation per convolution (their number is the depth).
    pub dilations: Vec<usize>,
    /// The CRF layer's rate as a multiple of the encoder's; `None` for the softmax baseline.
    pub crf_lr_mult: Option<f64>,
    /// Seed of the initial weights, the sentence order and the dropout masks.
    pub seed: u64,
    /// Most epochs (training stops earlier by patience).
    pub max_epochs: usize,
}

impl RunSpec {
    /// `softmax` or `CRF 100x`.
    pub fn run_name(&self) -> String {
        match self.crf_lr_mult {
            None => "Softmax".to_string(),
            Some(m) => format!("CRF {m}x"),
        }
    }

    /// e.g. `lr 0.0001, 3 conv, CRF 100x, seed 2`, for progress lines.
    pub fn label(&self) -> String {
        format!("lr {}, {} conv, {}, seed {}", self.encoder_lr, self.dilations.len(), self.run_name(), self.seed)
    }
}

/// The runs of a study: every encoder rate x depth x (softmax, CRF at each multiplier) x seed.
#[derive(Debug, Clone)]
pub struct StudyPlan {
    /// Shape and training settings shared by every run (rate, dilations, loss, CRF multiplier, seed,
    /// epochs and constrained training are set per run).
    pub base: NeuralConfig,
    /// Encoder learning rates.
    pub encoder_lrs: Vec<f64>,
    /// Most epochs for each encoder rate (same order): a small rate needs more epochs to converge.
    pub max_epochs: Vec<usize>,
    /// The depths, as dilation lists.
    pub depths: Vec<Vec<usize>>,
    /// CRF-layer rates as multiples of the encoder's.
    pub multipliers: Vec<f64>,
    /// Include the softmax baseline (without it only the CRF runs train, e.g. to time them).
    pub softmax: bool,
    /// Seeds.
    pub seeds: Vec<u64>,
}

impl StudyPlan {
    /// Fails, naming the option, on an empty or mismatched list.
    pub fn validate(&self) -> Result<()> {
        ensure!(!self.encoder_lrs.is_empty(), "--encoder-lrs: give at least one learning rate");
        ensure!(
            self.max_epochs.len() == self.encoder_lrs.len(),
            "--max-epochs: give one number per encoder learning rate ({} rates, {} epoch limits)",
            self.encoder_lrs.len(),
            self.max_epochs.len()
        );
        ensure!(!self.depths.is_empty(), "--depths: give at least one depth");
        ensure!(!self.seeds.is_empty(), "--seeds: give at least one seed");
        ensure!(self.softmax || !self.multipliers.is_empty(), "--multipliers: no CRF run and no softmax run to train");
        for spec in self.runs() {
            self.config(&spec).validate().with_context(|| format!("the run {}", spec.label()))?;
        }
        Ok(())
    }

    /// Every run, in table order.
    pub fn runs(&self) -> Vec<RunSpec> {
        let mut runs = Vec::new();
        for (&encoder_lr, &max_epochs) in self.encoder_lrs.iter().zip(&self.max_epochs) {
            for dilations in &self.depths {
                let softmax = self.softmax.then_some(None);
                let losses = softmax.into_iter().chain(self.multipliers.iter().map(|&m| Some(m)));
                for crf_lr_mult in losses {
                    for &seed in &self.seeds {
                        runs.push(RunSpec { encoder_lr, dilations: dilations.clone(), crf_lr_mult, seed, max_epochs });
                    }
                }
            }
        }
        runs
    }

    /// The training configuration of one run: without the hard masks in the loss.
    pub fn config(&self, spec: &RunSpec) -> NeuralConfig {
        NeuralConfig {
            lr: spec.encoder_lr,
            dilations: spec.dilations.clone(),
            loss: if spec.crf_lr_mult.is_some() { NeuralLoss::Crf } else { NeuralLoss::Softmax },
            crf_lr_mult: spec.crf_lr_mult.unwrap_or(1.0),
            seed: spec.seed,
            epochs: spec.max_epochs,
            constrained_training: false,
            ..self.base.clone()
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The run.
    pub spec: RunSpec,
    /// Epochs trained.
    pub epochs_run: usize,
    /// The epoch (1-based) whose model is scored: the best on dev.
    pub best_epoch: usize,
    /// Training stopped because dev F1 stopped improving (patience), not at the epoch limit.
    pub converged: bool,
    /// Dev F1 of the best epoch (masked decoding), in percent.
    pub dev_f1: f64,
    /// Test F1 decoded without the hard masks, in percent.
    pub test_f1_unmasked: f64,
    /// Test F1 decoded with the hard masks, in percent.
    pub test_f1_masked: f64,
    /// Mean `|transition - initial|` over the tag pairs.
    pub transition_shift: f64,
    /// Forbidden transitions scoring above the lowest allowed one.
    pub forbidden_above_lowest_allowed: usize,
    /// Forbidden adjacent tag pairs in the unmasked test output.
    pub forbidden_pairs_unmasked: usize,
    /// Wall time of the run (training, dev and test scoring).
    pub seconds: f64,
}

fn percent(score: DevScore) -> f64 {
    100.0 * score.value()
}

/// Forwards a run's epoch lines to the study's message sink.
struct RunProgress<'a> {
    label: String,
    message: &'a (dyn Fn(String) + Sync),
}

impl Progress for RunProgress<'_> {
    fn event(&mut self, event: ProgressEvent) {
        if let ProgressEvent::EpochFinished { epoch, epochs, dev, elapsed, .. } = event {
            (self.message)(format!(
                "  [{}] epoch {epoch}/{epochs}: dev {dev} ({:.1} s)",
                self.label,
                elapsed.as_secs_f64()
            ));
        }
    }
}

/// Trains and measures one run.
pub fn run_one(
    plan: &StudyPlan,
    spec: &RunSpec,
    data: &StudyData,
    message: &(dyn Fn(String) + Sync),
) -> Result<RunResult> {
    let started = Instant::now();
    let config = plan.config(spec);
    let mut progress = RunProgress { label: spec.label(), message };
    let outcome = train_neural(&config, &data.train, &data.dev, &data.tag_names, &mut progress)?;
    let model = &outcome.model;
    let (unmasked, masked) = predict_unmasked_and_masked(model, &data.test);
    let score = |predicted: &[Vec<u8>]| {
        percent(score_predictions(&data.tag_names, &data.test, predicted, data.dictionary.as_ref()))
    };
    let constraints = constraints_for(&data.tag_names).1;
    let without_improvement = outcome.epochs.len() - 1 - outcome.best;
    Ok(RunResult {
        spec: spec.clone(),
        epochs_run: outcome.epochs.len(),
        best_epoch: outcome.epochs[outcome.best].epoch,
        converged: !outcome.timed_out && without_improvement >= config.patience.max(1),
        dev_f1: percent(outcome.epochs[outcome.best].dev),
        test_f1_unmasked: score(&unmasked),
        test_f1_masked: score(&masked),
        transition_shift: mean_transition_shift(&model.crf.transitions, &outcome.initial_transitions),
        forbidden_above_lowest_allowed: forbidden_above_lowest_allowed(
            &model.crf.transitions,
            &constraints,
            data.tag_names.len(),
        ),
        forbidden_pairs_unmasked: forbidden_pairs(&unmasked, &constraints),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Trains every run of `plan`, `jobs` at a time, each job on its own rayon pool of `threads_per_job`
/// threads (candle's matrix products take their thread count from `RAYON_NUM_THREADS`, which the caller
/// sets to match). The most expensive runs start first so that the jobs finish together. Progress lines
/// go to `message`; results come back in [`StudyPlan::runs`] order.
pub fn run_study(
    plan: &StudyPlan,
    data: &StudyData,
    jobs: usize,
    threads_per_job: usize,
    message: &(dyn Fn(String) + Sync),
) -> Result<Vec<RunResult>> {
    plan.validate()?;
    ensure!(jobs >= 1, "--jobs must be at least 1");
    let specs = plan.runs();
    // Cost grows with the epoch limit and the number of convolutions.
    let mut order: Vec<usize> = (0..specs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(specs[i].max_epochs * (1 + specs[i].dilations.len())));
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<(usize, Result<RunResult>)>();
    let total = specs.len();
    let mut results: Vec<Option<RunResult>> = vec![None; total];
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..jobs.min(total) {
            let sender = sender.clone();
            let (next, order, specs) = (&next, &order, &specs);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads_per_job.max(1)).build()?;
            scope.spawn(move || {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = pool.install(|| run_one(plan, &specs[i], data, message));
                    let failed = result.is_err();
                    if sender.send((i, result)).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for (done, (i, result)) in receiver.iter().enumerate() {
            let result = result.with_context(|| format!("the run {}", specs[i].label()))?;
            message(format!(
                "[{}/{total}] {}: {} epochs{}, test F1 {:.2} unmasked / {:.2} masked, transitions moved {:.3}, \
                 {} forbidden above lowest allowed, {} forbidden pairs unmasked ({:.0} s)",
                done + 1,
                specs[i].label(),
                result.epochs_run,
                if result.converged { "" } else { " (epoch limit, not converged)" },
                result.test_f1_unmasked,
                result.test_f1_masked,
                result.transition_shift,
                result.forbidden_above_lowest_allowed,
                result.forbidden_pairs_unmasked,
                result.seconds
            ));
            results[i] = Some(result);
        }
        Ok(())
    })?;
    // A job that failed stopped early, so a missing result is an error already returned above, unless a
    // job panicked (the scope re-raises that).
    results.into_iter().map(|r| r.context("a run did not finish")).collect()
}

/// A study's runs and how it was run: the JSON file the table is rendered from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// The command that produced it.
    pub command: String,
    /// The training and dev data, e.g. `2000 of 19484 sentences of ...`.
    pub data: String,
    /// The shared shape and settings, e.g. `dim 32, channels 64, ...`.
    pub settings: String,
    /// Trainings at once, and threads each.
    pub jobs: usize,
    /// Threads per job.
    pub threads_per_job: usize,
    /// Wall time of the whole study.
    pub wall_seconds: f64,
    /// Every run.
    pub runs: Vec<RunResult>,
}

/// `mean (min–max)` of `values` with `decimals` decimals; just the value when they are all equal.
fn spread(values: &[f64], decimals: usize) -> String {
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if values.len() < 2 || min == max {
        format!("{mean:.decimals$}")
    } else {
        format!("{mean:.decimals$} ({min:.decimals$}–{max:.decimals$})")
    }
}

/// The markdown table of a study: one row per encoder rate, depth and run (softmax, CRF at each
/// multiplier), each figure the mean over the seeds with its range.
pub fn render_table(report: &StudyReport) -> String {
    let mut out = String::new();
    let seeds = report.runs.iter().map(|r| r.spec.seed).collect::<std::collections::BTreeSet<_>>().len();
    let _ = writeln!(
        out,
        "{} runs, {} seeds each; training and dev: {}; test: PKU test. Shared settings: {}. Trained without the \
         hard masks in the loss; the epoch with the best dev F1 (masked) is scored. Each figure is the mean over \
         the seeds with the range in parentheses. Wall time of the whole study: {:.1} min ({} trainings at once, \
         {} thread each).\n",
        report.runs.len(),
        seeds,
        report.data,
        report.settings,
        report.wall_seconds / 60.0,
        report.jobs,
        report.threads_per_job
    );
    let _ = writeln!(out, "```sh\n{}\n```\n", report.command);
    out.push_str(
        "| encoder lr | convolutions | run | epochs, runs converged | test F1 unmasked | test F1 masked | \
         transitions moved | forbidden > lowest allowed | forbidden pairs in unmasked output |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let mut groups: Vec<(&RunSpec, Vec<&RunResult>)> = Vec::new();
    for run in &report.runs {
        let same = |s: &RunSpec| {
            s.encoder_lr == run.spec.encoder_lr
                && s.dilations == run.spec.dilations
                && s.crf_lr_mult == run.spec.crf_lr_mult
        };
        match groups.iter_mut().find(|(s, _)| same(s)) {
            Some((_, runs)) => runs.push(run),
            None => groups.push((&run.spec, vec![run])),
        }
    }
    for (spec, runs) in groups {
        let column =
            |f: &dyn Fn(&RunResult) -> f64, decimals| spread(&runs.iter().map(|r| f(r)).collect::<Vec<_>>(), decimals);
        let converged = runs.iter().filter(|r| r.converged).count();
        let epochs_min = runs.iter().map(|r| r.epochs_run).min().unwrap_or(0);
        let epochs_max = runs.iter().map(|r| r.epochs_run).max().unwrap_or(0);
        let epochs =
            if epochs_min == epochs_max { epochs_min.to_string() } else { format!("{epochs_min}–{epochs_max}") };
        let is_crf = spec.crf_lr_mult.is_some();
        let crf_only = |text: String| if is_crf { text } else { "—".to_string() };
        let _ = writeln!(
            out,
            "| {} | {} ({}) | {} | {epochs}, {converged}/{} | {} | {} | {} | {} | {} |",
            spec.encoder_lr,
            spec.dilations.len(),
            spec.dilations.iter().map(|d| format!("d{d}")).collect::<Vec<_>>().join(" "),
            spec.run_name(),
            runs.len(),
            column(&|r| r.test_f1_unmasked, 2),
            column(&|r| r.test_f1_masked, 2),
            crf_only(column(&|r| r.transition_shift, 3)),
            crf_only(column(&|r| r.forbidden_above_lowest_allowed as f64, 1)),
            column(&|r| r.forbidden_pairs_unmasked as f64, 0),
        );
    }
    out
}

/// The marker lines around the rendered table in docs/background.md.
pub const TABLE_BEGIN: &str = "<!-- neural-lr-study:begin (rendered by the study command; do not edit) -->";
/// See [`TABLE_BEGIN`].
pub const TABLE_END: &str = "<!-- neural-lr-study:end -->";

/// `text` with what lies between [`TABLE_BEGIN`] and [`TABLE_END`] replaced by `block`; `None` when the
/// markers are missing or out of order.
pub fn replace_table(text: &str, block: &str) -> Option<String> {
    let (begin, end) = (text.find(TABLE_BEGIN)?, text.find(TABLE_END)?);
    if end < begin {
        return None;
    }
    let body = begin + TABLE_BEGIN.len();
    Some(format!("{}\n{block}{}", &text[..body], &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bmes() -> Constraints {
        constraints_for(&["B", "M", "E", "S"].map(str::to_owned)).1
    }

    /// `[from][to]` over B M E S; the forbidden pairs are B→B, B→S, M→B, M→S, E→M, E→E, S→M, S→E.
    fn matrix(rows: [[f32; 4]; 4]) -> Vec<f32> {
        rows.concat()
    }

    #[test]
    fn forbidden_transitions_above_the_lowest_allowed_are_counted() {
        let c = bmes();
        // Allowed scores 1..=8, forbidden ones all below: none counts.
        let ranked =
            matrix([[-1.0, 1.0, 2.0, -1.0], [-1.0, 3.0, 4.0, -1.0], [5.0, -1.0, -1.0, 6.0], [7.0, -1.0, -1.0, 8.0]]);
        assert_eq!(forbidden_above_lowest_allowed(&ranked, &c, 4), 0);
        // S→E (row 3, column 2) above the lowest allowed (B→M = 1), and E→M equal to it (not above).
        let mut wrong = ranked.clone();
        wrong[3 * 4 + 2] = 1.5;
        wrong[2 * 4 + 1] = 1.0;
        assert_eq!(forbidden_above_lowest_allowed(&wrong, &c, 4), 1);
        // An untrained (all-zero) matrix ranks nothing above anything.
        assert_eq!(forbidden_above_lowest_allowed(&[0.0; 16], &c, 4), 0);
        // Every forbidden pair above every allowed one.
        let inverted: Vec<f32> = ranked.iter().map(|v| -v).collect();
        assert_eq!(forbidden_above_lowest_allowed(&inverted, &c, 4), 8);
    }

    #[test]
    fn forbidden_pairs_in_output_are_counted() {
        let c = bmes();
        // B E S | S M E (S→M) | B B E (B→B) and E E at the end (E→E).
        let predicted = vec![vec![0, 2, 3], vec![3, 1, 2], vec![0, 0, 2, 2], vec![], vec![3]];
        assert_eq!(forbidden_pairs(&predicted, &c), 3);
        assert_eq!(forbidden_pairs(&[vec![0, 1, 1, 2, 3, 0, 2]], &c), 0);
    }

    #[test]
    fn the_transition_shift_is_the_mean_absolute_change() {
        let initial = [0.5f32, -0.5, 0.0, 1.0];
        assert_eq!(mean_transition_shift(&initial, &initial), 0.0);
        let learned = [1.5f32, -0.5, -2.0, 1.0];
        assert!((mean_transition_shift(&learned, &initial) - 0.75).abs() < 1e-9);
    }

    fn sentences(n: usize) -> Vec<Sentence> {
        (0..n).map(|i| Sentence { chars: vec![char::from_u32(0x4e00 + i as u32).unwrap()], tags: vec![3] }).collect()
    }

    #[test]
    fn the_sample_is_spread_disjoint_and_sized() {
        let all = sentences(100);
        let (train, dev) = sample_split(&all, 30, 10).unwrap();
        assert_eq!((train.len(), dev.len()), (30, 10));
        let first = |s: &Sentence| s.chars[0] as u32 - 0x4e00;
        let dev_ids: Vec<u32> = dev.iter().map(first).collect();
        assert_eq!(dev_ids, (0..10).map(|k| 10 * k + 9).collect::<Vec<_>>());
        let train_ids: Vec<u32> = train.iter().map(first).collect();
        assert!(train_ids.iter().all(|id| !dev_ids.contains(id)));
        assert!(train_ids.windows(2).all(|w| w[0] < w[1]), "repeated or unordered: {train_ids:?}");
        assert!(*train_ids.last().unwrap() > 80, "not spread over the corpus: {train_ids:?}");
        let error = sample_split(&all, 95, 10).unwrap_err().to_string();
        assert!(error.contains("--train-sentences 95") && error.contains("100 sentences"), "{error}");
        assert!(sample_split(&all, 0, 10).unwrap_err().to_string().contains("--train-sentences"));
    }

    #[test]
    fn the_plan_covers_every_combination_and_trains_without_masks() {
        let plan = StudyPlan {
            base: NeuralConfig::default(),
            encoder_lrs: vec![1e-4, 1e-3],
            max_epochs: vec![30, 10],
            depths: vec![vec![1], vec![1, 1, 1]],
            multipliers: vec![1.0, 10.0, 100.0, 1000.0],
            seeds: vec![1, 2, 3],
            softmax: true,
        };
        plan.validate().unwrap();
        let runs = plan.runs();
        assert_eq!(runs.len(), 2 * 2 * 5 * 3);
        assert_eq!(runs.iter().filter(|r| r.crf_lr_mult.is_none()).count(), 12);
        assert!(runs.iter().all(|r| r.max_epochs == if r.encoder_lr == 1e-4 { 30 } else { 10 }));
        let config = plan.config(&runs.iter().find(|r| r.crf_lr_mult == Some(100.0)).unwrap().clone());
        assert!(!config.constrained_training);
        assert_eq!((config.loss, config.crf_lr_mult), (NeuralLoss::Crf, 100.0));
        let crf_only = StudyPlan { softmax: false, ..plan.clone() };
        assert_eq!(crf_only.runs().len(), 48);
        assert!(crf_only.runs().iter().all(|r| r.crf_lr_mult.is_some()));
        let mismatched = StudyPlan { max_epochs: vec![30], ..plan };
        assert!(mismatched.validate().unwrap_err().to_string().contains("--max-epochs"));
    }

    fn result(mult: Option<f64>, seed: u64, f1: f64) -> RunResult {
        RunResult {
            spec: RunSpec { encoder_lr: 1e-3, dilations: vec![1], crf_lr_mult: mult, seed, max_epochs: 10 },
            epochs_run: 5 + seed as usize,
            best_epoch: 3,
            converged: seed != 2,
            dev_f1: 90.0,
            test_f1_unmasked: f1,
            test_f1_masked: f1 + 1.0,
            transition_shift: 0.5,
            forbidden_above_lowest_allowed: seed as usize,
            forbidden_pairs_unmasked: 10,
            seconds: 1.0,
        }
    }

    #[test]
    fn the_table_has_one_row_per_configuration_with_mean_and_range() {
        let report = StudyReport {
            command: "tune --study neural-lr".to_string(),
            data: "d".to_string(),
            settings: "s".to_string(),
            jobs: 2,
            threads_per_job: 1,
            wall_seconds: 90.0,
            runs: vec![
                result(None, 1, 80.0),
                result(None, 2, 82.0),
                result(Some(10.0), 1, 85.0),
                result(Some(10.0), 2, 85.0),
            ],
        };
        let table = render_table(&report);
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| 0.001")).collect();
        assert_eq!(rows.len(), 2, "{table}");
        assert_eq!(
            rows[0],
            "| 0.001 | 1 (d1) | Softmax | 6–7, 1/2 | 81.00 (80.00–82.00) | 82.00 (81.00–83.00) | — | — | 10 |"
        );
        assert!(
            rows[1].starts_with("| 0.001 | 1 (d1) | CRF 10x | 6–7, 1/2 | 85.00 | 86.00 | 0.500 | 1.5 (1.0–2.0) | 10 |"),
            "{}",
            rows[1]
        );
        assert!(table.contains("1.5 min (2 trainings at once"), "{table}");
        let doc = format!("intro\n{TABLE_BEGIN}\nold\n{TABLE_END}\nafter\n");
        let replaced = replace_table(&doc, &table).unwrap();
        assert!(replaced.starts_with("intro\n") && replaced.ends_with(&format!("{TABLE_END}\nafter\n")));
        assert!(replaced.contains(rows[0]) && !replaced.contains("old"));
        assert!(replace_table("no markers", &table).is_none());
    }
}

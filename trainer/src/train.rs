//! The training loop: shuffled mini-batches, per-sentence gradients computed in parallel and summed in
//! a fixed order (so a seed gives the same model whatever the thread count), Adagrad with separate
//! learning rates for the emission table and the CRF layer, and model selection on a dev set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use decoder::internal::tags::ModelConstraints as Constraints;
use rayon::prelude::*;

use crate::corpus::{Corpus, Sentence};
use crate::crf::{Lattice, Loss, SentenceGradient};
use crate::evaluate::{evaluate_float, DevScore};
use crate::features::{FeatureSpec, FeaturizedCorpus, FeaturizedSentence, UNUSED_ROW};
use crate::model::FloatModel;
use crate::optimizer::{Adagrad, AdagradMode, RowAdagrad, RowPull, SentenceRows, StepRegularization};
use crate::pipeline::progress::{say, Progress, ProgressEvent};

/// Everything that shapes a training run besides the data and the features.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// CRF or per-character softmax.
    pub loss: Loss,
    /// Most passes over the training data.
    pub epochs: usize,
    /// Adagrad learning rate of the emission table.
    pub lr: f32,
    /// Adagrad learning rate of the CRF layer (transitions, start, end).
    pub crf_lr: f32,
    /// L1 strength over the whole corpus (crfsuite's `c1`), emission table only.
    pub l1: f32,
    /// L2 strength over the whole corpus (crfsuite's `c2`), emission table only.
    pub l2: f32,
    /// Sentences per mini-batch (one optimizer step).
    pub batch_size: usize,
    /// Seed of the per-epoch shuffles.
    pub seed: u64,
    /// Train under the decoder's hard constraints (forbidden paths have probability zero).
    pub constrained: bool,
    /// Stop after this many epochs without a better dev score.
    pub patience: usize,
    /// Evaluate and export the mean of the iterates rather than the last one.
    pub average: bool,
    /// Epoch (1-based) from which the iterates are averaged; earlier, poorer ones are left out.
    pub average_from: usize,
    /// Initial Adagrad squared-gradient sum (damps the first steps of rare features).
    pub adagrad_init: f32,
    /// Squared-gradient sums per row or per weight of the emission table.
    pub adagrad: AdagradMode,
    /// Leave out of training the features seen fewer times than this (1: keep all).
    pub min_feature_count: u32,
    /// Run all `epochs` and keep the last one's model instead of the best on dev (a refit, whose dev
    /// data is part of the training data; dev is still scored each epoch, for information).
    pub keep_last: bool,
    /// Pull the emission table's rows towards these targets while training (quantization-aware
    /// training of a codebook model, [`crate::codebook_pull`]).
    pub pull: Option<Arc<RowPull>>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            loss: Loss::Crf,
            epochs: 8,
            lr: 0.1,
            crf_lr: 0.1,
            l1: 0.0,
            l2: 0.0,
            batch_size: 16,
            seed: 1,
            constrained: true,
            patience: 2,
            average: true,
            average_from: 1,
            adagrad_init: 0.0,
            min_feature_count: 1,
            adagrad: AdagradMode::Row,
            keep_last: false,
            pull: None,
        }
    }
}

/// What one epoch did.
#[derive(Debug, Clone)]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss per character.
    pub loss_per_char: f64,
    /// Dev score of the (averaged) model after the epoch.
    pub dev: DevScore,
    /// Wall time of the epoch, evaluation included.
    pub elapsed: Duration,
}

/// The result of [`train`].
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The model of the best epoch on dev.
    pub model: FloatModel,
    /// Every epoch's figures.
    pub epochs: Vec<EpochReport>,
    /// Index into `epochs` of the chosen one.
    pub best: usize,
    /// Training sentences skipped because their gold path breaks the hard constraints.
    pub skipped_sentences: usize,
    /// `[rows]` how often the training data reads each emission table row.
    pub row_usage: Vec<u32>,
}

impl TrainOutcome {
    /// The chosen epoch's report.
    pub fn best_epoch(&self) -> &EpochReport {
        &self.epochs[self.best]
    }
}

/// A small, fast, seedable generator for shuffling (SplitMix64).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Layout of the CRF layer's parameters in one vector: transitions, then start, then end.
struct CrfLayout {
    l: usize,
}

impl CrfLayout {
    fn len(&self) -> usize {
        self.l * self.l + 2 * self.l
    }

    fn split<'a>(&self, params: &'a [f32]) -> (&'a [f32], &'a [f32], &'a [f32]) {
        let (transitions, rest) = params.split_at(self.l * self.l);
        let (start, end) = rest.split_at(self.l);
        (transitions, start, end)
    }
}

/// Trains a model on `train`, choosing the epoch that scores best on `dev` (or the last, with
/// [`TrainConfig::keep_last`]). `init` (same tags and features, direct weights) is the starting point.
/// Epochs, batches and notes go to `progress`.
pub fn train(
    train: &Corpus,
    dev: &[Sentence],
    features: FeatureSpec,
    config: &TrainConfig,
    init: Option<FloatModel>,
    progress: &mut dyn Progress,
) -> TrainOutcome {
    let featurized = FeaturizedCorpus::new(&features, &train.sentences, config.min_feature_count);
    let model = match init {
        Some(model) => {
            assert_eq!(model.features, features, "the initial model must use the same features");
            model
        }
        None => FloatModel::zeros(train.tag_names.clone(), features.clone()),
    };
    train_featurized(&featurized, &|snapshot| evaluate_float(snapshot, dev), model, config, progress)
}

/// [`train`] on features computed beforehand (`featurized`, laid out as `model.features` says), with
/// `dev_score` scoring each epoch's model: the loop every kind of features shares. `model` (direct
/// weights) is the starting point and gives the tags, features and constraints.
pub fn train_featurized(
    featurized: &FeaturizedCorpus,
    dev_score: &(dyn Fn(&FloatModel) -> DevScore + Sync),
    model: FloatModel,
    config: &TrainConfig,
    progress: &mut dyn Progress,
) -> TrainOutcome {
    let mut same_pull = |_: usize, _: &FloatModel, _: DevScore, _: &mut dyn Progress| NextEpoch {
        pull: config.pull.clone(),
        restart_average: false,
    };
    train_featurized_with_hook(featurized, dev_score, model, config, &mut same_pull, progress)
}

/// What the epoch hook of [`train_featurized_with_hook`] sets for the next epoch.
#[derive(Debug, Clone)]
pub struct NextEpoch {
    /// The pull of the next epoch (replaces `TrainConfig::pull`).
    pub pull: Option<Arc<RowPull>>,
    /// Restart the averaging of the iterates at the next epoch.
    pub restart_average: bool,
}

/// [`train_featurized`], with `hook` called after every epoch (its number, model and dev score) to set
/// the pull of the next: the optimizer state (Adagrad's sums, the average) runs on across the epochs,
/// unlike separate calls of one epoch each.
pub fn train_featurized_with_hook(
    featurized: &FeaturizedCorpus,
    dev_score: &(dyn Fn(&FloatModel) -> DevScore + Sync),
    model: FloatModel,
    config: &TrainConfig,
    hook: &mut dyn FnMut(usize, &FloatModel, DevScore, &mut dyn Progress) -> NextEpoch,
    progress: &mut dyn Progress,
) -> TrainOutcome {
    let features = model.features.clone();
    let mut model = model;
    let l = model.num_tags();
    // Read once: the report below counts the rows in use, and the outcome carries it (codebook weights).
    let row_usage = featurized.row_usage(features.buckets());
    report_feature_use(featurized, &row_usage, config, progress);
    assert!(model.codes.is_none(), "training updates direct weights, not a codebook");
    let (_, constraints) = model.constraints();
    let layout = CrfLayout { l };

    let mut emission = RowAdagrad::new(&model.weights, l, config.lr, config.adagrad_init, config.adagrad);
    model.weights = Vec::new();
    let mut crf_params = model.transitions.clone();
    crf_params.extend_from_slice(&model.start);
    crf_params.extend_from_slice(&model.end);
    let mut crf = Adagrad::new(crf_params, config.crf_lr, config.adagrad_init);

    let total_chars = featurized.positions();
    let k = features.rows_per_position();
    let mut rng = SplitMix64::new(config.seed);
    let mut order: Vec<usize> = (0..featurized.len()).collect();
    let mut epochs = Vec::new();
    let mut best: Option<(usize, FloatModel)> = None;
    let mut skipped_sentences = 0;
    let training_constraints = config.constrained.then_some(&constraints);
    let profile = std::env::var_os("TRAINER_PROFILE").is_some();
    let step_reg = |sentences: usize| {
        let share = sentences as f32 / featurized.len() as f32;
        StepRegularization { l1: config.l1 * share, l2: config.l2 * share }
    };

    let mut pull = config.pull.clone();
    let mut restart_average = false;
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        if epoch == config.average_from || restart_average {
            emission.restart_average();
            crf.restart_average();
        }
        rng.shuffle(&mut order);
        progress.event(ProgressEvent::EpochStarted { epoch, epochs: config.epochs, characters: total_chars as u64 });
        let pass = EpochPass {
            featurized,
            layout: &layout,
            templates: k,
            constraints: training_constraints,
            config,
            pull: pull.as_deref(),
            step_reg: &step_reg,
        };
        let (loss_sum, skipped, gradient_seconds) = pass.run(&order, &mut emission, &mut crf, progress);
        skipped_sentences = skipped;
        if profile {
            say(
                progress,
                format!(
                    "profile: gradients {gradient_seconds:.2} s, updates {:.2} s",
                    started.elapsed().as_secs_f64() - gradient_seconds
                ),
            );
        }

        if config.l1 > 0.0 || config.l2 > 0.0 {
            emission.catch_up_all(step_reg(config.batch_size));
        }
        let snapshot = snapshot(&model, &emission, &crf, &layout, config.average);
        let dev_score = dev_score(&snapshot);
        NextEpoch { pull, restart_average } = hook(epoch, &snapshot, dev_score, progress);
        let report = EpochReport {
            epoch,
            loss_per_char: loss_sum / total_chars.max(1) as f64,
            dev: dev_score,
            elapsed: started.elapsed(),
        };
        progress.event(ProgressEvent::EpochFinished {
            epoch,
            epochs: config.epochs,
            loss_per_char: report.loss_per_char,
            dev: report.dev,
            elapsed: report.elapsed,
        });
        let improved = if config.keep_last {
            epoch == config.epochs
        } else {
            best.as_ref().is_none_or(|(b, _)| dev_score.value() > epochs_value(&epochs, *b))
        };
        epochs.push(report);
        if improved {
            best = Some((epochs.len() - 1, snapshot));
        } else if best.as_ref().is_some_and(|(b, _)| epochs.len() - 1 - b >= config.patience) {
            say(progress, format!("no dev improvement for {} epochs: stopping", config.patience));
            break;
        }
    }
    let (best, model) = best.expect("at least one epoch");
    TrainOutcome { model, epochs, best, skipped_sentences, row_usage }
}

/// One pass over the shuffled training data: the pieces of [`train`] that every batch reads.
struct EpochPass<'a> {
    featurized: &'a FeaturizedCorpus,
    layout: &'a CrfLayout,
    /// Table rows read a position.
    templates: usize,
    constraints: Option<&'a Constraints>,
    config: &'a TrainConfig,
    /// The pull of this epoch.
    pull: Option<&'a RowPull>,
    /// The regularisation of a step over this many sentences.
    step_reg: &'a dyn Fn(usize) -> StepRegularization,
}

impl EpochPass<'_> {
    /// Trains on the sentences in `order`, batch by batch; returns the summed loss, the sentences
    /// skipped (their gold path breaks the constraints) and the seconds spent on gradients.
    fn run(
        &self,
        order: &[usize],
        emission: &mut RowAdagrad,
        crf: &mut Adagrad,
        progress: &mut dyn Progress,
    ) -> (f64, usize, f64) {
        let (featurized, layout, k, config) = (self.featurized, self.layout, self.templates, self.config);
        let (l, training_constraints, step_reg) = (layout.l, self.constraints, self.step_reg);
        let mut loss_sum = 0.0;
        let mut skipped = 0;
        let mut gradient_seconds = 0.0;
        for batch in order.chunks(config.batch_size.max(1)) {
            let gradient_started = Instant::now();
            let (transitions, start, end) = layout.split(&crf.weights);
            let scorer = BatchScorer {
                table: emission,
                transitions,
                start,
                end,
                templates: k,
                num_tags: l,
                constraints: training_constraints,
                loss: config.loss,
            };
            let gradients: Vec<Option<SentenceGradient>> =
                batch.par_iter().map(|&i| scorer.gradient(featurized.sentence(i))).collect();
            gradient_seconds += gradient_started.elapsed().as_secs_f64();

            let mut crf_grad = vec![0.0f64; layout.len()];
            let mut rows = Vec::with_capacity(batch.len());
            let mut batch_chars = 0;
            for (&index, gradient) in batch.iter().zip(&gradients) {
                let sentence = featurized.sentence(index);
                batch_chars += sentence.len();
                let Some(g) = gradient else {
                    skipped += 1;
                    continue;
                };
                loss_sum += g.loss;
                rows.push(SentenceRows { rows: sentence.rows, grads: &g.emissions });
                let (transitions, rest) = crf_grad.split_at_mut(l * l);
                let (start, end) = rest.split_at_mut(l);
                add(transitions, &g.transitions);
                add(start, &g.start);
                add(end, &g.end);
            }
            emission.step(&rows, k, step_reg(batch.len()), self.pull);
            if config.loss == Loss::Crf {
                let grad: Vec<f32> = crf_grad.iter().map(|&g| g as f32).collect();
                crf.step(&grad);
            }
            progress.event(ProgressEvent::Trained { characters: batch_chars as u64 });
        }
        (loss_sum, skipped, gradient_seconds)
    }
}

/// Says how many features were left out and how many table rows the training features use.
fn report_feature_use(
    featurized: &FeaturizedCorpus,
    row_usage: &[u32],
    config: &TrainConfig,
    progress: &mut dyn Progress,
) {
    let dropped = featurized.dropped_features();
    if dropped > 0 {
        say(
            progress,
            format!("left out {dropped} distinct features seen fewer than {} times", config.min_feature_count),
        );
    }
    let used = row_usage.iter().filter(|&&reads| reads > 0).count();
    say(
        progress,
        format!(
            "training features use {used} of {} table rows ({:.0}%)",
            row_usage.len(),
            100.0 * used as f64 / row_usage.len() as f64
        ),
    );
}

fn epochs_value(epochs: &[EpochReport], index: usize) -> f64 {
    epochs[index].dev.value()
}

fn add(into: &mut [f64], from: &[f64]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a += b;
    }
}

/// The model to evaluate or export: averaged iterates, or the current ones.
fn snapshot(
    template: &FloatModel,
    emission: &RowAdagrad,
    crf: &Adagrad,
    layout: &CrfLayout,
    average: bool,
) -> FloatModel {
    let (weights, crf_params) =
        if average { (emission.averaged(), crf.averaged()) } else { (emission.weights(), crf.weights.clone()) };
    let (transitions, start, end) = layout.split(&crf_params);
    FloatModel {
        tag_names: template.tag_names.clone(),
        features: template.features.clone(),
        weights,
        codes: template.codes.clone(),
        transitions: transitions.to_vec(),
        start: start.to_vec(),
        end: end.to_vec(),
        custom_constraints: template.custom_constraints,
    }
}

/// Read-only view of the parameters during the parallel part of a step.
struct BatchScorer<'a> {
    table: &'a RowAdagrad,
    transitions: &'a [f32],
    start: &'a [f32],
    end: &'a [f32],
    templates: usize,
    num_tags: usize,
    constraints: Option<&'a Constraints>,
    loss: Loss,
}

impl BatchScorer<'_> {
    fn gradient(&self, sentence: FeaturizedSentence<'_>) -> Option<SentenceGradient> {
        let l = self.num_tags;
        let mut emissions = vec![0.0f32; sentence.len() * l];
        for (scores, rows) in emissions.chunks_exact_mut(l).zip(sentence.rows.chunks_exact(self.templates)) {
            for &row in rows.iter().filter(|&&row| row != UNUSED_ROW) {
                for (s, w) in scores.iter_mut().zip(self.table.row(row as usize)) {
                    *s += w;
                }
            }
        }
        let lattice = Lattice {
            num_tags: l,
            emissions: &emissions,
            transitions: self.transitions,
            start: self.start,
            end: self.end,
            constraints: self.constraints,
        };
        match self.loss {
            Loss::Crf => match sentence.teacher {
                Some((marginals, weight)) => lattice.distilled_crf_gradient(sentence.tags, marginals, weight),
                None => lattice.crf_gradient(sentence.tags),
            },
            Loss::Softmax => Some(lattice.softmax_gradient(sentence.tags)),
        }
    }
}

//! Training the neural emission model and its CRF layer with candle (CPU): the encoder of
//! [`NeuralWeights`] (character and hashed n-gram embeddings, 1-D convolutions with ReLU, a dense layer)
//! under the CRF loss of [`super::crf_loss`], AdamW with a learning rate of its own for the CRF layer
//! (`lr * crf_lr_mult`), dropout, mini-batches and early stopping on dev F1.
//!
//! The encoder is computed exactly as [`super::forward`] computes it, batched: each convolution is one
//! matrix product of the `K` shifted copies of its input (zero outside the sentence), so the trained
//! tensors are the exported ones with no change of layout.
//!
//! Determinism: everything random (initial weights, the order of the sentences, dropout masks) comes from
//! [`SplitMix`] seeded by `seed`; candle's CPU kernels do not draw random numbers here, and its matrix
//! products split the work between threads by output blocks, each output summed in one fixed order, so
//! the same seed gives the same model for any thread count (`trainer/tests/neural_train.rs` trains twice
//! and compares the files).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use decoder::internal::features::{AFTER_END, BEFORE_START};
use decoder::internal::neural::{ngram_bucket, vocabulary_row};
use decoder::internal::tags::ModelConstraints as Constraints;
use decoder::internal::text::{normalize, NORMALIZE_WIDTH};

use super::base::{Base, BaseModel};
use super::crf_loss::{crf_nll, mask_penalties, no_penalties, softmax_nll, CrfTensors, GoldBatch};
use super::export::CrfScores;
use super::random::{random_weights, NeuralShape, SplitMix};
pub use super::warm_start::TableInit;
use super::warm_start::{start_from_linear, train_linear_start};
use super::weights::{DenseWeights, NeuralWeights, TableWeights};
use crate::corpus::Sentence;
use crate::evaluate::{score_predictions, DevScore};
use crate::features::TemplateSet;
use crate::model::viterbi;
use crate::pipeline::{Progress, ProgressEvent};

/// Characters each side a model may read (the decoder's `MAX_OFFSET`).
pub const MAX_REACH: usize = decoder::internal::features::MAX_OFFSET;

/// log2 of the rows of a hybrid model's table when `--neural table-bits` does not say.
pub const DEFAULT_TABLE_BITS: u8 = 20;
/// The table's learning rate over the encoder's when `--neural table-lr-mult` does not say, chosen on dev
/// (docs/experiments.md, "The hybrid table's learning rate").
pub const DEFAULT_TABLE_LR_MULT: f64 = 30.0;

/// How a hybrid model's table starts when `--neural table-init` does not say: from a linear model, which
/// on dev beat the zero start after one and two epochs (docs/experiments.md, "Starting the hybrid table
/// from a linear model").
pub const DEFAULT_TABLE_INIT: TableInit = TableInit::Linear;

/// The training objective of the neural model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NeuralLoss {
    /// CRF negative log-likelihood: transitions trained with the encoder.
    #[default]
    Crf,
    /// Per-character softmax: the transitions stay zero (decoding still applies the hard masks).
    Softmax,
}

/// The shape and training settings of a neural model.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuralConfig {
    /// Embedding width `D`.
    pub dim: usize,
    /// log2 of the n-gram buckets.
    pub bucket_bits: u8,
    /// N-gram templates `(first offset, length)`.
    pub ngram_templates: Vec<(i8, u8)>,
    /// Output channels of every convolution.
    pub channels: usize,
    /// Kernel width of every convolution (odd).
    pub kernel: usize,
    /// One dilation per convolution (their number is the number of convolutions).
    pub dilations: Vec<usize>,
    /// Characters seen fewer times than this in the training text share the unknown row.
    pub min_char_count: usize,
    /// AdamW learning rate of the encoder.
    pub lr: f64,
    /// The CRF layer's learning rate is `lr * crf_lr_mult`.
    pub crf_lr_mult: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    /// Dropout on the embeddings and every convolution's output.
    pub dropout: f32,
    /// Sentences per optimizer step.
    pub batch_size: usize,
    /// Most passes over the training data.
    pub epochs: usize,
    /// Stop after this many epochs without a better dev score.
    pub patience: usize,
    /// Stop after the batch that passes this much training time (dev scoring included).
    pub max_seconds: Option<f64>,
    /// Training objective.
    pub loss: NeuralLoss,
    /// Train the CRF loss under the hard masks (forbidden paths have probability zero). Without them the
    /// transitions must learn which pairs never occur, as in a plain CRF (the learning-rate study);
    /// decoding applies the masks either way.
    pub constrained_training: bool,
    /// The initial transition scores of a CRF model are drawn uniform in `±initial_transition_range` (0:
    /// all zero, the default; a softmax model keeps zero transitions). The learning-rate study starts
    /// them random, as the note's Keras CRF layer did, so that a layer that does not learn is visible as
    /// forbidden transitions still scoring high.
    pub initial_transition_range: f32,
    /// Seed of the initial weights, the order of the sentences and the dropout masks.
    pub seed: u64,
    /// A hybrid model: log2 of the rows of its hashed n-gram table, trained with the encoder (`None`: a
    /// neural model without a table).
    pub table_bits: Option<u8>,
    /// The table's AdamW learning rate is `lr * table_lr_mult`.
    pub table_lr_mult: f64,
    /// How the table starts: zero, or a linear model trained first on the same text.
    pub table_init: TableInit,
    /// AdamW's decoupled weight decay on the table alone (the encoder's is `weight_decay`).
    pub table_weight_decay: f64,
    /// Dropout on the table's rows during training: each row a position reads is left out with this
    /// probability (the others scaled up to keep the expected sum).
    pub table_dropout: f32,
    /// A linear model file whose fixed emission scores the encoder's are added to (`--neural base=`,
    /// [`super::base`]); `None`: no base.
    pub base: Option<PathBuf>,
    /// Models trained without part of the training data that give the training sentences their base
    /// scores (`--neural base-jackknife=`, [`super::base`]); empty: `base` scores them.
    pub base_jackknife: Vec<PathBuf>,
}

impl Default for NeuralConfig {
    fn default() -> Self {
        Self {
            dim: 64,
            bucket_bits: 15,
            ngram_templates: vec![(-1, 2), (0, 2), (-1, 3)],
            channels: 128,
            kernel: 3,
            dilations: vec![1, 2],
            min_char_count: 2,
            lr: 1e-3,
            crf_lr_mult: 100.0,
            weight_decay: 0.0,
            dropout: 0.2,
            batch_size: 32,
            epochs: 12,
            patience: 3,
            max_seconds: None,
            loss: NeuralLoss::Crf,
            constrained_training: true,
            initial_transition_range: 0.0,
            seed: 1,
            table_bits: None,
            table_lr_mult: DEFAULT_TABLE_LR_MULT,
            table_init: DEFAULT_TABLE_INIT,
            table_weight_decay: 0.0,
            table_dropout: 0.0,
            base: None,
            base_jackknife: Vec::new(),
        }
    }
}

impl NeuralConfig {
    /// Characters the model reads each side of a position: the n-grams' and the convolutions'.
    pub fn reach(&self) -> usize {
        let ngram = self
            .ngram_templates
            .iter()
            .map(|&(first, length)| (-i32::from(first)).max(i32::from(first) + i32::from(length) - 1).max(0) as usize)
            .max()
            .unwrap_or(0);
        ngram + self.dilations.iter().map(|d| d * (self.kernel.saturating_sub(1) / 2)).sum::<usize>()
    }

    /// Fails, naming the option, on a shape the decoder cannot run or a setting out of range.
    pub fn validate(&self) -> Result<()> {
        let channels = decoder::internal::format::MAX_CHANNELS;
        ensure!((1..=channels).contains(&self.dim), "--neural dim must be 1 to {channels}, got {}", self.dim);
        ensure!(
            (1..=channels).contains(&self.channels),
            "--neural channels must be 1 to {channels}, got {}",
            self.channels
        );
        ensure!((4..=24).contains(&self.bucket_bits), "--neural bucket-bits must be 4 to 24, got {}", self.bucket_bits);
        ensure!(
            self.kernel % 2 == 1 && self.kernel <= usize::from(decoder::internal::format::MAX_KERNEL),
            "--neural kernel must be odd and at most {}, got {}",
            decoder::internal::format::MAX_KERNEL,
            self.kernel
        );
        let layers = decoder::internal::format::MAX_CONV_LAYERS;
        ensure!(
            self.dilations.len() <= layers,
            "--neural dilations: {} convolutions, at most {layers}",
            self.dilations.len()
        );
        ensure!(
            self.dilations.iter().all(|&d| (1..=255).contains(&d)),
            "--neural dilations: every dilation must be 1 to 255, got {:?}",
            self.dilations
        );
        ensure!(
            self.reach() <= MAX_REACH,
            "--neural dilations={:?} with kernel={} and the n-grams read {} characters each side; \
             the decoder reads at most {MAX_REACH}",
            self.dilations,
            self.kernel,
            self.reach()
        );
        ensure!(self.lr > 0.0 && self.lr.is_finite(), "--neural lr must be a positive number, got {}", self.lr);
        ensure!(
            self.crf_lr_mult >= 0.0 && self.crf_lr_mult.is_finite(),
            "--crf-lr-mult must be a non-negative number, got {}",
            self.crf_lr_mult
        );
        ensure!(
            self.initial_transition_range >= 0.0 && self.initial_transition_range.is_finite(),
            "the initial transition range must be a non-negative number, got {}",
            self.initial_transition_range
        );
        ensure!((0.0..1.0).contains(&self.dropout), "--neural dropout must be in [0, 1), got {}", self.dropout);
        if let Some(bits) = self.table_bits {
            let max = decoder::MAX_BUCKET_BITS;
            ensure!((1..=max).contains(&bits), "--neural table-bits must be 1 to {max}, got {bits}");
        }
        ensure!(
            self.table_lr_mult > 0.0 && self.table_lr_mult.is_finite(),
            "--neural table-lr-mult must be a positive number, got {}",
            self.table_lr_mult
        );
        ensure!(
            self.table_weight_decay >= 0.0 && self.table_weight_decay.is_finite(),
            "--neural table-decay must be a non-negative number, got {}",
            self.table_weight_decay
        );
        ensure!(
            (0.0..1.0).contains(&self.table_dropout),
            "--neural table-dropout must be in [0, 1), got {}",
            self.table_dropout
        );
        ensure!(
            self.base_jackknife.is_empty() || self.base.is_some(),
            "--neural base-jackknife needs --neural base (the model that scores dev and new text)"
        );
        ensure!(
            self.base.is_none() || (self.table_bits.is_none() && self.loss == NeuralLoss::Crf),
            "--neural base goes with --emission neural and the CRF loss (the base is the linear table)"
        );
        ensure!(self.batch_size >= 1, "--neural batch must be at least 1");
        ensure!(self.epochs >= 1, "--epochs must be at least 1");
        Ok(())
    }
}

/// A trained neural model: the encoder's weights and the CRF layer's scores.
#[derive(Debug, Clone)]
pub struct NeuralModel {
    /// The encoder.
    pub weights: NeuralWeights,
    /// The CRF layer (zero transitions for a softmax model).
    pub crf: CrfScores,
    /// The fixed model whose emission scores are added to the encoder's (`--neural base=`).
    pub base: Option<BaseModel>,
}

impl NeuralModel {
    /// Masked float Viterbi over the float encoder's scores, sentence by sentence.
    pub fn predict(&self, sentences: &[Sentence]) -> Vec<Vec<u8>> {
        use rayon::prelude::*;
        let constraints = crate::corpus::constraints_for(&self.crf.tag_names).1;
        sentences
            .par_iter()
            .map(|s| {
                let mut e = super::forward::forward(&self.weights, &s.chars);
                if let Some(base) = &self.base {
                    e.iter_mut().zip(base.emissions(&s.chars)).for_each(|(e, b)| *e += b);
                }
                let c = &self.crf;
                viterbi(&e, &c.transitions, &c.start, &c.end, c.tag_names.len(), Some(&constraints))
            })
            .collect()
    }
}

/// One epoch's figures.
#[derive(Debug, Clone)]
pub struct NeuralEpoch {
    /// 1-based; 0 is a warm-started model before its first step (`table-init=linear`, `base=`).
    pub epoch: usize,
    /// Mean training loss per character (epoch 0: the linear model's, at its chosen epoch).
    pub loss_per_char: f64,
    /// Dev score of the float model after the epoch.
    pub dev: DevScore,
}

/// What [`train_neural`] produced.
#[derive(Debug, Clone)]
pub struct NeuralOutcome {
    /// The model of the best epoch on dev.
    pub model: NeuralModel,
    /// Every epoch's figures.
    pub epochs: Vec<NeuralEpoch>,
    /// Index into `epochs` of the best one (see [`NeuralEpoch::epoch`] for its number).
    pub best: usize,
    /// Training sentences left out because their gold tags break the hard masks.
    pub skipped_sentences: usize,
    /// Whether training stopped at `max_seconds`.
    pub timed_out: bool,
    /// The transition scores before the first step (`[L][L]`), to measure how far training moved them.
    pub initial_transitions: Vec<f32>,
}

/// The inputs of one sentence: its characters' embedding rows and n-gram buckets, a hybrid model's
/// table rows, and its tags.
struct Encoded {
    chars: Vec<u32>,
    /// `[T][N]`.
    ngrams: Vec<u32>,
    /// `[T][K]` rows of the table's `K` templates (empty without a table).
    table_rows: Vec<u32>,
    /// `[T][L]` fixed base scores (empty without a base).
    base: Vec<f32>,
    tags: Vec<u8>,
}

impl Encoded {
    fn new(w: &NeuralWeights, vocabulary: &[u8], chars: &[char], tags: Vec<u8>) -> Self {
        let (rows, ngrams) = encode(w, vocabulary, chars);
        let table_rows = w.table.as_ref().map_or_else(Vec::new, |t| t.feature_spec(w.normalization).extract(chars));
        Self { chars: rows, ngrams, table_rows, base: Vec::new(), tags }
    }
}

/// The vocabulary of the training text: normalised characters seen at least `min_count` times, ascending.
pub fn build_vocabulary(sentences: &[Sentence], normalization: u8, min_count: usize) -> Vec<char> {
    let mut counts = std::collections::BTreeMap::<char, usize>::new();
    for c in sentences.iter().flat_map(|s| &s.chars) {
        *counts.entry(normalize(*c, normalization)).or_default() += 1;
    }
    counts.into_iter().filter(|&(_, n)| n >= min_count.max(1)).map(|(c, _)| c).collect()
}

/// The embedding rows and n-gram buckets of `chars`, as [`super::forward`] computes them.
fn encode(w: &NeuralWeights, vocabulary: &[u8], chars: &[char]) -> (Vec<u32>, Vec<u32>) {
    let codes: Vec<u32> = chars.iter().map(|&c| normalize(c, w.normalization) as u32).collect();
    let code_at = |i: isize| match usize::try_from(i) {
        Err(_) => BEFORE_START,
        Ok(i) => codes.get(i).copied().unwrap_or(AFTER_END),
    };
    let mut rows = Vec::with_capacity(codes.len());
    let mut ngrams = Vec::with_capacity(codes.len() * w.ngram_templates.len());
    for (p, &code) in codes.iter().enumerate() {
        rows.push(vocabulary_row(vocabulary, code) as u32);
        for (index, &(first, length)) in w.ngram_templates.iter().enumerate() {
            let start = p as isize + isize::from(first);
            let gram: Vec<u32> = (0..isize::from(length)).map(|k| code_at(start + k)).collect();
            ngrams.push(ngram_bucket(index, &gram, w.ngram_buckets) as u32);
        }
    }
    (rows, ngrams)
}

/// The trainable tensors.
struct Params {
    char_embeddings: Var,
    ngram_embeddings: Var,
    /// Per convolution: `[C_out][K * C_in]` and `[C_out]`.
    convs: Vec<(Var, Var)>,
    dense: (Var, Var),
    /// A hybrid model's table, `[rows][L]`.
    table: Option<Var>,
    transitions: Var,
    start: Var,
    end: Var,
}

impl Params {
    fn new(w: &NeuralWeights, num_tags: usize, device: &Device) -> Result<Self> {
        Self::with_dtype(w, num_tags, device, DType::F32)
    }

    /// The parameters in `dtype` (training uses f32; the gradient tests f64).
    fn with_dtype(w: &NeuralWeights, num_tags: usize, device: &Device, dtype: DType) -> Result<Self> {
        let var = |values: &[f32], shape: &[usize]| -> Result<Var> {
            Ok(Var::from_tensor(&Tensor::from_vec(values.to_vec(), shape, device)?.to_dtype(dtype)?)?)
        };
        let d = w.dim;
        let mut convs = Vec::new();
        for (i, c) in w.convs.iter().enumerate() {
            let per_row = c.kernel * w.in_channels(i);
            convs.push((var(&c.weights, &[c.out_channels, per_row])?, var(&c.bias, &[c.out_channels])?));
        }
        let last = w.in_channels(w.convs.len());
        let zeros = vec![0f32; num_tags * num_tags];
        Ok(Self {
            char_embeddings: var(&w.char_embeddings, &[w.vocabulary.len() + 1, d])?,
            ngram_embeddings: var(&w.ngram_embeddings, &[w.ngram_buckets as usize, d])?,
            convs,
            dense: (var(&w.dense.weights, &[num_tags, last])?, var(&w.dense.bias, &[num_tags])?),
            table: match &w.table {
                Some(t) => Some(var(&t.weights, &[1 << t.bucket_bits, num_tags])?),
                None => None,
            },
            transitions: var(&zeros, &[num_tags, num_tags])?,
            start: var(&zeros[..num_tags], &[num_tags])?,
            end: var(&zeros[..num_tags], &[num_tags])?,
        })
    }

    fn encoder_vars(&self) -> Vec<Var> {
        let mut vars = vec![self.char_embeddings.clone(), self.ngram_embeddings.clone()];
        for (w, b) in &self.convs {
            vars.extend([w.clone(), b.clone()]);
        }
        vars.extend([self.dense.0.clone(), self.dense.1.clone()]);
        vars
    }

    fn table_vars(&self) -> Vec<Var> {
        self.table.iter().cloned().collect()
    }

    fn crf_vars(&self) -> Vec<Var> {
        vec![self.transitions.clone(), self.start.clone(), self.end.clone()]
    }

    /// The current values as a model (the encoder's shapes from `template`).
    fn snapshot(
        &self,
        template: &NeuralWeights,
        tag_names: &[String],
        base: Option<&BaseModel>,
    ) -> Result<NeuralModel> {
        let flat = |v: &Var| -> Result<Vec<f32>> { Ok(v.as_tensor().flatten_all()?.to_vec1::<f32>()?) };
        let mut weights = template.clone();
        weights.char_embeddings = flat(&self.char_embeddings)?;
        weights.ngram_embeddings = flat(&self.ngram_embeddings)?;
        for (conv, (w, b)) in weights.convs.iter_mut().zip(&self.convs) {
            conv.weights = flat(w)?;
            conv.bias = flat(b)?;
        }
        weights.dense = DenseWeights { weights: flat(&self.dense.0)?, bias: flat(&self.dense.1)? };
        if let (Some(table), Some(var)) = (&mut weights.table, &self.table) {
            table.weights = flat(var)?;
        }
        let crf = CrfScores {
            tag_names: tag_names.to_vec(),
            transitions: flat(&self.transitions)?,
            start: flat(&self.start)?,
            end: flat(&self.end)?,
        };
        Ok(NeuralModel { weights, crf, base: base.cloned() })
    }
}

/// `x` (`[B][T][C]`) shifted so that position `p` reads `p + offset`, zero outside `0..T`.
fn shifted(x: &Tensor, offset: isize) -> Result<Tensor> {
    let (b, t, c) = x.dims3()?;
    let n = offset.unsigned_abs();
    if offset == 0 {
        return Ok(x.clone());
    }
    if n >= t {
        return Ok(x.zeros_like()?);
    }
    let zeros = Tensor::zeros((b, n, c), x.dtype(), x.device())?;
    Ok(if offset > 0 {
        Tensor::cat(&[&x.narrow(1, n, t - n)?, &zeros], 1)?
    } else {
        Tensor::cat(&[&zeros, &x.narrow(1, 0, t - n)?], 1)?
    })
}

/// Inverted dropout with a mask drawn from `rng` (`None`: no dropout).
fn dropout(x: &Tensor, rate: f32, rng: Option<&mut SplitMix>) -> Result<Tensor> {
    let Some(rng) = rng.filter(|_| rate > 0.0) else { return Ok(x.clone()) };
    let keep = 1.0 - rate;
    let threshold = (f64::from(keep) * (1u64 << 32) as f64) as u64;
    let mask: Vec<f32> =
        (0..x.elem_count()).map(|_| if rng.next_u64() >> 32 < threshold { 1.0 / keep } else { 0.0 }).collect();
    Ok(x.mul(&Tensor::from_vec(mask, x.shape(), x.device())?)?)
}

/// Inverted dropout of whole rows of `read` (`[B][T][K][L]`): one mask value per `[B][T][K]`.
fn dropout_rows(read: &Tensor, rate: f32, rng: Option<&mut SplitMix>) -> Result<Tensor> {
    let Some(rng) = rng.filter(|_| rate > 0.0) else { return Ok(read.clone()) };
    let (b, t, k, _) = read.dims4()?;
    let ones = Tensor::ones((b, t, k, 1), read.dtype(), read.device())?;
    Ok(read.broadcast_mul(&dropout(&ones, rate, Some(rng))?)?)
}

/// The encoder's emission scores `[B][T][L]` of a padded batch (`mask`: `[B][T][1]`).
fn encoder_scores(
    params: &Params,
    w: &NeuralWeights,
    batch: &[&Encoded],
    mask: &Tensor,
    (dropout_rate, table_dropout): (f32, f32),
    mut rng: Option<&mut SplitMix>,
) -> Result<Tensor> {
    let device = mask.device();
    let (b, t) = (batch.len(), mask.dims3()?.1);
    let n = w.ngram_templates.len();
    let mut chars = vec![0u32; b * t];
    let mut ngrams = vec![0u32; b * t * n.max(1)];
    for (i, s) in batch.iter().enumerate() {
        chars[i * t..i * t + s.chars.len()].copy_from_slice(&s.chars);
        ngrams[i * t * n..i * t * n + s.ngrams.len()].copy_from_slice(&s.ngrams);
    }
    let d = w.dim;
    let chars = Tensor::from_vec(chars, b * t, device)?;
    let mut x = params.char_embeddings.as_tensor().index_select(&chars, 0)?.reshape((b, t, d))?;
    if n > 0 {
        let ngrams = Tensor::from_vec(ngrams[..b * t * n].to_vec(), b * t * n, device)?;
        let summed = params.ngram_embeddings.as_tensor().index_select(&ngrams, 0)?.reshape((b, t, n, d))?.sum(2)?;
        x = (x + summed)?;
    }
    let mut x = dropout(&x.broadcast_mul(mask)?, dropout_rate, rng.as_deref_mut())?;
    for (conv, (weights, bias)) in w.convs.iter().zip(&params.convs) {
        let half = (conv.dilation * (conv.kernel - 1) / 2) as isize;
        let taps: Vec<Tensor> =
            (0..conv.kernel).map(|j| shifted(&x, (j * conv.dilation) as isize - half)).collect::<Result<_>>()?;
        let c_in = x.dims3()?.2;
        let stacked = Tensor::cat(&taps, 2)?.reshape((b * t, conv.kernel * c_in))?;
        let y = stacked.matmul(&weights.as_tensor().t()?)?.broadcast_add(bias.as_tensor())?.relu()?;
        x = dropout(&y.reshape((b, t, conv.out_channels))?.broadcast_mul(mask)?, dropout_rate, rng.as_deref_mut())?;
    }
    let c = x.dims3()?.2;
    let (dense_w, dense_b) = &params.dense;
    let scores = x.reshape((b * t, c))?.matmul(&dense_w.as_tensor().t()?)?.broadcast_add(dense_b.as_tensor())?;
    let scores = with_base(scores.reshape((b, t, w.num_tags()))?, batch)?;
    let (Some(table), Some(table_weights)) = (&params.table, &w.table) else { return Ok(scores) };
    // The table's rows summed over the templates, as the decoder sums them (padding reads row 0; the
    // loss masks padded positions out).
    let k = table_weights.templates.len();
    let mut rows = vec![0u32; b * t * k];
    for (i, s) in batch.iter().enumerate() {
        rows[i * t * k..i * t * k + s.table_rows.len()].copy_from_slice(&s.table_rows);
    }
    let rows = Tensor::from_vec(rows, b * t * k, device)?;
    let read = table.as_tensor().index_select(&rows, 0)?.reshape((b, t, k, w.num_tags()))?;
    // Row dropout: a mask per (position, template), the same for every tag of the row.
    let read = dropout_rows(&read, table_dropout, rng)?;
    Ok((scores + read.sum(2)?)?)
}

/// `scores` (`[B][T][L]`) plus the batch's fixed base scores (padding adds zero), a constant: no
/// gradient flows into it. Unchanged for sentences without a base.
fn with_base(scores: Tensor, batch: &[&Encoded]) -> Result<Tensor> {
    if batch.iter().all(|s| s.base.is_empty()) {
        return Ok(scores);
    }
    let (b, t, l) = scores.dims3()?;
    let mut base = vec![0f32; b * t * l];
    for (i, s) in batch.iter().enumerate() {
        base[i * t * l..i * t * l + s.base.len()].copy_from_slice(&s.base);
    }
    let base = Tensor::from_vec(base, (b, t, l), scores.device())?.to_dtype(scores.dtype())?;
    Ok((scores + base)?)
}

/// Batches of sentence indices for one epoch: shuffled, then grouped by length within windows of 50
/// batches (less padding), the batches themselves in shuffled order.
fn epoch_batches(lengths: &[usize], batch_size: usize, rng: &mut SplitMix) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    shuffle(&mut order, rng);
    let mut batches = Vec::new();
    for window in order.chunks_mut(batch_size * 50) {
        window.sort_by_key(|&i| lengths[i]);
        batches.extend(window.chunks(batch_size).map(<[usize]>::to_vec));
    }
    shuffle(&mut batches, rng);
    batches
}

fn shuffle<T>(items: &mut [T], rng: &mut SplitMix) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Trains a neural model on `train`, choosing the epoch by F1 (or accuracy) on `dev`, reporting each
/// epoch to `progress`.
pub fn train_neural(
    config: &NeuralConfig,
    train: &[Sentence],
    dev: &[Sentence],
    tag_names: &[String],
    progress: &mut dyn Progress,
) -> Result<NeuralOutcome> {
    config.validate()?;
    let num_tags = tag_names.len();
    // Read and score before the clock starts: `minutes=` bounds the training.
    let mut base = match &config.base {
        Some(path) => Some(Base::prepare(path, &config.base_jackknife, train, tag_names)?),
        None => None,
    };
    let started = Instant::now();
    let constraints: Constraints = crate::corpus::constraints_for(tag_names).1;
    let device = Device::Cpu;
    let normalization = NORMALIZE_WIDTH;
    let vocabulary = build_vocabulary(train, normalization, config.min_char_count);
    let shape = NeuralShape {
        vocabulary,
        dim: config.dim,
        ngram_templates: config.ngram_templates.clone(),
        ngram_buckets: 1 << config.bucket_bits,
        convs: config.dilations.iter().map(|&d| (config.channels, config.kernel, d)).collect(),
        num_tags,
    };
    let mut template = random_weights(&shape, config.seed);
    // Small initial embeddings and output layer: the first steps are not dominated by random scores.
    for v in template.ngram_embeddings.iter_mut().chain(&mut template.char_embeddings) {
        *v *= 0.1;
    }
    template.dense.bias.iter_mut().for_each(|b| *b = 0.0);
    if base.is_some() {
        // The encoder adds nothing before the first step: epoch 0 is the base model.
        template.dense.weights.iter_mut().for_each(|w| *w = 0.0);
    }
    if let Some(bits) = config.table_bits {
        // The linear model's templates for a table of this size; zero weights, as the linear model starts.
        let templates = TemplateSet::Auto.resolve(1 << bits).templates();
        template.table = Some(TableWeights { templates, bucket_bits: bits, weights: vec![0.0; num_tags << bits] });
    }
    let linear_start = match (&template.table, config.table_init) {
        (Some(table), TableInit::Linear) => {
            let schedule = (config.epochs, config.patience, config.seed);
            let start =
                train_linear_start(&table.templates, table.bucket_bits, train, dev, tag_names, schedule, progress);
            start_from_linear(&mut template, &start.model)?;
            Some(start)
        }
        _ => None,
    };
    let vocabulary_bytes: Vec<u8> = template.vocabulary.iter().flat_map(|&c| (c as u32).to_le_bytes()).collect();
    let mut skipped_sentences = 0;
    let mut base_scores = base.as_mut().map(|b| std::mem::take(&mut b.train_emissions));
    let encoded: Vec<Encoded> = train
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            let ok = constraints.allows_sequence(&s.tags);
            skipped_sentences += usize::from(!ok);
            ok && !s.chars.is_empty()
        })
        .map(|(k, s)| {
            let mut encoded = Encoded::new(&template, &vocabulary_bytes, &s.chars, s.tags.clone());
            if let Some(scores) = &mut base_scores {
                encoded.base = std::mem::take(&mut scores[k]);
            }
            encoded
        })
        .collect();
    if encoded.is_empty() {
        bail!("no training sentence fits the tag set's hard masks");
    }
    let characters: u64 = encoded.iter().map(|s| s.chars.len() as u64).sum();
    let lengths: Vec<usize> = encoded.iter().map(|s| s.chars.len()).collect();

    let params = Params::new(&template, num_tags, &device)?;
    if config.initial_transition_range > 0.0 && config.loss == NeuralLoss::Crf {
        // A stream of its own, so that the encoder's initial weights stay those of the zero start.
        let values =
            SplitMix::new(config.seed ^ 0x7EA5_1710).values(num_tags * num_tags, config.initial_transition_range);
        params.transitions.set(&Tensor::from_vec(values, (num_tags, num_tags), &device)?)?;
    }
    let start_crf = linear_start.as_ref().map(|s| &s.model).or(base.as_ref().map(|b| b.model.model.as_ref()));
    if let Some(model) = start_crf {
        params.transitions.set(&Tensor::from_vec(model.transitions.clone(), (num_tags, num_tags), &device)?)?;
        params.start.set(&Tensor::from_vec(model.start.clone(), num_tags, &device)?)?;
        params.end.set(&Tensor::from_vec(model.end.clone(), num_tags, &device)?)?;
    }
    let initial_transitions = params.transitions.as_tensor().flatten_all()?.to_vec1::<f32>()?;
    let adam = |vars: Vec<Var>, lr: f64, weight_decay: f64| {
        AdamW::new(vars, ParamsAdamW { lr, weight_decay, ..ParamsAdamW::default() })
    };
    let mut encoder_optimizer = adam(params.encoder_vars(), config.lr, config.weight_decay)?;
    let mut crf_optimizer = adam(params.crf_vars(), config.lr * config.crf_lr_mult, config.weight_decay)?;
    let mut table_optimizer = adam(params.table_vars(), config.lr * config.table_lr_mult, config.table_weight_decay)?;
    let penalties = if config.constrained_training {
        mask_penalties(&constraints, num_tags, &device)?
    } else {
        no_penalties(num_tags, &device)?
    };
    let mut rng = SplitMix::new(config.seed ^ 0x005E_ED0F_7EA1);

    let mut epochs = Vec::new();
    let mut best: Option<(usize, NeuralModel)> = None;
    let base_model = base.as_ref().map(|b| &b.model);
    if linear_start.is_some() || base.is_some() {
        // Epoch 0, the linear model itself: early stopping then never returns a worse model on dev.
        let model = params.snapshot(&template, tag_names, base_model)?;
        let dev_score = score_predictions(tag_names, dev, &model.predict(dev), None);
        // A base model's training loss is not computed (NaN).
        let loss_per_char = linear_start.as_ref().map_or(f64::NAN, |s| s.loss_per_char);
        epochs.push(NeuralEpoch { epoch: 0, loss_per_char, dev: dev_score });
        best = Some((0, model));
        if let Some(base) = &base {
            progress.event(ProgressEvent::Message(format!(
                "base {}: epoch 0 (the base model alone, float) dev {dev_score}",
                base.model.path.display()
            )));
        }
    }
    let mut timed_out = false;
    for epoch in 1..=config.epochs {
        let epoch_started = Instant::now();
        progress.event(ProgressEvent::EpochStarted { epoch, epochs: config.epochs, characters });
        let (mut loss_sum, mut loss_chars) = (0f64, 0usize);
        for batch in epoch_batches(&lengths, config.batch_size, &mut rng) {
            let sentences: Vec<&Encoded> = batch.iter().map(|&i| &encoded[i]).collect();
            let tags: Vec<&[u8]> = sentences.iter().map(|s| s.tags.as_slice()).collect();
            let gold = GoldBatch::new(&tags, num_tags, &device)?;
            let scores = encoder_scores(
                &params,
                &template,
                &sentences,
                &gold.mask,
                (config.dropout, config.table_dropout),
                Some(&mut rng),
            )?;
            let loss = match config.loss {
                NeuralLoss::Crf => {
                    let crf = CrfTensors {
                        transitions: params.transitions.as_tensor(),
                        start: params.start.as_tensor(),
                        end: params.end.as_tensor(),
                    };
                    crf_nll(&scores, &gold, crf, &penalties)?
                }
                NeuralLoss::Softmax => softmax_nll(&scores, &gold)?,
            };
            loss_sum += f64::from(loss.to_scalar::<f32>()?);
            loss_chars += gold.characters;
            // The mean over the batch's sentences.
            let grads = (loss / sentences.len() as f64)?.backward()?;
            encoder_optimizer.step(&grads)?;
            table_optimizer.step(&grads)?;
            if config.loss == NeuralLoss::Crf {
                crf_optimizer.step(&grads)?;
            }
            progress.event(ProgressEvent::Trained { characters: gold.characters as u64 });
            if config.max_seconds.is_some_and(|limit| started.elapsed().as_secs_f64() >= limit) {
                timed_out = true;
                break;
            }
        }
        let model = params.snapshot(&template, tag_names, base_model)?;
        let dev_score = score_predictions(tag_names, dev, &model.predict(dev), None);
        let loss_per_char = loss_sum / loss_chars.max(1) as f64;
        progress.event(ProgressEvent::EpochFinished {
            epoch,
            epochs: config.epochs,
            loss_per_char,
            dev: dev_score,
            elapsed: epoch_started.elapsed(),
        });
        epochs.push(NeuralEpoch { epoch, loss_per_char, dev: dev_score });
        let improved = best.as_ref().is_none_or(|(i, _)| dev_score.value() > epochs[*i].dev.value());
        if improved {
            best = Some((epochs.len() - 1, model));
        }
        let best_index = best.as_ref().map_or(0, |(i, _)| *i);
        let per_epoch = started.elapsed().as_secs_f64() / epoch as f64;
        let left = match config.max_seconds {
            Some(limit) => (per_epoch * (config.epochs - epoch) as f64).min(limit - started.elapsed().as_secs_f64()),
            None => per_epoch * (config.epochs - epoch) as f64,
        };
        progress.event(ProgressEvent::Message(format!(
            "  best dev so far {} (epoch {}); at most {} left",
            epochs[best_index].dev,
            epochs[best_index].epoch,
            format_duration(Duration::from_secs_f64(left.max(0.0)))
        )));
        if timed_out {
            progress.event(ProgressEvent::Message(format!(
                "stopped at the time limit ({:.0} s) during epoch {epoch}",
                config.max_seconds.unwrap_or_default()
            )));
            break;
        }
        if epochs.len() - 1 - best_index >= config.patience.max(1) {
            break;
        }
    }
    let (best, model) = best.expect("at least one epoch");
    Ok(NeuralOutcome { model, epochs, best, skipped_sentences, timed_out, initial_transitions })
}

fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The shapes of the convolutions of `weights`, for messages: e.g. `2 x conv(128, k3, d1/d2)`.
pub fn describe_shape(weights: &NeuralWeights) -> String {
    let convs: Vec<String> =
        weights.convs.iter().map(|c| format!("{}ch k{} d{}", c.out_channels, c.kernel, c.dilation)).collect();
    let table = match &weights.table {
        Some(t) => format!(", table of 2^{} rows x {} templates", t.bucket_bits, t.templates.len()),
        None => String::new(),
    };
    format!(
        "vocabulary {} characters, embeddings {}, n-grams {:?} in {} buckets, convolutions [{}], {} tags{table}",
        weights.vocabulary.len(),
        weights.dim,
        weights.ngram_templates,
        weights.ngram_buckets,
        convs.join(", "),
        weights.num_tags()
    )
}

/// For tests: the float encoder scores of `sentences` computed by the batched candle encoder (no
/// dropout), `[T][L]` per sentence, so that they can be checked against [`super::forward`].
pub fn batched_scores(weights: &NeuralWeights, sentences: &[Vec<char>]) -> Result<Vec<Vec<f32>>> {
    let device = Device::Cpu;
    let l = weights.num_tags();
    let params = Params::new(weights, l, &device)?;
    let vocabulary: Vec<u8> = weights.vocabulary.iter().flat_map(|&c| (c as u32).to_le_bytes()).collect();
    let encoded: Vec<Encoded> =
        sentences.iter().map(|s| Encoded::new(weights, &vocabulary, s, vec![0; s.len()])).collect();
    let refs: Vec<&Encoded> = encoded.iter().collect();
    let tags: Vec<&[u8]> = encoded.iter().map(|s| s.tags.as_slice()).collect();
    let gold = GoldBatch::new(&tags, l, &device)?;
    let scores = encoder_scores(&params, weights, &refs, &gold.mask, (0.0, 0.0), None)?;
    let t = gold.mask.dims3()?.1;
    let all = scores.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    Ok(sentences.iter().enumerate().map(|(i, s)| all[i * t * l..(i * t + s.len()) * l].to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_weights(seed: u64) -> NeuralWeights {
        let shape = NeuralShape {
            vocabulary: "中文字我们在北京".chars().collect(),
            dim: 5,
            ngram_templates: vec![(-1, 2), (0, 2)],
            ngram_buckets: 8,
            convs: vec![(6, 3, 1), (4, 3, 2)],
            num_tags: 4,
        };
        random_weights(&shape, seed)
    }

    /// The CRF loss of two sentences through the batched encoder, in f64, and its parameters.
    fn loss_of(w: &NeuralWeights, crf: &[f32]) -> Result<(f64, Params, Tensor)> {
        let device = Device::Cpu;
        let names: Vec<String> = ["B", "M", "E", "S"].map(str::to_owned).to_vec();
        let constraints = crate::corpus::constraints_for(&names).1;
        let params = Params::with_dtype(w, 4, &device, DType::F64)?;
        params.transitions.set(&Tensor::from_vec(crf.to_vec(), (4, 4), &device)?.to_dtype(DType::F64)?)?;
        let vocabulary: Vec<u8> = w.vocabulary.iter().flat_map(|&c| (c as u32).to_le_bytes()).collect();
        let sentences: [(&str, &[u8]); 2] = [("我们在北京字x", &[0, 2, 3, 0, 2, 3, 3]), ("中文", &[0, 2])];
        let encoded: Vec<Encoded> = sentences
            .iter()
            .map(|(text, tags)| {
                let chars: Vec<char> = text.chars().collect();
                Encoded::new(w, &vocabulary, &chars, tags.to_vec())
            })
            .collect();
        let refs: Vec<&Encoded> = encoded.iter().collect();
        let tags: Vec<&[u8]> = encoded.iter().map(|s| s.tags.as_slice()).collect();
        let gold = GoldBatch::new(&tags, 4, &device)?.to_dtype(DType::F64)?;
        let scores = encoder_scores(&params, w, &refs, &gold.mask, (0.0, 0.0), None)?;
        let penalties = mask_penalties(&constraints, 4, &device)?;
        let penalties = [
            penalties[0].to_dtype(DType::F64)?,
            penalties[1].to_dtype(DType::F64)?,
            penalties[2].to_dtype(DType::F64)?,
        ];
        let crf_t = CrfTensors {
            transitions: params.transitions.as_tensor(),
            start: params.start.as_tensor(),
            end: params.end.as_tensor(),
        };
        let loss = crf_nll(&scores, &gold, crf_t, &penalties)?;
        Ok((loss.to_scalar::<f64>()?, params, loss))
    }

    /// candle's gradient of the CRF loss through the encoder against central finite differences, for
    /// elements of every kind of encoder tensor and a transition.
    #[test]
    fn encoder_gradient_matches_finite_differences() -> Result<()> {
        let w = tiny_weights(3);
        let crf: Vec<f32> = SplitMix::new(4).values(16, 1.0);
        let (_, params, loss) = loss_of(&w, &crf)?;
        let grads = loss.backward()?;
        let grad = |v: &Var, i: usize| -> Result<f64> {
            Ok(grads.get(v).expect("gradient").flatten_all()?.to_vec1::<f64>()?[i])
        };
        // (tensor, element, candle's gradient), each checked by perturbing the float weights.
        type Poke = fn(&mut NeuralWeights, &mut Vec<f32>, f32);
        let checks: Vec<(&str, f64, Poke)> = vec![
            ("char embedding", grad(&params.char_embeddings, 5 * 4 + 2)?, |w, _, h| w.char_embeddings[5 * 4 + 2] += h),
            ("unknown character's embedding", grad(&params.char_embeddings, 1)?, |w, _, h| w.char_embeddings[1] += h),
            ("n-gram embedding", grad(&params.ngram_embeddings, 3)?, |w, _, h| w.ngram_embeddings[3] += h),
            ("first convolution", grad(&params.convs[0].0, 7)?, |w, _, h| w.convs[0].weights[7] += h),
            ("second convolution's bias", grad(&params.convs[1].1, 2)?, |w, _, h| w.convs[1].bias[2] += h),
            ("dense layer", grad(&params.dense.0, 9)?, |w, _, h| w.dense.weights[9] += h),
            ("transition E->B", grad(&params.transitions, 2 * 4)?, |_, t, h| t[2 * 4] += h),
        ];
        let h = 1e-3f32;
        let mut nonzero = 0;
        for (name, analytic, poke) in checks {
            let (mut plus, mut minus) = (w.clone(), w.clone());
            let (mut crf_plus, mut crf_minus) = (crf.clone(), crf.clone());
            poke(&mut plus, &mut crf_plus, h);
            poke(&mut minus, &mut crf_minus, -h);
            // The perturbed values are f32; the step actually taken is their difference.
            let step = f64::from(h) * 2.0;
            let numeric = (loss_of(&plus, &crf_plus)?.0 - loss_of(&minus, &crf_minus)?.0) / step;
            assert!(
                (numeric - analytic).abs() <= 1e-4 * (1.0 + analytic.abs()),
                "{name}: candle {analytic}, finite differences {numeric}"
            );
            nonzero += usize::from(analytic.abs() > 1e-6);
        }
        assert!(nonzero >= 5, "only {nonzero} gradients are non-zero: the test checks too little");
        Ok(())
    }

    /// The same check for a hybrid model: the table's gradient (a row the sentences read, and one they
    /// do not) and the encoder's, under the joint loss.
    #[test]
    fn hybrid_gradient_matches_finite_differences() -> Result<()> {
        let mut w = tiny_weights(5);
        let templates = TemplateSet::Compact.templates();
        let weights = SplitMix::new(6).values(4 << 3, 0.5);
        w.table = Some(TableWeights { templates, bucket_bits: 3, weights });
        let crf: Vec<f32> = SplitMix::new(7).values(16, 1.0);
        let (_, params, loss) = loss_of(&w, &crf)?;
        let grads = loss.backward()?;
        let table = params.table.as_ref().expect("a table");
        let table_grad = grads.get(table).expect("gradient").flatten_all()?.to_vec1::<f64>()?;
        // The row of the first template (the bias) at the first position.
        let chars: Vec<char> = "我们在北京字x".chars().collect();
        let read = w.table.as_ref().unwrap().feature_spec(w.normalization).extract(&chars)[0] as usize;
        let dense = grads.get(&params.dense.0).expect("gradient").flatten_all()?.to_vec1::<f64>()?[3];
        let h = 1e-3f32;
        let mut checked = 0;
        for (name, analytic, poke) in [
            ("table row read", table_grad[read * 4 + 1], (Some(read * 4 + 1), None)),
            ("table row read, tag 3", table_grad[read * 4 + 3], (Some(read * 4 + 3), None)),
            ("dense layer", dense, (None, Some(3))),
        ] {
            let perturbed = |sign: f32| -> Result<f64> {
                let mut w = w.clone();
                if let Some(i) = poke.0 {
                    w.table.as_mut().unwrap().weights[i] += sign * h;
                }
                if let Some(i) = poke.1 {
                    w.dense.weights[i] += sign * h;
                }
                Ok(loss_of(&w, &crf)?.0)
            };
            let numeric = (perturbed(1.0)? - perturbed(-1.0)?) / (2.0 * f64::from(h));
            assert!(
                (numeric - analytic).abs() <= 1e-4 * (1.0 + analytic.abs()),
                "{name}: candle {analytic}, finite differences {numeric}"
            );
            checked += usize::from(analytic.abs() > 1e-6);
        }
        assert_eq!(checked, 3, "a checked gradient is zero: the test checks too little");
        // A row no position reads gets no gradient.
        let all_rows: Vec<u32> = ["我们在北京字x", "中文"]
            .iter()
            .flat_map(|t| {
                w.table.as_ref().unwrap().feature_spec(w.normalization).extract(&t.chars().collect::<Vec<_>>())
            })
            .collect();
        if let Some(unread) = (0..8).find(|r| !all_rows.contains(&(*r as u32))) {
            assert!(table_grad[unread * 4..unread * 4 + 4].iter().all(|&g| g == 0.0));
        }
        Ok(())
    }

    #[test]
    fn options_out_of_range_are_refused_by_name() {
        let error = |c: NeuralConfig| c.validate().unwrap_err().to_string();
        assert!(error(NeuralConfig { channels: 0, ..NeuralConfig::default() }).contains("--neural channels"));
        assert!(error(NeuralConfig { dim: 300, ..NeuralConfig::default() }).contains("--neural dim"));
        let far = NeuralConfig { dilations: vec![2, 2], ..NeuralConfig::default() };
        assert!(error(far).contains("read 5 characters each side"));
        assert!(error(NeuralConfig { kernel: 4, ..NeuralConfig::default() }).contains("--neural kernel"));
        assert!(error(NeuralConfig { dropout: 1.0, ..NeuralConfig::default() }).contains("--neural dropout"));
        assert!(error(NeuralConfig { crf_lr_mult: -1.0, ..NeuralConfig::default() }).contains("--crf-lr-mult"));
        assert!(error(NeuralConfig { batch_size: 0, ..NeuralConfig::default() }).contains("--neural batch"));
        assert!(error(NeuralConfig { table_bits: Some(25), ..NeuralConfig::default() }).contains("--neural table-bits"));
        let table_lr = NeuralConfig { table_lr_mult: 0.0, ..NeuralConfig::default() };
        assert!(error(table_lr).contains("--neural table-lr-mult"));
        let decay = NeuralConfig { table_weight_decay: -0.1, ..NeuralConfig::default() };
        assert!(error(decay).contains("--neural table-decay"));
        let row_dropout = NeuralConfig { table_dropout: 1.5, ..NeuralConfig::default() };
        assert!(error(row_dropout).contains("--neural table-dropout"));
        assert!(NeuralConfig::default().validate().is_ok());
        assert_eq!(NeuralConfig::default().reach(), MAX_REACH);
    }
}

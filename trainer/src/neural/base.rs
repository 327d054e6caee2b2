//! Residual training on a fixed base model (`--neural base=MODEL.crfm`, issue #18): the emission scores
//! of a linear model file, dequantized to float, are added to the encoder's and receive no gradient; the
//! CRF layer starts from the base model's and the encoder's dense layer from zero, so that before the
//! first step the model scores every sentence exactly as the base model does. Training then asks what
//! the encoder adds on top of the whole linear model.
//!
//! The base model has seen the training sentences, so its scores there are better than on new text.
//! `base-jackknife=M0:M1:...` gives models trained without part of the training data instead: training
//! sentence `k` (counted after the dev hold-out) takes its base scores from `M[k % n]`, which must have
//! been trained without the sentences `k % n == j`; dev, test and prediction use `base=` always.
//!
//! An experiment path: no model format stores a base yet ([`BASE_EXPORT_REFUSED`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, ensure, Result};
use rayon::prelude::*;

use crate::corpus::Sentence;
use crate::model::FloatModel;

/// Why a model trained on a base is not written.
pub const BASE_EXPORT_REFUSED: &str = "a model with a base needs format version 8: not built yet";

/// A base model: its float scores, shared by the trained model that adds to them.
#[derive(Debug, Clone)]
pub struct BaseModel {
    /// The file it was read from (for messages).
    pub path: PathBuf,
    /// The dequantized linear model.
    pub model: Arc<FloatModel>,
}

impl BaseModel {
    /// Reads a linear model file; the error names the file and what is wrong with it.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = crate::pipeline::data::read_model_file(path)?;
        let loaded = crate::pipeline::data::load_model(path, &bytes)?;
        let model = match crate::quantize::dequantize(&loaded) {
            Ok(model) => model,
            Err(e) => bail!("--neural base={}: the base must be a linear model: {e}", path.display()),
        };
        Ok(Self { path: path.to_path_buf(), model: Arc::new(model) })
    }

    /// The base model's emission scores of `chars`, `[T][L]`.
    pub fn emissions(&self, chars: &[char]) -> Vec<f32> {
        let mut out = Vec::new();
        self.model.emissions(&self.model.features.extract(chars), &mut out);
        out
    }

    /// Fails, naming the file, unless the base has exactly the tags `tag_names`.
    fn check_tags(&self, tag_names: &[String]) -> Result<()> {
        ensure!(
            self.model.tag_names == tag_names,
            "--neural base: {} has the tags {}, the training data {} (give --word-tags to match)",
            self.path.display(),
            self.model.tag_names.join(" "),
            tag_names.join(" ")
        );
        Ok(())
    }
}

/// The base of a training run: the model that scores dev and new text, and the base scores of every
/// training sentence (from the jackknife models when given).
#[derive(Debug, Clone)]
pub struct Base {
    /// Scores dev, test and new text.
    pub model: BaseModel,
    /// `[T][L]` base scores of each training sentence, in the order of the training data.
    pub train_emissions: Vec<Vec<f32>>,
    /// The jackknife models' files (empty: the training scores are `model`'s).
    pub jackknife: Vec<PathBuf>,
}

impl Base {
    /// Reads `path` (and the jackknife models) and scores `train`; every model must have `tag_names`.
    pub fn prepare(path: &Path, jackknife: &[PathBuf], train: &[Sentence], tag_names: &[String]) -> Result<Self> {
        let model = BaseModel::load(path)?;
        model.check_tags(tag_names)?;
        let folds: Vec<BaseModel> = jackknife.iter().map(|p| BaseModel::load(p)).collect::<Result<_>>()?;
        for fold in &folds {
            fold.check_tags(tag_names)?;
        }
        let train_emissions = train
            .par_iter()
            .enumerate()
            .map(|(k, s)| match folds.len() {
                0 => model.emissions(&s.chars),
                n => folds[k % n].emissions(&s.chars),
            })
            .collect();
        Ok(Self { model, train_emissions, jackknife: jackknife.to_vec() })
    }
}

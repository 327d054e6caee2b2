//! Reading the training and dev corpora (the dev data a file or a held-out slice), and writing the
//! model file and its vocabulary.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use decoder::Model;

use super::TrainOptions;
use crate::corpus::{self, Corpus, Sentence, WordTags};

/// The sample corpus shipped with the trainer (a few hundred sentences written for this project), used
/// when [`TrainOptions::train`] is `None`.
pub const SAMPLE_CORPUS: &[u8] = include_bytes!("../../data/sample.txt");
const SAMPLE_NAME: &str = "trainer/data/sample.txt (built in)";

/// Training and dev data as read for one tag set.
pub(super) struct TrainingData {
    pub train: Corpus,
    pub train_name: String,
    pub dev: Vec<Sentence>,
    pub dev_name: String,
}

/// Reads the training corpus (file or built-in sample).
fn read_training_corpus(options: &TrainOptions, word_tags: WordTags) -> Result<(Corpus, String)> {
    match &options.train {
        Some(path) => Ok((corpus::read_corpus(path, options.format, None, word_tags)?, path.display().to_string())),
        None => Ok((
            corpus::parse_corpus(SAMPLE_CORPUS, SAMPLE_NAME, options.format, None, word_tags)?,
            SAMPLE_NAME.to_string(),
        )),
    }
}

/// Splits off every `1/holdout`-th sentence as dev data (spread over the corpus, deterministic).
fn hold_out(corpus: Corpus, fraction: f64) -> Result<(Corpus, Vec<Sentence>)> {
    if !(0.0..0.5).contains(&fraction) || fraction == 0.0 {
        bail!("--holdout must be in (0, 0.5), got {fraction}");
    }
    let every = (1.0 / fraction).round().max(2.0) as usize;
    let mut train = Vec::new();
    let mut dev = Vec::new();
    for (i, sentence) in corpus.sentences.into_iter().enumerate() {
        if i % every == every - 1 {
            dev.push(sentence);
        } else {
            train.push(sentence);
        }
    }
    if dev.is_empty() || train.is_empty() {
        bail!("the training corpus is too small to hold out dev data; give --dev");
    }
    Ok((Corpus { tag_names: corpus.tag_names, sentences: train }, dev))
}

/// The training corpus and the dev data (a file, or a held-out slice of the training corpus).
pub(super) fn read_data(options: &TrainOptions, word_tags: WordTags) -> Result<TrainingData> {
    let (corpus, train_name) = read_training_corpus(options, word_tags)?;
    let tag_names = corpus.tag_names.clone();
    Ok(match &options.dev {
        Some(path) => {
            let dev = corpus::read_corpus(path, options.format, Some(&tag_names), word_tags)?;
            TrainingData { train: corpus, train_name, dev: dev.sentences, dev_name: path.display().to_string() }
        }
        None => {
            let (train, dev) = hold_out(corpus, options.holdout)?;
            let dev_name = format!("every {}th training sentence", (1.0 / options.holdout).round());
            TrainingData { train, train_name, dev, dev_name }
        }
    })
}

/// `corpus` with `more` sentences after its own.
pub(super) fn with_sentences(corpus: &Corpus, more: impl IntoIterator<Item = Sentence>) -> Corpus {
    let mut sentences = corpus.sentences.clone();
    sentences.extend(more);
    Corpus { tag_names: corpus.tag_names.clone(), sentences }
}

/// Writes the model file, creating its directory.
pub(super) fn write_model(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Writes the vocabulary of a segmentation corpus (with the dev sentences after a refit) next to the
/// model, for OOV scoring.
pub(super) fn write_vocabulary(model: &Path, corpus: &Corpus, refit_dev: Option<&[Sentence]>) -> Result<()> {
    if !corpus.is_segmentation() {
        return Ok(());
    }
    let words_path = words_path_for(model);
    let with_dev = refit_dev.map(|dev| with_sentences(corpus, dev.iter().cloned()));
    let mut vocabulary = corpus::vocabulary(with_dev.as_ref().unwrap_or(corpus)).join("\n");
    vocabulary.push('\n');
    std::fs::write(&words_path, vocabulary).with_context(|| format!("writing {}", words_path.display()))
}

/// Where the training vocabulary of a model is kept: next to it, with `.words` appended.
pub fn words_path_for(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_owned();
    name.push(".words");
    PathBuf::from(name)
}

/// Reads a model file's bytes (the error names the file).
pub fn read_model_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading model {}", path.display()))
}

/// Loads a model from the bytes of the file `path` (the error names the file).
pub fn load_model<'a>(path: &Path, bytes: &'a [u8]) -> Result<Model<'a>> {
    Model::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{}: not a valid model: {e}", path.display()))
}

/// The file name of `path` (the whole path if it has none).
pub(super) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

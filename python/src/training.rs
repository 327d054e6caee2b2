//! `crf_mcu.train`: the trainer's library (`trainer::pipeline::train`) with keyword arguments for
//! `trainer train`'s options, and what it returns.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use trainer::cli::ConsoleProgress;
use trainer::corpus::{CorpusFormat, WordTags};
use trainer::evaluate::DevScore;
use trainer::features::TemplateSet;
use trainer::pipeline::{self, Silent, TrainOptions, TrainSummary, WeightChoice};

use crate::errors::{chain_message, to_py_err_with};
use crate::model::Model;

/// Parses the string option `argument`, one of `choices` (a name and its value each).
fn choose<T: Copy>(argument: &str, value: &str, choices: &[(&str, T)]) -> PyResult<T> {
    choices.iter().find(|(name, _)| *name == value).map(|&(_, choice)| choice).ok_or_else(|| {
        let names: Vec<String> = choices.iter().map(|(name, _)| format!("{name:?}")).collect();
        PyValueError::new_err(format!("{argument} must be one of {}, got {value:?}", names.join(", ")))
    })
}

/// The keyword arguments of [`train`] that are also `trainer train` options: the trainer's messages
/// name the command-line option (`--max-model-bytes`), this module's the keyword (`max_model_bytes`).
const KEYWORDS: [&str; 20] = [
    "out",
    "train",
    "dev",
    "test",
    "words",
    "format",
    "word_tags",
    "epochs",
    "patience",
    "lr",
    "crf_lr",
    "seed",
    "ensemble",
    "refit",
    "templates",
    "weight_type",
    "max_model_bytes",
    "lexicon_extra",
    "distill",
    "teacher",
];

/// `message` with each `--option` of `trainer train` that is a keyword of [`train`] written as the keyword.
fn python_names(message: &str) -> String {
    let mut renamed = message.to_owned();
    // Longest first, so that `--lr` does not rewrite the start of a longer option's name.
    let mut keywords = KEYWORDS;
    keywords.sort_by_key(|keyword| std::cmp::Reverse(keyword.len()));
    for keyword in keywords {
        let flag = format!("--{}", keyword.replace('_', "-"));
        renamed = renamed.replace(&flag, &format!("`{keyword}`"));
    }
    renamed
}

/// A finished training run: the model (written to `path` and loaded) and its scores.
#[pyclass(module = "crf_mcu", frozen, get_all)]
pub struct TrainResult {
    /// The trained model, loaded.
    model: Py<Model>,
    /// Where the model file was written.
    path: PathBuf,
    /// The model file's size in bytes.
    size: usize,
    /// Dev scores of the exported (integer) model: `f1`, `precision`, `recall` (and `oov_recall`) for
    /// segmentation, `accuracy` for other tagging.
    dev: Py<PyDict>,
    /// Test scores of the exported model, as `dev`, when `test` was given.
    test: Option<Py<PyDict>>,
    /// Training time in seconds (without test scoring).
    seconds: f64,
    /// The summary that `trainer train` prints.
    report: String,
}

#[pymethods]
impl TrainResult {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let dev = self.dev.bind(py).repr()?;
        Ok(format!("crf_mcu.TrainResult(path={:?}, size={}, dev={dev})", self.path.display().to_string(), self.size))
    }
}

/// A score as a dict of floats (values in [0, 1]).
fn score_dict<'py>(py: Python<'py>, score: &DevScore) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    match score {
        DevScore::Segmentation(counts) => {
            dict.set_item("f1", counts.f1())?;
            dict.set_item("precision", counts.precision())?;
            dict.set_item("recall", counts.recall())?;
            dict.set_item("oov_recall", counts.oov_recall())?;
        }
        DevScore::Tagging { .. } => dict.set_item("accuracy", score.value())?,
        // conlleval's figures are percentages.
        DevScore::Chunks(counts) => {
            dict.set_item("f1", counts.f1() / 100.0)?;
            dict.set_item("precision", counts.precision() / 100.0)?;
            dict.set_item("recall", counts.recall() / 100.0)?;
        }
    }
    Ok(dict)
}

/// Trains a model as `trainer train` does (see `crf_mcu.pyi` for the arguments).
#[pyfunction]
#[pyo3(signature = (
    *, out, train = None, dev = None, test = None, words = None, format = "auto", word_tags = "auto",
    epochs = 12, patience = 3, lr = 0.2, crf_lr = 1.0, seed = 1, ensemble = 1, refit = false,
    templates = "auto", weight_type = "auto", max_model_bytes = None, reference_model = true, lexicon = true,
    lexicon_extra = Vec::new(), distill = Vec::new(), teacher = None, verbose = false,
))]
#[allow(clippy::too_many_arguments)] // Python keyword arguments, one per option
pub fn train(
    py: Python<'_>,
    out: PathBuf,
    train: Option<PathBuf>,
    dev: Option<PathBuf>,
    test: Option<PathBuf>,
    words: Option<PathBuf>,
    format: &str,
    word_tags: &str,
    epochs: usize,
    patience: usize,
    lr: f32,
    crf_lr: f32,
    seed: u64,
    ensemble: u32,
    refit: bool,
    templates: &str,
    weight_type: &str,
    max_model_bytes: Option<usize>,
    reference_model: bool,
    lexicon: bool,
    lexicon_extra: Vec<PathBuf>,
    distill: Vec<PathBuf>,
    teacher: Option<PathBuf>,
    verbose: bool,
) -> PyResult<TrainResult> {
    let options = TrainOptions {
        train,
        dev,
        test,
        words,
        out: out.clone(),
        format: choose(
            "format",
            format,
            &[("auto", CorpusFormat::Auto), ("words", CorpusFormat::Words), ("conll", CorpusFormat::Conll)],
        )?,
        word_tags: choose(
            "word_tags",
            word_tags,
            &[
                ("auto", None),
                ("bmes", Some(WordTags::Bmes)),
                ("bmes6", Some(WordTags::Bmes6)),
                ("bi", Some(WordTags::Bi)),
            ],
        )?,
        epochs,
        patience,
        lr,
        crf_lr,
        seed,
        ensemble,
        refit,
        templates: choose(
            "templates",
            templates,
            &[
                ("auto", TemplateSet::Auto),
                ("compact", TemplateSet::Compact),
                ("basic", TemplateSet::Basic),
                ("standard", TemplateSet::Standard),
            ],
        )?,
        max_model_bytes,
        reference_model,
        lexicon,
        lexicon_extra,
        distill,
        teacher,
        weight_type: choose(
            "weight_type",
            weight_type,
            &[
                ("auto", WeightChoice::Auto),
                ("i8", WeightChoice::I8),
                ("i16", WeightChoice::I16),
                ("codebook", WeightChoice::Codebook),
            ],
        )?,
        ..TrainOptions::default()
    };
    // Training takes seconds to hours: other Python threads run meanwhile.
    let summary: TrainSummary = py
        .detach(|| {
            if verbose {
                pipeline::train(&options, &mut ConsoleProgress::new())
            } else {
                pipeline::train(&options, &mut Silent)
            }
        })
        .map_err(|error| {
            let message = python_names(&chain_message(&error));
            to_py_err_with(&error, message)
        })?;
    let size = summary.bytes.len();
    let model = Model::from_vec(summary.bytes, &out, Some(out.clone()))?;
    Ok(TrainResult {
        model: Py::new(py, model)?,
        size,
        path: out,
        dev: score_dict(py, &summary.quantized_dev)?.unbind(),
        test: summary.quantized_test.as_ref().map(|score| score_dict(py, score)).transpose()?.map(Bound::unbind),
        seconds: summary.seconds,
        report: summary.report,
    })
}

//! What a training run reports: the summary text printed at the end of `trainer train`, the
//! transition table, and the optional test-set scores.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use decoder::internal::format::WeightType;
use decoder::Model;

use super::progress::{Progress, ProgressEvent, Stage};
use super::TrainOptions;
use crate::corpus::{self, Corpus, WordTags};
use crate::evaluate::{DevScore, ScaleReport};
use crate::integer;
use crate::model::FloatModel;
use crate::quantize::QuantParams;
use crate::scorer::Dictionary;
use crate::train::EpochReport;

/// The figures the summary reports.
pub(super) struct ReportInputs<'a> {
    pub out: &'a Path,
    pub bytes: usize,
    pub seconds: f64,
    pub float_dev: &'a DevScore,
    pub quantized_dev: &'a DevScore,
    pub refit: bool,
    /// The selection run's chosen epoch (held out even after a refit).
    pub best: &'a EpochReport,
    pub params: QuantParams,
    /// The unlimited reference model's log2 rows and dev score, in a budget run.
    pub reference: Option<(u8, DevScore)>,
    pub scale: &'a ScaleReport,
    pub model: &'a FloatModel,
}

/// The summary printed at the end of training (several lines, each ending in a newline).
pub(super) fn summary(inputs: &ReportInputs<'_>) -> String {
    let (quantized_dev, float_dev) = (inputs.quantized_dev, inputs.float_dev);
    let mut report = String::new();
    let _ =
        writeln!(report, "\n== trained in {:.1} s: {} ({} bytes)", inputs.seconds, inputs.out.display(), inputs.bytes);
    let _ = writeln!(
        report,
        "dev: float {}  quantized {}  (quantization cost {:+.2} points)",
        float_dev,
        quantized_dev,
        100.0 * (quantized_dev.value() - float_dev.value())
    );
    if inputs.refit {
        let _ = writeln!(
            report,
            "refit: the model was trained on the dev data too, so these dev scores are not held out; \
             held out, the selection run scored dev {} at epoch {}",
            inputs.best.dev, inputs.best.epoch
        );
    }
    let params = inputs.params;
    let _ = writeln!(
        report,
        "integer layout: {} emission weights, step 2^{}, score unit 2^-{}, weight shift {}",
        weight_type_name(params.weight_type),
        params.emission_step().log2(),
        params.score_frac_bits,
        params.weight_shift
    );
    if let Some((reference_bits, reference_dev)) = &inputs.reference {
        let _ = writeln!(
            report,
            "budget cost: unlimited model (2^{reference_bits} rows, float) dev {reference_dev}; this model {quantized_dev}: \
             {:+.2} points",
            100.0 * (quantized_dev.value() - reference_dev.value())
        );
    }
    report.push_str(&describe_scale(inputs.scale));
    let model = inputs.model;
    report.push_str(&transition_table(
        &model.tag_names,
        &model.transitions,
        &model.start,
        &model.end,
        Some(&model.constraints().1),
    ));
    report
}

/// Scores the test corpus of [`TrainOptions::test`] with the float model and the exported one
/// (`bytes`); OOV words are those not in [`TrainOptions::words`] (default: the training vocabulary).
pub(super) fn score_test(
    options: &TrainOptions,
    test_path: &Path,
    word_tags: WordTags,
    corpus: &Corpus,
    float_model: &FloatModel,
    bytes: &[u8],
    progress: &mut dyn Progress,
) -> Result<(DevScore, DevScore)> {
    progress.event(ProgressEvent::StageStarted(Stage::Testing));
    let tag_names = &corpus.tag_names;
    let test = corpus::read_corpus(test_path, options.format, Some(tag_names), word_tags)?;
    let dictionary = match &options.words {
        Some(path) => {
            Some(Dictionary::from_bytes(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?))
        }
        None if corpus.is_segmentation() => Some(Dictionary::from_words(corpus::vocabulary(corpus))),
        None => None,
    };
    let predicted = crate::evaluate::predict_float(float_model, &test.sentences);
    let float_score = crate::evaluate::score_predictions(tag_names, &test.sentences, &predicted, dictionary.as_ref());
    let model = Model::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let quantized_score = integer::evaluate(&model, &test.sentences, dictionary.as_ref());
    Ok((float_score, quantized_score))
}

/// A score with its full counts (for word segmentation: P, R, F1 and OOV recall).
pub fn describe_score(score: &DevScore) -> String {
    match score {
        DevScore::Segmentation(counts) => counts.to_string(),
        other => other.to_string(),
    }
}

fn describe_scale(scale: &ScaleReport) -> String {
    let mut out = format!(
        "scale: mean emission margin (top-1 minus runner-up) {:.2}; allowed transitions mean |t| {:.2}, max |t| {:.2}, \
         largest spread into one tag {:.2}\n",
        scale.mean_emission_margin, scale.mean_abs_transition, scale.max_abs_transition, scale.max_transition_spread
    );
    if scale.transitions_negligible() {
        out.push_str(
            "WARNING: the transition scores are too small to change a typical decision (spread < 10% of the \
             emission margin): the CRF layer barely matters. Try a larger --crf-lr.\n",
        );
    }
    out
}

/// The name of a weight type as the options spell it.
pub fn weight_type_name(weight_type: WeightType) -> &'static str {
    match weight_type {
        WeightType::I8 => "i8",
        WeightType::I16 => "i16",
    }
}

/// A byte count in KiB or MiB.
pub fn human_bytes(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// Formats transition, start and end scores as a table; forbidden entries are marked.
pub fn transition_table(
    tag_names: &[String],
    transitions: &[f32],
    start: &[f32],
    end: &[f32],
    constraints: Option<&decoder::internal::tags::ModelConstraints>,
) -> String {
    let l = tag_names.len();
    let cell = |value: f32, allowed: bool| {
        if allowed {
            format!("{value:>8.3}")
        } else {
            format!("{:>8}", format!("({value:.1})"))
        }
    };
    let mut out = String::from("transition scores (row: from, column: to; parenthesised: forbidden, never used)\n");
    let _ = write!(out, "{:>8}", "from\\to");
    for name in tag_names {
        let _ = write!(out, "{name:>8}");
    }
    out.push('\n');
    for from in 0..l {
        let _ = write!(out, "{:>8}", tag_names[from]);
        for to in 0..l {
            out.push_str(&cell(transitions[from * l + to], constraints.is_none_or(|c| c.allows(from, to))));
        }
        out.push('\n');
    }
    let _ = write!(out, "{:>8}", "start");
    for (j, &s) in start.iter().enumerate() {
        out.push_str(&cell(s, constraints.is_none_or(|c| c.allows_start(j))));
    }
    out.push('\n');
    let _ = write!(out, "{:>8}", "end");
    for (j, &e) in end.iter().enumerate() {
        out.push_str(&cell(e, constraints.is_none_or(|c| c.allows_end(j))));
    }
    out.push('\n');
    out
}

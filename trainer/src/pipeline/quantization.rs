//! Choosing the integer layout: every candidate scale is exported and scored on dev with the decoder's
//! integer path, the best kept; then the model file is written with its metadata.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use decoder::internal::format::WeightType;
use decoder::Model;

use super::budget::METADATA_BUDGET;
use super::data::file_name;
use super::progress::{say, Progress, ProgressEvent, Stage};
use super::report::weight_type_name;
use super::TrainOptions;
use crate::corpus::Sentence;
use crate::evaluate::DevScore;
use crate::integer;
use crate::model::FloatModel;
use crate::quantize::{self, QuantParams};
use crate::train::TrainOutcome;

/// The exported model: its layout, file bytes and dev score.
pub(super) struct Exported {
    pub params: QuantParams,
    pub bytes: Vec<u8>,
    pub dev: DevScore,
}

/// Tries the candidate scales, keeps the best on dev with the integer decoder, and exports the model
/// with its final metadata (within the byte budget, if any).
pub(super) fn quantize_and_export(
    options: &TrainOptions,
    float_model: &FloatModel,
    weight_type: WeightType,
    outcome: &TrainOutcome,
    float_dev: &DevScore,
    dev: &[Sentence],
    progress: &mut dyn Progress,
) -> Result<Exported> {
    progress.event(ProgressEvent::StageStarted(Stage::Quantization));
    let mut chosen: Option<(QuantParams, Vec<u8>, DevScore)> = None;
    let train_file = options.train.as_ref().map_or("sample".to_string(), |p| file_name(p));
    for params in quantize::candidates(float_model, weight_type)? {
        let metadata = metadata(options, &train_file, outcome, float_dev, None);
        let bytes = quantize::export(float_model, params, &metadata)?;
        let model = Model::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("exported model does not load: {e}"))?;
        let score = integer::evaluate(&model, dev, None);
        say(
            progress,
            format!(
                "  quantized {} step 2^{} (frac bits {}, shift {}): dev {score}",
                weight_type_name(params.weight_type),
                params.emission_step().log2(),
                params.score_frac_bits,
                params.weight_shift
            ),
        );
        if chosen.as_ref().is_none_or(|(_, _, s)| score.value() > s.value()) {
            chosen = Some((params, bytes, score));
        }
    }
    let (params, _, quantized_dev) = chosen.expect("at least one quantization candidate");
    let metadata = metadata(options, &train_file, outcome, float_dev, Some(&quantized_dev));
    let bytes = quantize::export(float_model, params, &metadata)?;
    if let Some(budget) = options.max_model_bytes {
        if bytes.len() > budget {
            bail!("internal error: model of {} bytes exceeds the {budget}-byte budget", bytes.len());
        }
    }
    Ok(Exported { params, bytes, dev: quantized_dev })
}

/// The model file's metadata string: how it was trained, cut to [`METADATA_BUDGET`] bytes.
fn metadata(
    options: &TrainOptions,
    train_file: &str,
    outcome: &TrainOutcome,
    float_dev: &DevScore,
    quantized_dev: Option<&DevScore>,
) -> String {
    let mut text = format!(
        "trainer {}; train {train_file}; loss {:?}; lr {} crf-lr {}; epoch {}; {} templates; dev float {:.4}",
        env!("CARGO_PKG_VERSION"),
        options.loss,
        options.lr,
        options.crf_lr,
        outcome.best_epoch().epoch,
        outcome.model.features.templates.len(),
        float_dev.value()
    );
    if let Some(q) = quantized_dev {
        let _ = write!(text, " quantized {:.4}", q.value());
    }
    if let Some(words) = &outcome.model.features.lexicon {
        let _ = write!(text, "; word list {} words", words.len());
    }
    if options.ensemble > 1 {
        let _ = write!(text, "; mean of {} seeds from {}", options.ensemble, options.seed);
    }
    if options.refit {
        let _ = write!(text, "; refit on train and dev");
    }
    if !options.distill.is_empty() {
        let files: Vec<String> = options.distill.iter().map(|p| file_name(p)).collect();
        let _ = write!(text, "; distilled through {}", files.join(", "));
    }
    // Never let the metadata break a byte budget.
    let mut cut = METADATA_BUDGET.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text
}

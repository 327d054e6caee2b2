//! Warm-starting a hybrid model's table (`--neural table-init=linear`): the linear trainer (Adagrad,
//! averaged iterates, early stopping on dev) first trains a linear model on the same text with the
//! table's templates and rows; its emission table and CRF layer are the hybrid model's starting point.
//! The hybrid's dense layer then starts at zero, so that before the first step the hybrid scores every
//! sentence exactly as the linear model does, and joint training adds the encoder to it.

use decoder::internal::features::Template;

use crate::corpus::Sentence;
use crate::evaluate::{evaluate_float, DevScore};
use crate::features::{FeatureSpec, FeaturizedCorpus};
use crate::model::FloatModel;
use crate::pipeline::progress::say;
use crate::pipeline::{Progress, TrainOptions};

use super::weights::NeuralWeights;

/// How a hybrid model's table starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableInit {
    /// All zero, as the linear model starts.
    #[default]
    Zero,
    /// The table and the CRF layer of a linear model trained first on the same text.
    Linear,
}

/// The linear model a hybrid table starts from, and its dev score.
#[derive(Debug, Clone)]
pub struct LinearStart {
    /// Its emission table `[2^bits][L]` and CRF layer.
    pub model: FloatModel,
    /// Its dev score (the averaged model of its best epoch).
    pub dev: DevScore,
    /// Its mean training loss per character in that epoch.
    pub loss_per_char: f64,
}

/// Trains the linear model of `templates` over `2^bits` rows on `train` with the linear trainer's
/// defaults (`trainer train`'s learning rates, batches and averaging; `epochs`, `patience` and `seed` as
/// given), choosing its epoch on `dev`.
pub fn train_linear_start(
    templates: &[Template],
    bits: u8,
    train: &[Sentence],
    dev: &[Sentence],
    tag_names: &[String],
    (epochs, patience, seed): (usize, usize, u64),
    progress: &mut dyn Progress,
) -> LinearStart {
    say(
        progress,
        format!("table-init=linear: training the linear model of the table's {} templates first", templates.len()),
    );
    let spec = FeatureSpec::new(templates.to_vec(), bits);
    let config = TrainOptions { epochs, patience, seed, ..TrainOptions::default() }.train_config();
    let featurized = FeaturizedCorpus::new(&spec, train, config.min_feature_count);
    let zeros = FloatModel::zeros(tag_names.to_vec(), spec);
    let outcome = crate::train::train_featurized(&featurized, &|m| evaluate_float(m, dev), zeros, &config, progress);
    let (dev, loss_per_char) = (outcome.best_epoch().dev, outcome.best_epoch().loss_per_char);
    let epoch = outcome.best_epoch().epoch;
    say(
        progress,
        format!("table-init=linear: the linear model's dev {dev} (epoch {epoch}); joint training starts from it"),
    );
    LinearStart { model: outcome.model, dev, loss_per_char }
}

/// Makes `weights` (a hybrid model whose table has `linear`'s templates and rows) score as `linear`
/// does: the table takes `linear`'s emission weights and the dense layer is zeroed, so the encoder adds
/// nothing until training moves it (its gradients reach the dense layer at once, the convolutions after
/// the first step).
pub fn start_from_linear(weights: &mut NeuralWeights, linear: &FloatModel) -> anyhow::Result<()> {
    let Some(table) = &mut weights.table else { anyhow::bail!("table-init=linear needs a hybrid model's table") };
    anyhow::ensure!(
        table.templates == linear.features.templates
            && usize::from(table.bucket_bits) < 32
            && linear.features.rows == 1 << table.bucket_bits
            && linear.weights.len() == table.weights.len()
            && linear.codes.is_none(),
        "the linear model's features do not match the hybrid table's"
    );
    table.weights.clone_from(&linear.weights);
    weights.dense.weights.iter_mut().for_each(|w| *w = 0.0);
    weights.dense.bias.iter_mut().for_each(|b| *b = 0.0);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::TemplateSet;
    use crate::neural::forward::forward;
    use crate::neural::random::{random_weights, NeuralShape, SplitMix};
    use crate::neural::weights::TableWeights;

    fn hybrid(templates: Vec<Template>, bucket_bits: u8) -> NeuralWeights {
        let shape = NeuralShape {
            vocabulary: "中文字我们在北京".chars().collect(),
            dim: 6,
            ngram_templates: vec![(-1, 2)],
            ngram_buckets: 16,
            convs: vec![(8, 3, 1)],
            num_tags: 4,
        };
        let mut weights = random_weights(&shape, 9);
        weights.table = Some(TableWeights { templates, bucket_bits, weights: vec![0.0; 4 << bucket_bits] });
        weights
    }

    fn random_linear(templates: Vec<Template>, bucket_bits: u8) -> FloatModel {
        let tags = ["B", "M", "E", "S"].map(str::to_owned).to_vec();
        let mut linear = FloatModel::zeros(tags, FeatureSpec::new(templates, bucket_bits));
        linear.weights = SplitMix::new(11).values(linear.weights.len(), 2.0);
        linear
    }

    /// After the warm start the hybrid's emission scores are the linear model's, position by position.
    #[test]
    fn a_warm_started_hybrid_scores_as_the_linear_model() {
        let templates = TemplateSet::Compact.templates();
        let mut weights = hybrid(templates.clone(), 6);
        let linear = random_linear(templates, 6);
        let chars: Vec<char> = "我们在北京学中文字。x".chars().collect();
        let mut expected = Vec::new();
        linear.emissions(&linear.features.extract(&chars), &mut expected);
        assert_ne!(forward(&weights, &chars), expected, "the test starts from scores that differ");
        start_from_linear(&mut weights, &linear).unwrap();
        let got = forward(&weights, &chars);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() <= 1e-5 * (1.0 + e.abs()), "hybrid {g}, linear {e}");
        }
    }

    #[test]
    fn a_linear_model_of_other_features_is_refused() {
        let mut weights = hybrid(TemplateSet::Compact.templates(), 6);
        let other_rows = random_linear(TemplateSet::Compact.templates(), 7);
        assert!(start_from_linear(&mut weights, &other_rows).is_err());
        let other_templates = random_linear(TemplateSet::Basic.templates(), 6);
        assert!(start_from_linear(&mut weights, &other_templates).is_err());
        let mut neural = hybrid(TemplateSet::Compact.templates(), 6);
        neural.table = None;
        assert!(start_from_linear(&mut neural, &random_linear(TemplateSet::Compact.templates(), 6)).is_err());
    }
}

//! The hybrid emission model (`trainer train --emission hybrid`, issue #18): the neural encoder plus a
//! hashed n-gram table, trained jointly. The integer decoder against the float reference (within the
//! bound `trainer::neural::export` documents), streaming against whole-line decoding, training on the
//! sample corpus (the loss falls, one seed gives one file, the integer model scores like the float one),
//! and the command line (train, inspect, segment, eval).

mod common;
use common::{cli_segment, random_bmes, random_line, streamed_tags, whole_line_tags, RANDOM_VOCABULARY};

use std::process::Command;

use decoder::internal::ModelInternals;
use decoder::Model;
use trainer::corpus::{constraints_for, WordTags};
use trainer::features::TemplateSet;
use trainer::neural::error_bound::encoder_error_bounds;
use trainer::neural::export::export_neural;
use trainer::neural::forward::activations;
use trainer::neural::random::{random_weights, NeuralShape, SplitMix};
use trainer::neural::train::{batched_scores, NeuralConfig, TableInit};
use trainer::neural::weights::{NeuralWeights, TableWeights};
use trainer::pipeline::neural::{train, NeuralSummary};
use trainer::pipeline::{Emission, Silent, TrainOptions};

/// A random encoder (as `tests/neural.rs` draws them) with a random table of the compact or the
/// standard templates.
fn random_hybrid(seed: u64) -> NeuralWeights {
    let mut rng = SplitMix::new(seed);
    let pick = |rng: &mut SplitMix, n: u64| rng.next_u64() % n;
    let convs = match pick(&mut rng, 3) {
        0 => vec![],
        1 => vec![(8, 3, 1)],
        _ => vec![(12, 3, 1), (6, 3, 2)],
    };
    let shape = NeuralShape {
        vocabulary: RANDOM_VOCABULARY.to_vec(),
        dim: 1 + pick(&mut rng, 16) as usize,
        ngram_templates: vec![(-1, 2), (0, 2)][..pick(&mut rng, 3) as usize].to_vec(),
        ngram_buckets: 1 + pick(&mut rng, 64) as u32,
        convs,
        num_tags: 4,
    };
    let mut weights = random_weights(&shape, seed);
    let templates = if pick(&mut rng, 2) == 0 { TemplateSet::Compact } else { TemplateSet::Standard }.templates();
    let bucket_bits = 1 + pick(&mut rng, 8) as u8;
    // Table weights from far below to far above the encoder's scores.
    let scale = [0.01, 0.3, 3.0, 40.0][pick(&mut rng, 4) as usize];
    let table = rng.values(4 << bucket_bits, scale);
    weights.table = Some(TableWeights { templates, bucket_bits, weights: table });
    weights
}

/// Every integer score is within the bound of the float reference's: the encoder's worst case
/// (`encoder_error_bound`) plus half a table step per template.
#[test]
fn integer_scores_follow_the_float_forward_pass() {
    for seed in 0..120 {
        let weights = random_hybrid(seed);
        let mut rng = SplitMix::new(seed ^ 0xABC);
        let lines: Vec<Vec<char>> = (0..6).map(|i| random_line(&mut rng, 1 + i * 5)).collect();
        let bytes = export_neural(&weights, &random_bmes(&mut rng), &lines, "").unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        assert_eq!(model.format_version(), 7);
        let table = model.hybrid_table().expect("a hybrid model");
        let frac = i32::from(model.score_frac_bits());
        let unit = 2f64.powi(-frac);
        let shift = i32::from(table.weight_shift());
        let table_step = 2f64.powi(shift - frac);
        let all: Vec<_> = lines.iter().map(|line| activations(&weights, line)).collect();
        let table_bound = table.templates().count() as f64 * table_step / 2.0;
        for (line, a) in lines.iter().zip(&all) {
            let bounds = encoder_error_bounds(&weights, &lines, unit, line);
            for p in 0..line.len() {
                let mut out = [0i32; decoder::MAX_TAGS];
                model.emission_scores(line, p, &mut out);
                for (tag, &score) in out[..4].iter().enumerate() {
                    let (int, float) = (f64::from(score) * unit, f64::from(a.scores[p * 4 + tag]));
                    let bound = bounds[p * 4 + tag] + table_bound;
                    assert!(
                        (int - float).abs() <= bound,
                        "seed {seed} line {line:?} position {p} tag {tag}: integer {int} float {float} bound {bound}"
                    );
                }
            }
        }
    }
}

/// The streaming labeler gives the tags of whole-line Viterbi on every line.
#[test]
fn streaming_equals_whole_line() {
    for seed in 0..60 {
        let weights = random_hybrid(seed);
        let mut rng = SplitMix::new(seed ^ 0xDEF);
        let lines: Vec<Vec<char>> = (0..8).map(|i| random_line(&mut rng, i * 7)).collect();
        let bytes = export_neural(&weights, &random_bmes(&mut rng), &lines, "").unwrap();
        let model = Model::from_bytes(&bytes).unwrap();
        for line in &lines {
            assert_eq!(streamed_tags(&model, line), whole_line_tags(&model, line), "seed {seed}: {line:?}");
        }
    }
}

/// The batched training encoder adds the table as the reference forward pass does.
#[test]
fn the_batched_training_encoder_is_the_reference_forward_pass() {
    let weights = random_hybrid(5);
    let mut rng = SplitMix::new(2);
    let lines: Vec<Vec<char>> = [1usize, 3, 8, 13].iter().map(|&n| random_line(&mut rng, n)).collect();
    let batched = batched_scores(&weights, &lines).unwrap();
    for (line, scores) in lines.iter().zip(&batched) {
        let reference = activations(&weights, line);
        assert!(reference.table.iter().any(|&t| t != 0.0));
        for (a, b) in scores.iter().zip(&reference.scores) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{line:?}: candle {a}, reference {b}");
        }
    }
}

/// A small hybrid that trains on the sample corpus in a few seconds.
fn small(out: &std::path::Path, seed: u64) -> TrainOptions {
    TrainOptions {
        emission: Emission::Hybrid,
        out: out.to_path_buf(),
        epochs: 4,
        patience: 4,
        seed,
        neural: NeuralConfig { table_bits: Some(14), ..common::small_encoder() },
        ..TrainOptions::default()
    }
}

fn run(options: &TrainOptions) -> NeuralSummary {
    train(options, &mut Silent).unwrap()
}

#[test]
fn a_tiny_hybrid_trains_deterministically_and_its_integer_model_scores_like_the_float_one() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(&small(&dir.path().join("a.crfm"), 7));
    let again = run(&small(&dir.path().join("b.crfm"), 7));
    let other = run(&small(&dir.path().join("c.crfm"), 8));
    // The trained epochs' losses (epoch 0 is the linear start's).
    let losses: Vec<f64> = first.outcome.epochs.iter().filter(|e| e.epoch > 0).map(|e| e.loss_per_char).collect();
    assert!(losses[losses.len() - 1] < 0.8 * losses[0], "the loss did not fall: {losses:?}");
    assert!(first.float_dev.value() > 0.6, "dev {}", first.float_dev);
    assert_eq!(first.bytes, again.bytes, "two runs with seed 7 wrote different models");
    assert_ne!(first.bytes, other.bytes, "seeds 7 and 8 wrote the same model");
    // The table learned alongside the encoder.
    let table = first.outcome.model.weights.table.as_ref().expect("a table");
    assert_eq!(table.bucket_bits, 14);
    assert!(table.weights.iter().any(|w| w.abs() > 0.05));
    let model = Model::from_bytes(&first.bytes).unwrap();
    assert_eq!(model.format_version(), 7);
    assert!(model.neural().is_some() && model.hybrid_table().is_some() && model.ngram().is_none());
    let gap = (first.float_dev.value() - first.quantized_dev.value()).abs();
    assert!(gap <= 0.01, "float {} integer {}", first.float_dev, first.quantized_dev);
}

/// `table-init=linear`: epoch 0 is the linear model the table and CRF layer start from, and early
/// stopping keeps whichever epoch is best on dev, so the hybrid is never worse on dev than that model.
#[test]
fn a_warm_started_hybrid_starts_from_its_linear_model_and_keeps_the_best_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = small(&dir.path().join("w.crfm"), 3);
    options.neural.table_init = TableInit::Linear;
    let warm = run(&options);
    let epochs = &warm.outcome.epochs;
    let numbers: Vec<usize> = epochs.iter().map(|e| e.epoch).collect();
    assert_eq!(numbers, [0, 1, 2, 3, 4]);
    assert!(epochs[0].dev.value() > 0.6, "the linear start scores dev {}", epochs[0].dev);
    assert!(epochs.iter().all(|e| warm.float_dev.value() >= e.dev.value()));
    // The CRF layer starts from the linear model's, not from zero.
    assert!(warm.outcome.initial_transitions.iter().any(|t| t.abs() > 0.1), "{:?}", warm.outcome.initial_transitions);
    let mut cold = small(&dir.path().join("c.crfm"), 3);
    cold.neural.table_init = TableInit::Zero;
    let cold = run(&cold);
    assert!(cold.outcome.initial_transitions.iter().all(|&t| t == 0.0));
    assert_ne!(warm.bytes, cold.bytes);
}

#[test]
fn table_options_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let base = small(&dir.path().join("x.crfm"), 1);
    let error = |options: TrainOptions| train(&options, &mut Silent).unwrap_err().to_string();
    let neural = TrainOptions { emission: Emission::Neural, ..base.clone() };
    assert!(error(neural).contains("--neural table-bits goes with --emission hybrid"));
    let decay = NeuralConfig { table_weight_decay: 0.5, ..common::small_encoder() };
    let neural_decay = TrainOptions { emission: Emission::Neural, neural: decay, ..base.clone() };
    assert!(error(neural_decay).contains("--neural table-decay goes with --emission hybrid"));
    let large = TrainOptions { neural: NeuralConfig { table_bits: Some(30), ..base.neural.clone() }, ..base.clone() };
    assert!(error(large).contains("--neural table-bits must be 1 to 24"));
    let budget = TrainOptions { max_model_bytes: Some(65536), ..base.clone() };
    assert!(error(budget).contains("--max-model-bytes does not go with --emission hybrid"));
    assert!(!dir.path().join("x.crfm").exists());
}

/// `trainer train --emission hybrid` on the built-in sample corpus writes a file that `inspect`, `segment`
/// and `eval` read through the decoder.
#[test]
fn command_line_train_inspect_segment_eval() {
    let exe = env!("CARGO_BIN_EXE_trainer");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("hybrid.crfm");
    let trained = Command::new(exe)
        .args(["train", "-q", "--emission", "hybrid", "--epochs", "2", "--neural"])
        .arg("dim=16,channels=24,dilations=1,table-bits=12,lr=0.01,batch=16")
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let bytes = std::fs::read(&model).unwrap();
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.hybrid_table().map(|t| t.rows()), Some(1 << 12));

    let inspect = Command::new(exe).args(["inspect", "--model"]).arg(&model).output().unwrap();
    assert!(inspect.status.success());
    let report = String::from_utf8(inspect.stdout).unwrap();
    assert!(report.contains("format version 7") && report.contains("hybrid n-gram table"), "{report}");
    assert!(report.contains("4096 rows") && report.contains("Char(0)"), "{report}");

    let text = cli_segment(&model, "我们在学校门口集合\n今天天气很好");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert_eq!(text.replace(char::is_whitespace, ""), "我们在学校门口集合今天天气很好", "{text}");

    let gold = dir.path().join("gold.txt");
    std::fs::write(&gold, "我们  是  学生  。\n").unwrap();
    let eval =
        Command::new(exe).args(["eval", "--json", "--model"]).arg(&model).arg("--gold").arg(&gold).output().unwrap();
    assert!(eval.status.success(), "{}", String::from_utf8_lossy(&eval.stderr));
    let json: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(json["counts"]["true_words"], 4);
}

/// Six tags (`--word-tags bmes6`, whose constraints the names do not imply): neural and hybrid models
/// store their constraints as the linear export does, and the decoder obeys them even where the scores
/// favour a forbidden transition.
#[test]
fn six_tag_neural_and_hybrid_models_store_and_obey_their_constraints() {
    let dir = tempfile::tempdir().unwrap();
    for emission in [Emission::Neural, Emission::Hybrid] {
        let mut options = small(&dir.path().join("six.crfm"), 5);
        options.emission = emission;
        options.epochs = 2;
        options.word_tags = Some(WordTags::Bmes6);
        if emission == Emission::Neural {
            options.neural.table_bits = None;
        }
        let summary = run(&options);
        let model = Model::from_bytes(&summary.bytes).unwrap();
        assert_eq!(model.num_tags(), 6);
        assert_eq!(model.scheme(), decoder::TagScheme::Custom, "{emission:?}");
        assert_eq!(model.hybrid_table().is_some(), emission == Emission::Hybrid);
        let gap = (summary.float_dev.value() - summary.quantized_dev.value()).abs();
        assert!(gap <= 0.01, "{emission:?}: float {} integer {}", summary.float_dev, summary.quantized_dev);

        // The same model with every forbidden transition, start and end scored far above the rest.
        let trained = &summary.outcome.model;
        let (_, constraints) = constraints_for(&trained.crf.tag_names);
        let mut crf = trained.crf.clone();
        for from in 0..6 {
            for to in 0..6 {
                if !constraints.allows(from, to) {
                    crf.transitions[from * 6 + to] = 8.0;
                }
            }
            if !constraints.allows_start(from) {
                crf.start[from] = 8.0;
            }
            if !constraints.allows_end(from) {
                crf.end[from] = 8.0;
            }
        }
        let calibration: Vec<Vec<char>> = vec!["我们在北京学中文".chars().collect()];
        let bytes = export_neural(&trained.weights, &crf, &calibration, "forbidden favoured").unwrap();
        let tempted = Model::from_bytes(&bytes).unwrap();
        assert_eq!(tempted.scheme(), decoder::TagScheme::Custom);
        let mut rng = SplitMix::new(21);
        for len in 1..40 {
            let line = random_line(&mut rng, len);
            let tags = whole_line_tags(&tempted, &line);
            assert!(constraints.allows_sequence(&tags), "{emission:?}: {line:?} -> {tags:?}");
            assert_eq!(streamed_tags(&tempted, &line), tags);
        }
    }
}

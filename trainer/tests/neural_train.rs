//! Training the neural emission model (`trainer train --emission neural`): on the built-in sample
//! corpus with a small encoder, the loss falls, the same seed gives the same model file, the exported
//! integer model scores like the float one, the batched training encoder computes what the exported
//! model's reference forward pass computes, and bad options are refused by name.

mod common;

use decoder::internal::ModelInternals;
use decoder::Model;
use trainer::evaluate::score_predictions;
use trainer::neural::forward::forward;
use trainer::neural::random::{random_weights, NeuralShape, SplitMix};
use trainer::neural::train::{batched_scores, NeuralConfig, NeuralLoss, TableInit};
use trainer::pipeline::neural::{train, NeuralSummary};
use trainer::pipeline::{Emission, Silent, TrainOptions};

/// A small encoder that trains on the sample corpus in about a second an epoch.
fn small(out: &std::path::Path, seed: u64, loss: NeuralLoss) -> TrainOptions {
    TrainOptions {
        emission: Emission::Neural,
        out: out.to_path_buf(),
        epochs: 4,
        patience: 4,
        seed,
        neural: NeuralConfig { loss, ..common::small_encoder() },
        ..TrainOptions::default()
    }
}

fn run(options: &TrainOptions) -> NeuralSummary {
    train(options, &mut Silent).unwrap()
}

#[test]
fn a_tiny_corpus_trains_to_lower_loss_and_the_same_seed_gives_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(&small(&dir.path().join("a.crfm"), 7, NeuralLoss::Crf));
    let again = run(&small(&dir.path().join("b.crfm"), 7, NeuralLoss::Crf));
    let other = run(&small(&dir.path().join("c.crfm"), 8, NeuralLoss::Crf));
    let losses: Vec<f64> = first.outcome.epochs.iter().map(|e| e.loss_per_char).collect();
    assert_eq!(losses.len(), 4, "{losses:?}");
    assert!(losses[3] < 0.8 * losses[0], "the loss did not fall: {losses:?}");
    assert!(first.float_dev.value() > 0.6, "dev {}", first.float_dev);
    assert_eq!(first.bytes, again.bytes, "two runs with seed 7 wrote different models");
    assert_eq!(std::fs::read(dir.path().join("a.crfm")).unwrap(), first.bytes);
    assert_ne!(first.bytes, other.bytes, "seeds 7 and 8 wrote the same model");
    // The CRF layer learned: the transitions moved from zero (lr x 100).
    assert!(first.outcome.model.crf.transitions.iter().any(|t| t.abs() > 0.1));
    // The file is a neural model that the decoder loads, with the training vocabulary beside it.
    let model = Model::from_bytes(&first.bytes).unwrap();
    assert!(model.neural().is_some() && model.ngram().is_none());
    assert!(dir.path().join("a.crfm.words").exists());
}

#[test]
fn the_exported_integer_model_scores_like_the_float_model() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&small(&dir.path().join("m.crfm"), 3, NeuralLoss::Crf));
    let model = Model::from_bytes(&summary.bytes).unwrap();
    // Scored on the whole sample corpus (dev and training sentences), float Viterbi against the decoder.
    let corpus = trainer::corpus::parse_corpus(
        trainer::pipeline::SAMPLE_CORPUS,
        "sample",
        trainer::corpus::CorpusFormat::Auto,
        None,
        trainer::corpus::WordTags::Bmes,
    )
    .unwrap();
    let names = &corpus.tag_names;
    let float = score_predictions(names, &corpus.sentences, &summary.outcome.model.predict(&corpus.sentences), None);
    let integer = trainer::integer::evaluate(&model, &corpus.sentences, None);
    let gap = (float.value() - integer.value()).abs();
    assert!(gap <= 0.005, "float {float}, integer {integer}: quantization moved F1 by {:.2} points", 100.0 * gap);
    let tags = corpus.sentences.iter().map(|s| s.tags.len()).sum::<usize>();
    assert!(tags > 3000);
}

#[test]
fn softmax_training_leaves_the_transitions_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run(&small(&dir.path().join("s.crfm"), 1, NeuralLoss::Softmax));
    let crf = &summary.outcome.model.crf;
    assert!(crf.transitions.iter().chain(&crf.start).chain(&crf.end).all(|&t| t == 0.0));
    assert!(summary.float_dev.value() > 0.5, "dev {}", summary.float_dev);
}

/// The training encoder (candle, batched, padded) computes the scores of the reference forward pass
/// that export quantizes, on random weights, for sentences of different lengths in one batch.
#[test]
fn the_batched_training_encoder_is_the_reference_forward_pass() {
    let shape = NeuralShape {
        vocabulary: "中文字我们在北京。".chars().collect(),
        dim: 12,
        ngram_templates: vec![(-1, 2), (0, 2), (-1, 3)],
        ngram_buckets: 64,
        convs: vec![(10, 3, 1), (9, 3, 2)],
        num_tags: 4,
    };
    let weights = random_weights(&shape, 11);
    let mut rng = SplitMix::new(2);
    let alphabet: Vec<char> = "中文字我们在北京。x丁".chars().collect();
    let lines: Vec<Vec<char>> = [1usize, 2, 5, 9, 17]
        .iter()
        .map(|&n| (0..n).map(|_| alphabet[(rng.next_u64() % alphabet.len() as u64) as usize]).collect())
        .collect();
    let batched = batched_scores(&weights, &lines).unwrap();
    for (line, scores) in lines.iter().zip(&batched) {
        let reference = forward(&weights, line);
        assert_eq!(scores.len(), reference.len());
        for (a, b) in scores.iter().zip(&reference) {
            assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{line:?}: candle {a}, reference {b}");
        }
    }
}

#[test]
fn bad_options_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let base = small(&dir.path().join("x.crfm"), 1, NeuralLoss::Crf);
    let error = |options: TrainOptions| train(&options, &mut Silent).unwrap_err().to_string();
    let far = TrainOptions { neural: NeuralConfig { dilations: vec![1, 1, 2], ..base.neural.clone() }, ..base.clone() };
    assert!(error(far).contains("--neural dilations"));
    let none = TrainOptions { neural: NeuralConfig { channels: 0, ..base.neural.clone() }, ..base.clone() };
    assert!(error(none).contains("--neural channels"));
    let budget = TrainOptions { max_model_bytes: Some(65536), ..base.clone() };
    assert!(error(budget).contains("--max-model-bytes does not go with --emission neural"));
    let linear_entry = TrainOptions { ..base.clone() };
    let message = trainer::pipeline::train(&linear_entry, &mut Silent).unwrap_err().to_string();
    assert!(message.contains("pipeline::neural::train"), "{message}");
    // Nothing was written by the refused runs.
    assert!(!dir.path().join("x.crfm").exists());
}

/// At the default shape (matrix products large enough for candle to split them between threads), two
/// runs of one epoch with the same seed write the same file.
#[test]
fn the_default_shape_is_deterministic_too() {
    let dir = tempfile::tempdir().unwrap();
    let options = |name: &str| TrainOptions {
        emission: Emission::Neural,
        out: dir.path().join(name),
        epochs: 1,
        ..TrainOptions::default()
    };
    let (a, b) = (run(&options("a.crfm")), run(&options("b.crfm")));
    assert!(a.bytes == b.bytes, "two runs of the default shape with one seed differ");
}

/// `--neural KEY=VALUE,...` on the command line: settings reach the configuration, bad ones are refused
/// naming the setting.
#[test]
fn the_command_line_settings_reach_the_configuration() {
    use clap::Parser;
    use trainer::cli::{Cli, Command};
    let parse = |args: &[&str]| {
        let all = [&["trainer", "train", "--emission", "neural"], args].concat();
        Cli::try_parse_from(all).map(|cli| match cli.command {
            Some(Command::Train(command)) => command.args.options(),
            _ => unreachable!("train"),
        })
    };
    let options = parse(&["--neural", "dilations=1:1:2,lr=0.01,loss=softmax", "--crf-lr-mult", "10"]).unwrap();
    assert_eq!(options.emission, Emission::Neural);
    assert_eq!(options.neural.dilations, vec![1, 1, 2]);
    assert_eq!((options.neural.lr, options.neural.crf_lr_mult), (0.01, 10.0));
    assert_eq!(options.neural.loss, NeuralLoss::Softmax);
    assert!(options.neural.validate().unwrap_err().to_string().contains("--neural dilations"));
    let unknown = parse(&["--neural", "width=3"]).unwrap_err().to_string();
    assert!(unknown.contains("unknown setting `width`"), "{unknown}");
    let bad = parse(&["--neural", "channels=many"]).unwrap_err().to_string();
    assert!(bad.contains("channels=many"), "{bad}");
    let minutes = parse(&["--neural", "minutes=0"]).unwrap_err().to_string();
    assert!(minutes.contains("minutes=0"), "{minutes}");
    assert_eq!(parse(&[]).unwrap().neural, NeuralConfig::default());
    let table = parse(&["--neural", "table-init=linear,table-decay=0.01,table-dropout=0.1"]).unwrap().neural;
    assert_eq!(table.table_init, TableInit::Linear);
    assert_eq!((table.table_weight_decay, table.table_dropout), (0.01, 0.1));
    assert_eq!(parse(&["--neural", "table-init=zero"]).unwrap().neural.table_init, TableInit::Zero);
    let init = parse(&["--neural", "table-init=random"]).unwrap_err().to_string();
    assert!(init.contains("table-init=random"), "{init}");
    let base = parse(&["--neural", "base=full.crfm,base-jackknife=a.crfm:b.crfm"]).unwrap().neural;
    assert_eq!(base.base, Some(std::path::PathBuf::from("full.crfm")));
    assert_eq!(base.base_jackknife, ["a.crfm", "b.crfm"].map(std::path::PathBuf::from));
}

/// candle's CPU kernels take their thread count from `RAYON_NUM_THREADS`: one thread and two give the
/// same file (the command line, default shape, two epochs on the sample corpus).
#[test]
fn one_thread_and_two_give_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let train = |threads: &str| {
        let out = dir.path().join(format!("t{threads}.crfm"));
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_trainer"))
            .args(["train", "-q", "--emission", "neural", "--epochs", "2", "--out"])
            .arg(&out)
            .env("RAYON_NUM_THREADS", threads)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(out).unwrap()
    };
    assert!(train("1") == train("2"), "one thread and two trained different models");
}

//! Residual training on a fixed linear model (`--neural base=MODEL.crfm`, issue #18): the base's float
//! scores are the model file's integer scores; before the first step the model is the base model (epoch
//! 0 scores dev as the integer base model does); the jackknife models score the training sentences; bad
//! base files are named in the error; the trained model is not written (no format stores a base yet).

mod common;

use std::path::{Path, PathBuf};

use decoder::internal::ModelInternals;
use decoder::Model;
use trainer::corpus::{parse_corpus, CorpusFormat, Sentence, WordTags};
use trainer::neural::base::{Base, BaseModel, BASE_EXPORT_REFUSED};
use trainer::neural::train::{train_neural, NeuralConfig};
use trainer::pipeline::data::SAMPLE_CORPUS;
use trainer::pipeline::{Emission, Silent, TrainOptions};

/// The sample corpus in six tags, every fifth sentence held out as dev.
fn sample() -> (Vec<Sentence>, Vec<Sentence>, Vec<String>) {
    let corpus = parse_corpus(SAMPLE_CORPUS, "sample", CorpusFormat::Auto, None, WordTags::Bmes6).unwrap();
    let (mut train, mut dev) = (Vec::new(), Vec::new());
    for (i, s) in corpus.sentences.into_iter().enumerate() {
        if i % 5 == 4 {
            dev.push(s)
        } else {
            train.push(s)
        }
    }
    (train, dev, corpus.tag_names)
}

/// A linear model of the sample corpus (the trainer's defaults, a small table) written to `out`.
fn linear(out: &Path, tags: WordTags) -> PathBuf {
    let options = TrainOptions {
        out: out.to_path_buf(),
        epochs: 3,
        bucket_bits: Some(14),
        word_tags: Some(tags),
        ..TrainOptions::default()
    };
    trainer::pipeline::train(&options, &mut Silent).unwrap();
    out.to_path_buf()
}

fn with_base(base: &Path, jackknife: Vec<PathBuf>) -> NeuralConfig {
    NeuralConfig {
        epochs: 2,
        patience: 2,
        base: Some(base.to_path_buf()),
        base_jackknife: jackknife,
        ..common::small_encoder()
    }
}

/// The dequantized float scores are the decoder's integer scores times their unit, and a run's epoch 0
/// (dense layer zero, CRF layer the base's) scores dev exactly as the integer base model does.
#[test]
fn epoch_zero_is_the_base_model() {
    let dir = tempfile::tempdir().unwrap();
    let (train, dev, tags) = sample();
    let path = linear(&dir.path().join("base.crfm"), WordTags::Bmes6);
    let bytes = std::fs::read(&path).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let base = BaseModel::load(&path).unwrap();
    let unit = 2f32.powi(-i32::from(model.score_frac_bits()));
    let mut compared = 0;
    for sentence in dev.iter().take(20) {
        let float = base.emissions(&sentence.chars);
        for p in 0..sentence.chars.len() {
            let mut out = [0i32; decoder::MAX_TAGS];
            model.emission_scores(&sentence.chars, p, &mut out);
            for (tag, &score) in out[..tags.len()].iter().enumerate() {
                let expected = score as f32 * unit;
                let got = float[p * tags.len() + tag];
                assert!((got - expected).abs() <= 1e-4 * (1.0 + expected.abs()), "{got} against {expected}");
                compared += usize::from(score != 0);
            }
        }
    }
    assert!(compared > 100, "only {compared} non-zero scores compared");

    let outcome = train_neural(&with_base(&path, Vec::new()), &train, &dev, &tags, &mut Silent).unwrap();
    let integer = trainer::integer::evaluate(&model, &dev, None);
    assert_eq!(outcome.epochs[0].epoch, 0);
    assert_eq!(outcome.epochs[0].dev, integer, "epoch 0 is not the base model");
    assert_eq!(outcome.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), [0, 1, 2]);
    // The CRF layer started from the base's, and the encoder trained: its output layer left zero.
    let start = &base.model.transitions;
    assert!(outcome.initial_transitions.iter().zip(start).all(|(a, b)| a == b));
    let trained = outcome.epochs.iter().map(|e| e.epoch).max().unwrap();
    assert_eq!(trained, 2);
    let best = &outcome.model;
    if outcome.best > 0 {
        assert!(best.weights.dense.weights.iter().any(|&w| w != 0.0), "the encoder did not move");
    }
    assert!(best.base.is_some());
    assert!(outcome.epochs.iter().all(|e| outcome.epochs[outcome.best].dev.value() >= e.dev.value()));
}

/// Jackknife models score the training sentences (sentence `k` by model `k % n`), the base itself the
/// rest; a base or jackknife model of other tags is refused, naming its file.
#[test]
fn jackknife_models_score_the_training_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let (train, _, tags) = sample();
    let full = linear(&dir.path().join("full.crfm"), WordTags::Bmes6);
    let other = {
        let mut options = TrainOptions {
            out: dir.path().join("other.crfm"),
            epochs: 1,
            bucket_bits: Some(12),
            word_tags: Some(WordTags::Bmes6),
            ..TrainOptions::default()
        };
        options.seed = 9;
        trainer::pipeline::train(&options, &mut Silent).unwrap();
        options.out
    };
    let base = Base::prepare(&full, &[other.clone(), full.clone()], &train, &tags).unwrap();
    let (full_model, other_model) = (BaseModel::load(&full).unwrap(), BaseModel::load(&other).unwrap());
    assert_eq!(base.train_emissions.len(), train.len());
    assert_eq!(base.train_emissions[0], other_model.emissions(&train[0].chars));
    assert_eq!(base.train_emissions[1], full_model.emissions(&train[1].chars));
    assert_eq!(base.train_emissions[2], other_model.emissions(&train[2].chars));
    assert_ne!(base.train_emissions[0], full_model.emissions(&train[0].chars));

    let four = linear(&dir.path().join("four.crfm"), WordTags::Bmes);
    let error = Base::prepare(&full, std::slice::from_ref(&four), &train, &tags).unwrap_err().to_string();
    assert!(error.contains("four.crfm") && error.contains("--word-tags"), "{error}");
    let error = Base::prepare(&four, &[], &train, &tags).unwrap_err().to_string();
    assert!(error.contains("four.crfm"), "{error}");
}

/// Through the pipeline: a missing or corrupt base file is named; options that do not go with a base
/// are refused by name; a run that trains is reported and then refused at export, writing nothing.
#[test]
fn bad_bases_are_named_and_the_trained_model_is_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("residual.crfm");
    let options = |base: &Path| TrainOptions {
        emission: Emission::Neural,
        out: out.clone(),
        epochs: 1,
        word_tags: Some(WordTags::Bmes6),
        neural: with_base(base, Vec::new()),
        ..TrainOptions::default()
    };
    let error =
        |options: TrainOptions| format!("{:#}", trainer::pipeline::neural::train(&options, &mut Silent).unwrap_err());
    let missing = dir.path().join("missing.crfm");
    assert!(error(options(&missing)).contains("missing.crfm"));
    let garbage = dir.path().join("garbage.crfm");
    std::fs::write(&garbage, b"CRFM but not really").unwrap();
    let message = error(options(&garbage));
    assert!(message.contains("garbage.crfm") && message.contains("not a valid model"), "{message}");

    let base = linear(&dir.path().join("base.crfm"), WordTags::Bmes6);
    let hybrid = TrainOptions { emission: Emission::Hybrid, ..options(&base) };
    assert!(error(hybrid).contains("--neural base goes with --emission neural"));
    let mut jackknife_alone = options(&base);
    jackknife_alone.neural.base = None;
    jackknife_alone.neural.base_jackknife = vec![base.clone()];
    assert!(error(jackknife_alone).contains("base-jackknife needs --neural base"));

    let message = error(options(&base));
    assert!(message.contains(BASE_EXPORT_REFUSED) && message.contains("residual.crfm"), "{message}");
    assert!(!out.exists(), "a model with a base was written");
}

/// The command line takes `--neural base=` and names the bad file.
#[test]
fn command_line_names_a_missing_base() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-base.crfm");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(["train", "-q", "--emission", "neural", "--word-tags", "bmes6", "--neural"])
        .arg(format!("base={}", missing.display()))
        .arg("--out")
        .arg(dir.path().join("x.crfm"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no-such-base.crfm"), "{stderr}");
}

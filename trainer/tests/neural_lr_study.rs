//! The neural CRF learning-rate study's pieces on the built-in sample corpus (seconds): training without
//! the hard masks really leaves them out of the loss, and a tiny study runs end to end and measures
//! what it claims to.

mod common;

use trainer::corpus::{constraints_for, parse_corpus, CorpusFormat, Sentence, WordTags};
use trainer::neural::study::{run_study, sample_split, StudyData, StudyPlan};
use trainer::neural::train::{train_neural, NeuralConfig, NeuralLoss};
use trainer::pipeline::{Silent, SAMPLE_CORPUS};

fn sample() -> (Vec<String>, Vec<Sentence>) {
    let corpus = parse_corpus(SAMPLE_CORPUS, "sample", CorpusFormat::Auto, None, WordTags::Bmes).unwrap();
    (corpus.tag_names, corpus.sentences)
}

/// A small encoder that trains on the sample corpus in about a second an epoch.
fn small() -> NeuralConfig {
    NeuralConfig { epochs: 2, patience: 2, loss: NeuralLoss::Crf, ..common::small_encoder() }
}

/// Under the masks a forbidden transition has no gradient (its paths carry no probability), so it
/// stays at its (random) initial value; without them the loss pushes it down, as in a plain CRF.
#[test]
fn unconstrained_training_leaves_the_masks_out_of_the_loss() {
    let (tags, sentences) = sample();
    let (train, dev) = sample_split(&sentences, sentences.len() * 4 / 5, sentences.len() / 10).unwrap();
    let constraints = constraints_for(&tags).1;
    let forbidden: Vec<usize> = (0..16).filter(|&i| !constraints.allows(i / 4, i % 4)).collect();
    assert_eq!(forbidden.len(), 8);
    let train_with = |constrained_training| {
        let config = NeuralConfig { constrained_training, initial_transition_range: 0.5, ..small() };
        train_neural(&config, &train, &dev, &tags, &mut Silent).unwrap()
    };
    let masked = train_with(true);
    let plain = train_with(false);
    // Both started from the same random matrix, within the range.
    assert_eq!(masked.initial_transitions, plain.initial_transitions);
    assert!(masked.initial_transitions.iter().all(|t| t.abs() <= 0.5));
    assert!(masked.initial_transitions.iter().filter(|t| t.abs() > 0.05).count() >= 8);
    for &i in &forbidden {
        assert_eq!(masked.model.crf.transitions[i], masked.initial_transitions[i], "masked training moved pair {i}");
        assert!(
            plain.model.crf.transitions[i] < plain.initial_transitions[i] - 0.01,
            "unmasked training did not push forbidden pair {i} down: {:?}",
            plain.model.crf.transitions
        );
    }
    // The allowed transitions learn either way.
    assert!((0..16).filter(|i| !forbidden.contains(i)).any(|i| masked.model.crf.transitions[i].abs() > 0.01));
}

#[test]
fn a_tiny_study_runs_every_configuration_and_measures_it() {
    let (tag_names, sentences) = sample();
    let (train, dev) = sample_split(&sentences, sentences.len() * 4 / 5, sentences.len() / 10).unwrap();
    // The test sentences: the ones neither in training nor dev would be too few; any will do here.
    let test: Vec<Sentence> = sentences.iter().step_by(3).cloned().collect();
    let data = StudyData { tag_names, train, dev, test, dictionary: None };
    let plan = StudyPlan {
        base: NeuralConfig { patience: 2, initial_transition_range: 0.5, ..small() },
        encoder_lrs: vec![1e-3],
        max_epochs: vec![2],
        depths: vec![vec![1]],
        multipliers: vec![1.0, 100.0],
        seeds: vec![4],
        softmax: true,
    };
    let lines = std::sync::Mutex::new(Vec::new());
    let message = |line: String| lines.lock().unwrap().push(line);
    let results = run_study(&plan, &data, 2, 1, &message).unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results.iter().map(|r| r.spec.clone()).collect::<Vec<_>>(), plan.runs());
    let (softmax, crf_1x, crf_100x) = (&results[0], &results[1], &results[2]);
    assert_eq!(softmax.spec.crf_lr_mult, None);
    // Softmax leaves the transitions where they started.
    assert_eq!(softmax.transition_shift, 0.0);
    // AdamW's steps are about the learning rate: the 100x layer moves much further than the 1x one.
    assert!(
        crf_100x.transition_shift > 10.0 * crf_1x.transition_shift,
        "100x moved {}, 1x moved {}",
        crf_100x.transition_shift,
        crf_1x.transition_shift
    );
    for r in &results {
        assert!(r.epochs_run <= 2 && r.best_epoch <= r.epochs_run, "{r:?}");
        assert!((0.0..=100.0).contains(&r.test_f1_unmasked) && (0.0..=100.0).contains(&r.test_f1_masked), "{r:?}");
        assert!(r.forbidden_above_lowest_allowed <= 8);
    }
    // Every run reported its epochs and its end.
    let lines = lines.into_inner().unwrap();
    assert_eq!(lines.iter().filter(|l| l.starts_with('[')).count(), 3, "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("epoch 1/2")), "{lines:?}");
}

#[test]
fn the_initial_transitions_are_zero_by_default_and_random_per_seed_on_request() {
    let (tags, sentences) = sample();
    let (train, dev) = sample_split(&sentences, 200.min(sentences.len() / 2), 20).unwrap();
    let initial = |range, seed| {
        let config = NeuralConfig { initial_transition_range: range, seed, epochs: 1, ..small() };
        train_neural(&config, &train, &dev, &tags, &mut Silent).unwrap().initial_transitions
    };
    assert!(initial(0.0, 1).iter().all(|&t| t == 0.0));
    assert_eq!(initial(0.8, 1), initial(0.8, 1));
    assert_ne!(initial(0.8, 1), initial(0.8, 2));
    assert!(initial(0.8, 2).iter().all(|t| t.abs() <= 0.8));
    // A softmax model is decoded with its transitions, which it does not train: they stay zero.
    let config = NeuralConfig { initial_transition_range: 0.8, loss: NeuralLoss::Softmax, epochs: 1, ..small() };
    let softmax = train_neural(&config, &train, &dev, &tags, &mut Silent).unwrap();
    assert!(softmax.initial_transitions.iter().chain(&softmax.model.crf.transitions).all(|&t| t == 0.0));
}

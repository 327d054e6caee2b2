//! Train on the built-in sample corpus, write the model, load it with the decoder and segment text;
//! the same seed gives byte-identical models whatever the number of threads; the command line works.

mod common;
use common::cli_segment;

use std::process::Command;

use decoder::internal::ModelInternals;
use trainer::pipeline::{Silent, TrainOptions, TrainSummary};

fn sample_args(out: &std::path::Path) -> TrainOptions {
    TrainOptions { out: out.to_path_buf(), bucket_bits: Some(16), epochs: 6, ..TrainOptions::default() }
}

/// Trains through the library, silently.
fn run_train(options: &TrainOptions) -> anyhow::Result<TrainSummary> {
    trainer::pipeline::train(options, &mut Silent)
}

#[test]
fn train_write_load_and_segment() {
    let dir = tempfile::tempdir().unwrap();
    let args = sample_args(&dir.path().join("sample.crfm"));
    let summary = run_train(&args).expect("training on the sample corpus");
    let bytes = std::fs::read(&args.out).expect("the model file was written");
    assert_eq!(bytes, summary.bytes);
    assert!(summary.quantized_dev.value() > 0.6, "dev {}", summary.quantized_dev);

    let model = decoder::Model::from_bytes(&bytes).expect("the decoder accepts the model");
    assert_eq!(model.tag_names().collect::<Vec<_>>(), ["B", "M-2", "M-3", "M", "E", "S"]);
    // A training sentence comes back segmented as written (one output line per input line).
    let input = "我们明天上午九点在学校门口集合。\r\n\n".as_bytes();
    let output = decoder::Segmenter::segment_to_vec(&model, input);
    assert_eq!(String::from_utf8(output).unwrap(), "我们  明天  上午  九点  在  学校  门口  集合  。\n\n");

    // The training vocabulary is kept next to the model for OOV scoring.
    let words = std::fs::read_to_string(dir.path().join("sample.crfm.words")).unwrap();
    assert!(words.lines().any(|w| w == "图书馆"));
}

#[test]
fn a_byte_budget_gives_a_codebook_model_within_it() {
    let dir = tempfile::tempdir().unwrap();
    let budget = 12_000;
    let args = TrainOptions {
        max_model_bytes: Some(budget),
        reference_model: false,
        ..sample_args(&dir.path().join("small.crfm"))
    };
    let summary = run_train(&args).expect("training within a budget");
    // The table takes all the budget but the room kept for the metadata (320 bytes).
    assert!(summary.bytes.len() <= budget && summary.bytes.len() > budget - 400, "{} bytes", summary.bytes.len());
    let model = decoder::Model::from_bytes(&summary.bytes).expect("the decoder accepts the model");
    // A codebook table with a word list (version 3); without the list (version 2) the table gets its bytes.
    assert_eq!(model.format_version(), 3);
    assert!(!model.ngram().unwrap().lexicon().is_empty());
    let rows = model.ngram().unwrap().rows();
    let no_list =
        TrainOptions { lexicon: false, ..TrainOptions { out: dir.path().join("no-list.crfm"), ..args.clone() } };
    let no_list = run_train(&no_list).expect("training without a word list");
    assert!(no_list.bytes.len() <= budget && no_list.bytes.len() > budget - 400, "{} bytes", no_list.bytes.len());
    let no_list = decoder::Model::from_bytes(&no_list.bytes).unwrap();
    assert_eq!((no_list.format_version(), no_list.ngram().unwrap().lexicon().len()), (2, 0));
    assert!(no_list.ngram().unwrap().rows() > rows, "{} vs {rows}", no_list.ngram().unwrap().rows());
    // Past 2^20 rows the auto set is the standard one and the word list has 4 templates; with 2 rows per
    // feature that reads over the decoder's 32 rows a position: the basic set (no trigram) is used, and
    // the optional covering-word template is dropped (the basic set and all 4 would read 34).
    let large = TrainOptions {
        max_model_bytes: Some(2_000_000),
        ..TrainOptions { out: dir.path().join("large.crfm"), ..args.clone() }
    };
    let large = run_train(&large).expect("a large budget with a word list").bytes;
    let large = decoder::Model::from_bytes(&large).unwrap();
    let templates = large.ngram().unwrap().templates();
    assert!(large.ngram().unwrap().rows() > 1 << 20, "{} rows", large.ngram().unwrap().rows());
    assert_eq!(templates.len(), decoder::internal::features::DEFAULT_TEMPLATES.len() + 3, "{templates:?}");
    assert!(templates.ends_with(&trainer::features::LEXICON_TEMPLATES[..3]), "{templates:?}");
    assert!(templates.starts_with(&decoder::internal::features::DEFAULT_TEMPLATES));
    assert_eq!(large.ngram().unwrap().hashes_per_feature() * templates.len(), decoder::MAX_TEMPLATES);
    assert_eq!(model.ngram().unwrap().codes().map(<[u8]>::len), Some(rows));
    assert!(!rows.is_power_of_two(), "the budget, not a power of two, sets the rows ({rows})");
    assert_eq!(model.tag_names().collect::<Vec<_>>(), ["B", "M", "E", "S"]);
    assert_eq!(model.ngram().unwrap().hashes_per_feature(), 2, "codebook models read two rows per feature by default");
    assert!(summary.quantized_dev.value() > 0.6, "dev {}", summary.quantized_dev);
    // Direct i8 weights in the same budget get a quarter of the rows (or fewer: a power of two).
    let direct = TrainOptions {
        weight_type: trainer::pipeline::WeightChoice::I8,
        ..TrainOptions { out: dir.path().join("direct.crfm"), ..args.clone() }
    };
    let direct = run_train(&direct).expect("direct weights within a budget");
    let direct = decoder::Model::from_bytes(&direct.bytes).unwrap();
    assert!(direct.ngram().unwrap().codes().is_none());
    assert!(direct.ngram().unwrap().rows() * 4 <= rows, "{} vs {rows}", direct.ngram().unwrap().rows());
}

/// A word-list model gives the same tags through the float model, the decoder's whole-sentence integer
/// Viterbi and its streaming segmenter (all three build the list's word bits themselves).
#[test]
fn a_word_list_model_decodes_alike_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let args = sample_args(&dir.path().join("sample.crfm"));
    let summary = run_train(&args).unwrap();
    let model = decoder::Model::from_bytes(&summary.bytes).unwrap();
    assert_eq!(model.format_version(), 3);
    assert!(model.ngram().unwrap().lexicon().len() > 100, "{} words", model.ngram().unwrap().lexicon().len());
    assert!(model.metadata().contains("word list"), "{}", model.metadata());
    let corpus = trainer::corpus::parse_corpus(
        trainer::pipeline::SAMPLE_CORPUS,
        "sample",
        trainer::corpus::CorpusFormat::Auto,
        None,
        trainer::corpus::WordTags::Bmes6,
    )
    .unwrap();
    let sentences = &corpus.sentences;
    let float = trainer::evaluate::predict_float(&summary.float_model, sentences);
    let integer = trainer::integer::predict(&model, sentences);
    let agree = float.iter().zip(&integer).filter(|(a, b)| a == b).count();
    assert!(agree * 100 >= sentences.len() * 98, "float and integer agree on {agree} of {}", sentences.len());
    let names: Vec<String> = model.tag_names().map(str::to_string).collect();
    let roles = decoder::internal::segment::ChunkRoles::from_names(names.iter().map(String::as_str));
    let text: String = sentences.iter().map(|s| s.chars.iter().collect::<String>() + "\n").collect();
    let streamed = String::from_utf8(decoder::Segmenter::segment_to_vec(&model, text.as_bytes())).unwrap();
    let whole: String = sentences
        .iter()
        .zip(&integer)
        .map(|(s, tags)| trainer::corpus::tags_to_words(&s.chars, tags, &roles).join("  ") + "\n")
        .collect();
    assert_eq!(streamed, whole, "streaming and whole-sentence decoding differ");
    // The list matters: the same model read without it (its lexicon templates see no words) segments
    // differently.
    let mut without = summary.float_model.clone();
    without.features.lexicon = None;
    let blind = trainer::evaluate::predict_float(&without, sentences);
    assert!(blind.iter().zip(&float).any(|(a, b)| a != b));
}

#[test]
fn extra_words_join_the_word_list_and_need_one() {
    use decoder::internal::lexicon::{word_hash, WordSet, WordSpan};
    let dir = tempfile::tempdir().unwrap();
    let hash = |word: &str| word_hash(word.chars().map(|c| c as u32));
    let plain = run_train(&sample_args(&dir.path().join("plain.crfm"))).unwrap();
    let plain = decoder::Model::from_bytes(&plain.bytes).unwrap();
    // A small (microcontroller-sized) table: the three lexicon templates without the character.
    let templates = plain.ngram().unwrap().templates();
    assert!(templates.contains(&decoder::internal::features::Template::Lexicon(WordSpan::Inside)), "{templates:?}");
    assert!(
        !templates.contains(&decoder::internal::features::Template::LexiconChar(WordSpan::Covering, 0)),
        "{templates:?}"
    );
    assert!(!plain.ngram().unwrap().lexicon().contains(hash("量子计算")));

    // Two new words (one twice), a sample word, and words too short and too long to count.
    let extra = dir.path().join("extra.utf8");
    std::fs::write(&extra, "量子计算  龙卷风\n学校  龙卷风  我  一二三四五六七\n").unwrap();
    let args = TrainOptions { lexicon_extra: vec![extra.clone()], ..sample_args(&dir.path().join("extra.crfm")) };
    let summary = run_train(&args).unwrap();
    let model = decoder::Model::from_bytes(&summary.bytes).unwrap();
    let words = model.ngram().unwrap().lexicon();
    assert!(words.contains(hash("量子计算")) && words.contains(hash("龙卷风")) && words.contains(hash("学校")));
    assert_eq!(words.len(), plain.ngram().unwrap().lexicon().len() + 2);

    let refused = run_train(&TrainOptions { lexicon: false, ..args.clone() }).unwrap_err();
    assert!(format!("{refused:#}").contains("--lexicon-extra"), "{refused:#}");
    let missing = dir.path().join("missing.utf8");
    let args = TrainOptions { lexicon_extra: vec![missing], ..args };
    let error = format!("{:#}", run_train(&args).unwrap_err());
    assert!(error.contains("missing.utf8"), "{error}");
}

#[test]
fn an_ensemble_exports_the_mean_of_its_members() {
    let dir = tempfile::tempdir().unwrap();
    let single = |seed: u64, name: &str| {
        run_train(&TrainOptions { seed, ..sample_args(&dir.path().join(name)) }).unwrap().float_model
    };
    let (one, two) = (single(1, "one.crfm"), single(2, "two.crfm"));
    let args = TrainOptions { ensemble: 2, ..sample_args(&dir.path().join("both.crfm")) };
    let both = run_train(&args).unwrap().float_model;
    assert!(one.weights != two.weights, "the seeds should give different members");
    let close = |mean: &[f32], a: &[f32], b: &[f32]| {
        mean.iter().zip(a).zip(b).all(|((m, x), y)| (m - (x + y) / 2.0).abs() <= 1e-6 * (1.0 + x.abs() + y.abs()))
    };
    assert_eq!(both.weights.len(), one.weights.len());
    assert!(close(&both.weights, &one.weights, &two.weights), "emission weights are not the mean");
    assert!(close(&both.transitions, &one.transitions, &two.transitions), "transitions are not the mean");
    assert!(close(&both.start, &one.start, &two.start) && close(&both.end, &one.end, &two.end));
    let bytes = std::fs::read(&args.out).unwrap();
    let text = decoder::Model::from_bytes(&bytes).unwrap().metadata();
    assert!(text.contains("mean of 2 seeds from 1"), "{text}");
}

#[test]
fn a_refit_trains_on_the_dev_data_too() {
    use decoder::internal::lexicon::{word_hash, WordSet};
    let dir = tempfile::tempdir().unwrap();
    let hash = |word: &str| word_hash(word.chars().map(|c| c as u32));
    let dev = dir.path().join("dev.seg");
    std::fs::write(&dev, "量子计算 是 一 门 新 学科 。\n龙卷风 来 了 。\n我们 研究 量子计算 。\n").unwrap();
    let held_out = TrainOptions { dev: Some(dev.clone()), ..sample_args(&dir.path().join("held-out.crfm")) };
    let refit = TrainOptions { refit: true, ..TrainOptions { out: dir.path().join("refit.crfm"), ..held_out.clone() } };
    let held_out = run_train(&held_out).unwrap();
    let refit_summary = run_train(&refit).unwrap();
    assert!(held_out.float_model.weights != refit_summary.float_model.weights);
    let (held_out, model) = (
        decoder::Model::from_bytes(&held_out.bytes).unwrap(),
        decoder::Model::from_bytes(&refit_summary.bytes).unwrap(),
    );
    // The dev words join the word list and the vocabulary that defines OOV words.
    assert!(!held_out.ngram().unwrap().lexicon().contains(hash("量子计算")));
    assert!(
        model.ngram().unwrap().lexicon().contains(hash("量子计算"))
            && model.ngram().unwrap().lexicon().contains(hash("龙卷风"))
    );
    let words = std::fs::read_to_string(dir.path().join("refit.crfm.words")).unwrap();
    assert!(words.lines().any(|w| w == "量子计算") && words.lines().any(|w| w == "图书馆"));
    let held_out_words = std::fs::read_to_string(dir.path().join("held-out.crfm.words")).unwrap();
    assert!(!held_out_words.lines().any(|w| w == "量子计算"));
    assert!(model.metadata().contains("refit on train and dev"), "{}", model.metadata());

    // Under a byte budget the refit's word list may not outgrow the one the table was sized for.
    let budget = 12_000;
    let small = TrainOptions {
        max_model_bytes: Some(budget),
        reference_model: false,
        ..TrainOptions { out: dir.path().join("small.crfm"), ..refit }
    };
    let small = run_train(&small).unwrap();
    assert!(small.bytes.len() <= budget, "{} bytes", small.bytes.len());
    decoder::Model::from_bytes(&small.bytes).unwrap();
}

#[test]
fn same_seed_gives_identical_models_with_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let train_with = |threads: usize, name: &str| {
        let args = sample_args(&dir.path().join(name));
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| run_train(&args)).expect("training").bytes
    };
    let one = train_with(1, "one.crfm");
    let three = train_with(3, "three.crfm");
    assert!(one == three, "models differ between 1 and 3 threads");
    let mut other_seed = sample_args(&dir.path().join("seed2.crfm"));
    other_seed.seed = 2;
    assert!(run_train(&other_seed).unwrap().bytes != one, "a different seed should give a different model");
}

#[test]
fn command_line_train_segment_inspect_eval() {
    let exe = env!("CARGO_BIN_EXE_trainer");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("cli.crfm");
    let status = Command::new(exe).args(["--quiet", "--epochs", "4", "--out"]).arg(&model).status().unwrap();
    assert!(status.success());

    let text = cli_segment(&model, "我们在学校门口集合\n今天天气很好");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.starts_with("我们  在  学校"), "{text}");

    // --timing reports the model load and the labeling apart, inside the process.
    let input = dir.path().join("input.txt");
    std::fs::write(&input, "我们在学校门口集合\n".repeat(50)).unwrap();
    let timing = dir.path().join("timing.json");
    let timed = Command::new(exe)
        .args(["segment", "--model"])
        .arg(&model)
        .arg("--timing")
        .arg(&timing)
        .arg(&input)
        .output()
        .unwrap();
    assert!(timed.status.success());
    assert_eq!(String::from_utf8(timed.stdout).unwrap().lines().count(), 50);
    let timing: serde_json::Value = serde_json::from_slice(&std::fs::read(&timing).unwrap()).unwrap();
    assert_eq!(timing["bytes_in"], 50 * "我们在学校门口集合\n".len());
    assert!(timing["load_s"].as_f64().unwrap() > 0.0 && timing["label_s"].as_f64().unwrap() > 0.0, "{timing}");

    let inspect = Command::new(exe).args(["inspect", "--model"]).arg(&model).output().unwrap();
    assert!(inspect.status.success());
    let report = String::from_utf8(inspect.stdout).unwrap();
    assert!(report.contains("scheme Custom") && report.contains("transition scores"), "{report}");
    assert!(report.contains("word list: ") && report.contains("Lexicon(Inside)"), "{report}");

    let gold = dir.path().join("gold.txt");
    std::fs::write(&gold, "我们  是  学生  。\r\n").unwrap();
    let eval =
        Command::new(exe).args(["eval", "--json", "--model"]).arg(&model).arg("--gold").arg(&gold).output().unwrap();
    assert!(eval.status.success());
    let json: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(json["counts"]["true_words"], 4);

    // Bad input: an error naming the file and line, not a panic.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, b"ok  line\nbroken \xff line\n").unwrap();
    let failed = Command::new(exe).args(["train", "--quiet", "--train"]).arg(&bad).output().unwrap();
    assert!(!failed.status.success());
    let message = String::from_utf8(failed.stderr).unwrap();
    assert!(message.contains("bad.txt:2:"), "{message}");
}

#[test]
fn conll_corpora_train_a_tagger() {
    // A tiny character-level chunking task in CoNLL layout: digits are B-NUM/I-NUM, the rest O.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("\u{FEFF}");
    for i in 0..200 {
        let sentence = format!("第{}个，共{}人", i * 7 % 100, i % 13 + 10);
        let mut previous_digit = false;
        for c in sentence.chars() {
            let tag = match (c.is_ascii_digit(), previous_digit) {
                (true, false) => "B-NUM",
                (true, true) => "I-NUM",
                _ => "O",
            };
            previous_digit = c.is_ascii_digit();
            text.push_str(&format!("{c}\t{tag}\r\n"));
        }
        text.push_str("\r\n");
    }
    let train = dir.path().join("train.conll");
    std::fs::write(&train, text).unwrap();
    let args = TrainOptions { train: Some(train), ..sample_args(&dir.path().join("ner.crfm")) };
    let summary = run_train(&args).expect("training on CoNLL data");
    assert_eq!(summary.float_model.tag_names, ["O", "B-NUM", "I-NUM"]);
    assert!(summary.quantized_dev.value() > 0.95, "accuracy {}", summary.quantized_dev);
    let model = decoder::Model::from_bytes(&summary.bytes).unwrap();
    assert_eq!(model.scheme(), decoder::TagScheme::Bio);
}

/// Characters on which two segmentations of the same text agree (per character: same word start).
fn boundary_agreement(a: &str, b: &str) -> f64 {
    let starts = |text: &str| -> Vec<bool> {
        text.split_whitespace().flat_map(|w| w.chars().enumerate().map(|(i, _)| i == 0)).collect()
    };
    let (a, b) = (starts(a), starts(b));
    assert_eq!(a.len(), b.len());
    a.iter().zip(&b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

#[test]
fn distillation_teaches_a_budget_model_the_teachers_segmentation() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_trainer");
    // The teacher: the sample corpus's unlimited model. The unlabeled text: the sample's own sentences,
    // written segmented (whitespace is dropped, so only the characters count).
    let teacher = run_train(&sample_args(&dir.path().join("teacher.crfm"))).expect("the teacher trains");
    let unlabeled = dir.path().join("unlabeled.txt");
    std::fs::write(&unlabeled, trainer::pipeline::SAMPLE_CORPUS).unwrap();
    let raw: String = String::from_utf8_lossy(trainer::pipeline::SAMPLE_CORPUS).replace([' ', '\r'], "");
    let teacher_model = decoder::Model::from_bytes(&teacher.bytes).unwrap();
    let teacher_says = String::from_utf8(decoder::Segmenter::segment_to_vec(&teacher_model, raw.as_bytes())).unwrap();

    let budget =
        TrainOptions { max_model_bytes: Some(6_000), reference_model: false, ..sample_args(&dir.path().join("x")) };
    let plain = run_train(&TrainOptions { out: dir.path().join("plain.crfm"), ..budget.clone() }).unwrap();
    let distilled = run_train(&TrainOptions {
        out: dir.path().join("distilled.crfm"),
        distill: vec![unlabeled.clone()],
        teacher: Some(dir.path().join("teacher.crfm")),
        ..budget.clone()
    })
    .expect("distillation from a teacher file");
    let segment = |bytes: &[u8]| {
        let model = decoder::Model::from_bytes(bytes).unwrap();
        String::from_utf8(decoder::Segmenter::segment_to_vec(&model, raw.as_bytes())).unwrap()
    };
    let model = decoder::Model::from_bytes(&distilled.bytes).unwrap();
    assert!(model.metadata().contains("distilled through unlabeled.txt"), "{}", model.metadata());
    let (with, without) = (
        boundary_agreement(&segment(&distilled.bytes), &teacher_says),
        boundary_agreement(&segment(&plain.bytes), &teacher_says),
    );
    assert!(with > without, "agreement with the teacher: distilled {with:.4}, plain {without:.4}");

    // Without --teacher, a budget run's own reference model teaches.
    let from_reference = run_train(&TrainOptions {
        out: dir.path().join("reference.crfm"),
        distill: vec![unlabeled.clone()],
        reference_model: true,
        ..budget.clone()
    })
    .expect("distillation from the reference model");
    assert!(decoder::Model::from_bytes(&from_reference.bytes).unwrap().metadata().contains("distilled through"));

    // Misuse and bad files: clear errors, naming the file and line.
    let error = |args: TrainOptions| run_train(&args).unwrap_err().to_string();
    let no_teacher = error(TrainOptions { distill: vec![unlabeled.clone()], ..budget.clone() });
    assert!(no_teacher.contains("--distill needs a teacher"), "{no_teacher}");
    let no_text = error(TrainOptions { teacher: Some(dir.path().join("teacher.crfm")), ..budget.clone() });
    assert!(no_text.contains("give --distill"), "{no_text}");
    let missing = error(TrainOptions {
        distill: vec![unlabeled.clone()],
        teacher: Some(dir.path().join("missing.crfm")),
        ..budget.clone()
    });
    assert!(missing.contains("missing.crfm"), "{missing}");
    let conll = dir.path().join("tagged.conll");
    std::fs::write(&conll, "我\tS\n").unwrap();
    let failed = Command::new(exe)
        .args(["train", "--quiet", "--max-model-bytes", "6000", "--no-reference", "--teacher"])
        .arg(dir.path().join("teacher.crfm"))
        .arg("--distill")
        .arg(&conll)
        .arg("--out")
        .arg(dir.path().join("y.crfm"))
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let message = String::from_utf8(failed.stderr).unwrap();
    assert!(message.contains("tagged.conll:1: a TAB"), "{message}");
}

#[test]
fn score_reports_convention_conflicts_against_a_training_text() {
    let exe = env!("CARGO_BIN_EXE_trainer");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let training = write("train.txt", "他  提出  问题\n她  提出  建议\n我们  提出  方案\n");
    let gold = write("gold.txt", "他  提  出  问题\n我们  来\n");
    let test = write("test.txt", "他  提出  问题\n我们来\n");
    let score = |extra: &[&str]| {
        Command::new(exe)
            .args(["score", "--gold"])
            .arg(&gold)
            .arg("--test")
            .arg(&test)
            .arg("--conventions")
            .arg(&training)
            .args(extra)
            .output()
            .unwrap()
    };
    let json = score(&["--json"]);
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    // 提出 is the training text's reading (3 times, 提 出 never); 我们来 is just an error.
    assert_eq!(value["conventions"]["disagreements"], 2);
    assert_eq!(value["conventions"]["conflicts"], 1);
    assert_eq!(value["conventions"]["top"][0]["gold"], "提 出");
    assert_eq!(value["conventions"]["top"][0]["training_count"], 3);
    // 2 of 6 gold words right against 4 output words; with the conflict right, 4 of 6 against 5.
    assert!((value["span_f1"].as_f64().unwrap() - 0.4).abs() < 1e-12, "{value}");
    assert!((value["span_f1_without_conflicts"].as_f64().unwrap() - 8.0 / 11.0).abs() < 1e-12, "{value}");
    let text = score(&["--conflict-min-count", "4"]);
    assert!(text.status.success());
    let report = String::from_utf8(text.stdout).unwrap();
    assert!(report.contains("0 of 2 disagreements"), "{report}");

    let missing = dir.path().join("no-such-training.txt");
    let failed = Command::new(exe)
        .args(["score", "--gold"])
        .arg(&gold)
        .arg("--test")
        .arg(&test)
        .arg("--conventions")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8(failed.stderr).unwrap().contains("no-such-training.txt"));
}

/// The options that left `trainer train` fail with an error naming the option and where it went, as
/// flags and with values, under `train` and the default command; `experiment` says where it went too.
#[test]
fn removed_options_and_commands_say_where_they_went() {
    let exe = env!("CARGO_BIN_EXE_trainer");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never.crfm");
    for args in [
        &["train", "--l2", "1"][..],
        &["train", "--no-average", "--epochs", "1"],
        &["--bucket-bits", "16"],
        &["train", "--holdout=0.1"],
    ] {
        let failed = Command::new(exe).args(args).arg("--out").arg(&out).output().unwrap();
        assert!(!failed.status.success(), "{args:?} succeeded");
        let message = String::from_utf8(failed.stderr).unwrap();
        let option = args.iter().find(|a| a.starts_with("--") && *a != &"--epochs").unwrap();
        let option = option.split('=').next().unwrap();
        assert!(message.contains(&format!("{option} is no longer an option")), "{args:?}: {message}");
        assert!(message.contains("--example tune") && message.contains("docs/experiments.md"), "{message}");
    }
    assert!(!out.exists(), "nothing was trained");

    let experiment = Command::new(exe).args(["experiment", "lr", "--epochs", "1"]).output().unwrap();
    assert!(!experiment.status.success());
    let message = String::from_utf8(experiment.stderr).unwrap();
    assert!(message.contains("--example tune -- --study lr"), "{message}");

    // The help lists the product's options only.
    let help = Command::new(exe).args(["train", "--help"]).output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    // An option's line starts `  -q, --quiet` or `      --train <FILE>` (value lists are indented further).
    let options = help.lines().filter(|line| line.starts_with("  -") || line.starts_with("      --")).count();
    // 26 since --template (token-level models, issue #19); 29 with --emission, --crf-lr-mult and --neural
    // (the neural model's settings in one option, issue #18); 30 with --mention-list (token-level models,
    // issue #19).
    assert!((20..=30).contains(&options), "{options} options:\n{help}");
    assert!(help.contains("--max-model-bytes") && !help.contains("--l2") && !help.contains("--bucket-bits"), "{help}");
}

/// The pipeline reports through its `Progress`: stages in order, each epoch's bar and line, and the
/// final report that the summary also holds.
#[test]
fn training_progress_arrives_as_events() {
    use trainer::pipeline::{Progress, ProgressEvent, Stage};
    #[derive(Default)]
    struct Recorder {
        stages: Vec<Stage>,
        epochs: Vec<usize>,
        epoch_characters: Vec<(u64, u64)>,
        messages: Vec<String>,
        report: Option<String>,
    }
    impl Progress for Recorder {
        fn event(&mut self, event: ProgressEvent) {
            match event {
                ProgressEvent::StageStarted(stage) => self.stages.push(stage),
                ProgressEvent::Message(text) => self.messages.push(text),
                ProgressEvent::EpochStarted { characters, .. } => self.epoch_characters.push((characters, 0)),
                ProgressEvent::Trained { characters } => self.epoch_characters.last_mut().unwrap().1 += characters,
                ProgressEvent::EpochFinished { epoch, epochs, .. } => {
                    assert_eq!(epochs, 3);
                    self.epochs.push(epoch);
                }
                ProgressEvent::Report(text) => self.report = Some(text),
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let options = TrainOptions { epochs: 3, patience: 5, ..sample_args(&dir.path().join("progress.crfm")) };
    let mut recorder = Recorder::default();
    let summary = trainer::pipeline::train(&options, &mut recorder).unwrap();
    assert_eq!(recorder.stages, [Stage::ReadingData, Stage::WordList, Stage::Training, Stage::Quantization]);
    assert_eq!(recorder.epochs, [1, 2, 3]);
    // Every epoch's batches add up to the characters it announced.
    assert!(recorder.epoch_characters.iter().all(|&(announced, trained)| announced == trained && trained > 0));
    assert!(
        recorder.messages.iter().any(|m| m.starts_with("training on trainer/data/sample.txt")),
        "{:?}",
        recorder.messages
    );
    assert_eq!(recorder.report.as_deref(), Some(summary.report.as_str()));
    assert!(summary.report.contains("integer layout:") && summary.report.contains("transition scores"));
}

/// The README's `console` example: the input it echoes into `trainer segment` with the committed
/// default model gives exactly the output it shows.
#[test]
fn the_readme_segmentation_example_is_what_segment_prints() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let block = readme.split("```console\n").nth(1).expect("README has a console example");
    let mut lines = block.lines();
    let command = lines.next().unwrap();
    let shown = lines.next().unwrap();
    let input = command.split('\'').nth(1).expect("the example echoes a quoted sentence");
    let model = command.rsplit("--model ").next().unwrap().trim();
    assert!(command.contains("segment") && model.ends_with(".crfm"), "{command}");

    assert_eq!(cli_segment(&root.join(model), &format!("{input}\n")), format!("{shown}\n"));
}

//! `--mention-list` end to end: a token-level model trained with the mention columns stores its list in
//! the model file, and `eval` and `label` compute the same columns from that list as training did.

use std::path::Path;

use clap::Parser as _;
use decoder::internal::format;
use trainer::cli::{token_train_options, Cli, Command};
use trainer::conlleval::score_conll_files;
use trainer::mentions::MentionList;
use trainer::token::{evaluate_file, label_file, train_tokens, TokenTrainOptions};
use trainer::train::SplitMix64;

/// A character-level IOB2 corpus (`char<TAB>tag`): names of people and places from short lists among
/// filler characters.
fn synthetic(sentences: usize, seed: u64) -> String {
    let people = ["张三", "李四", "王五六"];
    let places = ["北京", "上海", "广州市"];
    let filler: Vec<char> = "的了在是我他说去看和".chars().collect();
    let mut rng = SplitMix64::new(seed);
    let mut out = String::new();
    for _ in 0..sentences {
        for _ in 0..4 + rng.next_u64() % 4 {
            let r = rng.next_u64();
            let (name, kind) = match r % 4 {
                0 => (people[(r >> 8) as usize % people.len()], "PER"),
                1 => (places[(r >> 8) as usize % places.len()], "LOC"),
                _ => {
                    out.push_str(&format!("{}\tO\n", filler[(r >> 8) as usize % filler.len()]));
                    continue;
                }
            };
            for (i, c) in name.chars().enumerate() {
                out.push_str(&format!("{c}\t{}-{kind}\n", if i == 0 { "B" } else { "I" }));
            }
        }
        out.push('\n');
    }
    out
}

/// `trainer train --train DIR/train.conll --dev DIR/dev.conll --out DIR/m.crfm` (with `--mention-list`
/// if `mentions`), with a small table and 3 epochs.
fn options(dir: &Path, mentions: bool) -> TokenTrainOptions {
    let path = |name: &str| dir.join(name).display().to_string();
    let mut command = vec!["trainer".to_string(), "train".into(), "--train".into(), path("train.conll")];
    command.extend(["--dev".into(), path("dev.conll"), "--out".into(), path("m.crfm"), "--epochs".into(), "3".into()]);
    if mentions {
        command.push("--mention-list".into());
    }
    let Some(Command::Train(train)) = Cli::try_parse_from(command).unwrap().command else { panic!("not train") };
    let options = token_train_options(&train.args, None).unwrap();
    assert_eq!(options.mentions, mentions);
    TokenTrainOptions { bucket_bits: 14, ..options }
}

#[test]
fn the_list_is_written_and_read_back_to_compute_the_same_columns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("train.conll"), synthetic(200, 1)).unwrap();
    let dev_path = dir.path().join("dev.conll");
    std::fs::write(&dev_path, synthetic(40, 2)).unwrap();
    let options = options(dir.path(), true);
    let summary = train_tokens(&options, &mut trainer::pipeline::Silent).unwrap();
    // The default template of one column (21 lines) and the mention columns' 7.
    assert_eq!(summary.templates, 28);

    // One file, nothing beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let bytes = std::fs::read(&options.out).unwrap();
    assert_eq!(bytes, summary.bytes);
    let model = decoder::Model::from_bytes(&bytes).unwrap();
    assert_eq!(trainer::token::model_columns(&model), Some(4));
    assert_eq!(model.format_version(), format::MENTION_FORMAT_VERSION);
    let list = MentionList::of_model(&model).unwrap().expect("the model holds its list");
    assert_eq!(list.len(), 6, "{}", list.to_text());
    assert_eq!(model.mention_list(), Some(list.to_text().as_str()));
    let text = list.to_text();
    assert!(text.lines().any(|l| l == "PER\t王 五 六") && text.lines().any(|l| l == "LOC\t上 海"), "{text}");
    // Scored from the file and the list, dev gets the score training reported for the exported model.
    let report = evaluate_file(&model, &dev_path).unwrap();
    assert_eq!(report.chunks, summary.dev.chunks);
    assert!(report.f1() > 90.0, "{}", report.render_conlleval());

    // Labelled, the file keeps its columns and gets the same predictions.
    let labelled = label_file(&model, &dev_path).unwrap();
    let input = std::fs::read_to_string(&dev_path).unwrap();
    for (out, line) in labelled.lines().zip(input.lines()) {
        assert_eq!(out.rsplit_once(' ').map_or(out, |(rest, _)| rest), line);
    }
    let labelled_path = dir.path().join("labelled.conll");
    std::fs::write(&labelled_path, &labelled).unwrap();
    assert_eq!(score_conll_files(&dev_path, &labelled_path).unwrap().chunks, report.chunks);

    // Without its list (the same body and templates as version 6) the model reads columns the file does
    // not have.
    let sections = format::decode_sections(&bytes).unwrap();
    let bare = format::encode_with_tokens(&sections.body, sections.tokens.as_ref()).unwrap();
    let bare = decoder::Model::from_bytes(&bare).unwrap();
    assert_eq!(bare.mention_list(), None);
    let error = evaluate_file(&bare, &dev_path).unwrap_err().to_string();
    assert!(error.contains("dev.conll:1: 1 input columns and a tag, but the model reads 4"), "{error}");
    let error = label_file(&bare, &dev_path).unwrap_err().to_string();
    assert!(error.contains("2 columns, but the model reads 4"), "{error}");
    // With it, a file of the wrong columns names its first line.
    let wide = dir.path().join("wide.conll");
    std::fs::write(&wide, "张 x B-PER\n三 x I-PER\n").unwrap();
    let error = evaluate_file(&model, &wide).unwrap_err().to_string();
    assert!(error.contains("wide.conll:1: 3 columns, but the model reads 1 and a tag"), "{error}");
    let error = label_file(&model, &wide).unwrap_err().to_string();
    assert!(error.contains("wide.conll: 3 columns, but the model reads 1 before the mention columns"), "{error}");

    // A damaged list is refused at load, naming the model file and the list's line.
    let damaged =
        format::encode_token_model(&sections.body, sections.tokens.as_ref(), Some("PER\t张 三\nPER 李 四")).unwrap();
    let damaged_path = dir.path().join("damaged.crfm");
    std::fs::write(&damaged_path, &damaged).unwrap();
    let error = trainer::pipeline::load_model(&damaged_path, &damaged).unwrap_err().to_string();
    assert!(error.contains("damaged.crfm") && error.contains("mention list, line 2"), "{error}");

    // A model trained without the list at the same place is a version-6 file without one.
    train_tokens(&TokenTrainOptions { mentions: false, ..options.clone() }, &mut trainer::pipeline::Silent).unwrap();
    let bytes = std::fs::read(&options.out).unwrap();
    let model = decoder::Model::from_bytes(&bytes).unwrap();
    assert_eq!((model.format_version(), model.mention_list()), (format::TOKEN_FORMAT_VERSION, None));
}

#[test]
fn too_many_default_lines_ask_for_a_template() {
    let dir = tempfile::tempdir().unwrap();
    // Three input columns: the default template has 31 lines, no room for the mention columns' 7.
    let text = "张 a b B-PER\n三 a b I-PER\n的 a b O\n\n李 a b B-PER\n了 a b O\n";
    std::fs::write(dir.path().join("train.conll"), text).unwrap();
    std::fs::write(dir.path().join("dev.conll"), text).unwrap();
    let error = train_tokens(&options(dir.path(), true), &mut trainer::pipeline::Silent).unwrap_err().to_string();
    assert!(error.contains("give a --template that reads columns 3 to 5"), "{error}");
    // A template that reads them trains.
    let template = dir.path().join("t.tpl");
    std::fs::write(&template, "U00:%x[0,0]\nU01:%x[0,1]/%x[0,3]\nU02:%x[0,5]\n").unwrap();
    let options = TokenTrainOptions { template: Some(template), ..options(dir.path(), true) };
    let summary = train_tokens(&options, &mut trainer::pipeline::Silent).unwrap();
    assert_eq!(summary.templates, 3);
}

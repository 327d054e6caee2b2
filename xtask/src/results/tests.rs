//! Rendering from small in-memory measurement files.

use super::{
    render::{format_bytes, format_instructions, headline_table, percent, replace_headline, results_markdown},
    MeasurementFile, ModelResult, ResultsFile, Sources,
};

fn model(name: &str, corpus: &str, f1: f64, model_bytes: u64, sha256: &str) -> ModelResult {
    ModelResult {
        name: name.to_owned(),
        description: format!("the {name} model"),
        corpus: corpus.to_owned(),
        train_command: format!("cargo run --release -p trainer -- train --out target/results/{name}.crfm"),
        eval_command: format!("cargo run --release -p trainer -- eval --model target/results/{name}.crfm --json"),
        f1,
        precision: f1,
        recall: f1,
        oov_recall: Some(0.5),
        model_bytes,
        model_sha256: sha256.to_owned(),
        training_seconds: 12.4,
        reproduces_committed_model: None,
        conventions: None,
        commit: "abc".to_owned(),
        dirty: false,
        generated: "2026-12-04 16:00 UTC".to_owned(),
    }
}

fn results() -> ResultsFile {
    ResultsFile {
        command: "cargo xtask results".to_owned(),
        commit: "abc".to_owned(),
        dirty: false,
        generated: "2026-12-04 16:00 UTC".to_owned(),
        data_dir: "$D".to_owned(),
        models: vec![
            model("pku", "pku", 0.951_23, 30_000_000, "aa"),
            model("ctb6", "ctb6", 0.963_456, 29_000_000, "bb"),
            model("pku-160k", "pku", 0.942_345, 160_000, "cc"),
            model("default", "pku", 0.938_765, 200_000, "dd"),
        ],
    }
}

/// One measurement per the schema `cargo xtask firmware measure` writes:
/// the default model ("dd") on the Cortex-M3 board, and the 160 KiB model
/// ("cc") on the Cortex-M4 board only.
const FIRMWARE_JSON: &str = r#"{
  "command": "cargo xtask firmware measure",
  "measurements": [
    { "board": "lm3s6965evb", "core": "Cortex-M3", "model": "models/default.crfm", "model_sha256": "dd",
      "model_bytes": 200000, "tags": 4, "word_list": false, "input": "$D/icwb2/pku_test.utf8",
      "input_bytes": 300000, "characters": 100000, "lines": 1000, "instructions_per_char": 1234.5,
      "peak_stack_bytes": 4000, "static_ram_bytes": 3000, "ram_in_use_bytes": 7000, "code_bytes": 40000,
      "flash_used_bytes": 240000, "flash_bytes": 262144, "forced_cuts": 0, "identical_to_host": true,
      "f1": 0.938765, "oov_recall": 0.7, "commit": "def", "dirty": false, "generated": "2026-12-04 16:00 UTC" },
    { "board": "mps2-an386", "core": "Cortex-M4", "model": "target/pku-160k.crfm", "model_sha256": "cc",
      "model_bytes": 160000, "tags": 4, "word_list": true, "input": "$D/icwb2/pku_test.utf8",
      "input_bytes": 300000, "characters": 100000, "lines": 1000, "instructions_per_char": 2000.0,
      "peak_stack_bytes": 4000, "static_ram_bytes": 3000, "ram_in_use_bytes": 7000, "code_bytes": 41000,
      "flash_used_bytes": 201000, "flash_bytes": 4194304, "forced_cuts": 0, "identical_to_host": true,
      "f1": null, "oov_recall": null, "commit": "def", "dirty": true, "generated": "2026-12-04 16:00 UTC" }
  ]
}"#;

fn sources() -> Sources {
    Sources {
        results: Some(results()),
        firmware: Some(serde_json::from_str::<MeasurementFile>(FIRMWARE_JSON).unwrap()),
        frontier: None,
    }
}

#[test]
fn figures_are_formatted_as_the_readme_writes_them() {
    assert_eq!(percent(0.912_345_6), "91.23");
    assert_eq!(percent(0.9), "90.00");
    assert_eq!(format_bytes(123_456), "123,456");
    assert_eq!(format_bytes(999), "999");
    assert_eq!(format_bytes(30_000_000), "28.6 MiB");
    assert_eq!(format_instructions(1234.5), "1,235");
    assert_eq!(format_instructions(3210.4), "3,210");
}

#[test]
fn the_headline_takes_instructions_and_board_from_the_cortex_m3_entry_with_the_models_hash() {
    let table = headline_table(&sources());
    let rows: Vec<&str> = table.lines().take(5).collect();
    assert_eq!(
        rows,
        [
            "| model | PKU test F1 | CTB6 test F1 | model bytes | Cortex-M3 instructions/char | runs on |",
            "|---|---|---|---|---|---|",
            "| unlimited | 95.12 | 96.35 | 28.6 MiB | — | host |",
            // Measured on the Cortex-M4 board only: no Cortex-M3 figure.
            "| 160 KiB, with a word list | 94.23 | — | 160,000 | — | — |",
            "| the firmware's default (200 KiB, no word list) | 93.88 | — | 200,000 | 1,235 | lm3s6965evb (Cortex-M3) |",
        ]
    );
}

#[test]
fn without_firmware_json_the_firmware_columns_are_dashes_and_the_doc_names_the_command() {
    let sources = Sources { firmware: None, ..sources() };
    let table = headline_table(&sources);
    assert!(
        table.contains("| the firmware's default (200 KiB, no word list) | 93.88 | — | 200,000 | — | — |"),
        "{table}"
    );
    let markdown = results_markdown(&sources);
    assert!(markdown.contains("Not measured yet: `cargo xtask firmware measure`"), "{markdown}");
}

#[test]
fn without_any_measurement_every_figure_is_a_dash() {
    let table = headline_table(&Sources::default());
    assert!(table.contains("| unlimited | — | — | — | — | host |"), "{table}");
    let markdown = results_markdown(&Sources::default());
    assert!(markdown.contains("Not measured yet: `cargo xtask results`"), "{markdown}");
    assert!(markdown.contains("Not measured yet: `cargo xtask frontier`"), "{markdown}");
}

#[test]
fn results_markdown_lists_models_commands_and_firmware_runs() {
    let markdown = results_markdown(&sources());
    assert!(
        markdown.contains("| `default` | the default model | PKU | 93.88 | 93.88 | 93.88 | 50.00 | 200,000 | 12 s |"),
        "{markdown}"
    );
    assert!(markdown.contains("cargo run --release -p trainer -- train --out target/results/pku-160k.crfm\n"));
    assert!(
        markdown.contains(
            "| lm3s6965evb (Cortex-M3) | `models/default.crfm` (= `default`) | 200,000 | 4 | no | 100,000 | 1,235 | \
             4,000 | 3,000 | 40,000 | 240,000 of 262,144 | yes | 93.88 | def |"
        ),
        "{markdown}"
    );
    assert!(markdown.contains("| 2,000 | 4,000 | 3,000 | 41,000 | 201,000 of 4,194,304 | yes | — | def (dirty) |"));
}

#[test]
fn the_headline_block_is_replaced_between_its_markers_and_rendering_twice_changes_nothing() {
    let readme = "# Title\n\n<!-- results:headline -->\nstale figures\n<!-- /results:headline -->\n\nRest.\n";
    let once = replace_headline(readme, "| table |\n").unwrap();
    assert_eq!(once, "# Title\n\n<!-- results:headline -->\n| table |\n<!-- /results:headline -->\n\nRest.\n");
    assert_eq!(replace_headline(&once, "| table |\n").unwrap(), once);
    let error = replace_headline("# Title\n", "| table |\n").unwrap_err().to_string();
    assert!(error.contains("<!-- results:headline -->"), "{error}");
}

#[test]
fn a_user_dictionary_image_is_set_against_the_same_board_and_model_without_one() {
    assert!(!results_markdown(&sources()).contains("User dictionary cost"));
    let mut sources = sources();
    let firmware = sources.firmware.as_mut().unwrap();
    let mut with_dict = firmware.measurements[0].clone();
    with_dict.user_dict = Some("target/user-dict/pfr-top10k.txt".to_owned());
    with_dict.user_dict_sha256 = Some("ee".to_owned());
    with_dict.instructions_per_char = 1604.85;
    with_dict.flash_used_bytes = 343_000;
    with_dict.flash_bytes = 4_194_304;
    with_dict.commit = "fed".to_owned();
    // The same dictionary with the 160 KiB model, which has no entry of its own on this board: no pair.
    let mut unpaired = with_dict.clone();
    unpaired.model_sha256 = "cc".to_owned();
    firmware.measurements.extend([with_dict, unpaired]);
    let markdown = results_markdown(&sources);
    let rows: Vec<&str> =
        markdown.lines().filter(|line| line.contains("| `target/user-dict/pfr-top10k.txt` |")).collect();
    assert_eq!(
        rows,
        ["| lm3s6965evb (Cortex-M3) | `models/default.crfm` | `target/user-dict/pfr-top10k.txt` | 1,235 | 1,605 | \
          1.300 | 343,000 of 4,194,304 | def, fed |"]
    );
}

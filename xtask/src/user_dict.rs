//! `cargo xtask user-dict`: the user dictionary's figures on PKU, into `docs/user-dict.json`.
//!
//! Writes two word lists under `target/user-dict/` (derived from the corpora, so never committed):
//! `pku-test-oov.txt`, the PKU gold test words that the training word list lacks, and `pfr-top10k.txt`,
//! the 10,000 most frequent words of the People's Daily 1998-01 text (ties in first-seen order), for the
//! firmware's dictionary cost. Then scores the default model on PKU test with forced spans off, on, and
//! on with the OOV list as user dictionary (`trainer eval --json`).

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use crate::measure::data_dir;
use crate::{process, workspace_root};

/// Options of `user-dict`.
#[derive(Debug, Args)]
pub struct UserDictArgs {
    /// The model (default: models/default.crfm).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// Longest word a user dictionary takes (`decoder::MAX_WORD_CHARS`).
const MAX_WORD_CHARS: usize = 32;

fn is_listable(word: &str) -> bool {
    !word.is_empty() && word.chars().count() <= MAX_WORD_CHARS && !word.chars().any(char::is_whitespace)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The gold words of `gold` absent from `training_words`, sorted.
pub fn oov_words(gold: &str, training_words: &str) -> Vec<String> {
    let known: BTreeSet<&str> = training_words.lines().map(str::trim).collect();
    let oov: BTreeSet<&str> = gold.split_whitespace().filter(|w| !known.contains(w) && is_listable(w)).collect();
    oov.into_iter().map(str::to_owned).collect()
}

/// The `count` most frequent words of a segmented text (ties in first-seen order).
pub fn top_words(segmented: &str, count: usize) -> Vec<String> {
    let mut seen: HashMap<&str, (usize, usize)> = HashMap::new();
    for word in segmented.split_whitespace().filter(|w| is_listable(w)) {
        let next = seen.len();
        seen.entry(word).or_insert((0, next)).0 += 1;
    }
    let mut words: Vec<(&str, (usize, usize))> = seen.into_iter().collect();
    words.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.1 .1.cmp(&b.1 .1)));
    words.into_iter().take(count).map(|(w, _)| w.to_owned()).collect()
}

/// The `user-dict` command.
pub fn command(args: &UserDictArgs) -> Result<()> {
    let root = workspace_root();
    let data = data_dir();
    let gold = data.join("icwb2/pku_test_gold.utf8");
    let words = data.join("icwb2/pku_training_words.utf8");
    let pfr = data.join("pfr199801/199801_seg.utf8");
    for path in [&gold, &words, &pfr] {
        if !path.is_file() {
            bail!("missing corpus file {} (set CRF_DATA_DIR)", path.display());
        }
    }
    let out_dir = root.join("target/user-dict");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let oov = oov_words(&read(&gold)?, &read(&words)?);
    let oov_path = out_dir.join("pku-test-oov.txt");
    fs::write(&oov_path, oov.join("\n") + "\n").with_context(|| format!("writing {}", oov_path.display()))?;
    let top = top_words(&read(&pfr)?, 10_000);
    let top_path = out_dir.join("pfr-top10k.txt");
    fs::write(&top_path, top.join("\n") + "\n").with_context(|| format!("writing {}", top_path.display()))?;
    eprintln!("user-dict: {} OOV words, {} frequent words under {}", oov.len(), top.len(), out_dir.display());

    process::run(process::cargo().current_dir(&root).args(["build", "--release", "-p", "trainer"]))?;
    let model = args.model.clone().unwrap_or_else(|| root.join("models/default.crfm"));
    let shown = |path: &Path| crate::util::shown_path(path, &data);
    let runs: [(&str, &[&str]); 3] = [
        ("forced spans off", &["--no-forced-spans"]),
        ("forced spans on (default)", &[]),
        ("forced spans on, PKU test OOV words as user dictionary", &["--user-dict"]),
    ];
    let mut results = Vec::new();
    for (name, extra) in runs {
        let mut command = Command::new(root.join("target/release/trainer"));
        command.current_dir(&root).arg("eval").arg("--model").arg(&model).arg("--gold").arg(&gold);
        command.arg("--words").arg(&words).arg("--json").args(extra);
        if extra.contains(&"--user-dict") {
            command.arg(&oov_path);
        }
        let shown_command = process::display(&command)
            .replace(&data.display().to_string(), "$D")
            .replace(&format!("{}/", root.display()), "");
        let output = process::stdout_of(&mut command).with_context(|| format!("`{shown_command}` failed"))?;
        let scores: Value = serde_json::from_str(&output).context("reading trainer eval --json")?;
        let number = |key: &str| scores.get(key).and_then(Value::as_f64).map(|v| (v * 1e5).round() / 1e3);
        println!("user-dict: {name}: F1 {:?}, OOV recall {:?}", number("f1"), number("oov_recall"));
        results.push(json!({
            "name": name,
            "command": shown_command,
            "f1_percent": number("f1"),
            "oov_recall_percent": number("oov_recall"),
            "iv_recall_percent": number("iv_recall"),
        }));
    }
    let file = json!({
        "command": "cargo xtask user-dict",
        "model": shown(&model),
        "oov_words": oov.len(),
        "oov_list": "target/user-dict/pku-test-oov.txt: the PKU gold test words not in pku_training_words.utf8",
        "runs": results,
    });
    let path = root.join("docs/user-dict.json");
    fs::write(&path, serde_json::to_string_pretty(&file)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("user-dict: wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oov_words_are_gold_words_missing_from_the_list() {
        assert_eq!(oov_words("我们  在  北京\n北京  大学生  \n", "我们\n在\n北京\n"), ["大学生"]);
    }

    #[test]
    fn top_words_are_by_count_then_first_seen() {
        assert_eq!(top_words("b  a  c  a  c  d", 3), ["a", "c", "b"]);
    }
}

//! The host side of a firmware measurement, through the trainer's CLI: what
//! a model is (`trainer inspect`), how the host segments the same input
//! (`trainer segment`) and how well the firmware's output scores against a
//! gold file (`trainer score`).
//!
//! The CLI, not the decoder crate: its output is what users compare with,
//! and xtask stays independent of the decoder's API.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

use crate::{
    frontier::{parse_scores, Scores},
    process, workspace_root,
};

/// What `trainer inspect` says about a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    /// How many tags.
    pub tags: u64,
    /// Whether it carries a word list.
    pub word_list: bool,
}

/// Reads [`ModelInfo`] from `trainer inspect`'s report: the `tags (N): ...`
/// line, and a `word list: ...` line when the model has one.
pub fn parse_inspect(report: &str) -> Result<ModelInfo> {
    let tags_line = report
        .lines()
        .find_map(|line| line.strip_prefix("tags ("))
        .context("`trainer inspect` printed no `tags (N): ...` line")?;
    let count = tags_line.split_once(')').map_or("", |(count, _)| count);
    let tags = count.parse().with_context(|| format!("`tags ({tags_line}`: `{count}` is not a tag count"))?;
    let word_list = report.lines().any(|line| line.trim_start().starts_with("word list:"));
    Ok(ModelInfo { tags, word_list })
}

/// The release build of the project's trainer.
#[derive(Debug, Clone)]
pub struct Trainer {
    binary: PathBuf,
}

impl Trainer {
    /// Builds the trainer (`cargo build --release -p trainer`).
    pub fn build() -> Result<Self> {
        process::run(process::cargo().current_dir(workspace_root()).args(["build", "--release", "-p", "trainer"]))?;
        Ok(Self { binary: crate::release_trainer() })
    }

    /// The binary.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(&self.binary);
        command.current_dir(workspace_root()).arg(subcommand);
        command
    }

    /// `trainer inspect --model MODEL`, read by [`parse_inspect`].
    pub fn inspect(&self, model: &Path) -> Result<ModelInfo> {
        let mut command = self.command("inspect");
        command.arg("--model").arg(model);
        let report = stdout_of(&mut command)?;
        parse_inspect(&String::from_utf8_lossy(&report))
            .with_context(|| format!("reading the output of `{}`", process::display(&command)))
    }

    /// `trainer segment --model MODEL INPUT`: the host's segmentation.
    pub fn segment(&self, model: &Path, input: &Path) -> Result<Vec<u8>> {
        let mut command = self.command("segment");
        command.arg("--model").arg(model).arg(input);
        stdout_of(&mut command)
    }

    /// `trainer label --model MODEL INPUT`: a CoNLL file with the predicted tag appended to each line.
    pub fn label(&self, model: &Path, input: &Path) -> Result<Vec<u8>> {
        let mut command = self.command("label");
        command.arg("--model").arg(model).arg(input);
        stdout_of(&mut command)
    }

    /// conlleval's entity F1 (percent) of `trainer eval --model MODEL --test TEST --json`.
    pub fn entity_f1(&self, model: &Path, test: &Path) -> Result<f64> {
        let mut command = self.command("eval");
        command.arg("--model").arg(model).arg("--test").arg(test).arg("--json");
        let json = stdout_of(&mut command)?;
        let value: serde_json::Value = serde_json::from_slice(&json)
            .with_context(|| format!("reading the output of `{}`", process::display(&command)))?;
        value["f1"].as_f64().with_context(|| format!("`{}` printed no f1", process::display(&command)))
    }

    /// `trainer score --gold GOLD --test TEST [--words WORDS] --json`.
    pub fn score(&self, gold: &Path, test: &Path, words: Option<&Path>) -> Result<Scores> {
        let mut command = self.command("score");
        command.arg("--gold").arg(gold).arg("--test").arg(test);
        if let Some(words) = words {
            command.arg("--words").arg(words);
        }
        command.arg("--json");
        let json = stdout_of(&mut command)?;
        parse_scores(&String::from_utf8_lossy(&json))
            .with_context(|| format!("reading the scores of `{}`", process::display(&command)))
    }
}

/// The stdout of `command`, which must succeed (else its stderr is the error).
fn stdout_of(command: &mut Command) -> Result<Vec<u8>> {
    let output = command.output().with_context(|| format!("could not start `{}`", process::display(command)))?;
    if !output.status.success() {
        bail!(
            "`{}` failed ({}):\n{}",
            process::display(command),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output.stdout)
}

/// The SHA-256 of `file` in hex, by `sha256sum`.
pub fn sha256_of(file: &Path) -> Result<String> {
    let mut command = Command::new("sha256sum");
    command.arg(file);
    let output = stdout_of(&mut command)?;
    let text = String::from_utf8_lossy(&output);
    let digest = text.split_whitespace().next().unwrap_or_default();
    if digest.len() != 64 || !digest.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        bail!("`{}` printed no SHA-256: {text}", process::display(&command));
    }
    Ok(digest.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_count_and_word_list_are_read_from_inspect() {
        let plain = "model m.crfm: 1000 bytes, format version 2\nmetadata: x\ntags (4): B M E S   scheme Bmes\n\
                     emission: hashed n-grams\n  templates (8): Bias\n";
        assert_eq!(parse_inspect(plain).unwrap(), ModelInfo { tags: 4, word_list: false });
        let listed =
            "tags (6): B M-2 M-3 M E S   scheme Bmes6\n  word list: 9000 words of 2 to 8 characters = 1 bytes\n";
        assert_eq!(parse_inspect(listed).unwrap(), ModelInfo { tags: 6, word_list: true });
        assert!(parse_inspect("model m.crfm: 3 bytes\n").is_err());
        assert!(parse_inspect("tags (four): B M E S\n").is_err());
    }

    #[test]
    fn sha256_is_the_files_digest() {
        let file = std::env::temp_dir().join(format!("xtask-sha-{}.txt", std::process::id()));
        std::fs::write(&file, b"abc").unwrap();
        assert_eq!(sha256_of(&file).unwrap(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        std::fs::remove_file(&file).unwrap();
        assert!(sha256_of(Path::new("/nonexistent/model.crfm")).is_err());
    }
}

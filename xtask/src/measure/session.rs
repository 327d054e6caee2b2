//! One `cargo xtask firmware measure`: the model and input it measures, the
//! host's segmentation to compare with, and the [`Measurement`] of a board's
//! run that goes into `docs/firmware.json`.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};

use crate::{
    firmware::Board,
    frontier::BoardFlash,
    util::{shown_path, GitState},
    workspace_root,
};

use super::{
    data_dir,
    host::{sha256_of, ModelInfo, Trainer},
    pku_test_input,
    record::Measurement,
    SegmenterRun,
};

/// A gold segmentation of the input, to score the firmware's output with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gold {
    /// The gold file.
    pub gold: PathBuf,
    /// The word list that defines OOV words, if any.
    pub words: Option<PathBuf>,
}

impl Gold {
    /// `gold` if given, else for the PKU test input its gold file and
    /// training word list (when present), else none.
    pub fn for_input(input: &Path, gold: Option<PathBuf>, words: Option<PathBuf>) -> Option<Self> {
        if let Some(gold) = gold {
            return Some(Self { gold, words });
        }
        let pku_test = pku_test_input()?;
        if fs::canonicalize(input).ok()? != fs::canonicalize(pku_test).ok()? {
            return None;
        }
        let icwb2 = data_dir().join("icwb2");
        let gold = icwb2.join("pku_test_gold.utf8");
        let words = words.or_else(|| Some(icwb2.join("pku_training_words.utf8")).filter(|path| path.is_file()));
        gold.is_file().then_some(Self { gold, words })
    }
}

/// The lines of a text: its line feeds, plus an unterminated last line.
pub fn line_count(text: &[u8]) -> u64 {
    let feeds = text.iter().filter(|&&byte| byte == b'\n').count() as u64;
    feeds + u64::from(text.last().is_some_and(|&byte| byte != b'\n'))
}

/// `path` relative to the workspace root when it is inside it, else as given.
pub fn shown_model_path(path: &Path) -> String {
    let inside = fs::canonicalize(path)
        .ok()
        .zip(fs::canonicalize(workspace_root()).ok())
        .and_then(|(path, root)| path.strip_prefix(root).ok().map(Path::to_path_buf));
    inside.unwrap_or_else(|| path.to_path_buf()).display().to_string()
}

/// What every board of one measure run shares.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The model file the firmware embeds.
    pub model: PathBuf,
    /// Its hash, size, tag count and word list.
    pub model_sha256: String,
    /// Size of the model file.
    pub model_bytes: u64,
    /// What `trainer inspect` says about it.
    pub info: ModelInfo,
    /// The input text file.
    pub input: PathBuf,
    /// Its lines.
    pub input_lines: u64,
    /// `trainer segment` of the input with the model.
    pub host_output: Vec<u8>,
    /// The gold segmentation to score against, if there is one.
    pub gold: Option<Gold>,
}

impl Subject {
    /// Reads the model, counts the lines of `input_text` (the contents of `input`), and segments the
    /// input on the host.
    pub fn prepare(
        trainer: &Trainer,
        model: &Path,
        input: &Path,
        input_text: &[u8],
        gold: Option<Gold>,
    ) -> Result<Self> {
        let model_bytes = fs::metadata(model).with_context(|| format!("reading {}", model.display()))?.len();
        Ok(Self {
            model: model.to_path_buf(),
            model_sha256: sha256_of(model)?,
            model_bytes,
            info: trainer.inspect(model)?,
            input: input.to_path_buf(),
            host_output: trainer.segment(model, input)?,
            input_lines: line_count(input_text),
            gold,
        })
    }

    /// The entry for a board's run, which must have logged its figures: the
    /// firmware's output is compared with the host's and, with a gold file,
    /// scored (written to `scratch` for `trainer score`).
    pub fn measurement(
        &self,
        trainer: &Trainer,
        board: Board,
        run: &SegmenterRun,
        scratch: &Path,
        provenance: &Provenance,
    ) -> Result<Measurement> {
        let figures = run.figures.context("the firmware logged no figures")?;
        let (f1, oov_recall) = match &self.gold {
            None => (None, None),
            Some(gold) => {
                fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
                let stem = self.model.file_stem().unwrap_or_default().to_string_lossy();
                let output = scratch.join(format!("{board}-{stem}.utf8"));
                fs::write(&output, &run.outcome.uart_output)
                    .with_context(|| format!("writing {}", output.display()))?;
                let scores = trainer.score(&gold.gold, &output, gold.words.as_deref())?;
                (Some(scores.f1), scores.oov_recall)
            }
        };
        let data_dir = fs::canonicalize(data_dir()).unwrap_or_else(|_| data_dir());
        let input = fs::canonicalize(&self.input).unwrap_or_else(|_| self.input.clone());
        Ok(Measurement {
            board: board.name().to_owned(),
            core: board.core().to_owned(),
            model: shown_model_path(&self.model),
            model_sha256: self.model_sha256.clone(),
            model_bytes: self.model_bytes,
            tags: self.info.tags,
            word_list: self.info.word_list,
            input: shown_path(&input, &data_dir),
            input_bytes: figures.bytes_in,
            characters: figures.characters,
            lines: self.input_lines,
            instructions_per_char: figures.instructions_per_char,
            peak_stack_bytes: figures.peak_stack,
            static_ram_bytes: figures.static_ram,
            ram_in_use_bytes: figures.ram_in_use,
            code_bytes: figures.flash_code,
            flash_used_bytes: figures.flash,
            flash_bytes: BoardFlash::of(board)?.flash_bytes,
            forced_cuts: figures.forced_cuts,
            identical_to_host: run.outcome.uart_output == self.host_output,
            f1,
            oov_recall,
            commit: provenance.git.commit.clone().unwrap_or_else(|| "unknown".to_owned()),
            dirty: provenance.git.dirty,
            generated: provenance.generated.clone(),
            measured_by: provenance.command_line.clone(),
            user_dict: None,
            user_dict_sha256: None,
        })
    }
}

/// When, at which commit and by which command a measurement was made.
#[derive(Debug, Clone)]
pub struct Provenance {
    /// The workspace's commit and whether it had changes.
    pub git: GitState,
    /// `2026-12-04 16:00 UTC`.
    pub generated: String,
    /// `cargo xtask firmware measure ...`.
    pub command_line: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_count_an_unterminated_last_line() {
        assert_eq!(line_count(b""), 0);
        assert_eq!(line_count(b"a\nb\n"), 2);
        assert_eq!(line_count(b"a\nb"), 2);
        assert_eq!(line_count(b"\n\n"), 2);
    }

    #[test]
    fn models_inside_the_workspace_are_shown_relative_to_it() {
        let default = workspace_root().join("xtask").join("..").join("models").join("default.crfm");
        assert_eq!(shown_model_path(&default), "models/default.crfm");
        assert_eq!(shown_model_path(Path::new("/elsewhere/pku-160k.crfm")), "/elsewhere/pku-160k.crfm");
    }

    #[test]
    fn an_explicit_gold_file_wins_and_other_inputs_have_none() {
        let gold = Gold::for_input(Path::new("in.txt"), Some(PathBuf::from("g.txt")), None);
        assert_eq!(gold, Some(Gold { gold: PathBuf::from("g.txt"), words: None }));
        let sample = workspace_root().join("tests").join("data").join("sample.utf8");
        assert_eq!(Gold::for_input(&sample, None, None), None);
    }
}

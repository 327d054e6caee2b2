//! `cargo xtask frontier`: the accuracy-size frontier of the segmenter.
//!
//! For each corpus the project's own trainer first trains the unlimited model
//! (no byte budget, the trainer's default tags), then for each byte budget
//! (32 KiB ... 1 MiB) a 4-tag and a 6-tag model distilled from it (the
//! unlimited model labels the corpora's training text, which joins the
//! budgeted model's training data), and `trainer eval` scores each quantized
//! model on that corpus's test set. The runs are written as
//! `frontier.md` (a table per corpus, with the exact command lines),
//! `frontier.json` and `frontier.svg` (F1 against model bytes, log scale,
//! with the model room of the lm3s6965evb's flash marked).
//!
//! ```sh
//! cargo xtask frontier                                  # every budget, PKU and CTB6, into docs/
//! cargo xtask frontier --corpus pku --budgets 32K,160K  # a subset
//! cargo xtask frontier --quick                          # smoke test into target/frontier/
//! ```
//!
//! Everything that does not run a process (budget and size parsing, board
//! fit, score parsing, the Markdown, JSON and SVG renderings) is a pure
//! function, tested below.

use std::{
    collections::BTreeSet,
    fmt, fs,
    path::{Path, PathBuf},
    process::Command,
    str::FromStr,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, ensure, Context, Result};
use plotters::prelude::*;

use crate::{firmware::Board, firmware_dir, process, workspace_root};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Sentences of the training corpus a `--quick` run trains on.
pub const QUICK_SENTENCES: usize = 2000;

/// The trainer binary that `cargo build --release -p trainer` produces.
fn trainer_binary() -> PathBuf {
    workspace_root().join("target").join("release").join("trainer")
}

/// Where scratch models (and `--quick` training subsets) go.
pub fn scratch_dir(quick: bool) -> PathBuf {
    let frontier = workspace_root().join("target").join("frontier");
    if quick {
        frontier.join("quick")
    } else {
        frontier.join("models")
    }
}

/// Where the outputs go unless `--out-dir` says otherwise: `docs/`, or for
/// a `--quick` run (whose numbers are not comparable) `target/frontier/`.
pub fn default_out_dir(quick: bool) -> PathBuf {
    if quick {
        workspace_root().join("target").join("frontier")
    } else {
        workspace_root().join("docs")
    }
}

/// Parses a byte size: a plain number, or one with a binary suffix (`K`,
/// `KiB`, `M`, `MiB`, any case), or hexadecimal (`0x40000`, as in linker
/// scripts).
pub fn parse_size(text: &str) -> Result<u64> {
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).with_context(|| format!("`{text}` is not a hexadecimal size"));
    }
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    let number: u64 = digits.parse().with_context(|| format!("`{text}` is not a size (e.g. 163840, 160K, 1M)"))?;
    let unit = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => KIB,
        "m" | "mib" => MIB,
        _ => bail!("`{text}`: unknown size suffix `{suffix}` (use K or M, which are binary: 1K = 1024)"),
    };
    number.checked_mul(unit).with_context(|| format!("`{text}` is too large"))
}

/// A size in the largest binary unit that divides it: `32 KiB`, `1 MiB`,
/// else `163841 B`.
pub fn format_size(bytes: u64) -> String {
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes % KIB == 0 {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} B")
    }
}

/// An integer with thousands separators: `131,304`.
pub fn group_digits(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// The model size limit a model is trained for.
///
/// The variant order makes every byte budget sort before `Unlimited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Budget {
    /// `--max-model-bytes N`.
    Bytes(u64),
    /// No `--max-model-bytes`: the trainer's default (large) table.
    Unlimited,
}

/// The budgets of a full run: 32, 64, 128, 160, 200 (the firmware's default model: the largest round
/// size whose image fits the lm3s6965evb with room for the code to grow), 256, 512 KiB, 1 MiB and none.
pub const DEFAULT_BUDGETS: [Budget; 9] = [
    Budget::Bytes(32 * KIB),
    Budget::Bytes(64 * KIB),
    Budget::Bytes(128 * KIB),
    Budget::Bytes(160 * KIB),
    Budget::Bytes(200 * KIB),
    Budget::Bytes(256 * KIB),
    Budget::Bytes(512 * KIB),
    Budget::Bytes(MIB),
    Budget::Unlimited,
];

/// [`DEFAULT_BUDGETS`] as `--budgets` spells them (its default).
pub const DEFAULT_BUDGET_LIST: &str = "32K,64K,128K,160K,200K,256K,512K,1M,unlimited";

impl Budget {
    /// The limit in bytes, if there is one.
    pub fn bytes(self) -> Option<u64> {
        match self {
            Budget::Bytes(bytes) => Some(bytes),
            Budget::Unlimited => None,
        }
    }

    /// For tables and the plot: `32 KiB`, `1 MiB`, `unlimited`.
    pub fn label(self) -> String {
        match self {
            Budget::Bytes(bytes) => format_size(bytes),
            Budget::Unlimited => "unlimited".to_owned(),
        }
    }

    /// For file names: `32k`, `1m`, `163841`, `unlimited`.
    pub fn slug(self) -> String {
        match self {
            Budget::Bytes(bytes) if bytes >= MIB && bytes % MIB == 0 => format!("{}m", bytes / MIB),
            Budget::Bytes(bytes) if bytes >= KIB && bytes % KIB == 0 => format!("{}k", bytes / KIB),
            Budget::Bytes(bytes) => bytes.to_string(),
            Budget::Unlimited => "unlimited".to_owned(),
        }
    }
}

impl FromStr for Budget {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        if matches!(text.trim().to_ascii_lowercase().as_str(), "unlimited" | "none") {
            return Ok(Budget::Unlimited);
        }
        let bytes = parse_size(text)?;
        ensure!(bytes > 0, "a budget of 0 bytes fits no model");
        Ok(Budget::Bytes(bytes))
    }
}

/// The CLI spelling, which [`Budget::from_str`] reads back: `32K`, `1M`.
impl fmt::Display for Budget {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Budget::Bytes(bytes) if bytes >= MIB && bytes % MIB == 0 => write!(formatter, "{}M", bytes / MIB),
            Budget::Bytes(bytes) if bytes >= KIB && bytes % KIB == 0 => write!(formatter, "{}K", bytes / KIB),
            Budget::Bytes(bytes) => write!(formatter, "{bytes}"),
            Budget::Unlimited => formatter.write_str("unlimited"),
        }
    }
}

/// The budgets in increasing order, each once (`--budgets 160K,32K,32K`
/// runs 32 KiB, then 160 KiB).
pub fn sorted_budgets(budgets: &[Budget]) -> Vec<Budget> {
    budgets.iter().copied().collect::<BTreeSet<_>>().into_iter().collect()
}

/// The word tags a model is trained with (`trainer train --word-tags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WordTags {
    /// B M E S: the trainer's default with a byte budget.
    Bmes,
    /// B M-2 M-3 M E S: the trainer's default without a budget.
    Bmes6,
}

impl WordTags {
    /// Both tag sets, in the order their series run and print.
    pub const ALL: [WordTags; 2] = [WordTags::Bmes, WordTags::Bmes6];

    /// The tags of the unlimited model: the trainer's default without
    /// `--max-model-bytes` (the frontier passes no `--word-tags` for it).
    pub const UNLIMITED: WordTags = WordTags::Bmes6;

    /// The `--word-tags` value: `bmes`, `bmes6`.
    pub fn name(self) -> &'static str {
        match self {
            WordTags::Bmes => "bmes",
            WordTags::Bmes6 => "bmes6",
        }
    }

    /// How many tags: 4, 6.
    pub fn count(self) -> usize {
        match self {
            WordTags::Bmes => 4,
            WordTags::Bmes6 => 6,
        }
    }

    /// For tables and the legend: `4 tags`.
    pub fn label(self) -> String {
        format!("{} tags", self.count())
    }

    /// Decode instructions per character on the Cortex-M3 (lm3s6965evb) of a
    /// 160 KiB model with these tags and a word list (what the frontier
    /// trains), as `cargo xtask firmware measure --model ...` reports them.
    /// The one place to update when the decoder changes.
    pub fn m3_instructions_per_char(self) -> u64 {
        match self {
            WordTags::Bmes => 2_451,
            WordTags::Bmes6 => 4_032,
        }
    }
}

/// The models a corpus's run trains, in order: the unlimited model first
/// (always: it is the teacher of the others, and trained once, with the
/// trainer's default tags), then every byte budget, increasing, with each tag
/// set.
pub fn run_plan(budgets: &[Budget]) -> Vec<(Budget, WordTags)> {
    let mut plan = vec![(Budget::Unlimited, WordTags::UNLIMITED)];
    for budget in sorted_budgets(budgets).into_iter().filter(|budget| budget.bytes().is_some()) {
        plan.extend(WordTags::ALL.map(|tags| (budget, tags)));
    }
    plan
}

/// What a budgeted model of `corpus` distills: its own training text first,
/// then the other corpora's (of `available`: each corpus's training file, if
/// it is in the data directory).
pub fn distill_sources(corpus: Corpus, available: &[(Corpus, PathBuf)]) -> Vec<PathBuf> {
    let own = available.iter().filter(|(other, _)| *other == corpus);
    let others = available.iter().filter(|(other, _)| *other != corpus);
    own.chain(others).map(|(_, train)| train.clone()).collect()
}

/// A corpus with a train/test split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Corpus {
    /// People's Daily 1998-01 for training, the SIGHAN 2005 PKU test set.
    Pku,
    /// Chinese Treebank 6, its standard train/dev/test split.
    Ctb6,
}

/// Which corpora `--corpus` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CorpusSelection {
    /// PKU only.
    Pku,
    /// CTB6 only.
    Ctb6,
    /// PKU, then CTB6.
    All,
}

impl CorpusSelection {
    /// The selected corpora, in the order they run.
    pub fn corpora(self) -> Vec<Corpus> {
        match self {
            CorpusSelection::Pku => vec![Corpus::Pku],
            CorpusSelection::Ctb6 => vec![Corpus::Ctb6],
            CorpusSelection::All => vec![Corpus::Pku, Corpus::Ctb6],
        }
    }
}

/// The files of one corpus that a run reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusFiles {
    /// `--train`.
    pub train: PathBuf,
    /// `--dev`; `None`: the trainer holds out part of the training corpus.
    pub dev: Option<PathBuf>,
    /// The gold segmentation of the test set.
    pub gold: PathBuf,
    /// The word list defining OOV words; `None`: the trainer's MODEL.words.
    pub words: Option<PathBuf>,
}

impl CorpusFiles {
    /// The files that are not there.
    pub fn missing(&self) -> Vec<&Path> {
        [Some(&self.train), self.dev.as_ref(), Some(&self.gold), self.words.as_ref()]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
            .filter(|path| !path.is_file())
            .collect()
    }
}

impl Corpus {
    /// Every corpus, in the order they run and print.
    pub const ALL: [Corpus; 2] = [Corpus::Pku, Corpus::Ctb6];

    /// Lower case, for file names and JSON: `pku`, `ctb6`.
    pub fn name(self) -> &'static str {
        match self {
            Corpus::Pku => "pku",
            Corpus::Ctb6 => "ctb6",
        }
    }

    /// For headings and the plot's legend.
    pub fn title(self) -> &'static str {
        match self {
            Corpus::Pku => "PKU",
            Corpus::Ctb6 => "CTB6",
        }
    }

    /// Where its files are under the data directory.
    pub fn files(self, data_dir: &Path) -> CorpusFiles {
        match self {
            Corpus::Pku => CorpusFiles {
                train: data_dir.join("pfr199801").join("199801_seg.utf8"),
                dev: None,
                gold: data_dir.join("icwb2").join("pku_test_gold.utf8"),
                words: Some(data_dir.join("icwb2").join("pku_training_words.utf8")),
            },
            Corpus::Ctb6 => CorpusFiles {
                train: data_dir.join("ctb6").join("ctb6.train.seg"),
                dev: Some(data_dir.join("ctb6").join("ctb6.dev.seg")),
                gold: data_dir.join("ctb6").join("ctb6.test.seg"),
                // The set of training words defines CTB6's OOV words, which
                // is what the trainer writes next to the model (MODEL.words)
                // and `trainer eval` reads by default.
                words: None,
            },
        }
    }

    /// One line on what it trains and tests on, for the Markdown.
    pub fn description(self) -> &'static str {
        match self {
            Corpus::Pku => {
                "train: `pfr199801/199801_seg.utf8` (People's Daily 1998-01; dev: the trainer's 5% holdout); \
                 test: SIGHAN 2005 PKU test (`icwb2/pku_test_gold.utf8`); OOV: `icwb2/pku_training_words.utf8`"
            }
            Corpus::Ctb6 => {
                "train: `ctb6/ctb6.train.seg`, dev: `ctb6/ctb6.dev.seg`; test: `ctb6/ctb6.test.seg`; \
                 OOV: words not in the training set (the trainer's MODEL.words)"
            }
        }
    }
}

/// A board's flash and whether a model fits it next to the firmware code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardFlash {
    /// The board.
    pub board: Board,
    /// Its flash, in bytes (the FLASH region of its memory.x).
    pub flash_bytes: u64,
}

impl BoardFlash {
    /// The board's flash as its linker script (firmware/boards/*/memory.x)
    /// declares it: the memory map the firmware is actually linked for.
    pub fn of(board: Board) -> Result<Self> {
        let path = firmware_dir().join("boards").join(board.name()).join("memory.x");
        let script = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let flash_bytes =
            flash_length(&script).with_context(|| format!("reading the flash size from {}", path.display()))?;
        Ok(Self { board, flash_bytes })
    }

    /// Flash left for the model after `code_bytes` of firmware.
    pub fn model_room(self, code_bytes: u64) -> u64 {
        self.flash_bytes.saturating_sub(code_bytes)
    }

    /// Whether `code_bytes` of firmware plus a `model_bytes` model fit.
    pub fn fits(self, code_bytes: u64, model_bytes: u64) -> bool {
        code_bytes.saturating_add(model_bytes) <= self.flash_bytes
    }

    /// Short column title: `M3` for lm3s6965evb, `M4` for mps2-an386.
    fn core_tag(self) -> &'static str {
        match self.board {
            Board::Lm3s6965evb => "M3",
            Board::Mps2An386 => "M4",
        }
    }
}

/// The LENGTH of the FLASH region in a linker script's MEMORY block, e.g.
/// `FLASH : ORIGIN = 0x00000000, LENGTH = 256K`.
pub fn flash_length(linker_script: &str) -> Result<u64> {
    let line = linker_script
        .lines()
        .map(str::trim)
        .find(|line| line.split([' ', ':', '(']).next() == Some("FLASH"))
        .context("no FLASH region")?;
    let (_, length) = line.split_once("LENGTH").context("the FLASH region has no LENGTH")?;
    let value = length.trim_start().strip_prefix('=').context("LENGTH is not followed by `=`")?;
    let value = value.split([',', ';', '}']).next().unwrap_or_default();
    parse_size(value)
}

/// The scores `trainer eval --json` reports, as fractions in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    /// Word precision.
    pub precision: f64,
    /// Word recall.
    pub recall: f64,
    /// Word F1.
    pub f1: f64,
    /// Recall of the test words not in the word list (`None`: no list).
    pub oov_recall: Option<f64>,
}

/// Reads the output of `trainer eval --json`.
pub fn parse_scores(json: &str) -> Result<Scores> {
    let value: serde_json::Value = serde_json::from_str(json).context("`trainer eval --json` printed no JSON")?;
    let number = |key: &str| {
        value.get(key).and_then(serde_json::Value::as_f64).with_context(|| format!("the scores lack a number `{key}`"))
    };
    Ok(Scores {
        precision: number("precision")?,
        recall: number("recall")?,
        f1: number("f1")?,
        oov_recall: value.get("oov_recall").and_then(serde_json::Value::as_f64),
    })
}

/// One trained and evaluated model.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierRun {
    /// What it was trained and tested on.
    pub corpus: Corpus,
    /// The budget it was trained for.
    pub budget: Budget,
    /// Its tag set.
    pub word_tags: WordTags,
    /// The model that labelled its distilled text, as the commands show it
    /// (`None`: not distilled).
    pub teacher: Option<String>,
    /// The text it distilled (`--distill`), as the commands show it.
    pub distill: Vec<String>,
    /// The size of the model file.
    pub model_bytes: u64,
    /// Its test scores (quantized model, integer decoder).
    pub scores: Scores,
    /// Wall-clock seconds of `trainer train`.
    pub train_seconds: f64,
    /// The training command line, as shown in the Markdown.
    pub train_command: String,
    /// The evaluation command line, as shown in the Markdown.
    pub eval_command: String,
}

/// Everything the outputs show.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierReport {
    /// The runs, grouped by corpus, budgets increasing, 4 tags before 6.
    pub runs: Vec<FrontierRun>,
    /// Firmware flash other than the model, in bytes.
    pub code_bytes: u64,
    /// The boards whose fit is reported, lm3s6965evb first.
    pub boards: Vec<BoardFlash>,
    /// When the runs were made: `2026-12-01 19:04 UTC`.
    pub generated: String,
    /// The commit they were made at, and whether the tree had changes.
    pub commit: String,
    /// How this report was made: `cargo xtask frontier ...`.
    pub command_line: String,
    /// The data directory, which the commands name as `$D`.
    pub data_dir: String,
    /// A `--quick` smoke test (small training set, one epoch).
    pub quick: bool,
}

impl FrontierReport {
    fn corpora(&self) -> Vec<Corpus> {
        self.runs.iter().map(|run| run.corpus).collect::<BTreeSet<_>>().into_iter().collect()
    }

    fn runs_of(&self, corpus: Corpus) -> impl Iterator<Item = &FrontierRun> {
        self.runs.iter().filter(move |run| run.corpus == corpus)
    }

    /// The lm3s6965evb's flash, whose model room the plot marks.
    fn smallest_board(&self) -> Option<BoardFlash> {
        self.boards.iter().copied().min_by_key(|board| board.flash_bytes)
    }
}

/// A fraction as a percentage with two decimals: `95.04`.
fn percent(fraction: f64) -> String {
    format!("{:.2}", 100.0 * fraction)
}

fn yes_no(yes: bool) -> &'static str {
    if yes {
        "yes"
    } else {
        "no"
    }
}

/// `frontier.md`: header, then per corpus a table and the command lines.
pub fn render_markdown(report: &FrontierReport) -> String {
    let mut text = String::from("# Accuracy-size frontier\n\n");
    if report.quick {
        text.push_str(&format!(
            "**Quick smoke test** (`--quick`): trained on the first {QUICK_SENTENCES} sentences for one epoch, \
             distilled from the first {QUICK_SENTENCES} sentences of each training file. \
             These numbers say that the command works, nothing about the models; do not compare them.\n\n"
        ));
    }
    text.push_str(&format!(
        "Written by `{}` (xtask/src/frontier.rs) on {} at commit {}.\n\n",
        report.command_line, report.generated, report.commit
    ));
    text.push_str(
        "For each corpus the project's trainer first trains the *unlimited* model (no budget: the trainer's \
         default table and tags, 6), then for each byte budget two models, one with 4 tags (`--word-tags bmes`) \
         and one with 6 (`--word-tags bmes6`), each `trainer train --max-model-bytes N --no-reference` distilled \
         from the unlimited model: `--teacher` that model `--distill` the corpus's own training text `--distill` \
         the other corpus's (the teacher labels it, the labelled lines join the training data; dev stays gold). \
         `trainer eval` scores the **quantized** model through the decoder's integer path, scored like the \
         official SIGHAN script. P, R, F1 and OOV-R (recall of out-of-vocabulary words) in percent; *model \
         bytes*: the size of the model file, which is what the firmware embeds; *train s*: wall-clock seconds of \
         `trainer train` on this machine, distillation included (they vary with load, F1 does not). \
         `frontier.json` has the same runs, scores as fractions; `frontier.svg` plots F1 against model bytes, \
         a line per corpus and tag set.\n\n",
    );
    text.push_str(&decode_cost_sentence());
    text.push_str("\n\n");
    let fit_rules: Vec<String> = report
        .boards
        .iter()
        .map(|board| {
            format!(
                "{} ({}, {} B flash: room for a model of {} B)",
                board.board,
                board.board.core(),
                group_digits(board.flash_bytes),
                group_digits(board.model_room(report.code_bytes))
            )
        })
        .collect();
    text.push_str(&format!(
        "*Fits*: firmware code ({} B: the lm3s6965evb firmware's flash other than the model, measured by building \
         it, as `cargo xtask firmware build` prints it; or `--code-bytes`) plus the model is at most the board's flash (firmware/boards/*/memory.x): \
         {}.\n\n",
        group_digits(report.code_bytes),
        fit_rules.join("; ")
    ));
    text.push_str(
        "Regenerate with `cargo xtask frontier` (every budget on PKU and CTB6); options: `--budgets 32K,160K,...` \
         (the unlimited model always runs: it is the teacher), `--corpus pku|ctb6|all` (the other corpus's training \
         text is still distilled when it is in the data directory), `--data DIR` (default `CRF_DATA_DIR`, else \
         `../shared/data`), `--out-dir DIR`, `--code-bytes N`, and `--quick` for a smoke test into \
         target/frontier/ (the first sentences of each training file, one epoch; distilled from those subsets).\n",
    );

    for corpus in report.corpora() {
        text.push_str(&format!("\n## {}\n\n{}\n\n", corpus.title(), corpus.description()));
        text.push_str(&tag_comparison_table(report, corpus));
        let fit_columns: String =
            report.boards.iter().map(|board| format!(" fits {} ({}) |", board.core_tag(), board.board)).collect();
        text.push_str(&format!("\n| budget | tags | model bytes | F1 | P | R | OOV-R | train s |{fit_columns}\n"));
        text.push_str(&format!("|---|---|---|---|---|---|---|---|{}\n", "---|".repeat(report.boards.len())));
        for run in report.runs_of(corpus) {
            let fits: String = report
                .boards
                .iter()
                .map(|board| format!(" {} |", yes_no(board.fits(report.code_bytes, run.model_bytes))))
                .collect();
            text.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} |{fits}\n",
                run.budget.label(),
                run.word_tags.count(),
                group_digits(run.model_bytes),
                percent(run.scores.f1),
                percent(run.scores.precision),
                percent(run.scores.recall),
                run.scores.oov_recall.map_or_else(|| "—".to_owned(), percent),
                run.train_seconds,
            ));
        }
        text.push_str(&format!(
            "\nCommands, from the workspace root, with `D={}`, in the order they ran (the unlimited model first: it \
             is the teacher of the others):\n\n```sh\n",
            report.data_dir
        ));
        let mut in_order: Vec<&FrontierRun> = report.runs_of(corpus).collect();
        in_order.sort_by_key(|run| run.budget != Budget::Unlimited);
        for run in in_order {
            text.push_str(&format!("{}\n{}\n", run.train_command, run.eval_command));
        }
        text.push_str("```\n");
    }
    text
}

/// The Markdown's sentence on what the tags cost the decoder, from
/// [`WordTags::m3_instructions_per_char`].
pub fn decode_cost_sentence() -> String {
    let four = WordTags::Bmes.m3_instructions_per_char();
    let six = WordTags::Bmes6.m3_instructions_per_char();
    format!(
        "6 tags buy accuracy with decode time: on the Cortex-M3 a 6-tag model costs about {:.1} times the decode \
         instructions of a 4-tag one ({} against {} instructions per character, measured with \
         `cargo xtask firmware measure`).",
        six as f64 / four.max(1) as f64,
        group_digits(six),
        group_digits(four)
    )
}

/// Per budget, the F1 of each tag set side by side, and what 6 tags add.
fn tag_comparison_table(report: &FrontierReport, corpus: Corpus) -> String {
    let f1 = |budget: Budget, tags: WordTags| {
        report.runs_of(corpus).find(|run| run.budget == budget && run.word_tags == tags).map(|run| run.scores.f1)
    };
    let budgets: BTreeSet<Budget> = report.runs_of(corpus).map(|run| run.budget).collect();
    let mut text = String::from("| budget | F1, 4 tags | F1, 6 tags | 6 − 4 |\n|---|---|---|---|\n");
    for budget in budgets {
        let (four, six) = (f1(budget, WordTags::Bmes), f1(budget, WordTags::Bmes6));
        let cell = |f1: Option<f64>| f1.map_or_else(|| "—".to_owned(), percent);
        let gain = match (four, six) {
            // `+ 0.0`: a difference that rounds to zero prints as +0.00, not -0.00.
            (Some(four), Some(six)) => format!("{:+.2}", (10_000.0 * (six - four)).round() / 100.0 + 0.0),
            _ => "—".to_owned(),
        };
        text.push_str(&format!("| {} | {} | {} | {gain} |\n", budget.label(), cell(four), cell(six)));
    }
    text
}

/// `frontier.json`: the runs with their scores (fractions, as `trainer eval
/// --json` reports them) and board fit.
pub fn render_json(report: &FrontierReport) -> serde_json::Value {
    let boards: Vec<serde_json::Value> = report
        .boards
        .iter()
        .map(|board| {
            serde_json::json!({
                "board": board.board.name(),
                "core": board.board.core(),
                "flash_bytes": board.flash_bytes,
                "model_room_bytes": board.model_room(report.code_bytes),
            })
        })
        .collect();
    let runs: Vec<serde_json::Value> = report
        .runs
        .iter()
        .map(|run| {
            let fits: serde_json::Map<String, serde_json::Value> = report
                .boards
                .iter()
                .map(|board| (board.board.name().to_owned(), board.fits(report.code_bytes, run.model_bytes).into()))
                .collect();
            serde_json::json!({
                "corpus": run.corpus.name(),
                "budget": run.budget.to_string(),
                "budget_bytes": run.budget.bytes(),
                "word_tags": run.word_tags.name(),
                "tags": run.word_tags.count(),
                "teacher": run.teacher,
                "distill": run.distill,
                "model_bytes": run.model_bytes,
                "precision": run.scores.precision,
                "recall": run.scores.recall,
                "f1": run.scores.f1,
                "oov_recall": run.scores.oov_recall,
                "train_seconds": run.train_seconds,
                "fits": fits,
                "train_command": run.train_command,
                "eval_command": run.eval_command,
            })
        })
        .collect();
    serde_json::json!({
        "generated": report.generated,
        "commit": report.commit,
        "command": report.command_line,
        "data_dir": report.data_dir,
        "quick": report.quick,
        "code_bytes": report.code_bytes,
        "m3_instructions_per_char": WordTags::ALL
            .iter()
            .map(|&tags| (tags.name().to_owned(), tags.m3_instructions_per_char().into()))
            .collect::<serde_json::Map<String, serde_json::Value>>(),
        "boards": boards,
        "runs": runs,
    })
}

/// A byte count on the plot's log axis: `64 KiB`, `16 MiB`.
fn axis_bytes(bytes: &f64) -> String {
    let bytes = bytes.round() as u64;
    if bytes >= MIB {
        format!("{:.0} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.0} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{bytes} B")
    }
}

/// The line colour of the `index`-th corpus.
fn series_color(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 4] =
        [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44), RGBColor(148, 103, 189)];
    COLORS[index % COLORS.len()]
}

/// `frontier.svg`: F1 (y) against model bytes (x, log scale), one line per
/// corpus with its points labelled by budget, and a vertical line where the
/// model room of the smallest board's flash ends.
///
/// The SVG backend writes text as `<text>` elements and plotters (without
/// its `ttf` feature) lays it out with estimated glyph widths, so no font
/// files are read.
pub fn render_svg(report: &FrontierReport) -> Result<String> {
    ensure!(!report.runs.is_empty(), "nothing to plot: no runs");
    let room = report.smallest_board().map(|board| (board, board.model_room(report.code_bytes)));
    let xs = report.runs.iter().map(|run| run.model_bytes as f64).chain(room.map(|(_, room)| room as f64));
    let (x_min, x_max) = xs.fold((f64::INFINITY, 0.0_f64), |(low, high), x| (low.min(x), high.max(x)));
    let f1s = report.runs.iter().map(|run| 100.0 * run.scores.f1);
    let (f1_min, f1_max) = f1s.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), f1| (low.min(f1), high.max(f1)));
    let y_range = (f1_min - 1.0).floor().max(0.0)..(f1_max + 1.0).ceil().min(100.0);
    let x_range = (x_min.max(1.0) / 1.6)..(x_max * 1.6);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        let caption = if report.quick {
            "Accuracy-size frontier (quick smoke test: not comparable)"
        } else {
            "Accuracy-size frontier: test F1 of the quantized model"
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 24))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(56)
            // Base 4: axis marks at 16 KiB, 64 KiB, 256 KiB, 1 MiB, ...
            .build_cartesian_2d(x_range.log_scale().base(4.0), y_range.clone())
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("model file bytes (log scale)")
            .y_desc("F1 (%)")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 16))
            // The log axis's light lines fall at uneven steps; its marks
            // (powers of 4) are enough. On F1, one light line per point.
            .x_max_light_lines(0)
            .y_max_light_lines(1)
            .x_label_formatter(&axis_bytes)
            .y_label_formatter(&|f1| format!("{f1:.0}"))
            .draw()
            .map_err(plot_error)?;

        if let Some((board, room)) = room {
            let limit = RGBColor(120, 120, 120);
            let label = format!(
                "{} flash {} B - code {} B = {} B for the model",
                board.board,
                group_digits(board.flash_bytes),
                group_digits(report.code_bytes),
                group_digits(room)
            );
            chart
                .draw_series(LineSeries::new(
                    [(room as f64, y_range.start), (room as f64, y_range.end)],
                    limit.stroke_width(2),
                ))
                .map_err(plot_error)?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], limit.stroke_width(2)));
        }

        for (index, corpus) in report.corpora().into_iter().enumerate() {
            let color = series_color(index);
            // Each budget is labelled once, at its first point (4 tags; the
            // unlimited model only has the 6-tag one).
            let mut labelled = BTreeSet::new();
            for tags in WordTags::ALL {
                let mut points: Vec<(f64, f64, Budget)> = report
                    .runs_of(corpus)
                    .filter(|run| run.word_tags == tags)
                    .map(|run| (run.model_bytes as f64, 100.0 * run.scores.f1, run.budget))
                    .collect();
                if points.is_empty() {
                    continue;
                }
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                let coordinates = points.iter().map(|&(x, y, _)| (x, y));
                let label = format!("{} test, {} ({})", corpus.title(), tags.label(), tags.name());
                // 6 tags: solid line, filled markers; 4 tags: dashed, hollow.
                let solid = tags == WordTags::Bmes6;
                let series = if solid {
                    chart.draw_series(LineSeries::new(coordinates, color.stroke_width(2)))
                } else {
                    chart.draw_series(DashedLineSeries::new(coordinates, 8, 5, color.stroke_width(2)))
                };
                series.map_err(plot_error)?.label(label).legend(move |(x, y)| {
                    let segment = |from: i32, to: i32| PathElement::new([(from, 0), (to, 0)], color.stroke_width(2));
                    // Two segments either way (one type): touching, or with a gap.
                    let gap = if solid { 0 } else { 4 };
                    EmptyElement::at((x, y)) + segment(0, 10 - gap / 2) + segment(10 + gap / 2, 20)
                });
                chart
                    .draw_series(points.iter().enumerate().map(|(index, &(x, y, budget))| {
                        let marker = if solid {
                            Circle::new((0, 0), 4, color.filled())
                        } else {
                            Circle::new((0, 0), 4, color.stroke_width(2))
                        };
                        // Labels alternate above and below their points, so
                        // that neighbours with nearly the same size (128K,
                        // 160K) do not print over each other.
                        let label_offset = if index % 2 == 0 { (6, -18) } else { (6, 6) };
                        let text = if labelled.insert(budget) { budget.to_string() } else { String::new() };
                        EmptyElement::at((x, y))
                            + marker
                            + Text::new(text, label_offset, ("sans-serif", 14).into_font().color(&color))
                    }))
                    .map_err(plot_error)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

/// plotters' errors borrow the backend's error type; keep their message.
fn plot_error(error: impl std::error::Error) -> anyhow::Error {
    anyhow::anyhow!("plotting: {error}")
}

/// The calendar date of a day counted from 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
pub fn civil_date(days_since_epoch: u64) -> (u64, u64, u64) {
    let shifted = days_since_epoch + 719_468; // days from 0000-03-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A Unix time as `2023-11-14 22:13 UTC`.
pub fn utc_timestamp(unix_seconds: u64) -> String {
    let (year, month, day) = civil_date(unix_seconds / 86_400);
    let minutes_of_day = unix_seconds % 86_400 / 60;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", minutes_of_day / 60, minutes_of_day % 60)
}

/// The first `count` non-blank lines of a corpus (one sentence per line).
pub fn first_sentences(corpus: &[u8], count: usize) -> Vec<u8> {
    let mut subset = Vec::new();
    for line in corpus.split(|&byte| byte == b'\n').filter(|line| !line.trim_ascii().is_empty()).take(count) {
        subset.extend_from_slice(line);
        subset.push(b'\n');
    }
    subset
}

/// What `cargo xtask frontier` was asked to do.
#[derive(Debug, Clone)]
pub struct FrontierOptions {
    /// Where the corpora are.
    pub data_dir: PathBuf,
    /// The budgets, in any order.
    pub budgets: Vec<Budget>,
    /// The corpora, in the order they run.
    pub corpora: Vec<Corpus>,
    /// Where frontier.md, .json and .svg go.
    pub out_dir: PathBuf,
    /// Firmware flash other than the model.
    pub code_bytes: u64,
    /// A smoke test: a small training set and one epoch.
    pub quick: bool,
    /// How this run was asked for, for the Markdown header.
    pub command_line: String,
}

/// A command line as the Markdown shows it: the data directory as `$D`,
/// paths inside the workspace relative to it.
fn shown_command(command: &Command, data_dir: &Path) -> String {
    let root = format!("{}/", workspace_root().display());
    process::display(command).replace(&data_dir.display().to_string(), "$D").replace(&root, "")
}

/// A path as the Markdown shows it (see [`shown_command`]).
fn shown_path(path: &Path, data_dir: &Path) -> String {
    let root = format!("{}/", workspace_root().display());
    path.display().to_string().replace(&data_dir.display().to_string(), "$D").replace(&root, "")
}

/// `git rev-parse` of HEAD, plus a note when the tree has uncommitted changes.
fn describe_commit() -> String {
    let git = |args: &[&str]| {
        // Read-only: no index refresh, which would take the index lock that
        // someone else's git command may be holding.
        process::stdout_of(Command::new("git").env("GIT_OPTIONAL_LOCKS", "0").current_dir(workspace_root()).args(args))
    };
    let Some(head) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return "unknown (not a git checkout)".to_owned();
    };
    match git(&["status", "--porcelain", "--untracked-files=no"]) {
        Some(changes) if !changes.is_empty() => format!("{head} (with uncommitted changes)"),
        _ => head,
    }
}

/// Runs every (corpus, budget) pair and writes the outputs.
pub fn run(options: &FrontierOptions) -> Result<FrontierReport> {
    let data_dir = &options.data_dir;
    if !data_dir.is_dir() {
        bail!(
            "no corpora: {} is not a directory; pass --data DIR or set {}",
            data_dir.display(),
            crate::measure::DATA_DIR_VARIABLE
        );
    }
    let mut missing = Vec::new();
    for corpus in &options.corpora {
        missing.extend(corpus.files(data_dir).missing().into_iter().map(|path| path.display().to_string()));
    }
    if !missing.is_empty() {
        bail!(
            "the corpora are not in {} (missing: {}); pass --data DIR or set {}",
            data_dir.display(),
            missing.join(", "),
            crate::measure::DATA_DIR_VARIABLE
        );
    }
    // Absolute and without `..`, so that the `D=` the Markdown shows reads
    // well and works from any directory.
    let data_dir = &fs::canonicalize(data_dir).with_context(|| format!("resolving {}", data_dir.display()))?;
    let boards = Board::ALL.into_iter().map(BoardFlash::of).collect::<Result<Vec<_>>>()?;
    let budgets = sorted_budgets(&options.budgets);
    ensure!(!budgets.is_empty() && !options.corpora.is_empty(), "no budgets or no corpora to run");
    let generated =
        utc_timestamp(SystemTime::now().duration_since(UNIX_EPOCH).context("the clock is before 1970")?.as_secs());

    // One build, then the binary itself: `cargo run` per step would check
    // the whole build graph every time.
    process::run(process::cargo().current_dir(workspace_root()).args(["build", "--release", "-p", "trainer"]))?;
    let runner =
        Runner { trainer: trainer_binary(), scratch: scratch_dir(options.quick), data_dir, quick: options.quick };
    fs::create_dir_all(&runner.scratch).with_context(|| format!("creating {}", runner.scratch.display()))?;

    // Every corpus's training text that is in the data directory (for
    // --quick, its first sentences), which every budgeted model distills.
    let mut available = Vec::new();
    for corpus in Corpus::ALL {
        let train = corpus.files(data_dir).train;
        if train.is_file() {
            let train = if options.quick { write_quick_subset(corpus, &train, &runner.scratch)? } else { train };
            available.push((corpus, train));
        }
    }

    let plan = run_plan(&budgets);
    let total = plan.len() * options.corpora.len();
    let mut runs = Vec::with_capacity(total);
    for &corpus in &options.corpora {
        let mut files = corpus.files(data_dir);
        if let Some((_, train)) = available.iter().find(|(other, _)| *other == corpus) {
            files.train = train.clone();
        }
        let distill = distill_sources(corpus, &available);
        let mut teacher = None;
        for &(budget, tags) in &plan {
            println!("\nfrontier: [{}/{total}] {} {} {}", runs.len() + 1, corpus.title(), budget.label(), tags.label());
            let distillation = match (budget, &teacher) {
                (Budget::Bytes(_), Some(teacher)) => Some((teacher, distill.as_slice())),
                _ => None,
            };
            let (run, model) = runner.train_and_evaluate(corpus, &files, budget, tags, distillation)?;
            println!(
                "frontier: {} {} {}: {} model bytes, F1 {}, OOV-R {}, trained in {:.1} s",
                corpus.title(),
                budget.label(),
                tags.label(),
                group_digits(run.model_bytes),
                percent(run.scores.f1),
                run.scores.oov_recall.map_or_else(|| "—".to_owned(), percent),
                run.train_seconds
            );
            if budget == Budget::Unlimited {
                teacher = Some(model);
            }
            runs.push(run);
        }
    }
    // As the outputs show them: corpus, budget, tags (the unlimited model,
    // trained first, last).
    runs.sort_by_key(|run| (run.corpus, run.budget, run.word_tags));

    let report = FrontierReport {
        runs,
        code_bytes: options.code_bytes,
        boards,
        generated,
        commit: describe_commit(),
        command_line: options.command_line.clone(),
        data_dir: data_dir.display().to_string(),
        quick: options.quick,
    };
    write_outputs(&report, &options.out_dir)?;
    Ok(report)
}

/// Writes the first [`QUICK_SENTENCES`] sentences of `train` into the
/// scratch directory (under target/, never into the repository).
fn write_quick_subset(corpus: Corpus, train: &Path, scratch: &Path) -> Result<PathBuf> {
    let text = fs::read(train).with_context(|| format!("reading {}", train.display()))?;
    let subset = scratch.join(format!("{}-train-first-{QUICK_SENTENCES}.txt", corpus.name()));
    fs::write(&subset, first_sentences(&text, QUICK_SENTENCES))
        .with_context(|| format!("writing {}", subset.display()))?;
    Ok(subset)
}

/// What every run shares: the trainer, where models go, the corpora.
struct Runner<'a> {
    trainer: PathBuf,
    scratch: PathBuf,
    data_dir: &'a Path,
    quick: bool,
}

impl Runner<'_> {
    /// Trains a model for `budget` with `tags` on `files` (distilling, with
    /// `distillation`, the texts through the teacher model), and scores it
    /// on their test set. Returns the run and the model file.
    fn train_and_evaluate(
        &self,
        corpus: Corpus,
        files: &CorpusFiles,
        budget: Budget,
        tags: WordTags,
        distillation: Option<(&PathBuf, &[PathBuf])>,
    ) -> Result<(FrontierRun, PathBuf)> {
        let name = match budget {
            Budget::Unlimited => format!("{}-{}.crfm", corpus.name(), budget.slug()),
            Budget::Bytes(_) => format!("{}-{}-{}.crfm", corpus.name(), budget.slug(), tags.name()),
        };
        let model = self.scratch.join(name);

        let mut train = Command::new(&self.trainer);
        train.current_dir(workspace_root()).arg("train").arg("--train").arg(&files.train);
        if let Some(dev) = &files.dev {
            train.arg("--dev").arg(dev);
        }
        if let Some(bytes) = budget.bytes() {
            // The reference model would double the time and is not reported
            // here; the teacher is the unlimited run's model.
            train.args(["--max-model-bytes", &bytes.to_string(), "--no-reference", "--word-tags", tags.name()]);
        }
        if let Some((teacher, texts)) = distillation {
            train.arg("--teacher").arg(teacher);
            for text in texts {
                train.arg("--distill").arg(text);
            }
        }
        if self.quick {
            train.args(["--epochs", "1"]);
        }
        train.arg("--out").arg(&model).arg("-q");
        let started = Instant::now();
        process::run(&mut train)?;
        let train_seconds = started.elapsed().as_secs_f64();
        let model_bytes =
            fs::metadata(&model).with_context(|| format!("reading the size of {}", model.display()))?.len();

        let mut eval = Command::new(&self.trainer);
        eval.current_dir(workspace_root()).arg("eval").arg("--model").arg(&model).arg("--gold").arg(&files.gold);
        if let Some(words) = &files.words {
            eval.arg("--words").arg(words);
        }
        eval.arg("--json");
        println!("$ {}", process::display(&eval));
        let output = eval.output().with_context(|| format!("could not start `{}`", process::display(&eval)))?;
        if !output.status.success() {
            bail!(
                "`{}` failed ({}):\n{}",
                process::display(&eval),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let scores = parse_scores(&String::from_utf8_lossy(&output.stdout))
            .with_context(|| format!("reading the scores of `{}`", process::display(&eval)))?;

        let shown = |path: &Path| shown_path(path, self.data_dir);
        let run = FrontierRun {
            corpus,
            budget,
            word_tags: tags,
            teacher: distillation.map(|(teacher, _)| shown(teacher)),
            distill: distillation.map(|(_, texts)| texts.iter().map(|text| shown(text)).collect()).unwrap_or_default(),
            model_bytes,
            scores,
            train_seconds,
            train_command: shown_command(&train, self.data_dir),
            eval_command: shown_command(&eval, self.data_dir),
        };
        Ok((run, model))
    }
}

/// Writes frontier.md, frontier.json and frontier.svg into `out_dir`.
pub fn write_outputs(report: &FrontierReport, out_dir: &Path) -> Result<()> {
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let json = serde_json::to_string_pretty(&render_json(report))? + "\n";
    let outputs =
        [("frontier.md", render_markdown(report)), ("frontier.json", json), ("frontier.svg", render_svg(report)?)];
    for (name, contents) in outputs {
        let path = out_dir.join(name);
        fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        println!("frontier: wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_parse_binary_sizes_and_unlimited() {
        assert_eq!("32K".parse::<Budget>().unwrap(), Budget::Bytes(32_768));
        assert_eq!("160k".parse::<Budget>().unwrap(), Budget::Bytes(163_840));
        assert_eq!("1M".parse::<Budget>().unwrap(), Budget::Bytes(1_048_576));
        assert_eq!("512KiB".parse::<Budget>().unwrap(), Budget::Bytes(524_288));
        assert_eq!("163841".parse::<Budget>().unwrap(), Budget::Bytes(163_841));
        assert_eq!("Unlimited".parse::<Budget>().unwrap(), Budget::Unlimited);
        for bad in ["", "0", "12X", "K", "-5K", "1.5M"] {
            assert!(bad.parse::<Budget>().is_err(), "`{bad}` should not parse");
        }
    }

    #[test]
    fn budgets_print_as_they_are_spelled_on_the_command_line() {
        let spelled: Vec<String> = DEFAULT_BUDGETS.iter().map(Budget::to_string).collect();
        assert_eq!(spelled.join(","), DEFAULT_BUDGET_LIST);
        for budget in DEFAULT_BUDGETS.into_iter().chain([Budget::Bytes(163_841)]) {
            assert_eq!(budget.to_string().parse::<Budget>().unwrap(), budget);
        }
        assert_eq!(Budget::Bytes(MIB).label(), "1 MiB");
        assert_eq!(Budget::Bytes(160 * KIB).label(), "160 KiB");
        assert_eq!(Budget::Bytes(163_841).label(), "163841 B");
        assert_eq!(Budget::Bytes(MIB).slug(), "1m");
        assert_eq!(Budget::Unlimited.slug(), "unlimited");
    }

    #[test]
    fn budgets_run_smallest_first_each_once_unlimited_last() {
        let asked = [Budget::Unlimited, Budget::Bytes(160 * KIB), Budget::Bytes(32 * KIB), Budget::Bytes(160 * KIB)];
        assert_eq!(sorted_budgets(&asked), [Budget::Bytes(32 * KIB), Budget::Bytes(160 * KIB), Budget::Unlimited]);
    }

    #[test]
    fn sizes_print_in_the_largest_unit_that_divides_them() {
        assert_eq!(format_size(4 * MIB), "4 MiB");
        assert_eq!(format_size(1536 * KIB), "1536 KiB");
        assert_eq!(format_size(1000), "1000 B");
        assert_eq!(group_digits(131_304), "131,304");
        assert_eq!(group_digits(25_166_186), "25,166,186");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(0), "0");
    }

    #[test]
    fn flash_size_comes_from_the_linker_script() {
        let script =
            "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 64K\n}\n";
        assert_eq!(flash_length(script).unwrap(), 262_144);
        assert_eq!(flash_length("FLASH (rx) : ORIGIN = 0, LENGTH = 0x40000").unwrap(), 262_144);
        assert!(flash_length("RAM : ORIGIN = 0x20000000, LENGTH = 64K").is_err());
        // The boards' own scripts.
        assert_eq!(BoardFlash::of(Board::Lm3s6965evb).unwrap().flash_bytes, 256 * KIB);
        assert_eq!(BoardFlash::of(Board::Mps2An386).unwrap().flash_bytes, 4 * MIB);
    }

    #[test]
    fn a_model_fits_when_code_plus_model_is_at_most_the_flash() {
        let m3 = BoardFlash { board: Board::Lm3s6965evb, flash_bytes: 262_144 };
        assert_eq!(m3.model_room(41_000), 221_144);
        assert!(m3.fits(41_000, 221_144));
        assert!(!m3.fits(41_000, 221_145));
        assert!(m3.fits(41_000, 131_304));
        assert_eq!(m3.model_room(300_000), 0);
        assert!(!m3.fits(u64::MAX, 1));
    }

    const EVAL_JSON: &str = r#"{
      "counts": { "lines": 1944, "true_words": 104372 },
      "f1": 0.8184131014830336,
      "gold": "/data/icwb2/pku_test_gold.utf8",
      "iv_recall": 0.8316593131773173,
      "model": "target/frontier/quick/pku-32k.crfm",
      "oov_rate": 0.057544168934196914,
      "oov_recall": 0.6531801531801531,
      "precision": 0.8154588085341146,
      "recall": 0.8213888782432069,
      "seconds": 0.048463022,
      "words": "/data/icwb2/pku_training_words.utf8"
    }"#;

    #[test]
    fn scores_are_read_from_eval_json() {
        let scores = parse_scores(EVAL_JSON).unwrap();
        assert_eq!(scores.f1, 0.8184131014830336);
        assert_eq!(scores.precision, 0.8154588085341146);
        assert_eq!(scores.recall, 0.8213888782432069);
        assert_eq!(scores.oov_recall, Some(0.6531801531801531));
        let without_words = parse_scores(r#"{"precision": 0.9, "recall": 0.8, "f1": 0.85, "oov_recall": null}"#);
        assert_eq!(without_words.unwrap().oov_recall, None);
        assert!(parse_scores(r#"{"precision": 0.9, "recall": 0.8}"#).is_err());
        assert!(parse_scores("F1 81.84").is_err());
    }

    fn sample_report() -> FrontierReport {
        let run = |corpus: Corpus, budget: Budget, word_tags: WordTags, model_bytes, f1: f64, oov_recall| {
            let name = format!("{}-{}-{}.crfm", corpus.name(), budget.slug(), word_tags.name());
            let distilled = budget != Budget::Unlimited;
            FrontierRun {
                corpus,
                budget,
                word_tags,
                teacher: distilled.then(|| format!("{}-unlimited.crfm", corpus.name())),
                distill: if distilled { vec!["$D/a.txt".to_owned(), "$D/b.txt".to_owned()] } else { Vec::new() },
                model_bytes,
                scores: Scores { precision: f1 - 0.004, recall: f1 + 0.004, f1, oov_recall },
                train_seconds: 12.34,
                train_command: format!("target/release/trainer train --word-tags {} --out {name}", word_tags.name()),
                eval_command: format!("target/release/trainer eval --model {name} --json"),
            }
        };
        FrontierReport {
            runs: vec![
                run(Corpus::Pku, Budget::Bytes(160 * KIB), WordTags::Bmes, 131_304, 0.9438, Some(0.751)),
                run(Corpus::Pku, Budget::Bytes(160 * KIB), WordTags::Bmes6, 131_310, 0.9458, Some(0.761)),
                run(Corpus::Pku, Budget::Unlimited, WordTags::Bmes6, 25_166_186, 0.9504, Some(0.805)),
                run(Corpus::Ctb6, Budget::Bytes(256 * KIB), WordTags::Bmes, 262_184, 0.9301, None),
            ],
            code_bytes: 41_000,
            boards: vec![
                BoardFlash { board: Board::Lm3s6965evb, flash_bytes: 256 * KIB },
                BoardFlash { board: Board::Mps2An386, flash_bytes: 4 * MIB },
            ],
            generated: "2026-12-01 19:04 UTC".to_owned(),
            commit: "0f889af".to_owned(),
            command_line: "cargo xtask frontier".to_owned(),
            data_dir: "/data".to_owned(),
            quick: false,
        }
    }

    #[test]
    fn markdown_has_a_table_per_corpus_with_tags_fit_and_the_commands() {
        let report = sample_report();
        let markdown = render_markdown(&report);
        assert!(markdown.contains("Written by `cargo xtask frontier` (xtask/src/frontier.rs) on 2026-12-01 19:04 UTC"));
        assert!(markdown.contains("lm3s6965evb (Cortex-M3, 262,144 B flash: room for a model of 221,144 B)"));
        assert!(!markdown.contains("Quick smoke test"));
        assert!(markdown.contains(&decode_cost_sentence()));
        let pku = markdown.find("\n## PKU\n").unwrap();
        let ctb6 = markdown.find("\n## CTB6\n").unwrap();
        assert!(pku < ctb6);
        // A row per (budget, tag set).
        assert!(markdown.contains(
            "| budget | tags | model bytes | F1 | P | R | OOV-R | train s | fits M3 (lm3s6965evb) | fits M4 (mps2-an386) |\n\
             |---|---|---|---|---|---|---|---|---|---|\n\
             | 160 KiB | 4 | 131,304 | 94.38 | 93.98 | 94.78 | 75.10 | 12.3 | yes | yes |\n\
             | 160 KiB | 6 | 131,310 | 94.58 | 94.18 | 94.98 | 76.10 | 12.3 | yes | yes |\n\
             | unlimited | 6 | 25,166,186 | 95.04 | 94.64 | 95.44 | 80.50 | 12.3 | no | no |\n"
        ));
        // The tag sets side by side; a budget without one of them shows a dash.
        assert!(markdown.contains(
            "| budget | F1, 4 tags | F1, 6 tags | 6 − 4 |\n|---|---|---|---|\n\
             | 160 KiB | 94.38 | 94.58 | +0.20 |\n| unlimited | — | 95.04 | — |\n"
        ));
        // 41,000 + 262,184 B is over 256 KiB: the M3 does not take it, the M4 does.
        assert_eq!(
            tag_comparison_table(
                &FrontierReport {
                    runs: vec![
                        FrontierRun { scores: Scores { f1: 0.9, ..report.runs[0].scores }, ..report.runs[0].clone() },
                        FrontierRun {
                            scores: Scores { f1: 0.899_999, ..report.runs[1].scores },
                            ..report.runs[1].clone()
                        },
                    ],
                    ..report.clone()
                },
                Corpus::Pku
            )
            .lines()
            .last(),
            Some("| 160 KiB | 90.00 | 90.00 | +0.00 |")
        );
        assert!(markdown.contains("| 256 KiB | 4 | 262,184 | 93.01 | 92.61 | 93.41 | — | 12.3 | no | yes |\n"));
        assert!(markdown.contains(
            "the teacher of the others):\n\n```sh\n\
             target/release/trainer train --word-tags bmes6 --out pku-unlimited-bmes6.crfm\n\
             target/release/trainer eval --model pku-unlimited-bmes6.crfm --json\n\
             target/release/trainer train --word-tags bmes --out pku-160k-bmes.crfm\n\
             target/release/trainer eval --model pku-160k-bmes.crfm --json\n\
             target/release/trainer train --word-tags bmes6 --out pku-160k-bmes6.crfm\n"
        ));
        let quick = render_markdown(&FrontierReport { quick: true, ..sample_report() });
        assert!(quick.contains("**Quick smoke test**"));
    }

    #[test]
    fn the_decode_cost_comes_from_the_measured_instruction_counts() {
        assert_eq!(WordTags::Bmes.m3_instructions_per_char(), 2_451);
        assert_eq!(WordTags::Bmes6.m3_instructions_per_char(), 4_032);
        let sentence = decode_cost_sentence();
        assert!(sentence.contains("about 1.6 times"), "{sentence}");
        assert!(sentence.contains(
            "(4,032 against 2,451 instructions per character, measured with `cargo xtask firmware measure`)"
        ));
    }

    #[test]
    fn the_unlimited_teacher_runs_first_then_each_budget_with_both_tag_sets() {
        let plan = run_plan(&[Budget::Bytes(160 * KIB), Budget::Unlimited, Budget::Bytes(32 * KIB)]);
        assert_eq!(
            plan,
            [
                (Budget::Unlimited, WordTags::Bmes6),
                (Budget::Bytes(32 * KIB), WordTags::Bmes),
                (Budget::Bytes(32 * KIB), WordTags::Bmes6),
                (Budget::Bytes(160 * KIB), WordTags::Bmes),
                (Budget::Bytes(160 * KIB), WordTags::Bmes6),
            ]
        );
        // Without `unlimited` among the budgets it still runs: it is the teacher.
        assert_eq!(run_plan(&[Budget::Bytes(MIB)])[0], (Budget::Unlimited, WordTags::UNLIMITED));
        assert_eq!(run_plan(&DEFAULT_BUDGETS).len(), 1 + 2 * 8);
        assert_eq!(WordTags::ALL.map(WordTags::name), ["bmes", "bmes6"]);
    }

    #[test]
    fn a_corpus_distills_its_own_text_first_then_the_others_present() {
        let pku = PathBuf::from("/d/pku.txt");
        let ctb6 = PathBuf::from("/d/ctb6.txt");
        let both = [(Corpus::Pku, pku.clone()), (Corpus::Ctb6, ctb6.clone())];
        assert_eq!(distill_sources(Corpus::Pku, &both), [pku.clone(), ctb6.clone()]);
        assert_eq!(distill_sources(Corpus::Ctb6, &both), [ctb6.clone(), pku.clone()]);
        // PKU alone in the data directory.
        assert_eq!(distill_sources(Corpus::Pku, &[(Corpus::Pku, pku.clone())]), [pku]);
    }

    #[test]
    fn json_lists_every_run_with_its_tags_distillation_and_fit() {
        let json = render_json(&sample_report());
        assert_eq!(json["code_bytes"], 41_000);
        assert_eq!(json["boards"][0]["model_room_bytes"], 221_144);
        assert_eq!(json["m3_instructions_per_char"]["bmes"], 2_451);
        assert_eq!(json["m3_instructions_per_char"]["bmes6"], 4_032);
        let runs = json["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[0]["budget"], "160K");
        assert_eq!(runs[0]["budget_bytes"], 163_840);
        assert_eq!(runs[0]["word_tags"], "bmes");
        assert_eq!(runs[0]["tags"], 4);
        assert_eq!(runs[0]["teacher"], "pku-unlimited.crfm");
        assert_eq!(runs[0]["distill"], serde_json::json!(["$D/a.txt", "$D/b.txt"]));
        assert_eq!(runs[0]["train_command"], "target/release/trainer train --word-tags bmes --out pku-160k-bmes.crfm");
        assert_eq!(runs[0]["fits"]["lm3s6965evb"], true);
        assert_eq!(runs[1]["word_tags"], "bmes6");
        assert_eq!(runs[2]["budget_bytes"], serde_json::Value::Null);
        assert_eq!(runs[2]["teacher"], serde_json::Value::Null);
        assert_eq!(runs[2]["distill"], serde_json::json!([]));
        assert_eq!(runs[2]["fits"]["mps2-an386"], false);
        assert_eq!(runs[3]["corpus"], "ctb6");
        assert_eq!(runs[3]["oov_recall"], serde_json::Value::Null);
        assert_eq!(runs[3]["fits"]["lm3s6965evb"], false);
    }

    /// The contents of the SVG's `<text>` elements, trimmed.
    fn svg_texts(svg: &str) -> Vec<&str> {
        svg.split("<text")
            .skip(1)
            .filter_map(|element| Some(element.split_once('>')?.1.split_once("</text>")?.0.trim()))
            .collect()
    }

    #[test]
    fn the_plot_has_a_line_per_corpus_and_tag_set_labelled_points_and_the_flash_limit() {
        let svg = render_svg(&sample_report()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.trim_end().ends_with("</svg>"));
        let texts = svg_texts(&svg);
        for expected in [
            "Accuracy-size frontier: test F1 of the quantized model",
            "PKU test, 4 tags (bmes)",
            "PKU test, 6 tags (bmes6)",
            "CTB6 test, 4 tags (bmes)",
            "lm3s6965evb flash 262,144 B - code 41,000 B = 221,144 B for the model",
            // The points' budget labels.
            "160K",
            "unlimited",
            "256K",
            // Log axis with base 4: 256 KiB and 1 MiB are marks.
            "256 KiB",
            "1 MiB",
            "F1 (%)",
        ] {
            assert!(texts.contains(&expected), "no text `{expected}` in {texts:?}");
        }
        // CTB6 has no 6-tag run here: no empty series in the legend.
        assert!(!texts.contains(&"CTB6 test, 6 tags (bmes6)"));
        // Each budget is labelled once per corpus, though PKU 160K has two points.
        assert_eq!(texts.iter().filter(|text| **text == "160K").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 4, "one marker per run");
        assert!(render_svg(&FrontierReport { runs: Vec::new(), ..sample_report() }).is_err());
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_timestamp(4_107_542_399), "2100-02-28 23:59 UTC");
    }

    #[test]
    fn the_quick_subset_keeps_the_first_non_blank_lines() {
        let corpus = "一 二\r\n\n三  四\n\n五\n六\n".as_bytes();
        assert_eq!(first_sentences(corpus, 3), "一 二\r\n三  四\n五\n".as_bytes());
        assert_eq!(first_sentences(corpus, 10), "一 二\r\n三  四\n五\n六\n".as_bytes());
        assert!(first_sentences(b"", 5).is_empty());
    }
}

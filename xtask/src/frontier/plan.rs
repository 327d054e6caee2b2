//! What a frontier run trains: byte budgets, tag sets, corpora and their
//! files, and which board's flash a model fits.

use std::{
    collections::BTreeSet,
    fmt, fs,
    path::{Path, PathBuf},
    str::FromStr,
};

use anyhow::{bail, ensure, Context, Result};

use crate::{firmware::Board, firmware_dir};

/// A kibibyte.
pub(crate) const KIB: u64 = 1024;
/// A mebibyte.
pub(crate) const MIB: u64 = 1024 * KIB;

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

    /// Short column title: `M3` for lm3s6965evb, `M3 AN385` for mps2-an385, `M4` for mps2-an386, `M33` for mps2-an505, `F405` for netduinoplus2, `M0` for microbit.
    pub(crate) fn core_tag(self) -> &'static str {
        match self.board {
            Board::Lm3s6965evb => "M3",
            Board::Mps2An385 => "M3 AN385",
            Board::Mps2An386 => "M4",
            Board::Mps2An505 => "M33",
            Board::Netduinoplus2 => "F405",
            Board::Microbit => "M0",
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
}

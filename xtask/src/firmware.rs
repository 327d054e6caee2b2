//! The boards, and building, linting and measuring the firmware for one.

use std::{
    fmt, fs,
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, PoisonError},
};

use anyhow::{Context, Result};
use decoder::internal::format;
use object::{Object, ObjectSection, ObjectSymbol, SectionFlags, SectionKind};

use crate::{firmware_dir, process, toolchain::Toolchain};

/// A board the firmware runs on (each one a QEMU machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Board {
    /// TI Stellaris LM3S6965 evaluation board: Cortex-M3, 256K flash, 64K RAM.
    #[value(name = "lm3s6965evb")]
    Lm3s6965evb,
    /// Arm MPS2 with the AN385 image: Cortex-M3, 4M code and 4M data RAM (the AN386's map and UART).
    #[value(name = "mps2-an385")]
    Mps2An385,
    /// Arm MPS2 with the AN386 image: Cortex-M4F, 4M code and 4M data RAM.
    #[value(name = "mps2-an386")]
    Mps2An386,
    /// Arm MPS2 with the AN505 image: Cortex-M33 (Armv8-M), 4M code and 4M data RAM.
    #[value(name = "mps2-an505")]
    Mps2An505,
    /// Netduino Plus 2 (STM32F405): Cortex-M4F, 1M flash, 128K RAM (192K with the CCM).
    #[value(name = "netduinoplus2")]
    Netduinoplus2,
    /// BBC micro:bit v1 (nRF51822): Cortex-M0 (Armv6-M), 256K flash, 16K RAM.
    #[value(name = "microbit")]
    Microbit,
}

impl Board {
    /// Every board, in the order the checks run them.
    pub const ALL: [Board; 6] = [
        Board::Lm3s6965evb,
        Board::Mps2An385,
        Board::Mps2An386,
        Board::Mps2An505,
        Board::Netduinoplus2,
        Board::Microbit,
    ];

    /// The board's name, which is also its QEMU machine (`-M`).
    pub fn name(self) -> &'static str {
        match self {
            Board::Lm3s6965evb => "lm3s6965evb",
            Board::Mps2An385 => "mps2-an385",
            Board::Mps2An386 => "mps2-an386",
            Board::Mps2An505 => "mps2-an505",
            Board::Netduinoplus2 => "netduinoplus2",
            Board::Microbit => "microbit",
        }
    }

    /// The processor core on the board.
    pub fn core(self) -> &'static str {
        match self {
            Board::Lm3s6965evb => "Cortex-M3",
            Board::Mps2An385 => "Cortex-M3",
            Board::Mps2An386 => "Cortex-M4",
            Board::Mps2An505 => "Cortex-M33",
            Board::Netduinoplus2 => "Cortex-M4",
            Board::Microbit => "Cortex-M0",
        }
    }

    /// The Rust target the firmware is compiled for on this board.
    pub fn target(self) -> &'static str {
        match self {
            Board::Lm3s6965evb => "thumbv7m-none-eabi",
            Board::Mps2An385 => "thumbv7m-none-eabi",
            Board::Mps2An386 => "thumbv7em-none-eabihf",
            Board::Mps2An505 => "thumbv8m.main-none-eabihf",
            Board::Netduinoplus2 => "thumbv7em-none-eabihf",
            Board::Microbit => "thumbv6m-none-eabi",
        }
    }

    /// The firmware's cargo feature that selects this board.
    pub fn feature(self) -> String {
        format!("board-{}", self.name())
    }
}

/// Where RAM starts, or below it (mps2-an505: 0x38000000), in every
/// board's memory map (firmware/boards/*/memory.x); flash lies below it.
const RAM_ORIGIN: u64 = 0x2000_0000;

impl fmt::Display for Board {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Whether cargo's own output is shown while building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CargoOutput {
    /// Show it as it comes, on stderr (interactive use).
    Show,
    /// Keep it, and show it only in the error if the build fails (tests).
    OnFailure,
}

/// The firmware feature of the defmt logger that QEMU runs use (semihosting).
pub const QEMU_LOGGER_FEATURE: &str = "logger-semihosting";
/// The environment variable that names the model file the firmware embeds.
pub const MODEL_VARIABLE: &str = "CRF_MODEL";
/// The environment variable naming the word list the firmware embeds as user
/// dictionary (read by firmware/build.rs and by `trainer segment`).
pub const USER_DICT_VARIABLE: &str = "CRF_USER_DICT";
/// The environment variable that gives the `line-rate` build its baud rate.
pub const BAUD_VARIABLE: &str = "CRF_BAUD";
/// The environment variable naming the input that the `line-input-flash`
/// build embeds and the `line-input-semihosting` build reads from the host
/// (read by firmware/build.rs).
pub const LINE_INPUT_VARIABLE: &str = "CRF_LINE_INPUT";

/// One firmware image to build.
#[derive(Debug, Clone)]
pub struct FirmwareBuild {
    /// The board it is for.
    pub board: Board,
    /// Extra cargo features of the firmware, e.g. `selftest-panic`. Unless
    /// one of them is a `logger-*` feature, the QEMU logger is added.
    pub features: Vec<String>,
    /// The model file to embed (`CRF_MODEL`); `None`: the committed
    /// default, `models/default.crfm`.
    pub model: Option<PathBuf>,
    /// The word list to embed as user dictionary (`CRF_USER_DICT`); `None`:
    /// no dictionary.
    pub user_dict: Option<PathBuf>,
    /// The baud rate of a `line-rate` build (`CRF_BAUD`); `None`: 115200.
    pub baud: Option<u32>,
    /// The input file a `line-input-flash` build embeds, or a
    /// `line-input-semihosting` build reads (`CRF_LINE_INPUT`).
    pub line_input: Option<PathBuf>,
}

impl FirmwareBuild {
    /// The plain firmware for `board`.
    pub fn new(board: Board) -> Self {
        Self { board, features: Vec::new(), model: None, user_dict: None, baud: None, line_input: None }
    }

    /// The firmware for `board` with the extra `features`.
    pub fn with_features(board: Board, features: &[&str]) -> Self {
        let features = features.iter().map(|&feature| feature.to_owned()).collect();
        Self { board, features, model: None, user_dict: None, baud: None, line_input: None }
    }

    /// This image with `model` embedded instead of the default model.
    pub fn with_model(mut self, model: impl Into<PathBuf>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// This image with `input` as the line-rate input (embedded by the
    /// `line-input-flash` build, read at run time by `line-input-semihosting`).
    pub fn with_line_input(mut self, input: impl Into<PathBuf>) -> Self {
        self.line_input = Some(input.into());
        self
    }

    /// This image built for a serial line of `baud` bits per second.
    pub fn with_baud(mut self, baud: u32) -> Self {
        self.baud = Some(baud);
        self
    }

    /// The name of this image: board, features, a non-default model's file
    /// stem, an embedded line input's file stem and a baud rate, e.g.
    /// `firmware-lm3s6965evb+selftest-panic`, `firmware-mps2-an386@corrupt`,
    /// `firmware-lm3s6965evb+line-rate-115200bd` or
    /// `firmware-mps2-an386+line-input-flash=pku_test-115200bd`.
    pub fn image_name(&self) -> String {
        let mut name = format!("firmware-{}", self.board);
        for feature in &self.features {
            name.push('+');
            name.push_str(feature);
        }
        if let Some(model) = &self.model {
            name.push('@');
            name.push_str(&model.file_stem().unwrap_or(model.as_os_str()).to_string_lossy());
        }
        if let Some(list) = &self.user_dict {
            name.push('%');
            name.push_str(&list.file_stem().unwrap_or(list.as_os_str()).to_string_lossy());
        }
        if let Some(input) = &self.line_input {
            name.push('=');
            name.push_str(&input.file_stem().unwrap_or(input.as_os_str()).to_string_lossy());
        }
        if let Some(baud) = self.baud {
            name.push_str(&format!("-{baud}bd"));
        }
        name
    }

    /// The cargo features: the board's, the extra ones, and the QEMU logger
    /// unless the extra ones choose a logger.
    pub fn all_features(&self) -> String {
        let mut features = vec![self.board.feature()];
        features.extend(self.features.iter().cloned());
        if !self.features.iter().any(|feature| feature.starts_with("logger-")) {
            features.push(QEMU_LOGGER_FEATURE.to_owned());
        }
        if self.model.as_deref().is_some_and(model_has_neural_encoder)
            && !self.features.iter().any(|f| f == NEURAL_FEATURE)
        {
            features.push(NEURAL_FEATURE.to_owned());
        }
        if self.model.as_deref().is_some_and(model_is_token_level) && !self.features.iter().any(|f| f == TOKENS_FEATURE)
        {
            features.push(TOKENS_FEATURE.to_owned());
        }
        features.join(",")
    }
}

/// The firmware feature that compiles the decoder's neural emission model in.
pub const NEURAL_FEATURE: &str = "neural";

/// The firmware feature that compiles the decoder's token-level models in (and the firmware's CoNLL mode).
pub const TOKENS_FEATURE: &str = "tokens";

/// The format version of the model file `model` (magic, then the version as a postcard varint, one byte
/// below 128); `None` for a file that is not a model (left for the firmware to refuse).
fn model_version(model: &Path) -> Option<u16> {
    let bytes = fs::read(model).ok()?;
    let version = *bytes.strip_prefix(&format::MAGIC)?.first()?;
    (version < 128).then_some(u16::from(version))
}

/// Does `model` carry the neural encoder: a neural model (format version 5) or a hybrid one (version 7,
/// the encoder plus an n-gram table)? Only those need the firmware's `neural` feature; an unreadable file
/// is left for the firmware to refuse.
pub fn model_has_neural_encoder(model: &Path) -> bool {
    matches!(model_version(model), Some(format::NEURAL_FORMAT_VERSION | format::HYBRID_FORMAT_VERSION))
}

/// Is `model` a token-level model (format version 6, CoNLL columns in, one tag per token out)? Those
/// need the firmware's `tokens` feature, which makes the firmware label CoNLL lines. A version-8 model
/// (token-level with a mention list) is not one here: a device cannot compute the mention columns, so
/// its firmware is built without `tokens` and refuses the model at boot (`UnsupportedVersion`).
pub fn model_is_token_level(model: &Path) -> bool {
    model_version(model) == Some(format::TOKEN_FORMAT_VERSION)
}

/// The model the firmware embeds when `CRF_MODEL` is not set.
pub fn default_model() -> PathBuf {
    crate::workspace_root().join("models").join("default.crfm")
}

/// The firmware workspace's own target directory (`firmware/target`).
fn firmware_target_dir() -> PathBuf {
    firmware_dir().join("target")
}

/// cargo builds every feature combination into the same file name, so a
/// build and the copy of its output to an image-specific name must not
/// interleave with another build of this process (tests build in parallel).
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Builds the image (release profile) and returns the path of its ELF file,
/// copied to a name of its own so that other feature builds leave it intact.
pub fn build(toolchain: &Toolchain, image: &FirmwareBuild, output: CargoOutput) -> Result<PathBuf> {
    let board = image.board;
    let mut command = toolchain.thumb_cargo("build", board.target());
    command
        .current_dir(firmware_dir())
        .args(["--release", "--no-default-features", "--features"])
        .arg(image.all_features())
        // Where the ELF is looked for below, whatever CARGO_TARGET_DIR the caller set for the host build.
        .arg("--target-dir")
        .arg(firmware_target_dir());
    match &image.model {
        // An absolute path: build.rs resolves relative ones from firmware/.
        Some(model) => command.env(MODEL_VARIABLE, std::path::absolute(model)?),
        None => command.env_remove(MODEL_VARIABLE),
    };
    match &image.user_dict {
        Some(list) => command.env(USER_DICT_VARIABLE, std::path::absolute(list)?),
        None => command.env_remove(USER_DICT_VARIABLE),
    };
    match image.baud {
        Some(baud) => command.env(BAUD_VARIABLE, baud.to_string()),
        None => command.env_remove(BAUD_VARIABLE),
    };
    match &image.line_input {
        Some(input) => command.env(LINE_INPUT_VARIABLE, std::path::absolute(input)?),
        None => command.env_remove(LINE_INPUT_VARIABLE),
    };

    let _guard = BUILD_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    match output {
        // Cargo reports on stderr; its stdout (build-script and linker
        // chatter) joins it there, so that a run's stdout is the firmware's.
        CargoOutput::Show => process::run(command.stdout(std::io::stderr()))?,
        CargoOutput::OnFailure => process::run_quietly(&mut command)?,
    }
    let release_dir = firmware_target_dir().join(board.target()).join("release");
    let elf = release_dir.join(image.image_name());
    fs::copy(release_dir.join("firmware"), &elf)
        .with_context(|| format!("copying the firmware ELF to {}", elf.display()))?;
    Ok(elf)
}

/// Lints the firmware `image` with clippy, warnings denied.
pub fn clippy(toolchain: &Toolchain, image: &FirmwareBuild) -> Result<()> {
    let mut command = toolchain.thumb_clippy(image.board.target());
    command
        .current_dir(firmware_dir())
        .args(["--release", "--no-default-features", "--features"])
        .arg(image.all_features())
        .args(["--", "-D", "warnings"]);
    process::run(&mut command)
}

/// `cargo fmt --all --check` on the firmware workspace.
pub fn fmt_check_command() -> Command {
    let mut command = process::cargo();
    command.args(["fmt", "--all", "--check", "--manifest-path"]).arg(firmware_dir().join("Cargo.toml"));
    command
}

/// How much of the board's memories an image takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    /// Bytes stored in flash: code, constants (the model among them) and the
    /// initial values of `.data`.
    pub flash: u64,
    /// Bytes of flash taken by the embedded model (the `MODEL_IMAGE` symbol).
    pub model: u64,
    /// Bytes of RAM taken statically (`.data`, `.bss`, `.uninit`); the stack
    /// grows down from the top of RAM into what is left.
    pub ram: u64,
}

impl MemoryUse {
    /// Flash bytes other than the model: code, other constants, `.data`.
    pub fn code(&self) -> u64 {
        self.flash - self.model
    }
}

impl fmt::Display for MemoryUse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "flash {} bytes (code {} + model {}), static RAM {} bytes",
            self.flash,
            self.code(),
            self.model,
            self.ram
        )
    }
}

/// The part of the name of the firmware's static that holds the model
/// (firmware/src/model_image.rs); the symbol itself is mangled.
const MODEL_SYMBOL: &str = "MODEL_IMAGE";

/// Measures the flash and static RAM taken by the firmware ELF `elf`.
pub fn memory_use(elf: &Path) -> Result<MemoryUse> {
    let data = fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let file = object::File::parse(&*data).with_context(|| format!("parsing {}", elf.display()))?;
    let mut usage = MemoryUse { flash: 0, model: 0, ram: 0 };
    for section in file.sections() {
        let allocated = match section.flags() {
            SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_ALLOC) != 0,
            _ => false,
        };
        if !allocated || section.size() == 0 {
            continue;
        }
        let in_ram = section.address() >= RAM_ORIGIN;
        let has_file_contents =
            !matches!(section.kind(), SectionKind::UninitializedData | SectionKind::UninitializedTls);
        if in_ram {
            usage.ram += section.size();
        }
        // Code and constants live in flash, and so do the initial values of
        // RAM sections that have any (.data), copied to RAM at reset.
        if !in_ram || has_file_contents {
            usage.flash += section.size();
        }
    }
    usage.model = file
        .symbols()
        .filter(|symbol| symbol.name().is_ok_and(|name| name.contains(MODEL_SYMBOL)))
        .map(|symbol| symbol.size())
        .max()
        .unwrap_or(0);
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_board_has_a_memory_map_and_a_firmware_feature() {
        let manifest = fs::read_to_string(firmware_dir().join("Cargo.toml")).unwrap();
        for board in Board::ALL {
            let memory_x = firmware_dir().join("boards").join(board.name()).join("memory.x");
            assert!(memory_x.is_file(), "missing {}", memory_x.display());
            let feature = format!("{} = []", board.feature());
            assert!(manifest.contains(&feature), "firmware/Cargo.toml lacks `{feature}`");
        }
    }

    #[test]
    fn image_names_tell_board_and_features() {
        assert_eq!(FirmwareBuild::new(Board::Mps2An386).image_name(), "firmware-mps2-an386");
        assert_eq!(
            FirmwareBuild::with_features(Board::Lm3s6965evb, &["selftest-panic"]).image_name(),
            "firmware-lm3s6965evb+selftest-panic"
        );
        assert_eq!(
            FirmwareBuild::new(Board::Lm3s6965evb).with_model("/tmp/x/corrupt.crfm").image_name(),
            "firmware-lm3s6965evb@corrupt"
        );
        assert_eq!(
            FirmwareBuild::with_features(Board::Lm3s6965evb, &["line-rate"]).with_baud(9600).image_name(),
            "firmware-lm3s6965evb+line-rate-9600bd"
        );
        assert_eq!(
            FirmwareBuild::with_features(Board::Mps2An386, &["line-input-flash"])
                .with_line_input("/data/pku_test.utf8")
                .with_baud(115_200)
                .image_name(),
            "firmware-mps2-an386+line-input-flash=pku_test-115200bd"
        );
    }

    #[test]
    fn a_neural_or_hybrid_model_turns_the_neural_feature_on_and_a_token_level_one_the_tokens_feature() {
        let scratch = std::env::temp_dir().join(format!("xtask-neural-feature-{}", std::process::id()));
        fs::create_dir_all(&scratch).unwrap();
        let model_of_version = |name: &str, version: u8| {
            let path = scratch.join(name);
            fs::write(&path, [&b"CRFm"[..], &[version], b" rest of the file"].concat()).unwrap();
            path
        };
        for (name, version) in [("neural.crfm", 5), ("hybrid.crfm", 7)] {
            let image = FirmwareBuild::new(Board::Mps2An386).with_model(model_of_version(name, version));
            assert_eq!(image.all_features(), "board-mps2-an386,logger-semihosting,neural", "version {version}");
        }
        let linear = FirmwareBuild::new(Board::Mps2An386).with_model(default_model());
        assert_eq!(linear.all_features(), "board-mps2-an386,logger-semihosting");
        let image = FirmwareBuild::new(Board::Lm3s6965evb).with_model(model_of_version("ner.crfm", 6));
        assert_eq!(image.all_features(), "board-lm3s6965evb,logger-semihosting,tokens");
        // Neither an older linear version nor a file that is no model turns either feature on.
        for (name, version) in [("linear4.crfm", 4), ("future.crfm", 8)] {
            let image = FirmwareBuild::new(Board::Lm3s6965evb).with_model(model_of_version(name, version));
            assert_eq!(image.all_features(), "board-lm3s6965evb,logger-semihosting", "version {version}");
        }
        let not_a_model = scratch.join("text.crfm");
        fs::write(&not_a_model, b"\x05\x07 not a model").unwrap();
        let image = FirmwareBuild::new(Board::Lm3s6965evb).with_model(&not_a_model);
        assert_eq!(image.all_features(), "board-lm3s6965evb,logger-semihosting");
        let _ = fs::remove_dir_all(&scratch);
    }

    #[test]
    fn qemu_images_get_the_semihosting_logger_unless_one_is_chosen() {
        assert_eq!(FirmwareBuild::new(Board::Mps2An386).all_features(), "board-mps2-an386,logger-semihosting");
        assert_eq!(
            FirmwareBuild::with_features(Board::Lm3s6965evb, &["logger-rtt"]).all_features(),
            "board-lm3s6965evb,logger-rtt"
        );
    }
}

//! The boards, and building, linting and measuring the firmware for one.

use std::{
    fmt, fs,
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, PoisonError},
};

use anyhow::{Context, Result};
use object::{Object, ObjectSection, SectionFlags, SectionKind};

use crate::{firmware_dir, process, toolchain::Toolchain};

/// A board the firmware runs on (each one a QEMU machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Board {
    /// TI Stellaris LM3S6965 evaluation board: Cortex-M3, 256K flash, 64K RAM.
    #[value(name = "lm3s6965evb")]
    Lm3s6965evb,
    /// Arm MPS2 with the AN386 image: Cortex-M4F, 4M code and 4M data RAM.
    #[value(name = "mps2-an386")]
    Mps2An386,
}

impl Board {
    /// Every board, in the order the checks run them.
    pub const ALL: [Board; 2] = [Board::Lm3s6965evb, Board::Mps2An386];

    /// The board's name, which is also its QEMU machine (`-M`).
    pub fn name(self) -> &'static str {
        match self {
            Board::Lm3s6965evb => "lm3s6965evb",
            Board::Mps2An386 => "mps2-an386",
        }
    }

    /// The processor core on the board.
    pub fn core(self) -> &'static str {
        match self {
            Board::Lm3s6965evb => "Cortex-M3",
            Board::Mps2An386 => "Cortex-M4",
        }
    }

    /// The Rust target the firmware is compiled for on this board.
    pub fn target(self) -> &'static str {
        match self {
            Board::Lm3s6965evb => "thumbv7m-none-eabi",
            Board::Mps2An386 => "thumbv7em-none-eabihf",
        }
    }

    /// The firmware's cargo feature that selects this board.
    pub fn feature(self) -> String {
        format!("board-{}", self.name())
    }
}

/// Where RAM starts in both boards' memory maps (firmware/boards/*/memory.x).
const RAM_ORIGIN: u64 = 0x2000_0000;

impl fmt::Display for Board {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Whether cargo's own output is shown while building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CargoOutput {
    /// Show it as it comes (interactive use).
    Show,
    /// Keep it, and show it only in the error if the build fails (tests).
    OnFailure,
}

/// One firmware image to build.
#[derive(Debug, Clone)]
pub struct FirmwareBuild {
    /// The board it is for.
    pub board: Board,
    /// Extra cargo features of the firmware, e.g. `selftest-panic`.
    pub features: Vec<String>,
}

impl FirmwareBuild {
    /// The plain firmware for `board`.
    pub fn new(board: Board) -> Self {
        Self { board, features: Vec::new() }
    }

    /// The firmware for `board` with the extra `features`.
    pub fn with_features(board: Board, features: &[&str]) -> Self {
        Self { board, features: features.iter().map(|&feature| feature.to_owned()).collect() }
    }

    /// The name of this image: board and features, e.g.
    /// `firmware-lm3s6965evb+selftest-panic`.
    pub fn image_name(&self) -> String {
        let mut name = format!("firmware-{}", self.board);
        for feature in &self.features {
            name.push('+');
            name.push_str(feature);
        }
        name
    }

    fn all_features(&self) -> String {
        let mut features = vec![self.board.feature()];
        features.extend(self.features.iter().cloned());
        features.join(",")
    }
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
        .arg(image.all_features());

    let _guard = BUILD_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    match output {
        CargoOutput::Show => process::run(&mut command)?,
        CargoOutput::OnFailure => process::run_quietly(&mut command)?,
    }
    let release_dir = firmware_dir().join("target").join(board.target()).join("release");
    let elf = release_dir.join(image.image_name());
    fs::copy(release_dir.join("firmware"), &elf)
        .with_context(|| format!("copying the firmware ELF to {}", elf.display()))?;
    Ok(elf)
}

/// Lints the firmware for `board` with clippy, warnings denied.
pub fn clippy(toolchain: &Toolchain, board: Board) -> Result<()> {
    let mut command = toolchain.thumb_clippy(board.target());
    command
        .current_dir(firmware_dir())
        .args(["--release", "--no-default-features", "--features"])
        .arg(board.feature())
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
    /// Bytes stored in flash: code, constants and the initial values of `.data`.
    pub flash: u64,
    /// Bytes of RAM taken statically (`.data`, `.bss`, `.uninit`); the stack
    /// grows down from the top of RAM into what is left.
    pub ram: u64,
}

impl fmt::Display for MemoryUse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "flash {} bytes, static RAM {} bytes", self.flash, self.ram)
    }
}

/// Measures the flash and static RAM taken by the firmware ELF `elf`.
pub fn memory_use(elf: &Path) -> Result<MemoryUse> {
    let data = fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let file = object::File::parse(&*data).with_context(|| format!("parsing {}", elf.display()))?;
    let mut usage = MemoryUse { flash: 0, ram: 0 };
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
    }
}

//! Which toolchain builds the firmware, and the tools that run it.
//!
//! Thumb code is built one of two ways:
//! - the active (rustup) toolchain has the thumb targets installed: plain
//!   `cargo --target ...`;
//! - otherwise Debian's `rustc-web` with its `rust-web-src`: `core` is
//!   compiled from source (`RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 cargo ...
//!   -Zbuild-std=core`). That path works without internet access beyond the
//!   Debian archive, which is why the installer falls back to it.
//!
//! [`Toolchain::setup`] installs what is missing (as root, with apt-get and
//! `cargo install`) and prints one line per decision; [`Toolchain::detect`]
//! installs nothing and tells the user to run `cargo xtask setup` instead.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Result};

use crate::process::{self, find_on_path, running_as_root, stdout_of};

/// The thumb targets the firmware is built for.
pub const THUMB_TARGETS: [&str; 4] =
    ["thumbv6m-none-eabi", "thumbv7m-none-eabi", "thumbv7em-none-eabihf", "thumbv8m.main-none-eabihf"];

/// Debian's compiler, used when the active toolchain has no thumb targets.
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
/// Debian's clippy front end (package rust-web-clippy), matching `DEBIAN_RUSTC`.
const DEBIAN_CARGO_CLIPPY: &str = "/usr/bin/cargo-clippy";
/// Debian packages of the build-std path: compiler, its library sources,
/// `rust-lld` (rust-web-llvm's symlink into lld-22), and clippy.
const DEBIAN_RUST_PACKAGES: [&str; 5] = ["rustc-web", "rust-web-src", "rust-web-llvm", "lld-22", "rust-web-clippy"];
/// The Debian package that ships `qemu-system-arm`.
const QEMU_PACKAGE: &str = "qemu-system-arm";
/// QEMU machines the firmware runs on.
const QEMU_MACHINES: [&str; 6] = ["lm3s6965evb", "mps2-an385", "mps2-an386", "mps2-an505", "netduinoplus2", "microbit"];
/// defmt-print 1.x decodes the frames of defmt 1.x, which the firmware uses.
const DEFMT_PRINT_VERSION: &str = "^1";
/// Debian packages of the C cross compiler that builds the C API's example firmware: GCC for bare-metal
/// Arm, and newlib (its C library: `memcpy` & co., `libgcc`'s companions).
const ARM_GCC_PACKAGES: [&str; 2] = ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi"];
/// The cross compiler's name.
const ARM_GCC: &str = "arm-none-eabi-gcc";

/// How thumb code gets compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThumbBuild {
    /// The active toolchain ships `core` for the thumb targets.
    Prebuilt,
    /// Debian's rustc compiles `core` from source with `-Zbuild-std=core`.
    BuildStd {
        /// Debian's rustc (`/usr/bin/rustc`).
        rustc: PathBuf,
        /// Debian's `cargo-clippy`, which drives the matching clippy-driver.
        cargo_clippy: PathBuf,
    },
}

/// Everything needed to build, run and decode the firmware.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// How thumb code is compiled.
    pub thumb: ThumbBuild,
    /// `qemu-system-arm`.
    pub qemu: PathBuf,
    /// `defmt-print`, which decodes the firmware's defmt log.
    pub defmt_print: PathBuf,
}

/// Whether missing pieces may be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    Install,
    Fail,
}

impl Toolchain {
    /// Finds every tool, installing what is missing: Debian packages with
    /// apt-get when running as root (otherwise it prints the command and
    /// fails), defmt-print with `cargo install`. Prints one line per decision.
    pub fn setup() -> Result<Self> {
        Self::find(Missing::Install)
    }

    /// Finds every tool without installing anything; the error tells the
    /// user to run `cargo xtask setup`.
    pub fn detect() -> Result<Self> {
        Self::find(Missing::Fail)
    }

    fn find(missing: Missing) -> Result<Self> {
        let thumb = find_thumb_build(missing)?;
        let qemu = find_qemu(missing)?;
        let defmt_print = find_defmt_print(missing)?;
        Ok(Self { thumb, qemu, defmt_print })
    }

    /// `cargo <subcommand>` for a thumb `target`, with the environment and
    /// flags of the chosen build path. Run it in the crate's directory.
    pub fn thumb_cargo(&self, subcommand: &str, target: &str) -> Command {
        let mut command = process::cargo();
        command.arg(subcommand).args(["--target", target]);
        self.add_build_std(&mut command);
        command
    }

    /// `cargo clippy` for a thumb `target`: clippy must match the compiler
    /// that built `core`, so the build-std path uses Debian's clippy.
    pub fn thumb_clippy(&self, target: &str) -> Command {
        let mut command = match &self.thumb {
            ThumbBuild::Prebuilt => process::cargo(),
            ThumbBuild::BuildStd { cargo_clippy, .. } => Command::new(cargo_clippy),
        };
        command.arg("clippy").args(["--target", target]);
        self.add_build_std(&mut command);
        command
    }

    fn add_build_std(&self, command: &mut Command) {
        if let ThumbBuild::BuildStd { rustc, .. } = &self.thumb {
            // -Z flags need a nightly cargo; RUSTC_BOOTSTRAP=1 unlocks them on
            // stable. compiler_builtins (memcpy & co.) comes along with core.
            command.env("RUSTC", rustc).env("RUSTC_BOOTSTRAP", "1").arg("-Zbuild-std=core");
        }
    }
}

/// The C cross compiler for Cortex-M (Debian's `gcc-arm-none-eabi` with newlib), which builds the C API's
/// example firmware (capi/examples/firmware-c).
#[derive(Debug, Clone)]
pub struct ArmGcc {
    /// `arm-none-eabi-gcc`.
    pub gcc: PathBuf,
}

impl ArmGcc {
    /// Finds the compiler and newlib, installing the Debian packages (as root) if missing.
    pub fn setup() -> Result<Self> {
        Self::find(Missing::Install)
    }

    /// Finds the compiler and newlib; the error tells the user to run `cargo xtask setup`.
    pub fn detect() -> Result<Self> {
        Self::find(Missing::Fail)
    }

    fn find(missing: Missing) -> Result<Self> {
        if let Some(found) = usable_arm_gcc() {
            eprintln!("arm-none-eabi-gcc: using {} ({})", found.gcc.display(), arm_gcc_version(&found.gcc));
            return Ok(found);
        }
        eprintln!("arm-none-eabi-gcc: no {ARM_GCC} with newlib found");
        apt_install(&ARM_GCC_PACKAGES, missing, "")?;
        usable_arm_gcc().ok_or_else(|| anyhow::anyhow!("{ARM_GCC} or newlib still missing after installing them"))
    }
}

/// The cross compiler, if it is on PATH and finds newlib's C library.
fn usable_arm_gcc() -> Option<ArmGcc> {
    let gcc = find_on_path(ARM_GCC)?;
    // Without newlib, gcc prints the bare name back instead of a path.
    let libc = stdout_of(Command::new(&gcc).args(["-mthumb", "-mcpu=cortex-m3", "-print-file-name=libc_nano.a"]))?;
    Path::new(&libc).is_absolute().then_some(ArmGcc { gcc })
}

/// "12.2.1", from `arm-none-eabi-gcc -dumpfullversion`.
fn arm_gcc_version(gcc: &Path) -> String {
    stdout_of(Command::new(gcc).arg("-dumpfullversion")).unwrap_or_else(|| "version unknown".to_owned())
}

/// Decides how thumb code is built, installing Debian's compiler if needed.
fn find_thumb_build(missing: Missing) -> Result<ThumbBuild> {
    let active_rustc = env::var_os("RUSTC").map_or_else(|| PathBuf::from("rustc"), PathBuf::from);
    let active_version = rustc_version(&active_rustc).unwrap_or_else(|| "?".to_owned());
    let absent_targets: Vec<&str> = match rustc_sysroot(&active_rustc) {
        Some(sysroot) => THUMB_TARGETS
            .into_iter()
            .filter(|target| !sysroot.join("lib/rustlib").join(target).join("lib").is_dir())
            .collect(),
        None => THUMB_TARGETS.to_vec(),
    };
    if absent_targets.is_empty() {
        eprintln!("toolchain: using rustc {active_version} with its installed targets {}", THUMB_TARGETS.join(", "));
        return Ok(ThumbBuild::Prebuilt);
    }
    let why = format!("rustc {active_version} has no {} target", absent_targets.join(" or "));

    let debian = match debian_build_std() {
        Ok(debian) => debian,
        Err(lacking) => {
            eprintln!("toolchain: {why}, and the Debian build-std path lacks {lacking}");
            let alternative = format!("or, with internet access: rustup target add {}", THUMB_TARGETS.join(" "));
            apt_install(&DEBIAN_RUST_PACKAGES, missing, &alternative)?;
            debian_build_std()
                .map_err(|lacking| anyhow::anyhow!("still lacking {lacking} after installing the Debian packages"))?
        }
    };
    if let ThumbBuild::BuildStd { rustc, .. } = &debian {
        let version = rustc_version(rustc).unwrap_or_else(|| "?".to_owned());
        eprintln!("toolchain: using Debian rustc {version} with -Zbuild-std=core ({why})");
    }
    Ok(debian)
}

/// The Debian build-std path, or a description of its first missing piece.
fn debian_build_std() -> Result<ThumbBuild, String> {
    let rustc = PathBuf::from(DEBIAN_RUSTC);
    let sysroot = rustc_sysroot(&rustc).ok_or_else(|| format!("{DEBIAN_RUSTC} (rustc-web)"))?;
    let library = sysroot.join("lib/rustlib/src/rust/library");
    if !library.join("core").is_dir() {
        return Err(format!("{} (rust-web-src)", library.display()));
    }
    let bundled_lld = sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld");
    if !bundled_lld.is_file() && !lld_works(find_on_path("rust-lld")) {
        return Err("a working rust-lld (rust-web-llvm, lld-22)".to_owned());
    }
    let cargo_clippy = PathBuf::from(DEBIAN_CARGO_CLIPPY);
    if !cargo_clippy.is_file() {
        return Err(format!("{DEBIAN_CARGO_CLIPPY} (rust-web-clippy)"));
    }
    Ok(ThumbBuild::BuildStd { rustc, cargo_clippy })
}

/// Whether `lld` exists and runs (Debian's rust-lld is a symlink that
/// dangles without lld-22).
fn lld_works(lld: Option<PathBuf>) -> bool {
    lld.is_some_and(|lld| stdout_of(Command::new(lld).args(["-flavor", "gnu", "--version"])).is_some())
}

fn rustc_sysroot(rustc: &Path) -> Option<PathBuf> {
    stdout_of(Command::new(rustc).args(["--print", "sysroot"])).map(PathBuf::from)
}

/// "1.96.0" from "rustc 1.96.0 (ac68faa20 2026-05-25)".
fn rustc_version(rustc: &Path) -> Option<String> {
    let line = stdout_of(Command::new(rustc).arg("--version"))?;
    line.split_whitespace().nth(1).map(str::to_owned)
}

/// Finds qemu-system-arm with every board's machine, installing it if allowed.
fn find_qemu(missing: Missing) -> Result<PathBuf> {
    if let Some(qemu) = usable_qemu() {
        let version = stdout_of(Command::new(&qemu).arg("--version")).unwrap_or_default();
        let version = version.lines().next().unwrap_or("version unknown");
        eprintln!("qemu: using {} ({version})", qemu.display());
        return Ok(qemu);
    }
    eprintln!("qemu: no qemu-system-arm with machines {} found", QEMU_MACHINES.join(", "));
    apt_install(&[QEMU_PACKAGE], missing, "")?;
    usable_qemu().ok_or_else(|| anyhow::anyhow!("qemu-system-arm still unusable after installing {QEMU_PACKAGE}"))
}

fn usable_qemu() -> Option<PathBuf> {
    let qemu = find_on_path("qemu-system-arm")?;
    let machines = stdout_of(Command::new(&qemu).args(["-machine", "help"]))?;
    QEMU_MACHINES
        .iter()
        .all(|machine| machines.lines().any(|line| line.split_whitespace().next() == Some(machine)))
        .then_some(qemu)
}

/// Finds defmt-print 1.x, installing it with `cargo install` if allowed.
fn find_defmt_print(missing: Missing) -> Result<PathBuf> {
    if let Some((path, version)) = usable_defmt_print() {
        eprintln!("defmt-print: using {} ({version})", path.display());
        return Ok(path);
    }
    let mut install = process::cargo();
    install.args(["install", "defmt-print", "--locked", "--version", DEFMT_PRINT_VERSION]);
    if missing == Missing::Fail {
        bail!("defmt-print 1.x is missing: run `cargo xtask setup` (or `{}`)", process::display(&install));
    }
    eprintln!("defmt-print: missing, installing it");
    process::run(&mut install)?;
    let (path, version) =
        usable_defmt_print().ok_or_else(|| anyhow::anyhow!("defmt-print still missing after `cargo install`"))?;
    eprintln!("installed defmt-print ({version}) at {}", path.display());
    Ok(path)
}

/// defmt-print on PATH or in cargo's bin directory, with its version, if 1.x.
fn usable_defmt_print() -> Option<(PathBuf, String)> {
    let cargo_bin = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|cargo_home| cargo_home.join("bin/defmt-print"));
    let path = find_on_path("defmt-print").or(cargo_bin.filter(|path| path.is_file()))?;
    // The first line is "defmt-print 1.2.0"; more lines follow.
    let output = stdout_of(Command::new(&path).arg("--version"))?;
    let version = output.lines().next()?.to_owned();
    version.split_whitespace().nth(1).is_some_and(|number| number.starts_with("1.")).then_some((path, version))
}

/// Installs Debian `packages` when running as root; otherwise (or when
/// `missing` forbids installing) fails with the exact command to run.
/// `alternative`, if not empty, is another way out, added to the message.
pub(crate) fn apt_install(packages: &[&str], missing: Missing, alternative: &str) -> Result<()> {
    let install_command = format!("apt-get update && apt-get install -y {}", packages.join(" "));
    let alternative = if alternative.is_empty() { String::new() } else { format!(" ({alternative})") };
    if missing == Missing::Fail {
        bail!(
            "missing Debian packages {}: run `cargo xtask setup`, which as root runs `{install_command}`{alternative}",
            packages.join(" ")
        );
    }
    if !running_as_root() {
        bail!("missing Debian packages: run as root `{install_command}`{alternative}");
    }
    if find_on_path("apt-get").is_none() {
        bail!("missing {} and there is no apt-get here{alternative}", packages.join(" "));
    }
    // Never prompt (CI, no terminal): -y, and no debconf questions.
    process::run(Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))?;
    process::run(
        Command::new("apt-get").args(["install", "-y"]).args(packages).env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    eprintln!("installed {}", packages.join(" "));
    Ok(())
}

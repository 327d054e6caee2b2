//! The C API (`capi/`, crate `crf-mcu-c`): its static library for the thumb targets, and its C example
//! firmware (`capi/examples/firmware-c`), built with Debian's `arm-none-eabi-gcc` and run under QEMU on
//! the lm3s6965evb like the Rust firmware.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::{
    firmware::{Board, CargoOutput},
    measure::{SegmenterFigures, SegmenterRun, EOT},
    process,
    qemu::{self, RunOptions},
    toolchain::{ArmGcc, Toolchain},
    workspace_root,
};

/// The C API crate's package name.
pub const PACKAGE: &str = "crf-mcu-c";
/// The cargo profile of the embedded static library (root Cargo.toml): built like the Rust firmware.
pub const EMBEDDED_PROFILE: &str = "capi-embedded";
/// The crate feature that gives a bare-metal static library its panic handler.
const PANIC_HANDLER_FEATURE: &str = "panic-handler";
/// The board the C example firmware is written for.
pub const C_FIRMWARE_BOARD: Board = Board::Lm3s6965evb;

/// The C API crate.
pub fn capi_dir() -> PathBuf {
    workspace_root().join("capi")
}

/// The C example firmware's sources.
pub fn firmware_c_dir() -> PathBuf {
    capi_dir().join("examples").join("firmware-c")
}

/// Builds `libcrf_mcu.a` for the thumb `target` (profile `capi-embedded`, with the panic handler) and
/// returns its path.
///
/// `cargo rustc --crate-type staticlib`: with the crate's second type (rlib, for its Rust tests) cargo
/// would not apply the profile's link-time optimisation, which removes the panic machinery's formatting
/// code from the library (about 12 KiB of flash).
pub fn build_library(toolchain: &Toolchain, target: &str, output: CargoOutput) -> Result<PathBuf> {
    let root = workspace_root();
    let target_dir = root.join("target").join("thumb");
    let mut command = toolchain.thumb_cargo("rustc", target);
    command
        .current_dir(&root)
        .args(["-p", PACKAGE, "--lib", "--crate-type", "staticlib", "--profile", EMBEDDED_PROFILE])
        .args(["--features", PANIC_HANDLER_FEATURE, "--target-dir"])
        .arg(&target_dir);
    match output {
        CargoOutput::Show => process::run(command.stdout(std::io::stderr()))?,
        CargoOutput::OnFailure => process::run_quietly(&mut command)?,
    }
    let library = target_dir.join(target).join(EMBEDDED_PROFILE).join("libcrf_mcu.a");
    if !library.is_file() {
        bail!("cargo built no {}", library.display());
    }
    Ok(library)
}

/// Lints the bare-metal library for `target` (its panic handler exists only there) with clippy,
/// warnings denied.
pub fn clippy_library(toolchain: &Toolchain, target: &str) -> Result<()> {
    let root = workspace_root();
    let mut command = toolchain.thumb_clippy(target);
    command
        .current_dir(&root)
        .args(["-p", PACKAGE, "--lib", "--profile", EMBEDDED_PROFILE, "--features", PANIC_HANDLER_FEATURE])
        .arg("--target-dir")
        .arg(root.join("target").join("thumb"))
        .args(["--", "-D", "warnings"]);
    process::run(&mut command)
}

/// Compiles the C example firmware for the lm3s6965evb with `library` (from [`build_library`] for
/// thumbv7m-none-eabi) and `model` embedded (default: models/default.crfm); returns the ELF's path.
pub fn build_firmware(gcc: &ArmGcc, library: &Path, model: Option<&Path>) -> Result<PathBuf> {
    let sources = firmware_c_dir();
    let model = match model {
        Some(model) => std::path::absolute(model)?,
        None => crate::firmware::default_model(),
    };
    if !model.is_file() {
        bail!("no model file {}", model.display());
    }
    let model_text = model.to_str().context("the model's path is not UTF-8")?;
    if model_text.contains(['"', '\\']) {
        bail!("the model's path {model_text} contains a quote or backslash, which the assembler's .incbin cannot take");
    }
    let out_dir = workspace_root().join("target").join("firmware-c");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut name = format!("firmware-c-{}", C_FIRMWARE_BOARD.name());
    if model != crate::firmware::default_model() {
        name.push('@');
        name.push_str(&model.file_stem().unwrap_or_default().to_string_lossy());
    }
    let elf = out_dir.join(&name);

    let mut command = Command::new(&gcc.gcc);
    command
        .args(["-mcpu=cortex-m3", "-mthumb", "-std=c11", "-Os", "-g"])
        .args(["-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections", "-I"])
        .arg(capi_dir().join("include"))
        .arg(format!("-DCRF_MODEL_FILE=\"{model_text}\""))
        // Our own startup code; newlib (nano) only for what the compiler itself calls.
        .args(["-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections", "-Wl,-z,noexecstack"])
        .arg(format!("-Wl,-T,{}", sources.join("lm3s6965evb.ld").display()))
        .arg(format!("-Wl,-Map,{}", out_dir.join(format!("{name}.map")).display()));
    for source in ["main.c", "board.c", "startup.c", "model.S"] {
        command.arg(sources.join(source));
    }
    command.arg(library).arg("-o").arg(&elf);
    process::run_quietly(&mut command)?;
    Ok(elf)
}

/// Builds the library for thumbv7m-none-eabi and the C firmware with `model`; returns the ELF's path.
pub fn build_library_and_firmware(
    toolchain: &Toolchain,
    gcc: &ArmGcc,
    model: Option<&Path>,
    output: CargoOutput,
) -> Result<PathBuf> {
    let library = build_library(toolchain, C_FIRMWARE_BOARD.target(), output)?;
    build_firmware(gcc, &library, model)
}

/// Streams `input` (then EOT) through the C firmware `elf` under `qemu -icount shift=0` and collects
/// its output and figures (the same `key=value` figures as the Rust firmware's, in a plain-text log).
pub fn run_segmenter(toolchain: &Toolchain, elf: &Path, input: &[u8], timeout: Duration) -> Result<SegmenterRun> {
    if input.contains(&EOT) {
        bail!("the input contains EOT (0x04), which would end it early");
    }
    let mut uart_input = input.to_vec();
    uart_input.push(EOT);
    let options = RunOptions { timeout, icount: true, uart_input, ..RunOptions::default() };
    let outcome = qemu::run_with_plain_log(toolchain, C_FIRMWARE_BOARD, elf, &options)?;
    let figures = SegmenterFigures::from_log(&outcome.defmt_log).ok();
    Ok(SegmenterRun { outcome, figures })
}

/// Symbols of Rust's panic machinery: with none of them in an image, no path of the library that the
/// image uses can panic.
const PANIC_SYMBOLS: [&str; 2] = ["crf_mcu_panic", "rust_begin_unwind"];

/// The panic-machinery symbols an ELF contains (the Rust library's bounds checks that the compiler could
/// not prove away keep them; reported, not an error).
pub fn panic_symbols(elf: &Path) -> Result<Vec<String>> {
    use object::{Object, ObjectSymbol};
    let data = fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let file = object::File::parse(&*data).with_context(|| format!("parsing {}", elf.display()))?;
    let mut found: Vec<String> = file
        .symbols()
        .filter_map(|symbol| symbol.name().ok().map(str::to_owned))
        .filter(|name| PANIC_SYMBOLS.iter().any(|panic| name.contains(panic)) || name.contains("panicking"))
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

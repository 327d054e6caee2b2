//! Picks the linker memory map (memory.x) of the board selected by a cargo
//! feature, rejects board/target pairs that cannot run, checks that exactly
//! one defmt logger is selected, stages the model file that the firmware
//! embeds (`CRF_MODEL`, default `../models/default.crfm`), and writes the
//! line-rate build's baud rate (`CRF_BAUD`, default 115200) and, for the
//! flash-fed line-rate build, stages its input (`CRF_LINE_INPUT`; for the
//! semihosting-fed one, its path).

use std::{
    env, fs,
    path::{Path, PathBuf},
};

/// (cargo feature, board directory under boards/, targets whose code the core runs)
const BOARDS: &[(&str, &str, &[&str])] = &[
    (
        "board-lm3s6965evb",
        "lm3s6965evb",
        // Cortex-M3: no DSP/FPU instructions, so only thumbv7m code.
        &["thumbv7m-none-eabi"],
    ),
    (
        "board-mps2-an385",
        "mps2-an385",
        // Cortex-M3, as on the LM3S6965.
        &["thumbv7m-none-eabi"],
    ),
    (
        "board-mps2-an386",
        "mps2-an386",
        // Cortex-M4F runs plain v7-M code as well as v7E-M with hard float.
        &["thumbv7em-none-eabihf", "thumbv7m-none-eabi"],
    ),
    (
        "board-mps2-an505",
        "mps2-an505",
        // Cortex-M33 (Armv8-M Mainline with FPU) also runs v7-M code.
        &["thumbv8m.main-none-eabihf", "thumbv7m-none-eabi"],
    ),
    (
        "board-netduinoplus2",
        "netduinoplus2",
        // STM32F405: Cortex-M4F.
        &["thumbv7em-none-eabihf", "thumbv7m-none-eabi"],
    ),
    (
        "board-microbit",
        "microbit",
        // nRF51822: Cortex-M0 (Armv6-M), which runs only v6-M code.
        &["thumbv6m-none-eabi"],
    ),
];

/// The defmt transports; exactly one is the global logger.
const LOGGERS: &[&str] = &["logger-semihosting", "logger-rtt"];

/// The environment variable naming the model file to embed.
const MODEL_VARIABLE: &str = "CRF_MODEL";
/// The model embedded when `CRF_MODEL` is unset, relative to this crate.
const DEFAULT_MODEL: &str = "../models/default.crfm";

fn feature_enabled(feature: &str) -> bool {
    let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
    env::var_os(var).is_some()
}

fn main() {
    let selected: Vec<_> = BOARDS.iter().filter(|(feature, _, _)| feature_enabled(feature)).collect();
    let (feature, board_dir, targets) = match selected.as_slice() {
        [one] => **one,
        [] => panic!("no board selected: enable one of the board-* features"),
        _ => panic!("several boards selected: enable exactly one board-* feature (use --no-default-features)"),
    };

    let loggers: Vec<_> = LOGGERS.iter().filter(|feature| feature_enabled(feature)).collect();
    assert!(
        loggers.len() == 1,
        "enable exactly one defmt logger feature of {LOGGERS:?} (enabled: {loggers:?}); \
         with --no-default-features add logger-semihosting (QEMU) or logger-rtt (debug probe)"
    );

    let target = env::var("TARGET").expect("cargo sets TARGET");
    assert!(
        targets.contains(&target.as_str()),
        "feature {feature} cannot run code built for {target}; use one of {targets:?}"
    );

    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let memory_x = manifest_dir.join("boards").join(board_dir).join("memory.x");
    fs::copy(&memory_x, out_dir.join("memory.x")).unwrap_or_else(|err| panic!("copying {}: {err}", memory_x.display()));

    // cortex-m-rt's link.x does `INCLUDE memory.x`, found on this search path.
    println!("cargo:rustc-link-search={}", out_dir.display());
    println!("cargo:rerun-if-changed={}", memory_x.display());
    println!("cargo:rerun-if-changed=build.rs");

    stage_model(&manifest_dir, &out_dir);
    stage_user_dict(&manifest_dir, &out_dir);
    write_baud_rate(&out_dir);
    stage_line_input(&manifest_dir, &out_dir);
}

/// The environment variable naming the input that the flash-fed line-rate
/// build (feature `line-input-flash`) embeds.
const LINE_INPUT_VARIABLE: &str = "CRF_LINE_INPUT";
/// The byte that ends the input (EOT); the firmware sends it after the last
/// embedded byte, so the input itself must not contain it.
const EOT: u8 = 0x04;

/// With feature `line-input-flash`: copies the file named by `CRF_LINE_INPUT`
/// to `OUT_DIR/line_input.bin` (embedded by `src/line_input.rs`). Whether it
/// fits the board's flash is the linker's check.
///
/// With feature `line-input-semihosting`: writes the file's absolute path to
/// `OUT_DIR/line_input_path.rs` (`src/semihosted_input.rs` opens it on the
/// host at run time, so its bytes are not embedded and it must stay there).
fn stage_line_input(manifest_dir: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-env-changed={LINE_INPUT_VARIABLE}");
    let flash = feature_enabled("line-input-flash");
    let semihosting = feature_enabled("line-input-semihosting");
    let feature = match (flash, semihosting) {
        (false, false) => return,
        (true, false) => "line-input-flash",
        (false, true) => "line-input-semihosting",
        (true, true) => panic!("features line-input-flash and line-input-semihosting exclude each other: enable one"),
    };
    let path = match env::var_os(LINE_INPUT_VARIABLE) {
        Some(path) if !path.is_empty() => manifest_dir.join(path),
        _ => panic!("feature {feature} reads the file named by {LINE_INPUT_VARIABLE}, which is unset"),
    };
    println!("cargo:rerun-if-changed={}", path.display());
    let bytes = fs::read(&path)
        .unwrap_or_else(|err| panic!("reading the line-rate input {} ({LINE_INPUT_VARIABLE}): {err}", path.display()));
    if let Some(at) = bytes.iter().position(|&byte| byte == EOT) {
        let line = 1 + bytes[..at].iter().filter(|&&byte| byte == b'\n').count();
        panic!("{}:{line}: contains EOT (0x04), which would end the input early", path.display());
    }
    if flash {
        fs::write(out_dir.join("line_input.bin"), &bytes).expect("writing OUT_DIR/line_input.bin");
        return;
    }
    let absolute = fs::canonicalize(&path).unwrap_or_else(|err| {
        panic!("resolving the line-rate input {} ({LINE_INPUT_VARIABLE}): {err}", path.display())
    });
    let Some(absolute) = absolute.to_str().filter(|text| !text.contains('\0')) else {
        panic!("the line-rate input's path {} ({LINE_INPUT_VARIABLE}) is not UTF-8 without NUL", absolute.display());
    };
    // `{:?}` escapes the path as a Rust string literal, which is also valid as a C string literal's body.
    let source = format!(
        "/// The host file the byte timer reads through semihosting (written by build.rs from `{LINE_INPUT_VARIABLE}`).\n\
         pub const LINE_INPUT_PATH: &core::ffi::CStr = c{absolute:?};\n"
    );
    fs::write(out_dir.join("line_input_path.rs"), source).expect("writing OUT_DIR/line_input_path.rs");
}

/// The environment variable naming the user dictionary's word list (optional).
const USER_DICT_VARIABLE: &str = "CRF_USER_DICT";

/// Compiles the word list named by `CRF_USER_DICT` (one word per line) with the decoder's builder into
/// `OUT_DIR/user_dict.crfd` and writes its length to `OUT_DIR/user_dict_len.rs` (0, and an empty file,
/// without one). A bad word list stops the build with its file and line.
fn stage_user_dict(manifest_dir: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-env-changed={USER_DICT_VARIABLE}");
    let bytes = match env::var_os(USER_DICT_VARIABLE) {
        Some(path) if !path.is_empty() => {
            let list = manifest_dir.join(path);
            println!("cargo:rerun-if-changed={}", list.display());
            let text = fs::read(&list).unwrap_or_else(|err| {
                panic!("reading the user dictionary {} ({USER_DICT_VARIABLE}): {err}", list.display())
            });
            decoder::build_dictionary(&text).unwrap_or_else(|err| panic!("{}: {err}", list.display()))
        }
        _ => Vec::new(),
    };
    fs::write(out_dir.join("user_dict.crfd"), &bytes).expect("writing OUT_DIR/user_dict.crfd");
    let len = format!(
        "/// Bytes in the embedded user dictionary, 0 for none (written by build.rs).\npub const USER_DICT_LEN: usize = {};\n",
        bytes.len()
    );
    fs::write(out_dir.join("user_dict_len.rs"), len).expect("writing OUT_DIR/user_dict_len.rs");
}

/// The environment variable giving the line-rate build's baud rate.
const BAUD_VARIABLE: &str = "CRF_BAUD";
/// The baud rate when `CRF_BAUD` is unset.
const DEFAULT_BAUD: u32 = 115_200;

/// Writes the line-rate build's baud rate (`CRF_BAUD`) to
/// `OUT_DIR/line_rate.rs`.
fn write_baud_rate(out_dir: &Path) {
    println!("cargo:rerun-if-env-changed={BAUD_VARIABLE}");
    let baud = match env::var(BAUD_VARIABLE) {
        Ok(text) if !text.is_empty() => match text.parse::<u32>() {
            Ok(baud) if baud > 0 => baud,
            _ => panic!("{BAUD_VARIABLE}={text}: not a baud rate (a positive whole number of bits per second)"),
        },
        _ => DEFAULT_BAUD,
    };
    let source = format!("/// The serial line's rate in bits per second (written by build.rs from `{BAUD_VARIABLE}`).\npub const BAUD_RATE: u32 = {baud};\n");
    fs::write(out_dir.join("line_rate.rs"), source).expect("writing OUT_DIR/line_rate.rs");
}

/// Copies the model file to `OUT_DIR/model.crfm` (which `src/model_image.rs`
/// embeds with `include_bytes!`) and writes its length to
/// `OUT_DIR/model_len.rs`.
///
/// The model is deliberately not validated here: the firmware checks it at
/// boot (magic, version, CRC-32), and a test embeds a corrupted one to prove
/// that this check fails cleanly.
fn stage_model(manifest_dir: &Path, out_dir: &Path) {
    println!("cargo:rerun-if-env-changed={MODEL_VARIABLE}");
    let model = match env::var_os(MODEL_VARIABLE) {
        // A relative path is taken from this crate's directory (where
        // `cargo build` runs when invoked in firmware/).
        Some(path) if !path.is_empty() => manifest_dir.join(path),
        _ => manifest_dir.join(DEFAULT_MODEL),
    };
    println!("cargo:rerun-if-changed={}", model.display());
    let bytes = fs::read(&model)
        .unwrap_or_else(|err| panic!("reading the model {} (set {MODEL_VARIABLE}): {err}", model.display()));
    fs::write(out_dir.join("model.crfm"), &bytes).expect("writing OUT_DIR/model.crfm");
    let model_len = format!(
        "/// Bytes in the embedded model file (written by build.rs).\npub const MODEL_LEN: usize = {};\n",
        bytes.len()
    );
    fs::write(out_dir.join("model_len.rs"), model_len).expect("writing OUT_DIR/model_len.rs");
    let file_name = model.file_name().map_or_else(|| "model".into(), |name| name.to_string_lossy());
    println!("cargo:rustc-env=CRF_MODEL_FILE_NAME={file_name}");
}

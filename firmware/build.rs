//! Picks the linker memory map (memory.x) of the board selected by a cargo
//! feature, and rejects board/target pairs that cannot run.

use std::{env, fs, path::PathBuf};

/// (cargo feature, board directory under boards/, targets whose code the core runs)
const BOARDS: &[(&str, &str, &[&str])] = &[
    (
        "board-lm3s6965evb",
        "lm3s6965evb",
        // Cortex-M3: no DSP/FPU instructions, so only thumbv7m code.
        &["thumbv7m-none-eabi"],
    ),
    (
        "board-mps2-an386",
        "mps2-an386",
        // Cortex-M4F runs plain v7-M code as well as v7E-M with hard float.
        &["thumbv7em-none-eabihf", "thumbv7m-none-eabi"],
    ),
];

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

    let target = env::var("TARGET").expect("cargo sets TARGET");
    assert!(
        targets.contains(&target.as_str()),
        "feature {feature} cannot run code built for {target}; use one of {targets:?}"
    );

    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let memory_x = manifest_dir.join("boards").join(board_dir).join("memory.x");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(&memory_x, out_dir.join("memory.x")).unwrap_or_else(|err| panic!("copying {}: {err}", memory_x.display()));

    // cortex-m-rt's link.x does `INCLUDE memory.x`, found on this search path.
    println!("cargo:rustc-link-search={}", out_dir.display());
    println!("cargo:rerun-if-changed={}", memory_x.display());
    println!("cargo:rerun-if-changed=build.rs");
}

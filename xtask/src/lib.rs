//! Automation for this workspace, used by the `cargo xtask` binary and by the
//! QEMU integration tests: finding (and if need be installing) the embedded
//! toolchain, building the firmware for a board, running it under QEMU
//! with a timeout, recording what the firmware measures in
//! `docs/firmware.json`, measuring the accuracy-size frontier of the
//! models, and building and testing the Python package.

#![deny(missing_docs)]

pub mod capi;
pub mod firmware;
pub mod frontier;
pub mod line_rate;
pub mod measure;
pub mod process;
pub mod python;
pub mod qemu;
pub mod results;
pub mod toolchain;
pub mod user_dict;
pub mod util;

use std::path::{Path, PathBuf};

/// The root of the cargo workspace (the directory holding `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The workspace's cargo target directory: `CARGO_TARGET_DIR` when that is set (relative to the
/// workspace root), else `target/`.
pub fn host_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// The release trainer that `cargo build --release -p trainer` (run in the workspace) writes, under
/// [`host_target_dir`].
pub fn release_trainer() -> PathBuf {
    host_target_dir().join("release").join("trainer")
}

/// The firmware's own cargo workspace.
pub fn firmware_dir() -> PathBuf {
    workspace_root().join("firmware")
}

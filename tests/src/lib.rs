//! Helpers shared by the integration tests in `tests/`.

use std::{io::Write, path::PathBuf};

use xtask::{
    firmware::{self, CargoOutput, FirmwareBuild},
    qemu::RunOutcome,
    toolchain::Toolchain,
};

/// The toolchain, or a panic that tells the user how to get it: a missing
/// QEMU or thumb toolchain fails the tests rather than skipping them.
pub fn toolchain() -> Toolchain {
    Toolchain::detect().unwrap_or_else(|error| {
        panic!("the QEMU tests need the embedded toolchain: {error:#}\nRun `cargo xtask setup` first.")
    })
}

/// Builds `image` (quietly) and returns its ELF path.
pub fn build(toolchain: &Toolchain, image: &FirmwareBuild) -> PathBuf {
    firmware::build(toolchain, image, CargoOutput::OnFailure)
        .unwrap_or_else(|error| panic!("building {}: {error:#}", image.image_name()))
}

/// Prints how a QEMU run ended even when the test passes (libtest captures
/// `println!`, not direct writes to stderr).
pub fn print_exit(image: &FirmwareBuild, outcome: &RunOutcome) {
    let line = format!(
        "qemu: {} on {}: {} in {:.2}s\n",
        image.board.core(),
        image.image_name(),
        outcome.exit,
        outcome.elapsed.as_secs_f64()
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

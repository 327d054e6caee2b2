//! Shared helpers of the integration tests.

use std::path::PathBuf;

/// The shared corpora: `$CRF_DATA_DIR`, or `<workspace root>/../shared/data`. `None` (with a message
/// saying the test is skipped) when absent.
pub fn data_dir(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("CRF_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    if dir.join("icwb2").is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED {test}: corpus directory {} not found (set CRF_DATA_DIR)", dir.display());
        None
    }
}

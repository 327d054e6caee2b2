//! The committed C header is exactly what cbindgen generates from the crate's sources.
//!
//! After changing the API, regenerate it: `CRF_MCU_UPDATE_HEADER=1 cargo test -p crf-mcu-c --test header`.

use std::{env, fs, path::Path};

/// Set to 1 to write the generated header instead of comparing.
const UPDATE_VARIABLE: &str = "CRF_MCU_UPDATE_HEADER";

#[test]
fn the_committed_header_is_what_cbindgen_generates() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("reading capi/cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .unwrap_or_else(|error| panic!("cbindgen failed on capi/src: {error}"));
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let header_path = crate_dir.join("include").join("crf_mcu.h");
    if env::var_os(UPDATE_VARIABLE).is_some_and(|value| value == "1") {
        fs::write(&header_path, &generated)
            .unwrap_or_else(|error| panic!("writing {}: {error}", header_path.display()));
        return;
    }
    let committed = fs::read(&header_path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date with capi/src: regenerate it with `{UPDATE_VARIABLE}=1 cargo test -p crf-mcu-c --test header`",
        header_path.display()
    );
}

//! Replays the fuzz check (`decoder/fuzz/check.rs`) on its seeds and on every input kept in
//! `tests/fuzz-regressions/` (crashers found by `cargo fuzz`, see `decoder/fuzz/README.md`).

#[path = "../fuzz/check.rs"]
mod check;

#[test]
fn fuzz_seeds() {
    for (name, data) in check::seeds() {
        check::run(&data);
        // The committed seed files are these bytes (`DECODER_WRITE_FUZZ_SEEDS=1` rewrites them).
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(name);
        if std::env::var_os("DECODER_WRITE_FUZZ_SEEDS").is_some() {
            std::fs::write(&path, &data).unwrap();
        }
        assert_eq!(std::fs::read(&path).ok().as_deref(), Some(&data[..]), "{} is stale", path.display());
    }
}

#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        check::run(&std::fs::read(&path).unwrap());
        count += 1;
    }
    println!("{count} fuzz regression inputs replayed");
}

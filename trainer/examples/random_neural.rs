//! Writes a small random neural model (see `trainer::neural::sample`) over the characters of a text.
//!
//! `cargo run -p trainer --example random_neural -- OUT [TEXT [SEED]]` (TEXT defaults to
//! `tests/data/sample.utf8`, SEED to 18).

use std::path::PathBuf;

use anyhow::{Context, Result};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().context("usage: random_neural OUT [TEXT [SEED]]")?);
    let text_path = args
        .next()
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/sample.utf8"), PathBuf::from);
    let seed = match args.next() {
        Some(s) => s.parse().with_context(|| format!("seed: not a number: {s}"))?,
        None => 18,
    };
    let text = std::fs::read_to_string(&text_path).with_context(|| format!("reading {}", text_path.display()))?;
    let bytes = trainer::neural::sample::random_sample_model(&text, 2000, seed)?;
    std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("{}: {} bytes", out.display(), bytes.len());
    Ok(())
}

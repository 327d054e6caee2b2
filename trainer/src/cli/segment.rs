//! `trainer segment`: raw text in, segmented text out, streaming through the decoder.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::Args;

use super::span_args::{load_dictionary, SpanArgs};
use crate::pipeline::{load_model, read_model_file};

/// Options of `segment`.
#[derive(Debug, Clone, Args)]
pub struct SegmentArgs {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Raw text to segment (default: standard input).
    pub input: Option<PathBuf>,
    /// Write the time spent loading the model and labeling (reading, segmenting and writing the text)
    /// to this file as JSON: `{"load_s": .., "label_s": .., "bytes_in": ..}`.
    #[arg(long, value_name = "FILE")]
    pub timing: Option<PathBuf>,
    #[command(flatten)]
    pub spans: SpanArgs,
}

/// The `segment` command.
pub fn run_segment(args: &SegmentArgs) -> Result<()> {
    let started = Instant::now();
    let model_bytes = read_model_file(&args.model)?;
    let model = load_model(&args.model, &model_bytes)?;
    if model.is_token_level() {
        anyhow::bail!(
            "{} is a token-level model (CoNLL columns): label a CoNLL file with `trainer label --model {} FILE`",
            args.model.display(),
            args.model.display()
        );
    }
    let spans = args.spans.or_environment();
    let dictionary_bytes = spans.dictionary_bytes()?;
    let dictionary = load_dictionary(dictionary_bytes.as_deref())?;
    let loaded = Instant::now();
    let mut bytes_in = 0usize;
    let mut input: Box<dyn Read> = match &args.input {
        Some(path) => Box::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?),
        None => Box::new(std::io::stdin().lock()),
    };
    // Stream: constant memory whatever the input size, output as soon as it is final.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut segmenter =
        decoder::Segmenter::<{ decoder::DEFAULT_WINDOW }>::with_rules(&model, spans.rules(dictionary.as_ref()));
    let mut buffer = vec![0u8; 64 * 1024];
    let mut write_error: Option<std::io::Error> = None;
    let mut write = |bytes: &[u8]| {
        if write_error.is_none() {
            if let Err(e) = stdout.write_all(bytes) {
                write_error = Some(e);
            }
        }
    };
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the input"),
        };
        bytes_in += n;
        segmenter.push(&buffer[..n], &mut write);
    }
    segmenter.finish(&mut write);
    if let Some(e) = write_error {
        return Err(e).context("writing standard output");
    }
    stdout.flush().context("writing standard output")?;
    if let Some(path) = &args.timing {
        let timing = serde_json::json!({
            "load_s": (loaded - started).as_secs_f64(),
            "label_s": loaded.elapsed().as_secs_f64(),
            "bytes_in": bytes_in,
        });
        std::fs::write(path, format!("{timing}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

//! `trainer inspect`: a model file's header, tensor sizes, tag scheme, constraints and scores.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use decoder::internal::format::NgramTable;
use decoder::internal::tags::ModelMask;
use decoder::internal::ModelInternals;
use decoder::MAX_TAGS;

use super::out_raw;
use crate::pipeline::report::{transition_table, weight_type_name};
use crate::pipeline::{load_model, read_model_file};
use crate::quantize;

/// Options of `inspect`.
#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
}

/// The `inspect` command.
pub fn run_inspect(args: &InspectArgs) -> Result<()> {
    let bytes = read_model_file(&args.model)?;
    let model = load_model(&args.model, &bytes)?;
    let body = model.body();
    if let Some(neural) = model.neural() {
        print!("{}", crate::neural::describe::describe(&args.model, bytes.len(), &model, neural));
        return Ok(());
    }
    let Some(emission) = model.ngram() else { bail!("{}: not an n-gram model", args.model.display()) };
    let (normalization, weight_shift) = match body.emission.table() {
        Some(NgramTable::Hashed(s)) => (s.normalization, s.weight_shift),
        Some(NgramTable::Codebook(s)) => (s.normalization, s.weight_shift),
        None => bail!("{}: not an n-gram model", args.model.display()),
    };
    let l = model.num_tags();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "model {}: {} bytes, format version {}",
        args.model.display(),
        bytes.len(),
        model.format_version()
    );
    let _ = writeln!(out, "metadata: {}", model.metadata());
    let _ =
        writeln!(out, "tags ({l}): {}   scheme {:?}", model.tag_names().collect::<Vec<_>>().join(" "), model.scheme());
    let _ = writeln!(
        out,
        "scores: integers in units of 2^-{} (real value = integer / {})",
        body.score_frac_bits,
        1u64 << body.score_frac_bits
    );
    let _ = writeln!(out, "emission: hashed n-grams, normalization flags {normalization:#04b}");
    let templates: Vec<String> = emission.templates().iter().map(|t| format!("{t:?}")).collect();
    match decoder::internal::ModelInternals::token_templates(&model) {
        Some(tokens) => {
            let _ = writeln!(out, "  token-level: {} input columns, {} templates", tokens.columns(), tokens.len());
            for line in tokens.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        None => {
            let _ = writeln!(out, "  templates ({}): {}", templates.len(), templates.join(", "));
        }
    }
    if let Some((words, index_bits, index)) = body.emission.words() {
        let _ = writeln!(
            out,
            "  word list: {} words of 2 to {} characters = {} bytes, index of 2^{index_bits} buckets = {} bytes",
            emission.lexicon().len(),
            decoder::internal::lexicon::MAX_WORD_CHARS,
            words.len(),
            index.len()
        );
    }
    let weight_type = emission.weight_type();
    let step = i32::from(weight_shift) - i32::from(body.score_frac_bits);
    match emission.codes() {
        None => {
            let _ = writeln!(
                out,
                "  weights: [{}][{l}] {} = {} bytes, weight shift {weight_shift} (one step = 2^{step} real)",
                emission.rows(),
                weight_type_name(weight_type),
                emission.weight_bytes(),
            );
        }
        Some(codes) => {
            let _ = writeln!(
                out,
                "  codes: [{}] u8 = {} bytes; codebook: [{}][{l}] {}, weight shift {weight_shift} (one step = 2^{step} real)",
                emission.rows(),
                codes.len(),
                decoder::internal::format::CODEBOOK_ENTRIES,
                weight_type_name(weight_type),
            );
        }
    }
    let float = quantize::dequantize(&model).with_context(|| args.model.display().to_string())?;
    let nonzero = float.weights.iter().filter(|&&w| w != 0.0).count();
    let max = float.weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
    let _ = writeln!(
        out,
        "    {:.1}% nonzero, largest |w| {max:.3}",
        100.0 * nonzero as f64 / float.weights.len().max(1) as f64
    );
    let _ = writeln!(
        out,
        "transitions: [{l}][{l}] i16 = {} bytes; start [{l}] i16 = {} bytes; end [{l}] i16 = {} bytes",
        body.transitions.transitions.len(),
        body.transitions.start.len(),
        body.transitions.end.len()
    );
    let constraints = model.constraints_in::<ModelMask, MAX_TAGS>();
    let _ = writeln!(out, "allowed transitions (1 = allowed; primitivity exponent {}):", model.primitive_exponent());
    let names: Vec<&str> = model.tag_names().collect();
    let _ = write!(out, "{:>8}", "from\\to");
    for name in &names {
        let _ = write!(out, "{name:>4}");
    }
    out.push('\n');
    for (from, name) in names.iter().enumerate() {
        let _ = write!(out, "{name:>8}");
        for to in 0..l {
            let _ = write!(out, "{:>4}", u8::from(constraints.allows(from, to)));
        }
        out.push('\n');
    }
    let bits = |mask: ModelMask| {
        names.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, n)| *n).collect::<Vec<_>>().join(" ")
    };
    let _ = writeln!(out, "  may start: {}   may end: {}", bits(constraints.start), bits(constraints.end));
    out.push_str(&transition_table(&float.tag_names, &float.transitions, &float.start, &float.end, Some(&constraints)));
    out_raw!("{out}");
    Ok(())
}

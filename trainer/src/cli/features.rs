//! `trainer features`: a tagged CoNLL column file's token-level features in CRFsuite's attribute format,
//! so that CRFsuite trains on exactly our feature strings (`bench/bench-peers`).

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;

use crate::conll::{read_conll_columns, TagColumn};
use crate::crfsuite::write_attributes;
use crate::pipeline::{load_model, read_model_file};
use crate::token::{read_token_features, TokenFeatures};

/// Options of `features`.
#[derive(Debug, Clone, Args)]
pub struct FeaturesArgs {
    /// The tagged CoNLL column file (the tag last; Weibo NER's word positions are removed as the
    /// trainer removes them).
    #[arg(value_name = "FILE")]
    pub input: PathBuf,
    /// Use the templates stored in this token-level model (those it was trained with).
    #[arg(long, value_name = "MODEL", conflicts_with = "template")]
    pub model: Option<PathBuf>,
    /// Use this CRF++ template file (as `trainer train --template`). Without --model or --template: the
    /// default template for the file's columns.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Where to write the attribute file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `features`.
pub fn run_features(args: &FeaturesArgs) -> Result<()> {
    let name = args.input.display().to_string();
    let file = read_conll_columns(&args.input, TagColumn::Last)?;
    let Some(first) = file.sentences.first() else {
        bail!("{name}: no sentence (a CoNLL file needs token lines, a blank line between sentences)");
    };
    let columns = first.tokens[0].len();
    let features = match &args.model {
        Some(path) => {
            use decoder::internal::ModelInternals;
            let bytes = read_model_file(path)?;
            let model = load_model(path, &bytes)?;
            let templates = model.token_templates().map(TokenFeatures::from_decoder);
            templates.with_context(|| format!("{}: not a token-level model (it has no templates)", path.display()))?
        }
        None => read_token_features(args.template.as_deref(), columns)?,
    };
    let handle = std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut writer = std::io::BufWriter::new(handle);
    write_attributes(&file, &name, &features, &mut writer)?;
    writer.flush().with_context(|| format!("writing {}", args.out.display()))
}

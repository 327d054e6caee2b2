//! What `trainer inspect` prints about a neural model.

use std::fmt::Write as _;
use std::path::Path;

use decoder::internal::neural::Neural;
use decoder::internal::ModelInternals;

/// The model's figures: size, tags, score unit, and the encoder layer by layer.
pub fn describe(path: &Path, file_bytes: usize, model: &decoder::Model<'_>, neural: &Neural<'_>) -> String {
    let body = model.body();
    let mut out = String::new();
    let _ = writeln!(out, "model {}: {file_bytes} bytes, format version {}", path.display(), body.version());
    let _ = writeln!(out, "metadata: {}", model.metadata());
    let tags = model.tag_names().collect::<Vec<_>>().join(" ");
    let _ = writeln!(out, "tags ({}): {tags}   scheme {:?}", model.num_tags(), model.scheme());
    let _ = writeln!(out, "scores: integers in units of 2^-{}", body.score_frac_bits);
    let kind = if model.hybrid_table().is_some() { "hybrid: neural encoder" } else { "neural encoder" };
    let _ = writeln!(out, "emission: {kind} (int8 weights and activations, i32 accumulators)");
    let _ = writeln!(
        out,
        "  embeddings: {} characters + 1 unknown, {} n-gram templates into {} buckets, width {}",
        neural.vocabulary_size(),
        neural.ngram_templates(),
        neural.ngram_buckets(),
        neural.embedding_dim()
    );
    for (i, (channels, kernel, dilation)) in neural.conv_layers().enumerate() {
        let _ = writeln!(out, "  convolution {i}: {channels} channels, kernel {kernel}, dilation {dilation}, ReLU");
    }
    let _ = writeln!(
        out,
        "  dense: {} scores; reach of the convolutions: {} characters each side",
        model.num_tags(),
        neural.conv_reach()
    );
    let _ = writeln!(out, "  weights: {} bytes", neural.weight_bytes());
    if let Some(table) = model.hybrid_table() {
        let templates: Vec<String> = table.templates().map(|t| format!("{t:?}")).collect();
        let _ = writeln!(
            out,
            "hybrid n-gram table, added to the dense scores: {} rows, {:?} weights, {} bytes",
            table.rows(),
            table.weight_type(),
            table.weight_bytes()
        );
        let _ = writeln!(out, "  templates ({}): {}", templates.len(), templates.join(", "));
    }
    out
}

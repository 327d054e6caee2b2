//! The exported model's integer decode path, exactly as the device runs it: everything here goes
//! through `decoder` (its emission scores, hard-masked integer Viterbi and streaming segmenter).

use decoder::{LineLabeler, Model};
use rayon::prelude::*;

use crate::corpus::Sentence;
use crate::evaluate::{score_predictions, DevScore};
use crate::scorer::Dictionary;

/// Tags one sequence of raw characters (treated as one run, separators included) with the decoder's
/// whole-sequence integer Viterbi.
pub fn label_chars(labeler: &LineLabeler<'_>, chars: &[char]) -> Vec<u8> {
    let mut tags = vec![0u8; chars.len()];
    let mut backpointers = vec![0u8; labeler.backpointer_bytes(chars.len())];
    // The buffers have the sizes the decoder asks for, so this cannot fail.
    labeler.label(chars, &mut backpointers, &mut tags).expect("buffers sized by backpointer_bytes");
    tags
}

/// Tags sentences with the exported model through the integer path, in parallel.
pub fn predict(model: &Model<'_>, sentences: &[Sentence]) -> Vec<Vec<u8>> {
    let labeler = LineLabeler::new(model);
    sentences.par_iter().map(|s| label_chars(&labeler, &s.chars)).collect()
}

/// Scores an exported model on labelled sentences.
pub fn evaluate(model: &Model<'_>, sentences: &[Sentence], dictionary: Option<&Dictionary>) -> DevScore {
    let tag_names: Vec<String> = model.tag_names().map(str::to_string).collect();
    score_predictions(&tag_names, sentences, &predict(model, sentences), dictionary)
}

/// Segments raw text with the decoder's streaming [`decoder::Segmenter`] and its default window, as
/// the firmware does: one output line per input line, words separated by two spaces. Returns the
/// output and the number of forced cuts (places where the bounded window could not wait for the exact
/// Viterbi decision).
pub fn segment_stream<'m>(model: &Model<'m>, rules: decoder::SpanRules<'m>, input: &[u8]) -> (Vec<u8>, u64) {
    let mut out = Vec::with_capacity(input.len() + input.len() / 2);
    let cuts = decoder::internal::segment::segment_with_rules::<{ decoder::DEFAULT_WINDOW }>(
        model,
        rules,
        input,
        decoder::DEFAULT_SEPARATOR,
        |bytes| out.extend_from_slice(bytes),
    );
    (out, cuts)
}

//! The exported model's integer decode path, as the device runs it: everything goes through `decoder`.

use decoder::emission::EmissionModel;
use decoder::features::Context;
use decoder::text::normalize;
use decoder::Model;
use rayon::prelude::*;

use crate::corpus::Sentence;
use crate::evaluate::{score_predictions, DevScore};
use crate::scorer::Dictionary;

/// Tags one sequence of raw characters with the model's integer scores and hard-masked Viterbi.
pub fn label_chars(model: &Model<'_>, chars: &[char]) -> Vec<u8> {
    // TEMPORARY: replace with decoder::segment::label_chars once it lands.
    let l = model.num_tags();
    let t_len = chars.len();
    if t_len == 0 {
        return Vec::new();
    }
    let emission = model.emission();
    let normalized: Vec<char> = chars.iter().map(|&c| normalize(c, emission.normalization())).collect();
    let constraints = model.constraints();
    let mut scores = [0i32; decoder::MAX_TAGS];
    let mut delta = vec![i32::MIN; l];
    let mut next = vec![i32::MIN; l];
    let mut back = vec![0u8; t_len * l];
    emission.scores(&Context::at(&normalized, 0), &mut scores);
    for j in 0..l {
        if constraints.allows_start(j) {
            delta[j] = scores[j] + model.start_score(j);
        }
    }
    for t in 1..t_len {
        emission.scores(&Context::at(&normalized, t), &mut scores);
        for j in 0..l {
            let mut best = i32::MIN;
            for i in 0..l {
                if constraints.allows(i, j) && delta[i] != i32::MIN {
                    let s = delta[i] + model.transition(i, j);
                    if s > best {
                        best = s;
                        back[t * l + j] = i as u8;
                    }
                }
            }
            next[j] = if best == i32::MIN { i32::MIN } else { best + scores[j] };
        }
        std::mem::swap(&mut delta, &mut next);
    }
    let mut best = i32::MIN;
    let mut last = 0;
    for (j, &d) in delta.iter().enumerate() {
        if constraints.allows_end(j) && d != i32::MIN && d + model.end_score(j) > best {
            best = d + model.end_score(j);
            last = j;
        }
    }
    let mut tags = vec![0u8; t_len];
    tags[t_len - 1] = last as u8;
    for t in (1..t_len).rev() {
        tags[t - 1] = back[t * l + usize::from(tags[t])];
    }
    tags
}

/// Tags sentences with the exported model through the integer path, in parallel.
pub fn predict(model: &Model<'_>, sentences: &[Sentence]) -> Vec<Vec<u8>> {
    sentences.par_iter().map(|s| label_chars(model, &s.chars)).collect()
}

/// Scores an exported model on labelled sentences.
pub fn evaluate(model: &Model<'_>, sentences: &[Sentence], dictionary: Option<&Dictionary>) -> DevScore {
    let tag_names: Vec<String> = model.tag_names().map(str::to_string).collect();
    score_predictions(&tag_names, sentences, &predict(model, sentences), dictionary)
}

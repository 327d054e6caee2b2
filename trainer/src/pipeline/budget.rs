//! Sizing a model for a byte budget: the largest table that fits next to the word list, the word
//! list's share of the budget, the template set for a table size, and the rows each feature reads.

use anyhow::{bail, Result};
use decoder::internal::format::{WeightType, CODEBOOK_ENTRIES};

use super::report::weight_type_name;
use super::TrainOptions;
use crate::corpus::WordTags;
use crate::features::{FeatureSpec, TemplateSet};
use crate::quantize;

/// Rows per feature of codebook models: two features then rarely share all their rows, which was
/// worth its cost (one more table read per template and character) in the PKU budget runs.
const DEFAULT_HASHES_PER_FEATURE: u8 = 2;

/// Room kept for the metadata string when sizing a model for a byte budget.
pub(super) const METADATA_BUDGET: usize = 320;

/// Share of a byte budget the word list takes by default, in percent: the best of the shares tried
/// on PKU (a smaller and a larger share, and no list, did worse).
const LEXICON_BUDGET_PERCENT: usize = 30;

/// The rows each feature reads: [`TrainOptions::hashes_per_feature`] for a codebook model (default
/// [`DEFAULT_HASHES_PER_FEATURE`]), one for direct weights.
pub(super) fn hashes_per_feature(options: &TrainOptions, codebook: bool) -> Result<u8> {
    Ok(match (codebook, options.hashes_per_feature) {
        (true, hashes) => hashes.unwrap_or(DEFAULT_HASHES_PER_FEATURE),
        (false, None | Some(1)) => 1,
        (false, Some(hashes)) => bail!("--hashes-per-feature {hashes} needs a codebook model (--weight-type codebook)"),
    })
}

/// The templates: an explicit list, a named set, or (auto) the compact set for tables of at most
/// `COMPACT_MAX_ROWS` rows and the standard set otherwise; then, with a word list, the lexicon templates.
/// Auto takes the basic set (the standard one without its trigram) where the standard set and the
/// lexicon templates would read more than the decoder's `MAX_TEMPLATES` rows a position with `hashes`
/// rows per feature (a codebook model of more than `COMPACT_MAX_ROWS` rows).
pub(super) fn choose_templates(
    options: &TrainOptions,
    rows: u32,
    lexicon: bool,
    hashes: u8,
) -> Result<Vec<decoder::internal::features::Template>> {
    let mut lexicon_templates = if lexicon { crate::features::lexicon_templates(rows) } else { &[] };
    let extra = lexicon_templates.len();
    let mut templates = match &options.template_list {
        Some(list) => crate::features::parse_templates(list).map_err(|e| anyhow::anyhow!("--template-list: {e}"))?,
        None => {
            let set = options.templates.resolve(rows);
            let reads = (set.templates().len() + extra) * usize::from(hashes);
            let fallback = options.templates == TemplateSet::Auto && set == TemplateSet::Standard;
            if fallback && reads > decoder::MAX_TEMPLATES { TemplateSet::Basic } else { set }.templates()
        }
    };
    // The optional lexicon templates are the first to be dropped when the decoder's reads a position run out
    // (a large codebook table reads two rows a feature).
    if (templates.len() + lexicon_templates.len()) * usize::from(hashes) > decoder::MAX_TEMPLATES {
        lexicon_templates = &lexicon_templates[..lexicon_templates.len().min(crate::features::CORE_LEXICON_TEMPLATES)];
    }
    templates.extend(lexicon_templates);
    Ok(templates)
}

/// The word list's size limit: `None` for no list, `Some(None)` for every word. Only word segmentation
/// has words to list; other tag sets get none.
pub(super) fn lexicon_limit(options: &TrainOptions, tag_names: &[String]) -> Option<Option<usize>> {
    if !options.lexicon || WordTags::of(tag_names).is_none() {
        return None;
    }
    let by_budget =
        options.max_model_bytes.map(|b| b * LEXICON_BUDGET_PERCENT / 100 / decoder::internal::lexicon::WORD_HASH_BYTES);
    Some(options.lexicon_words.or(by_budget))
}

/// The most rows whose model file fits `budget` bytes, with direct weights (a power of two) or codes,
/// next to a word list of `words` words (if any).
pub(super) fn largest_table(
    tag_names: &[String],
    budget: usize,
    codebook: bool,
    weight_type: WeightType,
    words: Option<usize>,
) -> Option<u32> {
    let fits = |rows: u32| {
        let spec = FeatureSpec::with_rows(Vec::new(), rows);
        let size = quantize::file_size(
            tag_names,
            decoder::MAX_TEMPLATES,
            &spec,
            codebook,
            weight_type,
            words,
            METADATA_BUDGET,
        );
        size <= budget
    };
    let max_rows = 1u32 << decoder::MAX_BUCKET_BITS;
    if !codebook {
        return (4..=decoder::MAX_BUCKET_BITS).rev().map(|bits| 1u32 << bits).find(|&rows| fits(rows));
    }
    // The file grows with the row count: binary search for the last row count that fits.
    if !fits(1) {
        return None;
    }
    let (mut fitting, mut too_big) = (1u32, max_rows + 1);
    while too_big - fitting > 1 {
        let mid = fitting + (too_big - fitting) / 2;
        if fits(mid) {
            fitting = mid;
        } else {
            too_big = mid;
        }
    }
    Some(fitting)
}

/// The line that says how a budget was spent.
pub(super) fn describe_budget(
    budget: usize,
    rows: u32,
    tags: usize,
    codebook: bool,
    weight_type: WeightType,
    list_words: Option<usize>,
) -> String {
    let table_bytes = if codebook {
        format!(
            "{rows} one-byte codes + a {}-entry codebook of {} weights",
            CODEBOOK_ENTRIES,
            weight_type_name(weight_type)
        )
    } else {
        format!("{} bytes of {} weights", rows as usize * tags * weight_type.bytes(), weight_type_name(weight_type))
    };
    let list = match list_words {
        Some(words) => format!(", a word list of at most {words} words"),
        None => String::new(),
    };
    format!("budget {budget} bytes: {rows} rows ({table_bytes}){list}")
}

//! What the tag sets cost the decoder on the Cortex-M3, as measured by
//! `cargo xtask firmware measure` and kept in `docs/firmware.json`: the
//! frontier quotes those measurements (model and commit included) or says
//! that they are missing, never a number of its own.

use crate::{
    firmware::Board,
    measure::record::{Measurement, MEASUREMENTS_FILE},
    util::group_digits,
};

use super::plan::WordTags;

/// The measurements the decode-cost sentence compares: a 4-tag and a 6-tag
/// model with a word list (what the frontier trains), on the lm3s6965evb.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecodeCosts {
    /// The 4-tag model's measurement, if there is one.
    pub four_tags: Option<Measurement>,
    /// The 6-tag model's measurement, if there is one.
    pub six_tags: Option<Measurement>,
}

/// The board whose decode cost the frontier reports.
const COST_BOARD: Board = Board::Lm3s6965evb;

impl DecodeCosts {
    /// Picks the pair from `measurements`: the latest 6-tag measurement, and
    /// the 4-tag one on the same input closest to it in model size (so the
    /// two differ in their tags, as far as the file allows); ties go to the
    /// later measurement, then to the model's path.
    pub fn select(measurements: &[Measurement]) -> Self {
        let candidates = |tags: WordTags| {
            measurements.iter().filter(move |entry| {
                entry.board == COST_BOARD.name()
                    && entry.word_list
                    && entry.tags == tags.count() as u64
                    && entry.without_user_dict()
            })
        };
        let latest = |entry: &&Measurement| (entry.generated.clone(), std::cmp::Reverse(entry.model.clone()));
        let six_tags = candidates(WordTags::Bmes6).max_by_key(latest).cloned();
        let four_tags = match &six_tags {
            Some(six) => candidates(WordTags::Bmes)
                .filter(|four| four.input == six.input)
                .min_by_key(|four| (four.model_bytes.abs_diff(six.model_bytes), std::cmp::Reverse(latest(four))))
                .cloned(),
            None => candidates(WordTags::Bmes).max_by_key(latest).cloned(),
        };
        Self { four_tags, six_tags }
    }

    /// The measurement of `tags`.
    pub fn of(&self, tags: WordTags) -> Option<&Measurement> {
        match tags {
            WordTags::Bmes => self.four_tags.as_ref(),
            WordTags::Bmes6 => self.six_tags.as_ref(),
        }
    }
}

/// `model` at commit `commit` (`, with uncommitted changes`).
fn provenance(entry: &Measurement) -> String {
    let dirty = if entry.dirty { " with uncommitted changes" } else { "" };
    format!("`{}` at commit {}{dirty}", entry.model, entry.commit)
}

/// The Markdown's sentence on what the tags cost the decoder.
pub fn decode_cost_sentence(costs: &DecodeCosts) -> String {
    match (&costs.four_tags, &costs.six_tags) {
        (Some(four), Some(six)) => format!(
            "6 tags buy accuracy with decode time: on the Cortex-M3 a 6-tag model costs about {:.1} times the \
             decode instructions of a 4-tag one ({} against {} instructions per character on `{}`; {} and {}, \
             both with a word list, as `cargo xtask firmware measure` recorded them in {MEASUREMENTS_FILE}).",
            six.instructions_per_char / four.instructions_per_char.max(1.0),
            group_digits(six.instructions_per_char.round() as u64),
            group_digits(four.instructions_per_char.round() as u64),
            six.input,
            provenance(six),
            provenance(four),
        ),
        _ => {
            let missing: Vec<String> = WordTags::ALL
                .into_iter()
                .filter(|&tags| costs.of(tags).is_none())
                .map(|tags| format!("{}-tag", tags.count()))
                .collect();
            format!(
                "What 6 tags cost the decoder against 4 is not measured: {MEASUREMENTS_FILE} has no {COST_BOARD} \
                 measurement of a {} model with a word list; run `cargo xtask firmware measure --board \
                 {COST_BOARD} --model MODEL` with one.",
                missing.join(" or a ")
            )
        }
    }
}

/// `frontier.json`'s view of the costs: instructions per character by tag
/// set, and where each figure comes from (`null` when not measured).
pub fn decode_costs_json(costs: &DecodeCosts) -> (serde_json::Value, serde_json::Value) {
    let mut figures = serde_json::Map::new();
    let mut sources = serde_json::Map::new();
    for tags in WordTags::ALL {
        let entry = costs.of(tags);
        figures.insert(tags.name().to_owned(), entry.map(|entry| entry.instructions_per_char).into());
        let source = entry.map(|entry| {
            serde_json::json!({
                "board": entry.board,
                "model": entry.model,
                "model_sha256": entry.model_sha256,
                "model_bytes": entry.model_bytes,
                "input": entry.input,
                "commit": entry.commit,
                "dirty": entry.dirty,
                "generated": entry.generated,
            })
        });
        sources.insert(tags.name().to_owned(), source.unwrap_or(serde_json::Value::Null));
    }
    (figures.into(), sources.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::record::tests::measurement;

    fn sized(mut entry: Measurement, model_bytes: u64, generated: &str) -> Measurement {
        entry.model_bytes = model_bytes;
        entry.generated = generated.to_owned();
        entry
    }

    #[test]
    fn the_sentence_quotes_the_measured_models_and_their_commits() {
        let six = measurement("lm3s6965evb", "target/pku-160k-bmes6.crfm", "66", 6, 3200.4);
        let four = measurement("lm3s6965evb", "target/pku-160k.crfm", "44", 4, 2000.0);
        let costs = DecodeCosts::select(&[six, four]);
        let sentence = decode_cost_sentence(&costs);
        assert!(sentence.contains("about 1.6 times"), "{sentence}");
        assert!(sentence.contains("(3,200 against 2,000 instructions per character"), "{sentence}");
        assert!(sentence.contains("`target/pku-160k-bmes6.crfm` at commit 0123456789ab"), "{sentence}");
        assert!(sentence.contains("`target/pku-160k.crfm` at commit"), "{sentence}");
        let (figures, sources) = decode_costs_json(&costs);
        assert_eq!(figures["bmes6"], 3200.4);
        assert_eq!(sources["bmes"]["model"], "target/pku-160k.crfm");
    }

    #[test]
    fn a_missing_measurement_is_named_with_the_command_never_guessed() {
        let four = measurement("lm3s6965evb", "target/pku-160k.crfm", "44", 4, 2000.0);
        let mut other_board = measurement("mps2-an386", "target/pku-160k-bmes6.crfm", "66", 6, 4000.0);
        other_board.core = "Cortex-M4".to_owned();
        let mut no_word_list = measurement("lm3s6965evb", "target/plain6.crfm", "67", 6, 3000.0);
        no_word_list.word_list = false;
        let costs = DecodeCosts::select(&[four, other_board, no_word_list]);
        assert_eq!(costs.six_tags, None);
        let sentence = decode_cost_sentence(&costs);
        assert!(sentence.contains("is not measured"), "{sentence}");
        assert!(sentence.contains("of a 6-tag model with a word list"), "{sentence}");
        assert!(sentence.contains("`cargo xtask firmware measure --board lm3s6965evb --model MODEL`"));
        assert!(!sentence.contains("2,000") && !sentence.contains("times"), "{sentence}");
        let nothing = decode_cost_sentence(&DecodeCosts::default());
        assert!(nothing.contains("of a 4-tag or a 6-tag model"), "{nothing}");
        assert_eq!(decode_costs_json(&DecodeCosts::default()).0["bmes"], serde_json::Value::Null);
    }

    #[test]
    fn the_four_tag_model_closest_in_size_to_the_six_tag_one_is_compared() {
        let six = sized(measurement("lm3s6965evb", "six.crfm", "66", 6, 4000.0), 160_000, "2026-12-04 16:00 UTC");
        let old_six = sized(measurement("lm3s6965evb", "old6.crfm", "65", 6, 5000.0), 160_000, "2026-12-01 10:00 UTC");
        let default =
            sized(measurement("lm3s6965evb", "default.crfm", "40", 4, 3000.0), 200_000, "2026-12-04 17:00 UTC");
        let same_size =
            sized(measurement("lm3s6965evb", "four.crfm", "44", 4, 2000.0), 161_000, "2026-12-04 15:00 UTC");
        let costs = DecodeCosts::select(&[default, old_six, same_size, six]);
        assert_eq!(costs.six_tags.unwrap().model, "six.crfm");
        assert_eq!(costs.four_tags.unwrap().model, "four.crfm");
    }
}

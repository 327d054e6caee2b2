//! Models of more than 16 tags: token-level models of up to 32 tags with the `wide-tags` feature,
//! refused with [`ModelError::BadTagCount`] (never a panic) without it, and character models of more
//! than 16 tags refused in every build.

use decoder::internal::features::Template;
use decoder::internal::format::{TokenSpec, WeightType};
use decoder::{Model, ModelError, MAX_CHAR_TAGS, MAX_TAGS};

mod common;
use common::{Rng, Spec};

/// IOB2 names: `O`, then `B-Tk I-Tk` for `types` types.
fn iob2_names(types: usize) -> String {
    let mut names = vec!["O".to_string()];
    for k in 0..types {
        names.push(format!("B-T{k}"));
        names.push(format!("I-T{k}"));
    }
    names.join(" ")
}

/// A token-level model over `names` with random i8 weights (or every weight `extreme`) for the
/// templates below, random (or extreme) transition scores, and `token` templates (`None`: a character
/// model of the same tags).
fn model_bytes(names: &str, rng: &mut Rng, extreme: Option<i8>, token: bool) -> Vec<u8> {
    let l = names.split(' ').count();
    let bucket_bits = 6u8;
    let weights =
        (0..(1usize << bucket_bits) * l).map(|_| extreme.unwrap_or_else(|| rng.below(256) as u8 as i8) as u8).collect();
    let mut scores = |n: usize| {
        (0..n)
            .map(|_| match extreme {
                Some(e) if e > 0 => i16::MAX,
                Some(_) => i16::MIN,
                None => rng.range(-2000, 2000) as i16,
            })
            .collect::<Vec<_>>()
    };
    let (transitions, start, end) = (scores(l * l), scores(l), scores(l));
    let spec = Spec {
        names: names.into(),
        custom: None,
        normalization: 0,
        templates: vec![Template::Bias],
        bucket_bits,
        weight_type: WeightType::I8,
        weight_shift: 8,
        weights,
        transitions,
        start,
        end,
    };
    if token {
        spec.encode_tokens(&TokenSpec { columns: 1, templates: "U00:%x[0,0]\nU01:%x[-1,0]/%x[0,0]\nU02:%x[1,0]" })
    } else {
        spec.encode()
    }
}

#[test]
fn a_character_model_of_more_than_16_tags_is_refused_in_every_build() {
    let names = iob2_names(8); // 17 tags
    let bytes = model_bytes(&names, &mut Rng(1), None, false);
    let error = Model::from_bytes(&bytes).unwrap_err();
    assert_eq!(error, ModelError::BadTagCount { count: 17 });
    assert!(error.to_string().starts_with("model declares 17 tags (1..=16 supported"), "{error}");
}

#[cfg(not(feature = "wide-tags"))]
#[test]
fn without_wide_tags_a_token_model_of_more_than_16_tags_is_refused() {
    assert_eq!(MAX_TAGS, MAX_CHAR_TAGS);
    let names = iob2_names(10); // 21 tags
    let bytes = model_bytes(&names, &mut Rng(2), None, true);
    let error = Model::from_bytes(&bytes).unwrap_err();
    assert_eq!(error, ModelError::BadTagCount { count: 21 });
    assert_eq!(
        error.to_string(),
        "model declares 21 tags (1..=16 supported; a token-level model of up to 32 tags needs the decoder's \
         `wide-tags` feature)"
    );
}

#[cfg(feature = "wide-tags")]
mod wide {
    use decoder::internal::lattice::{backpointer_bytes, label_tokens, viterbi_wide, TransitionScores};
    use decoder::internal::tags::Constraints;
    use decoder::{Segmenter, DEFAULT_WINDOW};

    use super::*;

    /// May tag `to` follow tag `from` in IOB2 (`to` may also be the first tag, `from = None`)?
    fn iob2_allows(names: &[&str], from: Option<usize>, to: usize) -> bool {
        let Some(kind) = names[to].strip_prefix("I-") else { return true };
        from.is_some_and(|f| names[f].strip_prefix("B-").or_else(|| names[f].strip_prefix("I-")) == Some(kind))
    }

    /// Random sentences of tokens from a small vocabulary (so that features repeat).
    fn sentence(rng: &mut Rng, len: usize) -> Vec<[String; 1]> {
        (0..len).map(|_| [format!("w{}", rng.below(40))]).collect()
    }

    #[test]
    fn a_token_model_above_32_tags_is_refused() {
        assert_eq!(MAX_TAGS, 32);
        let names = iob2_names(16); // 33 tags
        let bytes = model_bytes(&names, &mut Rng(3), None, true);
        let error = Model::from_bytes(&bytes).unwrap_err();
        assert_eq!(error, ModelError::BadTagCount { count: 33 });
        assert_eq!(
            error.to_string(),
            "model declares 33 tags (1..=16 supported for a character-level model, 1..=32 for a token-level one)"
        );
    }

    /// Whatever the scores (random, or every weight and transition at an extreme), the decoder's IOB2
    /// masks hold: no `I-X` at the start, after `O` or after a tag of another type; and the labels are
    /// the best allowed sequence (its score equals an exhaustive dynamic program's in `i64`).
    #[test]
    fn iob2_masks_hold_for_25_and_31_tags_whatever_the_scores() {
        for (types, seed) in [(12usize, 11u64), (15, 12)] {
            let names_text = iob2_names(types);
            let names: Vec<&str> = names_text.split(' ').collect();
            let l = names.len();
            assert!(l > MAX_CHAR_TAGS);
            for extreme in [None, Some(i8::MAX), Some(i8::MIN)] {
                let mut rng = Rng(seed);
                let bytes = model_bytes(&names_text, &mut rng, extreme, true);
                let model = Model::from_bytes(&bytes).unwrap();
                assert!(model.is_token_level());
                assert_eq!(model.num_tags(), l);
                for len in [1usize, 2, 3, 7, 40] {
                    let tokens = sentence(&mut rng, len);
                    let mut back = vec![0u8; backpointer_bytes(l, len)];
                    let mut tags = vec![0u8; len];
                    let score = label_tokens(&model, &tokens[..], &mut back, &mut tags).unwrap();
                    for (t, &tag) in tags.iter().enumerate() {
                        let previous = t.checked_sub(1).map(|p| usize::from(tags[p]));
                        assert!(
                            iob2_allows(&names, previous, usize::from(tag)),
                            "{types} types, {extreme:?}, position {t}: {:?} after {:?}",
                            names[usize::from(tag)],
                            previous.map(|p| names[p])
                        );
                    }
                    assert_eq!(score, best_score(&model, &names, &tokens), "{types} types, {extreme:?}, {len}");
                }
            }
        }
    }

    /// The best allowed sequence's score by a plain dynamic program in `i64` over the IOB2 rules, from
    /// the scores the model gives (one-tag emission columns read through a one-token labelling).
    fn best_score(model: &Model<'_>, names: &[&str], tokens: &[[String; 1]]) -> i64 {
        use decoder::internal::ModelInternals;
        let l = names.len();
        let emission = |t: usize| {
            let mut e = [0i32; MAX_TAGS];
            model.token_scores(tokens, t, &mut e);
            e
        };
        let e0 = emission(0);
        let mut score: Vec<Option<i64>> = (0..l)
            .map(|j| iob2_allows(names, None, j).then(|| i64::from(model.start_score(j)) + i64::from(e0[j])))
            .collect();
        for t in 1..tokens.len() {
            let e = emission(t);
            score = (0..l)
                .map(|j| {
                    (0..l)
                        .filter(|&i| iob2_allows(names, Some(i), j))
                        .filter_map(|i| score[i].map(|s| s + i64::from(model.transition(i, j))))
                        .max()
                        .map(|best| best + i64::from(e[j]))
                })
                .collect();
        }
        (0..l).filter_map(|j| score[j].map(|s| s + i64::from(model.end_score(j)))).max().unwrap()
    }

    /// The character labelers are 16 wide: given a 25-tag token model they label every unit with tag 0
    /// instead of panicking.
    #[test]
    fn the_character_labelers_do_not_panic_on_a_wide_model() {
        let bytes = model_bytes(&iob2_names(12), &mut Rng(5), None, true);
        let model = Model::from_bytes(&bytes).unwrap();
        let mut segmenter = Segmenter::<DEFAULT_WINDOW>::new(&model);
        let mut out = Vec::new();
        segmenter.push("中文 text 12".as_bytes(), |piece| out.extend_from_slice(piece));
        segmenter.finish(|piece| out.extend_from_slice(piece));
        assert!(!out.is_empty());
        let labeler = decoder::LineLabeler::new(&model);
        let chars: Vec<char> = "中文字".chars().collect();
        let mut back = vec![0u8; labeler.backpointer_bytes(chars.len())];
        let mut tags = vec![9u8; chars.len()];
        labeler.label(&chars, &mut back, &mut tags).unwrap();
        assert_eq!(tags, [0, 0, 0]);
    }

    /// Wielandt's graph on `l` tags (the largest primitivity exponent, `(l-1)^2 + 1`).
    fn wielandt(l: usize) -> Constraints<u32, MAX_TAGS> {
        let mut c = Constraints::<u32, MAX_TAGS>::allow_all(l);
        c.next = [0; MAX_TAGS];
        for i in 0..l - 1 {
            c.next[i] = 1 << (i + 1);
        }
        c.next[l - 1] = 0b11;
        c
    }

    /// 20,000 positions of extreme scores for 17, 24 and 32 tags on the worst-case graph and the
    /// complete one: no overflow (tests build with overflow checks) and the spread bound of 32 tags
    /// holds (`debug_assert`ed on every column).
    #[test]
    fn extreme_scores_never_overflow_on_32_tags() {
        const T: usize = 20_000;
        for l in [17usize, 24, 32] {
            assert_eq!(wielandt(l).validate(), Ok((l - 1) * (l - 1) + 1));
            for graph in [wielandt(l), Constraints::<u32, MAX_TAGS>::allow_all(l)] {
                for (pattern, value) in [(0, i16::MAX), (1, i16::MIN), (2, i16::MAX)] {
                    let pick = |i: usize| if pattern == 2 && i % 2 == 1 { i16::MIN } else { value };
                    let transitions: Vec<i16> = (0..l * l).map(pick).collect();
                    let start: Vec<i16> = (0..l).map(pick).collect();
                    let end: Vec<i16> = (0..l).map(pick).collect();
                    let scores = TransitionScores::<u32, MAX_TAGS>::new(&graph, &transitions, &start, &end).unwrap();
                    let emissions: Vec<i32> =
                        (0..T * l).map(|i| if (i / 3) % 2 == 0 { i32::MAX } else { i32::MIN }).collect();
                    let mut back = vec![0u8; (T - 1) * l];
                    let mut tags = vec![0u8; T];
                    viterbi_wide(&emissions, &scores, &mut back, &mut tags).unwrap();
                    assert!(graph.allows_sequence(&tags), "L = {l}");
                }
            }
        }
    }
}

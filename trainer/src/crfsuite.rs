//! CRFsuite's attribute format from our token-level features, so that a CRFsuite model trains on exactly
//! the feature strings our trainer hashes (the peer benchmark, `bench/bench-peers`).
//!
//! The strings come from `decoder::internal::tokens::expand`, the function whose output the trainer and
//! the decoder hash, so no template is reimplemented here. One token a line: its tag, then each feature
//! as an attribute, TAB-separated, with `\` and `:` escaped (`\\`, `\:`) since CRFsuite reads `name:value`;
//! a blank line after each sentence (`crfsuite learn`'s and `crfsuite tag`'s input).

use std::io::Write;

use anyhow::{bail, Result};
use decoder::internal::tokens::{expand, TokenTemplates};
use decoder::MAX_TEMPLATES;

use crate::conll::ConllFile;
use crate::token::TokenFeatures;

/// The feature strings of every token of a sentence, `[token][template]`: the bytes
/// [`TokenFeatures::hashes`] hashes, as text.
pub fn feature_strings(features: &TokenFeatures, tokens: &[Vec<String>]) -> Vec<Vec<String>> {
    let Ok(templates) = TokenTemplates::new(&features.templates, usize::from(features.columns), MAX_TEMPLATES) else {
        return Vec::new(); // `TokenFeatures::new` validated them
    };
    (0..tokens.len())
        .map(|position| {
            templates
                .lines()
                .map(|line| {
                    let mut bytes = Vec::new();
                    expand(line, tokens, position, &mut |piece: &[u8]| bytes.extend_from_slice(piece));
                    // Pieces are whole template literals and whole UTF-8 column texts, or functions of
                    // them that cut at character boundaries.
                    String::from_utf8_lossy(&bytes).into_owned()
                })
                .collect()
        })
        .collect()
}

/// An attribute name as CRFsuite's data format spells it: `\` as `\\`, `:` as `\:` (a bare `:` would
/// start the attribute's value).
pub fn escape_attribute(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if matches!(c, '\\' | ':') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes a tagged CoNLL file's sentences in CRFsuite's attribute format (see the module comment).
/// `source_name` names the file in errors: a file whose input columns are not the templates' is refused
/// at its first data line.
pub fn write_attributes(
    file: &ConllFile,
    source_name: &str,
    features: &TokenFeatures,
    out: &mut impl Write,
) -> Result<()> {
    let expected = usize::from(features.columns);
    if let Some(first) = file.sentences.first() {
        let columns = first.tokens.first().map_or(0, Vec::len);
        if columns != expected {
            bail!(
                "{source_name}:{}: {columns} input columns and a tag, but the templates read {expected}",
                first.lines.first().copied().unwrap_or(0)
            );
        }
    }
    for sentence in &file.sentences {
        for (tag, attributes) in sentence.tags.iter().zip(feature_strings(features, &sentence.tokens)) {
            out.write_all(tag.as_bytes())?;
            for attribute in attributes {
                out.write_all(b"\t")?;
                out.write_all(escape_attribute(&attribute).as_bytes())?;
            }
            out.write_all(b"\n")?;
        }
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conll::{parse_conll_columns, TagColumn};
    use crate::token::default_template;
    use decoder::internal::tokens::feature_hash;

    const CONLL: &str = "-DOCSTART- -X- O\n\nHe PRP B-NP\nsaid VBD B-VP\n\nU.S. NNP B-NP\n";

    fn two_templates() -> TokenFeatures {
        TokenFeatures::new(2, "U00:%x[-1,0]/%x[0,1]\nU01:%lower[1,0]".into()).unwrap()
    }

    #[test]
    fn a_small_file_gives_the_expected_attribute_lines() {
        let file = parse_conll_columns(CONLL.as_bytes(), "small.txt", TagColumn::Last).unwrap();
        let mut out = Vec::new();
        write_attributes(&file, "small.txt", &two_templates(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "B-NP\tU00\\:_B-1/PRP\tU01\\:said\n\
             B-VP\tU00\\:He/VBD\tU01\\:_B+1\n\
             \n\
             B-NP\tU00\\:_B-1/NNP\tU01\\:_B+1\n\
             \n"
        );
    }

    #[test]
    fn the_strings_are_what_the_trainer_hashes() {
        let file = parse_conll_columns(CONLL.as_bytes(), "small.txt", TagColumn::Last).unwrap();
        let features = TokenFeatures::new(2, default_template(2)).unwrap();
        for sentence in &file.sentences {
            let strings = feature_strings(&features, &sentence.tokens);
            let hashed: Vec<u32> = strings.iter().flatten().map(|s| feature_hash(s.as_bytes())).collect();
            assert_eq!(hashed, features.hashes(&sentence.tokens));
            assert_eq!(strings.len() * features.len(), hashed.len());
        }
    }

    #[test]
    fn backslashes_and_colons_are_escaped() {
        assert_eq!(escape_attribute(r"U01:a\b:c"), r"U01\:a\\b\:c");
        assert_eq!(escape_attribute("plain"), "plain");
    }

    #[test]
    fn a_file_of_other_columns_is_refused_at_its_first_line() {
        let file = parse_conll_columns(b"\nHe B-NP\n", "one.txt", TagColumn::Last).unwrap();
        let error = write_attributes(&file, "one.txt", &two_templates(), &mut Vec::new()).unwrap_err();
        assert_eq!(error.to_string(), "one.txt:2: 1 input columns and a tag, but the templates read 2");
    }
}

//! Distillation from a larger host model ("uptraining"): a teacher labels unlabeled text, and the
//! labelled text joins the gold training data of a smaller model.
//!
//! Why: a byte budget leaves a hashed table of about 2^17 rows, whose features collide. More text in
//! the teacher's (consistent) segmentation gives the small model more evidence for the rows it has: on
//! PKU under a budget, the CTB6 training text labelled by the unlimited PKU model lifted test F1 with
//! every seed tried. The teacher itself does not gain from its own labels.

use anyhow::{bail, Context as _, Result};
use decoder::internal::segment::ChunkRoles;
use decoder::Model;

use crate::corpus::{self, Sentence, WordTags};
use crate::evaluate::predict_float;
use crate::integer;
use crate::model::FloatModel;

/// The model that labels the unlabeled text.
#[derive(Clone, Copy)]
pub enum Teacher<'a> {
    /// A float model trained in the same run (the unlimited reference model of a budget run).
    Float(&'a FloatModel),
    /// An exported model file, labelling through the decoder's integer path.
    Exported(&'a Model<'a>),
}

impl Teacher<'_> {
    /// The teacher's tag names, in its model order.
    pub fn tag_names(&self) -> Vec<String> {
        match self {
            Teacher::Float(model) => model.tag_names.clone(),
            Teacher::Exported(model) => model.tag_names().map(str::to_string).collect(),
        }
    }

    /// One tag sequence per text (masked Viterbi over the whole text).
    fn label(&self, texts: &[Vec<char>]) -> Vec<Vec<u8>> {
        // Both predictors read only the characters; the tags are left empty.
        let sentences: Vec<Sentence> =
            texts.iter().map(|chars| Sentence { chars: chars.clone(), tags: Vec::new() }).collect();
        match self {
            Teacher::Float(model) => predict_float(model, &sentences),
            Teacher::Exported(model) => integer::predict(model, &sentences),
        }
    }
}

/// Labels `texts` with `teacher` in the student's tags `student_tags`. For word segmentation the
/// teacher's words are retagged in the student's scheme (a six-tag teacher can teach a four-tag
/// student); any other tag set must be the teacher's own.
pub fn label(teacher: Teacher<'_>, texts: &[Vec<char>], student_tags: &[String]) -> Result<Vec<Sentence>> {
    let teacher_tags = teacher.tag_names();
    let predicted = teacher.label(texts);
    match (WordTags::of(&teacher_tags), WordTags::of(student_tags)) {
        (Some(_), Some(student)) => {
            let roles = ChunkRoles::from_names(teacher_tags.iter().map(String::as_str));
            Ok(texts
                .iter()
                .zip(&predicted)
                .map(|(chars, tags)| corpus::words_to_sentence(&corpus::tags_to_words(chars, tags, &roles), student))
                .collect())
        }
        _ if teacher_tags == student_tags => {
            Ok(texts.iter().zip(predicted).map(|(chars, tags)| Sentence { chars: chars.clone(), tags }).collect())
        }
        _ => bail!("the teacher's tags {teacher_tags:?} cannot label data for a model with tags {student_tags:?}"),
    }
}

/// Drops the texts that are dev sentences: dev text must stay unseen, and the training file itself
/// may be distilled, its held-out lines included.
pub fn without_dev_text(texts: Vec<Vec<char>>, dev: &[Sentence]) -> Vec<Vec<char>> {
    let dev_texts: std::collections::HashSet<&[char]> = dev.iter().map(|s| s.chars.as_slice()).collect();
    texts.into_iter().filter(|text| !dev_texts.contains(text.as_slice())).collect()
}

/// Reads the unlabeled files (see [`corpus::parse_raw_lines`]), in order.
pub fn read_unlabeled(paths: &[std::path::PathBuf]) -> Result<Vec<Vec<char>>> {
    let mut texts = Vec::new();
    for path in paths {
        let bytes = corpus::read_bytes(path)?;
        texts.extend(
            corpus::parse_raw_lines(&bytes, &path.display().to_string())
                .with_context(|| format!("reading unlabeled text for --distill from {}", path.display()))?,
        );
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FeatureSpec;

    fn chars(text: &str) -> Vec<char> {
        text.chars().collect()
    }

    /// A float teacher whose only feature is the bias and whose start/transition scores force
    /// "B E B E ..." (two-character words) under BMES.
    fn pair_teacher() -> FloatModel {
        let names = WordTags::Bmes.names();
        let spec = FeatureSpec::new(crate::features::parse_templates("bias").unwrap(), 4);
        let mut model = FloatModel::zeros(names.clone(), spec);
        let index = |name: &str| names.iter().position(|n| n == name).unwrap();
        let (b, e) = (index("B"), index("E"));
        let l = names.len();
        for from in 0..l {
            for to in 0..l {
                model.transitions[from * l + to] = -5.0;
            }
        }
        model.transitions[b * l + e] = 5.0;
        model.transitions[e * l + b] = 5.0;
        model.start[b] = 5.0;
        model.end[e] = 5.0;
        model
    }

    #[test]
    fn teacher_words_are_retagged_in_the_student_scheme() {
        let teacher = pair_teacher();
        let texts = vec![chars("甲乙丙丁")];
        let bmes = label(Teacher::Float(&teacher), &texts, &WordTags::Bmes.names()).unwrap();
        assert_eq!(bmes[0], corpus::words_to_sentence(&["甲乙", "丙丁"], WordTags::Bmes));
        let bi = label(Teacher::Float(&teacher), &texts, &WordTags::Bi.names()).unwrap();
        assert_eq!(bi[0], corpus::words_to_sentence(&["甲乙", "丙丁"], WordTags::Bi));
    }

    #[test]
    fn non_segmentation_tags_must_match_the_teacher() {
        let teacher = pair_teacher();
        let other = vec!["O".to_string(), "B-PER".to_string()];
        let error = label(Teacher::Float(&teacher), &[chars("甲乙")], &other).unwrap_err();
        assert!(error.to_string().contains("cannot label"), "{error}");
    }

    #[test]
    fn dev_sentences_are_never_distilled() {
        let dev = vec![corpus::words_to_sentence(&["银行"], WordTags::Bmes)];
        let kept = without_dev_text(vec![chars("中国"), chars("银行"), chars("银行家")], &dev);
        assert_eq!(kept, vec![chars("中国"), chars("银行家")]);
    }

    #[test]
    fn raw_text_drops_whitespace_and_blank_lines_and_refuses_conll() {
        let texts = corpus::parse_raw_lines("中国  人民\r\n\n 银行 \n".as_bytes(), "raw.txt").unwrap();
        assert_eq!(texts, vec![chars("中国人民"), chars("银行")]);
        let conll = corpus::parse_raw_lines("中\tB\n国\tE\n".as_bytes(), "x.conll").unwrap_err();
        assert_eq!(
            conll.to_string(),
            "x.conll:1: a TAB (CoNLL layout): unlabeled text must be plain or segmented text"
        );
        let bad = corpus::parse_raw_lines(b"ok\n\xff\n", "bad.txt").unwrap_err();
        assert!(bad.to_string().starts_with("bad.txt:2: invalid UTF-8"), "{bad}");
        assert!(corpus::parse_raw_lines(b" \n\n", "blank.txt").is_err());
    }
}

//! Convention conflicts between a test set and a training set: the places where a segmentation
//! disagrees with the gold one, and the training text segments that same string the segmentation's way
//! several times and the gold's way never.
//!
//! Why: a test set may follow revised guidelines its training text does not (the SIGHAN 2005 PKU test
//! always splits 提出, which People's Daily 1998-01 joins 591 times). No model trained on that text can
//! get such a place right, so their share bounds what training on it can reach; the report counts them
//! and what F1 would be with them right.

use std::collections::HashMap;

use crate::scorer::{perl_lines, split_line};

/// Most words on either side of a disagreement that are looked up in the training text.
pub const MAX_FORM_WORDS: usize = 4;

/// One disagreement's two readings of the same characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Region {
    /// The gold words of the span, joined by single spaces.
    gold: Vec<u8>,
    /// The tested segmentation's words of the span, joined by single spaces.
    test: Vec<u8>,
    gold_words: usize,
    test_words: usize,
}

/// A kind of conflict and how often it occurs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// The gold words, space-separated.
    pub gold: String,
    /// The tested segmentation's words, space-separated.
    pub test: String,
    /// How often the training text has the tested words in a row.
    pub training_count: u32,
    /// How often this conflict occurs in the test set.
    pub occurrences: usize,
}

/// What [`convention_conflicts`] found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConflictReport {
    /// Lines compared (gold and tested text equal once spaces are removed).
    pub lines: usize,
    /// Lines left out because their characters differ between the two files.
    pub mismatched_lines: usize,
    /// Gold words, tested words and words in the same place in both, over the compared lines.
    pub gold_words: usize,
    /// See `gold_words`.
    pub test_words: usize,
    /// See `gold_words`.
    pub correct_words: usize,
    /// Maximal spans where the two segmentations disagree (they share the span's two ends only).
    pub disagreements: usize,
    /// Disagreements whose tested reading the training text has at least `min_count` times in a row
    /// and whose gold reading it never has.
    pub conflicts: usize,
    /// Gold and tested words inside those conflicts.
    pub conflict_gold_words: usize,
    /// See `conflict_gold_words`.
    pub conflict_test_words: usize,
    /// The threshold used.
    pub min_count: u32,
    /// The most frequent kinds of conflict, most frequent first.
    pub top: Vec<Conflict>,
}

impl ConflictReport {
    /// The training-count threshold the conflicts were found with.
    pub fn conflict_min_count(&self) -> u32 {
        self.min_count
    }

    /// F1 over the compared lines, words counted right when they have the same place in both.
    pub fn f1(&self) -> f64 {
        f1(self.correct_words, self.gold_words, self.test_words)
    }

    /// F1 with every conflict read the gold way: the most a model trained on this text and agreeing
    /// with it at those places gives up.
    pub fn f1_without_conflicts(&self) -> f64 {
        f1(
            self.correct_words + self.conflict_gold_words,
            self.gold_words,
            self.test_words - self.conflict_test_words + self.conflict_gold_words,
        )
    }
}

fn f1(correct: usize, gold: usize, test: usize) -> f64 {
    if gold + test == 0 {
        return 0.0;
    }
    2.0 * correct as f64 / (gold + test) as f64
}

/// End offsets (bytes) of `words`.
fn ends(words: &[Vec<u8>]) -> Vec<usize> {
    words
        .iter()
        .scan(0, |end, w| {
            *end += w.len();
            Some(*end)
        })
        .collect()
}

fn join(words: &[Vec<u8>]) -> Vec<u8> {
    words.join(&b' ')
}

/// Compares the segmentation `test` with `gold` (both files of space-separated words, line by line, as
/// the SIGHAN script reads them) and looks up every disagreement in the segmented `training` text.
/// `top` kinds of conflict are listed.
pub fn convention_conflicts(gold: &[u8], test: &[u8], training: &[u8], min_count: u32, top: usize) -> ConflictReport {
    let mut report = ConflictReport {
        lines: 0,
        mismatched_lines: 0,
        gold_words: 0,
        test_words: 0,
        correct_words: 0,
        disagreements: 0,
        conflicts: 0,
        conflict_gold_words: 0,
        conflict_test_words: 0,
        min_count,
        top: Vec::new(),
    };
    let words_of = |line: &[u8]| -> Vec<Vec<u8>> { split_line(line).into_iter().filter(|w| !w.is_empty()).collect() };
    let mut regions: HashMap<Region, usize> = HashMap::new();
    for (gold_line, test_line) in perl_lines(gold).zip(perl_lines(test)) {
        let (g, t) = (words_of(gold_line), words_of(test_line));
        if g.concat() != t.concat() {
            report.mismatched_lines += 1;
            continue;
        }
        report.lines += 1;
        report.gold_words += g.len();
        report.test_words += t.len();
        let (gold_ends, test_ends) = (ends(&g), ends(&t));
        // Walk both word lists; a region closes where both have a word end.
        let (mut gi, mut ti, mut g_start, mut t_start) = (0, 0, 0, 0);
        while gi < g.len() && ti < t.len() {
            match gold_ends[gi].cmp(&test_ends[ti]) {
                std::cmp::Ordering::Less => gi += 1,
                std::cmp::Ordering::Greater => ti += 1,
                std::cmp::Ordering::Equal => {
                    let (gold_words, test_words) = (&g[g_start..=gi], &t[t_start..=ti]);
                    if gold_words.len() == 1 && test_words.len() == 1 {
                        report.correct_words += 1;
                    } else {
                        let region = Region {
                            gold: join(gold_words),
                            test: join(test_words),
                            gold_words: gold_words.len(),
                            test_words: test_words.len(),
                        };
                        *regions.entry(region).or_default() += 1;
                    }
                    (gi, ti) = (gi + 1, ti + 1);
                    (g_start, t_start) = (gi, ti);
                }
            }
        }
    }
    report.disagreements = regions.values().sum();

    // Count only the readings that occur in a disagreement: a few thousand keys, not every n-gram.
    let mut counts: HashMap<Vec<u8>, u32> = HashMap::new();
    for region in regions.keys() {
        for (form, words) in [(&region.gold, region.gold_words), (&region.test, region.test_words)] {
            if words <= MAX_FORM_WORDS {
                counts.insert(form.clone(), 0);
            }
        }
    }
    let mut key = Vec::new();
    for line in perl_lines(training) {
        let words = words_of(line);
        for start in 0..words.len() {
            key.clear();
            for word in words.iter().skip(start).take(MAX_FORM_WORDS) {
                if !key.is_empty() {
                    key.push(b' ');
                }
                key.extend_from_slice(word);
                if let Some(count) = counts.get_mut(key.as_slice()) {
                    *count += 1;
                }
            }
        }
    }

    let count_of = |form: &Vec<u8>, words: usize| if words <= MAX_FORM_WORDS { counts[form] } else { 0 };
    let mut conflicts: Vec<Conflict> = Vec::new();
    for (region, &occurrences) in &regions {
        let training_count = count_of(&region.test, region.test_words);
        // A reading too long to look up is never called a conflict: its count would be unknown.
        let gold_known_absent = region.gold_words <= MAX_FORM_WORDS && count_of(&region.gold, region.gold_words) == 0;
        if training_count >= min_count && gold_known_absent {
            report.conflicts += occurrences;
            report.conflict_gold_words += occurrences * region.gold_words;
            report.conflict_test_words += occurrences * region.test_words;
            conflicts.push(Conflict {
                gold: String::from_utf8_lossy(&region.gold).into_owned(),
                test: String::from_utf8_lossy(&region.test).into_owned(),
                training_count,
                occurrences,
            });
        }
    }
    conflicts.sort_by(|a, b| b.occurrences.cmp(&a.occurrences).then_with(|| a.gold.cmp(&b.gold)));
    conflicts.truncate(top);
    report.top = conflicts;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAINING: &str = "他  提出  问题\n她  提出  建议\n我们  提出  方案\n不  会  来\n";

    #[test]
    fn a_split_the_training_text_never_makes_is_a_conflict() {
        let gold = "他  提  出  问题\n";
        let test = "他  提出  问题\n";
        let r = convention_conflicts(gold.as_bytes(), test.as_bytes(), TRAINING.as_bytes(), 3, 10);
        assert_eq!((r.lines, r.gold_words, r.test_words, r.correct_words), (1, 4, 3, 2));
        assert_eq!((r.disagreements, r.conflicts, r.conflict_gold_words, r.conflict_test_words), (1, 1, 2, 1));
        assert_eq!(
            r.top,
            vec![Conflict { gold: "提 出".into(), test: "提出".into(), training_count: 3, occurrences: 1 }]
        );
        assert!((r.f1() - 4.0 / 7.0).abs() < 1e-12);
        assert!((r.f1_without_conflicts() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn errors_the_training_text_does_not_explain_are_not_conflicts() {
        // "不 会" is in the training text only once (below the threshold), and "来 了" is an error
        // whose gold reading the training text does have ("来" alone).
        let gold = "不会  来\n他  来\n";
        let test = "不  会  来\n他来\n";
        let r = convention_conflicts(gold.as_bytes(), test.as_bytes(), TRAINING.as_bytes(), 3, 10);
        assert_eq!(r.disagreements, 2);
        assert_eq!(r.conflicts, 0);
        assert!(r.top.is_empty());
        assert_eq!(r.f1(), r.f1_without_conflicts());
        // With a threshold of 1 the merge becomes one: the training text has "不 会" and never "不会".
        let r = convention_conflicts(gold.as_bytes(), test.as_bytes(), TRAINING.as_bytes(), 1, 10);
        assert_eq!(r.conflicts, 1);
        assert_eq!(r.top[0].gold, "不会");
    }

    #[test]
    fn lines_whose_text_differs_are_left_out_and_counted() {
        let gold = "他  提  出  问题\n甲  乙\n";
        let test = "他  提出  问题\n甲  丙\n";
        let r = convention_conflicts(gold.as_bytes(), test.as_bytes(), TRAINING.as_bytes(), 3, 10);
        assert_eq!((r.lines, r.mismatched_lines, r.conflicts), (1, 1, 1));
    }

    #[test]
    fn identical_segmentations_have_no_disagreement() {
        let r = convention_conflicts(TRAINING.as_bytes(), TRAINING.as_bytes(), TRAINING.as_bytes(), 3, 10);
        assert_eq!((r.disagreements, r.conflicts), (0, 0));
        assert_eq!(r.correct_words, r.gold_words);
        assert_eq!(r.f1(), 1.0);
    }
}

//! Viterbi against brute force and a floating-point reference, and at the extremes of the score bounds.
#![allow(clippy::needless_range_loop)] // the references are written textbook-style, index by index

mod common;

use common::Rng;
use decoder::internal::lattice::{backpointer_bytes, viterbi, TransitionScores, MAX_EMISSION};
use decoder::internal::tags::{derive_constraints, Constraints};
use decoder::{LatticeError, MAX_CHAR_TAGS};
use proptest::prelude::*;

/// Random valid constraints on `l` tags: a derived scheme when `l` fits one, else random primitive masks.
fn constraints(rng: &mut Rng, l: usize) -> Constraints {
    let derived: Option<&[&str]> = match (l, rng.below(3)) {
        (4, 0) => Some(&["B", "M", "E", "S"]),
        (3, 0) => Some(&["B", "I", "O"]),
        (5, 0) => Some(&["O", "B-X", "I-X", "E-X", "S-X"]),
        (5, 1) => Some(&["O", "B-X", "I-X", "B-Y", "I-Y"]),
        _ => None,
    };
    if let Some(names) = derived {
        return derive_constraints(names.iter().copied()).1;
    }
    loop {
        let mut c = Constraints::unconstrained(l);
        let density = 1 + rng.below(4);
        for from in 0..l {
            c.next[from] = (0..l).filter(|_| rng.below(density + 1) != 0).fold(0, |m, to| m | 1 << to);
        }
        c.start = (0..l).filter(|_| rng.below(2) == 0).fold(0, |m, i| m | 1 << i);
        c.end = (0..l).filter(|_| rng.below(2) == 0).fold(0, |m, i| m | 1 << i);
        if c.validate().is_ok() {
            return c;
        }
    }
}

struct Case {
    c: Constraints,
    trans: Vec<i16>,
    start: Vec<i16>,
    end: Vec<i16>,
    emissions: Vec<i32>,
    l: usize,
    t: usize,
}

fn case(seed: u64, l: usize, t: usize) -> Case {
    let mut rng = Rng(seed);
    let c = constraints(&mut rng, l);
    // Small ranges make ties common; large ones exercise the bounds.
    let (sr, er) = match rng.below(3) {
        0 => (2, 2),
        1 => (300, 5000),
        _ => (i16::MAX as i64, MAX_EMISSION as i64),
    };
    let mut s = || rng.range(-sr - 1, sr) as i16;
    let trans = (0..l * l).map(|_| s()).collect();
    let start = (0..l).map(|_| s()).collect();
    let end = (0..l).map(|_| s()).collect();
    let emissions = (0..t * l).map(|_| rng.range(-er, er) as i32).collect();
    Case { c, trans, start, end, emissions, l, t }
}

impl Case {
    fn score(&self, tags: &[u8]) -> i64 {
        let l = self.l;
        let mut s = 0i64;
        for (t, &y) in tags.iter().enumerate() {
            let y = y as usize;
            s += i64::from(self.emissions[t * l + y]);
            s += i64::from(if t == 0 { self.start[y] } else { self.trans[tags[t - 1] as usize * l + y] });
        }
        if let Some(&last) = tags.last() {
            s += i64::from(self.end[last as usize]);
        }
        s
    }

    /// Best allowed sequence; ties go to the smallest sequence compared from the last position backwards.
    fn brute_force(&self) -> (i64, Vec<u8>) {
        let (l, t) = (self.l, self.t);
        let mut best: Option<(i64, Vec<u8>)> = None;
        let total = l.pow(t as u32);
        for mut code in 0..total {
            let mut tags = vec![0u8; t];
            for slot in tags.iter_mut() {
                *slot = (code % l) as u8;
                code /= l;
            }
            if !self.c.allows_sequence(&tags) {
                continue;
            }
            let s = self.score(&tags);
            let better = match &best {
                None => true,
                Some((bs, bt)) => s > *bs || (s == *bs && tags.iter().rev().lt(bt.iter().rev())),
            };
            if better {
                best = Some((s, tags));
            }
        }
        best.expect("validated constraints admit every length")
    }

    /// Textbook floating-point Viterbi with -inf for forbidden moves, same tie rule.
    fn float_viterbi(&self) -> (f64, Vec<u8>) {
        common::reference_viterbi(&self.c, &self.trans, &self.start, &self.end, &self.emissions, self.l)
    }

    fn decode(&self) -> (i64, Vec<u8>) {
        let scores = TransitionScores::new(&self.c, &self.trans, &self.start, &self.end).unwrap();
        let mut bp = vec![0u8; backpointer_bytes(self.l, self.t)];
        let mut tags = vec![0u8; self.t];
        let s = viterbi(&self.emissions, &scores, &mut bp, &mut tags).unwrap();
        (s, tags)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn viterbi_equals_brute_force(seed: u64, l in 1usize..=5, t in 0usize..=7) {
        let case = case(seed, l, t);
        let (score, tags) = case.decode();
        prop_assert!(case.c.allows_sequence(&tags), "forbidden output {:?}", tags);
        prop_assert_eq!(score, case.score(&tags));
        if t > 0 {
            let (best_score, best_tags) = case.brute_force();
            prop_assert_eq!(score, best_score);
            prop_assert_eq!(&tags, &best_tags);
        } else {
            prop_assert_eq!(score, 0);
        }
        let (fscore, ftags) = case.float_viterbi();
        prop_assert_eq!(fscore, score as f64);
        prop_assert_eq!(tags, ftags);
    }

    #[test]
    fn longer_sequences_match_float_reference(seed: u64, l in 1usize..=8, t in 0usize..=60) {
        let case = case(seed, l, t);
        let (score, tags) = case.decode();
        prop_assert!(case.c.allows_sequence(&tags));
        prop_assert_eq!(score, case.score(&tags));
        let (fscore, ftags) = case.float_viterbi();
        prop_assert_eq!(fscore, score as f64);
        prop_assert_eq!(tags, ftags);
    }
}

#[test]
fn ties_go_to_lowest_tags() {
    // Everything allowed and every score 0: the all-zero sequence wins.
    let c = Constraints::unconstrained(3);
    let scores = TransitionScores::new(&c, &[0; 9], &[0; 3], &[0; 3]).unwrap();
    let mut bp = vec![0u8; backpointer_bytes(3, 5)];
    let mut tags = [9u8; 5];
    viterbi(&[0; 15], &scores, &mut bp, &mut tags).unwrap();
    assert_eq!(tags, [0; 5]);
    // BMES, all zero: S S S ... is the reverse-lexicographic minimum? Tags B=0 M=1 E=2 S=3: the last tag
    // must be E or S, lowest is E; then B or M before it, lowest B; before B: E or S -> E ...
    let (_, c) = derive_constraints(["B", "M", "E", "S"].into_iter());
    let scores = TransitionScores::new(&c, &[0; 16], &[0; 4], &[0; 4]).unwrap();
    let mut bp = vec![0u8; backpointer_bytes(4, 4)];
    let mut tags = [9u8; 4];
    viterbi(&[0; 16], &scores, &mut bp, &mut tags).unwrap();
    assert_eq!(tags, [0, 2, 0, 2]); // B E B E
}

#[test]
fn forbidden_moves_never_win_whatever_the_scores() {
    // BMES with huge rewards on forbidden transitions and on forbidden start/end tags.
    let (_, c) = derive_constraints(["B", "M", "E", "S"].into_iter());
    let mut trans = [i16::MIN; 16];
    for from in 0..4 {
        for to in 0..4 {
            if !c.allows(from, to) {
                trans[from * 4 + to] = i16::MAX;
            }
        }
    }
    let start = [i16::MIN, i16::MAX, i16::MAX, i16::MIN]; // B and S allowed
    let end = [i16::MAX, i16::MAX, i16::MIN, i16::MIN]; // E and S allowed
    let scores = TransitionScores::new(&c, &trans, &start, &end).unwrap();
    for t in 1..40 {
        let emissions: Vec<i32> = (0..t * 4).map(|i| if i % 4 == 1 { MAX_EMISSION } else { -MAX_EMISSION }).collect();
        let mut bp = vec![0u8; backpointer_bytes(4, t)];
        let mut tags = vec![0u8; t];
        viterbi(&emissions, &scores, &mut bp, &mut tags).unwrap();
        assert!(c.allows_sequence(&tags), "{tags:?}");
    }
}

#[test]
fn buffer_and_shape_errors() {
    let c = Constraints::unconstrained(2);
    let scores = TransitionScores::new(&c, &[0; 4], &[0; 2], &[0; 2]).unwrap();
    let mut tags = [0u8; 3];
    assert_eq!(
        viterbi(&[0; 5], &scores, &mut [0; 8], &mut tags),
        Err(LatticeError::EmissionShape { len: 5, num_tags: 2 })
    );
    assert_eq!(
        viterbi(&[0; 6], &scores, &mut [0; 1], &mut tags),
        Err(LatticeError::BackpointersTooSmall { needed: 2, found: 1 })
    );
    assert_eq!(
        viterbi(&[0; 6], &scores, &mut [0; 2], &mut tags[..2]),
        Err(LatticeError::TagsTooSmall { needed: 3, found: 2 })
    );
    assert!(matches!(TransitionScores::new(&c, &[0; 3], &[0; 2], &[0; 2]), Err(LatticeError::ScoresShape { .. })));
    let mut periodic = Constraints::unconstrained(2);
    periodic.next[0] = 0b10;
    periodic.next[1] = 0b01;
    assert_eq!(
        TransitionScores::new(&periodic, &[0; 4], &[0; 2], &[0; 2]),
        Err(LatticeError::Constraints(decoder::ModelError::TransitionGraphNotPrimitive))
    );
    // Emissions beyond the bound are clamped, not trusted.
    let mut bp = [0u8; 2];
    assert_eq!(
        viterbi(&[i32::MAX, i32::MIN, i32::MAX, i32::MIN, i32::MAX, i32::MIN], &scores, &mut bp, &mut tags),
        Ok(3 * i64::from(MAX_EMISSION))
    );
}

/// Wielandt's graph: the primitive graph on `l` tags with the largest exponent, `(l-1)^2 + 1`.
pub fn wielandt(l: usize) -> Constraints {
    let mut c = Constraints::unconstrained(l);
    if l == 1 {
        return c;
    }
    c.next = [0; MAX_CHAR_TAGS];
    for i in 0..l - 1 {
        c.next[i] = 1 << (i + 1);
    }
    c.next[l - 1] = 0b11;
    c
}

#[test]
fn wielandt_graphs_have_the_largest_exponent() {
    for l in 1..=MAX_CHAR_TAGS {
        assert_eq!(wielandt(l).validate(), Ok((l - 1) * (l - 1) + 1), "L = {l}");
    }
}

/// 100,000 positions of extreme scores for every L up to 16, on the worst-case graphs and on complete
/// graphs, with overflow checks on (tests build in debug) and the spread bound `debug_assert`ed.
#[test]
fn extreme_scores_never_overflow() {
    const T: usize = 100_000;
    let mut rng = Rng(7);
    for l in 1..=MAX_CHAR_TAGS {
        for graph in 0..2 {
            let c = if graph == 0 { wielandt(l) } else { Constraints::unconstrained(l) };
            for pattern in 0..4 {
                let pick = |rng: &mut Rng, i: usize| -> i16 {
                    match pattern {
                        0 => i16::MAX,
                        1 => i16::MIN,
                        2 => {
                            if i % 2 == 0 {
                                i16::MAX
                            } else {
                                i16::MIN
                            }
                        }
                        _ => {
                            if rng.below(2) == 0 {
                                i16::MAX
                            } else {
                                i16::MIN
                            }
                        }
                    }
                };
                let trans: Vec<i16> = (0..l * l).map(|i| pick(&mut rng, i + i / l)).collect();
                let start: Vec<i16> = (0..l).map(|i| pick(&mut rng, i)).collect();
                let end: Vec<i16> = (0..l).map(|i| pick(&mut rng, i + 1)).collect();
                let scores = TransitionScores::new(&c, &trans, &start, &end).unwrap();
                let emissions: Vec<i32> = (0..T * l)
                    .map(|i| {
                        let (t, j) = (i / l, i % l);
                        let up = match pattern {
                            0 => j == 0,
                            1 => j == l - 1,
                            2 => (t / 7 + j) % 2 == 0,
                            _ => rng.below(2) == 0,
                        };
                        if up {
                            MAX_EMISSION
                        } else {
                            -MAX_EMISSION
                        }
                    })
                    .collect();
                let mut bp = vec![0u8; backpointer_bytes(l, T)];
                let mut tags = vec![0u8; T];
                let score = viterbi(&emissions, &scores, &mut bp, &mut tags).unwrap();
                assert!(c.allows_sequence(&tags), "L = {l}");
                // The returned score is the exact score of the returned path.
                let mut s = i64::from(start[tags[0] as usize]) + i64::from(end[tags[T - 1] as usize]);
                for t in 0..T {
                    s += i64::from(emissions[t * l + tags[t] as usize]);
                    if t > 0 {
                        s += i64::from(trans[tags[t - 1] as usize * l + tags[t] as usize]);
                    }
                }
                assert_eq!(score, s, "L = {l}, graph {graph}, pattern {pattern}");
            }
        }
    }
}

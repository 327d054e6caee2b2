//! Which lines of two short files `diff` pairs up, reproducing the decisions of GNU diff 3.x (the `diff`
//! the SIGHAN scorer calls) so that insertion, deletion and substitution counts come out identical.
//!
//! GNU diff does not simply take "a" longest common subsequence. In order, it
//! 1. sets aside the identical leading and trailing lines, found byte-wise (a line is in the common
//!    prefix only if the first differing byte lies after it; the suffix ends at a line start);
//! 2. among the remaining lines, provisionally drops lines with no equal line on the other side (and,
//!    under conditions, lines with very many equal lines), which are then changed by definition;
//! 3. runs Myers' O(ND) algorithm with divide-and-conquer on the middle snake (the choice of middle
//!    snake decides which of several equally long alignments wins);
//! 4. slides runs of changed lines over equal neighbouring lines so that changes in the two files
//!    line up ("shift boundaries").
//!
//! The functions below implement those four steps from their description; with `diff`'s defaults
//! (no `--minimal`, no `--speed-large-files`) only exact searches happen on lines this short.

// Index loops over tags, positions and the two sides of a diff mirror the formulas more clearly than
// iterator chains would.
#![allow(clippy::needless_range_loop)]

/// Result: for each line of each side, whether `diff` reports it as changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChanges {
    /// `[gold lines]`: deleted or replaced.
    pub old: Vec<bool>,
    /// `[test lines]`: inserted or replacing.
    pub new: Vec<bool>,
}

/// Diffs two sequences of lines (each without its newline).
pub fn diff_lines<'a>(old: &[&'a [u8]], new: &[&'a [u8]]) -> LineChanges {
    let (prefix, old_end, new_end) = identical_ends(old, new);
    let old_mid = &old[prefix..old_end];
    let new_mid = &new[prefix..new_end];

    // Equivalence classes of the middle lines (0 is never used, as in diff).
    let mut classes: std::collections::HashMap<&[u8], u32> = std::collections::HashMap::new();
    let mut class_of = |line: &'a [u8]| -> u32 {
        let next = classes.len() as u32 + 1;
        *classes.entry(line).or_insert(next)
    };
    let old_classes: Vec<u32> = old_mid.iter().map(|l| class_of(l)).collect();
    let new_classes: Vec<u32> = new_mid.iter().map(|l| class_of(l)).collect();
    let class_count = classes.len() + 1;

    let mut changed = [Flags::new(old_classes.len()), Flags::new(new_classes.len())];
    let kept = discard_confusing_lines([&old_classes, &new_classes], class_count, &mut changed);
    let mut search = MiddleSnakeSearch::new(&kept[0].0, &kept[1].0);
    let mut notes = Vec::new();
    search.compare(0, kept[0].0.len() as isize, 0, kept[1].0.len() as isize, false, &mut notes);
    for note in notes {
        match note {
            Note::Delete(x) => changed[0].set(kept[0].1[x], true),
            Note::Insert(y) => changed[1].set(kept[1].1[y], true),
        }
    }
    shift_boundaries([&old_classes, &new_classes], &mut changed);

    let mut result = LineChanges { old: vec![false; old.len()], new: vec![false; new.len()] };
    for i in 0..old_classes.len() {
        result.old[prefix + i] = changed[0].get(i as isize);
    }
    for i in 0..new_classes.len() {
        result.new[prefix + i] = changed[1].get(i as isize);
    }
    result
}

/// Step 1: the number of identical leading lines, and where the identical trailing lines start on each
/// side. Works on the bytes of the files (`line\n` each), like diff.
fn identical_ends(old: &[&[u8]], new: &[&[u8]]) -> (usize, usize, usize) {
    let file = |lines: &[&[u8]]| -> Vec<u8> {
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
        }
        bytes
    };
    let (a, b) = (file(old), file(new));
    // First differing byte (the shorter file's end counts as a difference).
    let first_difference = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    // Back up to the start of that line: the prefix holds only whole, identical lines.
    let mut prefix_end = first_difference;
    while prefix_end > 0 && a[prefix_end - 1] != b'\n' {
        prefix_end -= 1;
    }
    // Scan back from the ends, not into the prefix.
    let limit = prefix_end + a.len().saturating_sub(b.len());
    let (mut p0, mut p1) = (a.len(), b.len());
    while p0 > limit {
        if a[p0 - 1] != b[p1 - 1] {
            break;
        }
        p0 -= 1;
        p1 -= 1;
    }
    // `p0` is the first byte of the identical suffix. Unless it starts a line on both sides, the rest
    // of its line joins the middle.
    let at_line_start = (p0 == 0 || a[p0 - 1] == b'\n') && (p1 == 0 || b[p1 - 1] == b'\n');
    if !at_line_start {
        let start = p0;
        while p0 < a.len() {
            p0 += 1;
            if a[p0 - 1] == b'\n' {
                break;
            }
        }
        p1 += p0 - start;
    }
    let lines_before = |bytes: &[u8], end: usize| bytes[..end].iter().filter(|&&c| c == b'\n').count();
    (lines_before(&a, prefix_end), lines_before(&a, p0), lines_before(&b, p1))
}

/// Changed flags with a `false` sentinel before the first and after the last line.
#[derive(Debug, Clone)]
struct Flags(Vec<bool>);

impl Flags {
    fn new(len: usize) -> Self {
        Self(vec![false; len + 2])
    }

    fn get(&self, index: isize) -> bool {
        self.0[(index + 1) as usize]
    }

    fn set(&mut self, index: usize, value: bool) {
        self.0[index + 1] = value;
    }

    fn put(&mut self, index: isize, value: bool) {
        self.0[(index + 1) as usize] = value;
    }
}

/// Step 2. Returns, per side, the classes of the lines kept for the search and their original
/// indices; dropped lines are marked changed.
fn discard_confusing_lines(
    classes: [&[u32]; 2],
    class_count: usize,
    changed: &mut [Flags; 2],
) -> [(Vec<u32>, Vec<usize>); 2] {
    let mut counts = [vec![0usize; class_count], vec![0usize; class_count]];
    for side in 0..2 {
        for &c in classes[side] {
            counts[side][c as usize] += 1;
        }
    }
    // 0: keep, 1: discard (no match on the other side), 2: provisionally discard (many matches).
    let mut marks: [Vec<u8>; 2] = [vec![0; classes[0].len()], vec![0; classes[1].len()]];
    for side in 0..2 {
        let len = classes[side].len();
        // "Many" grows with the approximate square root of the number of lines.
        let mut many = 5usize;
        let mut t = len / 64;
        loop {
            t >>= 2;
            if t == 0 {
                break;
            }
            many *= 2;
        }
        for (i, &c) in classes[side].iter().enumerate() {
            let matches = counts[1 - side][c as usize];
            if matches == 0 {
                marks[side][i] = 1;
            } else if matches > many {
                marks[side][i] = 2;
            }
        }
    }
    for mark in &mut marks {
        settle_provisional(mark);
    }
    let mut kept: [(Vec<u32>, Vec<usize>); 2] = Default::default();
    for side in 0..2 {
        for (i, &c) in classes[side].iter().enumerate() {
            if marks[side][i] == 0 {
                kept[side].0.push(c);
                kept[side].1.push(i);
            } else {
                changed[side].set(i, true);
            }
        }
    }
    kept
}

/// Provisional discards stand only inside a run of discardable lines that starts and ends with a
/// definite one, when they are not too many (a quarter of the run), not in long sub-runs, and not
/// near the run's ends (before three definite discards in a row or the eighth line).
fn settle_provisional(marks: &mut [u8]) {
    let end = marks.len();
    let mut i = 0usize;
    while i < end {
        if marks[i] == 2 {
            marks[i] = 0;
        } else if marks[i] != 0 {
            let mut j = i;
            let mut provisional = 0usize;
            while j < end && marks[j] != 0 {
                if marks[j] == 2 {
                    provisional += 1;
                }
                j += 1;
            }
            while j > i && marks[j - 1] == 2 {
                j -= 1;
                marks[j] = 0;
                provisional -= 1;
            }
            let length = j - i;
            if provisional * 4 > length {
                for mark in &mut marks[i..j] {
                    if *mark == 2 {
                        *mark = 0;
                    }
                }
            } else {
                let mut minimum = 1usize;
                let mut t = length >> 2;
                loop {
                    t >>= 2;
                    if t == 0 {
                        break;
                    }
                    minimum <<= 1;
                }
                minimum += 1;
                // Cancel every sub-run of `minimum` or more provisionals.
                let mut consecutive = 0usize;
                let mut k = 0usize;
                while k < length {
                    if marks[i + k] != 2 {
                        consecutive = 0;
                    } else {
                        consecutive += 1;
                        if consecutive == minimum {
                            // Go back to the start of the sub-run and cancel it all.
                            k -= consecutive;
                        } else if consecutive > minimum {
                            marks[i + k] = 0;
                        }
                    }
                    k += 1;
                }
                // From the start of the run, cancel provisionals until three definite discards in a
                // row, or a definite one at least 8 lines in.
                let mut consecutive = 0usize;
                for k in 0..length {
                    if k >= 8 && marks[i + k] == 1 {
                        break;
                    }
                    match marks[i + k] {
                        2 => {
                            consecutive = 0;
                            marks[i + k] = 0;
                        }
                        0 => consecutive = 0,
                        _ => consecutive += 1,
                    }
                    if consecutive == 3 {
                        break;
                    }
                }
                i += length - 1;
                // The same from the end of the run.
                let mut consecutive = 0usize;
                for k in 0..length {
                    if k >= 8 && marks[i - k] == 1 {
                        break;
                    }
                    match marks[i - k] {
                        2 => {
                            consecutive = 0;
                            marks[i - k] = 0;
                        }
                        0 => consecutive = 0,
                        _ => consecutive += 1,
                    }
                    if consecutive == 3 {
                        break;
                    }
                }
            }
        }
        i += 1;
    }
}

#[derive(Debug, Clone, Copy)]
enum Note {
    Delete(usize),
    Insert(usize),
}

/// Step 3: Myers' algorithm, recursing on the middle snake of each sub-problem.
struct MiddleSnakeSearch<'a> {
    x: &'a [u32],
    y: &'a [u32],
    /// Furthest-reaching forward x per diagonal (`diagonal + offset`).
    forward: Vec<isize>,
    /// Furthest-reaching backward x per diagonal.
    backward: Vec<isize>,
    offset: isize,
    too_expensive: isize,
}

struct Split {
    x: isize,
    y: isize,
    low_minimal: bool,
    high_minimal: bool,
}

impl<'a> MiddleSnakeSearch<'a> {
    fn new(x: &'a [u32], y: &'a [u32]) -> Self {
        let diagonals = x.len() + y.len() + 3;
        // Give up on exactness beyond roughly the square root of the input size, at least 4096 steps.
        let mut too_expensive = 1isize;
        let mut d = diagonals;
        while d != 0 {
            too_expensive <<= 1;
            d >>= 2;
        }
        Self {
            x,
            y,
            forward: vec![0; diagonals],
            backward: vec![0; diagonals],
            offset: y.len() as isize + 1,
            too_expensive: too_expensive.max(4096),
        }
    }

    fn eq(&self, x: isize, y: isize) -> bool {
        self.x[x as usize] == self.y[y as usize]
    }

    fn fd(&self, d: isize) -> isize {
        self.forward[(d + self.offset) as usize]
    }

    fn set_fd(&mut self, d: isize, v: isize) {
        self.forward[(d + self.offset) as usize] = v;
    }

    fn bd(&self, d: isize) -> isize {
        self.backward[(d + self.offset) as usize]
    }

    fn set_bd(&mut self, d: isize, v: isize) {
        self.backward[(d + self.offset) as usize] = v;
    }

    /// Records the changes turning `x[xoff..xlim]` into `y[yoff..ylim]`.
    fn compare(
        &mut self,
        mut xoff: isize,
        mut xlim: isize,
        mut yoff: isize,
        mut ylim: isize,
        mut minimal: bool,
        notes: &mut Vec<Note>,
    ) {
        loop {
            while xoff < xlim && yoff < ylim && self.eq(xoff, yoff) {
                xoff += 1;
                yoff += 1;
            }
            while xoff < xlim && yoff < ylim && self.eq(xlim - 1, ylim - 1) {
                xlim -= 1;
                ylim -= 1;
            }
            if xoff == xlim {
                notes.extend((yoff..ylim).map(|y| Note::Insert(y as usize)));
                return;
            }
            if yoff == ylim {
                notes.extend((xoff..xlim).map(|x| Note::Delete(x as usize)));
                return;
            }
            let split = self.middle_snake(xoff, xlim, yoff, ylim, minimal);
            self.compare(xoff, split.x, yoff, split.y, split.low_minimal, notes);
            xoff = split.x;
            yoff = split.y;
            minimal = split.high_minimal;
        }
    }

    /// Finds the midpoint of a shortest edit script of the sub-problem by searching from both ends at
    /// once. The first and last elements are known to differ.
    fn middle_snake(&mut self, xoff: isize, xlim: isize, yoff: isize, ylim: isize, minimal: bool) -> Split {
        let dmin = xoff - ylim;
        let dmax = xlim - yoff;
        let fmid = xoff - yoff;
        let bmid = xlim - ylim;
        let (mut fmin, mut fmax, mut bmin, mut bmax) = (fmid, fmid, bmid, bmid);
        let odd = (fmid - bmid) & 1 != 0;
        self.set_fd(fmid, xoff);
        self.set_bd(bmid, xlim);
        let mut cost = 1isize;
        loop {
            // One more edit step forward on every diagonal in reach.
            if fmin > dmin {
                fmin -= 1;
                self.set_fd(fmin - 1, -1);
            } else {
                fmin += 1;
            }
            if fmax < dmax {
                fmax += 1;
                self.set_fd(fmax + 1, -1);
            } else {
                fmax -= 1;
            }
            let mut d = fmax;
            while d >= fmin {
                let (below, above) = (self.fd(d - 1), self.fd(d + 1));
                let x0 = if below < above { above } else { below + 1 };
                let mut x = x0;
                let mut y = x0 - d;
                while x < xlim && y < ylim && self.eq(x, y) {
                    x += 1;
                    y += 1;
                }
                self.set_fd(d, x);
                if odd && bmin <= d && d <= bmax && self.bd(d) <= x {
                    return Split { x, y, low_minimal: true, high_minimal: true };
                }
                d -= 2;
            }
            // And one more backward.
            if bmin > dmin {
                bmin -= 1;
                self.set_bd(bmin - 1, isize::MAX);
            } else {
                bmin += 1;
            }
            if bmax < dmax {
                bmax += 1;
                self.set_bd(bmax + 1, isize::MAX);
            } else {
                bmax -= 1;
            }
            let mut d = bmax;
            while d >= bmin {
                let (below, above) = (self.bd(d - 1), self.bd(d + 1));
                let x0 = if below < above { below } else { above - 1 };
                let mut x = x0;
                let mut y = x0 - d;
                while xoff < x && yoff < y && self.eq(x - 1, y - 1) {
                    x -= 1;
                    y -= 1;
                }
                self.set_bd(d, x);
                if !odd && fmin <= d && d <= fmax && x <= self.fd(d) {
                    return Split { x, y, low_minimal: true, high_minimal: true };
                }
                d -= 2;
            }
            if !minimal && cost >= self.too_expensive {
                return self.give_up(xoff, xlim, yoff, ylim, (fmin, fmax), (bmin, bmax));
            }
            cost += 1;
        }
    }

    /// Too expensive: split halfway between the furthest-reaching forward and backward paths.
    fn give_up(
        &self,
        xoff: isize,
        xlim: isize,
        yoff: isize,
        ylim: isize,
        f: (isize, isize),
        b: (isize, isize),
    ) -> Split {
        let (mut fxybest, mut fxbest) = (-1isize, 0isize);
        let mut d = f.1;
        while d >= f.0 {
            let mut x = self.fd(d).min(xlim);
            let mut y = x - d;
            if ylim < y {
                x = ylim + d;
                y = ylim;
            }
            if fxybest < x + y {
                fxybest = x + y;
                fxbest = x;
            }
            d -= 2;
        }
        let (mut bxybest, mut bxbest) = (isize::MAX, 0isize);
        let mut d = b.1;
        while d >= b.0 {
            let mut x = self.bd(d).max(xoff);
            let mut y = x - d;
            if y < yoff {
                x = yoff + d;
                y = yoff;
            }
            if x + y < bxybest {
                bxybest = x + y;
                bxbest = x;
            }
            d -= 2;
        }
        if (xlim + ylim) - bxybest < fxybest - (xoff + yoff) {
            Split { x: fxbest, y: fxybest - fxbest, low_minimal: true, high_minimal: false }
        } else {
            Split { x: bxbest, y: bxybest - bxbest, low_minimal: false, high_minimal: true }
        }
    }
}

/// Step 4: slide each run of changes over equal neighbours to merge it with adjacent runs, and then,
/// if possible, to line it up with a run of changes on the other side.
fn shift_boundaries(classes: [&[u32]; 2], changed: &mut [Flags; 2]) {
    for side in 0..2 {
        let (first, second) = changed.split_at_mut(1);
        let (this, other) = if side == 0 { (&mut first[0], &second[0]) } else { (&mut second[0], &first[0]) };
        let equivs = classes[side];
        let end = equivs.len() as isize;
        let class = |i: isize| equivs[i as usize];
        let (mut i, mut j) = (0isize, 0isize);
        loop {
            // Find the next run of changes, tracking the corresponding point on the other side.
            while i < end && !this.get(i) {
                loop {
                    let was = other.get(j);
                    j += 1;
                    if !was {
                        break;
                    }
                }
                i += 1;
            }
            if i == end {
                break;
            }
            let mut start = i;
            loop {
                i += 1;
                if !this.get(i) {
                    break;
                }
            }
            while other.get(j) {
                j += 1;
            }
            let mut corresponding;
            loop {
                let run_length = i - start;
                // Move the run back while the line before it equals its last line.
                while start > 0 && class(start - 1) == class(i - 1) {
                    start -= 1;
                    this.put(start, true);
                    i -= 1;
                    this.put(i, false);
                    while this.get(start - 1) {
                        start -= 1;
                    }
                    loop {
                        j -= 1;
                        if !other.get(j) {
                            break;
                        }
                    }
                }
                corresponding = if other.get(j - 1) { i } else { end };
                // Then forward while its first line equals the line after it.
                while i != end && class(start) == class(i) {
                    this.put(start, false);
                    start += 1;
                    this.put(i, true);
                    i += 1;
                    while this.get(i) {
                        i += 1;
                    }
                    loop {
                        j += 1;
                        if !other.get(j) {
                            break;
                        }
                        corresponding = i;
                    }
                }
                if run_length == i - start {
                    break;
                }
            }
            // Move the merged run back to line up with a run of changes on the other side.
            while corresponding < i {
                start -= 1;
                this.put(start, true);
                i -= 1;
                this.put(i, false);
                loop {
                    j -= 1;
                    if !other.get(j) {
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(a: &str, b: &str) -> (String, String) {
        let a: Vec<&[u8]> = a.split(' ').map(str::as_bytes).collect();
        let b: Vec<&[u8]> = b.split(' ').map(str::as_bytes).collect();
        let c = diff_lines(&a, &b);
        let show = |v: &[bool]| v.iter().map(|&x| if x { '1' } else { '0' }).collect();
        (show(&c.old), show(&c.new))
    }

    #[test]
    fn identical_and_simple_changes() {
        assert_eq!(diff("a b c", "a b c"), ("000".into(), "000".into()));
        assert_eq!(diff("a b c", "a x c"), ("010".into(), "010".into()));
        assert_eq!(diff("a b c", "a c"), ("010".into(), "00".into()));
        assert_eq!(diff("ab c", "a b c"), ("10".into(), "110".into()));
    }

    #[test]
    fn runs_slide_to_the_end_of_equal_lines() {
        // Deleting one of two equal lines: diff reports the later one.
        assert_eq!(diff("x a a y", "x a y"), ("0010".into(), "000".into()));
    }
}

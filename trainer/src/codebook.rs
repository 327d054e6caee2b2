//! Vector quantization of the emission table: every row (one weight per tag) is replaced by one of a few
//! shared row vectors (the codebook), so the table stores one small code per row instead of `L` weights.
//!
//! Adding a constant to every tag of a row changes no decision (every tag sequence gains it at that
//! position), so rows are centred (their mean over tags removed) before clustering: the codebook spends
//! its entries on the differences between tags only. Clustering is k-means weighted by how often each
//! row is read in the training data, so the rows that decide many characters are reproduced best.

use crate::train::SplitMix64;

use decoder::internal::format::CODEBOOK_ENTRIES;

use crate::features::{FeaturizedCorpus, UNUSED_ROW};
use crate::model::FloatModel;

/// A codebook and the code of every row.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// `[CODEBOOK_ENTRIES][L]` centred row vectors; entry 0 is the zero vector (rows never read get it).
    pub codebook: Vec<f32>,
    /// `[R]` the entry each row uses.
    pub codes: Vec<u8>,
}

/// The codebook version of a direct-weight `model`: its rows clustered into [`CODEBOOK_ENTRIES`] entries,
/// weighted by `usage` (`[R]` reads of each row in the training data).
pub fn quantize_rows(model: FloatModel, usage: &[u32], seed: u64) -> FloatModel {
    assert!(model.codes.is_none(), "the model already has a codebook");
    let Quantized { codebook, codes } = kmeans(&model.weights, model.num_tags(), usage, KMEANS_ITERATIONS, seed);
    model.into_codebook(codebook, codes)
}

/// [`quantize_rows`] with k-means weighted per row and tag by `curvature` (`[R][L]`, [`curvature`]).
pub fn quantize_rows_by_curvature(model: FloatModel, curvature: &[f32], seed: u64) -> FloatModel {
    assert!(model.codes.is_none(), "the model already has a codebook");
    let Quantized { codebook, codes } =
        kmeans_curvature(&model.weights, model.num_tags(), curvature, KMEANS_ITERATIONS, seed);
    model.into_codebook(codebook, codes)
}

/// Lloyd iterations: the weighted distortion changes by well under 1% after about ten.
pub const KMEANS_ITERATIONS: usize = 15;

fn centred(row: &[f32]) -> impl Iterator<Item = f32> + '_ {
    let mean = row.iter().sum::<f32>() / row.len() as f32;
    row.iter().map(move |w| w - mean)
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Clusters the `[R][L]` table `weights` into [`CODEBOOK_ENTRIES`] centred vectors (entry 0 fixed at
/// zero), each row weighted by `usage[r]` (reads in the training data; rows never read get entry 0).
/// Deterministic for a given `seed`.
pub fn kmeans(weights: &[f32], num_tags: usize, usage: &[u32], iterations: usize, seed: u64) -> Quantized {
    weighted_kmeans(weights, num_tags, RowWeights::Usage(usage), iterations, seed)
}

/// [`kmeans`] with every row's tags weighted apart, by `curvature` (`[R][L]`, [`curvature`]): the
/// distance of a row to an entry is `sum_t h_rt (w_rt - c_t)^2` and an entry is the `h`-weighted mean of
/// its rows, tag by tag, so the tags whose score the training loss is sensitive to are reproduced best.
/// Rows of zero curvature are not read and get entry 0.
pub fn kmeans_curvature(
    weights: &[f32],
    num_tags: usize,
    curvature: &[f32],
    iterations: usize,
    seed: u64,
) -> Quantized {
    weighted_kmeans(weights, num_tags, RowWeights::PerTag(curvature), iterations, seed)
}

/// Per row and tag of `model`'s table, the curvature of the training loss in that weight (Gauss-Newton,
/// the diagonal): the sum over the row's reads in `featurized` of `p_t (1 - p_t)` from the model's
/// marginals at the read's position, plus `floor` per read (so that rows the model is sure of still
/// count). `[R][L]`.
pub fn curvature(model: &FloatModel, featurized: &FeaturizedCorpus, floor: f32) -> Vec<f32> {
    let l = model.num_tags();
    let (_, constraints) = model.constraints();
    let k = model.features.rows_per_position();
    let mut h = vec![0.0f32; model.weights.len()];
    for i in 0..featurized.len() {
        let sentence = featurized.sentence(i);
        let marginals = model.marginals(sentence.rows, &constraints, 1.0).emissions;
        for (rows, p) in sentence.rows.chunks_exact(k).zip(marginals.chunks_exact(l)) {
            for &row in rows.iter().filter(|&&r| r != UNUSED_ROW) {
                let row = row as usize;
                for (h, &p) in h[row * l..(row + 1) * l].iter_mut().zip(p) {
                    *h += p * (1.0 - p) + floor;
                }
            }
        }
    }
    h
}

/// How k-means weighs the rows' coordinates.
#[derive(Debug, Clone, Copy)]
enum RowWeights<'a> {
    /// `[R]` reads: every tag of a row by its reads, distances unweighted.
    Usage(&'a [u32]),
    /// `[R][L]`: each tag of each row apart ([`kmeans_curvature`]).
    PerTag(&'a [f32]),
}

impl RowWeights<'_> {
    fn used(&self, r: usize, l: usize) -> bool {
        match self {
            Self::Usage(usage) => usage[r] > 0,
            Self::PerTag(h) => h[r * l..(r + 1) * l].iter().any(|&h| h > 0.0),
        }
    }

    /// The distance that assigns row `r` (centred `p`) to an entry.
    fn distance(&self, r: usize, p: &[f32], entry: &[f32]) -> f32 {
        match self {
            Self::Usage(_) => distance(p, entry),
            Self::PerTag(h) => {
                let l = p.len();
                h[r * l..(r + 1) * l].iter().zip(p.iter().zip(entry)).map(|(h, (x, y))| h * (x - y) * (x - y)).sum()
            }
        }
    }

    /// What multiplies [`Self::distance`] in the seeding and the distortion.
    fn row_mass(&self, r: usize) -> f64 {
        match self {
            Self::Usage(usage) => f64::from(usage[r]),
            Self::PerTag(_) => 1.0,
        }
    }

    /// The weight of tag `t` of row `r` in its entry's mean.
    fn weight(&self, r: usize, l: usize, t: usize) -> f64 {
        match self {
            Self::Usage(usage) => f64::from(usage[r]),
            Self::PerTag(h) => f64::from(h[r * l + t]),
        }
    }
}

fn weighted_kmeans(weights: &[f32], num_tags: usize, w: RowWeights, iterations: usize, seed: u64) -> Quantized {
    let l = num_tags;
    let entries = CODEBOOK_ENTRIES;
    let (points, used) = centred_points(weights, l, w);
    let point = |r: usize| &points[r * l..(r + 1) * l];

    // k-means++ seeding over the used rows, weighted by usage times squared distance.
    let mut rng = SplitMix64::new(seed);
    let mut codebook = vec![0.0f32; entries * l];
    let mut nearest: Vec<f32> = used.iter().map(|&r| w.distance(r, point(r), &codebook[..l])).collect();
    for c in 1..entries {
        let total: f64 = used.iter().zip(&nearest).map(|(&r, &d)| w.row_mass(r) * f64::from(d)).sum();
        if total <= 0.0 {
            break;
        }
        let mut target = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let mut chosen = used[used.len() - 1];
        for (&r, &d) in used.iter().zip(&nearest) {
            target -= w.row_mass(r) * f64::from(d);
            if target <= 0.0 {
                chosen = r;
                break;
            }
        }
        codebook[c * l..(c + 1) * l].copy_from_slice(point(chosen));
        for (n, &r) in nearest.iter_mut().zip(&used) {
            *n = n.min(w.distance(r, point(r), &codebook[c * l..(c + 1) * l]));
        }
    }

    lloyd(&points, l, w, &used, codebook, iterations)
}

/// Lloyd iterations of [`kmeans`] from the entries `codebook` (`[CODEBOOK_ENTRIES][L]`, entry 0 zero)
/// instead of a fresh seeding: re-assigns the centred rows of `weights` and re-centres the entries
/// `iterations` times, then assigns once more. With an entry per cluster already near its rows, this
/// follows rows that moved a little.
pub fn refine(weights: &[f32], num_tags: usize, usage: &[u32], codebook: Vec<f32>, iterations: usize) -> Quantized {
    assert_eq!(codebook.len(), CODEBOOK_ENTRIES * num_tags);
    let w = RowWeights::Usage(usage);
    let (points, used) = centred_points(weights, num_tags, w);
    lloyd(&points, num_tags, w, &used, codebook, iterations)
}

/// The centred rows of the `[R][L]` table `weights` and the rows `w` says are read.
fn centred_points(weights: &[f32], l: usize, w: RowWeights) -> (Vec<f32>, Vec<usize>) {
    let rows = weights.len() / l;
    match w {
        RowWeights::Usage(usage) => assert_eq!(usage.len(), rows),
        RowWeights::PerTag(h) => assert_eq!(h.len(), weights.len()),
    }
    let points: Vec<f32> = weights.chunks_exact(l).flat_map(centred).collect();
    let used: Vec<usize> = (0..rows).filter(|&r| w.used(r, l)).collect();
    (points, used)
}

/// Weighted Lloyd iterations over the centred `points` of the `used` rows, from `codebook`.
fn lloyd(
    points: &[f32],
    l: usize,
    w: RowWeights,
    used: &[usize],
    mut codebook: Vec<f32>,
    iterations: usize,
) -> Quantized {
    let entries = CODEBOOK_ENTRIES;
    let point = |r: usize| &points[r * l..(r + 1) * l];
    let mut codes = vec![0u8; points.len() / l];
    for _ in 0..iterations {
        assign(points, l, w, used, &codebook, &mut codes);
        // Weighted means, tag by tag; entry 0 stays zero, an empty entry keeps its place.
        let mut sums = vec![0.0f64; entries * l];
        let mut mass = vec![0.0f64; entries * l];
        for &r in used {
            let c = codes[r] as usize;
            for (t, &p) in point(r).iter().enumerate() {
                mass[c * l + t] += w.weight(r, l, t);
                sums[c * l + t] += w.weight(r, l, t) * f64::from(p);
            }
        }
        for i in l..entries * l {
            if mass[i] > 0.0 {
                codebook[i] = (sums[i] / mass[i]) as f32;
            }
        }
    }
    assign(points, l, w, used, &codebook, &mut codes);
    Quantized { codebook, codes }
}

/// The usage-weighted mean squared distance of the centred rows of `weights` to their entries in
/// `clusters` (what k-means minimises).
pub fn distortion(weights: &[f32], num_tags: usize, usage: &[u32], clusters: &Quantized) -> f64 {
    let l = num_tags;
    let (points, used) = centred_points(weights, l, RowWeights::Usage(usage));
    let (mut sum, mut mass) = (0.0f64, 0.0f64);
    for &r in &used {
        let c = clusters.codes[r] as usize;
        let d = distance(&points[r * l..(r + 1) * l], &clusters.codebook[c * l..(c + 1) * l]);
        sum += f64::from(usage[r]) * f64::from(d);
        mass += f64::from(usage[r]);
    }
    if mass > 0.0 {
        sum / mass
    } else {
        0.0
    }
}

/// Gives every used row its nearest entry (rows not used keep entry 0).
fn assign(points: &[f32], l: usize, w: RowWeights, used: &[usize], codebook: &[f32], codes: &mut [u8]) {
    use rayon::prelude::*;
    let best: Vec<u8> = used
        .par_iter()
        .map(|&r| {
            let p = &points[r * l..(r + 1) * l];
            let mut best = (f32::INFINITY, 0u8);
            for (c, entry) in codebook.chunks_exact(l).enumerate() {
                let d = w.distance(r, p, entry);
                if d < best.0 {
                    best = (d, c as u8);
                }
            }
            best.1
        })
        .collect();
    for (&r, b) in used.iter().zip(best) {
        codes[r] = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows around four centres (after centring), with small offsets, read `usage` times each.
    fn clustered_rows() -> (Vec<f32>, Vec<u32>) {
        let centres = [[1.0f32, -1.0, 0.0, 0.0], [0.0, 0.0, 2.0, -2.0], [-3.0, 1.0, 1.0, 1.0], [0.5, 0.5, -0.5, -0.5]];
        let mut weights = Vec::new();
        let mut usage = Vec::new();
        for i in 0..400 {
            let c = centres[i % 4];
            let jitter = (i as f32 * 0.37).sin() * 0.01;
            // A constant added to a whole row changes nothing and must be ignored.
            let offset = (i % 7) as f32;
            weights.extend(c.iter().map(|v| v + jitter + offset));
            usage.push(1 + (i % 3) as u32);
        }
        (weights, usage)
    }

    #[test]
    fn rows_land_on_their_centres_and_entry_zero_stays_zero() {
        let (weights, usage) = clustered_rows();
        let q = kmeans(&weights, 4, &usage, 10, 1);
        assert_eq!(q.codebook.len(), CODEBOOK_ENTRIES * 4);
        assert_eq!(&q.codebook[..4], &[0.0; 4]);
        for (row, &code) in weights.chunks_exact(4).zip(&q.codes) {
            let entry = &q.codebook[code as usize * 4..code as usize * 4 + 4];
            let centred: Vec<f32> = centred(row).collect();
            assert!(distance(&centred, entry) < 1e-3, "{centred:?} -> {entry:?}");
        }
    }

    #[test]
    fn unread_rows_get_the_zero_entry_and_results_are_deterministic() {
        let (weights, mut usage) = clustered_rows();
        usage[5] = 0;
        let a = kmeans(&weights, 4, &usage, 10, 7);
        let b = kmeans(&weights, 4, &usage, 10, 7);
        assert_eq!(a, b);
        assert_eq!(a.codes[5], 0);
        assert!(a.codes.iter().enumerate().all(|(r, &c)| r == 5 || c != 0));
    }

    #[test]
    fn refining_follows_rows_that_moved() {
        let (mut weights, usage) = clustered_rows();
        let q = kmeans(&weights, 4, &usage, 10, 1);
        // The rows of the first centre move by [0.3, -0.3, 0, 0]: their entries must follow.
        for row in weights.chunks_exact_mut(4).step_by(4) {
            row[0] += 0.3;
            row[1] -= 0.3;
        }
        assert!(distortion(&weights, 4, &usage, &q) > 0.01);
        let moved = refine(&weights, 4, &usage, q.codebook.clone(), 3);
        assert!(distortion(&weights, 4, &usage, &moved) < 1e-3, "{}", distortion(&weights, 4, &usage, &moved));
    }

    #[test]
    fn heavily_read_rows_are_reproduced_best() {
        // 300 distinct rows on a line, far more than the codebook has entries; the first ten are read
        // a million times each and must come out almost exactly.
        let weights: Vec<f32> = (0..300).flat_map(|i| [i as f32 * 0.01, 0.0, 0.0, 0.0]).collect();
        let usage: Vec<u32> = (0..300).map(|i| if i < 10 { 1_000_000 } else { 1 }).collect();
        let q = kmeans(&weights, 4, &usage, 15, 3);
        let error = |r: usize| {
            let c = q.codes[r] as usize;
            distance(&centred(&weights[r * 4..r * 4 + 4]).collect::<Vec<_>>(), &q.codebook[c * 4..c * 4 + 4])
        };
        assert!((1..10).all(|r| error(r) < 1e-6), "{:?}", (0..10).map(error).collect::<Vec<_>>());
    }

    #[test]
    fn curvature_weighted_kmeans_lowers_the_curvature_weighted_error() {
        // 300 distinct rows, more than the codebook has entries; tag 0 of the even rows and tag 2 of
        // the odd rows carry almost all the curvature.
        let weights: Vec<f32> = (0..300)
            .flat_map(|i| [(i % 17) as f32 * 0.1, (i * 7 % 300) as f32 * 0.01, (i % 5) as f32 * 0.2, 0.0])
            .collect();
        let h: Vec<f32> = (0..300)
            .flat_map(|i| if i % 2 == 0 { [100.0, 0.01, 0.01, 0.01] } else { [0.01, 0.01, 100.0, 0.01] })
            .collect();
        let error = |q: &Quantized| -> f64 {
            (0..300)
                .map(|r| {
                    let c = q.codes[r] as usize;
                    let p: Vec<f32> = centred(&weights[r * 4..r * 4 + 4]).collect();
                    f64::from(RowWeights::PerTag(&h).distance(r, &p, &q.codebook[c * 4..c * 4 + 4]))
                })
                .sum()
        };
        let usage = vec![1u32; 300];
        let plain = kmeans(&weights, 4, &usage, 15, 1);
        let weighted = kmeans_curvature(&weights, 4, &h, 15, 1);
        assert_eq!(&weighted.codebook[..4], &[0.0; 4]);
        assert!(error(&weighted) < error(&plain) / 2.0, "{} against {}", error(&weighted), error(&plain));
        // Zero curvature: not read, entry 0.
        let mut unread = h.clone();
        unread[8..12].fill(0.0);
        assert_eq!(kmeans_curvature(&weights, 4, &unread, 15, 1).codes[2], 0);
    }

    #[test]
    fn curvature_sums_p_times_one_minus_p_and_the_floor_over_the_reads() {
        use crate::features::FeatureSpec;
        use decoder::internal::features::Template;
        // Two one-token sentences read row 1, one reads row 2 (row(h, 4) = h * 4 >> 32).
        let hashes = vec![vec![1u32 << 30], vec![1u32 << 30], vec![2u32 << 30]];
        let tags: Vec<&[u8]> = vec![&[0], &[1], &[0]];
        let corpus = FeaturizedCorpus::from_hashes(hashes, &tags, 4, 1, 1);
        let mut model =
            FloatModel::zeros(vec!["A".into(), "B".into()], FeatureSpec::with_rows(vec![Template::Bias], 4));
        // Row 2 is sure of A: p(1 - p) is almost 0 there.
        model.weights[4..6].copy_from_slice(&[10.0, -10.0]);
        let h = curvature(&model, &corpus, 0.01);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(h[2], 2.0 * 0.26) && close(h[3], 2.0 * 0.26), "{h:?}");
        assert!(close(h[4], 0.01) && close(h[5], 0.01), "{h:?}");
        assert_eq!((h[0], h[1], h[6], h[7]), (0.0, 0.0, 0.0, 0.0));
    }
}

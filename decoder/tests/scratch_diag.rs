mod common;
use decoder::lattice::{backpointer_bytes, label_chars_with, TransitionScores};
use decoder::{Model, StreamLabeler};
use std::time::Instant;
#[test]
#[ignore]
fn speed() {
    let text = std::fs::read_to_string("../../shared/data/icwb2/pku_test.utf8").unwrap();
    let bits: u8 = std::env::var("BITS").ok().and_then(|v| v.parse().ok()).unwrap_or(18);
    let spec = common::random_bmes(1, &decoder::features::DEFAULT_TEMPLATES, bits, 127, 4);
    let bytes = spec.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    let chars = text.chars().filter(|c| !c.is_whitespace()).count() as f64;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let segs: Vec<String> = lines.chunks(100).map(|c| c.concat()).collect();
    let scores = TransitionScores::from_model(&model);
    let mut bp = vec![0u8; backpointer_bytes(4, 10000)];
    let mut tags = vec![0u8; 10000];
    let mut tot = [0f64; 2];
    for seg in &segs {
        let runs: Vec<Vec<char>> =
            seg.split(char::is_whitespace).filter(|r| !r.is_empty()).map(|r| r.chars().collect()).collect();
        let mut best = [f64::MAX; 2];
        for _ in 0..60 {
            let t = Instant::now();
            let mut sum = 0u64;
            for run in &runs {
                label_chars_with(&scores, &model, run, &mut bp, &mut tags).unwrap();
                sum += tags[0] as u64;
            }
            std::hint::black_box(sum);
            best[0] = best[0].min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let mut l = StreamLabeler::<256>::new(&model);
            let mut sum = 0u64;
            l.push(seg.as_bytes(), |e| {
                if let decoder::Event::Unit(u) = e {
                    sum += u.tag.unwrap_or(0) as u64
                }
            });
            l.finish(|_| {});
            std::hint::black_box(sum);
            best[1] = best[1].min(t.elapsed().as_secs_f64());
        }
        tot[0] += best[0];
        tot[1] += best[1];
    }
    println!(
        "SPEED bits {bits}: whole-line {:.1} M chars/s, streaming {:.1} M chars/s",
        chars / tot[0] / 1e6,
        chars / tot[1] / 1e6
    );
}
#[test]
#[ignore]
fn micro() {
    use decoder::emission::EmissionModel;
    use decoder::features::{Context, DEFAULT_TEMPLATES};
    let text = std::fs::read_to_string("../../shared/data/icwb2/pku_test.utf8").unwrap();
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    let spec = common::random_bmes(1, &DEFAULT_TEMPLATES, 18, 127, 4);
    let bytes = spec.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    let em = model.emission();
    let n = chars.len() as f64;
    let mut best = [f64::MAX; 4];
    for _ in 0..10 {
        let t = Instant::now();
        let mut ctx = Context::empty();
        let mut acc = 0u32;
        for &c in &chars {
            ctx.shift_in(c as u32);
            acc = acc.wrapping_add(ctx.codes[4]);
        }
        std::hint::black_box(acc);
        best[0] = best[0].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut ctx = Context::empty();
        let mut acc = 0u32;
        for &c in &chars {
            ctx.shift_in(c as u32);
            for (i, tm) in DEFAULT_TEMPLATES.iter().enumerate() {
                acc = acc.wrapping_add(tm.hash(i, &ctx));
            }
        }
        std::hint::black_box(acc);
        best[1] = best[1].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut ctx = Context::empty();
        let mut acc = 0i32;
        let mut e = [0i32; 16];
        for &c in &chars {
            ctx.shift_in(c as u32);
            em.scores(&ctx, &mut e);
            acc = acc.wrapping_add(e[0] ^ e[3]);
        }
        std::hint::black_box(acc);
        best[2] = best[2].min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let mut acc = 0u32;
        for &c in &chars {
            acc = acc.wrapping_add(decoder::text::char_class(c) as u32);
        }
        std::hint::black_box(acc);
        best[3] = best[3].min(t.elapsed().as_secs_f64());
    }
    println!(
        "MICRO ns/char: shift_in {:.1}, shift+13 Template::hash {:.1}, shift+scores {:.1}, shift+compiled hashes {:.1}",
        best[0] / n * 1e9,
        best[1] / n * 1e9,
        best[2] / n * 1e9,
        best[3] / n * 1e9
    );
}
#[test]
#[ignore]
fn clock() {
    let mut best = f64::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        let mut x = std::hint::black_box(12345u64);
        for _ in 0..10_000_000 {
            x = std::hint::black_box(x.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        }
        std::hint::black_box(x);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!(
        "CLOCK dependent imul64 latency: {:.3} ns (3 cycles each => {:.2} GHz)",
        best / 1e7 * 1e9,
        3.0 / (best / 1e7 * 1e9)
    );
}
#[inline(always)]
fn mix(h: u32, x: u32) -> u32 {
    (h ^ x).wrapping_mul(0xCC9E_2D51).rotate_left(15).wrapping_mul(0x1B87_3593)
}
#[inline(always)]
fn fin(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}
#[test]
#[ignore]
fn floor() {
    let text = std::fs::read_to_string("../../shared/data/icwb2/pku_test.utf8").unwrap();
    let chars: Vec<u32> = text.chars().filter(|c| !c.is_whitespace()).map(|c| c as u32).collect();
    let n = chars.len() as f64;
    let mut best = f64::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        let mut acc = 0u32;
        for w in chars.windows(5) {
            // 1 bias, 5 chars, 5 pairs, 2 "class" = 13 hashes
            acc ^= fin(0x85EB_CA77);
            for i in 0..5 {
                acc ^= fin(mix(0x1234_5678u32.wrapping_mul(i as u32 + 2), w[i]));
            }
            for i in 0..4 {
                acc ^= fin(mix(mix(0x2345_6789u32.wrapping_mul(i as u32 + 7), w[i]), w[i + 1]));
            }
            acc ^= fin(mix(mix(0x3456_789Au32, w[1]), w[3]));
            acc ^= fin(mix(0x4567_89ABu32, w[2] & 7));
            acc ^= fin(mix(0x5678_9ABCu32, (w[1] & 7) * 64 + (w[2] & 7) * 8 + (w[3] & 7)));
        }
        std::hint::black_box(acc);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("FLOOR 13 hashes: {:.1} ns/char", best / n * 1e9);
}
#[test]
#[ignore]
fn vit() {
    use decoder::tags::derive_constraints;
    let (_, c) = derive_constraints(["B", "M", "E", "S"].into_iter());
    let mut rng = common::Rng(5);
    let trans: Vec<i16> = (0..16).map(|_| rng.range(-2000, 2000) as i16).collect();
    let scores = TransitionScores::new(&c, &trans, &[0; 4], &[0; 4]).unwrap();
    let t = 100_000;
    let em: Vec<i32> = (0..t * 4).map(|_| rng.range(-30000, 30000) as i32).collect();
    let mut bp = vec![0u8; backpointer_bytes(4, t)];
    let mut tags = vec![0u8; t];
    let mut best = f64::MAX;
    for _ in 0..50 {
        let s = Instant::now();
        decoder::viterbi(&em, &scores, &mut bp, &mut tags).unwrap();
        best = best.min(s.elapsed().as_secs_f64());
    }
    println!("VITERBI L=4: {:.2} ns/position", best / t as f64 * 1e9);
}
#[test]
#[ignore]
fn streamonly() {
    let text = std::fs::read_to_string("../../shared/data/icwb2/pku_test.utf8").unwrap();
    let spec = common::default_bmes(1);
    let bytes = spec.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    for _ in 0..100 {
        let mut l = StreamLabeler::<256>::new(&model);
        let mut sum = 0u64;
        l.push(text.as_bytes(), |e| {
            if let decoder::Event::Unit(u) = e {
                sum += u.tag.unwrap_or(0) as u64
            }
        });
        l.finish(|_| {});
        std::hint::black_box(sum);
    }
}

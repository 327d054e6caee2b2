//! Decode throughput (characters per second) of a 4-tag BMES model with the default templates and 2^18
//! buckets of random i8 weights (fixed seed), on the PKU test set when present
//! (`ICWB2_DIR`, default `../shared/data/icwb2`), else on generated Chinese-like text.
//!
//! `cargo bench -p decoder --bench decode` (`BENCH_BUCKET_BITS=10` for a cache-resident table, for comparison)

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use decoder::Event;
use decoder::{LineLabeler, DEFAULT_SEPARATOR};
use decoder::{Model, Segmenter, StreamLabeler, DEFAULT_WINDOW};
use std::hint::black_box;
use std::path::PathBuf;

fn input() -> String {
    let dir = std::env::var_os("ICWB2_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/icwb2"));
    let path = dir.join("pku_test.utf8");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            println!("input: {} ({} chars)", path.display(), text.chars().count());
            text
        }
        Err(_) => {
            println!("input: {} not found; using 200,000 generated Chinese-like characters", path.display());
            let mut rng = common::Rng(42);
            let common_chars: Vec<char> = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严，。、；：？！".chars().collect();
            let mut text = String::new();
            let mut line_len = 0;
            for _ in 0..200_000 {
                text.push(common_chars[rng.below(common_chars.len() as u64) as usize]);
                line_len += 1;
                if line_len > 20 && rng.below(60) == 0 {
                    text.push('\n');
                    line_len = 0;
                }
            }
            text
        }
    }
}

fn bench(c: &mut Criterion) {
    let text = input();
    let bits: u8 = std::env::var("BENCH_BUCKET_BITS").ok().and_then(|v| v.parse().ok()).unwrap_or(18);
    let spec = common::random_bmes(1, &decoder::internal::features::DEFAULT_TEMPLATES, bits, 127, 4);
    let bytes = spec.encode();
    let model = Model::from_bytes(&bytes).unwrap();
    let chars = text.chars().filter(|c| !c.is_whitespace()).count() as u64;

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(chars));
    group.sample_size(20);

    // Whole-line: every run between separators labelled by whole-sequence Viterbi (chars pre-split).
    let runs: Vec<Vec<char>> =
        text.split(char::is_whitespace).filter(|r| !r.is_empty()).map(|r| r.chars().collect()).collect();
    let longest = runs.iter().map(Vec::len).max().unwrap_or(0);
    let labeler = LineLabeler::new(&model);
    let mut bp = vec![0u8; labeler.backpointer_bytes(longest)];
    let mut tags = vec![0u8; longest];
    group.bench_function("whole-line label_chars", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for run in &runs {
                labeler.label(run, &mut bp, &mut tags).unwrap();
                sum += u64::from(tags[0]);
            }
            black_box(sum)
        })
    });

    // Streaming: bytes in, labeled events out.
    group.bench_function("streaming StreamLabeler<256>", |b| {
        b.iter(|| {
            let mut labeler = StreamLabeler::<DEFAULT_WINDOW>::new(&model);
            let mut sum = 0u64;
            let mut count = |e: Event| {
                if let Event::Unit(u) = e {
                    sum += u64::from(u.tag.unwrap_or(0));
                }
            };
            labeler.push(text.as_bytes(), &mut count);
            labeler.finish(&mut count);
            black_box(sum)
        })
    });

    // Segmentation: bytes in, segmented bytes out.
    let mut out = Vec::with_capacity(text.len() * 2);
    group.bench_function("streaming Segmenter<256>", |b| {
        b.iter(|| {
            out.clear();
            let mut segmenter = Segmenter::<DEFAULT_WINDOW>::with_separator(&model, DEFAULT_SEPARATOR);
            segmenter.push(text.as_bytes(), |b| out.extend_from_slice(b));
            segmenter.finish(|b| out.extend_from_slice(b));
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! The fuzz check, shared by the fuzz target and `decoder/tests/fuzz_regressions.rs`.
//!
//! Input layout: `flags: u8`, `model_len: u16 LE`, `model_len` bytes of model, then the text input.
//! - `flags & 1`: replace the model's last four bytes by its correct CRC-32, so the fuzzer gets past the
//!   checksum into the structure and validation;
//! - `flags & 2`: ignore the model bytes and use a built-in valid BMES model: with `flags & 4` the
//!   codebook model (format version 2, 1000 rows), else the direct-table one (version 1, 2^6 buckets);
//! - `flags >> 4`: where to split the input for the split-invariance check.
//!
//! Properties (besides "never panics"): whole-sequence labels obey the constraints; streaming output is
//! the same for two different splits, for windows 16 and 256; streaming events give back every input
//! byte; with no forced cut, or a derived tag scheme, every labeled run obeys the constraints.
#![allow(dead_code)]

use decoder::internal::lattice::{backpointer_bytes, label_chars};
use decoder::internal::ModelInternals;
use decoder::{Event, LineEnding};
use decoder::{Model, StreamLabeler};

pub fn run(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let [a, b, rest @ ..] = rest else { return };
    let model_len = usize::from(u16::from_le_bytes([*a, *b])).min(rest.len());
    let (model_bytes, input) = rest.split_at(model_len);
    let mut owned = model_bytes.to_vec();
    let builtin = if flags & 4 != 0 { builtin_codebook_model() } else { builtin_model() };
    let bytes: &[u8] = if flags & 2 != 0 {
        &builtin
    } else {
        if flags & 1 != 0 && owned.len() >= 4 {
            let n = owned.len() - 4;
            let crc = decoder::internal::crc::crc32(&owned[..n]);
            owned[n..].copy_from_slice(&crc.to_le_bytes());
        }
        &owned
    };
    let Ok(model) = Model::from_bytes(bytes) else { return };
    let constraints = *model.constraints();

    // Whole-sequence labelling of the input as one sequence.
    let chars: Vec<char> = String::from_utf8_lossy(input).chars().collect();
    let mut bp = vec![0u8; backpointer_bytes(model.num_tags(), chars.len())];
    let mut tags = vec![0u8; chars.len()];
    label_chars(&model, &chars, &mut bp, &mut tags).expect("buffers are large enough");
    assert!(constraints.allows_sequence(&tags));

    let split = (usize::from(flags >> 4) * input.len() / 15).min(input.len());
    check_stream::<16>(&model, input, split);
    check_stream::<256>(&model, input, split);
}

fn check_stream<const W: usize>(model: &Model<'_>, input: &[u8], split: usize) {
    let run = |pieces: &[&[u8]]| {
        let mut labeler = StreamLabeler::<W>::new(model);
        let mut events = Vec::new();
        for piece in pieces {
            labeler.push(piece, |e| events.push(e));
        }
        labeler.finish(|e| events.push(e));
        (events, labeler.forced_cuts())
    };
    let (whole, cuts) = run(&[input]);
    let (a, b) = input.split_at(split);
    let (pieces, cuts2) = run(&[a, b]);
    assert_eq!(whole, pieces, "split at {split}");
    assert_eq!(cuts, cuts2);
    let bytewise: Vec<&[u8]> = input.chunks(1).take(64).collect();
    if input.len() <= 64 {
        assert_eq!(run(&bytewise).0, whole);
    }

    let mut rebuilt = Vec::new();
    let mut run_tags = Vec::new();
    let check_run = |run_tags: &mut Vec<u8>| {
        if cuts == 0 || model.scheme() != decoder::TagScheme::Custom {
            assert!(model.constraints().allows_sequence(run_tags), "{run_tags:?}");
        }
        run_tags.clear();
    };
    for e in &whole {
        match e {
            Event::Unit(u) => {
                rebuilt.extend_from_slice(u.as_bytes());
                match u.tag {
                    Some(t) => {
                        assert!(usize::from(t) < model.num_tags());
                        run_tags.push(t);
                    }
                    None => check_run(&mut run_tags),
                }
            }
            Event::LineEnd(end) => {
                check_run(&mut run_tags);
                match end {
                    LineEnding::Lf => rebuilt.push(b'\n'),
                    LineEnding::CrLf => rebuilt.extend_from_slice(b"\r\n"),
                    LineEnding::EndOfInput => {}
                }
            }
        }
    }
    check_run(&mut run_tags);
    assert_eq!(rebuilt, input);

    let mut out = Vec::new();
    decoder::internal::segment::segment::<W>(model, input, b"  ", |b| out.extend_from_slice(b));
}

/// A small valid BMES model (default templates, 2^6 buckets, fixed pseudo-random weights; format version 1).
pub fn builtin_model() -> Vec<u8> {
    builtin(false)
}

/// A small valid BMES codebook model (default templates, 1000 rows of pseudo-random codes into a
/// pseudo-random codebook; format version 2).
pub fn builtin_codebook_model() -> Vec<u8> {
    builtin(true)
}

fn builtin(codebook: bool) -> Vec<u8> {
    use decoder::internal::features::DEFAULT_TEMPLATES;
    use decoder::internal::format::*;
    let mut state = 0x1234_5678_u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let templates: Vec<u8> = DEFAULT_TEMPLATES.iter().flat_map(|t| t.encode()).collect();
    let rows = if codebook { CODEBOOK_ENTRIES } else { 64 };
    let weights: Vec<u8> = (0..rows * 4).map(|_| (next() % 41) as u8).map(|w| (w as i8 - 20) as u8).collect();
    let scores: Vec<i16> = (0..24).map(|_| (next() % 2001) as i16 - 1000).collect();
    let codes: Vec<u8> = (0..1000).map(|_| next() as u8).collect();
    let (trans, start, end) = (i16_bytes(&scores[..16]), i16_bytes(&scores[16..20]), i16_bytes(&scores[20..]));
    let emission = if codebook {
        EmissionSpec::CodebookNgram(CodebookNgramSpec {
            normalization: 1,
            templates: &templates,
            rows: codes.len() as u32,
            hashes_per_feature: 2,
            codes: &codes,
            weight_type: WeightType::I8,
            weight_shift: 4,
            codebook: &weights,
        })
    } else {
        EmissionSpec::HashedNgram(HashedNgramSpec {
            normalization: 1,
            templates: &templates,
            bucket_bits: 6,
            weight_type: WeightType::I8,
            weight_shift: 4,
            weights: &weights,
        })
    };
    let body = ModelBody {
        tag_names: "B M E S",
        constraints: None,
        score_frac_bits: 8,
        emission,
        transitions: TransitionSpec { transitions: &trans, start: &start, end: &end },
        metadata: "fuzz seed",
    };
    encode(&body).expect("encode")
}

/// Seed inputs: each built-in model inline (CRC intact, and with the CRC-fixing flag), and the built-in
/// flags, with some text.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let text = {
        let mut t = "中文分词 测试\r\nＡＢＣ１２３，abc\n\n\u{3000}末行".as_bytes().to_vec();
        t.push(0xff);
        t
    };
    let with_model = |model: &[u8], flags: u8| {
        let mut v = vec![flags];
        v.extend_from_slice(&(model.len() as u16).to_le_bytes());
        v.extend_from_slice(model);
        v.extend_from_slice(&text);
        v
    };
    let builtin = |flags: u8| {
        let mut v = vec![flags, 0, 0];
        v.extend_from_slice(&text);
        v
    };
    let (direct, codebook) = (builtin_model(), builtin_codebook_model());
    vec![
        ("valid-model", with_model(&direct, 0x70)),
        ("valid-model-fix-crc", with_model(&direct, 0x31)),
        ("builtin-model", builtin(0x72)),
        ("valid-codebook-model", with_model(&codebook, 0x70)),
        ("valid-codebook-model-fix-crc", with_model(&codebook, 0x31)),
        ("builtin-codebook-model", builtin(0x76)),
    ]
}

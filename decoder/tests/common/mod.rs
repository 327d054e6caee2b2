//! Shared helpers of the integration tests: building model files, a deterministic generator, and the
//! reference (whole-sequence) labelling of streamed input.
#![allow(dead_code)]

pub mod tiny_neural;

use decoder::internal::features::{Template, DEFAULT_TEMPLATES};
use decoder::internal::format::{
    self, CodebookNgramSpec, CustomConstraints, EmissionSpec, HashedNgramSpec, ModelBody, TokenSpec, TransitionSpec,
    WeightType,
};
use decoder::internal::lattice::{backpointer_bytes, label_chars};
use decoder::internal::tags::Constraints;
use decoder::Model;
use decoder::{Event, Labeled, LineEnding};

/// splitmix64: small, deterministic, good enough for test data.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// Everything needed to write a model file.
#[derive(Clone, Debug)]
pub struct Spec {
    pub names: String,
    pub custom: Option<(Vec<u8>, Vec<u8>, Vec<u8>)>,
    pub normalization: u8,
    pub templates: Vec<Template>,
    pub bucket_bits: u8,
    pub weight_type: WeightType,
    pub weight_shift: u8,
    pub weights: Vec<u8>,
    pub transitions: Vec<i16>,
    pub start: Vec<i16>,
    pub end: Vec<i16>,
}

impl Spec {
    pub fn num_tags(&self) -> usize {
        self.names.split(' ').count()
    }

    /// A version-1 file: `weights` is the `[2^bucket_bits][L]` table.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_with(None, None)
    }

    /// A token-level file (format version 6) with the template section `tokens`: `weights` is the
    /// `[2^bucket_bits][L]` table over the hashed token features.
    pub fn encode_tokens(&self, tokens: &TokenSpec<'_>) -> Vec<u8> {
        self.encode_with(None, Some(tokens))
    }

    /// A version-2 codebook file with `codes.len()` rows: `weights` is the `[256][L]` codebook and
    /// `bucket_bits` is unused.
    pub fn encode_codebook(&self, codes: &[u8]) -> Vec<u8> {
        self.encode_with(Some((codes, 1)), None)
    }

    /// Like [`Spec::encode_codebook`], with `hashes` rows per feature.
    pub fn encode_codebook_hashes(&self, codes: &[u8], hashes: u8) -> Vec<u8> {
        self.encode_with(Some((codes, hashes)), None)
    }

    fn encode_with(&self, codes: Option<(&[u8], u8)>, tokens: Option<&TokenSpec<'_>>) -> Vec<u8> {
        let templates: Vec<u8> = self.templates.iter().flat_map(|t| t.encode()).collect();
        let trans = format::i16_bytes(&self.transitions);
        let start = format::i16_bytes(&self.start);
        let end = format::i16_bytes(&self.end);
        let body = ModelBody {
            tag_names: &self.names,
            constraints: self.custom.as_ref().map(|(t, s, e)| CustomConstraints {
                allowed_transitions: t,
                allowed_start: s,
                allowed_end: e,
            }),
            score_frac_bits: 8,
            emission: match codes {
                None => EmissionSpec::HashedNgram(HashedNgramSpec {
                    normalization: self.normalization,
                    templates: &templates,
                    bucket_bits: self.bucket_bits,
                    weight_type: self.weight_type,
                    weight_shift: self.weight_shift,
                    weights: &self.weights,
                }),
                Some((codes, hashes)) => EmissionSpec::CodebookNgram(CodebookNgramSpec {
                    normalization: self.normalization,
                    templates: &templates,
                    rows: codes.len() as u32,
                    hashes_per_feature: hashes,
                    codes,
                    weight_type: self.weight_type,
                    weight_shift: self.weight_shift,
                    codebook: &self.weights,
                }),
            },
            transitions: TransitionSpec { transitions: &trans, start: &start, end: &end },
            metadata: "test",
        };
        format::encode_with_tokens(&body, tokens).expect("encode")
    }
}

/// A BMES model with `templates`, `2^bucket_bits` buckets of random i8 weights in `-range..=range` (shift
/// `shift`), and random transition scores.
pub fn random_bmes(seed: u64, templates: &[Template], bucket_bits: u8, range: i64, shift: u8) -> Spec {
    let mut rng = Rng(seed);
    let l = 4;
    let weights = (0..(1usize << bucket_bits) * l).map(|_| rng.range(-range, range) as i8 as u8).collect();
    Spec {
        names: "B M E S".into(),
        custom: None,
        normalization: decoder::internal::text::NORMALIZE_WIDTH,
        templates: templates.to_vec(),
        bucket_bits,
        weight_type: WeightType::I8,
        weight_shift: shift,
        weights,
        transitions: (0..l * l).map(|_| rng.range(-2000, 2000) as i16).collect(),
        start: (0..l).map(|_| rng.range(-2000, 2000) as i16).collect(),
        end: (0..l).map(|_| rng.range(-2000, 2000) as i16).collect(),
    }
}

/// The default benchmark/test model: BMES, DEFAULT_TEMPLATES, 2^18 buckets of random i8 weights.
pub fn default_bmes(seed: u64) -> Spec {
    random_bmes(seed, &DEFAULT_TEMPLATES, 18, 127, 4)
}

/// A random small model: 1..=5 tags, derived or random primitive constraints, random templates, few
/// buckets and small weights (so ties happen).
pub fn random_small(rng: &mut Rng) -> Spec {
    let (names, custom): (String, _) = match rng.below(6) {
        0 => ("B M E S".into(), None),
        1 => ("B I O".into(), None),
        2 => ("O B-X I-X E-X S-X".into(), None),
        3 => ("B-A I-A B-B I-B".into(), None),
        _ => {
            let l = 1 + rng.below(5) as usize;
            let names = (0..l).map(|i| format!("T{i}")).collect::<Vec<_>>().join(" ");
            let custom = loop {
                let t: Vec<u8> = (0..l * l).map(|_| u8::from(rng.below(3) != 0)).collect();
                let s: Vec<u8> = (0..l).map(|_| u8::from(rng.below(2) != 0)).collect();
                let e: Vec<u8> = (0..l).map(|_| u8::from(rng.below(2) != 0)).collect();
                let mut c = decoder::internal::tags::Constraints::unconstrained(l);
                for from in 0..l {
                    c.next[from] = (0..l).filter(|&to| t[from * l + to] == 1).fold(0, |m, to| m | 1 << to);
                }
                c.start = (0..l).filter(|&i| s[i] == 1).fold(0, |m, i| m | 1 << i);
                c.end = (0..l).filter(|&i| e[i] == 1).fold(0, |m, i| m | 1 << i);
                if c.validate().is_ok() {
                    break (t, s, e);
                }
            };
            (names, Some(custom))
        }
    };
    let l = names.split(' ').count();
    let mut templates = vec![Template::Bias];
    let pool = [
        Template::Char(0),
        Template::Char(-1),
        Template::Char(1),
        Template::Char(-4),
        Template::Char(4),
        Template::Pair(-1, 0),
        Template::Pair(0, 2),
        Template::Triple(-2, 0, 3),
        Template::ClassSpan(-1, 1),
        Template::ClassSpan(-4, 4),
    ];
    for t in pool {
        if rng.below(2) == 0 {
            templates.push(t);
        }
    }
    let bucket_bits = 2 + rng.below(4) as u8;
    let wide = rng.below(2) == 0;
    let small = rng.below(2) == 0;
    let lim = if small { 2 } else { 100 };
    let weights: Vec<u8> = if wide {
        (0..(1usize << bucket_bits) * l).flat_map(|_| (rng.range(-lim * 50, lim * 50) as i16).to_le_bytes()).collect()
    } else {
        (0..(1usize << bucket_bits) * l).map(|_| rng.range(-lim, lim) as i8 as u8).collect()
    };
    let tl = if small { 3 } else { 3000 };
    Spec {
        names,
        custom,
        normalization: rng.below(4) as u8,
        templates,
        bucket_bits,
        weight_type: if wide { WeightType::I16 } else { WeightType::I8 },
        weight_shift: if wide { 0 } else { rng.below(9) as u8 },
        weights,
        transitions: (0..l * l).map(|_| rng.range(-tl, tl) as i16).collect(),
        start: (0..l).map(|_| rng.range(-tl, tl) as i16).collect(),
        end: (0..l).map(|_| rng.range(-tl, tl) as i16).collect(),
    }
}

/// Textbook floating-point Viterbi over an `[T][L]` emission matrix, with -inf for forbidden moves; ties
/// go to the lowest tag (predecessor and final tag), like the decoder. Returns the best score and tags.
#[allow(clippy::needless_range_loop)] // written textbook-style, index by index
pub fn reference_viterbi(
    c: &Constraints,
    trans: &[i16],
    start: &[i16],
    end: &[i16],
    emissions: &[i32],
    l: usize,
) -> (f64, Vec<u8>) {
    let t = emissions.len() / l;
    if t == 0 {
        return (0.0, vec![]);
    }
    let ninf = f64::NEG_INFINITY;
    let allow = |ok: bool, v: i16| if ok { f64::from(v) } else { ninf };
    let mut delta: Vec<f64> = (0..l).map(|j| allow(c.allows_start(j), start[j]) + f64::from(emissions[j])).collect();
    let mut back = vec![vec![0usize; l]; t];
    for pos in 1..t {
        let mut next = vec![ninf; l];
        for j in 0..l {
            let mut best = (ninf, 0usize);
            for i in 0..l {
                let v = delta[i] + allow(c.allows(i, j), trans[i * l + j]);
                if v > best.0 {
                    best = (v, i);
                }
            }
            next[j] = best.0 + f64::from(emissions[pos * l + j]);
            back[pos][j] = best.1;
        }
        delta = next;
    }
    let mut best = (ninf, 0usize);
    for j in 0..l {
        let v = delta[j] + allow(c.allows_end(j), end[j]);
        if v > best.0 {
            best = (v, j);
        }
    }
    let mut tags = vec![0u8; t];
    let mut y = best.1;
    for pos in (0..t).rev() {
        tags[pos] = y as u8;
        y = back[pos][y];
    }
    (best.0, tags)
}

/// Reference events for `input`, computed independently of the streaming code: std's lossy UTF-8 chunks,
/// lines split at `\n` (CR before LF dropped), runs between white space labelled by whole-sequence
/// Viterbi.
pub fn reference_events(model: &Model<'_>, input: &[u8]) -> Vec<Event> {
    // Units with their bytes.
    let mut units: Vec<(char, Vec<u8>)> = Vec::new();
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            let mut b = [0u8; 4];
            units.push((c, c.encode_utf8(&mut b).as_bytes().to_vec()));
        }
        if !chunk.invalid().is_empty() {
            units.push((char::REPLACEMENT_CHARACTER, chunk.invalid().to_vec()));
        }
    }
    let mut events = Vec::new();
    let mut run: Vec<(char, Vec<u8>)> = Vec::new();
    let flush = |run: &mut Vec<(char, Vec<u8>)>, events: &mut Vec<Event>| {
        if run.is_empty() {
            return;
        }
        let chars: Vec<char> = run.iter().map(|u| u.0).collect();
        let mut tags = vec![0u8; chars.len()];
        let mut bp = vec![0u8; backpointer_bytes(model.num_tags(), chars.len())];
        label_chars(model, &chars, &mut bp, &mut tags).unwrap();
        for ((c, b), t) in run.drain(..).zip(tags) {
            events.push(Event::Unit(labeled(c, &b, Some(t))));
        }
    };
    let mut line_open = false;
    let mut i = 0;
    while i < units.len() {
        let (c, b) = &units[i];
        line_open = true;
        if *c == '\n' {
            flush(&mut run, &mut events);
            events.push(Event::LineEnd(LineEnding::Lf));
            line_open = false;
        } else if *c == '\r' && units.get(i + 1).is_some_and(|u| u.0 == '\n') {
            flush(&mut run, &mut events);
            events.push(Event::LineEnd(LineEnding::CrLf));
            line_open = false;
            i += 1;
        } else if c.is_whitespace() {
            flush(&mut run, &mut events);
            events.push(Event::Unit(labeled(*c, b, None)));
        } else {
            run.push((*c, b.clone()));
        }
        i += 1;
    }
    flush(&mut run, &mut events);
    if line_open {
        events.push(Event::LineEnd(LineEnding::EndOfInput));
    }
    events
}

pub fn labeled(ch: char, bytes: &[u8], tag: Option<u8>) -> Labeled {
    let mut b = [0u8; 4];
    b[..bytes.len()].copy_from_slice(bytes);
    Labeled { bytes: b, len: bytes.len() as u8, ch, tag }
}

/// Runs a streaming labeler over `input` split into the given pieces; returns events and forced cuts.
pub fn stream_events<const W: usize>(model: &Model<'_>, pieces: &[&[u8]]) -> (Vec<Event>, u64) {
    let mut labeler = decoder::StreamLabeler::<W>::new(model);
    let mut events = Vec::new();
    for piece in pieces {
        labeler.push(piece, |e| events.push(e));
    }
    labeler.finish(|e| events.push(e));
    (events, labeler.forced_cuts())
}

/// Splits `input` at the given cut points (sorted, deduplicated, clamped).
pub fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut last = 0;
    for c in cuts {
        pieces.push(&input[last..c]);
        last = c;
    }
    pieces.push(&input[last..]);
    pieces
}

/// The input bytes the events cover, in order (units' bytes and line endings).
pub fn rebuild(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        match e {
            Event::Unit(u) => out.extend_from_slice(u.as_bytes()),
            Event::LineEnd(LineEnding::Lf) => out.push(b'\n'),
            Event::LineEnd(LineEnding::CrLf) => out.extend_from_slice(b"\r\n"),
            Event::LineEnd(LineEnding::EndOfInput) => {}
        }
    }
    out
}

//! Unbounded input in bounded memory: [`StreamLabeler`] takes bytes in pieces of any size and emits each
//! character with its tag as soon as the tag is final.
//!
//! # Input model
//!
//! - Bytes are decoded with [`Utf8Decoder`] (invalid sequences become U+FFFD units that keep their
//!   original bytes); one byte at a time, so the result never depends on how the input is split.
//! - Input is a sequence of lines; a line ends at `\n`, and a `\r` directly before `\n` is part of the line
//!   ending (CRLF). Lines are independent.
//! - Separators (Unicode `White_Space`, e.g. ASCII space,
//!   tab, U+3000, a lone `\r`) are forced boundaries and are never labeled.
//! - Each maximal run of other units within a line is one sequence for Viterbi, with start and end
//!   constraints, and features that see only the run's characters (`BEFORE_START`/`AFTER_END` padding
//!   outside it): exactly what [`LineLabeler::label`](crate::LineLabeler::label) computes for that run.
//!
//! # Commit rule
//!
//! A unit's tag is emitted once it is final:
//!
//! - **Agreement (exact).** The labeler keeps an *anchor* column and, for every live state of the newest
//!   column, the state its survivor path passes through at the anchor (`O(L)` per character). When all
//!   live states' survivors pass through the same state at the anchor, every position up to the anchor is
//!   final: whatever comes later, the whole-run Viterbi path passes through one of today's live states
//!   and so through that state. Those positions are traced back once (each position is traced exactly
//!   once: amortised one back-pointer read per character), emitted, and the anchor moves to the newest
//!   column. Output committed this way is identical to whole-sequence Viterbi, ties included.
//! - **Forced cut (approximate).** When the window fills without agreement (more than `WINDOW` pending
//!   units, or more than `WINDOW / row_bytes(L)` uncommitted columns), the labeler cuts at the best state
//!   of the newest column (lowest index on ties, among states from which an allowed end can be reached
//!   for every remaining length; every state for BMES/BIO/BIOES), emits that path, restarts the lattice
//!   from that single state and counts the cut ([`StreamLabeler::forced_cuts`]). Only runs containing a
//!   forced cut may be labeled differently from whole-sequence Viterbi.
//!
//! The labeler reads `MAX_OFFSET` characters ahead of the column it scores (no template reads further);
//! runs are flushed at once when they end.
//!
//! # Memory
//!
//! `WINDOW` (a power of two in `16..=32768`) fixes all memory: per pending unit 4 bytes of input, 1 byte of
//! length/tag and `row_bytes(L)` bytes of back-pointers (6 bytes per character for BMES), i.e.
//! `6 * WINDOW` bytes of ring buffers (1.5 KiB for [`DEFAULT_WINDOW`](crate::DEFAULT_WINDOW) = 256), plus
//! fixed state: the transition scores widened to `i32` (1 KiB), the emission model's template tables,
//! the feature window and the column's emission scores (the tests print `size_of::<StreamLabeler<256>>()`).
//! No allocation, no recursion; a call uses a few hundred bytes of stack.
//!
//! # Speed
//!
//! `cargo bench -p decoder --bench decode` measures streaming and whole-line labelling (4-tag BMES, the
//! default templates, 2^18 buckets of i8 weights, the PKU test set).

use crate::emission::{Emission, EmissionCache};
use crate::features::{Context, AFTER_END};
use crate::lattice::{backpointer_bits, read_row, row_bytes, unpack, write_row, Column, TransitionScores};
use crate::limits::{MAX_CHAR_TAGS, MAX_OFFSET};
use crate::model::Model;
use crate::spans::{allowed_table, span_code, SpanRules, SpanScan, AFTER_WORD};
use crate::tags::ChunkRoles;
use crate::text::{is_separator, normalize, Unit, Utf8Decoder};

/// One unit of input with its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labeled {
    /// The unit's input bytes; only `bytes[..len]` are meaningful (the rest are 0).
    pub bytes: [u8; 4],
    /// Number of input bytes (1..=4).
    pub len: u8,
    /// The decoded character (original, not normalised), or U+FFFD for an invalid byte sequence.
    pub ch: char,
    /// The tag index (`0..L`), or `None` for a separator (never labeled).
    pub tag: Option<u8>,
}

impl Labeled {
    /// The unit's original input bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&self.bytes)
    }
}

/// How a line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n`.
    Lf,
    /// `\r\n`.
    CrLf,
    /// The input ended ([`StreamLabeler::finish`]) after a line without a line ending.
    EndOfInput,
}

/// What [`StreamLabeler`] reports, in input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A character (or invalid byte sequence) with its tag, or a separator with `tag: None`.
    Unit(Labeled),
    /// The end of a line; every unit of the line has been reported before it.
    LineEnd(LineEnding),
}

/// `meta` byte layout: bits 0..=2 length, bit 3 invalid, bits 4..=7 tag.
const META_INVALID: u8 = 8;

/// Streaming CRF labeler with a window of `WINDOW` pending characters (see the module docs).
///
/// `WINDOW` must be a power of two in `16..=32768` (checked at compile time).
#[derive(Debug, Clone)]
#[repr(C)]
pub struct StreamLabeler<'m, const WINDOW: usize> {
    // Field order is layout (`repr(C)`): the fields the per-character path reads first, close together
    // (short load offsets on Thumb-2), the large tables last. Positions are wrapping `u32` counters over
    // the whole stream; differences between any two live positions are at most `WINDOW + MAX_OFFSET`.
    // The emission model and the feature window are kept here rather than inside an `emission::Scorer`:
    // nested, they cost the firmware stack and instructions per character. A pending unit's span
    // constraint code waits in the tag bits of its `meta` entry until its column is stepped.
    /// Units received.
    arrived: u32,
    /// Columns computed.
    stepped: u32,
    /// Units emitted.
    committed: u32,
    /// Position of the run's first unit.
    run_start: u32,
    /// The anchor column and, per live state of the newest column, the state its survivor has there
    /// (4 bits per state, state `i` in bits `4i..4i+4`).
    anchor: u32,
    roots: u64,
    /// Most uncommitted columns held at once (after each column's commit).
    peak_pending: usize,
    forced_cuts: u64,
    /// Units before this position have their span code; a column is stepped only once it has.
    decided: u32,
    /// Units shifted into the feature window (`arrived` unless stepping waits for a span decision).
    shifted: u32,
    scanning: bool,
    /// Span code for the next unit to arrive (it follows a whole word).
    carry: u8,
    /// Number of tags `L` (`<= MAX_CHAR_TAGS`).
    num_tags: usize,
    bits: u32,
    stride: usize,
    /// Back-pointer rows the ring holds: `WINDOW / stride`, a power of two.
    rows: usize,
    /// Tags a forced cut may choose (can still end legally).
    completable: u16,
    /// Bytes of the unit being decoded.
    pending: [u8; 4],
    pending_len: usize,
    /// A `\r` waits to learn whether `\n` follows.
    cr_pending: bool,
    /// Some byte was seen since the last line ending.
    line_open: bool,
    utf8: Utf8Decoder,
    normalization: u8,
    col: Column,
    /// Emission scores of the column being computed (`[..L]` meaningful).
    e: [i32; MAX_CHAR_TAGS],
    /// The feature window, centred on column `stepped` once it is computed.
    ctx: Context,
    emission: Emission<'m>,
    rules: SpanRules<'m>,
    /// The span scan from `decided`, while `scanning`.
    scan: SpanScan,
    /// Allowed tags per span constraint code.
    allowed: [u16; 16],
    scores: TransitionScores,
    /// `[WINDOW]` input bytes of pending units, slot `position % WINDOW`.
    raw: [[u8; 4]; WINDOW],
    /// `[WINDOW]` length, invalid flag and (once final) tag of pending units.
    meta: [u8; WINDOW],
    /// `[rows][stride]` packed back-pointer rows, row `position % rows`.
    backpointers: [u8; WINDOW],
    /// What the emission model carries from column to column (a neural encoder's activations; last, as
    /// the largest table, and empty without the `neural` feature).
    cache: EmissionCache,
}

/// Roots of the anchor column itself: every state is its own root.
const IDENTITY: u64 = 0xFEDC_BA98_7654_3210;

impl<'m, const WINDOW: usize> StreamLabeler<'m, WINDOW> {
    const VALID_WINDOW: () = assert!(
        WINDOW.is_power_of_two() && WINDOW >= 16 && WINDOW <= 32768,
        "WINDOW must be a power of two in 16..=32768"
    );

    /// A labeler for `model`, at the start of a line, with no forced span ([`SpanRules::NONE`]).
    pub fn new(model: &Model<'m>) -> Self {
        Self::with_rules(model, SpanRules::NONE)
    }

    /// A labeler for `model` that keeps the spans `rules` asks for, with output identical to
    /// [`LineLabeler::with_rules`](crate::LineLabeler::with_rules) on each run (see the module docs).
    // Always inlined, so that the caller builds the labeler in place: a call returns it through a
    // temporary that is then copied (3.8 KiB more firmware stack).
    #[inline(always)]
    pub fn with_rules(model: &Model<'m>, rules: SpanRules<'m>) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID_WINDOW;
        let l = model.num_tags();
        // A model of more than 16 tags (token-level, `wide-tags`) is labeled on the one-tag lattice
        // `TransitionScores::from_model` gives it: every unit tag 0. It labels tokens, not characters.
        #[cfg(feature = "wide-tags")]
        let l = if l > MAX_CHAR_TAGS { 1 } else { l };
        let stride = row_bytes(l);
        // Computed before the struct expression: a call inside it makes the compiler build the whole
        // labeler in a temporary and copy it (3.8 KiB more firmware stack).
        let allowed = allowed_table(&ChunkRoles::from_names(model.tag_names()), l);
        Self {
            completable: model.constraints().completable(model.primitive_exponent()),
            scores: TransitionScores::from_model(model),
            num_tags: l.min(MAX_CHAR_TAGS),
            bits: backpointer_bits(l),
            stride,
            rows: WINDOW / stride,
            utf8: Utf8Decoder::new(),
            pending: [0; 4],
            pending_len: 0,
            cr_pending: false,
            line_open: false,
            emission: *model.emission(),
            normalization: model.emission().normalization(),
            ctx: Context::empty(),
            cache: EmissionCache::new(),
            run_start: 0,
            arrived: 0,
            stepped: 0,
            committed: 0,
            col: Column::new(),
            e: [0; MAX_CHAR_TAGS],
            anchor: 0,
            roots: IDENTITY,
            raw: [[0; 4]; WINDOW],
            meta: [0; WINDOW],
            backpointers: [0; WINDOW],
            forced_cuts: 0,
            peak_pending: 0,
            rules,
            allowed,
            decided: 0,
            shifted: 0,
            scan: SpanScan::IDLE,
            scanning: false,
            carry: 0,
        }
    }

    /// How many times the window filled without agreement and a cut was forced (the only case in which
    /// output may differ from whole-sequence Viterbi).
    pub fn forced_cuts(&self) -> u64 {
        self.forced_cuts
    }

    /// The most lattice columns that were ever uncommitted at once, after the commit rule ran: how much of
    /// the window the input actually needed (a cut is forced only when this would exceed
    /// [`Self::window_columns`]).
    pub fn peak_pending(&self) -> usize {
        self.peak_pending
    }

    /// Number of tags `L` of the model.
    pub fn num_tags(&self) -> usize {
        self.scores.num_tags()
    }

    /// Largest number of uncommitted lattice columns before a cut is forced: `min(WINDOW - MAX_OFFSET - 1,
    /// WINDOW / row_bytes(L))`.
    pub fn window_columns(&self) -> usize {
        self.rows.min(WINDOW - MAX_OFFSET - 1)
    }

    /// Feeds bytes; calls `emit` for every event completed by them, in input order.
    pub fn push(&mut self, bytes: &[u8], mut emit: impl FnMut(Event)) {
        let mut rest = bytes;
        while let Some(&first) = rest.first() {
            // Fast path: a complete, valid sequence with nothing pending decodes exactly as the
            // byte-at-a-time decoder would decode it.
            if !self.utf8.is_pending() {
                if let Some((ch, len)) = decode_complete(rest) {
                    self.line_open = true;
                    let mut raw = [0u8; 4];
                    for (i, (r, &b)) in raw.iter_mut().zip(rest).enumerate() {
                        if i < len {
                            *r = b;
                        }
                    }
                    self.unit(Unit { ch, len: len as u8 }, raw, &mut emit);
                    rest = &rest[len..];
                    continue;
                }
            }
            self.push_byte(first, &mut emit);
            rest = &rest[1..];
        }
    }

    /// Ends the input: a pending incomplete UTF-8 sequence becomes a U+FFFD unit, a pending `\r` a
    /// separator, the last run is flushed, and a line that has not ended gets
    /// [`LineEnding::EndOfInput`]. The labeler is then ready for new input.
    pub fn finish(&mut self, mut emit: impl FnMut(Event)) {
        if let Some(unit) = self.utf8.finish() {
            let raw = self.take_pending(usize::from(unit.len));
            self.unit(unit, raw, &mut emit);
        }
        self.pending_len = 0;
        if self.cr_pending {
            self.cr_pending = false;
            emit(Event::Unit(separator('\r', [b'\r', 0, 0, 0], 1)));
        }
        self.end_run(&mut emit);
        if self.line_open {
            self.line_open = false;
            emit(Event::LineEnd(LineEnding::EndOfInput));
        }
    }

    #[inline]
    fn push_byte(&mut self, byte: u8, emit: &mut impl FnMut(Event)) {
        self.line_open = true;
        if byte < 0x80 && !self.utf8.is_pending() {
            let unit = Unit { ch: char::from(byte), len: 1 };
            self.unit(unit, [byte, 0, 0, 0], emit);
            return;
        }
        if let Some(slot) = self.pending.get_mut(self.pending_len) {
            *slot = byte;
            self.pending_len += 1;
        }
        let mut units = [Unit { ch: '\0', len: 0 }; 2];
        let mut count = 0;
        self.utf8.push(byte, |u| {
            if let Some(slot) = units.get_mut(count) {
                *slot = u;
                count += 1;
            }
        });
        for unit in units.into_iter().take(count) {
            let raw = self.take_pending(usize::from(unit.len));
            self.unit(unit, raw, emit);
        }
    }

    /// Removes the first `len` pending bytes.
    fn take_pending(&mut self, len: usize) -> [u8; 4] {
        let len = len.min(self.pending_len).min(4);
        let mut raw = [0u8; 4];
        raw[..len].copy_from_slice(&self.pending[..len]);
        self.pending.copy_within(len.., 0);
        self.pending_len -= len;
        raw
    }

    #[inline(always)]
    fn unit(&mut self, unit: Unit, raw: [u8; 4], emit: &mut impl FnMut(Event)) {
        if self.cr_pending {
            self.cr_pending = false;
            if unit.ch == '\n' {
                self.line_open = false;
                emit(Event::LineEnd(LineEnding::CrLf));
                return;
            }
            emit(Event::Unit(separator('\r', [b'\r', 0, 0, 0], 1)));
        }
        match unit.ch {
            '\n' => {
                self.end_run(emit);
                self.line_open = false;
                emit(Event::LineEnd(LineEnding::Lf));
            }
            '\r' => {
                self.end_run(emit);
                self.cr_pending = true;
            }
            ch if is_separator(ch) => {
                self.end_run(emit);
                emit(Event::Unit(separator(ch, raw, unit.len)));
            }
            ch => {
                let valid = ch != char::REPLACEMENT_CHARACTER || raw[..3] == [0xEF, 0xBF, 0xBD];
                self.run_unit(ch, raw, unit.len, valid, emit);
            }
        }
    }

    #[inline(always)]
    fn run_unit(&mut self, ch: char, raw: [u8; 4], len: u8, valid: bool, emit: &mut impl FnMut(Event)) {
        if self.arrived.wrapping_sub(self.committed) as usize >= WINDOW {
            self.force_cut(emit);
        }
        let position = self.arrived;
        let slot = position as usize & (WINDOW - 1);
        self.raw[slot] = raw;
        self.meta[slot] = (len & 7) | if valid { 0 } else { META_INVALID } | (self.carry << 4);
        self.arrived = position.wrapping_add(1);
        if !self.scanning && !self.rules.may_start(ch) {
            // The common case: no span starts here and none is pending, so nothing waits (the previous
            // unit left every column caught up): exactly the labeler without spans.
            self.carry = 0;
            self.decided = self.arrived;
            self.shifted = self.arrived;
            self.ctx.shift_in_with(normalize(ch, self.normalization) as u32, self.emission.words());
            if self.arrived.wrapping_sub(self.stepped) as usize > MAX_OFFSET {
                self.step(emit);
            }
        } else {
            self.span_unit(ch, position, emit);
        }
    }

    /// [`Self::run_unit`] for a unit that starts or continues a span scan: stepping waits for the span's
    /// decision, later units wait in the ring.
    #[inline(never)]
    fn span_unit(&mut self, ch: char, position: u32, emit: &mut impl FnMut(Event)) {
        self.carry = 0;
        if !self.scanning {
            self.scan = SpanScan::start(&self.rules, ch);
            self.scanning = true;
        }
        if !self.scan.feed(&self.rules, ch) {
            self.settle(false, ch);
        } else if self.arrived.wrapping_sub(self.decided) as usize >= WINDOW / 2 {
            // Only windows below 2 * SPAN_LOOKAHEAD get here: the span is cut short to fit.
            self.settle(true, ch);
        }
        if self.shifted == position && position.wrapping_sub(self.stepped) as usize <= MAX_OFFSET {
            self.ctx.shift_in_with(normalize(ch, self.normalization) as u32, self.emission.words());
            self.shifted = self.arrived;
        }
        self.catch_up(emit);
    }

    /// Steps every column whose feature window and span code are complete, shifting waiting units into
    /// the feature window as columns make room.
    #[inline(never)]
    fn catch_up(&mut self, emit: &mut impl FnMut(Event)) {
        loop {
            if self.shifted.wrapping_sub(self.stepped) as usize > MAX_OFFSET {
                if (self.decided.wrapping_sub(self.stepped) as i32) <= 0 {
                    return;
                }
                self.step(emit);
            } else if self.shifted != self.arrived {
                let ch = self.char_at(self.shifted);
                self.ctx.shift_in_with(normalize(ch, self.normalization) as u32, self.emission.words());
                self.shifted = self.shifted.wrapping_add(1);
            } else {
                return;
            }
        }
    }

    /// The character of a pending unit.
    fn char_at(&self, position: u32) -> char {
        let slot = position as usize & (WINDOW - 1);
        labeled(self.raw[slot], self.meta[slot] & 0x0F).ch
    }

    /// The scan from `decided` has ended (or `run_ended`: no more units will come): records its span
    /// (or a free unit), then scans the units that arrived after it the same way. `newest` is the
    /// character of the last unit that arrived (most often the next scan's first: no ring read).
    #[inline(never)]
    fn settle(&mut self, run_ended: bool, newest: char) {
        loop {
            let (len, word) = self.scan.best();
            let len = len.max(1);
            for i in 0..len {
                let slot = self.decided.wrapping_add(i as u32) as usize & (WINDOW - 1);
                self.meta[slot] |= span_code(word, i, len) << 4;
            }
            self.decided = self.decided.wrapping_add(len as u32);
            if word {
                if self.decided == self.arrived {
                    self.carry = AFTER_WORD;
                } else {
                    self.meta[self.decided as usize & (WINDOW - 1)] |= AFTER_WORD << 4;
                }
            }
            self.scanning = false;
            // Units that start no span are free; a unit's first feed tells (every matcher dead, nothing
            // found), one trie step rather than a filter and then the same step.
            let mut alive = loop {
                if self.decided == self.arrived {
                    return;
                }
                let first =
                    if self.decided.wrapping_add(1) == self.arrived { newest } else { self.char_at(self.decided) };
                self.scan = SpanScan::start(&self.rules, first);
                let alive = self.scan.feed(&self.rules, first);
                if alive || self.scan.best().0 > 0 {
                    break alive;
                }
                self.decided = self.decided.wrapping_add(1);
            };
            self.scanning = true;
            let mut position = self.decided.wrapping_add(1);
            while alive && position != self.arrived {
                alive = self.scan.feed(&self.rules, self.char_at(position));
                position = position.wrapping_add(1);
            }
            if alive && !run_ended {
                return;
            }
        }
    }

    /// Computes the column at position `stepped` (the feature window is centred on it).
    #[inline(always)]
    fn step(&mut self, emit: &mut impl FnMut(Event)) {
        let position = self.stepped;
        // Kept between steps rather than zeroed each time: `scores` writes `[..L]`, the rest is never read.
        self.emission.scores(&self.ctx, &mut self.cache, &mut self.e);
        // `seen`: the set of states at the anchor that the live survivors pass through.
        let code = usize::from(self.meta[position as usize & (WINDOW - 1)] >> 4);
        let seen = if position == self.run_start {
            self.scores.first(&mut self.col, &self.e, self.allowed[code]);
            self.anchor = position;
            self.roots = IDENTITY;
            self.col.live
        } else {
            if position.wrapping_sub(self.committed) as usize >= self.window_columns() {
                self.force_cut(emit);
            }
            let (row, _) = if code == 0 {
                self.scores.step(&mut self.col, &self.e)
            } else {
                self.scores.step_allowed(&mut self.col, &self.e, self.allowed[code])
            };
            let offset = (position as usize & (self.rows - 1)) * self.stride;
            write_row(&mut self.backpointers, offset, self.stride, row);
            // roots'[to] = roots[back-pointer of to], 4 bits per state.
            let live = self.col.live;
            let mut seen = 0u16;
            if self.num_tags <= 8 {
                // Up to 8 tags the rows, back-pointers (< 8) and roots fit 32 bits: no 64-bit shifts.
                let (row, old, bits) = (row as u32, self.roots as u32, self.bits);
                let mask = (1u32 << bits) - 1;
                let mut roots = 0u32;
                for tag in 0..self.num_tags as u32 {
                    if live & (1 << tag) != 0 {
                        let back = (row >> (tag * bits)) & mask & 7;
                        let root = (old >> (4 * back)) & 15;
                        roots |= root << (4 * tag);
                        seen |= 1 << root;
                    }
                }
                self.roots = u64::from(roots);
            } else {
                let mut roots = 0u64;
                for tag in 0..self.num_tags {
                    if live & (1 << tag) != 0 {
                        let root = (self.roots >> (4 * unpack(row, tag, self.bits))) & 15;
                        roots |= root << (4 * tag);
                        seen |= 1 << root;
                    }
                }
                self.roots = roots;
            }
            seen
        };
        self.stepped = position.wrapping_add(1);

        // Agreement: all live survivors pass through one state at the anchor.
        if seen.is_power_of_two() {
            let anchor = self.anchor;
            // The anchor may be an already committed column (after a forced cut).
            if (anchor.wrapping_sub(self.committed) as i32) >= 0 {
                let state = (seen.trailing_zeros() as usize) & (MAX_CHAR_TAGS - 1);
                self.commit(anchor, state, emit);
            }
            self.anchor = position;
            self.roots = IDENTITY;
        }
        self.peak_pending = self.peak_pending.max(self.stepped.wrapping_sub(self.committed) as usize);
    }

    /// Traces back from `state` at column `last` to the oldest uncommitted column, writes the tags and
    /// emits the units `committed..=last`.
    fn commit(&mut self, last: u32, mut state: usize, emit: &mut impl FnMut(Event)) {
        let count = last.wrapping_sub(self.committed).wrapping_add(1) as usize;
        if count > WINDOW {
            return; // not an uncommitted column: nothing to do (cannot happen)
        }
        let mut position = last;
        for i in (0..count).rev() {
            let slot = position as usize & (WINDOW - 1);
            self.meta[slot] = (self.meta[slot] & 0x0F) | ((state as u8) << 4);
            if i > 0 {
                let offset = (position as usize & (self.rows - 1)) * self.stride;
                state = unpack(read_row(&self.backpointers, offset, self.stride), state, self.bits);
            }
            position = position.wrapping_sub(1);
        }
        for _ in 0..count {
            let slot = self.committed as usize & (WINDOW - 1);
            emit(Event::Unit(labeled(self.raw[slot], self.meta[slot])));
            self.committed = self.committed.wrapping_add(1);
        }
    }

    /// The window is full without agreement: commit the best path to the newest column and restart from its
    /// state.
    #[cold]
    fn force_cut(&mut self, emit: &mut impl FnMut(Event)) {
        let newest = self.stepped.wrapping_sub(1);
        let live = self.col.live;
        let candidates = if live & self.completable != 0 { live & self.completable } else { live };
        let mut best = (0usize, i32::MIN);
        let mut rest = candidates;
        while rest != 0 {
            let tag = (rest.trailing_zeros() as usize) & (MAX_CHAR_TAGS - 1);
            rest &= rest - 1;
            if self.col.score[tag] > best.1 {
                best = (tag, self.col.score[tag]);
            }
        }
        let state = best.0;
        self.commit(newest, state, emit);
        self.col.live = 1 << state;
        self.col.score[state] = 0;
        self.anchor = newest;
        self.roots = IDENTITY;
        self.forced_cuts += 1;
    }

    /// Ends the current run: scores the remaining columns with `AFTER_END` padding, picks the best end
    /// state and emits every pending unit.
    fn end_run(&mut self, emit: &mut impl FnMut(Event)) {
        if self.arrived == self.run_start {
            return;
        }
        if self.scanning {
            self.settle(true, self.char_at(self.arrived.wrapping_sub(1)));
        }
        self.catch_up(emit);
        // After the last arrival the window is centred `arrived - 1 - MAX_OFFSET`; column `c` needs it
        // centred on `c`.
        let mut centre = self.arrived.wrapping_sub(1 + MAX_OFFSET as u32);
        while self.stepped != self.arrived {
            while centre != self.stepped {
                self.ctx.shift_in_with(AFTER_END, self.emission.words());
                centre = centre.wrapping_add(1);
            }
            self.step(emit);
        }
        let (state, _) = self.scores.best_end(&self.col);
        let last = self.stepped.wrapping_sub(1);
        if (last.wrapping_sub(self.committed) as i32) >= 0 {
            self.commit(last, state, emit);
        }
        self.ctx = Context::empty();
        self.run_start = self.arrived;
        self.stepped = self.arrived;
        self.committed = self.arrived;
        self.decided = self.arrived;
        self.shifted = self.arrived;
        self.carry = 0;
        self.col = Column::new();
    }
}

/// Decodes the first character of `bytes` if it is a complete, valid UTF-8 sequence (the ranges of
/// [`Utf8Decoder`], i.e. of the Unicode standard); `None` otherwise (incomplete or invalid).
#[inline(always)]
fn decode_complete(bytes: &[u8]) -> Option<(char, usize)> {
    let cont =
        |i: usize, lo: u8, hi: u8| bytes.get(i).copied().filter(|b| (lo..=hi).contains(b)).map(|b| u32::from(b & 0x3F));
    let b0 = *bytes.first()?;
    let (code, len) = match b0 {
        0x00..=0x7F => (u32::from(b0), 1),
        0xC2..=0xDF => ((u32::from(b0 & 0x1F) << 6) | cont(1, 0x80, 0xBF)?, 2),
        0xE0..=0xEF => {
            let (lo, hi) = match b0 {
                0xE0 => (0xA0, 0xBF),
                0xED => (0x80, 0x9F),
                _ => (0x80, 0xBF),
            };
            ((u32::from(b0 & 0x0F) << 12) | (cont(1, lo, hi)? << 6) | cont(2, 0x80, 0xBF)?, 3)
        }
        0xF0..=0xF4 => {
            let (lo, hi) = match b0 {
                0xF0 => (0x90, 0xBF),
                0xF4 => (0x80, 0x8F),
                _ => (0x80, 0xBF),
            };
            let code = (u32::from(b0 & 0x07) << 18) | (cont(1, lo, hi)? << 12) | (cont(2, 0x80, 0xBF)? << 6);
            (code | cont(3, 0x80, 0xBF)?, 4)
        }
        _ => return None,
    };
    Some((char::from_u32(code)?, len))
}

fn separator(ch: char, bytes: [u8; 4], len: u8) -> Labeled {
    Labeled { bytes, len, ch, tag: None }
}

/// Rebuilds a committed unit from its ring entries.
#[inline]
fn labeled(bytes: [u8; 4], meta: u8) -> Labeled {
    let len = meta & 7;
    let ch = if meta & META_INVALID != 0 { char::REPLACEMENT_CHARACTER } else { decode_valid(bytes, len) };
    Labeled { bytes, len, ch, tag: Some(meta >> 4) }
}

/// Decodes the bytes of a unit known to be one valid UTF-8 character.
#[inline]
fn decode_valid(b: [u8; 4], len: u8) -> char {
    let c = |i: usize| u32::from(b[i] & 0x3F);
    let code = match len {
        1 => u32::from(b[0]),
        2 => (u32::from(b[0] & 0x1F) << 6) | c(1),
        3 => (u32::from(b[0] & 0x0F) << 12) | (c(1) << 6) | c(2),
        _ => (u32::from(b[0] & 0x07) << 18) | (c(1) << 12) | (c(2) << 6) | c(3),
    };
    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Labels a whole input with a [`StreamLabeler`] of window `WINDOW`, calling `emit` for every event;
/// returns the number of forced cuts.
pub fn label_stream<const WINDOW: usize>(model: &Model<'_>, input: &[u8], mut emit: impl FnMut(Event)) -> u64 {
    let mut labeler = StreamLabeler::<WINDOW>::new(model);
    labeler.push(input, &mut emit);
    labeler.finish(&mut emit);
    labeler.forced_cuts()
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// The fast path agrees with the byte-at-a-time decoder on every 1..=4-byte prefix pattern that matters.
    #[test]
    fn decode_complete_matches_the_incremental_decoder() {
        let interesting: Vec<u8> = [
            0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
            0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF,
        ]
        .to_vec();
        for &a in &interesting {
            for &b in &interesting {
                for &c in &interesting {
                    for &d in &interesting {
                        let bytes = [a, b, c, d];
                        let mut decoder = Utf8Decoder::new();
                        let mut first = None;
                        for (i, &byte) in bytes.iter().enumerate() {
                            decoder.push(byte, |u| {
                                if first.is_none() {
                                    first = Some((u, i));
                                }
                            });
                            if first.is_some() {
                                break;
                            }
                        }
                        let expected = match first {
                            // A valid character completed by its own last byte.
                            Some((u, i)) if usize::from(u.len) == i + 1 && (u.ch != char::REPLACEMENT_CHARACTER) => {
                                Some((u.ch, usize::from(u.len)))
                            }
                            _ => None,
                        };
                        let got = decode_complete(&bytes).filter(|&(ch, _)| ch != char::REPLACEMENT_CHARACTER);
                        assert_eq!(got, expected, "{bytes:x?}");
                    }
                }
            }
        }
    }
}

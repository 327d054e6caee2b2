//! The str objects of the words a `Model` has returned, kept from call to call.
//!
//! Texts repeat their words (punctuation, function words), and so do the texts one model segments: a
//! table of the str objects made so far lets every occurrence of a word share one object (str is
//! immutable), which saves most of the allocations and conversions that an object per occurrence costs
//! (and their freeing when the list goes). Kept by the model, the table serves a caller who segments line
//! by line as well as one who passes the whole text at once.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// The most slots the table grows to (a power of two). It holds up to half as many words: the first
/// distinct ones met, which include the frequent ones (PKU's test text, 104,000 words, has 13,800
/// distinct ones). It never evicts: a word met once the table is full gets an object of its own.
/// (crf_mcu.pyi and python/README.md state the bound, as the memory a model may hold.)
const MAX_SLOTS: usize = 1 << 15;
/// The slots of a new table (it doubles as words come, up to [`MAX_SLOTS`]): small, so that segmenting
/// a short text touches little memory.
const MIN_SLOTS: usize = 1 << 8;
/// Longer words (in UTF-8 bytes) are not kept: rare, and they would fill the table's byte store.
const MAX_KEPT_WORD_BYTES: usize = 64;
const _: () = assert!(MAX_KEPT_WORD_BYTES <= u8::MAX as usize, "a slot keeps a word's length in a u8");

/// One slot of the table: a word's hash and length beside its object, so that finding a word of up to 8
/// bytes reads this slot only, and references held in reserve, so that handing the object out does not
/// touch it either (the slot and the object are each a likely cache miss).
#[derive(Default)]
struct Slot {
    hash: u64,
    /// The word's str object (`None`: the slot is empty).
    object: Option<Py<PyString>>,
    /// Where the word's bytes start in [`WordCache::bytes`].
    start: u32,
    /// References to `object` the slot holds besides the one in `object`, each handed out as it is
    /// (released when the slot is dropped).
    spare: u16,
    /// The word's length in bytes (at most [`MAX_KEPT_WORD_BYTES`]).
    len: u8,
    /// The next batch of spare references takes `2^refills` (at most `2^MAX_REFILL_SHIFT`): a word met
    /// once costs one reference, as without reserve; a frequent one touches its object once in 64.
    refills: u8,
}

/// The largest batch of spare references a slot takes at once is `2^MAX_REFILL_SHIFT`.
const MAX_REFILL_SHIFT: u8 = 6;

impl Slot {
    /// One reference to the slot's object, from the reserve (refilled first if it is empty); `None` for
    /// an empty slot.
    #[inline]
    fn hand_out<'py>(&mut self, py: Python<'py>) -> Option<Bound<'py, PyString>> {
        let object = self.object.as_ref()?.as_ptr();
        if self.spare == 0 {
            let batch = 1u16 << self.refills;
            for _ in 0..batch {
                // SAFETY: `object` is the slot's live str object (the slot holds a reference), and the
                // GIL is held (`py`).
                unsafe { pyo3::ffi::Py_IncRef(object) };
            }
            self.spare = batch;
            self.refills = (self.refills + 1).min(MAX_REFILL_SHIFT);
        }
        self.spare -= 1;
        // SAFETY: one of the slot's spare references to its str object, whose ownership passes to the
        // `Bound`.
        Some(unsafe { Bound::from_owned_ptr(py, object).cast_into_unchecked() })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let (Some(object), 1..) = (&self.object, self.spare) {
            let (object, spare) = (object.as_ptr(), self.spare);
            Python::attach(|_| {
                for _ in 0..spare {
                    // SAFETY: a spare reference the slot holds, released with the GIL held; the one in
                    // `object` keeps the str alive until the slot's fields drop.
                    unsafe { pyo3::ffi::Py_DecRef(object) };
                }
            });
        }
    }
}

/// A hash table (open addressing, linear probing) of str objects by their words.
#[derive(Default)]
pub(crate) struct WordCache {
    /// Empty, or a power of two of slots, at most half of them used.
    slots: Vec<Slot>,
    /// `64 - log2(slots.len())`: the hash's top bits pick the first slot.
    shift: u32,
    /// Words kept.
    count: usize,
    /// The kept words' bytes, one after another (compared whole for words longer than 8 bytes).
    bytes: Vec<u8>,
}

impl WordCache {
    /// The str object for `word`: the kept one, or a new one (kept if there is room).
    pub(crate) fn word<'py>(&mut self, py: Python<'py>, word: &str) -> Bound<'py, PyString> {
        let hash = word_hash(word);
        if let Some(kept) = self.find(hash, word).and_then(|slot| self.slots[slot].hand_out(py)) {
            return kept;
        }
        let object = new_str(py, word);
        self.keep(hash, word, &object);
        object
    }

    /// The slot of `word`, whose hash is `hash`, if it is kept.
    #[inline]
    fn find(&self, hash: u64, word: &str) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut index = (hash >> self.shift) as usize;
        loop {
            let slot = &self.slots[index & mask];
            slot.object.as_ref()?;
            // Equal hashes of words of one length up to 8 bytes mean equal words (`word_hash`).
            if slot.hash == hash
                && slot.len as usize == word.len()
                && (word.len() <= WORD_HASH_BYTES || {
                    let start = slot.start as usize;
                    self.bytes.get(start..start + word.len()) == Some(word.as_bytes())
                })
            {
                return Some(index & mask);
            }
            index += 1;
        }
    }

    /// Adds `word` (not in the table) with its `object`, growing the table if it is half full; does
    /// nothing once it is full, or for a long word.
    fn keep(&mut self, hash: u64, word: &str, object: &Bound<'_, PyString>) {
        if word.len() > MAX_KEPT_WORD_BYTES {
            return;
        }
        if (self.count + 1) * 2 > self.slots.len() {
            if self.slots.len() >= MAX_SLOTS {
                return;
            }
            self.grow();
        }
        // Both fit: at most `MAX_SLOTS / 2` words of at most `MAX_KEPT_WORD_BYTES` (< 256) bytes.
        let (len, start) = (word.len() as u8, self.bytes.len() as u32);
        self.bytes.extend_from_slice(word.as_bytes());
        self.count += 1;
        self.place(Slot { hash, object: Some(object.clone().unbind()), start, len, ..Slot::default() });
    }

    /// Doubles the slots (or makes the first ones) and places the kept words again.
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, std::iter::repeat_with(Slot::default).take(size).collect());
        self.shift = 64 - size.trailing_zeros();
        for slot in old.into_iter().filter(|slot| slot.object.is_some()) {
            self.place(slot);
        }
    }

    /// Puts `slot` in the first empty slot from its hash's (there is one: at most half are used).
    fn place(&mut self, slot: Slot) {
        let mask = self.slots.len() - 1;
        let mut index = (slot.hash >> self.shift) as usize & mask;
        while self.slots[index].object.is_some() {
            index = (index + 1) & mask;
        }
        self.slots[index] = slot;
    }
}

/// How many leading bytes of a word `word_hash` reads.
const WORD_HASH_BYTES: usize = 8;

/// A hash of a word for the table: its first 8 bytes and its length, mixed by one multiplication (most
/// words are 1 to 3 CJK characters, 3 to 9 bytes, so this sees almost all of them). The multiplier is
/// odd, so the mix is a bijection: two words of one length up to 8 bytes hash alike only if they are
/// equal; longer ones are compared whole.
fn word_hash(word: &str) -> u64 {
    let bytes = word.as_bytes();
    (word_head(bytes) ^ (bytes.len() as u64).rotate_left(56)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The first 8 bytes of `bytes` as a little-endian number, zero above a shorter slice's end. Read by
/// whole (possibly overlapping) loads rather than copied into a zeroed buffer: a copy of variable length
/// then an 8-byte load stalls the store forwarding on every word. The overlapping parts are the same
/// bytes at the same places, so or-ing them changes nothing.
fn word_head(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let load4 = |at: usize| {
        bytes.get(at..at + 4).map_or(0, |four| u64::from(u32::from_le_bytes([four[0], four[1], four[2], four[3]])))
    };
    if let Some(eight) = bytes.first_chunk::<WORD_HASH_BYTES>() {
        u64::from_le_bytes(*eight)
    } else if n >= 4 {
        load4(0) | load4(n - 4) << (8 * (n - 4))
    } else if n > 0 {
        let byte = |at: usize| u64::from(bytes[at]);
        byte(0) | byte(n / 2) << (8 * (n / 2)) | byte(n - 1) << (8 * (n - 1))
    } else {
        0
    }
}

/// The longest word (in characters) that `new_str` builds from wide characters; longer ones (rare) go
/// through UTF-8.
const MAX_WIDE_WORD: usize = 32;

/// A new str object holding `word`. Built from the word's characters as `wchar_t` (UCS-4 on Unix, UTF-16
/// on Windows): CPython then sizes the object once, from the largest character, where building it from
/// UTF-8 (`PyString::new`) decodes into a guessed width, then widens and shrinks it: three allocations for
/// a CJK word.
fn new_str<'py>(py: Python<'py>, word: &str) -> Bound<'py, PyString> {
    let mut wide: [libc::wchar_t; MAX_WIDE_WORD] = [0; MAX_WIDE_WORD];
    let mut len = 0;
    let mut push = |unit: u32| match wide.get_mut(len) {
        Some(slot) => {
            // Lossless: a `wchar_t` of 4 bytes holds every character; one of 2 bytes gets UTF-16 units.
            *slot = unit as libc::wchar_t;
            len += 1;
            true
        }
        None => false,
    };
    let fits = if std::mem::size_of::<libc::wchar_t>() >= 4 {
        word.chars().all(|ch| push(u32::from(ch)))
    } else {
        word.encode_utf16().all(|unit| push(u32::from(unit)))
    };
    if !fits {
        return PyString::new(py, word);
    }
    // SAFETY: `wide[..len]` is initialised and outlives the call, which copies it into a new object (a
    // new reference, owned by the `Bound`); a null result (out of memory) panics, as `PyString::new` does.
    unsafe {
        Bound::from_owned_ptr(py, pyo3::ffi::PyUnicode_FromWideChar(wide.as_ptr(), len as pyo3::ffi::Py_ssize_t))
            .cast_into_unchecked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `word_head` packs the bytes it reads exactly as a zero-padded copy of the first 8 would.
    #[test]
    fn word_head_is_the_zero_padded_first_eight_bytes() {
        let text = "a\u{4e2d}b\u{6587}\u{1f600}xyz0123456789";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let bytes = &text.as_bytes()[start..end];
                let mut head = [0u8; WORD_HASH_BYTES];
                let len = bytes.len().min(WORD_HASH_BYTES);
                head[..len].copy_from_slice(&bytes[..len]);
                assert_eq!(word_head(bytes), u64::from_le_bytes(head), "{bytes:?}");
            }
        }
    }
}

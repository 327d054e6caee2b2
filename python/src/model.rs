//! `crf_mcu.Model`: a model file loaded once (CRC and sizes checked at load), segmenting and labeling
//! with the decoder's streaming labeler, exactly as `trainer segment` and the firmware do.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use decoder::{Event, Segmenter, SpanRules, StreamLabeler, DEFAULT_WINDOW};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyList, PyString, PyTuple};
use self_cell::self_cell;

use crate::errors::to_py_err;
use crate::user_dict::UserDictionary;

/// `decoder::Model` under a name with one lifetime parameter, as `self_cell!` wants it.
type DecoderModel<'bytes> = decoder::Model<'bytes>;

self_cell!(
    /// The model file's bytes and the decoder's view of them (which borrows them), built once.
    struct LoadedModel {
        owner: Vec<u8>,
        #[covariant]
        dependent: DecoderModel,
    }
);

/// Texts at least this long (in UTF-8 bytes) are segmented with the GIL released: below it, releasing
/// and taking it back again costs more than other threads gain.
const RELEASE_GIL_BYTES: usize = 4096;

/// A segmentation (or other character-tagging) model, loaded from a model file that `trainer train`
/// or `crf_mcu.train` wrote.
#[pyclass(module = "crf_mcu", frozen)]
pub struct Model {
    loaded: LoadedModel,
    /// Where the model was read from (`None` for `Model.from_bytes`).
    path: Option<PathBuf>,
    /// The tag names, in model order.
    tags: Vec<String>,
    /// Words to keep whole (`user_dict=`, `load_userdict`); behind a lock, as the class is frozen.
    user_dict: UserDictionary,
    /// Whether URLs, e-mail addresses and numbers are kept whole when a call does not say.
    forced_spans: bool,
    /// `segment`'s buffers, kept between calls (taken by one call at a time; a concurrent call makes its own).
    scratch: Mutex<SegmentScratch>,
}

impl Model {
    /// Checks `bytes` as a model file named `name` in errors.
    pub(crate) fn from_vec(bytes: Vec<u8>, name: &Path, path: Option<PathBuf>) -> PyResult<Self> {
        let loaded =
            LoadedModel::try_new(bytes, |bytes| trainer::pipeline::load_model(name, bytes)).map_err(to_py_err)?;
        let tags = loaded.borrow_dependent().tag_names().map(str::to_owned).collect();
        Ok(Self {
            loaded,
            path,
            tags,
            user_dict: UserDictionary::default(),
            forced_spans: true,
            scratch: Mutex::default(),
        })
    }

    /// Adds the words of the word-list file at `path`; errors name the file (and the line).
    fn attach_user_dict(&self, path: &Path) -> PyResult<()> {
        self.user_dict.add_file(path).map_err(to_py_err)
    }

    fn model(&self) -> &decoder::Model<'_> {
        self.loaded.borrow_dependent()
    }

    /// Runs `work` with the GIL released when `text` is long enough to be worth it.
    fn maybe_detached<T: Send>(py: Python<'_>, text: &str, work: impl FnOnce() -> T + Send) -> T {
        if text.len() >= RELEASE_GIL_BYTES {
            py.detach(work)
        } else {
            work()
        }
    }

    /// `text` segmented with `separator` between words, and `\n` ending every line, as UTF-8 bytes.
    fn segment_to_bytes(&self, py: Python<'_>, text: &str, separator: &[u8], forced_spans: Option<bool>) -> Vec<u8> {
        let dictionary = self.user_dict.current();
        let forced_spans = forced_spans.unwrap_or(self.forced_spans);
        Self::maybe_detached(py, text, || {
            let mut out = Vec::with_capacity(text.len() + text.len() / 2);
            let rules = SpanRules { dictionary: dictionary.as_deref().map(|d| d.borrow_dependent()), forced_spans };
            Segmenter::<DEFAULT_WINDOW>::with_rules_and_separator(self.model(), rules, separator)
                .segment_all(text.as_bytes(), |bytes| out.extend_from_slice(bytes));
            out
        })
    }

    fn segment_list<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        let dictionary = self.user_dict.current();
        let forced_spans = forced_spans.unwrap_or(self.forced_spans);
        let mut scratch = self.scratch.try_lock().map(|mut kept| std::mem::take(&mut *kept)).unwrap_or_default();
        // Each word as its byte range in `text` (the words `segment_text` writes, as the decoder's
        // `WordSpans` finds them): no segmented copy of the text to write, check and split again.
        let mut spans = std::mem::take(&mut scratch.spans);
        spans.clear();
        let spans = Self::maybe_detached(py, text, move || {
            let rules = SpanRules { dictionary: dictionary.as_deref().map(|d| d.borrow_dependent()), forced_spans };
            decoder::word_spans::<DEFAULT_WINDOW>(self.model(), rules, text.as_bytes(), |span| spans.push(span));
            spans
        });
        let list = {
            let mut cache = WordCache::new(text, spans.len(), &mut scratch);
            PyList::new(py, spans.iter().map(|span| cache.word(py, span.clone())))
        };
        scratch.spans = spans;
        if scratch.kept_bytes() <= MAX_KEPT_SCRATCH_BYTES {
            if let Ok(mut kept) = self.scratch.try_lock() {
                *kept = scratch;
            }
        }
        list
    }
}

/// The buffers of `Model.segment`, kept from call to call: allocated anew for a long text they would be
/// fresh pages every time, and the page faults would cost more than the words' str objects.
#[derive(Default)]
struct SegmentScratch {
    /// The words' byte ranges in the text.
    spans: Vec<Range<usize>>,
    /// The word cache's hash table.
    slots: Vec<CacheSlot>,
    /// Where each cached word starts in the text, in the order the words were first seen.
    starts: Vec<usize>,
}

impl SegmentScratch {
    fn kept_bytes(&self) -> usize {
        self.spans.capacity() * std::mem::size_of::<Range<usize>>()
            + self.slots.capacity() * std::mem::size_of::<CacheSlot>()
            + self.starts.capacity() * std::mem::size_of::<usize>()
    }
}

/// `Model.segment` keeps its buffers for the next call up to this size (a 3 MB text's worth); beyond it
/// they are freed.
const MAX_KEPT_SCRATCH_BYTES: usize = 16 << 20;

/// One slot of the word cache's table: a word's hash and length beside its index, so that finding a
/// word of up to 8 bytes reads this slot and its object only.
#[derive(Clone, Copy, Default)]
struct CacheSlot {
    hash: u64,
    /// 0: empty; else 1 + the word's index in the cache.
    word: u32,
    /// The word's length in bytes.
    len: u32,
}

/// A text repeats its words (punctuation, function words): a hash table of the str objects made so far
/// (open addressing, linear probing) shares one object among all occurrences of a word (str is
/// immutable), which saves most of the allocations and conversions that an object per occurrence costs.
/// It never evicts: once half full it keeps the words it has (the frequent ones come early) and makes
/// the others uncached.
struct WordCache<'t, 'py, 's> {
    text: &'t str,
    /// See [`SegmentScratch::slots`].
    slots: &'s mut [CacheSlot],
    /// See [`SegmentScratch::starts`].
    starts: &'s mut Vec<usize>,
    /// The str object of each cached word.
    objects: Vec<Bound<'py, PyString>>,
    /// `64 - log2(slots.len())`: the hash's top bits pick the first slot.
    shift: u32,
    /// Words that may still be added (half the slots, so probes stay short).
    room: usize,
}

/// The most slots a `WordCache` has (a power of two): it holds up to half as many words (PKU's test
/// text, 104,000 words, has 13,800 distinct ones). A table that stays in the processor's cache matters
/// more than holding every rare word.
const MAX_CACHE_SLOTS: usize = 1 << 15;

impl<'t, 'py, 's> WordCache<'t, 'py, 's> {
    /// A cache for a list of `count` words of `text` (there are fewer distinct words than that).
    fn new(text: &'t str, count: usize, scratch: &'s mut SegmentScratch) -> Self {
        let slots = count.next_power_of_two().clamp(16, MAX_CACHE_SLOTS);
        scratch.slots.clear();
        scratch.slots.resize(slots, CacheSlot::default());
        scratch.starts.clear();
        Self {
            text,
            slots: &mut scratch.slots,
            starts: &mut scratch.starts,
            objects: Vec::new(),
            shift: 64 - slots.trailing_zeros(),
            room: slots / 2,
        }
    }

    /// The str object for the word at `span` of the text: the cached one, or a new one.
    fn word(&mut self, py: Python<'py>, span: Range<usize>) -> Bound<'py, PyString> {
        // The ranges start and end at characters (units are whole characters of a valid str), so `get`
        // always finds the word.
        let word = self.text.get(span.clone()).unwrap_or_default();
        let hash = word_hash(word);
        let mask = self.slots.len() - 1;
        let mut index = (hash >> self.shift) as usize;
        loop {
            let slot = self.slots[index & mask];
            let Some(cached) = (slot.word as usize).checked_sub(1) else { break };
            // Equal hashes of words of one length up to 8 bytes mean equal words (`word_hash`).
            if slot.hash == hash
                && slot.len as usize == word.len()
                && (word.len() <= WORD_HASH_BYTES || {
                    let start = self.starts[cached];
                    self.text.as_bytes().get(start..start + word.len()) == Some(word.as_bytes())
                })
            {
                return self.objects[cached].clone();
            }
            index += 1;
        }
        let object = new_str(py, word);
        if let (true, Ok(len)) = (self.room > 0, u32::try_from(word.len())) {
            self.room -= 1;
            self.starts.push(span.start);
            self.objects.push(object.clone());
            self.slots[index & mask] = CacheSlot { hash, word: self.objects.len() as u32, len };
        }
        object
    }
}

/// How many leading bytes of a word `word_hash` reads.
const WORD_HASH_BYTES: usize = 8;

/// A hash of a word for the cache: its first 8 bytes and its length, mixed by one multiplication (most
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

#[pymethods]
impl Model {
    /// Loads and checks the model file at `path` (`str` or `os.PathLike`), with the words of the word list
    /// `user_dict` kept whole, and URLs, e-mail addresses and numbers too unless `forced_spans` is false.
    #[staticmethod]
    #[pyo3(signature = (path, user_dict = None, forced_spans = true))]
    fn load(path: PathBuf, user_dict: Option<PathBuf>, forced_spans: bool) -> PyResult<Self> {
        let bytes = trainer::pipeline::read_model_file(&path).map_err(to_py_err)?;
        let mut model = Self::from_vec(bytes, &path, Some(path.clone()))?;
        model.forced_spans = forced_spans;
        if let Some(user_dict) = user_dict {
            model.attach_user_dict(&user_dict)?;
        }
        Ok(model)
    }

    /// Loads and checks a model file's contents (e.g. from a package's resources).
    #[staticmethod]
    #[pyo3(signature = (data, forced_spans = true))]
    fn from_bytes(data: &[u8], forced_spans: bool) -> PyResult<Self> {
        let mut model = Self::from_vec(data.to_vec(), Path::new("<bytes>"), None)?;
        model.forced_spans = forced_spans;
        Ok(model)
    }

    /// Adds the words of a user dictionary file (one word a line, like jieba's `load_userdict`).
    fn load_userdict(&self, path: PathBuf) -> PyResult<()> {
        self.attach_user_dict(&path)
    }

    /// The words of `text`, in order; white space (line breaks included) separates words and is dropped.
    #[pyo3(signature = (text, *, forced_spans = None))]
    fn segment<'py>(
        &self,
        py: Python<'py>,
        text: PyBackedStr,
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.segment_list(py, &text, forced_spans)
    }

    /// `segment`, under jieba's name for the list-returning call.
    #[pyo3(signature = (text, *, forced_spans = None))]
    fn lcut<'py>(
        &self,
        py: Python<'py>,
        text: PyBackedStr,
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.segment_list(py, &text, forced_spans)
    }

    /// `text` segmented as `trainer segment` writes it: each line's words with `separator` between them
    /// (default two spaces, as in the SIGHAN files), `\n` after every line (white space dropped).
    #[pyo3(signature = (text, separator = "  ", *, forced_spans = None))]
    fn segment_text<'py>(
        &self,
        py: Python<'py>,
        text: PyBackedStr,
        separator: &str,
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyString>> {
        // The segmenter writes each unit's input bytes whole and adds only the separator and line
        // breaks: valid UTF-8 in, valid UTF-8 out. Python checks it as it makes the str (once, not
        // also here).
        PyString::from_bytes(py, &self.segment_to_bytes(py, &text, separator.as_bytes(), forced_spans))
    }

    /// The words of `text` as an iterator (jieba's `cut`).
    #[pyo3(signature = (text, *, forced_spans = None))]
    fn cut<'py>(&self, py: Python<'py>, text: PyBackedStr, forced_spans: Option<bool>) -> PyResult<Bound<'py, PyAny>> {
        self.segment_list(py, &text, forced_spans)?.try_iter().map(Bound::into_any)
    }

    /// Each character of `text` with its tag, as `(character, tag)` pairs; white space is not labeled
    /// and not listed.
    #[pyo3(signature = (text, *, forced_spans = None))]
    fn label<'py>(
        &self,
        py: Python<'py>,
        text: PyBackedStr,
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        let dictionary = self.user_dict.current();
        let forced_spans = forced_spans.unwrap_or(self.forced_spans);
        let labeled: Vec<(char, u8)> = Self::maybe_detached(py, &text, || {
            let mut labeled = Vec::with_capacity(text.len() / 3 + 1);
            let rules = SpanRules { dictionary: dictionary.as_deref().map(|d| d.borrow_dependent()), forced_spans };
            let mut labeler = StreamLabeler::<DEFAULT_WINDOW>::with_rules(self.model(), rules);
            let mut on_event = |event| {
                if let Event::Unit(decoder::Labeled { ch, tag: Some(tag), .. }) = event {
                    labeled.push((ch, tag));
                }
            };
            labeler.push(text.as_bytes(), &mut on_event);
            labeler.finish(&mut on_event);
            labeled
        });
        // One string object per tag name, shared by every pair.
        let names: Vec<Bound<'py, PyString>> = self.tags.iter().map(|name| PyString::new(py, name)).collect();
        let unknown = PyString::new(py, "?");
        let pairs = labeled.into_iter().map(|(ch, tag)| {
            let name = names.get(usize::from(tag)).unwrap_or(&unknown);
            let mut utf8 = [0u8; 4];
            PyTuple::new(py, [PyString::new(py, ch.encode_utf8(&mut utf8)).into_any(), name.clone().into_any()])
        });
        let tuples = pairs.collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, tuples)
    }

    /// The tag names, in the model's order (e.g. `["B", "M", "E", "S"]`).
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.tags.clone()
    }

    /// The file the model was loaded from (`None` for `Model.from_bytes`).
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// The free-text metadata the trainer stored in the model file.
    #[getter]
    fn metadata(&self) -> &str {
        self.model().metadata()
    }

    /// The model file's size in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.loaded.borrow_owner().len()
    }

    fn __repr__(&self) -> String {
        let source = self.path.as_ref().map_or_else(|| "<bytes>".to_owned(), |path| path.display().to_string());
        format!("crf_mcu.Model({source:?}, tags={:?}, {} bytes)", self.tags, self.size())
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

//! `crf_mcu.Model`: a model file loaded once (CRC and sizes checked at load), segmenting and labeling
//! with the decoder's streaming labeler, exactly as `trainer segment` and the firmware do.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, TryLockError};

use decoder::{Event, Segmenter, SpanRules, StreamLabeler, WordSpans, DEFAULT_WINDOW};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use self_cell::self_cell;

use crate::errors::to_py_err;
use crate::user_dict::UserDictionary;
use crate::word_cache::WordCache;

/// The decoder's view of a model file's bytes (which borrows them), and what `segment` starts from.
struct Decoding<'bytes> {
    model: decoder::Model<'bytes>,
    /// A labeler and a word splitter as new, for forced spans off and on (index `forced_spans as
    /// usize`), without a user dictionary: each such call copies them rather than building them again
    /// (which reads the tag names twice and the transition scores), a cost per call that segmenting
    /// line by line pays for every line.
    fresh: [(StreamLabeler<'bytes, DEFAULT_WINDOW>, WordSpans); 2],
}

impl<'bytes> Decoding<'bytes> {
    fn new(model: decoder::Model<'bytes>) -> Self {
        let fresh = [false, true].map(|forced_spans| {
            let rules = SpanRules { dictionary: None, forced_spans };
            (StreamLabeler::with_rules(&model, rules), WordSpans::new(&model))
        });
        Self { model, fresh }
    }
}

self_cell!(
    /// The model file's bytes and the decoder's view of them, built once.
    struct LoadedModel {
        owner: Vec<u8>,
        #[covariant]
        dependent: Decoding,
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
    /// The segmenting calls' buffers, kept between calls (taken by one call at a time; a concurrent call
    /// makes its own).
    scratch: Mutex<Scratch>,
    /// The str objects of the words `segment` has returned, shared by their later occurrences.
    words: Mutex<WordCache>,
}

impl Model {
    /// Checks `bytes` as a model file named `name` in errors.
    pub(crate) fn from_vec(bytes: Vec<u8>, name: &Path, path: Option<PathBuf>) -> PyResult<Self> {
        let loaded = LoadedModel::try_new(bytes, |bytes| trainer::pipeline::load_model(name, bytes).map(Decoding::new))
            .map_err(to_py_err)?;
        let tags = loaded.borrow_dependent().model.tag_names().map(str::to_owned).collect();
        Ok(Self {
            loaded,
            path,
            tags,
            user_dict: UserDictionary::default(),
            forced_spans: true,
            scratch: Mutex::default(),
            words: Mutex::default(),
        })
    }

    /// Adds the words of the word-list file at `path`; errors name the file (and the line).
    fn attach_user_dict(&self, path: &Path) -> PyResult<()> {
        self.user_dict.add_file(path).map_err(to_py_err)
    }

    fn model(&self) -> &decoder::Model<'_> {
        &self.loaded.borrow_dependent().model
    }

    /// Runs `work` with the GIL released when `text` is long enough to be worth it.
    fn maybe_detached<T: Send>(py: Python<'_>, text: &str, work: impl FnOnce() -> T + Send) -> T {
        if text.len() >= RELEASE_GIL_BYTES {
            py.detach(work)
        } else {
            work()
        }
    }

    /// `text` segmented with `separator` between words, and `\n` ending every line, as a str.
    fn segment_to_str<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        separator: &[u8],
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyString>> {
        let dictionary = self.user_dict.current();
        let forced_spans = forced_spans.unwrap_or(self.forced_spans);
        let mut scratch = Scratch::take(&self.scratch);
        let mut out = std::mem::take(&mut scratch.text);
        out.clear();
        out.reserve(text.len() + text.len() / 2);
        let out = Self::maybe_detached(py, text, move || {
            let rules = SpanRules { dictionary: dictionary.as_deref().map(|d| d.borrow_dependent()), forced_spans };
            Segmenter::<DEFAULT_WINDOW>::with_rules_and_separator(self.model(), rules, separator)
                .segment_all(text.as_bytes(), |bytes| out.extend_from_slice(bytes));
            out
        });
        // The segmenter writes each unit's input bytes whole and adds only the separator and line
        // breaks: valid UTF-8 in, valid UTF-8 out. Python checks it as it makes the str (once, not
        // also here).
        let segmented = PyString::from_bytes(py, &out);
        scratch.text = out;
        scratch.give_back(&self.scratch);
        segmented
    }

    fn segment_list<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        let dictionary = self.user_dict.current();
        let forced_spans = forced_spans.unwrap_or(self.forced_spans);
        let mut scratch = Scratch::take(&self.scratch);
        // Each word as its byte range in `text` (the words `segment_text` writes, as the decoder's
        // `WordSpans` finds them): no segmented copy of the text to write, check and split again.
        let mut spans = std::mem::take(&mut scratch.spans);
        spans.clear();
        let spans = Self::maybe_detached(py, text, move || {
            let mut push = |span| spans.push(span);
            match dictionary.as_deref() {
                None => {
                    let (labeler, words) = &self.loaded.borrow_dependent().fresh[usize::from(forced_spans)];
                    let (mut labeler, mut words) = (labeler.clone(), *words);
                    labeler.push(text.as_bytes(), |event| words.event(event, &mut push));
                    labeler.finish(|event| words.event(event, &mut push));
                }
                Some(dictionary) => {
                    let rules = SpanRules { dictionary: Some(dictionary.borrow_dependent()), forced_spans };
                    decoder::word_spans::<DEFAULT_WINDOW>(self.model(), rules, text.as_bytes(), push);
                }
            }
            spans
        });
        // The ranges start and end at characters (units are whole characters of a valid str), so `get`
        // always finds the word.
        let words = spans.iter().map(|span| text.get(span.clone()).unwrap_or_default());
        // The model's word table, unless another call on this thread holds it (a finalizer that segments,
        // run by a garbage collection during this one): then one for this call alone.
        let list = match self.words.try_lock() {
            Ok(mut table) => PyList::new(py, words.map(|word| table.word(py, word))),
            Err(TryLockError::Poisoned(poisoned)) => {
                // A panic in `WordCache::word` (out of memory) leaves the table as it was.
                let mut table = poisoned.into_inner();
                PyList::new(py, words.map(|word| table.word(py, word)))
            }
            Err(TryLockError::WouldBlock) => {
                let mut table = WordCache::default();
                PyList::new(py, words.map(|word| table.word(py, word)))
            }
        };
        scratch.spans = spans;
        scratch.give_back(&self.scratch);
        list
    }
}

/// The buffers of `segment` and `segment_text`, kept from call to call: allocated anew for a long text
/// they would be fresh pages every time, and the page faults would cost more than the words' str
/// objects; for a short one the allocation would be a cost of every call.
#[derive(Default)]
struct Scratch {
    /// `segment`'s word ranges in the text.
    spans: Vec<Range<usize>>,
    /// `segment_text`'s output, as UTF-8.
    text: Vec<u8>,
}

impl Scratch {
    /// The model's scratch if no other call holds it, else a new one.
    fn take(kept: &Mutex<Scratch>) -> Self {
        kept.try_lock().map(|mut kept| std::mem::take(&mut *kept)).unwrap_or_default()
    }

    /// Gives the buffers back to the model for the next call, unless they have grown too large.
    fn give_back(self, kept: &Mutex<Scratch>) {
        let bytes = self.spans.capacity() * std::mem::size_of::<Range<usize>>() + self.text.capacity();
        if bytes <= MAX_KEPT_SCRATCH_BYTES {
            if let Ok(mut kept) = kept.try_lock() {
                *kept = self;
            }
        }
    }
}

/// The model keeps its buffers for the next call up to this size (a 3 MB text's worth); beyond it they
/// are freed.
const MAX_KEPT_SCRATCH_BYTES: usize = 16 << 20;

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
    fn segment<'py>(&self, py: Python<'py>, text: &str, forced_spans: Option<bool>) -> PyResult<Bound<'py, PyList>> {
        self.segment_list(py, text, forced_spans)
    }

    /// `segment`, under jieba's name for the list-returning call.
    #[pyo3(signature = (text, *, forced_spans = None))]
    fn lcut<'py>(&self, py: Python<'py>, text: &str, forced_spans: Option<bool>) -> PyResult<Bound<'py, PyList>> {
        self.segment_list(py, text, forced_spans)
    }

    /// `text` segmented as `trainer segment` writes it: each line's words with `separator` between them
    /// (default two spaces, as in the SIGHAN files), `\n` after every line (white space dropped).
    #[pyo3(signature = (text, separator = "  ", *, forced_spans = None))]
    fn segment_text<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        separator: &str,
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyString>> {
        self.segment_to_str(py, text, separator.as_bytes(), forced_spans)
    }

    /// The words of `text` as an iterator (jieba's `cut`).
    #[pyo3(signature = (text, *, forced_spans = None))]
    fn cut<'py>(&self, py: Python<'py>, text: &str, forced_spans: Option<bool>) -> PyResult<Bound<'py, PyAny>> {
        self.segment_list(py, text, forced_spans)?.try_iter().map(Bound::into_any)
    }

    /// Each character of `text` with its tag, as `(character, tag)` pairs; white space is not labeled
    /// and not listed.
    #[pyo3(signature = (text, *, forced_spans = None))]
    fn label<'py>(&self, py: Python<'py>, text: &str, forced_spans: Option<bool>) -> PyResult<Bound<'py, PyList>> {
        let dictionary = self.user_dict.current();
        let forced_spans = forced_spans.unwrap_or(self.forced_spans);
        let labeled: Vec<(char, u8)> = Self::maybe_detached(py, text, || {
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

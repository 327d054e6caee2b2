//! `crf_mcu.Model`: a model file loaded once (CRC and sizes checked at load), segmenting and labeling
//! with the decoder's streaming labeler, exactly as `trainer segment` and the firmware do.

use std::path::{Path, PathBuf};

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

/// Separates the words in the segmenter's output: a line break, which no word contains (line breaks are
/// line endings, and other white space separates words), so every line break in the output is a word
/// boundary, exactly where `trainer segment` writes its two spaces or ends a line.
const WORD_BREAK: &[u8] = b"\n";

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
}

impl Model {
    /// Checks `bytes` as a model file named `name` in errors.
    pub(crate) fn from_vec(bytes: Vec<u8>, name: &Path, path: Option<PathBuf>) -> PyResult<Self> {
        let loaded =
            LoadedModel::try_new(bytes, |bytes| trainer::pipeline::load_model(name, bytes)).map_err(to_py_err)?;
        let tags = loaded.borrow_dependent().tag_names().map(str::to_owned).collect();
        Ok(Self { loaded, path, tags, user_dict: UserDictionary::default(), forced_spans: true })
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

    /// `text` segmented with `separator` between words, and `\n` ending every line.
    fn segment_to_string(&self, py: Python<'_>, text: &str, separator: &[u8], forced_spans: Option<bool>) -> String {
        let dictionary = self.user_dict.current();
        let forced_spans = forced_spans.unwrap_or(self.forced_spans);
        Self::maybe_detached(py, text, || {
            let mut out = Vec::with_capacity(text.len() + text.len() / 2);
            let rules = SpanRules { dictionary: dictionary.as_deref().map(|d| d.borrow_dependent()), forced_spans };
            Segmenter::<DEFAULT_WINDOW>::with_rules_and_separator(self.model(), rules, separator)
                .segment_all(text.as_bytes(), |bytes| out.extend_from_slice(bytes));
            // The segmenter writes each unit's input bytes whole and adds only the separator and line
            // breaks: valid UTF-8 in, valid UTF-8 out. Lossy conversion keeps this panic-free all the same.
            String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    fn segment_list<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        forced_spans: Option<bool>,
    ) -> PyResult<Bound<'py, PyList>> {
        let lines = self.segment_to_string(py, text, WORD_BREAK, forced_spans);
        // A text repeats its words (punctuation, function words): a direct-mapped cache of str objects,
        // indexed by a hash of the word, shares one object among a word's occurrences (str is immutable),
        // which saves most of the allocations and UTF-8 decoding that an object per occurrence costs.
        let slots = (lines.len() / 8).clamp(16, MAX_CACHED_WORDS).next_power_of_two();
        let mut cache: Vec<Option<(&str, Bound<'py, PyString>)>> = vec![None; slots];
        let mut words = Vec::with_capacity(lines.len() / 4);
        for word in lines.split('\n').filter(|word| !word.is_empty()) {
            let slot = &mut cache[word_hash(word) as usize & (slots - 1)];
            match slot {
                Some((cached, object)) if *cached == word => words.push(object.clone()),
                _ => {
                    let object = PyString::new(py, word);
                    words.push(object.clone());
                    *slot = Some((word, object));
                }
            }
        }
        PyList::new(py, words)
    }
}

/// The most str objects `segment` keeps for reuse while it builds one list (a power of two).
const MAX_CACHED_WORDS: usize = 1 << 14;

/// A hash of a word for the cache: its first 8 bytes and its length, mixed by one multiplication (most
/// words are 1 to 3 CJK characters, 3 to 9 bytes, so this sees almost all of them); the cache compares
/// the whole word on a hit, so a collision only costs a new str object.
fn word_hash(word: &str) -> u64 {
    let bytes = word.as_bytes();
    let mut head = [0u8; 8];
    let len = bytes.len().min(8);
    head[..len].copy_from_slice(&bytes[..len]);
    let mixed = (u64::from_le_bytes(head) ^ (bytes.len() as u64).rotate_left(56)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    mixed >> 40
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
    fn segment_text(&self, py: Python<'_>, text: PyBackedStr, separator: &str, forced_spans: Option<bool>) -> String {
        self.segment_to_string(py, &text, separator.as_bytes(), forced_spans)
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

"""Segment and label text with a crf-mcu model (a CRF character tagger that also runs on
microcontrollers), and train one.

    import crf_mcu
    model = crf_mcu.Model.load("models/default.crfm")
    model.segment("中华人民共和国成立于1949年10月1日。")
    # ['中华人民共和国', '成立', '于', '1949年', '10月', '1日', '。']
"""

import os
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

__version__: str
#: The newest model file format version this build reads and writes (it reads every older one too).
FORMAT_VERSION: int

StrPath = Union[str, "os.PathLike[str]"]

class Model:
    """A segmentation (or other character-tagging) model, loaded from a model file that
    `trainer train` or `crf_mcu.train` wrote. Thread-safe; long texts are segmented with the GIL
    released."""

    @staticmethod
    def load(path: StrPath, user_dict: Optional[StrPath] = None, forced_spans: bool = True) -> "Model":
        """Loads and checks the model file at `path`.

        Raises `OSError` (e.g. `FileNotFoundError`) when the file cannot be read and `ValueError`
        when it is not a valid model; both messages name the file. `user_dict` is the file of a user
        dictionary (as `load_userdict`). `forced_spans` (default on) keeps URLs, e-mail addresses
        and numbers whole; each segmenting call can override it."""

    @staticmethod
    def from_bytes(data: bytes, forced_spans: bool = True) -> "Model":
        """Loads and checks a model file's contents (`ValueError` if they are not a valid model)."""

    def load_userdict(self, path: StrPath) -> None:
        """Adds the words of a user dictionary file (one word a line, as jieba's `load_userdict`):
        every occurrence of a listed word (leftmost-longest) comes out whole, and the rest of the text is
        decoded optimally around it. Words of earlier calls are kept. A bad line is a `ValueError`
        naming the file and line (words: UTF-8, no white space, at most 32 characters); nothing is
        added then."""

    def segment(self, text: str, *, forced_spans: Optional[bool] = None) -> list[str]:
        """The words of `text`, in order. White space (line breaks included) separates words and is
        dropped. The same words as `trainer segment` and the firmware give for the same text.

        The model keeps the str objects of the first 16,384 distinct words (of up to 64 bytes) it has
        returned, and returns them again for their later occurrences, in this call and later ones: a
        list of a model's words holds one object per distinct word, not one per occurrence."""

    def lcut(self, text: str, *, forced_spans: Optional[bool] = None) -> list[str]:
        """`segment`, under jieba's name."""

    def segment_text(self, text: str, separator: str = "  ", *, forced_spans: Optional[bool] = None) -> str:
        """`text` segmented as `trainer segment` writes it: each line's words with `separator`
        between them (default two spaces, as in the SIGHAN files) and `\\n` after every line
        (CRLF becomes `\\n`; white space is dropped). The fastest way to segment a large text."""

    def cut(self, text: str, *, forced_spans: Optional[bool] = None) -> Iterator[str]:
        """The words of `text` as an iterator (jieba's `cut`)."""

    def label(self, text: str, *, forced_spans: Optional[bool] = None) -> list[tuple[str, str]]:
        """Each character of `text` with its tag (one of `tags`), e.g. `[("研", "B"), ("究", "E")]`.
        White space is not labeled and not listed. Dictionary words and forced spans are kept as in
        `segment` (`forced_spans=None`: the model's setting)."""

    @property
    def tags(self) -> list[str]:
        """The tag names, in the model's order (e.g. `["B", "M", "E", "S"]`)."""

    @property
    def path(self) -> Optional[Path]:
        """The file the model was loaded from (`None` for `from_bytes`)."""

    @property
    def metadata(self) -> str:
        """The free-text metadata the trainer stored in the model file."""

    @property
    def size(self) -> int:
        """The model file's size in bytes."""

class TrainResult:
    """A finished training run."""

    #: The trained model, loaded.
    model: Model
    #: Where the model file was written.
    path: Path
    #: The model file's size in bytes.
    size: int
    #: Dev scores of the exported (integer) model, in [0, 1]: `f1`, `precision`, `recall` and
    #: `oov_recall` (`None` without OOV words) for segmentation, `f1`, `precision` and `recall` of
    #: conlleval's chunks for token-level files, `accuracy` for other tagging.
    dev: dict[str, Optional[float]]
    #: Test scores of the exported model, as `dev`, when `test` was given.
    test: Optional[dict[str, Optional[float]]]
    #: Training time in seconds (without test scoring).
    seconds: float
    #: The summary that `trainer train` prints.
    report: str

def train(
    *,
    out: StrPath,
    train: Optional[StrPath] = None,
    dev: Optional[StrPath] = None,
    test: Optional[StrPath] = None,
    words: Optional[StrPath] = None,
    format: str = "auto",
    word_tags: str = "auto",
    epochs: int = 12,
    patience: int = 3,
    lr: float = 0.2,
    crf_lr: float = 1.0,
    seed: int = 1,
    ensemble: int = 1,
    refit: bool = False,
    templates: str = "auto",
    weight_type: str = "auto",
    max_model_bytes: Optional[int] = None,
    reference_model: bool = True,
    lexicon: bool = True,
    lexicon_extra: Sequence[StrPath] = (),
    distill: Sequence[StrPath] = (),
    teacher: Optional[StrPath] = None,
    verbose: bool = False,
) -> TrainResult:
    """Trains, quantizes and writes a model, as `trainer train` does with the same options
    (`trainer train --help` tells each one; the defaults are the same).

    `out`: where the model file goes (its training vocabulary goes next to it, as `OUT.words`).
    `train`: the training corpus, one sentence a line with words separated by spaces, or CoNLL
    `char<TAB>tag` lines; `None` trains on the trainer's small built-in sample in seconds.
    `dev`: dev corpus (default: every 20th training sentence). `test`, `words`: a test corpus scored
    at the end, and the word list defining its OOV words.
    `format`: "auto", "words" or "conll". `word_tags`: "auto", "bmes", "bmes6" or "bi".
    `templates`: "auto", "compact", "basic" or "standard". `weight_type`: "auto", "i8", "i16" or
    "codebook". `max_model_bytes`: make the model fit in this many bytes (e.g. 163840).
    `verbose`: show progress on standard error.

    Bad input (a missing file, a malformed corpus line, an option out of range) raises `OSError`
    or `ValueError` with the trainer's message, which names the file, line or option. Runs with the
    GIL released, on every core."""

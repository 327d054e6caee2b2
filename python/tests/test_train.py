"""Training through the trainer's library: the same model file as `trainer train`, and its errors as
Python exceptions."""

import pytest

import crf_mcu
from conftest import SAMPLE_INPUT


def test_train_writes_the_model_trainer_train_writes(tmp_path, trainer):
    result = crf_mcu.train(out=tmp_path / "python.crfm", epochs=2)
    trainer("train", "--out", str(tmp_path / "cli.crfm"), "--epochs", "2", "--quiet")
    written = (tmp_path / "python.crfm").read_bytes()
    assert written == (tmp_path / "cli.crfm").read_bytes()
    assert (tmp_path / "python.crfm.words").read_bytes() == (tmp_path / "cli.crfm.words").read_bytes()
    assert result.path == tmp_path / "python.crfm"
    assert result.size == len(written)
    assert 0.5 < result.dev["f1"] <= 1.0
    assert set(result.dev) == {"f1", "precision", "recall", "oov_recall"}
    assert result.test is None
    assert "quantized F1" in result.report
    text = SAMPLE_INPUT.read_text(encoding="utf-8")
    assert result.model.segment(text) == crf_mcu.Model.load(result.path).segment(text)


def test_train_with_a_budget_and_a_test_corpus(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["我们 在 北京 学习 中文 。", "他 是 一 名 学生 。"] * 40) + "\n", encoding="utf-8")
    result = crf_mcu.train(out=tmp_path / "small.crfm", train=corpus, test=corpus, epochs=3,
                           max_model_bytes=16 * 1024, reference_model=False)
    assert result.size <= 16 * 1024
    assert result.model.tags == ["B", "M", "E", "S"]
    assert result.test is not None and 0.0 <= result.test["f1"] <= 1.0


def test_bad_corpus_line_is_a_value_error_naming_file_and_line(tmp_path):
    corpus = tmp_path / "broken.txt"
    corpus.write_bytes("我们 在 北京\n".encode("utf-8") + b"\xff\xfe bad\n")
    with pytest.raises(ValueError, match=r"broken.txt:2"):
        crf_mcu.train(out=tmp_path / "m.crfm", train=corpus)


def test_missing_corpus_is_an_os_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        crf_mcu.train(out=tmp_path / "m.crfm", train=tmp_path / "nowhere.txt")


def test_options_out_of_range_name_the_keyword(tmp_path):
    with pytest.raises(ValueError, match="`epochs` must be at least 1"):
        crf_mcu.train(out=tmp_path / "m.crfm", epochs=0)
    with pytest.raises(ValueError, match='templates must be one of "auto", "compact"'):
        crf_mcu.train(out=tmp_path / "m.crfm", templates="huge")


def test_wrong_argument_types_are_type_errors_naming_the_argument(tmp_path):
    with pytest.raises(TypeError, match="argument 'train'"):
        crf_mcu.train(out=tmp_path / "m.crfm", train=5)
    with pytest.raises(TypeError, match="argument 'epochs'"):
        crf_mcu.train(out=tmp_path / "m.crfm", epochs="many")
    with pytest.raises(TypeError):
        crf_mcu.train(tmp_path / "m.crfm")  # keyword-only

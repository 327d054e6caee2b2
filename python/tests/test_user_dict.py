"""The user dictionary and forced spans: listed words are never split, the output equals `trainer segment
--user-dict`, and bad word lists or arguments get errors that name them."""

import pytest

import crf_mcu
from conftest import DEFAULT_MODEL, SAMPLE_INPUT

#: Words the default model splits in the sample (each comes out as more than one word without the list).
WORDS = ["研究人员", "新闻发布会", "城市建设", "历史老师"]


@pytest.fixture()
def word_list(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("\n".join(WORDS) + "\n", encoding="utf-8")
    return path


def sample_text() -> str:
    return SAMPLE_INPUT.read_bytes().decode("utf-8")


def test_dictionary_words_are_never_split(word_list):
    plain = crf_mcu.Model.load(DEFAULT_MODEL)
    with_words = crf_mcu.Model.load(DEFAULT_MODEL, user_dict=word_list)
    text = sample_text()
    plain_words = plain.segment(text)
    words = with_words.segment(text)
    for word in WORDS:
        assert word in text and word not in plain_words, word
        assert word in words, word
        assert words.count(word) == text.count(word)
    assert "".join(words) == "".join(text.split())
    # Every call keeps them: cut, lcut, label (B..E over the word).
    assert list(with_words.cut(text)) == words == with_words.lcut(text)
    labeled = with_words.label("研究人员在实验室里")
    assert [tag for _, tag in labeled[:4]] == ["B", "M", "M", "E"]


def test_load_userdict_adds_words_like_jieba(word_list, tmp_path):
    model = crf_mcu.Model.load(DEFAULT_MODEL)
    model.load_userdict(word_list)
    assert "新闻发布会" in model.segment("市政府召开新闻发布会。")
    more = tmp_path / "more.txt"
    more.write_text("召开新闻\r\n", encoding="utf-8")
    model.load_userdict(str(more))
    # The words of both files are kept (leftmost-longest).
    assert "召开新闻" in model.segment("市政府召开新闻发布会。")
    assert "研究人员" in model.segment("研究人员在实验室里")


@pytest.mark.parametrize("forced_spans", [True, False])
def test_equals_trainer_segment_with_the_user_dict(trainer, word_list, forced_spans):
    args = ["segment", "--model", str(DEFAULT_MODEL), "--user-dict", str(word_list), str(SAMPLE_INPUT)]
    if not forced_spans:
        args.insert(-1, "--no-forced-spans")
    expected = trainer(*args).decode("utf-8")
    model = crf_mcu.Model.load(DEFAULT_MODEL, user_dict=word_list, forced_spans=forced_spans)
    assert model.segment_text(sample_text()) == expected
    # The per-call keyword overrides the model's setting.
    other = crf_mcu.Model.load(DEFAULT_MODEL, user_dict=word_list, forced_spans=not forced_spans)
    assert other.segment_text(sample_text(), forced_spans=forced_spans) == expected


def test_forced_spans_keep_urls_and_numbers_whole():
    model = crf_mcu.Model.load(DEFAULT_MODEL)
    text = "访问http://x.y/z?q=1查看，增长了12.5%。"
    words = model.segment(text)
    assert "http://x.y/z?q=1" in words and "12.5%" in words
    assert model.segment(text, forced_spans=True) == words
    unforced = crf_mcu.Model.load(DEFAULT_MODEL, forced_spans=False)
    assert unforced.segment(text) == model.segment(text, forced_spans=False)
    assert unforced.segment(text) != words


def test_a_bad_word_list_line_is_a_value_error_naming_file_and_line(tmp_path):
    bad = tmp_path / "bad-words.txt"
    bad.write_text("北京\n新 词\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad-words.txt: line 2: white space inside a word"):
        crf_mcu.Model.load(DEFAULT_MODEL, user_dict=bad)
    model = crf_mcu.Model.load(DEFAULT_MODEL)
    bad.write_bytes("北京\n".encode() + b"\xff\xfe\n")
    with pytest.raises(ValueError, match=r"bad-words.txt: line 2: not valid UTF-8"):
        model.load_userdict(bad)
    bad.write_text("字" * 33 + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad-words.txt: line 1: word of 33 characters"):
        model.load_userdict(bad)
    # A refused file changes nothing.
    assert model.segment("研究人员") == crf_mcu.Model.load(DEFAULT_MODEL).segment("研究人员")
    with pytest.raises(FileNotFoundError, match="absent.txt"):
        model.load_userdict(tmp_path / "absent.txt")


def test_non_string_arguments_are_type_errors(word_list):
    model = crf_mcu.Model.load(DEFAULT_MODEL)
    with pytest.raises(TypeError, match="argument 'path'"):
        model.load_userdict(42)
    with pytest.raises(TypeError, match="argument 'user_dict'"):
        crf_mcu.Model.load(DEFAULT_MODEL, user_dict=42)
    with pytest.raises(TypeError, match="argument 'forced_spans'"):
        model.segment("研究", forced_spans="yes")

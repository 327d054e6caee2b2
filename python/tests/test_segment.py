"""Segmenting and labeling: the same words as `trainer segment`, and errors that name the argument."""

import gc
import sys
import threading

import pytest

import crf_mcu
from conftest import DEFAULT_MODEL, SAMPLE_CORPUS, SAMPLE_INPUT, data_file


@pytest.fixture(scope="module")
def model() -> crf_mcu.Model:
    return crf_mcu.Model.load(DEFAULT_MODEL)


def input_lines(text: str) -> list:
    """The input's lines as the segmenter sees them: `\\n` ends a line (a CR before it is part of the
    line ending, and white space to the segmenter either way)."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def assert_same_as_trainer(model: crf_mcu.Model, trainer, path) -> None:
    text = path.read_bytes().decode("utf-8")
    expected = trainer("segment", "--model", str(DEFAULT_MODEL), str(path)).decode("utf-8")
    expected_lines = input_lines(expected)
    lines = input_lines(text)
    assert len(lines) == len(expected_lines)
    # Line by line (a call per line, as jieba users call it)...
    for number, (line, expected_line) in enumerate(zip(lines, expected_lines), start=1):
        assert "  ".join(model.segment(line)) == expected_line, f"{path}:{number}"
    # ...and the whole text in one call, as words and as the same text.
    assert model.segment(text) == expected.split()
    assert model.segment_text(text) == expected
    assert model.segment_text(text, separator="|") == expected.replace("  ", "|")


def test_segment_equals_trainer_segment_on_the_samples(model, trainer):
    for path in (SAMPLE_INPUT, SAMPLE_CORPUS):
        assert_same_as_trainer(model, trainer, path)


def test_segment_equals_trainer_segment_on_pku_test(model, trainer):
    assert_same_as_trainer(model, trainer, data_file("icwb2/pku_test.utf8"))


def test_segment_example():
    model = crf_mcu.Model.load(str(DEFAULT_MODEL))
    assert model.segment("中华人民共和国成立于1949年10月1日。") == [
        "中华人民共和国", "成立", "于", "1949年", "10月", "1日", "。",
    ]


def test_white_space_separates_words_and_is_dropped(model):
    assert model.segment("") == []
    assert model.segment(" \t\r\n\u3000") == []
    # Words never span white space, whatever the model would say without it.
    assert model.segment("北京\n大学") == model.segment("北京 大学") == ["北京", "大学"]
    # Empty and blank lines anywhere give no words.
    assert model.segment("\n北京\n\n \r\n大学\n\n") == ["北京", "大学"]


def test_cut_is_an_iterator_and_lcut_a_list_of_the_same_words(model):
    text = SAMPLE_INPUT.read_text(encoding="utf-8")
    words = model.cut(text)
    assert iter(words) is words and not isinstance(words, list)
    assert list(words) == model.lcut(text) == model.segment(text)


def test_label_tags_every_character_and_agrees_with_segment(model):
    text = SAMPLE_INPUT.read_text(encoding="utf-8")
    labeled = model.label(text)
    assert "".join(ch for ch, _ in labeled) == "".join(text.split())
    assert {tag for _, tag in labeled} <= set(model.tags)
    # B/S open a word and E/S close one: the words the tags spell are the segmenter's.
    words, word = [], ""
    for ch, tag in labeled:
        if tag in ("B", "S") and word:
            words.append(word)
            word = ""
        word += ch
    words.append(word)
    assert words == model.segment(text)


def test_model_properties(model):
    assert model.tags == ["B", "M", "E", "S"]
    assert model.path == DEFAULT_MODEL
    assert model.size == DEFAULT_MODEL.stat().st_size
    assert crf_mcu.Model.from_bytes(DEFAULT_MODEL.read_bytes()).segment("研究生命起源") == ["研究", "生命", "起源"]


def test_words_sharing_their_first_eight_bytes_stay_apart(model):
    # The word cache hashes a word's first 8 bytes and its length: longer words that agree there (same
    # length or not) must still come out as themselves, however often they repeat.
    words = ["abcdefghij", "abcdefghik", "abcdefghijk", "中华人民共和国", "中华人民共和", "中华人民共和国"]
    text = " ".join(words * 3)
    assert model.segment(text) == model.segment_text(text).split()
    assert model.segment(text)[:3] == words[:3]


def test_the_word_table_kept_between_calls_returns_each_word_as_itself():
    # A model keeps the str objects of the words it has returned (up to 16,384 words of up to 64 bytes):
    # its table grows, fills up and then stops taking words, across calls; every call must still give
    # each word as itself, and the same words as segment_text.
    model = crf_mcu.Model.from_bytes(DEFAULT_MODEL.read_bytes())
    # A later call returns the objects kept by an earlier one.
    first, again = model.segment("北京 1 ，"), model.segment("北京 1 ，")
    assert first == again == ["北京", "1", "，"]
    assert all(a is b for a, b in zip(first, again))
    # Numbers are forced spans: each is one word, 20,000 distinct ones, more than the table holds.
    numbers = [str(n) for n in range(20_000)]
    long_word = "x" * 70 + "1"
    for round in range(2):
        for start in range(0, len(numbers), 500):
            chunk = numbers[start:start + 500] + [long_word, long_word[:-1] + "2"]
            assert model.segment(" ".join(chunk)) == chunk, (round, start)
    text = " ".join(numbers[::-7])
    assert model.segment(text) == text.split() == model.segment_text(text).split()


@pytest.mark.parametrize("forced_spans", [True, False])
def test_a_call_after_any_other_segments_as_on_a_new_model(forced_spans):
    # A model keeps state from call to call (its buffers, its word table, a labeler kept as new):
    # whatever the call before ended in (a pending CR, a number or URL still being scanned, half a line,
    # nothing at all), the next call's words must be those a newly loaded model gives.
    texts = [
        "北京大学生前来应聘",
        "",
        "价格上涨了3.5%\r",
        "\n网址是http://x.y/z?q=1",
        "共计1,234,567元",
        "他说：“",
        "a@b.com 和 12",
        "\r\n\r",
        "今天天气很好。",
    ]
    model = crf_mcu.Model.load(DEFAULT_MODEL, forced_spans=forced_spans)
    for round in range(2):
        for text in texts:
            fresh = crf_mcu.Model.load(DEFAULT_MODEL, forced_spans=forced_spans)
            assert model.segment(text) == fresh.segment(text), (round, text)
    # Line by line over a real text, against `segment_text`, which builds a new segmenter for each call.
    for number, line in enumerate(input_lines(SAMPLE_INPUT.read_text(encoding="utf-8")), start=1):
        assert model.segment(line) == model.segment_text(line).split(), f"{SAMPLE_INPUT}:{number}"


def test_threads_share_a_model(model):
    # Long enough that the GIL is released while segmenting.
    text = SAMPLE_INPUT.read_text(encoding="utf-8") * 20
    expected = model.segment(text)
    results = [None] * 4

    def work(i):
        results[i] = model.segment(text)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * len(results)


@pytest.mark.parametrize("method", ["segment", "cut", "lcut", "label"])
@pytest.mark.parametrize("value", [3, None, b"\xe5\x8c\x97", ["北京"]])
def test_non_string_text_is_a_type_error_naming_the_argument(model, method, value):
    with pytest.raises(TypeError, match="argument 'text'"):
        getattr(model, method)(value)


def test_missing_model_file_is_an_os_error_naming_the_file(tmp_path):
    missing = tmp_path / "missing.crfm"
    with pytest.raises(FileNotFoundError, match="missing.crfm"):
        crf_mcu.Model.load(missing)


def test_invalid_model_file_is_a_value_error_naming_the_file(tmp_path):
    not_a_model = tmp_path / "notes.txt"
    not_a_model.write_text("not a model", encoding="utf-8")
    with pytest.raises(ValueError, match="notes.txt: not a valid model"):
        crf_mcu.Model.load(not_a_model)
    # One flipped byte in the middle: the CRC catches it.
    damaged = bytearray(DEFAULT_MODEL.read_bytes())
    damaged[len(damaged) // 2] ^= 0x40
    damaged_path = tmp_path / "damaged.crfm"
    damaged_path.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="damaged.crfm: not a valid model"):
        crf_mcu.Model.load(damaged_path)
    with pytest.raises(ValueError, match="not a valid model"):
        crf_mcu.Model.from_bytes(bytes(damaged[:100]))


def test_non_path_model_argument_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="argument 'path'"):
        crf_mcu.Model.load(42)



def test_kept_words_come_out_as_themselves_when_a_new_word_grows_the_table():
    # The table starts with 256 slots and doubles at its 129th word. A call that brings the 129th word
    # first and then words kept earlier looks all of them up before it adds the new word (which grows
    # the table and moves every slot): the kept ones must still come out right, as themselves.
    model = crf_mcu.Model.from_bytes(DEFAULT_MODEL.read_bytes())
    kept = [str(n) for n in range(128)]
    first = model.segment(" ".join(kept))
    assert first == kept
    words = ["128"] + kept[:40] + ["129"] + kept[40:100]
    again = model.segment(" ".join(words))
    assert again == words
    assert all(a is b for a, b in zip(again[1:41], first[:40]))
    assert all(a is b for a, b in zip(again[42:], first[40:100]))


def test_a_model_gives_back_every_reference_to_its_words():
    # The word table takes references to a frequent word in batches and hands them out one by one: the
    # references it still holds must go when the model goes, leaving the word to its last user.
    model = crf_mcu.Model.from_bytes(DEFAULT_MODEL.read_bytes())
    words = model.segment("北京 " * 1000 + "上海")
    assert words == ["北京"] * 1000 + ["上海"]
    word, rare = words[0], words[-1]
    assert all(w is word for w in words[:1000])
    del model, words
    gc.collect()
    # One reference is `word`, one is getrefcount's argument.
    assert sys.getrefcount(word) == 2
    assert sys.getrefcount(rare) == 2

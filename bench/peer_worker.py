"""Runs one peer segmenter step inside the bench venv (called by bench-peers as a child process,
so the parent can measure its wall time and peak memory).

    peer_worker.py crfsuite-train TRAIN MODEL ITERATIONS
    peer_worker.py crfsuite-label MODEL INPUT OUTPUT REPEATS
    peer_worker.py pkuseg-train TRAIN REPORT_FILE MODEL_DIR ITERATIONS
    peer_worker.py pkuseg-label MODEL_DIR INPUT OUTPUT REPEATS
    peer_worker.py jieba-label - INPUT OUTPUT REPEATS
    peer_worker.py crfsuite-token-train ATTRIBUTES MODEL ITERATIONS
    peer_worker.py crfsuite-token-label MODEL ATTRIBUTES OUTPUT REPEATS

A label step prints one JSON line: model load seconds, the labeling seconds of every repeat, the number of
sequences and of sequences containing a forbidden BMES transition (null for peers that output words).

The token-level steps read CRFsuite's attribute format as `trainer features` writes it (our exact feature
strings): `crfsuite-token-train` prints one JSON line with the L-BFGS iterations run (ITERATIONS 0: no cap,
CRFsuite's own stopping test) and the seconds spent reading the file and in `Trainer.train` alone; `crfsuite-token-label` writes each token's gold and guessed tag (what
`trainer conlleval` scores) and prints load seconds, the labeling seconds of every repeat and the counts.
"""

import json
import sys
import time

# ---------------------------------------------------------------------------------------------------------
# Character normalisation and classes: a copy of decoder/src/text.rs (`normalize` with NORMALIZE_WIDTH,
# `char_class`), so CRFsuite sees the same features as our first emission model.

OTHER, HAN, DIGIT, LATIN, PUNCT, CN_NUMERAL, BOUNDARY = range(7)
HAN_NUMERALS = set("零一二三四五六七八九十百千万亿两")


def fold_width(ch):
    c = ord(ch)
    if 0xFF01 <= c <= 0xFF5E:
        return chr(c - (0xFF01 - 0x21))
    if c == 0x3000:
        return " "
    return ch


def char_class(ch):
    c = ord(ch)
    if 0x4E00 <= c <= 0x9FFF:
        return CN_NUMERAL if ch in HAN_NUMERALS else HAN
    if c < 128:
        if ch.isdigit():
            return DIGIT
        if ("a" <= ch <= "z") or ("A" <= ch <= "Z"):
            return LATIN
        if 0x21 <= c <= 0x7E:
            return PUNCT
        return OTHER
    if ch == "〇":
        return CN_NUMERAL
    if 0x3000 <= c <= 0x303F or 0x2000 <= c <= 0x206F or 0xFF00 <= c <= 0xFFEF:
        return PUNCT
    if 0x3400 <= c <= 0x4DBF or 0x20000 <= c <= 0x2FFFF:
        return HAN
    if ch.isnumeric():
        return DIGIT
    return OTHER


def char_features(chars):
    """decoder::internal::features::DEFAULT_TEMPLATES as CRFsuite attributes: bias, C-2..C2, the bigrams
    (-2,-1) (-1,0) (0,1) (1,2) (-1,1), the class at 0 and the classes over -1..1."""
    folded = [fold_width(c) for c in chars]
    classes = [char_class(c) for c in folded]
    n = len(chars)

    def ch(i):
        return folded[i] if 0 <= i < n else ("<s>" if i < 0 else "</s>")

    def cl(i):
        return str(classes[i]) if 0 <= i < n else str(BOUNDARY)

    items = []
    for i in range(n):
        items.append([
            "b",
            "C-2=" + ch(i - 2), "C-1=" + ch(i - 1), "C0=" + ch(i), "C1=" + ch(i + 1), "C2=" + ch(i + 2),
            "C-2C-1=" + ch(i - 2) + ch(i - 1), "C-1C0=" + ch(i - 1) + ch(i),
            "C0C1=" + ch(i) + ch(i + 1), "C1C2=" + ch(i + 1) + ch(i + 2), "C-1C1=" + ch(i - 1) + ch(i + 1),
            "T0=" + cl(i), "T-1..1=" + cl(i - 1) + cl(i) + cl(i + 1),
        ])
    return items


# ---------------------------------------------------------------------------------------------------------
# BMES tags

ALLOWED_NEXT = {"B": "ME", "M": "ME", "E": "BS", "S": "BS"}


def words_to_tags(words):
    tags = []
    for w in words:
        tags.extend(["S"] if len(w) == 1 else ["B"] + ["M"] * (len(w) - 2) + ["E"])
    return tags


def has_forbidden_transition(tags):
    if not tags:
        return False
    if tags[0] not in "BS" or tags[-1] not in "ES":
        return True
    return any(b not in ALLOWED_NEXT[a] for a, b in zip(tags, tags[1:]))


def tags_to_words(chars, tags):
    """Leniently: a word starts at B or S, or after E or S (so any tag sequence gives a segmentation)."""
    words = []
    for i, (c, t) in enumerate(zip(chars, tags)):
        if i == 0 or t in "BS" or tags[i - 1] in "ES":
            words.append(c)
        else:
            words[-1] += c
    return words


# ---------------------------------------------------------------------------------------------------------
# Input and output


def read_segmented(path):
    with open(path, encoding="utf-8-sig") as f:
        return [line.split() for line in f]


def read_raw(path):
    """Raw test text, one sequence per line, white space removed (it is never labeled)."""
    with open(path, encoding="utf-8-sig") as f:
        return ["".join(line.split()) for line in f]


def write_words(path, segmented):
    with open(path, "w", encoding="utf-8") as f:
        for words in segmented:
            f.write("  ".join(words) + "\n")


def timed_label(load, label_line, input_path, output_path, repeats):
    """Loads once (timed apart), labels every line `repeats` times (each pass timed), writes the last
    pass's words. `label_line` returns (words, tags), tags None for peers that output words."""
    t0 = time.perf_counter()
    model = load()
    load_s = time.perf_counter() - t0
    lines = read_raw(input_path)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        results = [label_line(model, line) if line else ([], None) for line in lines]
        times.append(time.perf_counter() - t0)
    write_words(output_path, [words for words, _ in results])
    tagged = [tags for _, tags in results if tags is not None]
    forbidden = sum(has_forbidden_transition(t) for t in tagged) if tagged else None
    print(json.dumps({"load_s": load_s, "label_s": times, "sequences": sum(1 for l in lines if l), "forbidden": forbidden,
                      "chars": sum(len(line) for line in lines)}))


# ---------------------------------------------------------------------------------------------------------
# Peers


def crfsuite_train(train, model, iterations):
    import pycrfsuite

    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params({"max_iterations": int(iterations), "c1": 0.0, "c2": 1.0})
    for words in read_segmented(train):
        chars = "".join(words)
        if chars:
            trainer.append(char_features(chars), words_to_tags(words))
    trainer.train(model)


def crfsuite_label(model_path, input_path, output_path, repeats):
    import pycrfsuite

    def load():
        tagger = pycrfsuite.Tagger()
        tagger.open(model_path)
        return tagger

    def label_line(tagger, chars):
        tags = tagger.tag(char_features(chars))
        return tags_to_words(chars, tags), tags

    timed_label(load, label_line, input_path, output_path, repeats)


def pkuseg_train(train, report_file, model_dir, iterations):
    import spacy_pkuseg

    spacy_pkuseg.train(train, report_file, model_dir, train_iter=int(iterations))


def pkuseg_label(model_dir, input_path, output_path, repeats):
    import spacy_pkuseg

    # user_dict=None: no shipped dictionary, only what was learned from our training file.
    timed_label(lambda: spacy_pkuseg.pkuseg(model_name=model_dir, user_dict=None),
                lambda seg, chars: (seg.cut(chars), None), input_path, output_path, repeats)


def jieba_label(_model, input_path, output_path, repeats):
    import jieba

    jieba.setLogLevel(60)

    def load():
        jieba.initialize()
        return jieba

    timed_label(load, lambda j, chars: ([w for w in j.cut(chars) if w.strip()], None),
                input_path, output_path, repeats)


# ---------------------------------------------------------------------------------------------------------
# Token-level CRFsuite on `trainer features` files


def unescape_attribute(text):
    """CRFsuite's escapes: a backslash keeps the next character (`\\:` is `:`, `\\\\` is `\\`)."""
    if "\\" not in text:
        return text
    out, escaped = [], False
    for c in text:
        if escaped or c != "\\":
            out.append(c)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def read_attribute_sequences(path):
    """Yields (attributes per token, tags) per sentence of an attribute file, one sentence at a time."""
    xseq, yseq = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if yseq:
                    yield xseq, yseq
                xseq, yseq = [], []
                continue
            tag, *attributes = line.split("\t")
            yseq.append(tag)
            xseq.append([unescape_attribute(a) for a in attributes])
    if yseq:
        yield xseq, yseq


def crfsuite_token_train(attributes, model, iterations):
    import pycrfsuite

    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    params = {"c1": 0.0, "c2": 1.0}
    if int(iterations) > 0:
        params["max_iterations"] = int(iterations)
    trainer.set_params(params)
    t0 = time.perf_counter()
    for xseq, yseq in read_attribute_sequences(attributes):
        trainer.append(xseq, yseq)
    t1 = time.perf_counter()
    trainer.train(model)
    t2 = time.perf_counter()
    print(json.dumps({"iterations": trainer.logparser.last_iteration["num"],
                      "max_iterations": int(trainer.get("max_iterations")), "read_s": t1 - t0, "train_s": t2 - t1}))


def crfsuite_token_label(model_path, attributes, output_path, repeats):
    import pycrfsuite

    sequences = list(read_attribute_sequences(attributes))
    t0 = time.perf_counter()
    tagger = pycrfsuite.Tagger()
    tagger.open(model_path)
    load_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        guessed = [tagger.tag(xseq) for xseq, _ in sequences]
        times.append(time.perf_counter() - t0)
    with open(output_path, "w", encoding="utf-8") as f:
        for (_, gold), tags in zip(sequences, guessed):
            f.writelines(f"{g} {t}\n" for g, t in zip(gold, tags))
            f.write("\n")
    print(json.dumps({"load_s": load_s, "label_s": times, "sequences": len(sequences),
                      "tokens": sum(len(gold) for _, gold in sequences)}))


COMMANDS = {
    "crfsuite-train": crfsuite_train,
    "crfsuite-label": crfsuite_label,
    "pkuseg-train": pkuseg_train,
    "pkuseg-label": pkuseg_label,
    "jieba-label": jieba_label,
    "crfsuite-token-train": crfsuite_token_train,
    "crfsuite-token-label": crfsuite_token_label,
}

if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command.endswith("-label"):
        args[-1] = int(args[-1])
    COMMANDS[command](*args)

#!/usr/bin/env python3
"""Copies of the Weibo NER files with more input columns, for the experiments of docs/experiments.md
("Word boundaries and mention lists for Weibo NER"). Writes under OUT only; never commit its output.

  weibo_columns.py text DATA OUT           OUT/text.{train,dev,test}: each sentence's characters, a line each
  (then: trainer segment --model MODEL OUT/text.SPLIT > OUT/seg.SPLIT, for each SPLIT)
  weibo_columns.py columns DATA OUT [--no-jackknife]
      OUT/{train,dev,test}: each token as in DATA (the trainer strips its word position), then the columns
        1 the segmenter's word position of the character (B, M, E, S) from OUT/seg.SPLIT
        2, 3 the length (capped at 4) of the longest PKU or MSR training word (icwb2/*_training_words.utf8)
             starting / ending at the character
        4, 5 the same for the training file's entity mentions (single characters count 1), jackknifed over
             10 folds of the training sentences (each sees the other folds' mentions; dev and test all)
        6 the tag of a longest-match-first tagging by the mentions (B-TYPE, I-TYPE, O)
      and the templates OUT/*.tpl: base (the trainer's default template for one column), seg, lex, ent, gaz,
      entlex, entseg, ent2 (base plus lines reading those columns)
DATA is the corpora directory (../shared/data).
"""
import hashlib
import os
import re
import sys

SPLITS = ["train", "dev", "test"]
BASE = """%x[-2,0] %x[-1,0] %x[0,0] %x[1,0] %x[2,0] %x[-1,0]/%x[0,0] %x[0,0]/%x[1,0] %shortshape[-1,0]
%shortshape[0,0] %shortshape[1,0] %shape[0,0] %class[0,0] %suffix2[0,0] %suffix3[0,0] %suffix4[0,0]
%prefix2[0,0] %prefix3[0,0] %lower[0,0] %lower[-1,0] %lower[1,0]
%shortshape[-1,0]/%shortshape[0,0]/%shortshape[1,0]""".split()
ENT = "%x[0,4] %x[0,5] %x[0,4]/%x[0,5] %x[-1,6] %x[0,6] %x[1,6] %x[0,0]/%x[0,6]".split()
SEG = "%x[-1,1] %x[0,1] %x[1,1] %x[-1,1]/%x[0,1] %x[0,1]/%x[1,1] %x[0,0]/%x[0,1]".split()
TEMPLATES = {
    "base": [],
    "seg": SEG,
    "lex": "%x[0,2] %x[0,3] %x[0,2]/%x[0,3] %x[1,2] %x[-1,3] %x[0,0]/%x[0,2] %x[0,0]/%x[0,3]".split(),
    "ent": ENT,
    "gaz": "%x[-1,6] %x[0,6] %x[1,6] %x[0,0]/%x[0,6]".split(),
    "entlex": ENT + "%x[0,2] %x[0,3] %x[0,2]/%x[0,3]".split(),
    "entseg": ENT + "%x[-1,1] %x[0,1] %x[1,1] %x[0,0]/%x[0,1]".split(),
    "ent2": ENT + "%x[-2,6] %x[2,6] %x[-1,6]/%x[0,6] %x[0,6]/%x[1,6]".split(),
}


def read(data, split):
    """Sentences of (token as written, its text without the word position, tag)."""
    sentences, current = [], []
    for line in open(f"{data}/weibo-ner/weiboNER_2nd_conll.{split}", encoding="utf-8"):
        columns = line.split()
        if not columns:
            if current:
                sentences.append(current)
                current = []
            continue
        token, tag = columns[0], columns[-1]
        text = token[0] if token[1:].isdigit() else re.sub(r"\d+$", "", token)
        current.append((token, text, tag))
    if current:
        sentences.append(current)
    return sentences


def word_positions(segmented, sentence):
    tags = []
    for word in segmented.split():
        tags += ["S"] if len(word) == 1 else ["B"] + ["M"] * (len(word) - 2) + ["E"]
    assert "".join(segmented.split()) == "".join(t for _, t, _ in sentence), segmented
    out, offset = [], 0
    for _, text, _ in sentence:
        out.append(tags[offset])
        offset += len(text)
    return out


def longest(chars, listed, most, cap):
    starting, ending = [0] * len(chars), [0] * len(chars)
    for i in range(len(chars)):
        for length in range(1, most + 1):
            if i + length <= len(chars) and "".join(chars[i:i + length]) in listed:
                starting[i] = max(starting[i], length)
                ending[i + length - 1] = max(ending[i + length - 1], length)
    return [str(min(x, cap)) for x in starting], [str(min(x, cap)) for x in ending]


def entities(sentence):
    """(text, type) of each chunk, an I-X after O or another type opening one (conlleval's reading)."""
    found, i = [], 0
    while i < len(sentence):
        tag = sentence[i][2]
        if tag.startswith("B-") or (tag.startswith("I-") and (i == 0 or sentence[i - 1][2][2:] != tag[2:])):
            j = i + 1
            while j < len(sentence) and sentence[j][2] == "I-" + tag[2:]:
                j += 1
            found.append(("".join(t for _, t, _ in sentence[i:j]), tag[2:]))
            i = j
        else:
            i += 1
    return found


def fold(sentence):
    return int(hashlib.md5("".join(t for _, t, _ in sentence).encode()).hexdigest(), 16) % 10


def mention_lists(train):
    """The most frequent type of each mention, over all folds (key None) and without each fold."""
    counts = {}
    for sentence in train:
        for text, kind in entities(sentence):
            per_type = counts.setdefault(fold(sentence), {}).setdefault(text, {})
            per_type[kind] = per_type.get(kind, 0) + 1
    lists = {}
    for hidden in [None] + list(range(10)):
        merged = {}
        for k, mentions in counts.items():
            if k != hidden:
                for text, types in mentions.items():
                    for kind, n in types.items():
                        merged.setdefault(text, {})[kind] = merged.get(text, {}).get(kind, 0) + n
        lists[hidden] = {text: max(types, key=types.get) for text, types in merged.items()}
    return lists


def columns(data, out, jackknife):
    corpora = {split: read(data, split) for split in SPLITS}
    words = set()
    for name in ["pku", "msr"]:
        for line in open(f"{data}/icwb2/{name}_training_words.utf8", encoding="utf-8"):
            if 2 <= len(line.strip()) <= 6:
                words.add(line.strip())
    lists = mention_lists(corpora["train"])
    for split, sentences in corpora.items():
        segmented = open(f"{out}/seg.{split}", encoding="utf-8").read().split("\n")
        with open(f"{out}/{split}", "w", encoding="utf-8") as f:
            for line, sentence in zip(segmented, sentences):
                chars = [t for _, t, _ in sentence]
                positions = word_positions(line, sentence)
                word_start, word_end = longest(chars, words, 6, 4)
                mentions = lists[fold(sentence) if split == "train" and jackknife else None]
                mention_start, mention_end = longest(chars, mentions, 10, 4)
                tagged, i = ["O"] * len(chars), 0
                while i < len(chars):
                    for length in range(min(10, len(chars) - i), 0, -1):
                        kind = mentions.get("".join(chars[i:i + length]))
                        if kind:
                            tagged[i:i + length] = [f"B-{kind}"] + [f"I-{kind}"] * (length - 1)
                            i += length
                            break
                    else:
                        i += 1
                for i, (token, _, tag) in enumerate(sentence):
                    row = [token, positions[i], word_start[i], word_end[i], mention_start[i], mention_end[i]]
                    f.write("\t".join(row + [tagged[i], tag]) + "\n")
                f.write("\n")
    for name, lines in TEMPLATES.items():
        with open(f"{out}/{name}.tpl", "w", encoding="utf-8") as f:
            f.writelines(f"U{i:02}:{line}\n" for i, line in enumerate(BASE + lines))


def main(argv):
    if len(argv) < 3 or argv[0] not in ("text", "columns"):
        sys.exit(__doc__)
    command, data, out = argv[:3]
    os.makedirs(out, exist_ok=True)
    if command == "text":
        for split in SPLITS:
            with open(f"{out}/text.{split}", "w", encoding="utf-8") as f:
                f.writelines("".join(t for _, t, _ in s) + "\n" for s in read(data, split))
    else:
        columns(data, out, "--no-jackknife" not in argv[3:])


main(sys.argv[1:])

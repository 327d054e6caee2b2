"""Loads a model, reads and decodes an input, and segments it once the way MODE says; for counting
instructions under callgrind (`cargo xtask bench-python --instructions`), where the `none` run (load and
read only) is subtracted from the others.

    python python/bench/segment_once.py MODEL INPUT {none,segment,segment_lines,segment_text}

`segment_lines` calls `Model.segment` once per line, as a jieba user's loop does (each line's list is
dropped before the next call); its split of the text into lines counts as part of it.
"""

import sys
from pathlib import Path

import crf_mcu


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[3] not in ("none", "segment", "segment_lines", "segment_text"):
        print(__doc__, file=sys.stderr)
        return 2
    model = crf_mcu.Model.load(sys.argv[1])
    text = Path(sys.argv[2]).read_bytes().decode("utf-8")
    mode = sys.argv[3]
    if mode == "segment":
        model.segment(text)
    elif mode == "segment_lines":
        for line in text.split("\n"):
            model.segment(line)
    elif mode == "segment_text":
        model.segment_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

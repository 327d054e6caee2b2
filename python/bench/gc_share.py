"""How much of segmenting line by line is the caller's garbage collector: CPU time of passes of
`[model.segment(line) for line in lines]` (each pass's lists kept until the next pass replaces them, as
bench_segment.py's per-line way does) and, from `gc.callbacks`, the collections those passes run and the
time spent in them, per generation.

    python python/bench/gc_share.py --model models/default.crfm INPUT
"""

import argparse
import gc
import sys
import time
from collections import defaultdict
from pathlib import Path

import crf_mcu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--passes", type=int, default=20)
    parser.add_argument("input", type=Path, help="UTF-8 text to segment")
    args = parser.parse_args()

    model = crf_mcu.Model.load(args.model)
    lines = args.input.read_text(encoding="utf-8").split("\n")
    words = [model.segment(line) for line in lines]  # fills the model's word table before timing
    collections = defaultdict(lambda: [0, 0.0])  # generation -> [collections, seconds]
    started = [0.0]

    def on_collection(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            entry = collections[info["generation"]]
            entry[0] += 1
            entry[1] += time.process_time() - started[0]

    gc.callbacks.append(on_collection)
    begin = time.process_time()
    for _ in range(args.passes):
        words = [model.segment(line) for line in lines]
    total = time.process_time() - begin
    gc.callbacks.remove(on_collection)
    del words

    per_pass = total / args.passes
    print(f"{args.input} ({len(lines)} lines), {args.passes} passes: {per_pass * 1e3:.2f} ms CPU a pass")
    collected = 0.0
    for generation, (count, seconds) in sorted(collections.items()):
        collected += seconds
        print(f"generation {generation}: {count / args.passes:.2f} collections a pass, "
              f"{seconds / args.passes * 1e3:.2f} ms a pass")
    print(f"garbage collection: {collected / total:.1%} of the passes' CPU time")
    return 0


if __name__ == "__main__":
    sys.exit(main())

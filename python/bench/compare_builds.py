"""Compares two builds of the extension module in one process: CPU time of `Model.segment` on the same
input, the builds taking turns, best of `--rounds` (on a busy machine the turns make a busy spell slow both
alike, and the ratio is steadier than either time).

Three ways: `segment` once per line with every list kept until the pass ends (as
`[model.segment(line) for line in lines]`), once per line with each list dropped at once, and once for the
whole text. A build is an extension file, e.g. the wheel's `crf_mcu/crf_mcu.abi3.so` or cargo's
`target/python/release/libcrf_mcu.so` (`cargo build --release` in `python/`).

    python python/bench/compare_builds.py A.so B.so --model models/default.crfm INPUT
"""

import argparse
import importlib.machinery
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType


def load(path: Path) -> ModuleType:
    """The extension module at `path`, loaded under its own name beside any other build of it."""
    loader = importlib.machinery.ExtensionFileLoader("crf_mcu", str(path))
    spec = importlib.util.spec_from_file_location("crf_mcu", str(path), loader=loader)
    if spec is None:
        raise SystemExit(f"{path}: not an extension module")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="the first build (the baseline)")
    parser.add_argument("b", type=Path, help="the second build")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=20, help="turns of each build; the best counts")
    parser.add_argument("input", type=Path, help="UTF-8 text to segment")
    args = parser.parse_args()

    text = args.input.read_text(encoding="utf-8")
    lines = text.split("\n")
    models = {"A": load(args.a).Model.load(args.model), "B": load(args.b).Model.load(args.model)}
    if models["A"].segment(text) != models["B"].segment(text):
        raise SystemExit("the two builds segment the input differently")
    ways = {
        "per line, lists kept": lambda m: [m.segment(line) for line in lines],
        "per line, lists dropped": lambda m: [len(m.segment(line)) for line in lines],
        "whole text": lambda m: m.segment(text),
    }
    best = {(build, way): float("inf") for build in models for way in ways}
    for _ in range(args.rounds):
        for build, model in models.items():
            for way, work in ways.items():
                started = time.process_time()
                work(model)
                best[build, way] = min(best[build, way], time.process_time() - started)
    print(f"{args.input} ({len(lines)} lines); A {args.a}; B {args.b}; best of {args.rounds} CPU times")
    for way in ways:
        a, b = best["A", way], best["B", way]
        print(f"{way:24} A {a * 1e3:7.2f} ms  B {b * 1e3:7.2f} ms  B/A {b / a:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

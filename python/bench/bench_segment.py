"""Segments one input both ways in the same run, the Rust host path (`trainer segment`) and this package,
and prints the time ratios (Python / Rust):

- `Model.segment(text)`: the words as a list of str, one call for the whole text;
- `Model.segment` per line: one call per line, as jieba users call it;
- `Model.segment` per line, new model: the same with a model loaded afresh for each run (outside the
  time), so that nothing a model keeps from one call to the next (buffers, the str objects of the words
  it has returned) is left from the runs before: one pass over a text the model has never seen;
- `Model.segment_text(text)`: one str, as `trainer segment` writes it.

Two clocks: wall time (for Rust, `trainer segment --timing`, which leaves out process start and model
loading) and CPU time (for Rust, the child's user + system time less that of the same command on an empty
input). On a busy machine the CPU figures are the steadier ones. Each figure is the best of `--runs` runs;
the ways take turns, so that a busy spell slows all of them alike.

    python python/bench/bench_segment.py --trainer target/release/trainer --model models/default.crfm INPUT
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Tuple

import crf_mcu


def python_run(work: Callable[[], object]) -> Tuple[float, float]:
    """Wall and CPU seconds of one call of `work`."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def child_run(command: list) -> float:
    """CPU seconds (user + system) of running `command`, its output discarded."""
    with subprocess.Popen(command, stdout=subprocess.DEVNULL) as child:
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trainer", required=True, help="the trainer binary (release build)")
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=10, help="runs of each way; the best counts")
    parser.add_argument("input", type=Path, help="UTF-8 text to segment")
    args = parser.parse_args()

    model = crf_mcu.Model.load(args.model)
    data = args.input.read_bytes()
    lines = data.decode("utf-8").split("\n")
    # Reading and decoding the file is part of the Python ways, as reading it is part of the Rust one.
    ways: Dict[str, Callable[[], object]] = {
        "Model.segment(text)": lambda: model.segment(args.input.read_bytes().decode("utf-8")),
        "Model.segment per line": lambda: [model.segment(line) for line in lines],
        "Model.segment per line, new model": lambda: [fresh.segment(line) for line in lines],
        "Model.segment_text(text)": lambda: model.segment_text(args.input.read_bytes().decode("utf-8")),
    }
    best = {name: [float("inf"), float("inf")] for name in ["rust", *ways]}
    with tempfile.TemporaryDirectory() as scratch:
        timing, empty = Path(scratch) / "timing.json", Path(scratch) / "empty.txt"
        empty.write_bytes(b"")
        segment = [args.trainer, "segment", "--model", str(args.model), "--timing", str(timing)]
        empty_cpu = float("inf")
        for _ in range(args.runs):
            empty_cpu = min(empty_cpu, child_run(segment + [str(empty)]))
            cpu = child_run(segment + [str(args.input)])
            best["rust"][0] = min(best["rust"][0], json.loads(timing.read_text())["label_s"])
            best["rust"][1] = min(best["rust"][1], cpu)
            fresh = crf_mcu.Model.load(args.model)
            for name, work in ways.items():
                wall, cpu = python_run(work)
                best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
        best["rust"][1] -= empty_cpu

    print(f"input: {args.input} ({len(data)} bytes, {len(lines)} lines); model {args.model}; best of {args.runs}")
    print(f"{'':32} {'wall ms':>8} {'ratio':>6} {'CPU ms':>8} {'ratio':>6}")
    rust_wall, rust_cpu = best["rust"]
    for name, (wall, cpu) in best.items():
        label = "rust: trainer segment" if name == "rust" else f"python: {name}"
        print(f"{label:32} {wall * 1e3:8.1f} {wall / rust_wall:6.2f} {cpu * 1e3:8.1f} {cpu / rust_cpu:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

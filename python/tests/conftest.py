"""Shared fixtures: the repository's files, the corpora (when present) and the `trainer` command line,
whose output the package must reproduce."""

import os
import shlex
import subprocess
from pathlib import Path
from typing import Callable, List

import pytest

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO / "models" / "default.crfm"
#: The firmware's sample input (CRLF line endings, like the SIGHAN files).
SAMPLE_INPUT = REPO / "tests" / "data" / "sample.utf8"
#: The trainer's built-in training corpus (segmented: its spaces are separators to the segmenter).
SAMPLE_CORPUS = REPO / "trainer" / "data" / "sample.txt"


def data_dir() -> Path:
    """The corpora: CRF_DATA_DIR, else ../shared/data next to the repository (as the Rust tests)."""
    configured = os.environ.get("CRF_DATA_DIR")
    return Path(configured) if configured else REPO.parent / "shared" / "data"


def data_file(relative: str) -> Path:
    """A corpus file, or a skip that says where it was looked for."""
    path = data_dir() / relative
    if not path.is_file():
        pytest.skip(f"{path} is absent (set CRF_DATA_DIR to the corpora; see the README's Data section)")
    return path


def trainer_command() -> List[str]:
    """The `trainer` binary: CRF_TRAINER (as `cargo xtask test` sets it), else `cargo run` in the repo."""
    configured = os.environ.get("CRF_TRAINER")
    if configured:
        return shlex.split(configured)
    return ["cargo", "run", "--quiet", "--release", "--manifest-path", str(REPO / "Cargo.toml"), "-p", "trainer", "--"]


@pytest.fixture(scope="session")
def trainer() -> Callable[..., bytes]:
    """Runs `trainer ARGS...` and returns its standard output (failing the test on an error)."""

    def run(*args: str) -> bytes:
        result = subprocess.run(trainer_command() + list(args), cwd=REPO, capture_output=True, check=False)
        if result.returncode != 0:
            raise AssertionError(f"trainer {' '.join(args)} failed:\n{result.stderr.decode(errors='replace')}")
        return result.stdout

    return run

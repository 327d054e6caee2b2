"""The README examples stay true: each line `EXPRESSION  # LITERAL` of their Python blocks is evaluated
with the default model and compared with the literal."""

import ast
import os
import re

import pytest

import crf_mcu
from conftest import REPO

READMES = [REPO / "README.md", REPO / "python" / "README.md"]


def checked_lines(readme):
    """(expression, expected value) for each line of the Python blocks that shows its result."""
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)
    for block in blocks:
        for line in block.splitlines():
            code, _, comment = line.partition("  # ")
            try:
                expected = ast.literal_eval(comment.strip())
            except (ValueError, SyntaxError):
                continue
            yield code.strip(), expected


@pytest.mark.parametrize("readme", READMES, ids=lambda path: str(path.relative_to(REPO)))
def test_readme_results(readme, monkeypatch):
    monkeypatch.chdir(REPO)
    lines = list(checked_lines(readme))
    assert lines, f"{readme} shows no results to check"
    namespace = {"crf_mcu": crf_mcu, "model": crf_mcu.Model.load(os.path.join("models", "default.crfm"))}
    for code, expected in lines:
        assert eval(code, namespace) == expected, f"{readme}: {code}"

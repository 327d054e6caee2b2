"""The type stubs (crf_mcu.pyi) declare exactly what the module has: every public class, function and
constant, and every public method and attribute of its classes."""

import ast

import crf_mcu
from conftest import REPO

STUBS = ast.parse((REPO / "python" / "crf_mcu.pyi").read_text(encoding="utf-8"))


def declared(body) -> set:
    names = {node.name for node in body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    return names | {node.target.id for node in body if isinstance(node, ast.AnnAssign)}


def public(obj) -> set:
    # maturin's package re-exports the extension module, which is itself an attribute of it.
    return {name for name in dir(obj) if not name.startswith("_")} - {"crf_mcu"}


def test_the_stubs_declare_every_public_name_and_no_other():
    assert declared(STUBS.body) - {"__version__"} == public(crf_mcu)
    for node in STUBS.body:
        if isinstance(node, ast.ClassDef):
            assert declared(node.body) == public(getattr(crf_mcu, node.name)), node.name

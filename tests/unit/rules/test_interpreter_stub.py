"""The interpreter's types live in ``interpreter.pyi`` (its code is copied verbatim into every hook,
so it carries no annotations): the stub must name exactly its public functions and their parameters."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from vectortrainer.rules import interpreter


def test_the_stub_matches_the_interpreter():
    stub = ast.parse(Path(interpreter.__file__).with_suffix(".pyi").read_text(encoding="utf-8"))
    stubbed = {node.name: [a.arg for a in node.args.args] for node in stub.body if isinstance(node, ast.FunctionDef)}
    public = {
        name: list(inspect.signature(function).parameters)
        for name, function in vars(interpreter).items()
        if inspect.isfunction(function) and not name.startswith("_")
    }
    assert stubbed == public
    names = {t.id for node in stub.body if isinstance(node, ast.AnnAssign) for t in [node.target] if isinstance(t, ast.Name)}
    assert {"MAX_SCAN_CHARS", "STATS"} <= names and all(hasattr(interpreter, name) for name in names)

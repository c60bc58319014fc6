"""The application layer is the faces' only doorway (VT-17), and the checks that say so can fail.

- Every store is opened in a known place: the store package itself, the application layer's one
  opener (``Workspace.open_store``), the pipeline and the loop (and the demo seeder, which writes
  one).
- A face that imports an engine module directly breaks the import-linter contract: shown on a copy
  of the tree with one such import planted, so the contract is known to bite.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

# Calls that open a VectorWave store or wrap a dataset manager as a log source.
OPENERS = {
    "LogSource.open",
    "LogSource",
    "open_log_source",
    "open_dataset_manager",
    "LiteStoreReader",
}
# Where they may be called (paths relative to the repository root).
ALLOWED = {
    "vectortrainer/store/",  # the store package defines them
    "vectortrainer/workspace/core.py",  # the faces' one opener
    "vectortrainer/pipeline.py",
    "vectortrainer/loop.py",
    "vectortrainer/golden/extractor.py",  # wraps an injected VectorWaveDatasetManager (FR-1.5)
    "vectortrainer/demo/",  # the demo seeder writes a store and counts what landed
}
FACE_CONTRACT = "Faces reach the engine through the application layer (vectortrainer.workspace)"


def _called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return None


def _store_openings() -> list[tuple[str, int, str]]:
    found = []
    for folder in ("vectortrainer", "tui", "screens"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and _called_name(node) in OPENERS:
                    found.append((relative, node.lineno, str(_called_name(node))))
    return found


def test_stores_are_opened_only_by_the_store_the_application_layer_the_pipeline_and_the_loop() -> (
    None
):
    openings = _store_openings()
    assert len(openings) >= 5, openings  # the scan really sees the openers
    stray = [
        f"{path}:{line}: {name}"
        for path, line, name in openings
        if not any(path.startswith(allowed) for allowed in ALLOWED)
    ]
    assert not stray, "a store is opened outside the allowed places:\n" + "\n".join(stray)
    faces_side = {path for path, _, _ in openings if path.startswith("vectortrainer/workspace/")}
    assert faces_side == {"vectortrainer/workspace/core.py"}


def _lint_imports(root: Path) -> str:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--config", str(root / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    return result.stdout + result.stderr


@pytest.mark.slow
def test_a_face_importing_an_engine_module_breaks_the_contract(tmp_path: Path) -> None:
    for name in ("vectortrainer", "tui", "screens"):
        shutil.copytree(
            REPO_ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    screen = tmp_path / "screens" / "dataset.py"
    screen.write_text(
        screen.read_text(encoding="utf-8")
        + "\nfrom vectortrainer.golden.selection import select_golden  # planted\n",
        encoding="utf-8",
    )
    output = _lint_imports(tmp_path)
    assert f"{FACE_CONTRACT} BROKEN" in output, output[-3000:]
    assert "screens.dataset -> vectortrainer.golden.selection" in output, output[-3000:]

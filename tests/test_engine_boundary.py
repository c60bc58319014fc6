"""The engine never imports a UI: every module of `vectortrainer` loads without textual, streamlit or the faces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The Streamlit script is the web face itself; `__main__` runs the CLI when imported.
FACES = {"vectortrainer.web.app", "vectortrainer.__main__"}


def test_every_engine_module_imports_without_a_ui_toolkit() -> None:
    code = f"""
import importlib, pkgutil, sys
import vectortrainer
names = sorted(m.name for m in pkgutil.walk_packages(vectortrainer.__path__, "vectortrainer."))
for name in names:
    if name not in {FACES!r}:
        importlib.import_module(name)
ui = [m for m in ("textual", "streamlit", "tui", "screens") if m in sys.modules]
print(len(names), ",".join(ui))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    count, ui = result.stdout.strip().split(" ") if " " in result.stdout.strip() else (result.stdout.strip(), "")
    assert int(count) > 30  # the walk really saw the engine
    assert ui == "", f"engine modules imported a UI toolkit or face: {ui}"

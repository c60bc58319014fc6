"""The architecture holds: the import-linter contracts of pyproject.toml, checked statically, and at run time
the engine loads without a UI toolkit, every public name imports from the root, and the root stays light."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import vectortrainer
from tests.support import REPO_ROOT

# The Streamlit script is the web face itself; `__main__` runs the CLI when imported.
FACES = {"vectortrainer.web.app", "vectortrainer.__main__"}
CONTRACTS = (
    "The engine never imports a face or a UI toolkit",
    "The runtime imports the standard library only",
    "The terminal app never imports the CLI or the web face",
    "Faces reach the engine through the application layer (vectortrainer.workspace)",
    "Engine layers: each imports only the ones below it",
    "No import cycles inside a subpackage's modules",
)


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_import_linter_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")  # import-linter's own command
    result = subprocess.run([str(lint_imports), "--config", str(REPO_ROOT / "pyproject.toml"), "--no-cache"],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for name in CONTRACTS:  # every contract was really checked, none silently dropped
        assert f"{name} KEPT" in output, output[-4000:]


def test_every_engine_module_imports_without_a_ui_toolkit() -> None:
    out = _python(f"""
        import importlib, pkgutil, sys
        import vectortrainer
        names = sorted(m.name for m in pkgutil.walk_packages(vectortrainer.__path__, "vectortrainer."))
        for name in names:
            if name not in {FACES!r}:
                importlib.import_module(name)
        ui = [m for m in ("textual", "streamlit", "tui", "screens") if m in sys.modules]
        print(len(names), ",".join(ui))
    """)
    count, _, ui = out.partition(" ")
    assert int(count) > 60  # the walk really saw the engine
    assert ui == "", f"engine modules imported a UI toolkit or face: {ui}"


@pytest.mark.parametrize("name", vectortrainer.__all__)
def test_every_public_name_imports_from_the_root(name: str) -> None:
    assert getattr(vectortrainer, name) is not None
    assert name in dir(vectortrainer)


def test_the_public_api_has_the_names_the_architecture_promises() -> None:
    promised = {"epsilon_density", "select_golden", "DensityBasedExtractor", "FeedbackPair", "Rule",
                "synthesize_rules", "HookScriptGenerator", "HookVersionManager", "count_tokens_in_jsonl",
                "estimate_training_cost", "check_budget", "BudgetExceededError", "MODEL_TRAINING_PRICES",
                "BaseTrainer", "OpenAITrainer", "LocalTrainer", "TrainingPipeline", "PipelineMonitor"}
    assert promised <= set(vectortrainer.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        vectortrainer.nothing_here  # noqa: B018


def test_importing_the_root_pulls_in_nothing_heavy() -> None:
    out = _python("""
        import sys
        import vectortrainer
        heavy = ("numpy", "scipy", "vectorwave", "torch", "openai", "lancedb", "tiktoken", "textual", "streamlit")
        print(",".join(m for m in heavy if m in sys.modules), len([m for m in sys.modules if m.startswith("vectortrainer.")]))
    """)
    loaded, _, engine_modules = out.rpartition(" ")
    assert loaded == "" and engine_modules == "0", out


LINTED = ("vectortrainer", "tui", "screens")


def test_ruff_finds_nothing() -> None:
    """Line length (100), import order, unused imports, bugbear: what pyproject.toml selects."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache", *LINTED], capture_output=True,
                            text=True, cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_mypy_finds_nothing() -> None:
    """Every function typed, no Any returned where a type is declared ([tool.mypy])."""
    mypy = Path(sys.executable).with_name("mypy")
    result = subprocess.run([str(mypy), "--no-incremental", *LINTED], capture_output=True,
                            text=True, cwd=REPO_ROOT, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout

"""Shared fixtures: a real VectorWave Lite store seeded once per session by really calling
the decorated demo functions, and the loopback OpenAI stand-in (tests/openai_standin.py)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from vectortrainer.vectorwave_env import quiet_environment

quiet_environment()

pytest_plugins = [name for name in ("tests.openai_standin",) if importlib.util.find_spec(name)]


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo store seeded through real `@vectorize` calls. Treat it as read-only;
    use `seeded_store_copy` to change it."""
    from vectortrainer.demo.seed import seed_demo_store

    root = tmp_path_factory.mktemp("demo")
    report = seed_demo_store(root / "store")
    assert report.stored == report.calls > 600
    return root / "store"


@pytest.fixture
def seeded_store_copy(seeded_store: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded store for a test that writes to it."""
    target = tmp_path / "store"
    shutil.copytree(seeded_store, target)
    return target

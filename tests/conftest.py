"""Shared fixtures: a real VectorWave Lite store seeded by really calling the decorated demo
functions, the loopback provider stand-ins (tests/support/*_standin.py), and the suite's fixed date."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import pytest

from vectortrainer.store.environment import quiet_environment

quiet_environment()

pytest_plugins = [name for name in ("tests.support.openai_standin", "tests.support.together_standin",
                                    "tests.support.fireworks_standin", "tests.support.providers",
                                    "tests.support.pipelines")
                  if importlib.util.find_spec(name)]

# The providers' schedule is checked against "today": the suite runs on one fixed day, the day
# issue 14 was written (OpenAI's cutoff 36 days ahead), so its results do not change with the calendar.
# Tests that need another day set VECTORTRAINER_TODAY themselves or pass ``today=``.
SUITE_TODAY = "2026-12-01"


@pytest.fixture(autouse=True)
def _suite_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORTRAINER_TODAY", SUITE_TODAY)


def _demo_fingerprint() -> str:
    """Changes whenever the demo functions/inputs or the VectorWave version change."""
    from importlib.metadata import version

    import vectortrainer.demo.functions as demo

    source = Path(demo.__file__).read_bytes() + version("vectorwave").encode()
    return hashlib.sha256(source).hexdigest()[:16]


@pytest.fixture(scope="session")
def seeded_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo store seeded through real `@vectorize` calls (read-only; use `seeded_store_copy` to write).

    Seeding embeds 700 inputs with MiniLM. The result is kept in pytest's cache
    directory under a fingerprint of the demo code, so a second run on the same
    checkout reuses it; a fresh clone (CI) always seeds for real.
    """
    from vectortrainer.demo.functions import demo_calls
    from vectortrainer.demo.seed import seed_demo_store

    cache = getattr(request.config, "cache", None)  # absent under `-p no:cacheprovider`
    base = Path(cache.mkdir("vectortrainer-demo-store")) if cache else tmp_path_factory.mktemp("seed-cache")
    cache_root = base / _demo_fingerprint()
    store = cache_root / "store"
    if not (cache_root / "complete").exists():
        shutil.rmtree(cache_root, ignore_errors=True)
        report = seed_demo_store(store)
        assert report.stored == report.calls == len(demo_calls())
        (cache_root / "complete").write_text(str(report.stored))
    target = tmp_path_factory.mktemp("demo") / "store"
    shutil.copytree(store, target)
    return target


@pytest.fixture
def seeded_store_copy(seeded_store: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded store for a test that writes to it."""
    target = tmp_path / "store"
    shutil.copytree(seeded_store, target)
    return target

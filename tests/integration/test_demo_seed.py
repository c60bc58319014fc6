"""The demo seeder: idempotent, and `--if-empty` on a seeded store answers without importing VectorWave."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fresh_python import printed_words
from vectortrainer.demo.seed import count_stored_logs, seed_demo_store

pytestmark = pytest.mark.slow


def test_if_empty_leaves_a_seeded_store_alone_without_loading_vectorwave(seeded_store_copy: Path) -> None:
    script = (
        "import sys; from vectortrainer.demo.seed import seed_demo_store;"
        f"r = seed_demo_store({str(seeded_store_copy)!r}, if_empty=True);"
        "print(r.already_seeded, r.stored, 'vectorwave' in sys.modules)"
    )
    assert printed_words(script) == ["True", str(count_stored_logs(seeded_store_copy)), "False"]


def test_counting_a_missing_store_is_zero(tmp_path: Path) -> None:
    assert count_stored_logs(tmp_path / "nothing") == 0


def test_seeding_a_partial_store_clears_it_and_seeds_exactly_once(seeded_store_copy: Path) -> None:
    from vectortrainer.demo.functions import demo_calls
    from vectortrainer.store.environment import open_dataset_manager

    manager = open_dataset_manager(seeded_store_copy)
    collection = manager.settings.EXECUTION_COLLECTION_NAME
    removed = manager.store.delete_by_filter(collection, {"function_name": "classify_intent"})
    assert removed > 0
    report = seed_demo_store(seeded_store_copy)
    assert not report.already_seeded
    assert report.stored == report.calls == len(demo_calls()) == count_stored_logs(seeded_store_copy)

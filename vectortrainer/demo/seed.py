"""Seed a VectorWave Lite store by really calling the `@vectorize`-decorated demo functions.

VectorWave's batch writer drops whatever is still queued when the process exits,
so the seeder waits for the flush and verifies that the store holds exactly the
calls it made. Seeding is idempotent: a store that already holds the demo logs
is left alone; one holding a partial seed (a crashed run) is cleared and seeded again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.demo.feedback import write_demo_feedback
from vectortrainer.demo.functions import DEMO_FUNCTIONS, DemoCall, demo_calls
from vectortrainer.errors import StoreError
from vectortrainer.store.environment import (
    EXECUTION_COLLECTION,
    import_vectorwave,
    lance_directory,
    open_dataset_manager,
    store_exists,
)
from vectortrainer.store.source import LogReader, LogSource

SeedProgress = Callable[[int, int, str], None]
FLUSH_TIMEOUT_S = 60.0


@dataclass
class SeedReport:
    """What seeding did: the calls made, the logs stored and verified, the demo feedback written."""

    store_path: Path
    calls: int = 0
    stored: int = 0
    per_function: dict[str, int] = field(default_factory=dict)
    failed_calls: int = 0
    already_seeded: bool = False
    feedback_path: Path | None = None
    feedback_pairs: int = 0
    seconds: float = 0.0


def seed_demo_store(
    store_path: str | Path,
    *,
    feedback_path: str | Path | None = None,
    if_empty: bool = False,
    progress: SeedProgress | None = None,
) -> SeedReport:
    """Fill ``store_path`` with demo logs (and write demo feedback to ``feedback_path``).

    With ``if_empty`` a store that holds any logs at all is left as it is.
    """
    started = time.monotonic()
    notify = progress or (lambda done, total, message: None)
    calls = demo_calls()
    expected = Counter(call.function for call in calls)
    report = SeedReport(store_path=Path(store_path))

    if if_empty:
        existing_logs = count_stored_logs(store_path)
        if existing_logs:  # answered from the table itself: no VectorWave import (seconds) needed
            report.already_seeded = True
            report.stored = existing_logs
            return _finish(report, feedback_path, started)
    notify(0, len(calls), "loading VectorWave and the embedding model")
    manager = open_dataset_manager(store_path)
    source = LogSource(manager)
    existing = {s.name: s.total for s in source.list_functions()}
    if all(existing.get(name, 0) == n for name, n in expected.items()):
        report.already_seeded = True
        report.stored = sum(existing.values())
        report.per_function = dict(existing)
    else:
        _clear_partial_seed(
            manager.store.delete_by_filter, manager.settings.EXECUTION_COLLECTION_NAME, existing
        )
        report.failed_calls = _make_calls(calls, notify)
        report.calls = len(calls)
        notify(len(calls), len(calls), "waiting for VectorWave to flush its batch writer")
        report.per_function = _wait_for_flush(source, expected)
        report.stored = sum(report.per_function.values())
    notify(len(calls), len(calls), "done")
    return _finish(report, feedback_path, started)


def count_stored_logs(store_path: str | Path) -> int:
    """How many execution logs the Lite store at ``store_path`` holds (0 when there is no store)."""
    if not store_exists(store_path):
        return 0
    import lancedb  # 1.8 s to import: only reading or seeding a store needs it

    try:
        return (
            lancedb.connect(str(lance_directory(store_path)))
            .open_table(EXECUTION_COLLECTION)
            .count_rows()
        )
    except (ValueError, FileNotFoundError, OSError):
        return 0


def _finish(report: SeedReport, feedback_path: str | Path | None, started: float) -> SeedReport:
    if feedback_path is not None:
        report.feedback_path = Path(feedback_path)
        report.feedback_pairs = _write_feedback_once(report.feedback_path)
    report.seconds = time.monotonic() - started
    return report


def _clear_partial_seed(
    delete_by_filter: Callable[[str, dict[str, str]], object],
    collection: str,
    existing: dict[str, int],
) -> None:
    """Delete the demo functions' logs a crashed seed left (through the store's
    ``delete_by_filter``)."""
    for name in DEMO_FUNCTIONS:
        if existing.get(name):
            delete_by_filter(collection, {"function_name": name})


def _make_calls(calls: Sequence[DemoCall], notify: SeedProgress) -> int:
    vectorwave = import_vectorwave()
    decorate = vectorwave.vectorize(capture_inputs=True, capture_return_value=True)
    decorated = {name: decorate(func) for name, func in DEMO_FUNCTIONS.items()}
    failed = 0
    for done, call in enumerate(calls, start=1):
        try:
            decorated[call.function](**call.kwargs)
        except ValueError:
            failed += 1  # logged by VectorWave as an ERROR execution, which is the point
        if done % 25 == 0:
            notify(done, len(calls), f"calling {call.function}")
    return failed


def _wait_for_flush(source: LogReader, expected: Counter[str]) -> dict[str, int]:
    deadline = time.monotonic() + FLUSH_TIMEOUT_S
    while True:
        stored = {s.name: s.total for s in source.list_functions() if s.name in expected}
        if all(stored.get(name, 0) == n for name, n in expected.items()):
            return stored
        if (
            any(stored.get(name, 0) > n for name, n in expected.items())
            or time.monotonic() > deadline
        ):
            raise StoreError(
                f"the demo store holds {sum(stored.values())} logs "
                f"after seeding, expected {sum(expected.values())}: "
                "VectorWave did not flush every call; run the seeder again"
            )
        time.sleep(0.5)


def _write_feedback_once(path: Path) -> int:
    if path.exists():  # never overwrite a user's feedback
        with path.open(encoding="utf-8") as handle:
            return sum(1 for line in handle if line.strip())
    return write_demo_feedback(path)

"""VT-18: replayed calls (VectorWave's replayer, ``exec_source: "REPLAY"``) are no use of the function: they are
skipped and counted like logs without vectors, so golden data, the blast-radius sample and the loop's count of new
logs see only the callers' calls. The store is a real Lance table, as the Lite store writes it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vectortrainer.config import Config
from vectortrainer.feedback.from_logs import uncorrected_outputs
from vectortrainer.loop import current_counts
from vectortrainer.store.environment import EXECUTION_COLLECTION, lance_directory
from vectortrainer.store.source import SKIP_NO_VECTOR, SKIP_REPLAYED, LogSource

DIM = 8
LOGGED, REPLAYED, REPLAYED_FAILED = 12, 5, 2


def _write_store(root: Path) -> Path:
    import lancedb

    rng = np.random.default_rng(3)
    data = []
    rows = [("REALTIME", "SUCCESS")] * LOGGED + [("REPLAY", "SUCCESS")] * REPLAYED + [("REPLAY", "ERROR")] * 2
    rows.append(("REALTIME", "SUCCESS"))  # the last one has no vector
    for i, (exec_source, status) in enumerate(rows):
        payload = {"function_name": "reply", "status": status, "exec_source": exec_source,
                   "timestamp_utc": f"2026-01-01T00:00:{i:02d}Z", "ticket": f"ticket {i}",
                   "return_value": json.dumps(f"{exec_source.lower()} answer {i}") if status == "SUCCESS" else None}
        vector = [0.0] * DIM if i == len(rows) - 1 else rng.normal(size=DIM).tolist()
        data.append({"uuid": f"log-{i:03d}", "vector": vector, "payload": json.dumps(payload)})
    db = lancedb.connect(str(lance_directory(root)))
    db.create_table(EXECUTION_COLLECTION, data=data, on_bad_vectors="null")
    return root


def test_replayed_calls_are_skipped_and_counted_like_logs_without_vectors(tmp_path):
    source = LogSource.open(_write_store(tmp_path / "store"))
    logs = source.read_function("reply")
    assert logs.skipped == {SKIP_REPLAYED: REPLAYED + REPLAYED_FAILED, SKIP_NO_VECTOR: 1}
    assert logs.total == LOGGED + REPLAYED + REPLAYED_FAILED + 1
    assert len(logs.records) == logs.vectors.shape[0] == LOGGED
    assert all(str(record.output).startswith("realtime") for record in logs.records)


def test_the_blast_radius_sample_never_holds_a_replayed_output(tmp_path):
    source = LogSource.open(_write_store(tmp_path / "store"))
    sample = uncorrected_outputs(source, ["reply"], [], per_function=100)
    assert len(sample) == LOGGED and not any(output.text.startswith("replay") for output in sample)


def test_the_listing_counts_replays_and_the_loop_does_not_take_them_for_new_logs(tmp_path):
    store = _write_store(tmp_path / "store")
    [summary] = LogSource.open(store).list_functions()
    # Every count holds the store as it is; the replays are counted on their own too.
    assert summary.total == LOGGED + REPLAYED + REPLAYED_FAILED + 1 and summary.success == LOGGED + REPLAYED + 1
    assert (summary.replayed, summary.replayed_success, summary.logged_success) == (
        REPLAYED + REPLAYED_FAILED, REPLAYED, LOGGED + 1)

    config = Config().with_overrides(**{"store.path": store, "selection.function": "reply",
                                        "feedback.path": tmp_path / "feedback.jsonl"})
    assert current_counts(config, "reply") == (LOGGED + 1, 0)

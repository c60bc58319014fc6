"""A large synthetic store for scale benchmarks and tests: ``n`` logs of one function, written
through VectorWave.

Vectors are 384-d in 120 clusters of Pareto-distributed sizes (noise 0.35 / sqrt(d)
around each unit centre), 300 lone new patterns marked ANOMALY, 2% failed calls;
properties are VectorWave-shaped (function_name, status, JSON-encoded return_value,
error_message, timestamp_utc, trace_id and one property per captured argument).
Writing needs VectorWave (``store.insert_many`` on the executions collection).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import numpy as np

FUNCTION = "route_ticket"
DIM = 384


def synthetic_logs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vectors, cluster label per log, rows of the lone new patterns, failed-call mask) of ``n``
    logs."""
    rng = np.random.default_rng(seed)
    clusters = 120
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.pareto(1.5, clusters) + 1
    labels = rng.choice(clusters, size=n, p=weights / weights.sum())
    vectors = centres[labels] + 0.35 * rng.standard_normal((n, DIM), dtype=np.float32) / np.sqrt(
        DIM
    )
    lone = rng.choice(n, size=min(n, 300), replace=False)
    vectors[lone] = rng.standard_normal((len(lone), DIM), dtype=np.float32)
    failed = rng.random(n) < 0.02
    return vectors, labels, lone, failed


def fill_store(store: Path, n: int, seed: int = 0) -> float:
    """Writes ``n`` synthetic logs of :data:`FUNCTION` into the Lite store at ``store``; returns the
    seconds taken."""
    vectors, labels, lone_rows, failed = synthetic_logs(n, seed)
    statuses = np.where(failed, "ERROR", "SUCCESS").astype(object)
    statuses[np.setdiff1d(lone_rows, np.flatnonzero(failed))] = "ANOMALY"
    return write_logs(store, vectors, labels, [str(status) for status in statuses])


def write_logs(store: Path, vectors: np.ndarray, labels: np.ndarray, statuses: list[str]) -> float:
    """Writes one log of :data:`FUNCTION` per row of ``vectors`` (topic ``labels[i]``, status
    ``statuses[i]``) into the Lite store at ``store``; returns the seconds taken."""
    # writing needs VectorWave; reading does not
    from vectortrainer.store.environment import open_dataset_manager

    manager = open_dataset_manager(store)
    collection = manager.settings.EXECUTION_COLLECTION_NAME
    started = time.perf_counter()
    batch = 5000
    n = len(vectors)
    for start in range(0, n, batch):
        objects = []
        for i in range(start, min(n, start + batch)):
            failed = statuses[i] == "ERROR"
            properties = {
                "function_name": FUNCTION,
                "status": statuses[i],
                "return_value": None
                if failed
                else json.dumps({"queue": f"q{labels[i]}", "priority": int(i % 3)}),
                "error_message": "ValueError: unroutable" if failed else None,
                "timestamp_utc": f"2026-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                "trace_id": str(uuid.UUID(int=i + 1)),
                "ticket": f"ticket {i} about topic {labels[i]}",
                "customer": f"customer-{i % 997}",
            }
            objects.append({"properties": properties, "vector": vectors[i].tolist()})
        manager.store.insert_many(collection, objects)
    return time.perf_counter() - started

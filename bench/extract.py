"""Benchmark of a whole golden-data extraction on a 100,000-log Lite store (VT-1, VT-2).

Run: .venv/bin/python bench/extract.py [--logs N] [--store DIR]

Builds (once, reused when it already holds N logs) a VectorWave Lite store with N
logs of one function written through the store API (``store.insert_many`` on the
executions collection): synthetic 384-d vectors in clusters of mixed sizes, a few
hundred lone new patterns, 2% failed calls, and VectorWave-shaped properties
(function_name, status, JSON-encoded return_value, timestamp_utc, trace_id and one
property per captured argument). Then times, from opening the store to a validated
golden JSONL: open, read, density, selection, write, validate, with the peak RSS.
Target: <= 60 s. The extraction reads the store through ``LogSource.open`` (Lance
tables, no VectorWave import); only building the store imports VectorWave.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vectortrainer.store.environment import quiet_environment, store_exists  # noqa: E402

FUNCTION = "route_ticket"
DIM = 384


def fill_store(store: Path, n: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    clusters = 120
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.pareto(1.5, clusters) + 1
    labels = rng.choice(clusters, size=n, p=weights / weights.sum())
    vectors = centres[labels] + 0.35 * rng.standard_normal((n, DIM), dtype=np.float32) / np.sqrt(DIM)
    lone = rng.choice(n, size=300, replace=False)
    vectors[lone] = rng.standard_normal((len(lone), DIM), dtype=np.float32)
    failed = rng.random(n) < 0.02
    from vectortrainer.store.environment import open_dataset_manager  # writing needs VectorWave; reading does not

    manager = open_dataset_manager(store)
    collection = manager.settings.EXECUTION_COLLECTION_NAME
    started = time.perf_counter()
    batch = 5000
    for start in range(0, n, batch):
        objects = []
        for i in range(start, min(n, start + batch)):
            status = "ERROR" if failed[i] else ("ANOMALY" if i in lone else "SUCCESS")
            properties = {
                "function_name": FUNCTION,
                "status": status,
                "return_value": None if failed[i] else json.dumps({"queue": f"q{labels[i]}", "priority": int(i % 3)}),
                "error_message": "ValueError: unroutable" if failed[i] else None,
                "timestamp_utc": f"2026-01-01T00:{(i // 60) % 60:02d}:{i % 60:02d}Z",
                "trace_id": str(uuid.UUID(int=i + 1)),
                "ticket": f"ticket {i} about topic {labels[i]}",
                "customer": f"customer-{i % 997}",
            }
            objects.append({"properties": properties, "vector": vectors[i].tolist()})
        manager.store.insert_many(collection, objects)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--store", type=Path, default=None, help="store folder (default: a temp folder)")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="golden JSONL to write (default: next to the store)")
    args = parser.parse_args()
    quiet_environment()
    store = args.store or Path(tempfile.mkdtemp(prefix="vt-bench-")) / "store"
    if not store_exists(store):
        print(f"writing {args.logs} logs into {store} through store.insert_many ...", flush=True)
        print(f"  written in {fill_store(store, args.logs):.1f} s (not part of the extraction time)")

    from vectortrainer.golden.extractor import DensityBasedExtractor
    from vectortrainer.store.source import LogSource

    started = time.perf_counter()
    source = LogSource.open(store)
    opened = time.perf_counter() - started
    out = args.out or store.parent / "golden.jsonl"
    report = DensityBasedExtractor(source=source, epsilon=0.15, top_k=args.top_k).extract_golden_data(FUNCTION, out)
    total = time.perf_counter() - started
    timings = {"open": opened, **report.timings}
    print(f"{report.total_logs} logs of {FUNCTION}: {report.usable_logs} usable, skipped {report.skipped}, "
          f"excluded {report.excluded}")
    error = report.density_error
    print(f"density mode {report.density_mode}" + (f", {error.describe()}" if error is not None else ""))
    print(f"picked {report.steady} steady + {report.anomaly} anomaly from {report.clusters} dense clusters; "
          f"valid: {report.validation.ok}")
    for stage, seconds in timings.items():
        print(f"  {stage:<10} {seconds:7.2f} s")
    print(f"  {'total':<10} {total:7.2f} s   (target <= 60 s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"  peak RSS   {peak:7.0f} MiB   (vectors alone {report.total_logs * DIM * 4 / 2**20:.0f} MiB; "
          f"VectorWave imported: {'vectorwave' in sys.modules})")


if __name__ == "__main__":
    main()

"""Benchmark: how long the web companion's vector map takes to compute (FR-4.3).

``build_vector_map`` = golden selection (density) + PCA + nearest-neighbour distances
+ the point list. Synthetic 384-d logs in planted clusters; prints the median of
``--repeats`` runs per size, per part, and the share the map adds on top of the
selection itself. Run: ``.venv/bin/python bench/web_vector_map.py [--sizes 2000 20000]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from vectortrainer.workspace.projection import nearest_neighbour_distance, pca_2d
from vectortrainer.golden.selection import select_golden
from vectortrainer.store.records import FunctionLogs, LogRecord
from vectortrainer.settings import SelectionSettings
from vectortrainer.workspace.vector_map import build_vector_map


def synthetic_logs(n: int, dim: int = 384, clusters: int = 40, seed: int = 0) -> FunctionLogs:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    labels = rng.integers(0, clusters, n)
    vectors = centres[labels] + rng.normal(0, 0.35, (n, dim)).astype(np.float32)
    statuses = np.where(rng.random(n) < 0.03, "ERROR", "SUCCESS")
    records = [LogRecord(uuid=f"log-{i}", function_name="f", status=str(s), inputs={"text": f"input {i}"},
                         output=f"output {i}") for i, s in enumerate(statuses)]
    return FunctionLogs("f", records, vectors, total=n)


def median_seconds(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = SelectionSettings(epsilon=0.15, top_k=20)
    print(f"{'logs':>7} {'select s':>9} {'pca s':>7} {'nn-dist s':>10} {'map total s':>12} {'map/select':>11}")
    for n in args.sizes:
        logs = synthetic_logs(n)
        select = median_seconds(lambda: select_golden(logs.vectors, logs.statuses, settings),
                                args.repeats)
        pca = median_seconds(lambda: pca_2d(logs.vectors), args.repeats)
        nn = median_seconds(lambda: nearest_neighbour_distance(logs.vectors), args.repeats)
        total = median_seconds(lambda: build_vector_map(logs, settings), args.repeats)
        print(f"{n:>7} {select:>9.3f} {pca:>7.3f} {nn:>10.3f} {total:>12.3f} {total / select:>11.2f}")


if __name__ == "__main__":
    main()

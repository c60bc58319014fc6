"""Average linkage of micro-clusters at any count (issue 27: no cliffs).

Run: .venv/bin/python bench/linkage.py [--sizes 4000,16000,23000,60000]

Micro-clusters with the geometry of loose real-text topics (300 topics, noise 0.9 in 384
dimensions, 1-3 logs each), merged at the default threshold's level (0.3). Up to
clusters.MATRIX_LIMIT the merge runs on an m x m matrix; past it, on the graph of each
micro-cluster's best partners (`_average_linkage_on_graph`), found from every pair up to
clusters.EXACT_PARTNERS_LIMIT and through a faiss HNSW index past it. Printed: seconds for each path and
whether both give the same groups where both run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vectortrainer.golden import clusters  # noqa: E402


def micro_clusters(m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((300, 384))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    points = centres[rng.integers(0, 300, m)] + 0.9 * rng.standard_normal((m, 384)) / np.sqrt(384)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    sizes = rng.integers(1, 4, m).astype(np.float64)
    return points * sizes[:, None], sizes


def _first_member(owner: np.ndarray) -> np.ndarray:
    """Each micro-cluster's group named by its first member: equal arrays, equal groups."""
    first = np.full(owner.max() + 1, len(owner))
    np.minimum.at(first, owner, np.arange(len(owner)))
    return first[owner]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="4000,16000,23000,60000")
    parser.add_argument("--threshold", type=float, default=0.3)
    args = parser.parse_args()
    print(f"{'micro':>7} {'graph s':>8} {'matrix s':>9} {'groups':>7}  same groups")
    for m in map(int, args.sizes.split(",")):
        sums, sizes = micro_clusters(m)
        started = time.perf_counter()
        graph = clusters._average_linkage(sums, sizes, args.threshold, matrix_limit=0)
        graph_s = time.perf_counter() - started
        matrix_s, same = "", ""
        if m <= clusters.MATRIX_LIMIT:
            started = time.perf_counter()
            matrix = clusters._average_linkage(sums, sizes, args.threshold)
            matrix_s = f"{time.perf_counter() - started:.1f}"
            same = str(np.array_equal(_first_member(graph), _first_member(matrix)))
        print(f"{m:>7} {graph_s:>8.1f} {matrix_s:>9} {len(set(graph.tolist())):>7}  {same}", flush=True)


if __name__ == "__main__":
    main()

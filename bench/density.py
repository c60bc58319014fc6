"""Benchmark of the density kernels (VT-2): exact blocked kernel vs one plain X @ X.T, scaling, ANN mode.

Run: .venv/bin/python bench/density.py [--quick]

Data: synthetic 384-d float32 embeddings in clusters of mixed sizes, shuffled so
that every block holds neighbours (no block is skipped as empty). Figures are
medians of 3 runs in one process. "equiv GFLOP/s" counts 2 n^2 d, the work of one
plain product, so it compares directly with the plain X @ X.T line; the kernel does
about half of that work because it visits only the upper-triangular blocks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vectortrainer.golden.density import epsilon_density, epsilon_graph_stats  # noqa: E402

DIM = 384
EPSILON = 0.15


def embeddings(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    clusters = max(4, n // 200)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.pareto(1.5, clusters) + 1  # a few big clusters, many small ones
    labels = rng.choice(clusters, size=n, p=weights / weights.sum())
    spread = rng.uniform(0.2, 0.6, clusters).astype(np.float32)[labels, None]
    x = centres[labels] + spread * rng.standard_normal((n, DIM), dtype=np.float32) / np.sqrt(DIM)
    return x.astype(np.float32)


def timed(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args()
    ratio_n = 4000 if args.quick else 20_000
    sizes = [1000, 2000] if args.quick else [1000, 5000, 20_000, 50_000]
    ann_n = 5000 if args.quick else 50_000

    x = embeddings(ratio_n)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    epsilon_density(x[:2000], EPSILON)  # warm up BLAS threads
    plain_times, kernel_times = [], []
    for _ in range(3):  # interleaved so both see the same machine load
        started = time.perf_counter()
        gram = unit @ unit.T
        plain_times.append(time.perf_counter() - started)
        del gram
        started = time.perf_counter()
        epsilon_density(x, EPSILON)
        kernel_times.append(time.perf_counter() - started)
    plain, kernel = statistics.median(plain_times), statistics.median(kernel_times)
    print(f"n={ratio_n} x {DIM} float32, epsilon={EPSILON}, median of 3")
    print(f"  plain X @ X.T (unit rows)  {plain:8.2f} s   {2 * ratio_n**2 * DIM / plain / 1e9:7.1f} GFLOP/s")
    print(f"  epsilon_density (exact)    {kernel:8.2f} s   {2 * ratio_n**2 * DIM / kernel / 1e9:7.1f} equiv GFLOP/s")
    print(f"  ratio epsilon_density / X @ X.T = {kernel / plain:.2f}  (target <= 1.0)")

    print("\nscaling of the exact kernel (median of 3; 50k: 1 run)")
    print(f"  {'n':>7} {'seconds':>9} {'equiv GFLOP/s':>14} {'kernel GFLOP/s':>15}")
    for n in sizes:
        data = embeddings(n, seed=n)
        seconds = timed(lambda: epsilon_density(data, EPSILON), repeats=1 if n >= 50_000 else 3)
        full = 2 * n * n * DIM
        print(f"  {n:>7} {seconds:>9.2f} {full / seconds / 1e9:>14.1f} {full / 2 / seconds / 1e9:>15.1f}")

    data = embeddings(ann_n, seed=ann_n)
    started = time.perf_counter()
    exact = epsilon_graph_stats(data, EPSILON, mode="exact")
    exact_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ann = epsilon_graph_stats(data, EPSILON, mode="ann", recall_sample_size=256)
    ann_seconds = time.perf_counter() - started
    sparse = exact.neighbour_counts < (ann.max_neighbours or 0)
    agree = np.isclose(ann.density[sparse], exact.density[sparse], atol=1e-3).mean() if sparse.any() else float("nan")
    print(f"\nANN mode (faiss IVF-flat, k={ann.max_neighbours}) at n={ann_n}")
    print(f"  exact {exact_seconds:.2f} s   ann {ann_seconds:.2f} s (recall sample included)")
    print(f"  recall of neighbours (sample of {ann.recall_sample_size} rows): {ann.recall:.3f}")
    print(f"  ANN density / exact density on the sample: {ann.density_ratio:.3f} (below 1 where rows have more than k neighbours)")
    print(f"  rows with < k true neighbours: {sparse.mean():.1%}; their ANN density equals exact for {agree:.1%}")


if __name__ == "__main__":
    main()

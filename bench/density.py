"""Benchmark of the density kernels (VT-2): the exact kernel against the machine's peak, pruning at scale.

Run: .venv/bin/python bench/density.py [--quick] [--repeats 3] [--scale 100000,200000]

Part 1, in one process, interleaved so all see the same machine load (medians):
  * a 4096^3 float32 matrix product: the peak rate (2 m n k flops / s);
  * a full X @ Y.T at n x d (Y a copy of X, so BLAS cannot use symmetry);
  * X @ X.T (numpy runs it as a symmetric rank-k update: half the work);
  * the exact kernel (``epsilon_density``).
The kernel's effective rate counts n^2 d as its work (the flops of the upper
triangle it computes, 2 * n^2 d / 2), so 100% means it computes its half as fast as
the peak product; the floor is n^2 d / peak seconds.

Part 2 (``--scale``): clustered rows beyond the exact mode's size. The pruned exact
mode against the old approximation (faiss IVF top-64 neighbours, nprobe 16) and the
range-search approximation, each with its error on D against exact density on a
sample of rows (mean relative error, share of rows under-counted by more than 10%).

Data: synthetic 384-d float32 embeddings in clusters of mixed sizes, shuffled.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vectortrainer.golden.approximate import density_error  # noqa: E402
from vectortrainer.golden.density import epsilon_density, epsilon_graph_stats, similarity_threshold  # noqa: E402
from vectortrainer.golden.runners import worker_count  # noqa: E402

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


def kernel_against_peak(n: int, repeats: int, block_size: int | None) -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4096, 4096), dtype=np.float32)
    b = rng.standard_normal((4096, 4096), dtype=np.float32)
    x = embeddings(n)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    other = unit.copy()
    kwargs = {} if block_size is None else {"block_size": block_size}
    epsilon_density(x[:3000], EPSILON, **kwargs)  # compiles the epilogue, warms BLAS threads
    a @ b
    times: dict[str, list[float]] = {"peak": [], "xy": [], "xx": [], "kernel": []}
    for _ in range(repeats):
        for name, run in (("peak", lambda: a @ b), ("xy", lambda: unit @ other.T), ("xx", lambda: unit @ unit.T),
                          ("kernel", lambda: epsilon_density(x, EPSILON, **kwargs))):
            started = time.perf_counter()
            result = run()
            times[name].append(time.perf_counter() - started)
            del result
    med = {k: statistics.median(v) for k, v in times.items()}
    peak = 2 * 4096**3 / med["peak"]
    work = n * n * DIM
    print(f"n={n} x {DIM} float32, epsilon={EPSILON}, {worker_count()} workers, median of {repeats} "
          f"(interleaved, one process)")
    print(f"  4096^3 sgemm (peak)          {med['peak']:7.2f} s   {peak / 1e9:7.1f} GFLOP/s")
    print(f"  full X @ Y.T                 {med['xy']:7.2f} s   {2 * work / med['xy'] / 1e9:7.1f} GFLOP/s")
    print(f"  X @ X.T (syrk)               {med['xx']:7.2f} s   {2 * work / med['xx'] / 1e9:7.1f} GFLOP/s if counted as full")
    print(f"  kernel (epsilon_density)     {med['kernel']:7.2f} s   {work / med['kernel'] / 1e9:7.1f} GFLOP/s counting n^2 d")
    print(f"  floor n^2 d / peak           {work / peak:7.2f} s")
    print(f"  kernel effective rate = {work / med['kernel'] / peak:.0%} of peak (target >= 60%)")
    print("  all runs (s): " + "  ".join(f"{k} " + ",".join(f"{t:.2f}" for t in v) for k, v in times.items()))


def old_top64(unit: np.ndarray, threshold: float, nprobe: int = 16, k: int = 64, seed: int = 0) -> np.ndarray:
    """The density of the ANN mode before this change: faiss IVF top-k neighbours at or above the threshold."""
    import faiss

    n, dim = unit.shape
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.cp.niter = 10
    rng = np.random.default_rng(seed)
    index.train(unit[np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))])
    index.add(unit)
    index.nprobe = min(nprobe, nlist)
    density = np.zeros(n)
    for start in range(0, n, 8192):
        sims, ids = index.search(unit[start : start + 8192], k + 1)
        own = np.arange(start, start + len(sims))[:, None]
        keep = (ids >= 0) & (ids != own) & (sims >= np.float32(threshold))
        keep &= np.cumsum(keep, axis=1) <= k
        density[start : start + len(sims)] = np.where(keep, sims, 0).sum(axis=1, dtype=np.float64)
    return density


def scale(sizes: list[int], sample: int) -> None:
    threshold = similarity_threshold(EPSILON)
    print(f"\nbeyond the exact size: clustered {DIM}-d rows, epsilon={EPSILON}, error on a sample of {sample} rows")
    print(f"  {'n':>7} {'method':<28} {'seconds':>8} {'mean rel err D':>15} {'rows >10% under':>16}")
    for n in sizes:
        x = embeddings(n, seed=n)
        unit = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
        started = time.perf_counter()
        pruned = epsilon_graph_stats(x, EPSILON, mode="pruned")
        pruned_s = time.perf_counter() - started
        started = time.perf_counter()
        old = old_top64(unit, threshold)
        old_s = time.perf_counter() - started
        started = time.perf_counter()
        ann = epsilon_graph_stats(x, EPSILON, mode="ann", error_sample_size=0)
        ann_s = time.perf_counter() - started
        for name, seconds, values in (("pruned exact", pruned_s, pruned.density),
                                      ("old IVF top-64, nprobe 16", old_s, old),
                                      ("IVF range search, nprobe 64", ann_s, ann.density)):
            err = density_error(unit, threshold, values, sample, np.random.default_rng(7))
            assert err is not None
            print(f"  {n:>7} {name:<28} {seconds:>8.1f} {err.mean_relative_error:>15.2%} "
                  f"{err.undercounted_share:>16.1%}", flush=True)
        counts = pruned.neighbour_counts
        print(f"          pruned: {pruned.pair_work:.1%} of the pair work done; true neighbours per row: "
              f"median {int(np.median(counts))}, max {int(counts.max())}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block-size", type=int, default=None, help="kernel block size (default: the module's)")
    parser.add_argument("--scale", default="", help="comma-separated sizes for part 2, e.g. 100000,200000")
    parser.add_argument("--sample", type=int, default=500, help="rows sampled for the error on D")
    parser.add_argument("--skip-kernel", action="store_true", help="part 2 only")
    args = parser.parse_args()
    if not args.skip_kernel:
        kernel_against_peak(4000 if args.quick else 20_000, args.repeats, args.block_size)
    sizes = [int(s) for s in args.scale.split(",") if s] or ([20_000] if args.quick else [])
    if sizes:
        scale(sizes, args.sample)


if __name__ == "__main__":
    main()

"""Benchmark of the density kernels (VT-2): the exact kernel against the machine's peak, pruning at scale.

Run: .venv/bin/python bench/density.py [--quick] [--repeats 3] [--scale 100000,200000]
                                       [--geometry realistic|synthetic] [--epsilon auto|E]

Part 1, in one process, interleaved so all see the same machine load (medians):
  * a 4096^3 float32 matrix product: the peak rate (2 m n k flops / s);
  * a full X @ Y.T at n x d (Y a copy of X, so BLAS cannot use symmetry);
  * X @ X.T (numpy runs it as a symmetric rank-k update: half the work);
  * the exact kernel (``epsilon_density``).
The kernel's effective rate counts n^2 d as its work (the flops of the upper
triangle it computes, 2 * n^2 d / 2), so 100% means it computes its half as fast as
the peak product; the floor is n^2 d / peak seconds.

Part 2 (``--scale``): rows beyond the exact mode's size, at ``--epsilon`` (default ``auto``, the
product's). First the mode ``auto`` chooses, timed as selection runs it (both passes), with the
growth exponent between sizes; then, at the epsilon it used, the pruned exact mode against the
old approximation (faiss IVF top-64 neighbours, nprobe 16) and the range-search approximation,
each with its error on D against exact density on a sample of rows (mean relative error, share
of rows under-counted by more than 10%).

Data: part 1, synthetic 384-d float32 embeddings in clusters of mixed sizes, shuffled; part 2,
``--geometry realistic`` (default: real MiniLM embeddings of real requests, interpolated within
an intent, see ``bench/scale_realistic.py``) or ``synthetic`` (part 1's).
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def scale_rows(n: int, geometry: str) -> np.ndarray:
    """``n`` rows of ``geometry``: realistic (real MiniLM embeddings of real requests, the successful
    logs of ``bench/scale_realistic.py``) or synthetic (:func:`embeddings`)."""
    if geometry == "synthetic":
        return embeddings(n, seed=n)
    from scale_realistic import realistic_logs

    x, statuses = realistic_logs(n, seed=n)
    return np.ascontiguousarray(x[[status == "SUCCESS" for status in statuses]])


def scale(sizes: list[int], sample: int, geometry: str, epsilon: float | str) -> None:
    print(f"\nbeyond the exact size: {geometry} {DIM}-d rows, epsilon {epsilon}, error on a sample "
          f"of {sample} rows")
    print(f"  {'n':>7} {'method':<28} {'seconds':>8} {'mean rel err D':>15} {'rows >10% under':>16}")
    chosen_seconds = []
    for n in sizes:
        x = scale_rows(n, geometry)
        unit = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
        started = time.perf_counter()  # what selection runs: the mode auto picks
        chosen = epsilon_graph_stats(x, epsilon, min_samples=5, error_sample_size=0)
        chosen_seconds.append((len(x), time.perf_counter() - started))
        fixed = chosen.epsilon  # the other methods at the epsilon it used
        threshold = similarity_threshold(fixed)
        print(f"  {len(x):>7} mode auto chose {chosen.mode!r} at epsilon {fixed:.3f} "
              f"({chosen_seconds[-1][1]:.1f} s, both passes)", flush=True)
        started = time.perf_counter()
        pruned = epsilon_graph_stats(x, fixed, mode="pruned")
        pruned_s = time.perf_counter() - started
        started = time.perf_counter()
        old = old_top64(unit, threshold)
        old_s = time.perf_counter() - started
        started = time.perf_counter()
        ann = epsilon_graph_stats(x, fixed, mode="ann", error_sample_size=0)
        ann_s = time.perf_counter() - started
        for name, seconds, values in (("pruned exact", pruned_s, pruned.density),
                                      ("old IVF top-64, nprobe 16", old_s, old),
                                      ("IVF range search, nprobe 64", ann_s, ann.density)):
            err = density_error(unit, threshold, values, sample, np.random.default_rng(7))
            assert err is not None
            print(f"  {len(x):>7} {name:<28} {seconds:>8.1f} {err.mean_relative_error:>15.2%} "
                  f"{err.undercounted_share:>16.1%}", flush=True)
        counts = pruned.neighbour_counts
        print(f"          pruned: {pruned.pair_work:.1%} of the pair work done; true neighbours per "
              f"row: median {int(np.median(counts))}, max {int(counts.max())}", flush=True)
    for (n_a, a), (n_b, b) in zip(chosen_seconds, chosen_seconds[1:], strict=False):
        print(f"  growth of the chosen mode {n_a} -> {n_b}: x{b / a:.1f} for x{n_b / n_a:.1f} rows "
              f"(exponent {math.log(b / a) / math.log(n_b / n_a):.2f})")


def _epsilon(text: str) -> float | str:
    return text if text == "auto" else float(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block-size", type=int, default=None, help="kernel block size (default: the module's)")
    parser.add_argument("--scale", default="", help="comma-separated sizes for part 2, e.g. 100000,200000")
    parser.add_argument("--sample", type=int, default=500, help="rows sampled for the error on D")
    parser.add_argument("--skip-kernel", action="store_true", help="part 2 only")
    parser.add_argument("--geometry", choices=["realistic", "synthetic"], default="realistic",
                        help="part 2's rows (default: real embeddings, see bench/scale_realistic.py)")
    parser.add_argument("--epsilon", type=_epsilon, default="auto",
                        help="part 2's epsilon: auto (the product's default) or a number (0.15 "
                             "gave the synthetic figures)")
    args = parser.parse_args()
    if not args.skip_kernel:
        kernel_against_peak(4000 if args.quick else 20_000, args.repeats, args.block_size)
    sizes = [int(s) for s in args.scale.split(",") if s] or ([20_000] if args.quick else [])
    if sizes:
        scale(sizes, args.sample, args.geometry, args.epsilon)


if __name__ == "__main__":
    main()

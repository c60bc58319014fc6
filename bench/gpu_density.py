"""Exact density with its products on a GPU (``density.backend: gpu``, issue 27 item 4).

Run (on a machine with a CUDA GPU): .venv/bin/python bench/gpu_density.py [--logs 1000000]
    [--peak-tflops 67] [--device cuda]     (--device cpu: a smoke run of the same path here)

The logs have the realistic geometry of ``bench/scale_realistic.py``; the density runs in mode
``exact`` (every pair, both passes) at ``epsilon: auto``. Printed: the wall time, the products
multiplied on the device and their rate against ``--peak-tflops`` (the GPU's float32 peak;
67 TFLOP/s for an H100 SXM, 51 for an H100 PCIe), and, with ``--compare N``, the same density
on this process's threads at N logs for a ratio (the densities agree to float32 rounding).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale_realistic import realistic_logs  # noqa: E402

from vectortrainer.golden.density import epsilon_graph_stats  # noqa: E402
from vectortrainer.golden.gpu_runner import GpuRunner  # noqa: E402
from vectortrainer.golden.runners import ThreadRunner  # noqa: E402


def vectors(n: int) -> np.ndarray:
    x, statuses = realistic_logs(n, seed=n)
    return np.ascontiguousarray(x[[s == "SUCCESS" for s in statuses]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=1_000_000)
    parser.add_argument("--peak-tflops", type=float, default=67.0)
    parser.add_argument("--device", default=None, help="torch device (default: the first CUDA GPU)")
    parser.add_argument("--compare", type=int, default=0, help="also time the threads at this many logs")
    args = parser.parse_args()

    x = vectors(args.logs)
    runner = GpuRunner(args.device)
    started = time.perf_counter()
    stats = epsilon_graph_stats(x, "auto", mode="exact", min_samples=5, runner=runner)
    seconds = time.perf_counter() - started
    rate = runner.flops / seconds / 1e12
    print(f"{len(x):,} realistic logs, mode exact, epsilon {stats.epsilon:.3f}, device {runner.device}")
    print(f"  {seconds:.1f} s; {runner.products:,} products, {runner.flops / 1e12:.1f} TFLOP: "
          f"{rate:.2f} TFLOP/s = {rate / args.peak_tflops:.1%} of a {args.peak_tflops:g} TFLOP/s peak")
    if args.compare:
        small = vectors(args.compare)
        timings = {}
        for name, make in (("device", lambda: GpuRunner(args.device)), ("threads", ThreadRunner)):
            started = time.perf_counter()
            epsilon_graph_stats(small.copy(), "auto", mode="exact", min_samples=5, runner=make())
            timings[name] = time.perf_counter() - started
        print(f"  at {len(small):,} logs: device {timings['device']:.1f} s, threads {timings['threads']:.1f} s "
              f"(x{timings['threads'] / timings['device']:.2f})")


if __name__ == "__main__":
    main()

"""Benchmark of the Ray density backend against local threads, and what one more machine would change (VT-15).

Run: .venv/bin/python bench/ray_backend.py [--logs N] [--cpus C]

On N synthetic logs (``vectortrainer.demo.synthetic``: 120 clusters, lone patterns),
the pruned exact density with ``min_samples`` (both passes) is timed three ways in one
run: local threads, a local Ray of C CPUs, and one thread with every task timed. The
last splits the work into what only the driver does (k-means pieces, plans, merging)
and the task time that a cluster shares out; the estimate for k machines of C cores is
driver + task time / (k C) + the Ray overhead measured here. Densities of the three
runs are compared bit for bit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vectortrainer.demo.synthetic import synthetic_logs  # noqa: E402
from vectortrainer.golden.density import epsilon_graph_stats  # noqa: E402
from vectortrainer.golden.runners import ThreadRunner, worker_count  # noqa: E402

EPSILON = 0.15


class TimedRunner(ThreadRunner):
    """One thread; adds up the seconds spent inside the tasks."""

    def __init__(self) -> None:
        super().__init__(workers=1)
        self.task_seconds = 0.0

    def map(self, task, shared, pairs):
        def timed(*args):
            started = time.perf_counter()
            result = task(*args)
            self.task_seconds += time.perf_counter() - started
            return result

        return super().map(timed, shared, pairs)


def run(vectors: np.ndarray, runner) -> tuple[float, object]:
    started = time.perf_counter()
    stats = epsilon_graph_stats(vectors, EPSILON, mode="pruned", min_samples=5, runner=runner)
    return time.perf_counter() - started, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=200_000)
    parser.add_argument("--cpus", type=int, default=worker_count())
    args = parser.parse_args()
    vectors, *_ = synthetic_logs(args.logs)
    print(f"{args.logs} logs x {vectors.shape[1]}, epsilon {EPSILON}, pruned exact density with min_samples=5")

    local_s, local = run(vectors, ThreadRunner())
    print(f"  local threads ({worker_count()})      {local_s:8.1f} s   pair work {local.pair_work:.3f}")

    import ray

    from vectortrainer.golden.ray_runner import RayRunner

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    ray_runner = RayRunner()
    ray_s, spread = run(vectors, ray_runner)
    print(f"  Ray, local, {args.cpus} CPUs        {ray_s:8.1f} s   {ray_runner.tasks_run} Ray tasks")
    ray.shutdown()

    timed = TimedRunner()
    single_s, single = run(vectors, timed)
    driver = single_s - timed.task_seconds
    print(f"  one thread, tasks timed   {single_s:8.1f} s = driver {driver:.1f} s + tasks {timed.task_seconds:.1f} s")
    same = all(np.array_equal(a.density, b.density) and np.array_equal(a.components, b.components)
               for a, b in ((local, spread), (local, single)))
    print(f"  densities and components identical across the three: {same}")

    overhead = ray_s - (driver + timed.task_seconds / args.cpus)
    print(f"  Ray overhead over an ideal {args.cpus}-CPU split: {overhead:+.1f} s")
    for machines in (1, 2, 4):
        cores = machines * args.cpus
        estimate = driver + timed.task_seconds / cores + overhead
        print(f"  estimate, {machines} machine(s) of {args.cpus} CPUs: {estimate:8.1f} s "
              f"(x{ray_s / estimate:.2f} vs Ray on this one)")


if __name__ == "__main__":
    main()

"""Density on a local Ray cluster of 1, 2 and 4 nodes of one CPU each (issue 27, item 3).

Run: .venv/bin/python bench/ray_nodes.py [--logs 40000] [--nodes 1,2,4]

The logs have the realistic geometry of ``bench/scale_realistic.py`` (real MiniLM embeddings of
real requests, interpolated within an intent, noise 0.25) and the density runs at the defaults
selection uses (``epsilon: auto``, ``min_samples`` 5, mode ``auto``). Each cluster is a
``ray.cluster_utils.Cluster`` on this machine: every node is its own raylet with one CPU, so the
tasks of a pass spread over the nodes as they would over machines (without the network).

Printed per node count: the wall time of the density (both passes), the speed-up against one
node, and the number of Ray tasks. Then, from one more run on one local thread with every task
timed, the driver's serial share: the time the driver spends outside the tasks (pieces, floors,
plans, merging, the epsilon choice) over the whole; Amdahl's law turns it into what k machines
can give at best. Densities and components of every run are compared bit for bit.

A machine with fewer cores than nodes plus the driver runs several of them on one core: their
speed-up is capped by the cores, and the bench says so.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ray_backend import TimedRunner  # noqa: E402
from scale_realistic import realistic_logs  # noqa: E402

from vectortrainer.golden.density import epsilon_graph_stats  # noqa: E402


def density(vectors: np.ndarray, runner: object) -> tuple[float, object]:
    started = time.perf_counter()
    stats = epsilon_graph_stats(vectors, "auto", min_samples=5, runner=runner)  # type: ignore[arg-type]
    return time.perf_counter() - started, stats


def object_store_bytes(vectors: np.ndarray) -> int:
    """Each node's object store: room for a pass's shared rows several times over.

    ``Cluster`` gives a node 150 MiB unless told; 100,000 rows of 384 floats fill that alone, and
    every task's result then waits on spilling (about 2 s each). A real node's store is 30% of its
    memory.
    """
    return max(512 << 20, 4 * vectors.nbytes)


def on_cluster(vectors: np.ndarray, nodes: int) -> tuple[float, object, int, int]:
    import ray
    from ray.cluster_utils import Cluster

    from vectortrainer.golden.ray_runner import RayRunner

    store = object_store_bytes(vectors)
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "object_store_memory": store})
    for _ in range(nodes - 1):
        cluster.add_node(num_cpus=1, object_store_memory=store)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    try:
        runner = RayRunner(cluster.address)
        density(vectors[:2000].copy(), runner)  # workers started and the kernels compiled
        runner.tasks_run = runner.puts = 0
        seconds, stats = density(vectors.copy(), runner)
        return seconds, stats, runner.tasks_run, runner.puts
    finally:
        ray.shutdown()
        cluster.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=40_000)
    parser.add_argument("--nodes", default="1,2,4")
    args = parser.parse_args()
    counts = [int(n) for n in args.nodes.split(",")]
    x, statuses = realistic_logs(args.logs, seed=args.logs)
    vectors = np.ascontiguousarray(x[[s == "SUCCESS" for s in statuses]])
    cores = os.cpu_count() or 1
    print(f"{len(vectors):,} realistic logs, epsilon auto, min_samples 5, mode auto; {cores} cores here;"
          f" object store {object_store_bytes(vectors) >> 20:,} MiB per node")

    runs = {}
    for nodes in counts:
        seconds, stats, tasks, puts = on_cluster(vectors, nodes)
        runs[nodes] = (seconds, stats)
        base = runs[counts[0]][0]
        # the driver merges while the tasks run: it needs a core of its own too
        capped = "  (nodes + driver exceed the cores: capped)" if nodes + 1 > cores else ""
        print(f"  {nodes} node(s) x 1 CPU   {seconds:7.1f} s   x{base / seconds:.2f} vs {counts[0]}"
              f"   {tasks} Ray tasks, {puts} arrays put   mode {stats.mode}{capped}")  # type: ignore[attr-defined]

    timed = TimedRunner()
    single_s, single = density(vectors.copy(), timed)
    driver = single_s - timed.task_seconds
    share = driver / single_s
    print(f"  one thread, tasks timed  {single_s:7.1f} s = driver {driver:.1f} s + tasks "
          f"{timed.task_seconds:.1f} s: serial share {share:.1%}")
    for machines in (2, 4, 8, 16):
        print(f"    Amdahl: {machines} machines of one CPU at best x{1 / (share + (1 - share) / machines):.2f}")
    same = all(np.array_equal(s.density, single.density)  # type: ignore[attr-defined]
               and np.array_equal(s.components, single.components)  # type: ignore[attr-defined]
               for _, s in runs.values())
    print(f"  densities and components identical across runs: {same}")


if __name__ == "__main__":
    main()

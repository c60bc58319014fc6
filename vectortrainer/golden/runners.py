"""Who runs the density kernel's tasks: threads of this process, a Ray cluster, or a GPU.

A density pass is a list of *pairs* — positions of side a and side b (``None``: a
with itself) in one shared matrix of unit rows — and one pure task function applied
to each (:func:`graph_pair`, :func:`topk_pair`). A runner maps the function over the
pairs and yields the results **in pair order**; the caller merges them in that order,
so the threads and Ray give bit-identical densities (a GPU's products round in their own order:
the same to float32 rounding).

* :class:`ThreadRunner` (the default): one BLAS thread per task in a thread pool
  (numpy and the compiled epilogues release the GIL); memory bounded by a window of
  pending results.
* :class:`vectortrainer.golden.ray_runner.RayRunner` (``density.backend: ray``): the
  shared arrays go to Ray's object store once per pass and chunks of pairs run as Ray
  tasks on any node of the cluster.
* :class:`vectortrainer.golden.gpu_runner.GpuRunner` (``density.backend: gpu``): the exact
  passes' products on a CUDA GPU, their epilogues on threads.

Which one ``density.backend`` names: :func:`vectortrainer.golden.backends.runner_for`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from vectortrainer.golden.kernel import GraphPartial, graph_task, topk_task

Positions = slice | np.ndarray
Pair = tuple[Positions, Positions | None]
"""Positions of side a, and of side b (``None``: side a with itself), in the shared rows."""


def graph_pair(
    rows: np.ndarray,
    ids: np.ndarray,
    core: np.ndarray | None,
    threshold: float,
    link: float,
    pair: Pair,
) -> GraphPartial:
    """:func:`graph_task` on one pair of the shared ``rows`` (``ids``: their original indices)."""
    pa, pb = pair
    return graph_task(
        rows[pa],
        None if pb is None else rows[pb],
        ids[pa],
        None if pb is None else ids[pb],
        threshold,
        link,
        None if core is None else core[pa],
        None if core is None or pb is None else core[pb],
    )


def topk_pair(
    rows: np.ndarray, k: int, floors: np.ndarray, pair: Pair
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`topk_task` on one pair of the shared ``rows``, above their shared ``floors``."""
    pa, pb = pair
    return topk_task(rows[pa], None if pb is None else rows[pb], k, floors[pa],
                     None if pb is None else floors[pb])


class TaskRunner(Protocol):
    """Maps a task over pairs; ``shared`` are the task's leading arguments, the same for every
    pair."""

    name: str

    def map(
        self, task: Callable[..., Any], shared: tuple[Any, ...], pairs: Iterable[Pair]
    ) -> Iterator[Any]:
        """``task(*shared, pair)`` for each pair, yielded in pair order."""
        ...


def worker_count() -> int:
    """CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def run_tasks(
    tasks: Iterable[Callable[[], object]], *, workers: int | None = None
) -> Iterator[object]:
    """Runs ``tasks`` (callables) on ``workers`` threads, one BLAS thread each; yields results in
    task order."""
    from threadpoolctl import threadpool_limits

    workers = worker_count() if workers is None else workers
    window = 4 * workers  # results waiting to be merged: bounded memory
    with threadpool_limits(limits=1, user_api="blas"):
        if workers == 1:
            for task in tasks:
                yield task()
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending = []
            for task in tasks:
                pending.append(pool.submit(task))
                if len(pending) >= window:
                    yield pending.pop(0).result()
            for future in pending:
                yield future.result()


class ThreadRunner:
    """Tasks on threads of this process (``workers``: default, every CPU it may use)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def map(
        self, task: Callable[..., Any], shared: tuple[Any, ...], pairs: Iterable[Pair]
    ) -> Iterator[Any]:
        return run_tasks((functools.partial(task, *shared, pair) for pair in pairs),
                         workers=self.workers)

"""Density tasks on a Ray cluster (``density.backend: ray``; needs the ``[distributed]`` extra).

Per pass, the shared arrays (the unit rows in piece order, their ids and core flags)
are put in Ray's object store once; each Ray task then runs a chunk of consecutive
pairs (about :data:`CHUNK_WORK` similarity entries, tens of milliseconds on one core,
so Ray's per-task cost stays small) and returns their partial results. Chunks are
submitted a window at a time and collected in order, so the driver merges exactly
what :class:`vectortrainer.golden.runners.ThreadRunner` would, in the same order:
densities and picks are bit-identical.

Which cluster: :func:`vectortrainer.cluster.connect`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vectortrainer.cluster import connect

if TYPE_CHECKING:
    from vectortrainer.golden.runners import Pair  # backends.runner_for imports this module

CHUNK_WORK = 32 * 512 * 512  # similarity entries per Ray task: ~32 full blocks
# chunks in flight per cluster CPU: keeps every core busy, bounds memory on the driver
WINDOW_PER_CPU = 3


def _run_chunk(task: Callable[..., Any], pairs: Sequence[Pair], *shared: Any) -> list[Any]:
    """One Ray task: ``task(*shared, pair)`` for a chunk of pairs, one BLAS thread (Ray gave it one
    CPU)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return [task(*shared, pair) for pair in pairs]


def _size(positions: Any) -> int:
    return positions.stop - positions.start if isinstance(positions, slice) else len(positions)


def chunk_pairs(pairs: Iterable[Pair], work: int = CHUNK_WORK) -> list[list[Pair]]:
    """Consecutive pairs grouped until each group holds about ``work`` similarity entries."""
    chunks: list[list[Pair]] = []
    current: list[Pair] = []
    held = 0
    for pair in pairs:
        a = _size(pair[0])
        held += a * (a // 2 if pair[1] is None else _size(pair[1]))
        current.append(pair)
        if held >= work:
            chunks.append(current)
            current, held = [], 0
    if current:
        chunks.append(current)
    return chunks


class RayRunner:
    """Runs density tasks as Ray tasks; results in pair order (see the module docstring)."""

    name = "ray"

    def __init__(self, address: str | None = None, *, chunk_work: int = CHUNK_WORK) -> None:
        self.ray = connect(address)
        self.chunk_work = chunk_work
        self._remote = self.ray.remote(num_cpus=1)(_run_chunk)
        self.tasks_run = 0  # Ray tasks submitted, for reports and tests

    @property
    def cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def map(
        self, task: Callable[..., Any], shared: tuple[Any, ...], pairs: Iterable[Pair]
    ) -> Iterator[Any]:
        ray = self.ray
        # Arrays once in the object store; workers on the same node map them without a copy.
        refs = [ray.put(value) if isinstance(value, np.ndarray) else value for value in shared]
        window = WINDOW_PER_CPU * self.cpus
        pending: deque[Any] = deque()
        try:
            for chunk in chunk_pairs(pairs, self.chunk_work):
                pending.append(self._remote.remote(task, chunk, *refs))
                self.tasks_run += 1
                if len(pending) >= window:
                    yield from ray.get(pending.popleft())
            while pending:
                yield from ray.get(pending.popleft())
        finally:  # a cancel (or an error) stops here: the cluster drops what is still queued
            for ref in pending:
                ray.cancel(ref)

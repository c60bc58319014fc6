"""Density tasks on a Ray cluster (``density.backend: ray``; needs the ``[distributed]`` extra).

Per pass, the shared arrays (the unit rows in piece order, their ids and core flags)
are put in Ray's object store once, and the rows stay there for the next pass while their
content is the same (checked by a hash of their bytes); each Ray task then runs a chunk of
consecutive pairs (about :data:`CHUNK_WORK` similarity entries, tens of milliseconds on one core,
so Ray's per-task cost stays small) and returns their partial results. Chunks are
submitted a window at a time and collected in order, so the driver merges exactly
what :class:`vectortrainer.golden.runners.ThreadRunner` would, in the same order:
densities and picks are bit-identical.

Which cluster: :func:`vectortrainer.cluster.connect`.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vectortrainer.cluster import connect

if TYPE_CHECKING:
    from vectortrainer.golden.runners import Pair  # backends.runner_for imports this module

CHUNK_WORK = 32 * 512 * 512  # similarity entries per Ray task: ~32 full blocks
# Arrays of at least KEEP_BYTES stay in the object store between passes while their content is
# unchanged, the most recently used KEPT_ARRAYS of them: the rows in each of their two orders
# (store order, piece order), and room for the few other large arrays one pass puts (the angles'
# pass puts three) so that those never push the rows out.
KEEP_BYTES = 1 << 20
KEPT_ARRAYS = 8
# chunks in flight per cluster CPU: keeps every core busy, bounds memory on the driver
WINDOW_PER_CPU = 3


def _run_chunk(task: Callable[..., Any], pairs: Sequence[Pair], *shared: Any) -> list[Any]:
    """One Ray task: ``task(*shared, pair)`` for a chunk of pairs, one BLAS thread (Ray gave it one
    CPU)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return [task(*shared, pair) for pair in pairs]


def _content_key(array: np.ndarray) -> tuple[object, ...] | None:
    """What identifies ``array``'s content: shape, type and the xxh3-128 of its bytes (None
    without xxhash: every pass puts its arrays again)."""
    try:
        import xxhash
    except ImportError:
        return None
    data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return array.shape, array.dtype.str, xxhash.xxh3_128_digest(data.data)


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
        self.puts = 0  # arrays put in the object store, for reports and tests
        self._kept: OrderedDict[tuple[object, ...], Any] = OrderedDict()

    def _put(self, array: np.ndarray) -> Any:
        """``array`` in the object store: the same ref as an earlier pass's when its content is
        the same (xxh3 of its bytes), so nodes fetch the rows once per order, not once per pass."""
        key = _content_key(array) if array.nbytes >= KEEP_BYTES else None
        if key is not None and key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        ref = self.ray.put(array)
        self.puts += 1
        if key is not None:
            self._kept[key] = ref
            while len(self._kept) > KEPT_ARRAYS:  # the object store frees what no ref holds
                self._kept.popitem(last=False)
        return ref

    @property
    def cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def map(
        self, task: Callable[..., Any], shared: tuple[Any, ...], pairs: Iterable[Pair]
    ) -> Iterator[Any]:
        ray = self.ray
        # Arrays once in the object store; workers on the same node map them without a copy.
        refs = [self._put(value) if isinstance(value, np.ndarray) else value for value in shared]
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

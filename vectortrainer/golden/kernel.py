"""The exact epsilon-graph kernel: one block product per task, its epilogue fused in one compiled
pass.

A *task* is a pure function of two sets of unit rows (``a`` and ``b``, or ``a`` with
itself): it multiplies them once with BLAS and walks the similarity block once
(compiled with numba, the GIL released), returning partial results for the rows of
both sides:

* :func:`graph_task`: density and neighbour counts of each side, each side's most
  similar core neighbour on the other side, and a spanning forest of the component
  edges inside the block (at most ``len(a) + len(b) - 1`` edges, whatever the block
  holds);
* :func:`topk_task`: each side's ``k`` highest similarities on the other side.

Partial results are merged in task order (:class:`GraphAccumulator`,
:class:`TopKAccumulator`), so any runner that executes the same tasks (threads of this process, or
Ray tasks on other machines: :mod:`vectortrainer.golden.runners`) gives the same result.

Importing this module compiles nothing until a task runs; the compiled functions are
cached on disk by numba (``cache=True``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numba
import numpy as np

# ---------------------------------------------------------------------------------------------
# compiled epilogues


@numba.njit(nogil=True, cache=True)
def _find(parent: np.ndarray, x: int) -> int:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:  # path compression
        nxt = parent[x]
        parent[x] = root
        x = nxt
    return root


@numba.njit(nogil=True, cache=True)
def _graph_epilogue(  # numba compiles it for the argument types; the hints are for readers
    sims: np.ndarray, same: bool, threshold: float, link: float, use_core: bool,
    core_a: np.ndarray, core_b: np.ndarray, ids_a: np.ndarray, ids_b: np.ndarray,
    dens_a: np.ndarray, cnt_a: np.ndarray, dens_b: np.ndarray, cnt_b: np.ndarray,
    near_sim_a: np.ndarray, near_a: np.ndarray, near_sim_b: np.ndarray, near_b: np.ndarray,
    edges: np.ndarray,
) -> int:
    """One pass over ``sims`` (rows: side a, columns: side b); returns the number of forest edges.

    ``threshold`` and ``link`` are float64: each float32 similarity is compared exactly.

    With ``same`` the block is a x a and only pairs i < j are visited (both rows get the
    pair); the b arrays must then be the a arrays. Component edges join rows at or
    above ``link`` that are both core (``use_core``) or any neighbours (otherwise).
    """
    ra, rb = sims.shape
    off = 0 if same else ra
    parent = np.arange(ra + (0 if same else rb))
    n_edges = 0
    for i in range(ra):
        start = i + 1 if same else 0
        ca = core_a[i]
        for j in range(start, rb):
            s = sims[i, j]
            if s >= threshold:
                dens_a[i] += s
                cnt_a[i] += 1
                dens_b[j] += s
                cnt_b[j] += 1
                joins = s >= link
                if use_core:
                    cb = core_b[j]
                    if cb and (s > near_sim_a[i] or (s == near_sim_a[i] and ids_b[j] < near_a[i])):
                        near_sim_a[i] = s
                        near_a[i] = ids_b[j]
                    if ca and (s > near_sim_b[j] or (s == near_sim_b[j] and ids_a[i] < near_b[j])):
                        near_sim_b[j] = s
                        near_b[j] = ids_a[i]
                    joins = joins and ca and cb
                if joins:
                    x = _find(parent, i)
                    y = _find(parent, off + j)
                    if x != y:
                        parent[y] = x
                        edges[n_edges, 0] = ids_a[i]
                        edges[n_edges, 1] = ids_b[j]
                        n_edges += 1
    return n_edges


@numba.njit(nogil=True, cache=True)
def _insert(top: np.ndarray, row: int, s: float) -> None:
    k = top.shape[1]
    if s <= top[row, k - 1]:
        return
    p = k - 1
    while p > 0 and top[row, p - 1] < s:
        top[row, p] = top[row, p - 1]
        p -= 1
    top[row, p] = s


@numba.njit(nogil=True, cache=True)
def _topk_epilogue(sims: np.ndarray, same: bool, top_a: np.ndarray, top_b: np.ndarray) -> None:
    """Keeps each side's ``k`` highest similarities (rows of ``top_*`` sorted, highest first)."""
    ra, rb = sims.shape
    k = top_a.shape[1]
    # Each side's current k-th value, kept apart so that the common case (no insert) reads one
    # register and one contiguous array instead of a strided column of ``top_b``.
    floor_b = top_b[:, k - 1].copy()
    for i in range(ra):
        start = i + 1 if same else 0
        floor_a = top_a[i, k - 1]
        for j in range(start, rb):
            s = sims[i, j]
            if s > floor_a:
                _insert(top_a, i, s)
                floor_a = top_a[i, k - 1]
                if same:  # top_b is top_a: row i is also column i
                    floor_b[i] = floor_a
            if s > floor_b[j]:
                _insert(top_b, j, s)
                floor_b[j] = top_b[j, k - 1]


@numba.njit(nogil=True, cache=True)
def union_edges(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Unions each edge (a[e], b[e]) into ``parent``; the root of a component is its smallest
    index."""
    for e in range(len(a)):
        x = _find(parent, a[e])
        y = _find(parent, b[e])
        if x < y:
            parent[y] = x
        elif y < x:
            parent[x] = y


@numba.njit(nogil=True, cache=True)
def component_labels(parent: np.ndarray) -> np.ndarray:
    """Each index's root (the smallest index of its component)."""
    out = np.empty(len(parent), dtype=np.int64)
    for i in range(len(parent)):
        out[i] = _find(parent, i)
    return out


# ---------------------------------------------------------------------------------------------
# tasks (pure functions of two row sets)

_local = threading.local()


def _product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` into a buffer reused by the calling thread (no fresh pages per block)."""
    size = len(a) * len(b)
    buffer = getattr(_local, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _local.buffer = np.empty(size, dtype=np.float32)
    out = buffer[:size].reshape(len(a), len(b))
    np.matmul(a, b.T, out=out)
    return out


@dataclass
class GraphPartial:
    """What one block pair adds: per-row figures for side a and side b (b is None for a block with
    itself)."""

    dens_a: np.ndarray
    cnt_a: np.ndarray
    near_sim_a: np.ndarray
    near_a: np.ndarray
    dens_b: np.ndarray | None
    cnt_b: np.ndarray | None
    near_sim_b: np.ndarray | None
    near_b: np.ndarray | None
    edges: np.ndarray  # (m, 2) original row ids


def graph_task(
    a: np.ndarray,
    b: np.ndarray | None,
    ids_a: np.ndarray,
    ids_b: np.ndarray | None,
    threshold: float,
    link: float,
    core_a: np.ndarray | None,
    core_b: np.ndarray | None,
) -> GraphPartial:
    """Exact neighbour figures between unit rows ``a`` and ``b`` (``b=None``: ``a`` with itself,
    self excluded).

    ``ids_*`` are the rows' original indices (nearest-core ties go to the smallest,
    edges are reported in them); ``core_*`` are core flags (``None``: no core logic,
    every neighbour pair joins components and ``link`` is ignored).
    """
    return graph_from_sims(_product(a, a if b is None else b), b is None, ids_a, ids_b, threshold,
                           link, core_a, core_b)


def graph_from_sims(
    sims: np.ndarray,
    same: bool,
    ids_a: np.ndarray,
    ids_b: np.ndarray | None,
    threshold: float,
    link: float,
    core_a: np.ndarray | None,
    core_b: np.ndarray | None,
) -> GraphPartial:
    """:func:`graph_task` from the pair's similarities ``sims`` (float32, side a by side b;
    ``same``: a with itself), however they were multiplied."""
    if same:
        ids_b, core_b = ids_a, core_a
    assert ids_b is not None
    use_core = core_a is not None
    if not use_core:
        link = threshold  # without core logic every neighbour pair joins components
    ra, rb = sims.shape
    ca = core_a if core_a is not None else np.zeros(ra, dtype=bool)
    cb = core_b if core_b is not None else np.zeros(rb, dtype=bool)
    dens_a = np.zeros(ra)
    cnt_a = np.zeros(ra, dtype=np.int64)
    near_sim_a = np.full(ra, -np.inf, dtype=np.float32)
    near_a = np.full(ra, -1, dtype=np.int64)
    if same:
        dens_b, cnt_b, near_sim_b, near_b = dens_a, cnt_a, near_sim_a, near_a
    else:
        dens_b = np.zeros(rb)
        cnt_b = np.zeros(rb, dtype=np.int64)
        near_sim_b = np.full(rb, -np.inf, dtype=np.float32)
        near_b = np.full(rb, -1, dtype=np.int64)
    edges = np.empty((max(1, ra + (0 if same else rb)), 2), dtype=np.int64)
    m = _graph_epilogue(sims, same, np.float64(threshold), np.float64(link), use_core, ca, cb,
                        np.asarray(ids_a, dtype=np.int64), np.asarray(ids_b, dtype=np.int64),
                        dens_a, cnt_a, dens_b, cnt_b, near_sim_a, near_a, near_sim_b, near_b, edges)
    if same:
        return GraphPartial(dens_a, cnt_a, near_sim_a, near_a, None, None, None, None, edges[:m])
    return GraphPartial(
        dens_a, cnt_a, near_sim_a, near_a, dens_b, cnt_b, near_sim_b, near_b, edges[:m]
    )


def topk_task(
    a: np.ndarray, b: np.ndarray | None, k: int,
    floor_a: np.ndarray | None = None, floor_b: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Each row's ``k`` highest similarities to the other side (``b=None``: ``a`` with itself, self
    excluded), or its floor where fewer are above it.

    A floor must be at most the row's k-th similarity over all rows (a k-th similarity over some
    of them will do): a value below it can never be among the row's final ``k``, so the
    epilogue skips it with one comparison instead of an insertion (about 3x faster)."""
    return topk_from_sims(_product(a, a if b is None else b), b is None, k, floor_a, floor_b)


def topk_from_sims(
    sims: np.ndarray, same: bool, k: int,
    floor_a: np.ndarray | None = None, floor_b: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`topk_task` from the pair's similarities ``sims``, however they were multiplied."""
    top_a = _floored(sims.shape[0], k, floor_a)
    top_b = top_a if same else _floored(sims.shape[1], k, floor_b)
    _topk_epilogue(sims, same, top_a, top_b)
    return top_a, (None if same else top_b)


def _floored(rows: int, k: int, floor: np.ndarray | None) -> np.ndarray:
    if floor is None:
        return np.full((rows, k), -np.inf, dtype=np.float32)
    return np.repeat(np.asarray(floor, dtype=np.float32)[:, None], k, axis=1)


# ---------------------------------------------------------------------------------------------
# merging, in task order (on the driver: compiled, so that it stays a small serial share)


@numba.njit(nogil=True, cache=True)
def _merge_side(  # numba compiles it for the argument types; the hints are for readers
    density: np.ndarray, counts: np.ndarray, best_sim: np.ndarray, best: np.ndarray,
    pos: np.ndarray, dens: np.ndarray, cnt: np.ndarray, near_sim: np.ndarray, near: np.ndarray,
) -> None:
    """Adds one side of a task to the per-row sums and keeps each row's nearest core (the more
    similar; on a tie, a found one before none, then the smaller id)."""
    for r in range(len(pos)):
        row = pos[r]
        density[row] += dens[r]
        counts[row] += cnt[r]
        s, c = near_sim[r], near[r]
        old_s, old = best_sim[row], best[row]
        if s > old_s or (s == old_s and c >= 0 and (old < 0 or c < old)):
            best_sim[row] = s
            best[row] = c


@numba.njit(nogil=True, cache=True)
def _merge_topk(top: np.ndarray, pos: np.ndarray, new: np.ndarray) -> None:
    """Merges a task's per-row top values (sorted, highest first) into ``top[pos]``."""
    k = top.shape[1]
    for r in range(len(pos)):
        row = pos[r]
        for j in range(new.shape[1]):
            s = new[r, j]
            if s <= top[row, k - 1]:
                break  # the rest of the row are no higher
            _insert(top, row, s)


class GraphAccumulator:
    """Sums partial graph results into per-row arrays (positions ``0..n-1``) and one component
    forest."""

    def __init__(self, n: int, n_ids: int, with_core: bool) -> None:
        self.density = np.zeros(n)
        self.counts = np.zeros(n, dtype=np.int64)
        self.with_core = with_core
        self.near_sim = np.full(n, -np.inf, dtype=np.float32)
        self.near = np.full(n, -1, dtype=np.int64)
        self.parent = np.arange(n_ids, dtype=np.int64)

    def add(self, pos_a: np.ndarray, pos_b: np.ndarray | None, part: GraphPartial) -> None:
        self._side(pos_a, part.dens_a, part.cnt_a, part.near_sim_a, part.near_a)
        if pos_b is not None:
            assert part.dens_b is not None and part.cnt_b is not None
            self._side(pos_b, part.dens_b, part.cnt_b, part.near_sim_b, part.near_b)
        if len(part.edges):
            union_edges(self.parent, part.edges[:, 0], part.edges[:, 1])

    def _side(
        self, pos: np.ndarray, dens: np.ndarray, cnt: np.ndarray, near_sim: np.ndarray | None,
        near: np.ndarray | None,
    ) -> None:
        if self.with_core and near_sim is not None and near is not None:
            _merge_side(self.density, self.counts, self.near_sim, self.near, pos, dens, cnt,
                        near_sim, near)
        else:
            self.density[pos] += dens
            self.counts[pos] += cnt

    def components(self) -> np.ndarray:
        labels: np.ndarray = component_labels(self.parent)
        return labels


class TopKAccumulator:
    """Each row's ``k`` highest similarities over all tasks."""

    def __init__(self, n: int, k: int) -> None:
        self.top = np.full((n, k), -np.inf, dtype=np.float32)
        self.k = k

    def add(self, pos: np.ndarray, top: np.ndarray) -> None:
        _merge_topk(self.top, pos, top)

    def kth(self) -> np.ndarray:
        return self.top[:, self.k - 1].astype(np.float64)

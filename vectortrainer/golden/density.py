"""Epsilon-graph density of execution logs in embedding space (FR-1.1, FR-1.2, VT-2).

Each log is a node; the weight of edge (i, j) is the cosine similarity of their
vectors, and j is a neighbour of i when that similarity is at least ``1 - epsilon``.
The density of log i is ``D(L_i) = sum of W_ij over its neighbours j != i``.

Two kernels compute it:

* **exact** (default up to :data:`EXACT_MODE_LIMIT` rows): rows are normalised once
  to float32 unit vectors; the similarity matrix is visited in square blocks of
  ``block_size`` rows, only on and above the diagonal (the matrix is symmetric, so
  each off-diagonal block adds its row sums to one side and its column sums to the
  other), with one BLAS matrix product per block. Memory is bounded by one block;
  no n x n matrix is ever held. The same pass counts neighbours and merges
  connected components of the epsilon-graph (used by ``vectortrainer.selection``).
* **ann** (above that size, or on request): an inverted-file index of faiss
  (``IndexIVFFlat``, inner product on unit vectors) returns each row's
  ``max_neighbours`` most similar rows; those at or above the threshold are its
  neighbours. Density is then summed over at most ``max_neighbours`` neighbours, so
  it is exact for sparse rows (the ones anomaly detection ranks) and saturates for
  rows inside very dense clusters. The result carries the measured recall of the
  index against exact search on a random sample of rows.

A similarity that falls short of the threshold by less than
:data:`SIMILARITY_TOLERANCE` counts as a neighbour, so pairs that sit exactly on
the boundary are not lost to float32 rounding. Zero vectors have no direction:
they get density 0, no neighbours, and a component of their own. Vectors holding
NaN or infinity are refused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from vectortrainer.config import epsilon_problem
from vectortrainer.errors import ConfigError, DataFormatError
from vectortrainer.golden.epsilon import DEFAULT_MIN_SAMPLES, EpsilonChoice, choose_epsilon, given_epsilon

DEFAULT_BLOCK_SIZE = 2048
EXACT_MODE_LIMIT = 60_000
DEFAULT_MAX_NEIGHBOURS = 64
SIMILARITY_TOLERANCE = 1e-6

Progress = Callable[[int, int], None]
"""``progress(done, total)`` in units of work (blocks or query batches)."""


@dataclass(frozen=True)
class DensityResult:
    """Density of every row plus what selection needs from the same pass.

    ``components`` labels connected components of the epsilon-graph (each label is
    the smallest row index in its component); with ``min_samples``, only edges between
    two core rows join components, so non-core rows (bridges) never chain them. ``recall`` and ``density_ratio`` are
    set in ANN mode only: the share of true neighbours (up to ``max_neighbours`` per
    row) that the index found, and sum of ANN density / sum of exact density, both on
    a random sample of ``recall_sample_size`` rows.
    """

    density: np.ndarray
    neighbour_counts: np.ndarray
    components: np.ndarray
    epsilon: float
    epsilon_choice: EpsilonChoice
    # With ``min_samples``: each row's similarity to its min_samples-th nearest neighbour,
    # whether it is a core row, and its most similar core neighbour within epsilon (-1: none).
    kth_similarity: np.ndarray | None
    core: np.ndarray | None
    nearest_core: np.ndarray | None
    mode: Literal["exact", "ann"]
    seconds: float
    max_neighbours: int | None = None
    recall: float | None = None
    density_ratio: float | None = None
    recall_sample_size: int = 0


def similarity_threshold(epsilon: float) -> float:
    """The smallest similarity that still counts as a neighbour for ``epsilon``."""
    check_epsilon(epsilon)
    return 1.0 - float(epsilon) - SIMILARITY_TOLERANCE


def check_epsilon(epsilon: float) -> None:
    """Refuse an epsilon outside (0, 2] (the same rule as ``selection.epsilon`` in the config)."""
    problem = epsilon_problem(epsilon)
    if problem:
        raise ConfigError(f"epsilon={epsilon!r}: {problem}")


def unit_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows scaled to unit length as float32, and a mask of rows that were non-zero."""
    array = np.asarray(vectors)
    if array.ndim != 2:
        raise DataFormatError(f"vectors: expected a 2-D array (logs x dimensions), got shape {array.shape}")
    array = array.astype(np.float32, copy=False)
    if array.size and not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise DataFormatError(f"vectors: row {bad} holds NaN or infinity; re-embed or drop that log")
    norms = np.linalg.norm(array, axis=1)
    nonzero = norms > 0
    unit = np.zeros_like(array)
    np.divide(array, norms[:, None], out=unit, where=nonzero[:, None])
    return unit, nonzero


def epsilon_density(vectors: np.ndarray, epsilon: float, *, block_size: int = DEFAULT_BLOCK_SIZE) -> np.ndarray:
    """D(L_i) for every row of ``vectors`` (exact, float64), self excluded (FR-1.2)."""
    return epsilon_graph_stats(vectors, epsilon, mode="exact", block_size=block_size).density


def epsilon_graph_stats(
    vectors: np.ndarray,
    epsilon: float | Literal["auto"],
    *,
    mode: Literal["auto", "exact", "ann"] = "auto",
    block_size: int = DEFAULT_BLOCK_SIZE,
    max_neighbours: int = DEFAULT_MAX_NEIGHBOURS,
    nprobe: int = 16,
    recall_sample_size: int = 256,
    seed: int = 0,
    progress: Progress | None = None,
    min_samples: int | None = None,
) -> DensityResult:
    """Density, neighbour counts and connected components of the epsilon-graph.

    With ``min_samples`` (or ``epsilon="auto"``, which implies ``DEFAULT_MIN_SAMPLES``)
    a first pass finds every row's ``min_samples``-th nearest-neighbour similarity;
    ``epsilon="auto"`` is chosen from those (:mod:`vectortrainer.golden.epsilon`); rows
    with ``min_samples`` neighbours within epsilon are *core*, components join only
    core rows, and each row's nearest core neighbour is kept (see :class:`DensityResult`).
    """
    if epsilon != "auto":
        similarity_threshold(epsilon)  # validates a given epsilon before any work
    if block_size < 1:
        raise ConfigError(f"block_size={block_size}: must be at least 1")
    if min_samples is None and epsilon == "auto":
        min_samples = DEFAULT_MIN_SAMPLES
    if min_samples is not None and min_samples < 1:
        raise ConfigError(f"min_samples={min_samples}: must be at least 1")
    started = time.perf_counter()
    unit, nonzero = unit_rows(vectors)
    n = len(unit)
    if mode == "auto":
        mode = "exact" if n <= EXACT_MODE_LIMIT else "ann"
    if mode not in ("exact", "ann"):
        raise ConfigError(f"density mode {mode!r}: expected 'auto', 'exact' or 'ann'")
    live = np.flatnonzero(nonzero)
    sub = np.ascontiguousarray(unit[live])
    phases = _Phases(progress, 2 if min_samples is not None else 1)
    ann = None
    kth = None
    if mode == "ann" and len(live) > 1:
        ann = _ann_search(sub, max(max_neighbours, min_samples or 0), nprobe, seed, phases.next())
    if min_samples is not None:
        kth = np.full(n, -np.inf)
        if len(live) > 1:
            kth[live] = (_kth_from_ann(*ann, min_samples) if ann is not None
                         else _kth_exact(sub, min_samples, block_size, phases.next()))
    choice = choose_epsilon(kth[live], min_samples) if epsilon == "auto" else given_epsilon(float(epsilon))
    threshold = similarity_threshold(choice.epsilon)
    core = None if kth is None else kth >= threshold
    # Core logs join one micro-cluster when they are at least this alike (the auto choice's upper cut).
    link = max(threshold, (choice.link_similarity or 0.0) - SIMILARITY_TOLERANCE)

    density = np.zeros(n, dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    components = np.arange(n, dtype=np.int64)
    nearest_core = np.full(n, -1, dtype=np.int64) if core is not None else None
    extra: dict = {}
    if len(live) > 1:
        sub_core = None if core is None else core[live]
        if mode == "exact":
            d, c, comp, near = _exact_pass(sub, threshold, block_size, phases.next(), sub_core, link)
        else:
            assert ann is not None
            d, c, comp, near, extra = _ann_graph(sub, *ann, threshold, max_neighbours, recall_sample_size, seed,
                                                 sub_core, link)
        density[live] = d
        counts[live] = c
        components[live] = live[comp]  # component label = smallest original row index
        if nearest_core is not None and near is not None:
            nearest_core[live] = np.where(near >= 0, live[np.maximum(near, 0)], -1)
    return DensityResult(
        density=density,
        neighbour_counts=counts,
        components=components,
        epsilon=choice.epsilon,
        epsilon_choice=choice,
        kth_similarity=kth,
        core=core,
        nearest_core=nearest_core,
        mode=mode,
        seconds=time.perf_counter() - started,
        max_neighbours=max_neighbours if mode == "ann" else None,
        **extra,
    )


class _Phases:
    """Reports several passes as one progress: pass ``i`` of ``count`` covers its share of the bar."""

    def __init__(self, progress: Progress | None, count: int) -> None:
        self.progress = progress
        self.count = count
        self.index = -1

    def next(self) -> Progress | None:
        self.index += 1
        if self.progress is None:
            return None
        index, count, report = self.index, self.count, self.progress
        return lambda done, total: report(index * total + done, count * total)


def _kth_exact(unit: np.ndarray, k: int, block_size: int, progress: Progress | None) -> np.ndarray:
    """Each row's similarity to its ``k``-th most similar other row (-inf with fewer than ``k`` others).

    The same upper-triangle blocks as the density pass (each block updates both sides),
    keeping a running top-``k`` per row.
    """
    n = len(unit)
    k = max(1, k)
    top = np.full((n, k), -np.inf, dtype=np.float32)
    block = min(block_size, n)
    starts = range(0, n, block)
    total = len(starts) * (len(starts) + 1) // 2
    done = 0
    for i0 in starts:
        i1 = min(n, i0 + block)
        for j0 in range(i0, n, block):
            j1 = min(n, j0 + block)
            sims = unit[i0:i1] @ unit[j0:j1].T
            if i0 == j0:
                np.fill_diagonal(sims, -np.inf)  # a log is not its own neighbour
            top[i0:i1] = _top_k(np.concatenate([top[i0:i1], sims], axis=1), k)
            if i0 != j0:
                top[j0:j1] = _top_k(np.concatenate([top[j0:j1], sims.T], axis=1), k)
            done += 1
            if progress:
                progress(done, total)
    return np.min(top, axis=1).astype(np.float64)


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    if values.shape[1] <= k:
        return values
    return -np.partition(-values, k - 1, axis=1)[:, :k]


def _kth_from_ann(sims: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """The ``k``-th neighbour similarity from ANN lists (self excluded; -inf when a row found fewer)."""
    own = np.arange(len(ids))[:, None]
    others = np.where((ids >= 0) & (ids != own), sims, -np.inf)
    others = -np.sort(-others, axis=1)
    if others.shape[1] < k:
        return np.full(len(ids), -np.inf)
    return others[:, k - 1].astype(np.float64)


def _exact_pass(
    unit: np.ndarray, threshold: float, block_size: int, progress: Progress | None, core: np.ndarray | None = None,
    link: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    n = len(unit)
    density = np.zeros(n, dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    roots = np.arange(n, dtype=np.int64)
    nearest = _NearestCore(n, core) if core is not None else None
    block = min(block_size, n)
    sims_buffer = np.empty(block * block, dtype=np.float32)
    mask_buffer = np.empty(block * block, dtype=bool)
    starts = range(0, n, block)
    total = len(starts) * (len(starts) + 1) // 2
    done = 0
    for i0 in starts:
        i1 = min(n, i0 + block)
        rows = unit[i0:i1]
        for j0 in range(i0, n, block):
            j1 = min(n, j0 + block)
            shape = (i1 - i0, j1 - j0)
            sims = sims_buffer[: shape[0] * shape[1]].reshape(shape)
            mask = mask_buffer[: shape[0] * shape[1]].reshape(shape)
            np.matmul(rows, unit[j0:j1].T, out=sims)
            np.greater_equal(sims, threshold, out=mask)
            if i0 == j0:
                np.fill_diagonal(mask, False)  # a log is not its own neighbour
            done += 1
            if not mask.any():
                if progress:
                    progress(done, total)
                continue
            np.multiply(sims, mask, out=sims)
            density[i0:i1] += sims.sum(axis=1)
            counts[i0:i1] += np.count_nonzero(mask, axis=1)
            if i0 != j0:
                density[j0:j1] += sims.sum(axis=0)
                counts[j0:j1] += np.count_nonzero(mask, axis=0)
            if nearest is not None:
                nearest.update(sims, mask, i0, j0)
                mask &= core[i0:i1, None] & core[None, j0:j1]
                if link is not None and link > threshold:
                    mask &= sims >= link
            roots = _merge_block_edges(roots, mask, i0, j0)
            if progress:
                progress(done, total)
    return density, counts, roots, nearest.best if nearest is not None else None


class _NearestCore:
    """Each row's most similar core neighbour seen so far, updated block by block (symmetric)."""

    def __init__(self, n: int, core: np.ndarray) -> None:
        self.core = core
        self.best = np.full(n, -1, dtype=np.int64)
        self.best_sim = np.full(n, -np.inf, dtype=np.float32)

    def update(self, sims: np.ndarray, mask: np.ndarray, i0: int, j0: int) -> None:
        rows, cols = sims.shape
        self._take(np.where(mask & self.core[None, j0 : j0 + cols], sims, -np.inf), i0, j0)
        if i0 != j0:
            self._take(np.where(mask & self.core[i0 : i0 + rows, None], sims, -np.inf).T, j0, i0)

    def _take(self, sims: np.ndarray, r0: int, c0: int) -> None:
        col = np.argmax(sims, axis=1)
        value = sims[np.arange(len(sims)), col]
        better = value > self.best_sim[r0 : r0 + len(sims)]
        idx = np.flatnonzero(better)
        self.best_sim[r0 + idx] = value[idx]
        self.best[r0 + idx] = c0 + col[idx]


def _merge_block_edges(roots: np.ndarray, mask: np.ndarray, i0: int, j0: int) -> np.ndarray:
    """Union the components joined by the edges in ``mask``; returns updated root labels.

    Only edges between rows whose components still differ are extracted, so once a
    dense cluster has merged its blocks cost one comparison pass, not an edge list.
    """
    from scipy.sparse import coo_matrix  # 0.2-0.4 s to import: the app loads this module before it paints
    from scipy.sparse.csgraph import connected_components

    row_roots = roots[i0 : i0 + mask.shape[0]]
    col_roots = roots[j0 : j0 + mask.shape[1]]
    crossing = mask & (row_roots[:, None] != col_roots[None, :])
    if not crossing.any():
        return roots
    r, c = np.nonzero(crossing)
    a, b = row_roots[r], col_roots[c]
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    m = len(a)
    graph = coo_matrix((np.ones(m, dtype=np.int8), (inverse[:m], inverse[m:])), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, labels, nodes)
    lookup = np.arange(len(roots), dtype=np.int64)
    lookup[nodes] = smallest[labels]
    return lookup[roots]


def _ann_search(
    unit: np.ndarray, max_neighbours: int, nprobe: int, seed: int, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``max_neighbours + 1`` most similar rows (self usually first), through a faiss IVF index."""
    import faiss  # imported here: only the ANN mode needs it

    n, dim = unit.shape
    k = min(max_neighbours + 1, n)  # +1: a row usually finds itself first
    # faiss wants about 39 training points per list; ~4 sqrt(n) lists keeps lists short.
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    # A coarse quantiser only routes queries: a short k-means on a sample is enough
    # (faiss defaults to 25 iterations, most of the ANN time on 2 cores).
    index.cp.niter = 10
    rng = np.random.default_rng(seed)
    train_rows = np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))
    index.train(unit[train_rows])
    index.add(unit)
    index.nprobe = min(nprobe, nlist)

    batch = 8192
    sims = np.empty((n, k), dtype=np.float32)
    ids = np.empty((n, k), dtype=np.int64)
    total = math.ceil(n / batch)
    for step, start in enumerate(range(0, n, batch), 1):
        sims[start : start + batch], ids[start : start + batch] = index.search(unit[start : start + batch], k)
        if progress:
            progress(step, total)
    return sims, ids


def _ann_graph(
    unit: np.ndarray,
    sims: np.ndarray,
    ids: np.ndarray,
    threshold: float,
    max_neighbours: int,
    recall_sample_size: int,
    seed: int,
    core: np.ndarray | None = None,
    link: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, dict]:
    """Density, counts, components (and nearest cores) from the ANN neighbour lists at ``threshold``."""
    n = len(unit)
    rng = np.random.default_rng(seed)
    own = np.arange(n)[:, None]
    keep = (ids >= 0) & (ids != own) & (sims >= threshold)
    # A row that did not find itself (exact duplicates tie with it) still has k
    # hits; cap every row at max_neighbours so all rows are treated alike.
    keep &= np.cumsum(keep, axis=1) <= max_neighbours
    rows = np.broadcast_to(own, ids.shape)[keep]
    cols = ids[keep]
    weights = sims[keep].astype(np.float64)
    from scipy.sparse import csr_matrix  # see _merge_block_edges
    from scipy.sparse.csgraph import connected_components

    graph = csr_matrix((weights, (rows, cols)), shape=(n, n))
    density = np.asarray(graph.sum(axis=1)).ravel()
    counts = np.diff(graph.indptr).astype(np.int64)
    nearest = None
    component_graph = graph
    if core is not None:
        hit = core[cols]
        # Each row's hits come sorted by similarity: its first core hit is its nearest core.
        hit_rows, first = np.unique(rows[hit], return_index=True)
        nearest = np.full(n, -1, dtype=np.int64)
        nearest[hit_rows] = cols[hit][first]
        both = hit & core[rows] & (weights >= (link if link is not None else threshold))
        component_graph = csr_matrix((weights[both], (rows[both], cols[both])), shape=(n, n))
    _, labels = connected_components(component_graph, directed=False)
    smallest = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n))
    recall, ratio, sampled = _measure_recall(unit, threshold, max_neighbours, graph, density, recall_sample_size, rng)
    extra = {"recall": recall, "density_ratio": ratio, "recall_sample_size": sampled}
    return density, counts, smallest[labels], nearest, extra


def _measure_recall(
    unit: np.ndarray,
    threshold: float,
    max_neighbours: int,
    graph: Any,  # scipy.sparse.csr_matrix
    ann_density: np.ndarray,
    sample_size: int,
    rng: np.random.Generator,
) -> tuple[float | None, float | None, int]:
    """Recall of the ANN neighbour lists against exact search on sampled rows."""
    n = len(unit)
    if sample_size <= 0:
        return None, None, 0
    sample = np.sort(rng.choice(n, size=min(n, sample_size), replace=False))
    truth_total = found_total = 0
    exact_density_total = 0.0
    for start in range(0, len(sample), 64):
        chunk = sample[start : start + 64]
        sims = unit[chunk] @ unit.T
        sims[np.arange(len(chunk)), chunk] = -np.inf
        for row, row_sims in zip(chunk, sims):
            true_ids = np.flatnonzero(row_sims >= threshold)
            exact_density_total += float(row_sims[true_ids].sum(dtype=np.float64))
            if len(true_ids) > max_neighbours:
                true_ids = true_ids[np.argsort(-row_sims[true_ids], kind="stable")[:max_neighbours]]
            found = graph.indices[graph.indptr[row] : graph.indptr[row + 1]]
            truth_total += len(true_ids)
            found_total += len(np.intersect1d(true_ids, found, assume_unique=True))
    recall = found_total / truth_total if truth_total else 1.0
    ann_total = float(ann_density[sample].sum())
    ratio = ann_total / exact_density_total if exact_density_total else 1.0
    return recall, ratio, len(sample)

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
    the smallest row index in its component). ``recall`` and ``density_ratio`` are
    set in ANN mode only: the share of true neighbours (up to ``max_neighbours`` per
    row) that the index found, and sum of ANN density / sum of exact density, both on
    a random sample of ``recall_sample_size`` rows.
    """

    density: np.ndarray
    neighbour_counts: np.ndarray
    components: np.ndarray
    epsilon: float
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
    epsilon: float,
    *,
    mode: Literal["auto", "exact", "ann"] = "auto",
    block_size: int = DEFAULT_BLOCK_SIZE,
    max_neighbours: int = DEFAULT_MAX_NEIGHBOURS,
    nprobe: int = 16,
    recall_sample_size: int = 256,
    seed: int = 0,
    progress: Progress | None = None,
) -> DensityResult:
    """Density, neighbour counts and connected components of the epsilon-graph."""
    threshold = similarity_threshold(epsilon)
    if block_size < 1:
        raise ConfigError(f"block_size={block_size}: must be at least 1")
    started = time.perf_counter()
    unit, nonzero = unit_rows(vectors)
    n = len(unit)
    if mode == "auto":
        mode = "exact" if n <= EXACT_MODE_LIMIT else "ann"
    if mode not in ("exact", "ann"):
        raise ConfigError(f"density mode {mode!r}: expected 'auto', 'exact' or 'ann'")

    density = np.zeros(n, dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    components = np.arange(n, dtype=np.int64)
    live = np.flatnonzero(nonzero)
    extra: dict = {}
    if len(live) > 1:
        sub = np.ascontiguousarray(unit[live])
        if mode == "exact":
            d, c, comp = _exact_pass(sub, threshold, block_size, progress)
        else:
            d, c, comp, extra = _ann_pass(sub, threshold, max_neighbours, nprobe, recall_sample_size, seed, progress)
        density[live] = d
        counts[live] = c
        components[live] = live[comp]  # component label = smallest original row index
    return DensityResult(
        density=density,
        neighbour_counts=counts,
        components=components,
        epsilon=float(epsilon),
        mode=mode,
        seconds=time.perf_counter() - started,
        max_neighbours=max_neighbours if mode == "ann" else None,
        **extra,
    )


def _exact_pass(
    unit: np.ndarray, threshold: float, block_size: int, progress: Progress | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(unit)
    density = np.zeros(n, dtype=np.float64)
    counts = np.zeros(n, dtype=np.int64)
    roots = np.arange(n, dtype=np.int64)
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
            roots = _merge_block_edges(roots, mask, i0, j0)
            if progress:
                progress(done, total)
    return density, counts, roots


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


def _ann_pass(
    unit: np.ndarray,
    threshold: float,
    max_neighbours: int,
    nprobe: int,
    recall_sample_size: int,
    seed: int,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
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
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n))
    recall, ratio, sampled = _measure_recall(unit, threshold, max_neighbours, graph, density, recall_sample_size, rng)
    extra = {"recall": recall, "density_ratio": ratio, "recall_sample_size": sampled}
    return density, counts, smallest[labels], extra


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

"""Dense clusters that do not chain: core logs grouped by average linkage, the fringe attached, the
rest alone.

Connected components of the epsilon-graph merge two topics through a few bridge
logs (single-link chaining). Here clusters are built in three steps instead:

1. **Micro-clusters**: connected components of *core* logs only (logs with
   ``min_samples`` neighbours within epsilon, see :mod:`vectortrainer.golden.epsilon`);
   a bridge log is rarely core, so it cannot join two topics.
2. **Average linkage** (UPGMA) over the micro-clusters: the two clusters whose logs
   are most alike *on average* merge first, while that mean similarity stays at or
   above ``cluster_similarity``. On unit vectors the mean pairwise similarity of two
   groups is the dot product of their means, so every merge is exact from the groups'
   vector sums and sizes, without an n x n matrix.
3. **Fringe**: a non-core log with a core neighbour within epsilon joins that
   neighbour's cluster (it belongs to the topic, but is never its centre and never a
   new pattern); every other log is outside all clusters.

``cluster_similarity`` defaults to a margin above the *background* similarity of the
data, the mean similarity of two logs drawn at random (computed exactly from the sum
of the vectors): ``B + CLUSTER_MARGIN * (1 - B)``. Two groups stay apart unless their
logs are clearly more alike than any two logs are. The margin (7% of the way from the
background to identical) was calibrated on the labelled MiniLM ticket sets of
``tests/support/realistic_tickets.py``: at the background itself topics that share
words merge (refunds and deliveries), at much more than 7% one topic splits by phrasing.
Clusters with fewer than ``min_cluster_size`` logs are not dense clusters.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

CLUSTER_MARGIN = 0.07
# Up to this many micro-clusters the merge runs on an m x m similarity matrix (float32,
# 1 GiB at the limit): one matrix product, then O(m) per merge. Above it, the merge runs on a
# graph: each micro-cluster's NEIGHBOURS most alike partners at or above the threshold, every
# similarity exact from the vector sums, O((m k + merges k) d) in all instead of O(m^2 d).
MATRIX_LIMIT = 16_384
NEIGHBOURS = 64
_ROW_CHUNK = 4096
# Past this many micro-clusters their partners come from an HNSW index (faiss), not from every
# pair: the m x m products grow as m^2 (bench/linkage.py, two cores: 23,000 in 10 s, 60,000 in
# 72 s exact and 61 s through the index, 100,000 in 114 s through the index).
EXACT_PARTNERS_LIMIT = 40_000
_PARTNER_ROWS = 1024  # rows of the m-wide similarity block taken at a time (4 MiB per 1,000)


@dataclass(frozen=True)
class DenseClusters:
    """Cluster label per row (-1: outside every dense cluster), numbered 0.. largest first."""

    labels: np.ndarray
    sizes: np.ndarray
    # rows that joined a cluster through a core neighbour (never medoids, never anomalies)
    fringe: np.ndarray
    cluster_similarity: float
    micro_clusters: int


def background_similarity(unit: np.ndarray) -> float:
    """Mean cosine similarity of two different rows of ``unit`` (unit vectors), in O(n d)."""
    n = len(unit)
    if n < 2:
        return 0.0
    total = unit.sum(axis=0, dtype=np.float64)
    return float((total @ total - n) / (n * (n - 1)))


def auto_cluster_similarity(unit: np.ndarray) -> float:
    """The default merge threshold: ``CLUSTER_MARGIN`` of the way from the background similarity to
    1."""
    background = background_similarity(unit)
    return background + CLUSTER_MARGIN * (1.0 - background)


def dense_clusters(
    unit: np.ndarray,
    core: np.ndarray,
    components: np.ndarray,
    nearest_core: np.ndarray,
    *,
    min_cluster_size: int,
    cluster_similarity: float | None = None,
) -> DenseClusters:
    """Group the rows of ``unit`` (see the module docstring); ``components`` joins core rows
    only."""
    n = len(unit)
    tau = auto_cluster_similarity(unit) if cluster_similarity is None else float(cluster_similarity)
    core_rows = np.flatnonzero(core)
    labels = np.full(n, -1, dtype=np.int64)
    if len(core_rows) == 0:
        return DenseClusters(labels, np.zeros(0, np.int64), np.zeros(0, np.int64), tau, 0)
    micro_ids, micro_of_core = np.unique(components[core_rows], return_inverse=True)
    sums = _micro_sums(unit, core_rows, micro_of_core, len(micro_ids))
    sizes = np.bincount(micro_of_core, minlength=len(micro_ids)).astype(np.float64)
    group_of_micro = _average_linkage(sums, sizes, tau, overwrite=True)
    labels[core_rows] = group_of_micro[micro_of_core]
    fringe = np.flatnonzero(~core & (nearest_core >= 0))
    labels[fringe] = labels[nearest_core[fringe]]
    # Renumber by size (largest first, ties by smallest row); drop groups too small to be dense.
    groups, first_row, counts = np.unique(
        labels[labels >= 0], return_index=True, return_counts=True
    )
    first = np.flatnonzero(labels >= 0)[first_row]
    keep = counts >= min_cluster_size
    order = np.lexsort((first[keep], -counts[keep]))
    renumber = np.full(labels.max() + 1 if len(groups) else 0, -1, dtype=np.int64)
    renumber[groups[keep][order]] = np.arange(int(keep.sum()))
    labels = np.where(labels >= 0, renumber[np.maximum(labels, 0)], -1)
    fringe = fringe[labels[fringe] >= 0]
    return DenseClusters(labels, counts[keep][order].astype(np.int64), fringe, tau, len(micro_ids))


def _micro_sums(unit: np.ndarray, core_rows: np.ndarray, micro_of_core: np.ndarray,
                count: int) -> np.ndarray:
    """Each micro-cluster's vector sum (float64): the core rows in micro-cluster order, a chunk at
    a time (no copy of every core row), each chunk's runs summed at once."""
    sums = np.zeros((count, unit.shape[1]), dtype=np.float64)
    by_micro = np.argsort(micro_of_core, kind="stable")
    for start in range(0, len(by_micro), _ROW_CHUNK):
        part = by_micro[start : start + _ROW_CHUNK]
        micro = micro_of_core[part]
        runs = np.flatnonzero(np.diff(micro, prepend=-1))
        sums[micro[runs]] += np.add.reduceat(unit[core_rows[part]].astype(np.float64), runs, axis=0)
    return sums


def _average_linkage(sums: np.ndarray, sizes: np.ndarray, threshold: float,
                     matrix_limit: int = MATRIX_LIMIT, *, overwrite: bool = False) -> np.ndarray:
    """Group index per micro-cluster after merging (UPGMA) while the best pair's mean similarity >=
    threshold (``overwrite``: ``sums`` may be used up, no copy of them)."""
    if len(sizes) <= matrix_limit:
        return _average_linkage_on_matrix(sums, sizes, threshold)
    return _average_linkage_on_graph(sums, sizes, threshold, overwrite=overwrite)


def _average_linkage_on_matrix(sums: np.ndarray, sizes: np.ndarray, threshold: float) -> np.ndarray:
    """UPGMA with the Lance-Williams update: sim(a+b, c) = (|a| sim(a, c) + |b| sim(b, c)) / (|a| +
    |b|)."""
    m = len(sizes)
    owner = np.arange(m)
    if m < 2:
        return owner
    # float32 throughout: half the memory, and the float64 product crashed (a segfault in
    # OpenBLAS 0.3.31's syrk) at 16,000 micro-clusters here
    means = (sums / sizes[:, None]).astype(np.float32)
    similarity = means @ means.T
    np.fill_diagonal(similarity, -np.inf)
    sizes = sizes.copy()
    alive = np.ones(m, dtype=bool)
    best = np.argmax(similarity, axis=1)
    best_value = similarity[np.arange(m), best]
    while True:
        a = int(np.argmax(best_value))
        if best_value[a] < threshold:
            break
        b = int(best[a])
        merged = (sizes[a] * similarity[a] + sizes[b] * similarity[b]) / (sizes[a] + sizes[b])
        merged[[a, b]] = -np.inf
        merged[~alive] = -np.inf
        similarity[a] = merged
        similarity[:, a] = merged
        similarity[b] = -np.inf
        similarity[:, b] = -np.inf
        sizes[a] += sizes[b]
        alive[b] = False
        owner[owner == b] = a
        best_value[b] = -np.inf
        # A merged cluster is never more alike to a third than the closer of its parts was,
        # so only the merged row and the rows that pointed at a or b need a new partner.
        for i in [a, *np.flatnonzero(alive & ((best == a) | (best == b))).tolist()]:
            best[i] = int(np.argmax(similarity[i]))
            best_value[i] = similarity[i, best[i]]
    return owner


def _average_linkage_on_graph(sums: np.ndarray, sizes: np.ndarray, threshold: float,
                              neighbours: int = NEIGHBOURS, *,
                              overwrite: bool = False) -> np.ndarray:
    """UPGMA over a graph of candidate pairs: at the start each micro-cluster's ``neighbours``
    most alike others at or above ``threshold``; after a merge, the union of both parts'
    partners. Every similarity is exact (the dot product of two groups' sums over their sizes).

    Two groups whose mean similarity reaches the threshold have a pair of parts that reaches it
    (a mean is never above all its terms), so the merges are UPGMA's as long as no micro-cluster
    has more than ``neighbours`` partners above the threshold; one that has merges with its best
    first and inherits the rest from them. A heap holds each group's best partner, as the matrix
    path's ``best`` does."""
    m = len(sizes)
    parent = np.arange(m)  # a merged part points at the group that took it in
    if m < 2:
        return parent
    sums = sums if overwrite else sums.copy()  # merged groups' sums are kept here
    sizes = sizes.copy()
    partners = _partners_above(_means(sums, sizes), threshold, min(neighbours, m - 1))
    # Python lists, not arrays: the loop below reads them one element at a time, millions of times
    alive = [True] * m
    version = [0] * m
    heap: list[tuple[float, int, int]] = []
    best_value = [-math.inf] * m  # each group's most alike partner's similarity

    def push_best(a: int) -> None:
        version[a] += 1
        best_value[a] = max(partners[a].values(), default=-math.inf)
        if partners[a]:
            heapq.heappush(heap, (-best_value[a], a, version[a]))

    for a in range(m):
        push_best(a)
    while heap:
        _, a, seen = heapq.heappop(heap)
        if not alive[a] or version[a] != seen:
            continue  # a's partners changed since: a newer entry stands for it
        b = max(partners[a], key=partners[a].__getitem__)
        sums[a] += sums[b]
        sizes[a] += sizes[b]
        alive[b] = False
        parent[b] = a
        others = [c for c in (partners[a].keys() | partners[b].keys()) - {a, b} if alive[c]]
        partners[a], partners[b] = {}, {}
        values = ((sums[others] @ sums[a]) / (sizes[others] * sizes[a])).tolist() if others else []
        for c, value in zip(others, values, strict=True):
            links = partners[c]
            was_best = best_value[c]
            lost = max(links.pop(a, -math.inf), links.pop(b, -math.inf))
            if value >= threshold:  # below it, no later merge of c can bring the pair above it
                links[a] = value
                partners[a][c] = value
            if lost >= was_best or value > was_best:
                push_best(c)  # c's best partner took part in the merge, or is the merge now
        push_best(a)
    for i in range(m):  # each part to its final group (a parent is always a group merged later)
        root = i
        while parent[root] != root:
            root = parent[root]
        parent[i] = root
    return parent


def _means(sums: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``sums / sizes`` in float32, a chunk at a time (no float64 copy of every sum)."""
    means = np.empty(sums.shape, dtype=np.float32)
    for start in range(0, len(sums), _ROW_CHUNK):
        part = slice(start, start + _ROW_CHUNK)
        means[part] = sums[part] / sizes[part, None]
    return means


def _partners_above(means: np.ndarray, threshold: float, most: int) -> list[dict[int, float]]:
    """For each row, its ``most`` most alike partners (both ways) whose means are at least
    ``threshold`` alike, with that similarity; rows a block at a time."""
    m = len(means)
    means = np.ascontiguousarray(means, dtype=np.float32)
    partners: list[dict[int, float]] = [{} for _ in range(m)]
    if m > EXACT_PARTNERS_LIMIT:
        return _partners_from_index(means, threshold, most, partners)
    for start in range(0, m, _PARTNER_ROWS):
        block = means[start : start + _PARTNER_ROWS] @ means.T
        rows = np.arange(len(block))
        block[rows, rows + start] = -np.inf
        hit_rows, targets, found = _best_hits(block, threshold, most)
        for i, j, value in zip((hit_rows + start).tolist(), targets.tolist(),
                               found.astype(np.float64).tolist(), strict=True):
            partners[i][j] = value
            partners[j][i] = value
    return partners


def _best_hits(block: np.ndarray, threshold: float, most: int) -> tuple[np.ndarray, ...]:
    """(row, column, value) of each row's ``most`` largest entries at or above ``threshold``.
    Loose real-text topics leave a row a few hundred such entries at most: those are sorted,
    not the whole row; a block where most entries pass is partitioned row by row instead."""
    above = block >= threshold
    if int(np.count_nonzero(above)) > 8 * most * len(block):
        columns = np.argpartition(block, block.shape[1] - most, axis=1)[:, -most:]
        values = np.take_along_axis(block, columns, axis=1)
        rows, picked = np.nonzero(values >= threshold)
        return rows, columns[rows, picked], values[rows, picked]
    rows, columns = np.nonzero(above)
    values = block[rows, columns]
    order = np.lexsort((-values, rows))
    rows, columns, values = rows[order], columns[order], values[order]
    rank = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    keep = rank < most
    return rows[keep], columns[keep], values[keep]


def _partners_from_index(means: np.ndarray, threshold: float, most: int,
                         partners: list[dict[int, float]]) -> list[dict[int, float]]:
    """:func:`_partners_above` through a faiss HNSW index on inner products (the mean pairwise
    similarity of two groups is the inner product of their means): near-linear, approximate in
    which partners a row finds, exact in the similarity of those it does."""
    import faiss  # imported here: only past EXACT_PARTNERS_LIMIT micro-clusters

    index = faiss.IndexHNSWFlat(means.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.hnsw.efSearch = 2 * most
    index.add(means)
    for start in range(0, len(means), _PARTNER_ROWS * 8):
        values, found = index.search(means[start : start + _PARTNER_ROWS * 8], most + 1)
        rows, picked = np.nonzero((values >= threshold) & (found >= 0))
        targets = found[rows, picked]
        rows = rows + start
        mine = targets != rows
        for i, j, value in zip(rows[mine].tolist(), targets[mine].tolist(),
                               values[rows[mine] - start, picked[mine]].astype(np.float64).tolist(),
                               strict=True):
            partners[i][j] = value
            partners[j][i] = value
    return partners

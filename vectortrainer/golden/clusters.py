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

from dataclasses import dataclass

import numpy as np

CLUSTER_MARGIN = 0.07
# Up to this many micro-clusters the merge runs on an m x m similarity matrix (float32,
# 1 GiB at the limit): one matrix product, then O(m) per merge. Above it, similarities
# are recomputed from the vector sums, O(m d) per row, in chunks of _ROW_CHUNK rows.
MATRIX_LIMIT = 16_384
_ROW_CHUNK = 4096


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
    sums = np.zeros((len(micro_ids), unit.shape[1]), dtype=np.float64)
    # a chunk at a time: no copy of every core row
    for start in range(0, len(core_rows), _ROW_CHUNK):
        part = slice(start, start + _ROW_CHUNK)
        np.add.at(sums, micro_of_core[part], unit[core_rows[part]])
    sizes = np.bincount(micro_of_core, minlength=len(micro_ids)).astype(np.float64)
    group_of_micro = _average_linkage(sums, sizes, tau)
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


def _average_linkage(sums: np.ndarray, sizes: np.ndarray, threshold: float,
                     matrix_limit: int = MATRIX_LIMIT) -> np.ndarray:
    """Group index per micro-cluster after merging (UPGMA) while the best pair's mean similarity >=
    threshold."""
    if len(sizes) <= matrix_limit:
        return _average_linkage_on_matrix(sums, sizes, threshold)
    return _average_linkage_from_sums(sums, sizes, threshold)


def _average_linkage_on_matrix(sums: np.ndarray, sizes: np.ndarray, threshold: float) -> np.ndarray:
    """UPGMA with the Lance-Williams update: sim(a+b, c) = (|a| sim(a, c) + |b| sim(b, c)) / (|a| +
    |b|)."""
    m = len(sizes)
    owner = np.arange(m)
    if m < 2:
        return owner
    means = sums / sizes[:, None]
    similarity = (means @ means.T).astype(np.float32)
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


def _average_linkage_from_sums(sums: np.ndarray, sizes: np.ndarray, threshold: float) -> np.ndarray:
    """The same merges without an m x m matrix: each needed row recomputed from the vector sums."""
    m = len(sizes)
    sums = sums.copy()
    sizes = sizes.copy()
    alive = np.ones(m, dtype=bool)
    owner = np.arange(m)

    def row(i: int) -> np.ndarray:
        similarity: np.ndarray = (sums @ sums[i]) / (sizes * sizes[i])
        similarity[i] = -np.inf
        similarity[~alive] = -np.inf
        return similarity

    best = np.empty(m, dtype=np.int64)
    best_value = np.empty(m)
    for start in range(0, m, _ROW_CHUNK):  # every cluster's most similar partner, a chunk at a time
        block = (sums[start : start + _ROW_CHUNK] @ sums.T) / np.outer(
            sizes[start : start + _ROW_CHUNK], sizes
        )
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        best[start : start + len(block)] = np.argmax(block, axis=1)
        best_value[start : start + len(block)] = block[
            np.arange(len(block)), best[start : start + len(block)]
        ]
    while m > 1:
        candidates = np.where(alive, best_value, -np.inf)
        a = int(np.argmax(candidates))
        if candidates[a] < threshold:
            break
        b = int(best[a])
        sums[a] += sums[b]
        sizes[a] += sizes[b]
        alive[b] = False
        owner[owner == b] = a
        best_value[b] = -np.inf
        merged = row(a)
        best[a] = int(np.argmax(merged))
        best_value[a] = merged[best[a]]
        # Average linkage never makes a merged cluster more similar to a third one than the
        # closer of its parts was, so only rows that pointed at a or b need a new partner.
        for i in np.flatnonzero(alive & ((best == a) | (best == b))):
            if i == a:
                continue
            again = row(int(i))
            best[i] = int(np.argmax(again))
            best_value[i] = again[best[i]]
        others = np.flatnonzero(alive)
        better = merged[others] > best_value[others]
        best[others[better]] = a
        best_value[others[better]] = merged[others[better]]
    return owner

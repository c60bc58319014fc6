"""Partitions of unit rows and the angular bound that skips partition pairs without a neighbour.

Rows are grouped by two levels of spherical k-means (faiss) into *pieces* of about
:data:`PIECE_ROWS` rows (never more than ``block_size``), contiguous in a permuted order. Every piece keeps its
group's centre ``c`` (a unit vector) and its own angular radius ``r`` (the largest
angle between a member and ``c``). For rows ``x`` in piece A and ``y`` in piece B the
triangle inequality on angles gives

    angle(x, y) >= angle(c_A, c_B) - r_A - r_B,

so ``cos(max(0, angle(c_A, c_B) - r_A - r_B))`` bounds every similarity of the pair.
A pair whose bound is below the neighbour threshold holds no neighbour and is
skipped: density computed on the surviving pairs is exact by construction.
:data:`ANGLE_SLACK` widens every bound against float rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ANGLE_SLACK = 1e-3  # radians added to every radius sum: float32 products are good to ~1e-6


@dataclass(frozen=True)
class Pieces:
    """``order[starts[p]:stops[p]]`` are the rows of piece ``p``; ``centres`` / ``radii`` per piece."""

    order: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    centres: np.ndarray
    radii: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return self.stops - self.starts

    def __len__(self) -> int:
        return len(self.starts)


def contiguous_pieces(n: int, block_size: int) -> Pieces:
    """Row blocks in their own order, with no bound (every pair survives): the plain exact kernel."""
    starts = np.arange(0, n, block_size, dtype=np.int64)
    stops = np.minimum(starts + block_size, n)
    return Pieces(np.arange(n, dtype=np.int64), starts, stops, np.zeros((len(starts), 0)), np.full(len(starts), np.pi))


PIECE_ROWS = 128  # the average piece the second k-means level aims at: small pieces, tight radii


def _kmeans(rows: np.ndarray, k: int, seed: int, sample: int) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (faiss) trained on up to ``sample`` rows; unit centres and each row's label."""
    import faiss

    n, dim = rows.shape
    k = max(1, min(k, n))
    if k == 1:
        centre = rows.mean(axis=0, dtype=np.float64)[None, :]
        return centre, np.zeros(n, dtype=np.int64)
    kmeans = faiss.Kmeans(dim, k, niter=8, seed=seed, spherical=True, verbose=False,
                          min_points_per_centroid=1, max_points_per_centroid=max(40, sample // k))
    rng = np.random.default_rng(seed)
    train = rows if n <= sample else rows[np.sort(rng.choice(n, size=sample, replace=False))]
    kmeans.train(np.ascontiguousarray(train))
    _, assigned = kmeans.index.search(np.ascontiguousarray(rows), 1)
    return kmeans.centroids.astype(np.float64), assigned[:, 0].astype(np.int64)


def kmeans_pieces(unit: np.ndarray, block_size: int, seed: int = 0, groups: int | None = None) -> Pieces:
    """Two levels of spherical k-means over ``unit`` rows, cut into pieces of at most ``block_size`` rows.

    The first level makes about sqrt(n) groups; the second splits each group into
    pieces of about :data:`PIECE_ROWS` rows (cheap: each group is clustered alone).
    """
    import faiss

    n, dim = unit.shape
    groups = groups or max(1, min(int(round(math.sqrt(n))), n // 40))  # faiss wants ~39 points per centre
    labels = np.empty(n, dtype=np.int64)
    centre_list: list[np.ndarray] = []
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # small k-means calls: OpenMP start-up and spinning cost more than they save
    try:
        _, top = _kmeans(unit, groups, seed, 40 * groups)
        for g in np.unique(top):
            members = np.flatnonzero(top == g)
            sub_k = max(1, int(math.ceil(len(members) / PIECE_ROWS)))
            centres, sub = _kmeans(unit[members], sub_k, seed, 40 * sub_k)
            labels[members] = len(centre_list) + sub
            centre_list.extend(centres)
    finally:
        faiss.omp_set_num_threads(threads)
    centres = np.asarray(centre_list, dtype=np.float64).reshape(-1, dim)
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    centres = np.divide(centres, norms, out=np.zeros_like(centres), where=norms > 0)
    order = np.argsort(labels, kind="stable").astype(np.int64)
    sorted_labels = labels[order]
    bounds = np.flatnonzero(np.diff(sorted_labels)) + 1
    group_starts = np.concatenate([[0], bounds]).astype(np.int64)
    group_stops = np.concatenate([bounds, [n]]).astype(np.int64)
    starts, stops, piece_group = [], [], []
    for g0, g1 in zip(group_starts, group_stops):
        for s in range(int(g0), int(g1), block_size):
            starts.append(s)
            stops.append(min(int(g1), s + block_size))
            piece_group.append(int(sorted_labels[g0]))
    starts_a = np.asarray(starts, dtype=np.int64)
    stops_a = np.asarray(stops, dtype=np.int64)
    piece_centres = centres[piece_group]
    # Angle of each row to its piece's centre, in float64.
    member_piece = np.repeat(np.arange(len(starts_a)), stops_a - starts_a)
    cos = np.einsum("ij,ij->i", unit[order].astype(np.float64), piece_centres[member_piece])
    angles = np.arccos(np.clip(cos, -1.0, 1.0))
    radii = np.maximum.reduceat(angles, starts_a) if len(starts_a) else np.zeros(0)
    return Pieces(order, starts_a, stops_a, piece_centres, radii)


def similarity_bounds(pieces: Pieces, a: int) -> np.ndarray:
    """Upper bound of the similarity between any row of piece ``a`` and any row of each piece."""
    if pieces.centres.shape[1] == 0:
        return np.full(len(pieces), np.inf)
    cos = np.clip(pieces.centres @ pieces.centres[a], -1.0, 1.0)
    gap = np.arccos(cos) - pieces.radii[a] - pieces.radii - ANGLE_SLACK
    return np.cos(np.clip(gap, 0.0, np.pi))

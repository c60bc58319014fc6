"""Partitions of unit rows and the angular bound that skips partition pairs without a neighbour.

Rows are grouped by spherical k-means (faiss) and each group is cut into *pieces* of
at most ``block_size`` rows, contiguous in a permuted order. Every piece keeps its
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


def kmeans_pieces(unit: np.ndarray, block_size: int, seed: int = 0, groups: int | None = None) -> Pieces:
    """Spherical k-means groups of ``unit`` rows, cut into pieces of at most ``block_size`` rows."""
    import faiss

    n, dim = unit.shape
    groups = groups or max(1, min(int(round(math.sqrt(n))), n // 40))  # faiss wants ~39 points per centre
    if groups > 1:
        kmeans = faiss.Kmeans(dim, groups, niter=12, seed=seed, spherical=True, verbose=False)
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, size=min(n, 48 * groups), replace=False))
        kmeans.train(np.ascontiguousarray(unit[sample]))
        _, assigned = kmeans.index.search(unit, 1)
        labels = assigned[:, 0].astype(np.int64)
        centres = kmeans.centroids.astype(np.float64)
    else:
        labels = np.zeros(n, dtype=np.int64)
        centres = unit.mean(axis=0, dtype=np.float64)[None, :]
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

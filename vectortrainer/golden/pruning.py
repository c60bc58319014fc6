"""Partitions of unit rows and the angular bound that skips partition pairs without a neighbour.

Rows are grouped by two levels of spherical k-means (faiss) into *pieces* of about
:data:`PIECE_ROWS` rows (never more than ``block_size``), contiguous in a permuted order. Every
piece keeps its group's centre ``c`` (a unit vector) and its own angular radius ``r`` (the largest
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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np

if TYPE_CHECKING:
    from vectortrainer.golden.runners import TaskRunner

ANGLE_SLACK = 1e-3  # radians added to every radius sum: float32 products are good to ~1e-6


@dataclass(frozen=True)
class Pieces:
    """``order[starts[p]:stops[p]]`` are the rows of piece ``p``; ``centres`` / ``radii`` per
    piece."""

    order: np.ndarray
    starts: np.ndarray
    stops: np.ndarray
    centres: np.ndarray
    radii: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        sizes: np.ndarray = self.stops - self.starts
        return sizes

    def __len__(self) -> int:
        return len(self.starts)


def contiguous_pieces(n: int, block_size: int) -> Pieces:
    """Row blocks in their own order, with no bound (every pair survives): the plain exact
    kernel."""
    starts = np.arange(0, n, block_size, dtype=np.int64)
    stops = np.minimum(starts + block_size, n)
    return Pieces(
        np.arange(n, dtype=np.int64),
        starts,
        stops,
        np.zeros((len(starts), 0)),
        np.full(len(starts), np.pi),
    )


PIECE_ROWS = 128  # the average piece the second k-means level aims at: small pieces, tight radii
# A member whose angle to its centre exceeds FACTOR x the median angle of its group + MARGIN
# (radians) is an outlier and joins the outlier pieces instead.
OUTLIER_FACTOR = 1.3
OUTLIER_MARGIN = 0.05


def _train(rows: np.ndarray, k: int, seed: int, sample: int) -> np.ndarray:
    """Unit centres of a spherical k-means (faiss, ``k`` at least 2) trained on up to ``sample``
    rows."""
    import faiss

    n, dim = rows.shape
    kmeans = faiss.Kmeans(dim, k, niter=8, seed=seed, spherical=True, verbose=False,
                          min_points_per_centroid=1, max_points_per_centroid=max(40, sample // k))
    rng = np.random.default_rng(seed)
    train = rows if n <= sample else rows[np.sort(rng.choice(n, size=sample, replace=False))]
    kmeans.train(np.ascontiguousarray(train))
    return np.asarray(kmeans.centroids, dtype=np.float32)  # set by train()


def _kmeans(rows: np.ndarray, k: int, seed: int, sample: int) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means trained on up to ``sample`` rows; unit centres and each row's label."""
    n = len(rows)
    k = max(1, min(k, n))
    if k == 1:
        centre = rows.mean(axis=0, dtype=np.float64)[None, :]
        return centre, np.zeros(n, dtype=np.int64)
    centres = _train(rows, k, seed, sample)
    labels = np.argmax(rows @ centres.T, axis=1).astype(np.int64)
    return centres.astype(np.float64), labels


def piece_task(unit: np.ndarray, seed: int, pair: tuple[np.ndarray, None]
               ) -> tuple[np.ndarray, np.ndarray]:
    """The second level for one first-level group (its rows ``pair[0]``): centres of pieces of
    about :data:`PIECE_ROWS` rows and each row's piece."""
    members = pair[0]
    k = max(1, math.ceil(len(members) / PIECE_ROWS))
    return _kmeans(unit[members], k, seed, 40 * k)


def kmeans_pieces(
    unit: np.ndarray, block_size: int, seed: int = 0, groups: int | None = None,
    runner: TaskRunner | None = None,
) -> Pieces:
    """Two levels of spherical k-means over ``unit`` rows, cut into pieces of at most ``block_size``
    rows.

    The first level makes about sqrt(n) groups; the second splits each group into
    pieces of about :data:`PIECE_ROWS` rows (cheap: each group is clustered alone). Training
    runs here; assigning the rows, the groups' own k-means and the angles run as tasks on
    ``runner`` (default: threads of this process).
    """
    import faiss

    from vectortrainer.golden.nearest import nearest_pieces_of
    from vectortrainer.golden.runners import ThreadRunner

    runner = runner or ThreadRunner()
    n, dim = unit.shape
    # faiss wants ~39 points per centre
    groups = max(1, min(groups or max(1, min(round(math.sqrt(n)), n // 40)), n))
    labels = np.empty(n, dtype=np.int64)
    centre_list: list[np.ndarray] = []
    threads = faiss.omp_get_max_threads()
    # small k-means calls: OpenMP start-up and spinning cost more than they save
    faiss.omp_set_num_threads(1)
    try:
        if groups > 1:
            top = nearest_pieces_of(unit, _train(unit, groups, seed, 40 * groups), 1, runner)[:, 0]
        else:
            top = np.zeros(n, dtype=np.int32)
        by_group = np.argsort(top, kind="stable")
        cuts = np.flatnonzero(np.diff(top[by_group])) + 1
        members_of = np.split(by_group, cuts) if n else []
        results = runner.map(piece_task, (unit, seed), ((members, None) for members in members_of))
        for members, (centres, sub) in zip(members_of, results, strict=True):
            labels[members] = len(centre_list) + sub
            centre_list.extend(centres)
    finally:
        faiss.omp_set_num_threads(threads)
    centres = np.asarray(centre_list, dtype=np.float64).reshape(-1, dim)
    norms = np.linalg.norm(centres, axis=1, keepdims=True)
    centres = np.divide(centres, norms, out=np.zeros_like(centres), where=norms > 0)
    # A few far-off members would widen a piece's radius
    # for all its pairs: they go to pieces of their own.
    angle = _angles(unit, np.arange(n), centres, labels, runner)
    outlier = np.zeros(n, dtype=bool)
    by_label = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[by_label])) + 1
    for members in np.split(by_label, cuts):
        typical = np.median(angle[members])
        outlier[members] = angle[members] > OUTLIER_FACTOR * typical + OUTLIER_MARGIN
    label_sorted = np.lexsort((labels, outlier))
    order = label_sorted.astype(np.int64)
    # all outliers form one run, cut into small pieces
    key = np.where(outlier[order], -1, labels[order])
    bounds = np.flatnonzero(np.diff(key)) + 1
    run_starts = (
        np.concatenate([[0], bounds]).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
    )
    run_stops = np.concatenate([bounds, [n]]).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
    starts, stops, piece_centres = [], [], []
    for r0, r1 in zip(run_starts, run_stops, strict=True):
        far = bool(key[r0] < 0)
        step = PIECE_ROWS if far else block_size
        for s0 in range(int(r0), int(r1), step):
            s1 = min(int(r1), s0 + step)
            if far:  # a run of outliers: its own centre (any unit vector gives a valid bound)
                mean = unit[order[s0:s1]].mean(axis=0, dtype=np.float64)
                norm = np.linalg.norm(mean)
                piece_centres.append(mean / norm if norm > 0 else mean)
            else:
                piece_centres.append(centres[key[r0]])
            starts.append(s0)
            stops.append(s1)
    starts_a = np.asarray(starts, dtype=np.int64)
    stops_a = np.asarray(stops, dtype=np.int64)
    centres_a = np.asarray(piece_centres, dtype=np.float64).reshape(-1, dim)
    # Angle of each row to its piece's centre, in float64.
    member_piece = np.repeat(np.arange(len(starts_a)), stops_a - starts_a)
    angles = _angles(unit, order, centres_a, member_piece, runner)
    radii = np.maximum.reduceat(angles, starts_a) if len(starts_a) else np.zeros(0)
    return Pieces(order, starts_a, stops_a, centres_a, radii)


ANGLE_CHUNK = 4096  # rows per task: a few MB in float64, and one Ray chunk (runners.CHUNK_WORK)


def _angles(
    unit: np.ndarray, rows: np.ndarray, centres: np.ndarray, labels: np.ndarray,
    runner: TaskRunner,
) -> np.ndarray:
    """Angle (float64) between each ``unit[rows[i]]`` and ``centres[labels[i]]``: tasks of
    :data:`ANGLE_CHUNK` rows on ``runner``."""
    parts = [slice(start, min(len(rows), start + ANGLE_CHUNK))
             for start in range(0, len(rows), ANGLE_CHUNK)]
    results = runner.map(angle_task, (unit, rows, centres, labels), ((p, None) for p in parts))
    return np.concatenate([np.zeros(0), *results])


def angle_task(unit: np.ndarray, rows: np.ndarray, centres: np.ndarray, labels: np.ndarray,
               pair: tuple[slice, None]) -> np.ndarray:
    """:func:`_angles` of the positions ``pair[0]``."""
    part = pair[0]
    cos = np.einsum("ij,ij->i", unit[rows[part]].astype(np.float64), centres[labels[part]])
    angles: np.ndarray = np.arccos(np.clip(cos, -1.0, 1.0))
    return angles


@numba.njit(nogil=True, cache=True)
def _take_rows_in_place(matrix: np.ndarray, order: np.ndarray) -> None:
    """``matrix[:] = matrix[order]`` without a second matrix: each cycle of the permutation with one
    spare row."""
    n = len(order)
    done = np.zeros(n, dtype=np.bool_)
    spare = np.empty(matrix.shape[1], dtype=matrix.dtype)
    for start in range(n):
        if done[start]:
            continue
        spare[:] = matrix[start]
        j = start
        while True:
            done[j] = True
            k = order[j]
            if k == start:
                matrix[j] = spare
                break
            matrix[j] = matrix[k]
            j = k


def reorder_rows(matrix: np.ndarray, order: np.ndarray) -> None:
    """Puts the rows of ``matrix`` in ``order`` (row ``i`` becomes old row ``order[i]``), in
    place."""
    _take_rows_in_place(matrix, np.ascontiguousarray(order, dtype=np.int64))


def restore_rows(matrix: np.ndarray, order: np.ndarray) -> None:
    """Undoes :func:`reorder_rows` with the same ``order``, in place."""
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order), dtype=np.int64)
    _take_rows_in_place(matrix, inverse)


# pieces per block of bounds: one matrix product, a few MB, whatever the number of pieces
BOUND_BLOCK = 256


def bound_blocks(pieces: Pieces, block: int = BOUND_BLOCK) -> Iterator[tuple[int, np.ndarray]]:
    """``(a0, bounds)``: upper bounds of the similarity between rows of pieces ``a0, a0 + 1, ...``
    (rows of ``bounds``) and rows of every piece (columns), a block of pieces at a time."""
    for a0 in range(0, len(pieces), block):
        yield a0, _bounds(pieces, a0, min(len(pieces), a0 + block))


def _bounds(pieces: Pieces, a0: int, a1: int) -> np.ndarray:
    if pieces.centres.shape[1] == 0:
        return np.full((a1 - a0, len(pieces)), np.inf)
    cos = np.clip(pieces.centres[a0:a1] @ pieces.centres.T, -1.0, 1.0)
    gap = np.arccos(cos) - pieces.radii[a0:a1, None] - pieces.radii[None, :] - ANGLE_SLACK
    bounds: np.ndarray = np.cos(np.clip(gap, 0.0, np.pi))
    return bounds

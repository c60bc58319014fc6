"""Sampled sums for the neighbours that probing misses (:mod:`vectortrainer.golden.probing`).

A row's neighbours that probing misses lie mostly in the pieces just beyond the probed ones.
Those pieces each hold few of them, so a few rows stand well for a whole piece: each piece's
*ring* is the pieces with the most similar centres that are not paired with it (as many as one
of :data:`RING_WIDTHS`), and from each ring piece a few random rows are scored
(:data:`RING_COLUMNS` in all), every one weighted by ``piece size / rows scored``. The weighted
sums over the threshold are an unbiased estimate of the D (and the neighbour count) each ring
piece adds, stratified by piece. Where little is missed the estimate's noise costs more than it
adds, and the calibration leaves the ring out. The ring joins no components and gives no nearest
core: those stay exact over the probed pairs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vectortrainer.golden.pruning import BOUND_BLOCK, Pieces

# Rows scored per row of a piece, over its whole ring: a ring of 512 pieces scores 8 rows of each,
# one of 128 pieces 32. The calibration picks the width that brings D closest. At a million
# realistic logs, 16 probes per row left D off by 6.3% on 512 rows; rings of 128, 256 and 512
# pieces of 8 rows each brought it to 2.6%, 1.4% and 0.64%. At 200,000 the widest was noisier.
RING_COLUMNS = 4096
# A row's estimate from fewer scored rows over the threshold is left out: one hit stands for a
# whole piece's share (often 10 to 30 neighbours), and on a row of few neighbours that was an
# error of several hundred percent.
MIN_HITS = 4
RING_WIDTHS = (128, 256, 512)


def rows_per_piece(width: int) -> int:
    """Rows scored in each ring piece for a ring of ``width`` pieces."""
    return max(1, RING_COLUMNS // max(1, width))


@dataclass(frozen=True)
class Sample:
    """The scored rows of each piece (positions in piece order, a fixed random few) and, per
    position, ``piece size / rows scored`` (0 for rows not scored)."""

    rows: list[np.ndarray]
    weights: np.ndarray


def sample_pieces(pieces: Pieces, rows_per_piece: int, seed: int = 0) -> Sample:
    """``rows_per_piece`` random rows of each piece; the same on every run (a piece's rows are in
    store order, so its first rows would be its oldest)."""
    rng = np.random.default_rng(seed)
    weights = np.zeros(int(pieces.stops[-1]) if len(pieces) else 0)
    chosen = []
    for start, stop in zip(pieces.starts.tolist(), pieces.stops.tolist(), strict=True):
        taken = min(rows_per_piece, stop - start)
        rows = np.sort(start + rng.choice(stop - start, size=taken, replace=False))
        weights[rows] = (stop - start) / taken
        chosen.append(rows)
    return Sample(chosen, weights)


def paired_lists(pieces: Pieces, pairs: np.ndarray) -> list[np.ndarray]:
    """For each piece, every piece the ``pairs`` (codes ``a * len(pieces) + b``) pair it with."""
    count = len(pieces)
    first, second = np.divmod(pairs, count)
    source = np.concatenate([first, second])
    target = np.concatenate([second, first])
    order = np.argsort(source, kind="stable")
    cuts = np.searchsorted(source[order], np.arange(count + 1))
    target = target[order]
    return [target[cuts[a] : cuts[a + 1]] for a in range(count)]


def rings(pieces: Pieces, paired: list[np.ndarray], width: int,
          which: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """For each piece (of ``which``, default all), the ``width`` pieces with the most similar
    centres that it is not paired with (nor itself), most similar first."""
    out: dict[int, np.ndarray] = {}
    centres = pieces.centres
    count = len(pieces)
    chosen = np.arange(count) if which is None else np.asarray(which, dtype=np.int64)
    for b0 in range(0, len(chosen), BOUND_BLOCK):  # a block of pieces at a time: never count^2
        block = chosen[b0 : b0 + BOUND_BLOCK]
        scores = centres[block] @ centres.T
        for a, row in zip(block.tolist(), scores, strict=True):
            row[paired[a]] = -np.inf
            row[a] = -np.inf
            take = min(width, count - len(paired[a]) - 1)
            if take <= 0:
                out[a] = np.zeros(0, dtype=np.int64)
                continue
            top = np.argpartition(-row, take - 1)[:take]
            out[a] = top[np.argsort(-row[top], kind="stable")]
    return out


def ring_pairs(pieces: Pieces, ring_of: dict[int, np.ndarray], sample: Sample) -> Iterator[
        tuple[slice, np.ndarray]]:
    """One task per piece: its rows, and the scored rows of its ring."""
    empty = np.zeros(0, dtype=np.int64)
    for a, ring in sorted(ring_of.items()):
        columns = np.concatenate([sample.rows[b] for b in ring]) if len(ring) else empty
        yield slice(int(pieces.starts[a]), int(pieces.stops[a])), columns


def sampled_sums(rows: np.ndarray, weights: np.ndarray, threshold: float,
                 pair: tuple[slice, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Estimated D and neighbour count that the scored rows ``pair[1]`` stand for, for each row of
    ``pair[0]`` (float64); 0 for a row with fewer than :data:`MIN_HITS` scored rows over the
    threshold."""
    pa, pb = pair
    size = pa.stop - pa.start
    if len(pb) == 0:
        return np.zeros(size), np.zeros(size)
    sims = rows[pa] @ rows[pb].T
    hit = sims >= np.float64(threshold)
    w = weights[pb]
    trusted = hit.sum(axis=1) >= MIN_HITS
    density = np.where(hit, sims, 0).astype(np.float64) @ w
    counts = hit.astype(np.float64) @ w
    return np.where(trusted, density, 0.0), np.where(trusted, counts, 0.0)

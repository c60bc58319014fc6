"""Density on the pieces nearest each row, where no bound prunes: loose clusters of real text.

On embeddings of real requests a piece's angular radius is wide, the bound of
:mod:`vectortrainer.golden.pruning` skips no pair, and every pair would run. Yet a row's
neighbours lie in the few pieces whose centres are nearest the row itself (the idea of an
inverted-file index, run as the exact kernel's block products): each piece is paired with the
pieces nearest any of its rows, ``probes`` per row, and with the pieces whose rows have it among
theirs. A pair runs once and counts for both sides, so the pairs only miss neighbours, in pieces
that neither side probes; the sampled sums of :mod:`vectortrainer.golden.ring` estimate those.

How many probes: a calibration sample of :data:`CALIBRATION_ROWS` rows is scored against every
row. For each step of :data:`PROBE_STEPS`, fewest first, each calibration row's k-th similarity
and D are taken over the pieces paired with its own (D with and without the ring's estimates) and
compared with the exact ones. The k-th-neighbour pass (its similarities choose epsilon and the
core logs) uses the first step that finds at most :data:`KTH_TARGET` of them too low; the
density pass the first whose mean relative error of D is at most :data:`TARGET_ERROR`, with the
ring that brings D closest, if any. The error of the result is then measured again, on a separate
sample of rows, and shown in every summary
(:class:`vectortrainer.golden.approximate.DensityError`).

The cost is still quadratic, with a small constant: a row's neighbours grow in number with the
logs, and so do the pieces they lie in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vectortrainer.golden.nearest import nearest_pieces_of
from vectortrainer.golden.pruning import Pieces

if TYPE_CHECKING:
    from vectortrainer.golden.runners import TaskRunner

PROBE_STEPS = (8, 16, 32, 64)  # nearest pieces per row, tried fewest first
TARGET_ERROR = 0.01  # mean relative error of D the calibration aims at (the limit shown is 2%)
# Share of rows whose k-th similarity may come out too low (by more than KTH_TOLERANCE): the
# k-th similarities choose epsilon (at 100,000 realistic logs, 8 probes found 1% of them too low
# and moved epsilon from 0.295 to 0.307; 16 probes found 0.4% too low and kept it).
KTH_TARGET = 0.005
KTH_TOLERANCE = 1e-4
CALIBRATION_ROWS = 512
# A k-th similarity below this makes a log core at no epsilon (selection.epsilon is at most 0.6).
LOWEST_THRESHOLD = 0.4 - 1e-3
_SAMPLE_CHUNK = 32  # calibration rows scored against every row per product


def nearest_pieces(rows: np.ndarray, pieces: Pieces, probes: int, runner: TaskRunner | None = None,
                   progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """For each of ``rows`` (in piece order), the ``probes`` pieces whose centres are most similar
    to it, nearest first (int32), by tasks on ``runner``
    (:func:`~vectortrainer.golden.nearest.nearest_pieces_of`).

    Every row is scored against every centre: on loose real-text pieces a row's nearest centres
    are not among those nearest its own piece's centre (the 512 nearest missed many at 200,000
    logs, and a triangle-inequality bound certified the rest for only a quarter of the rows)."""
    return nearest_pieces_of(rows, pieces.centres, probes, runner, progress)


def _probed(pieces: Pieces, nearest: np.ndarray, probes: int, a: int) -> np.ndarray:
    """The pieces the rows of piece ``a`` probe (``a`` included), sorted."""
    block = nearest[pieces.starts[a] : pieces.stops[a], :probes]
    return np.union1d(block.ravel(), [a])


def probe_pairs(pieces: Pieces, nearest: np.ndarray, probes: int) -> np.ndarray:
    """The piece pairs ``(a, b)``, ``a < b``, where one side probes the other, as sorted codes
    ``a * len(pieces) + b``."""
    count = len(pieces)
    codes = [np.zeros(0, dtype=np.int64)]
    for a in range(count):
        probed = _probed(pieces, nearest, probes, a).astype(np.int64)
        probed = probed[probed != a]
        codes.append(np.minimum(probed, a) * count + np.maximum(probed, a))
    return np.unique(np.concatenate(codes))


def partners_of(pieces: Pieces, pairs: np.ndarray) -> list[np.ndarray]:
    """For each piece ``a``, the pieces ``b > a`` it is paired with."""
    count = len(pieces)
    first, second = np.divmod(pairs, count)
    cuts = np.searchsorted(first, np.arange(count + 1))
    return [second[cuts[a] : cuts[a + 1]] for a in range(count)]


@dataclass(frozen=True)
class Scored:
    """Calibration rows' similarities of at least some value: per row, the similarities, and the
    piece and position of each other row."""

    similarities: list[np.ndarray]
    pieces: list[np.ndarray]
    positions: list[np.ndarray]


@dataclass(frozen=True)
class Calibration:
    """Calibration rows (positions in piece order) with their exact k-th similarity, and their
    similarities within :data:`KTH_TOLERANCE` of it (all a k-th over fewer rows can use)."""

    positions: np.ndarray
    kth: np.ndarray
    top: Scored

    def scored(self, rows: np.ndarray, pieces: Pieces, threshold: float,
               runner: TaskRunner | None = None) -> Scored:
        """The calibration rows' similarities of at least ``threshold``, scored again against
        every row (``rows`` in piece order)."""
        return _score(rows, pieces, self.positions, 0, threshold, runner)[1]

    def _pieces_of(self, pieces: Pieces) -> np.ndarray:
        return np.searchsorted(pieces.starts, self.positions, side="right") - 1

    def density_error(self, pieces: Pieces, pairs: np.ndarray, near: Scored,
                      ring_width: int = 0) -> float:
        """Mean relative error of D over the calibration rows when only the piece ``pairs``
        (:func:`probe_pairs`) run, plus (with a ``ring_width``) the sampled sums of a ring of that
        many pieces (:mod:`vectortrainer.golden.ring`); ``near``: the rows' exact neighbours."""
        from vectortrainer.golden import ring as ring_module

        own = self._pieces_of(pieces)
        paired = ring_module.paired_lists(pieces, pairs)
        rings = (ring_module.rings(pieces, paired, ring_width, which=np.unique(own))
                 if ring_width else {})
        weights = (ring_module.sample_pieces(pieces, ring_module.rows_per_piece(ring_width)).weights
                   if ring_width else np.zeros(0))
        errors = []
        for a, sims, other, where in zip(own.tolist(), near.similarities, near.pieces,
                                         near.positions, strict=True):
            exact = float(sims.sum(dtype=np.float64))
            covered = np.isin(other, paired[a]) | (other == a)
            found = float(sims[covered].sum(dtype=np.float64))
            if ring_width:
                sampled = np.isin(other, rings[a]) & (weights[where] > 0)
                if sampled.sum() >= ring_module.MIN_HITS:  # as ring.sampled_sums counts it
                    found += float((sims[sampled].astype(np.float64)
                                    * weights[where[sampled]]).sum())
            errors.append(abs(exact - found) / exact if exact > 0 else float(found != 0))
        return float(np.mean(errors)) if errors else 0.0

    def kth_error(self, pieces: Pieces, pairs: np.ndarray, k: int) -> float:
        """Share of the calibration rows whose k-th similarity the piece ``pairs`` find more than
        :data:`KTH_TOLERANCE` too low (a k-th below :data:`LOWEST_THRESHOLD` counts as equal: it
        makes a row core at no epsilon)."""
        from vectortrainer.golden.ring import paired_lists

        paired = paired_lists(pieces, pairs)
        wrong = 0
        for a, exact, other in zip(self._pieces_of(pieces).tolist(), self.kth, self.top.pieces,
                                   strict=True):
            if exact >= LOWEST_THRESHOLD:
                found = int((np.isin(other, paired[a]) | (other == a)).sum())
                wrong += found < k
        return wrong / len(self.kth) if len(self.kth) else 0.0

    def pairs_for(self, rows: np.ndarray, pieces: Pieces, nearest: np.ndarray,
                  threshold: float | None, k: int,
                  runner: TaskRunner | None = None) -> tuple[np.ndarray, int]:
        """The pairs of the fewest probes of :data:`PROBE_STEPS` that keep the error of D at
        ``threshold`` within :data:`TARGET_ERROR` (``None``: the share of k-th similarities
        found too low within :data:`KTH_TARGET`), or of the most probes; and the ring width of
        :data:`vectortrainer.golden.ring.RING_WIDTHS` that brings D closest, 0 for none (where
        little is missed, the ring's noise costs more than it adds)."""
        from vectortrainer.golden.ring import RING_WIDTHS

        steps = [p for p in PROBE_STEPS if p <= nearest.shape[1]] or [nearest.shape[1]]
        near = None if threshold is None else self.scored(rows, pieces, threshold, runner)
        width = 0
        for probes in steps:
            pairs = probe_pairs(pieces, nearest, probes)
            if near is None:
                if self.kth_error(pieces, pairs, k) <= KTH_TARGET:
                    break
                continue
            errors = {w: self.density_error(pieces, pairs, near, w) for w in (0, *RING_WIDTHS)}
            width = min(errors, key=lambda w: (errors[w], w))
            if errors[width] <= TARGET_ERROR:
                break
        return pairs, width


def _score(rows: np.ndarray, pieces: Pieces, positions: np.ndarray, k: int, threshold: float,
           runner: TaskRunner | None) -> tuple[np.ndarray, Scored]:
    """``positions`` scored against every row on ``runner`` (:func:`score_task`): their k-th
    similarities (``k`` 0: none) and what they keep."""
    from vectortrainer.golden.runners import ThreadRunner

    piece_of_row = np.repeat(np.arange(len(pieces), dtype=np.int32), pieces.sizes)
    chunks = [positions[start : start + _SAMPLE_CHUNK]
              for start in range(0, len(positions), _SAMPLE_CHUNK)]
    everyone = slice(0, len(rows))
    kth = np.full(len(positions), -np.inf)
    out = Scored([], [], [])
    results = (runner or ThreadRunner()).map(score_task, (rows, piece_of_row, k, threshold),
                                             ((chunk, everyone) for chunk in chunks))
    done = 0
    for chunk, (kths, kept) in zip(chunks, results, strict=True):
        kth[done : done + len(chunk)] = kths
        done += len(chunk)
        for similarities, of_piece, where in kept:
            out.similarities.append(similarities)
            out.pieces.append(of_piece)
            out.positions.append(where)
    return kth, out


def score_task(rows: np.ndarray, piece_of_row: np.ndarray, k: int, threshold: float,
               pair: tuple[np.ndarray, slice]) -> tuple[np.ndarray, list[tuple[np.ndarray, ...]]]:
    """Rows ``pair[0]`` against every row: each one's k-th similarity (``k`` 0: -inf) and its
    similarities to the other rows that are at least ``threshold`` or, with ``k``, within
    :data:`KTH_TOLERANCE` of the k-th (with their pieces and positions)."""
    chunk = pair[0]
    kths = np.full(len(chunk), -np.inf)
    if k and len(rows) - 1 < k:
        return kths, [(np.zeros(0, dtype=rows.dtype), np.zeros(0, dtype=piece_of_row.dtype),
                       np.zeros(0, dtype=np.int64))] * len(chunk)
    top = np.full((len(chunk), k), -np.inf, dtype=rows.dtype)
    found: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in chunk]
    for start, sims in column_blocks(rows, chunk):
        if k:  # the k best so far: a row keeps what may still be within reach of its k-th
            top = -np.partition(-np.concatenate([top, sims], axis=1), k - 1, axis=1)[:, :k]
            kept = sims >= (top.min(axis=1) - KTH_TOLERANCE)[:, None]
        else:
            kept = sims >= np.float64(threshold)
        for values, row, mask in zip(found, sims, kept, strict=True):
            where = np.flatnonzero(mask)
            values.append((row[where], start + where))
    if k:
        kth = top.min(axis=1)
        kths = kth.astype(np.float64)
    out: list[tuple[np.ndarray, ...]] = []
    for i, values in enumerate(found):
        similarities = np.concatenate([v for v, _ in values])
        where = np.concatenate([w for _, w in values])
        if k:  # the k-th is known now
            close = similarities >= kth[i] - KTH_TOLERANCE
            similarities, where = similarities[close], where[close]
        out.append((similarities, piece_of_row[where], where))
    return kths, out


COLUMN_BLOCK = 65_536  # rows scored against per product: a task's scores stay a few MB at any n


def column_blocks(rows: np.ndarray, chunk: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, scores)``: ``rows[chunk]`` against rows ``start, start + 1, ...``, a block at a
    time, each row's score with itself -inf."""
    picked = rows[chunk]
    for start in range(0, len(rows), COLUMN_BLOCK):
        sims = picked @ rows[start : start + COLUMN_BLOCK].T
        own = np.flatnonzero((chunk >= start) & (chunk < start + len(sims[0])))
        sims[own, chunk[own] - start] = -np.inf
        yield start, sims


def calibrate(rows: np.ndarray, pieces: Pieces, k: int, seed: int,
              runner: TaskRunner | None = None) -> Calibration:
    """Scores :data:`CALIBRATION_ROWS` random rows (``rows`` in piece order) against every row."""
    n = len(rows)
    rng = np.random.default_rng(seed + 1)  # not the error sample's rows
    positions = np.sort(rng.choice(n, size=min(n, CALIBRATION_ROWS), replace=False))
    kth, top = _score(rows, pieces, positions, max(1, k), -np.inf, runner)
    return Calibration(positions, kth, top)


class Probe:
    """Probing for one density computation: each row's nearest pieces and the calibration rows,
    found once for both passes; the pairs of the last calibration, and the ring's sampled sums
    for what they miss (:mod:`vectortrainer.golden.ring`). Its products run as tasks on
    ``runner``, as the passes do."""

    def __init__(self, rows: np.ndarray, pieces: Pieces, k: int, seed: int, runner: TaskRunner,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.rows = rows  # in piece order while the passes run
        self.pieces = pieces
        self.k = k
        self.runner = runner
        self.nearest = nearest_pieces(rows, pieces, max(PROBE_STEPS), runner, progress)
        self.calibration = calibrate(rows, pieces, k, seed, runner)
        self.pairs = np.zeros(0, dtype=np.int64)
        self.ring_width = 0  # the ring that brings D closest at the last pairs (0: none)

    def partners(self, threshold: float | None) -> list[np.ndarray]:
        """For each piece, the pieces ``b > a`` it runs with: as many probes as keep D within the
        calibration's target at ``threshold`` (``None``: the k-th similarities)."""
        self.pairs, self.ring_width = self.calibration.pairs_for(
            self.rows, self.pieces, self.nearest, threshold, self.k, self.runner)
        return partners_of(self.pieces, self.pairs)

    def ring_sums(self, threshold: float,
                  progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray,
                                                                               np.ndarray]:
        """Estimated D and neighbour count that the last pairs miss, per row in piece order
        (zeros where the calibration found the estimate noisier than what it adds)."""
        from vectortrainer.golden import ring

        if not self.ring_width:
            if progress:
                progress(1, 1)
            return np.zeros(len(self.rows)), np.zeros(len(self.rows))
        ring_of = ring.rings(self.pieces, ring.paired_lists(self.pieces, self.pairs),
                             self.ring_width)
        sample = ring.sample_pieces(self.pieces, ring.rows_per_piece(self.ring_width))
        density = np.zeros(len(self.rows))
        counts = np.zeros(len(self.rows))
        # the tasks' columns are made as the runner asks for them: a million logs hold 300 MB
        results = self.runner.map(ring.sampled_sums, (self.rows, sample.weights, threshold),
                             ring.ring_pairs(self.pieces, ring_of, sample))
        for done, (a, (part_density, part_counts)) in enumerate(
                zip(sorted(ring_of), results, strict=True), 1):
            own = slice(int(self.pieces.starts[a]), int(self.pieces.stops[a]))
            density[own] = part_density
            counts[own] = part_counts
            if progress:
                progress(done, len(ring_of))
        return density, counts

"""Density on the pieces nearest each row, where no bound prunes: loose clusters of real text.

On embeddings of real requests a piece's angular radius is wide, the bound of
:mod:`vectortrainer.golden.pruning` skips no pair, and every pair would run. Yet a row's
neighbours lie in the few pieces whose centres are nearest the row itself (the idea of an
inverted-file index, run as the exact kernel's block products): each piece is paired with the
pieces nearest any of its rows, ``probes`` per row, and with the pieces whose rows have it among
theirs. A pair runs once and counts for both sides, so D only misses neighbours in pieces that
neither side probes, and is never over-counted.

How many probes: a calibration sample of :data:`CALIBRATION_ROWS` rows is scored against every
row once. For each step of :data:`PROBE_STEPS`, fewest first, each calibration row's D and k-th
similarity are taken over the pieces paired with its own and compared with the exact ones; the
first step whose mean relative error of D is at most :data:`TARGET_ERROR` is used for the density
pass, and the first whose share of k-th similarities found too low is at most
:data:`KTH_TARGET` for the k-th-neighbour pass (those choose epsilon and the core logs). The
error of the result is then measured again, on a separate sample of rows, and shown in every
summary (:class:`vectortrainer.golden.approximate.DensityError`).

The cost is still quadratic, with a small constant: a row's neighbours grow in number with the
logs, and so do the pieces they lie in (at 100,000 realistic logs 16 probes per row suffice, at
200,000, 32).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vectortrainer.golden.pruning import Pieces

PROBE_STEPS = (8, 16, 32, 64)  # nearest pieces per row, tried fewest first
TARGET_ERROR = 0.01  # mean relative error of D the calibration aims at (the limit shown is 2%)
# Share of rows whose k-th similarity may come out too low (by more than KTH_TOLERANCE): the
# k-th similarities choose epsilon (at 100,000 realistic logs, 8 probes found 2% of them too low
# and moved epsilon from 0.295 to 0.307; 16 probes found 0.4% too low and kept it).
KTH_TARGET = 0.005
KTH_TOLERANCE = 1e-4
CALIBRATION_ROWS = 512
# Similarities below this count for no epsilon (selection.epsilon is at most 0.6): the
# calibration keeps only the rest.
LOWEST_THRESHOLD = 0.4 - 1e-3
_CHUNK = 16_384  # rows scored against the centres per product
_SAMPLE_CHUNK = 32  # calibration rows scored against every row per product


def nearest_pieces(rows: np.ndarray, pieces: Pieces, probes: int) -> np.ndarray:
    """For each of ``rows`` (in piece order), the ``probes`` pieces whose centres are most similar
    to it, nearest first (int32)."""
    count = len(pieces)
    probes = min(probes, count)
    centres = np.ascontiguousarray(pieces.centres, dtype=np.float32)
    out = np.empty((len(rows), probes), dtype=np.int32)
    for start in range(0, len(rows), _CHUNK):
        scores = rows[start : start + _CHUNK] @ centres.T
        part = np.argpartition(-scores, probes - 1, axis=1)[:, :probes]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        out[start : start + len(scores)] = np.take_along_axis(part, order, axis=1)
    return out


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


def _paired_with(pairs: np.ndarray, count: int, a: int) -> np.ndarray:
    """Every piece paired with ``a`` (either side), and ``a`` itself."""
    first, second = np.divmod(pairs, count)
    return np.union1d(np.concatenate([second[first == a], first[second == a]]), [a])


@dataclass(frozen=True)
class Calibration:
    """Calibration rows scored against every row: their exact k-th similarity, and each one's
    similarities of at least :data:`LOWEST_THRESHOLD` with the piece of the other row."""

    positions: np.ndarray  # calibration rows, positions in piece order
    kth: np.ndarray
    similarities: list[np.ndarray]
    other_pieces: list[np.ndarray]

    def _covered(self, pieces: Pieces, pairs: np.ndarray) -> list[np.ndarray]:
        """For each calibration row, whether each of its kept similarities is to a row of a piece
        that the ``pairs`` pair with the row's own piece."""
        piece_of = np.searchsorted(pieces.starts, self.positions, side="right") - 1
        paired: dict[int, np.ndarray] = {}
        out = []
        for a, other in zip(piece_of.tolist(), self.other_pieces, strict=True):
            if a not in paired:
                paired[a] = _paired_with(pairs, len(pieces), a)
            out.append(np.isin(other, paired[a]))
        return out

    def density_error(self, pieces: Pieces, pairs: np.ndarray, threshold: float) -> float:
        """Mean relative error of D at ``threshold`` over the calibration rows, when only the
        piece ``pairs`` (:func:`probe_pairs`) run."""
        thr = np.float64(threshold)
        errors = []
        for sims, covered in zip(self.similarities, self._covered(pieces, pairs), strict=True):
            near = sims >= thr
            exact = float(sims[near].sum(dtype=np.float64))
            found = float(sims[near & covered].sum(dtype=np.float64))
            errors.append(abs(exact - found) / exact if exact > 0 else float(found != 0))
        return float(np.mean(errors)) if errors else 0.0

    def kth_error(self, pieces: Pieces, pairs: np.ndarray, k: int) -> float:
        """Share of the calibration rows whose k-th similarity the piece ``pairs`` find more than
        :data:`KTH_TOLERANCE` too low (a k-th below :data:`LOWEST_THRESHOLD` counts as equal: it
        makes a row core at no epsilon)."""
        wrong = 0
        for exact, sims, covered in zip(self.kth, self.similarities,
                                        self._covered(pieces, pairs), strict=True):
            if exact < LOWEST_THRESHOLD:
                continue
            found = sims[covered]
            kth = -np.partition(-found, k - 1)[k - 1] if len(found) >= k else -np.inf
            wrong += bool(kth < exact - KTH_TOLERANCE)
        return wrong / len(self.kth) if len(self.kth) else 0.0

    def pairs_for(self, pieces: Pieces, nearest: np.ndarray, threshold: float | None,
                  k: int) -> np.ndarray:
        """The pairs of the fewest probes of :data:`PROBE_STEPS` that keep the error of D at
        ``threshold`` within :data:`TARGET_ERROR` (``None``: the share of k-th similarities
        found too low within :data:`KTH_TARGET`), or of the most probes."""
        steps = [p for p in PROBE_STEPS if p <= nearest.shape[1]] or [nearest.shape[1]]
        for probes in steps:
            pairs = probe_pairs(pieces, nearest, probes)
            if threshold is None:
                if self.kth_error(pieces, pairs, k) <= KTH_TARGET:
                    break
            elif self.density_error(pieces, pairs, threshold) <= TARGET_ERROR:
                break
        return pairs


def calibrate(rows: np.ndarray, pieces: Pieces, k: int, seed: int) -> Calibration:
    """Scores :data:`CALIBRATION_ROWS` random rows (``rows`` in piece order) against every row."""
    n = len(rows)
    rng = np.random.default_rng(seed + 1)  # not the error sample's rows
    positions = np.sort(rng.choice(n, size=min(n, CALIBRATION_ROWS), replace=False))
    piece_of_row = np.repeat(np.arange(len(pieces), dtype=np.int32), pieces.sizes)
    kth = np.full(len(positions), -np.inf)
    similarities: list[np.ndarray] = []
    other_pieces: list[np.ndarray] = []
    for start in range(0, len(positions), _SAMPLE_CHUNK):
        chunk = positions[start : start + _SAMPLE_CHUNK]
        sims = rows[chunk] @ rows.T
        sims[np.arange(len(chunk)), chunk] = -np.inf
        if n - 1 >= k:
            kth[start : start + len(chunk)] = -np.partition(-sims, k - 1, axis=1)[:, k - 1]
        for row in sims:
            keep = np.flatnonzero(row >= LOWEST_THRESHOLD)
            similarities.append(row[keep])
            other_pieces.append(piece_of_row[keep])
    return Calibration(positions, kth, similarities, other_pieces)

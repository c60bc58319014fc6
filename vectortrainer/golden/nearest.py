"""Each row's most similar centres, by tasks of rows on a runner: the k-means assignment of the
density pieces (:mod:`vectortrainer.golden.pruning`) and the probe's nearest pieces
(:mod:`vectortrainer.golden.probing`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from vectortrainer.golden.runners import TaskRunner

NEAREST_ROWS = 4096  # rows per task: one Ray chunk (ray_runner.CHUNK_WORK)
_SCORES = 1 << 22  # scores of rows against centres per product (int64 positions: 32 MB)


def nearest_pieces_of(rows: np.ndarray, centres: np.ndarray, probes: int,
                      runner: TaskRunner | None = None,
                      progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """For each of ``rows``, the ``probes`` most similar ``centres``, most similar first (int32);
    tasks of :data:`NEAREST_ROWS` rows on ``runner`` (default: threads of this process)."""
    from vectortrainer.golden.runners import ThreadRunner

    probes = min(probes, len(centres))
    centres = np.ascontiguousarray(centres, dtype=np.float32)
    out = np.empty((len(rows), probes), dtype=np.int32)
    parts = [slice(start, min(len(rows), start + NEAREST_ROWS))
             for start in range(0, len(rows), NEAREST_ROWS)]
    results = (runner or ThreadRunner()).map(nearest_task, (rows, centres, probes),
                                             ((part, None) for part in parts))
    for part, best in zip(parts, results, strict=True):
        out[part] = best
        if progress:
            progress(part.stop, len(rows))
    return out


def nearest_task(rows: np.ndarray, centres: np.ndarray, probes: int,
                 pair: tuple[slice, None]) -> np.ndarray:
    """The ``probes`` nearest ``centres`` of each row of ``rows[pair[0]]``, nearest first."""
    part = pair[0]
    out = np.empty((part.stop - part.start, probes), dtype=np.int32)
    chunk = max(256, _SCORES // max(1, len(centres)))  # rows x pieces scores: a few tens of MB
    for start in range(0, len(out), chunk):
        scores = rows[part.start + start : min(part.stop, part.start + start + chunk)] @ centres.T
        best = np.argpartition(-scores, probes - 1, axis=1)[:, :probes]
        order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
        out[start : start + len(scores)] = np.take_along_axis(best, order, axis=1)
    return out



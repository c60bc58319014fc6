"""One order of the logs fixed by what they hold, not by where the store put them (VT-20).

A store gives its rows in no fixed order: LanceDB's scan order changes when a table is compacted
or rewritten. Selection draws samples by position (the clients facility location scores, the rows
k-means starts from) and breaks ties by position (clusters of one size, equal gains), so on
CLINC150's pool of 6,000 a third of 60 picks changed with the row order alone. Selection
therefore works on the logs sorted by a hash of each vector's bits: the same logs give the same
picks in any order. Equal vectors keep their order among themselves; they are the same request.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 8192  # rows hashed at a time
_MULTIPLIER_SEED = 0x5EED  # one fixed odd 64-bit multiplier per 32-bit word of a vector


def content_keys(matrix: np.ndarray) -> np.ndarray:
    """A 64-bit key per row of the 2-D ``matrix`` from the row's bits alone: equal rows get equal
    keys wherever they are, distinct rows keys as good as random."""
    multipliers = np.random.default_rng(_MULTIPLIER_SEED).integers(
        0, 2**63, size=matrix.shape[1], dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    keys = np.empty(len(matrix), dtype=np.uint64)
    for start in range(0, len(matrix), _CHUNK):
        part = np.ascontiguousarray(matrix[start : start + _CHUNK], dtype=np.float32)
        words = part.view(np.uint32).astype(np.uint64)
        # a multiply-add over the words (wrapping at 2**64), then splitmix64's finaliser, which
        # spreads every word over every bit of the key
        keys[start : start + len(part)] = _mix((words * multipliers).sum(axis=1, dtype=np.uint64))
    return keys


def content_order(matrix: np.ndarray) -> np.ndarray:
    """The rows of ``matrix`` in the order of their :func:`content_keys` (equal rows in row
    order): the same rows come out in the same order whatever order they came in."""
    return np.lexsort((np.arange(len(matrix)), content_keys(matrix)))


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise (uint64 arithmetic wraps)."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = values ^ (values >> np.uint64(31))
    return mixed

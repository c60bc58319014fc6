"""Steady picks by facility location: the logs that best stand for where the logs are (VT-20).

The objective is the coverage of the density: ``F(S) = sum over logs i of max over picks s of
max(0, sim(i, s))``. Every log counts once, so a dense region (many logs) weighs in proportion
to its size, and a pick's worth is how much it adds to how well the logs are represented. F is
monotone submodular, so the greedy order is within ``1 - 1/e`` of the best set of every size,
and the lazy greedy (Minoux) finds the same order re-scoring only the front of a heap.

Cost: the logs to cover (the *clients*) are all the logs up to :data:`MAX_CLIENTS`, and a
deterministic uniform sample beyond (a sample of a density is a density). The first scores
are one matrix product, a block at a time (``n x clients``); each re-score is one
``clients x dim`` product. Near-duplicates of an earlier pick are turned down by the caller's
``accept`` and never counted.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np

MAX_CLIENTS = 4096  # logs whose coverage is scored; a uniform sample beyond that
_BLOCK = 2048  # candidate rows scored per matrix product at the start
_SAMPLE_SEED = 20  # the sample of clients is the same on every run over the same logs
_RESCORE = 32  # heap entries re-scored together (one matrix product)


def facility_location_order(
    unit: np.ndarray,
    candidates: np.ndarray,
    budget: int,
    accept: Callable[[int], bool],
    *,
    clients: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    first: Sequence[int] = (),
) -> list[int]:
    """Up to ``budget`` rows of ``candidates`` (rows of the unit vectors ``unit``) in greedy
    facility-location order; ``accept(row)`` may turn a row down (a near-duplicate), and it
    then costs nothing. ``clients`` are the rows to cover (default: every row of ``unit``).

    With ``groups`` (a group id per row, -1 for none) a pick covers only the clients of its own
    group (and those of none): a log between two groups (a bridge) then stands for one of them,
    not for both. ``first`` rows are taken first, in their order (each group's centre, say),
    and the greedy goes on from what they cover."""
    candidates = np.asarray(candidates, dtype=np.int64)
    if budget <= 0 or len(candidates) == 0:
        return []
    every = np.arange(len(unit)) if clients is None else np.asarray(clients, dtype=np.int64)
    if len(every) > MAX_CLIENTS:
        every = np.sort(np.random.default_rng(_SAMPLE_SEED).choice(every, MAX_CLIENTS,
                                                                   replace=False))
    covered_by = unit[every]  # clients x dim
    client_group = None if groups is None else np.asarray(groups)[every]
    best = np.zeros(len(every), dtype=np.float32)  # each client's best similarity to a pick

    def similarity_to(rows: np.ndarray) -> np.ndarray:
        """rows x clients similarities, zero where a row may not cover a client."""
        similarity: np.ndarray = np.maximum(unit[rows] @ covered_by.T, 0.0)
        if client_group is not None:
            assert groups is not None
            similarity[(np.asarray(groups)[rows][:, None] != client_group[None, :])
                       & (client_group[None, :] >= 0)] = 0.0
        return similarity

    order: list[int] = []
    for row in first:
        if len(order) < budget and accept(int(row)):
            order.append(int(row))
            np.maximum(best, similarity_to(np.array([row]))[0], out=best)
    taken = set(order)
    candidates = np.array([row for row in candidates.tolist() if row not in taken], dtype=np.int64)
    heap: list[tuple[float, int]] = []
    for start in range(0, len(candidates), _BLOCK):
        rows = candidates[start : start + _BLOCK]
        gains = similarity_to(rows).sum(axis=1)
        heap += [(-float(g), int(r)) for g, r in zip(gains, rows, strict=True)]
    heapq.heapify(heap)
    while heap and len(order) < budget:
        # Lazy greedy, a batch at a time: re-score the front of the heap in one product; its
        # best is the next pick when no stale bound left in the heap can beat it.
        front = [heapq.heappop(heap) for _ in range(min(_RESCORE, len(heap)))]
        rows = np.fromiter((row for _, row in front), dtype=np.int64, count=len(front))
        similarity = similarity_to(rows)
        gains = np.maximum(similarity - best, 0.0).sum(axis=1)
        top = int(np.argmax(gains))
        if not heap or gains[top] >= -heap[0][0]:
            if accept(int(rows[top])):
                order.append(int(rows[top]))
                np.maximum(best, similarity[top], out=best)
            gains[top] = -np.inf  # taken, or turned down: never scored again
        for gain, row in zip(gains, rows, strict=True):
            if np.isfinite(gain):
                heapq.heappush(heap, (-float(gain), int(row)))
    return order

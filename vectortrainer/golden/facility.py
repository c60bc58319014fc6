"""Steady picks by facility location: the logs that best stand for where the logs are (VT-20).

The objective is the coverage of the density: ``F(S) = sum over logs i of max over picks s of
max(0, sim(i, s))``. Every log counts once, so a dense region (many logs) weighs in proportion
to its size, and a pick's worth is how much it adds to how well the logs are represented. F is
monotone submodular, so the greedy order is within ``1 - 1/e`` of the best set of every size,
and the lazy greedy (Minoux) finds the same order re-scoring only the front of a heap.

Cost: the logs to cover (the *clients*) are all the logs up to :data:`MAX_CLIENTS`, and a
deterministic uniform sample beyond (a sample of a density is a density). With groups, a
candidate is scored only against the clients it may cover (its group's and the ungrouped ones,
two slices of one client matrix sorted by group): the first scores a block of a group at a
time, each re-score one small product. Near-duplicates of an earlier pick are turned down by
the caller's ``accept`` and never counted.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np

MAX_CLIENTS = 4096  # logs whose coverage is scored; a uniform sample beyond that
_BLOCK = 2048  # candidate rows scored per matrix product at the start
# the sample of clients is the same on every run over the same logs (and, as selection hands
# them over in content order, in any row order: golden/canonical.py)
_SAMPLE_SEED = 20


def client_sample(rows: int, clients: np.ndarray | None = None) -> np.ndarray:
    """The logs whose coverage is scored: ``clients`` (default: all ``rows``), a deterministic
    uniform sample of :data:`MAX_CLIENTS` of them beyond that, in row order."""
    every = np.arange(rows) if clients is None else np.asarray(clients, dtype=np.int64)
    if len(every) > MAX_CLIENTS:
        every = np.sort(np.random.default_rng(_SAMPLE_SEED).choice(every, MAX_CLIENTS,
                                                                   replace=False))
    return every


def facility_location_order(
    unit: np.ndarray,
    candidates: np.ndarray,
    budget: int,
    accept: Callable[[int], bool],
    *,
    clients: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    first: Sequence[int] = (),
    own_weight: np.ndarray | None = None,
) -> list[int]:
    """Up to ``budget`` rows of ``candidates`` (rows of the unit vectors ``unit``) in greedy
    facility-location order; ``accept(row)`` may turn a row down (a near-duplicate), and it
    then costs nothing. ``clients`` are the rows to cover (default: every row of ``unit``).

    With ``groups`` (a group id per row, -1 for none) a pick covers only the clients of its own
    group (and those of none): a log between two groups (a bridge) then stands for one of them,
    not for both. ``first`` rows are taken first, in their order (each group's centre, say),
    and the greedy goes on from what they cover.

    ``own_weight`` (one per row, default 1) is how much a pick's coverage of itself counts in its
    gain: at 0 a row is worth only the *other* logs it stands for, so a log like no other is not
    picked for itself alone."""
    candidates = np.asarray(candidates, dtype=np.int64)
    if budget <= 0 or len(candidates) == 0:
        return []
    every = client_sample(len(unit), clients)
    group_of = (np.zeros(len(unit), dtype=np.int64) if groups is None
                else np.asarray(groups, dtype=np.int64))
    # Clients sorted by group, those of no group first: a pick of group g reaches two slices
    # (no group, and g), views of one matrix, so nothing is copied per group.
    every = every[np.argsort(group_of[every], kind="stable")]
    covered = unit[every]  # clients x dim
    client_group = group_of[every]
    ungrouped = int(np.searchsorted(client_group, 0))
    names, starts = np.unique(client_group[ungrouped:], return_index=True)
    slices = {int(g): (ungrouped + int(s), ungrouped + int(e)) for g, s, e in
              zip(names, starts, [*starts[1:], len(client_group) - ungrouped], strict=True)}
    best = np.zeros(len(every), dtype=np.float32)  # each client's best similarity to a pick
    # Where a row sits among the clients, for the rows whose own coverage counts less than fully.
    client_at = np.full(len(unit), -1, dtype=np.int64)
    discount = np.zeros(len(unit))
    if own_weight is not None:
        discount = 1.0 - np.clip(np.asarray(own_weight, dtype=np.float64), 0.0, 1.0)
        client_at[every] = np.arange(len(every))
        client_at[discount == 0] = -1

    def own_discount(rows: np.ndarray) -> np.ndarray:
        """The part of each row's gain that is its coverage of itself and does not count."""
        at = client_at[rows]
        held = at >= 0
        cut = np.zeros(len(rows))
        cut[held] = discount[rows[held]] * np.maximum(1.0 - best[at[held]], 0.0)
        return cut

    def reach(group: int) -> list[tuple[int, int]]:
        """The slices of clients a pick of ``group`` may cover."""
        own = slices.get(group) if group >= 0 else None
        return [(0, ungrouped)] + ([own] if own else [])

    def gain(row: int) -> float:
        covers = sum(float(np.maximum(covered[a:b] @ unit[row] - best[a:b], 0.0).sum())
                     for a, b in reach(int(group_of[row])))
        if own_weight is None:
            return covers
        return covers - float(own_discount(np.array([row]))[0])

    def take(row: int) -> None:
        for a, b in reach(int(group_of[row])):
            np.maximum(best[a:b], covered[a:b] @ unit[row], out=best[a:b])

    order: list[int] = []
    for row in first:
        if len(order) < budget and accept(int(row)):
            order.append(int(row))
            take(int(row))
    taken = set(order)
    candidates = np.array([row for row in candidates.tolist() if row not in taken], dtype=np.int64)
    heap: list[tuple[float, int]] = []
    for group in np.unique(group_of[candidates]).tolist():
        members = candidates[group_of[candidates] == group]
        for start in range(0, len(members), _BLOCK):
            rows = members[start : start + _BLOCK]
            gains = np.zeros(len(rows))
            for a, b in reach(int(group)):
                gains += np.maximum(
                    unit[rows] @ covered[a:b].T - best[a:b], 0.0).sum(axis=1)
            if own_weight is not None:
                gains -= own_discount(rows)
            heap += [(-float(g), int(r)) for g, r in zip(gains, rows, strict=True)]
    heapq.heapify(heap)
    while heap and len(order) < budget:
        # Lazy greedy: a pick's gain only falls as others are taken, so the front of the heap,
        # re-scored, is the next pick when it still beats every other stale bound.
        _, row = heapq.heappop(heap)
        fresh = gain(row)
        if heap and fresh < -heap[0][0]:
            heapq.heappush(heap, (-fresh, row))
            continue
        if accept(row):
            order.append(row)
            take(row)
    return order

"""Steady picks move to the centres of the logs they stand for (vectortrainer.golden.centres)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from vectortrainer.golden.centres import recentre

DIM = 16


def _blob(rng: np.random.Generator, axis: int, size: int, spread: float = 0.2) -> np.ndarray:
    return np.eye(DIM)[axis] + spread * rng.standard_normal((size, DIM)) / np.sqrt(DIM)


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _coverage(unit: np.ndarray, picks: list[int], groups: np.ndarray) -> float:
    """Every log's best similarity to a pick that reaches it (its cluster's, or any for none)."""
    sims = np.maximum(unit @ unit[picks].T, 0.0)
    reach = (groups[:, None] < 0) | (groups[:, None] == groups[picks][None, :])
    return float(np.where(reach, sims, 0.0).max(axis=1).sum())


def _medoid(unit: np.ndarray, rows: np.ndarray) -> int:
    return int(rows[np.argmax((unit[rows] @ unit[rows].T).sum(axis=1))])


def test_a_pick_between_two_request_types_moves_to_the_centre_of_the_one_it_stands_for() -> None:
    """One cluster holds two request types, A and B. The greedy took a log of A at B's side first
    (it stood for both) and then A's centre, which took A's logs over: the first pick now stands
    for B, and moves to B's centre. A's centre stays."""
    rng = np.random.default_rng(3)
    a, b = _blob(rng, 0, 12), _blob(rng, 0, 12) * 0.3 + np.eye(DIM)[1]
    unit = _unit(np.vstack([a, b]))
    groups = np.zeros(len(unit), dtype=np.int64)
    core = np.ones(len(unit), dtype=bool)
    rows_a, rows_b = np.arange(12), np.arange(12, 24)
    towards_b = int(rows_a[np.argmax(unit[rows_a] @ unit[rows_b].mean(axis=0))])
    centre_a = _medoid(unit, rows_a)
    assert towards_b != centre_a
    moved = recentre(unit, [towards_b, centre_a], groups, core, lambda old, new: True)
    assert moved == [_medoid(unit, rows_b), centre_a]
    assert _coverage(unit, moved, groups) > _coverage(unit, [towards_b, centre_a], groups)


def test_a_move_refused_as_a_near_duplicate_is_not_made() -> None:
    rng = np.random.default_rng(3)
    unit = _unit(np.vstack([_blob(rng, 0, 12), _blob(rng, 1, 12)]))
    groups = np.zeros(len(unit), dtype=np.int64)
    edge = int(np.argmax(unit[:12] @ unit[12:].mean(axis=0)))
    asked: list[tuple[int, int]] = []

    def refuse(old: int, new: int) -> bool:
        asked.append((old, new))
        return False

    assert recentre(unit, [edge], groups, np.ones(24, dtype=bool), refuse) == [edge]
    assert asked  # a move was asked for, and not made


def test_picks_outside_every_cluster_and_clusters_without_core_logs_stay() -> None:
    rng = np.random.default_rng(4)
    unit = _unit(np.vstack([_blob(rng, 0, 10), _blob(rng, 1, 10), _blob(rng, 2, 3)]))
    groups = np.r_[np.zeros(10), np.ones(10), -np.ones(3)].astype(np.int64)
    core = np.r_[np.ones(10), np.zeros(10), np.zeros(3)].astype(bool)
    edge = int(np.argmin(unit[:10] @ unit[:10].mean(axis=0)))
    # an edge of cluster 0, a log of the coreless cluster 1, a log of none
    moved = recentre(unit, [edge, 15, 21], groups, core, lambda old, new: True)
    assert moved[1:] == [15, 21]
    assert moved[0] == _medoid(unit, np.arange(10)) != edge  # cluster 0's one pick moves


@given(st.integers(2, 50), st.integers(1, 8), st.integers(0, 2**16))
def test_recentring_keeps_every_pick_in_its_cluster_on_a_core_log_and_never_loses_coverage(
    n: int, count: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    unit = _unit(rng.standard_normal((n, 6)))
    groups = rng.integers(-1, 3, n)
    core = rng.random(n) < 0.6
    picks = [int(r) for r in rng.choice(n, min(count, n), replace=False)]
    moved = recentre(unit, picks, groups, core, lambda old, new: True)
    assert len(moved) == len(picks) and len(set(moved)) == len(moved)
    for before, after in zip(picks, moved, strict=True):
        if after != before:
            assert groups[after] == groups[before] >= 0 and core[after]
    assert _coverage(unit, moved, groups) >= _coverage(unit, picks, groups) - 1e-4

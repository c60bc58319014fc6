"""Golden selection on planted clusters (FR-1.3, FR-1.4, VT-3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vectortrainer.errors import ConfigError, DataFormatError
from vectortrainer.golden.density import epsilon_density
from vectortrainer.golden.facility import facility_location_order
from vectortrainer.golden.selection import select_golden
from vectortrainer.settings import MAX_AUTO_ANOMALY_SHARE, SelectionSettings

DIM = 64
EPSILON = 0.15
SIZES = [200, 80, 30, 10]


def planted(seed: int = 0) -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    """Four clusters of different sizes, lone new patterns, duplicates and failed logs."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(SIZES) + 1, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    parts, statuses, groups = [], [], {}
    start = 0

    def add(block: np.ndarray, status: list[str] | str, name: str) -> None:
        nonlocal start
        parts.append(block)
        statuses.extend([status] * len(block) if isinstance(status, str) else status)
        groups[name] = np.arange(start, start + len(block))
        start += len(block)

    for c, size in enumerate(SIZES):
        # Pairwise similarity ~ 1 / (1 + 0.3^2) = 0.92: inside epsilon, not duplicates.
        add(centres[c] + 0.3 * rng.standard_normal((size, DIM)) / math.sqrt(DIM), "SUCCESS", f"cluster{c}")
    lone = rng.standard_normal((6, DIM))
    add(lone, ["SUCCESS", "ANOMALY", "SUCCESS", "ANOMALY", "SUCCESS", "SUCCESS"], "lone")
    add(np.repeat(rng.standard_normal((1, DIM)), 2, axis=0), "SUCCESS", "duplicates")
    # Failed logs: a tight error-text cluster, and copies of a lone pattern that would
    # lift its density (and make a big cluster) if they were counted.
    add(centres[-1] + 0.05 * rng.standard_normal((40, DIM)) / math.sqrt(DIM), "ERROR", "failed_cluster")
    add(np.repeat(lone[:1], 5, axis=0), ["FAILURE", "ERROR"] * 2 + ["FAILURE"], "failed_near_lone")
    return np.vstack(parts).astype(np.float32), statuses, groups


def cluster_of(row: int, groups: dict[str, np.ndarray]) -> str:
    return next(name for name, rows in groups.items() if row in rows)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, list[str], dict[str, np.ndarray]]:
    return planted()


def test_every_cluster_is_covered_and_larger_clusters_get_more(data) -> None:
    x, statuses, groups = data
    result = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=12, anomaly_share=0.25))
    assert len(result.steady) == 9 and len(result.anomaly) == 3
    per_cluster = [sum(cluster_of(r, groups) == f"cluster{c}" for r in result.steady) for c in range(len(SIZES))]
    assert all(count >= 1 for count in per_cluster), per_cluster
    assert per_cluster == sorted(per_cluster, reverse=True), per_cluster
    assert sum(per_cluster) == 9
    # Clusters found are exactly the planted successful ones, largest first.
    assert result.cluster_sizes.tolist() == SIZES
    # Ranking: the first round holds each cluster's centre, largest cluster first.
    assert [cluster_of(r, groups) for r in result.steady[:4]] == [f"cluster{c}" for c in range(4)]


def test_first_pick_of_each_cluster_is_its_cosine_medoid(data) -> None:
    x, statuses, groups = data
    result = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=4, anomaly_share=0.0))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    for c, row in enumerate(result.steady):
        members = groups[f"cluster{c}"]
        sims = unit[members] @ unit[members].T
        assert row == members[np.argmax(sims.sum(axis=1))]


def test_failed_logs_are_never_picked_nor_counted(data) -> None:
    x, statuses, groups = data
    result = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=40, anomaly_share=0.5))
    picked = result.rows.tolist()
    assert all(statuses[r] in ("SUCCESS", "ANOMALY") for r in picked)
    ok = np.array([s in ("SUCCESS", "ANOMALY") for s in statuses])
    np.testing.assert_allclose(result.density[ok], epsilon_density(x[ok], EPSILON), atol=1e-4)
    assert (result.density[~ok] == 0).all() and (result.clusters[~ok] == -1).all()
    assert result.excluded == {"failed status": 45}
    # The lone pattern with failed copies stays a lone pattern (density 0).
    assert result.density[groups["lone"][0]] == 0


def test_anomalies_are_the_newest_successful_logs_outside_clusters(data) -> None:
    x, statuses, groups = data
    result = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=20, anomaly_share=0.5))
    new_patterns = set(groups["lone"].tolist()) | set(groups["duplicates"].tolist())
    # The six lone patterns and the pair of identical ones (one pick) are far from every
    # prototype of the clusters: they come first, and only then the clusters' loose ends.
    first = result.anomaly[:7].tolist()
    assert set(first) <= new_patterns and set(groups["lone"].tolist()) <= set(first)
    assert all(result.clusters[r] == -1 for r in result.anomaly)
    assert np.isfinite(result.novelty[result.anomaly]).all()
    assert all(p.strategy == "anomaly" and p.cluster == -1 for p in result.picks if p.row in new_patterns)


def test_the_drift_detectors_flag_breaks_a_tie_between_equally_new_logs(data) -> None:
    x, statuses, groups = data
    rng = np.random.default_rng(7)
    twin = rng.standard_normal((1, x.shape[1])).astype(np.float32)
    vectors = np.vstack([x, twin, twin])
    flagged = len(x) + 1
    result = select_golden(vectors, [*statuses, "SUCCESS", "ANOMALY"],
                           SelectionSettings(epsilon=EPSILON, top_k=20, anomaly_share=0.5))
    # identical, so equally new; the twins are near-duplicates, so only the flagged one is picked
    assert flagged in result.anomaly.tolist() and flagged - 1 not in result.anomaly.tolist()


def test_auto_split_gives_new_patterns_only_what_they_add_to_the_coverage(data) -> None:
    x, statuses, groups = data
    new_rows = np.r_[groups["lone"], groups["duplicates"]]
    counts = {}
    for top_k in (4, 8, 20, 40):
        result = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=top_k))
        assert len(result.rows) == top_k
        assert set(result.anomaly.tolist()) <= set(new_rows.tolist())
        assert len(result.anomaly) <= round(top_k * MAX_AUTO_ANOMALY_SHARE)
        counts[top_k] = len(result.anomaly)
    # A budget that only reaches the cluster centres goes to them; a larger one reaches the new
    # patterns, each worth more than one more log of a tight cluster.
    assert counts[4] == 0 and 0 < counts[8] and counts[40] == len(new_rows) - 1  # one duplicate


def test_near_duplicates_are_suppressed(data) -> None:
    x, statuses, groups = data
    result = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=60, anomaly_share=0.3))
    unit = x[result.rows] / np.linalg.norm(x[result.rows], axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -1)
    assert sims.max() < 1 - EPSILON / 4
    # Two identical isolated logs give at most one pick.
    assert len(set(result.rows.tolist()) & set(groups["duplicates"].tolist())) <= 1
    assert len(set(result.rows.tolist())) == len(result.rows)


def test_budget_below_cluster_count_takes_the_largest_clusters(data) -> None:
    x, statuses, groups = data
    result = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=2, anomaly_share=0.0))
    assert [cluster_of(r, groups) for r in result.steady] == ["cluster0", "cluster1"]
    assert len(result.anomaly) == 0


def test_unused_anomaly_budget_goes_to_steady_state() -> None:
    rng = np.random.default_rng(1)
    centre = rng.standard_normal(DIM)
    centre /= np.linalg.norm(centre)
    x = (centre + 0.3 * rng.standard_normal((50, DIM)) / math.sqrt(DIM)).astype(np.float32)
    result = select_golden(x, ["SUCCESS"] * 50, SelectionSettings(epsilon=EPSILON, top_k=6, anomaly_share=0.5))
    assert len(result.anomaly) == 0 and len(result.steady) == 6


def test_a_cluster_of_duplicates_gives_its_budget_to_the_others() -> None:
    rng = np.random.default_rng(2)
    centres = rng.standard_normal((2, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    copies = np.repeat(centres[:1], 100, axis=0)  # big cluster, all one input
    varied = centres[1] + 0.3 * rng.standard_normal((20, DIM)) / math.sqrt(DIM)
    x = np.vstack([copies, varied]).astype(np.float32)
    result = select_golden(x, ["SUCCESS"] * 120, SelectionSettings(epsilon=EPSILON, top_k=8, anomaly_share=0.0))
    assert sum(r < 100 for r in result.steady) == 1
    assert sum(r >= 100 for r in result.steady) == 7


def test_selection_is_deterministic_and_describes_each_pick(data) -> None:
    x, statuses, _ = data
    first = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=15))
    second = select_golden(x, statuses, SelectionSettings(epsilon=EPSILON, top_k=15))
    assert first.steady.tolist() == second.steady.tolist()
    assert first.anomaly.tolist() == second.anomaly.tolist()
    assert [p.row for p in first.picks] == first.rows.tolist()
    for pick in first.picks:
        assert pick.density == first.density[pick.row]
        if pick.strategy == "steady":
            assert pick.cluster_size == first.cluster_sizes[pick.cluster]


def test_edge_cases_and_bad_input() -> None:
    empty = select_golden(np.zeros((0, 8), np.float32), [], SelectionSettings(epsilon=0.1, top_k=5))
    assert empty.rows.size == 0
    failed_only = select_golden(np.ones((3, 8), np.float32), ["ERROR"] * 3, SelectionSettings(epsilon=0.1, top_k=5))
    assert failed_only.rows.size == 0
    zero = select_golden(np.zeros((2, 8), np.float32), ["SUCCESS"] * 2, SelectionSettings(epsilon=0.1, top_k=5))
    assert zero.rows.size == 0 and zero.excluded == {"zero vector": 2}
    with pytest.raises(DataFormatError, match="aligned"):
        select_golden(np.ones((3, 8), np.float32), ["SUCCESS"], SelectionSettings(epsilon=0.1, top_k=5))
    with pytest.raises(ConfigError, match="top_k"):
        select_golden(np.ones((3, 8), np.float32), ["SUCCESS"] * 3, SelectionSettings(epsilon=0.1, top_k=0))
    with pytest.raises(ConfigError, match="epsilon"):
        select_golden(np.ones((3, 8), np.float32), ["SUCCESS"] * 3, SelectionSettings(epsilon=3, top_k=2))


@given(st.integers(1, 60), st.integers(0, 40), st.integers(0, 3), st.data())
def test_facility_location_picks_each_candidate_once_and_never_loses_coverage(n, budget, seed, data) -> None:
    rng = np.random.default_rng(seed)
    unit = rng.normal(size=(n, 6)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    candidates = np.flatnonzero(rng.random(n) < 0.7)
    refused = set(data.draw(st.sets(st.integers(0, n - 1), max_size=5)))
    first = [int(r) for r in candidates[:2]]
    order = facility_location_order(unit, candidates, budget, lambda r: r not in refused, first=first)
    assert len(order) == len(set(order)) <= budget
    assert set(order) <= set(candidates.tolist()) - refused
    assert order[:len([r for r in first if r not in refused][:budget])] == [r for r in first if r not in refused][:budget]
    covered = [np.maximum(unit @ unit[order[:k]].T, 0).max(axis=1).sum() if k else 0.0 for k in range(len(order) + 1)]
    assert all(b >= a - 1e-5 for a, b in zip(covered, covered[1:]))  # each pick adds coverage or none
    if budget >= len(candidates):  # enough budget: every candidate not refused is picked
        assert len(order) == len(set(candidates.tolist()) - refused)


def test_a_log_whose_own_coverage_does_not_count_is_picked_only_for_the_logs_it_stands_for() -> None:
    """Eleven logs of one pattern and a lone log: by the coverage alone the lone log is the second
    pick (it covers itself in full); with its own weight at 0 it is worth nothing to the others, so
    a second log of the pattern comes first, and at weight 1 the order is the plain one."""
    rng = np.random.default_rng(5)
    centre, lone = np.eye(DIM)[0], np.eye(DIM)[1]
    pattern = centre + 0.35 * rng.standard_normal((11, DIM)) / math.sqrt(DIM)
    unit = np.vstack([pattern, lone]).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    every = np.arange(len(unit))

    plain = facility_location_order(unit, every, 2, lambda row: True)
    assert plain[1] == 11
    counted = facility_location_order(unit, every, 2, lambda row: True, own_weight=np.ones(12))
    assert counted == plain
    alone = np.ones(12)
    alone[11] = 0.0
    discounted = facility_location_order(unit, every, 2, lambda row: True, own_weight=alone)
    assert discounted[0] == plain[0] and discounted[1] != 11
    # With the budget for every log, it is still picked last: its weight orders, never excludes.
    assert facility_location_order(unit, every, 12, lambda row: True, own_weight=alone)[-1] == 11

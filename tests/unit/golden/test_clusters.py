"""Automatic epsilon, clusters that do not chain, and the coverage report on planted data (VT-11)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vectortrainer.golden import clusters
from vectortrainer.golden.clusters import _average_linkage, background_similarity, dense_clusters
from vectortrainer.golden.coverage import coverage
from vectortrainer.golden.density import epsilon_graph_stats
from vectortrainer.golden.epsilon import (
    FALLBACK_EPSILON,
    MAX_EPSILON,
    MIN_EPSILON,
    choose_epsilon,
    given_epsilon,
    otsu_thresholds,
)
from vectortrainer.golden.selection import select_golden
from vectortrainer.settings import SelectionSettings

DIM = 48


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _noise(rng: np.random.Generator, shape: tuple[int, ...] | int, scale: float) -> np.ndarray:
    return scale * rng.standard_normal(shape) / math.sqrt(DIM)


def two_topics_and_bridges(seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Shaped like real logs: two unrelated topics of four phrasings each (phrasings ~0.75 alike,
    paraphrases of one phrasing ~0.94 alike), bridge logs that mix the topics, and lone logs."""
    rng = np.random.default_rng(seed)
    topics = _unit(rng.standard_normal((2, DIM)))
    parts = {}
    for topic, (name, size) in zip(topics, (("topic_a", 150), ("topic_b", 60))):
        phrasings = _unit(topic + _noise(rng, (4, DIM), 0.58))
        parts[name] = np.array([phrasings[i % 4] + _noise(rng, DIM, 0.25) for i in range(size)])
    parts["bridge"] = _unit(topics.sum(axis=0)) + _noise(rng, (5, DIM), 0.8)
    parts["lone"] = rng.standard_normal((8, DIM))
    rows, start = {}, 0
    for name, block in parts.items():
        rows[name] = np.arange(start, start + len(block))
        start += len(block)
    return np.vstack(list(parts.values())).astype(np.float32), rows


def test_otsu_finds_the_gaps_between_three_groups() -> None:
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(0.3, 0.03, 200), rng.normal(0.65, 0.03, 300), rng.normal(0.92, 0.01, 500)])
    lower, upper = otsu_thresholds(values)
    assert 0.36 < lower < 0.58
    assert 0.72 < upper < 0.9


def test_otsu_has_no_cut_without_spread() -> None:
    assert otsu_thresholds(np.full(50, 0.7)) is None
    assert otsu_thresholds(np.array([0.1, 0.2])) is None


def test_auto_epsilon_separates_alone_from_crowded_and_says_why() -> None:
    rng = np.random.default_rng(2)
    kth = np.concatenate([rng.normal(0.3, 0.03, 50), rng.normal(0.7, 0.05, 400), rng.normal(0.93, 0.01, 400)])
    choice = choose_epsilon(kth, 5)
    assert choice.automatic
    assert 0.3 < 1 - choice.epsilon < 0.6  # below every crowded log, above every lone one
    assert choice.link_similarity is not None and choice.link_similarity > 1 - choice.epsilon
    assert choice.dense_share == pytest.approx(np.mean(kth >= 1 - choice.epsilon))
    assert "5th nearest neighbour" in choice.reason and "three-class Otsu" in choice.reason


@pytest.mark.parametrize("kth", [np.full(10, 0.5), np.full(200, 0.8)])
def test_auto_epsilon_falls_back_when_the_data_cannot_tell(kth: np.ndarray) -> None:
    choice = choose_epsilon(kth, 5)
    assert choice.epsilon == FALLBACK_EPSILON
    assert "using 0.2" in choice.reason


def test_auto_epsilon_is_clamped_and_a_given_one_is_kept() -> None:
    rng = np.random.default_rng(3)
    very_spread = np.concatenate([rng.normal(-0.5, 0.02, 100), rng.normal(0.0, 0.02, 100), rng.normal(0.5, 0.02, 100)])
    assert choose_epsilon(very_spread, 5).epsilon == MAX_EPSILON
    tight = np.concatenate([rng.normal(0.97, 0.002, 100), rng.normal(0.985, 0.002, 100), rng.normal(0.999, 0.0005, 100)])
    assert choose_epsilon(tight, 5).epsilon == MIN_EPSILON
    assert given_epsilon(0.3).epsilon == 0.3 and not given_epsilon(0.3).automatic


def test_background_similarity_is_the_mean_over_pairs() -> None:
    rng = np.random.default_rng(4)
    unit = rng.standard_normal((30, 8))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    pairs = unit @ unit.T
    expected = (pairs.sum() - np.trace(pairs)) / (30 * 29)
    assert background_similarity(unit) == pytest.approx(expected)


def test_bridges_chain_plain_components_but_not_dense_clusters() -> None:
    x, rows = two_topics_and_bridges()
    selection = select_golden(x, ["SUCCESS"] * len(x), SelectionSettings(top_k=10))
    plain = epsilon_graph_stats(x, selection.epsilon)
    assert plain.components[rows["topic_a"][0]] == plain.components[rows["topic_b"][0]]  # the chaining to fix

    stats = epsilon_graph_stats(x, "auto", min_samples=5)
    found = dense_clusters(_unit(x), stats.core, stats.components, stats.nearest_core, min_cluster_size=5)
    a = set(found.labels[rows["topic_a"]].tolist())
    b = set(found.labels[rows["topic_b"]].tolist())
    assert a == {0} and b == {1}  # one cluster per topic, numbered largest first
    assert found.sizes.tolist()[1] < found.sizes.tolist()[0]
    assert (found.labels[rows["lone"]] == -1).sum() >= 6
    assert found.micro_clusters >= 2


def test_selection_never_makes_a_bridge_a_medoid_nor_a_fringe_log_an_anomaly() -> None:
    x, rows = two_topics_and_bridges()
    result = select_golden(x, ["SUCCESS"] * len(x), SelectionSettings(top_k=10, anomaly_share=0.3))
    assert result.epsilon_choice is not None and result.epsilon_choice.automatic
    first_of_cluster = {}
    for pick in result.picks:
        if pick.strategy == "steady":
            first_of_cluster.setdefault(pick.cluster, pick.row)
    assert len(first_of_cluster) == 2
    assert not set(first_of_cluster.values()) & set(rows["bridge"].tolist())
    assert not set(result.anomaly.tolist()) & set(np.flatnonzero(result.fringe).tolist())
    assert set(result.anomaly.tolist()) <= set(rows["lone"].tolist()) | set(rows["bridge"].tolist())
    assert set(result.anomaly.tolist()) & set(rows["lone"].tolist())


def test_anomaly_ties_at_zero_density_break_by_the_kth_neighbour_not_row_order() -> None:
    rng = np.random.default_rng(5)
    e = np.eye(DIM)
    crowd = e[0] + _noise(rng, (60, DIM), 0.2)
    # None of the three has a neighbour within epsilon; the farther a log is from its
    # 5th neighbour, the newer it is: row 61 (alone), then 62, then 60 (closest to the crowd).
    lone = np.stack([e[0] + e[1], e[3], e[0] + 2 * e[2]])
    x = np.vstack([crowd, lone]).astype(np.float32)
    result = select_golden(x, ["SUCCESS"] * len(x), SelectionSettings(epsilon=0.1, top_k=4, anomaly_share=0.75, min_samples=5))
    assert result.density[60:].tolist() == [0, 0, 0]
    assert result.anomaly.tolist() == [61, 62, 60]


def test_coverage_counts_every_member_once_and_explains_the_uncovered() -> None:
    x, rows = two_topics_and_bridges()
    full = select_golden(x, ["SUCCESS"] * len(x), SelectionSettings(top_k=8, anomaly_share=0.25))
    report = coverage(full, x)
    assert report.clusters == report.covered_clusters == 2
    assert len(report.stands_for) == len(full.picks) and min(report.stands_for) >= 1
    in_clusters = int((full.clusters >= 0).sum())
    assert report.represented >= in_clusters  # every cluster member stands with a pick of its cluster
    assert report.represented <= report.participating == len(x)
    assert report.uncovered == []
    assert report.lines()[-1].startswith("epsilon auto: ")

    tight = select_golden(x, ["SUCCESS"] * len(x), SelectionSettings(top_k=1, anomaly_share=0.0))
    report = coverage(tight, x)
    assert report.covered_clusters == 1
    assert [(u.cluster, u.size) for u in report.uncovered] == [(1, int(tight.cluster_sizes[1]))]
    assert "larger clusters first" in report.uncovered[0].reason
    assert report.to_dict()["uncovered"][0]["cluster"] == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matrix_and_graph_average_linkage_merge_alike(seed: int, monkeypatch) -> None:
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((5, DIM)))
    points = _unit(centres[rng.integers(0, 5, 300)] + _noise(rng, (300, DIM), 0.9))
    groups = rng.integers(0, 120, 300)  # 120 micro-clusters of a few points each
    sums = np.zeros((120, DIM))
    np.add.at(sums, groups, points)
    sizes = np.bincount(groups, minlength=120).astype(np.float64)
    keep = sizes > 0
    sums, sizes = sums[keep], sizes[keep]
    on_matrix = _average_linkage(sums, sizes, 0.3)
    on_graph = _average_linkage(sums, sizes, 0.3, matrix_limit=0)
    assert 1 < len(set(on_matrix.tolist())) < len(sizes)  # some merges, not all
    def partition(owner: np.ndarray) -> set[frozenset[int]]:
        return {frozenset(np.flatnonzero(owner == group).tolist()) for group in set(owner.tolist())}

    assert partition(on_matrix) == partition(on_graph)
    monkeypatch.setattr(clusters, "EXACT_PARTNERS_LIMIT", 0)  # partners from the HNSW index
    assert partition(_average_linkage(sums, sizes, 0.3, matrix_limit=0)) == partition(on_matrix)


def test_micro_cluster_sums_are_the_sums_of_their_core_rows_across_chunks(monkeypatch) -> None:
    monkeypatch.setattr(clusters, "_ROW_CHUNK", 7)  # runs of one micro-cluster cross chunk edges
    rng = np.random.default_rng(3)
    unit = rng.standard_normal((200, 6)).astype(np.float32)
    core_rows = np.sort(rng.choice(200, size=120, replace=False))
    micro_of_core = rng.integers(0, 9, size=120)
    expected = np.zeros((10, 6))
    np.add.at(expected, micro_of_core, unit[core_rows].astype(np.float64))
    np.testing.assert_allclose(clusters._micro_sums(unit, core_rows, micro_of_core, 10), expected, rtol=1e-12)
    assert not clusters._micro_sums(unit, core_rows, micro_of_core, 10)[9].any()  # a micro-cluster with no row

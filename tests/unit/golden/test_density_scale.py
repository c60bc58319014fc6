"""VT-2 at scale: the pruned exact mode equals brute force, the approximate mode reports its true error."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.golden.test_density import as_partition, brute_force, clustered
from vectortrainer.golden import density as density_module
from vectortrainer.golden.approximate import exact_density_of
from vectortrainer.golden.density import epsilon_graph_stats, similarity_threshold
from vectortrainer.golden.kernel import GraphAccumulator, graph_task
from vectortrainer.golden.pruning import bound_blocks, kmeans_pieces


def uniform(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


@pytest.mark.parametrize("data", ["clustered", "uniform"])
@pytest.mark.parametrize("epsilon", [0.1, 0.6])
def test_pruned_mode_equals_brute_force(data: str, epsilon: float) -> None:
    x = clustered(400, 16, centres=12, spread=0.35, seed=11) if data == "clustered" else uniform(400, 16, seed=11)
    density, counts, groups = brute_force(x, epsilon)
    stats = epsilon_graph_stats(x, epsilon, mode="pruned", block_size=16)
    assert stats.mode == "pruned"
    np.testing.assert_array_equal(stats.neighbour_counts, counts)
    np.testing.assert_allclose(stats.density, density, rtol=1e-5, atol=1e-4)
    assert as_partition(stats.components) == {frozenset(g) for g in groups}
    assert all(stats.components[i] == min(g) for g in groups for i in g)


def test_pruning_skips_most_pairs_on_clustered_data_and_stays_exact() -> None:
    x = clustered(6000, 48, centres=40, spread=0.3, seed=2)
    exact = epsilon_graph_stats(x, 0.1, mode="exact", block_size=256)
    pruned = epsilon_graph_stats(x, 0.1, mode="pruned", block_size=256)
    assert pruned.pair_work < 0.2  # most block pairs were never multiplied
    np.testing.assert_array_equal(pruned.neighbour_counts, exact.neighbour_counts)
    np.testing.assert_allclose(pruned.density, exact.density, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(pruned.components, exact.components)


def test_pruned_knn_core_and_nearest_core_equal_the_exact_pass() -> None:
    x = clustered(3000, 32, centres=25, spread=0.35, seed=5)
    exact = epsilon_graph_stats(x, "auto", mode="exact", block_size=128)
    pruned = epsilon_graph_stats(x, "auto", mode="pruned", block_size=128)
    assert pruned.epsilon == pytest.approx(exact.epsilon, abs=1e-6)
    np.testing.assert_allclose(pruned.kth_similarity, exact.kth_similarity, atol=1e-5)
    np.testing.assert_array_equal(pruned.core, exact.core)
    np.testing.assert_array_equal(pruned.nearest_core, exact.nearest_core)
    np.testing.assert_array_equal(pruned.components, exact.components)
    np.testing.assert_array_equal(pruned.neighbour_counts, exact.neighbour_counts)


def test_angular_bound_never_cuts_a_true_neighbour_pair() -> None:
    x = clustered(1500, 24, centres=10, spread=0.5, seed=9)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    pieces = kmeans_pieces(unit, block_size=64, seed=0)
    permuted = unit[pieces.order].astype(np.float64)
    bounds = np.vstack([block for _, block in bound_blocks(pieces, block=5)])
    assert bounds.shape == (len(pieces), len(pieces))
    for a in range(0, len(pieces), 3):
        rows = permuted[pieces.starts[a] : pieces.stops[a]]
        for b in range(len(pieces)):
            actual = (rows @ permuted[pieces.starts[b] : pieces.stops[b]].T).max()
            assert actual <= bounds[a, b] + 1e-6  # unit rows are float32: self-similarity can be 1 + 1e-8


def test_tasks_merge_to_the_same_result_in_any_grouping() -> None:
    # The Ray-ready contract: a pair task is a pure function of two row sets.
    x = clustered(300, 12, centres=5, spread=0.5, seed=4)
    unit = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    thr = similarity_threshold(0.2)
    ids = np.arange(300)
    whole = GraphAccumulator(300, 300, False)
    whole.add(ids, None, graph_task(unit, None, ids, None, thr, thr, None, None))
    split = GraphAccumulator(300, 300, False)
    lo, hi = ids[:120], ids[120:]
    split.add(lo, None, graph_task(unit[lo], None, lo, None, thr, thr, None, None))
    split.add(hi, None, graph_task(unit[hi], None, hi, None, thr, thr, None, None))
    split.add(lo, hi, graph_task(unit[lo], unit[hi], lo, hi, thr, thr, None, None))
    np.testing.assert_array_equal(split.counts, whole.counts)
    np.testing.assert_allclose(split.density, whole.density, rtol=1e-6)  # BLAS blocking: float32 rounding only
    np.testing.assert_array_equal(split.components(), whole.components())


def test_ann_mode_range_search_is_not_capped_and_reports_its_true_error() -> None:
    x = clustered(4000, 32, centres=8, spread=0.5, seed=7)
    exact = epsilon_graph_stats(x, 0.25, mode="exact")
    assert exact.neighbour_counts.max() > 200  # far more than the old top-64 cap
    ann = epsilon_graph_stats(x, 0.25, mode="ann", nprobe=4, error_sample_size=len(x))
    assert ann.mode == "ann"
    assert ann.neighbour_counts.max() > 64
    # Range search never invents neighbours.
    assert (ann.neighbour_counts <= exact.neighbour_counts).all()
    assert (ann.density <= exact.density + 1e-3).all()
    # Sampling every row, the reported error is the true error against the exact pass.
    error = ann.density_error
    assert error is not None and error.sample_size == len(x)
    positive = exact.density > 0
    relative = np.where(positive, np.abs(ann.density - exact.density) / np.where(positive, exact.density, 1), 0)
    assert error.mean_relative_error == pytest.approx(relative.mean(), abs=1e-6)
    assert error.undercounted_share == pytest.approx((ann.density < 0.9 * exact.density).mean())
    assert "under-counted" in error.describe()


def test_ann_error_is_measured_on_a_sample_against_one_row_by_all_rows_products() -> None:
    x = clustered(2000, 16, centres=6, spread=0.5, seed=1)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    exact = epsilon_graph_stats(x, 0.2, mode="exact")
    rows = np.array([0, 17, 1999])
    np.testing.assert_allclose(exact_density_of(unit.astype(np.float32), rows, similarity_threshold(0.2)),
                               exact.density[rows], rtol=1e-6)
    ann = epsilon_graph_stats(x, 0.2, mode="ann", nprobe=64, error_sample_size=300)
    assert ann.density_error is not None and ann.density_error.sample_size == 300
    assert ann.density_error.mean_relative_error < 0.01


def test_auto_beyond_the_exact_limit_prunes_clustered_data_and_runs_every_pair_where_it_cannot(monkeypatch) -> None:
    monkeypatch.setattr(density_module, "EXACT_MODE_LIMIT", 500)
    clustered_rows = clustered(3000, 32, centres=30, spread=0.3, seed=3)
    stats = epsilon_graph_stats(clustered_rows, "auto", block_size=128)
    assert stats.mode == "pruned" and stats.density_error is None and stats.kth_mode == "exact"
    exact = epsilon_graph_stats(clustered_rows, "auto", mode="exact", block_size=128)
    np.testing.assert_array_equal(stats.neighbour_counts, exact.neighbour_counts)
    # Uniform 8-d data at a wide epsilon: every pair survives the bound, so "auto" runs every
    # pair exactly (the index measured slower than that where pruning fails); "ann" on request.
    wide = uniform(3000, 8, seed=3)
    stats = epsilon_graph_stats(wide, 0.9, block_size=128, min_samples=5)
    exact = epsilon_graph_stats(wide, 0.9, mode="exact", block_size=128, min_samples=5)
    assert stats.mode == "exact" and stats.kth_mode == "exact" and stats.density_error is None
    np.testing.assert_array_equal(stats.neighbour_counts, exact.neighbour_counts)
    np.testing.assert_array_equal(stats.components, exact.components)
    np.testing.assert_allclose(stats.kth_similarity, exact.kth_similarity, atol=1e-5)
    stats = epsilon_graph_stats(wide, 0.9, mode="ann", block_size=128, error_sample_size=200)
    assert stats.mode == "ann"
    assert stats.density_error is not None and stats.density_error.sample_size == 200
    # Where the kNN pass cannot prune enough, it probes the pieces nearest each row, or runs
    # every pair where probing would cost as much; density stays pruned and exact.
    monkeypatch.setattr(density_module, "KNN_WORK_LIMIT", 0.0)
    isolated = np.concatenate([clustered(2500, 32, centres=25, spread=0.3, seed=4), uniform(500, 32, seed=4)])
    exact = epsilon_graph_stats(isolated, 0.1, mode="exact", min_samples=5, block_size=128)
    stats = epsilon_graph_stats(isolated, 0.1, min_samples=5, block_size=128)
    assert stats.mode == "pruned" and stats.kth_mode == "probed" and stats.density_error is None
    np.testing.assert_array_equal(stats.neighbour_counts, exact.neighbour_counts)
    assert (stats.kth_similarity <= exact.kth_similarity + 1e-5).all()  # a k-th over fewer rows
    assert np.isclose(stats.kth_similarity, exact.kth_similarity, atol=1e-5).mean() > 0.99
    monkeypatch.setattr(density_module, "PROBED_WORK_LIMIT", 0.0)
    stats = epsilon_graph_stats(isolated, 0.1, min_samples=5, block_size=128)
    assert stats.mode == "pruned" and stats.kth_mode == "exact" and stats.density_error is None
    np.testing.assert_array_equal(stats.neighbour_counts, exact.neighbour_counts)
    np.testing.assert_allclose(stats.kth_similarity, exact.kth_similarity, atol=1e-5)


def test_selection_and_the_cli_summary_carry_the_error_of_approximate_density() -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from vectortrainer.cli.select import _summary_table
    from vectortrainer.golden.selection import select_golden
    from vectortrainer.settings import SelectionSettings

    x = clustered(3000, 24, centres=10, spread=0.5, seed=8)
    statuses = ["SUCCESS"] * len(x)
    exact = select_golden(x, statuses, SelectionSettings(epsilon=0.2, top_k=10, density_mode="exact"))
    assert exact.density_error is None
    approx = select_golden(x, statuses, SelectionSettings(epsilon=0.2, top_k=10, density_mode="ann"))
    error = approx.density_error
    assert approx.density_mode == "ann" and error is not None and error.sample_size == 500
    report = SimpleNamespace(function_name="f", total_logs=3000, usable_logs=3000, steady=8, steady_outside=0,
                             anomaly=2, clusters=8,
                             density_percentiles={}, density_mode=approx.density_mode, density_error=error,
                             skipped={}, excluded={}, epsilon=0.2, top_k=10, coverage=None, timings={})
    console = Console(width=200, record=True)
    console.print(_summary_table(report))
    text = console.export_text()
    assert "under-counted by >10%" in text and "500 sampled rows" in text
    assert "recall" not in text


@pytest.mark.parametrize("mode", ["exact", "pruned", "probed", "ann"])
def test_opposite_vectors_join_one_component_at_epsilon_two(mode: str) -> None:
    # Without min_samples every neighbour pair joins components, whatever the link cut.
    x = np.array([[1.0], [-1.0]], dtype=np.float32)
    stats = epsilon_graph_stats(x, 2.0, mode=mode, block_size=1)
    assert stats.neighbour_counts.tolist() == [1, 1]
    assert stats.components.tolist() == [0, 0]

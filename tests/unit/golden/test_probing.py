"""Density on the pieces nearest each row (issue 27): within its stated error, never over-counted,
chosen by ``auto`` only where the bound cannot prune and probing costs less than every pair."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.golden.test_density import clustered
from vectortrainer.golden import density as density_module
from vectortrainer.golden import probing, ring
from vectortrainer.golden.density import epsilon_graph_stats, unit_rows
from vectortrainer.golden.pruning import kmeans_pieces


@pytest.fixture(scope="module")
def loose() -> np.ndarray:
    # loose clusters: the angular bound skips almost no pair (pruned work 0.94)
    return clustered(20000, 16, centres=40, spread=0.6, seed=5)


@pytest.fixture(scope="module")
def exact(loose: np.ndarray) -> density_module.DensityResult:
    return epsilon_graph_stats(loose, 0.2, mode="exact", min_samples=5)


def test_each_piece_is_paired_with_every_piece_its_rows_are_nearest() -> None:
    unit, _ = unit_rows(clustered(3000, 16, centres=12, spread=0.5, seed=1))
    pieces = kmeans_pieces(unit, 128)
    rows = unit[pieces.order]
    nearest = probing.nearest_pieces(rows, pieces, 4)
    scores = rows @ pieces.centres.astype(np.float32).T
    np.testing.assert_array_equal(nearest[:, 0], scores.argmax(axis=1))
    assert (np.diff(np.take_along_axis(scores, nearest, axis=1), axis=1) <= 1e-6).all()  # nearest first
    pairs = probing.probe_pairs(pieces, nearest, 4)
    partners = probing.partners_of(pieces, pairs)
    piece_of = np.repeat(np.arange(len(pieces)), pieces.sizes)
    for position in range(0, len(rows), 7):
        a = int(piece_of[position])
        for b in nearest[position]:
            if b != a:
                assert max(a, b) in partners[min(a, b)]
    assert all((p > a).all() and (np.diff(p) > 0).all() for a, p in enumerate(partners))
    assert sum(len(p) for p in partners) == len(pairs)


def test_probed_density_stays_within_its_stated_error(loose, exact) -> None:
    stats = epsilon_graph_stats(loose, 0.2, mode="probed", min_samples=5)
    assert stats.mode == "probed" and stats.kth_mode == "probed"
    assert stats.pair_work < 0.5  # far less than every pair
    assert (stats.kth_similarity <= exact.kth_similarity + 1e-5).all()  # a k-th over fewer rows
    assert np.isclose(stats.kth_similarity, exact.kth_similarity, atol=1e-5).mean() > 0.99
    positive = exact.density > 0
    relative = np.abs(stats.density - exact.density)[positive] / exact.density[positive]
    assert relative.mean() <= 0.02
    error = stats.density_error
    assert error is not None and error.sample_size == 500 and error.mean_relative_error <= 0.02
    np.testing.assert_array_equal(stats.components, exact.components)


def test_the_probed_pairs_only_miss_neighbours_and_the_ring_estimates_them_without_bias(
        loose, exact, monkeypatch) -> None:
    monkeypatch.setattr(probing, "PROBE_STEPS", (1,))  # one probe: many neighbours missed
    monkeypatch.setattr(ring, "RING_WIDTHS", ())
    pairs_only = epsilon_graph_stats(loose, 0.2, mode="probed", min_samples=5)
    assert (pairs_only.neighbour_counts <= exact.neighbour_counts).all()  # never invented
    assert (pairs_only.density <= exact.density + 1e-4).all()
    monkeypatch.undo()
    monkeypatch.setattr(probing, "PROBE_STEPS", (1,))
    with_ring = epsilon_graph_stats(loose, 0.2, mode="probed", min_samples=5)
    positive = exact.density > 0
    missed = (exact.density - pairs_only.density)[positive].sum()
    assert missed > 0.1 * exact.density[positive].sum()
    left = (exact.density - with_ring.density)[positive]
    assert abs(left.sum()) < 0.25 * missed  # the estimate of what was missed is about right
    relative = lambda got: (np.abs(got - exact.density)[positive] / exact.density[positive]).mean()  # noqa: E731
    assert relative(with_ring.density) < 0.6 * relative(pairs_only.density)


def test_the_stated_error_is_the_true_error_on_its_sample_even_when_probing_misses(loose, exact,
                                                                                 monkeypatch) -> None:
    monkeypatch.setattr(probing, "PROBE_STEPS", (1,))  # one piece per row: many neighbours missed
    stats = epsilon_graph_stats(loose, 0.2, mode="probed", min_samples=5)
    assert stats.mode == "probed" and stats.density_error is not None
    sample = np.sort(np.random.default_rng(0).choice(len(loose), 500, replace=False))
    truth, got = exact.density[sample], stats.density[sample]
    relative = np.where(truth > 0, np.abs(got - truth) / np.where(truth > 0, truth, 1), got != 0)
    assert relative.mean() > 0.02  # it did miss neighbours ...
    assert stats.density_error.mean_relative_error == pytest.approx(relative.mean(), rel=1e-4)  # ... and says so


def test_auto_probes_only_where_the_bound_cannot_prune_and_probing_is_cheaper(loose, exact,
                                                                             monkeypatch) -> None:
    monkeypatch.setattr(density_module, "EXACT_MODE_LIMIT", 500)
    stats = epsilon_graph_stats(loose, 0.2, min_samples=5)
    assert stats.mode == "probed" and stats.density_error is not None
    tight = clustered(3000, 32, centres=30, spread=0.3, seed=3)
    assert epsilon_graph_stats(tight, 0.1, min_samples=5, block_size=128).mode == "pruned"
    monkeypatch.setattr(density_module, "PROBED_WORK_LIMIT", 0.0)  # probing would cost as much
    stats = epsilon_graph_stats(loose, 0.2, min_samples=5)
    assert stats.mode == "exact" and stats.kth_mode == "exact" and stats.density_error is None
    np.testing.assert_array_equal(stats.neighbour_counts, exact.neighbour_counts)


def test_auto_epsilon_through_probing_matches_the_exact_choice(loose, monkeypatch) -> None:
    monkeypatch.setattr(density_module, "EXACT_MODE_LIMIT", 500)
    exact = epsilon_graph_stats(loose, "auto", mode="exact")
    stats = epsilon_graph_stats(loose, "auto")
    assert stats.mode == "probed"
    assert stats.epsilon == pytest.approx(exact.epsilon, abs=0.005)
    assert (stats.core == exact.core).mean() > 0.99


@pytest.mark.parametrize("epsilon, min_samples", [(0.5, None), ("auto", None), (0.5, 3)])
def test_probed_on_request_runs_every_pair_where_probing_would_cost_as_much(epsilon, min_samples) -> None:
    x = np.random.default_rng(0).standard_normal((200, 8)).astype(np.float32)  # two pieces
    stats = epsilon_graph_stats(x, epsilon, mode="probed", min_samples=min_samples)
    exact = epsilon_graph_stats(x, epsilon, mode="exact", min_samples=min_samples)
    assert stats.mode == "exact" and stats.density_error is None
    assert stats.kth_mode == (None if min_samples is None and epsilon != "auto" else "exact")
    np.testing.assert_array_equal(stats.neighbour_counts, exact.neighbour_counts)
    np.testing.assert_array_equal(stats.components, exact.components)


def test_the_ring_is_the_nearest_unpaired_pieces_and_scores_them_exactly_when_every_row_is_sampled() -> None:
    unit, _ = unit_rows(clustered(3000, 16, centres=12, spread=0.5, seed=2))
    pieces = kmeans_pieces(unit, 128)
    rows = unit[pieces.order]
    pairs = probing.probe_pairs(pieces, probing.nearest_pieces(rows, pieces, 2), 2)
    paired = ring.paired_lists(pieces, pairs)
    rings = ring.rings(pieces, paired, 5)
    for a, around in rings.items():
        assert a not in around and not np.isin(around, paired[a]).any()
        others = np.setdiff1d(np.arange(len(pieces)), np.concatenate([paired[a], [a]]))
        similarity = pieces.centres[others] @ pieces.centres[a]
        np.testing.assert_allclose(np.sort(pieces.centres[around] @ pieces.centres[a])[::-1],
                                   np.sort(similarity)[::-1][: len(around)])
    sample = ring.sample_pieces(pieces, 3)
    for start, stop, chosen in zip(pieces.starts, pieces.stops, sample.rows, strict=True):
        assert ((chosen >= start) & (chosen < stop)).all() and len(chosen) == min(3, stop - start)
        assert sample.weights[start:stop].sum() == pytest.approx(stop - start)  # the piece counts whole
    assert not (sample.rows[0] == np.arange(pieces.starts[0], pieces.starts[0] + 3)).all()  # not the oldest
    # every row of a piece sampled: the estimate is the exact sum over the ring's rows
    everything = ring.sample_pieces(pieces, 10_000)
    a = 3
    (own, columns), = [task for task in ring.ring_pairs(pieces, {a: rings[a]}, everything)]
    density, counts = ring.sampled_sums(rows, everything.weights, 0.8, (own, columns))
    sims = rows[own] @ rows[columns].T
    np.testing.assert_allclose(density, np.where(sims >= 0.8, sims, 0).sum(axis=1), rtol=1e-5)
    np.testing.assert_array_equal(counts, (sims >= 0.8).sum(axis=1))


def test_a_ring_estimate_from_fewer_than_min_hits_scored_rows_is_left_out() -> None:
    # rows 0 and 1 are the piece; rows 2..7 are scored ring rows, each standing for 10 rows
    rows = np.zeros((8, 2), dtype=np.float32)
    rows[:, 0] = 1.0
    rows[1] = [0.0, 1.0]  # row 1 is alike only the last two scored rows
    rows[6:] = [0.0, 1.0]
    weights = np.full(8, 10.0)
    density, counts = ring.sampled_sums(rows, weights, 0.9, (slice(0, 2), np.arange(2, 8)))
    assert ring.MIN_HITS > 2
    assert counts.tolist() == [40.0, 0.0]  # row 0: 4 hits x 10; row 1: 2 hits, too few to trust
    assert density.tolist() == pytest.approx([40.0, 0.0])


def test_the_probe_moves_the_bar_forward_to_the_end_and_a_cancel_in_it_puts_the_rows_back(loose) -> None:
    seen: list[float] = []
    epsilon_graph_stats(loose, "auto", mode="probed", progress=lambda done, total: seen.append(done / total))
    assert seen and seen[-1] == 1.0
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False))  # never backwards
    # the probe's first step (each row's nearest pieces) reports before the k-th pass starts
    assert 0 < seen[0] <= 0.5 * density_module.PROBE_SHARE  # its share of the first of two passes

    work = loose.copy()
    calls = 0

    def cancel(done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # inside the probe, before any pass
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        epsilon_graph_stats(work, "auto", mode="probed", overwrite=True, progress=cancel)
    np.testing.assert_array_equal(work, unit_rows(loose)[0])

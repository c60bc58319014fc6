"""Working without copies of the matrix: rows reordered and normalised in place, and put back."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vectortrainer.golden.density import epsilon_graph_stats, unit_rows
from vectortrainer.golden.pruning import reorder_rows, restore_rows
from vectortrainer.golden.selection import select_golden
from vectortrainer.settings import SelectionSettings


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, dim)).astype(np.float32)
    return centres[rng.integers(0, 8, n)] + 0.25 * rng.standard_normal((n, dim)).astype(np.float32)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_reordering_in_place_equals_fancy_indexing_and_restores_exactly(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, 5)).astype(np.float32)
    original = matrix.copy()
    order = rng.permutation(n)
    reorder_rows(matrix, order)
    np.testing.assert_array_equal(matrix, original[order])
    restore_rows(matrix, order)
    np.testing.assert_array_equal(matrix, original)


def test_unit_rows_normalises_a_float32_array_in_place_only_when_asked() -> None:
    x = clustered(50, 8, seed=1)
    x[3] = 0.0
    kept = x.copy()
    copied, nonzero = unit_rows(x)
    np.testing.assert_array_equal(x, kept)  # the default leaves the input alone
    same, _ = unit_rows(x, copy=False)
    assert same is x
    np.testing.assert_allclose(np.linalg.norm(x[nonzero], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(x, copied)
    assert not nonzero[3] and not x[3].any()


@pytest.mark.parametrize("mode", ["exact", "pruned"])
def test_density_with_overwrite_gives_the_same_result_and_leaves_rows_in_their_places(mode: str) -> None:
    x = clustered(3000, 16, seed=2)
    reference = epsilon_graph_stats(x.copy(), "auto", mode=mode, block_size=64)
    work = x.copy()
    stats = epsilon_graph_stats(work, "auto", mode=mode, block_size=64, overwrite=True)
    np.testing.assert_array_equal(stats.density, reference.density)
    np.testing.assert_array_equal(stats.components, reference.components)
    np.testing.assert_array_equal(stats.nearest_core, reference.nearest_core)
    np.testing.assert_array_equal(work, unit_rows(x)[0])  # normalised, each row in its own place


def test_a_cancel_during_the_pass_still_puts_the_rows_back() -> None:
    x = clustered(3000, 16, seed=3)
    work = x.copy()

    def cancel(done: int, total: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        epsilon_graph_stats(work, 0.2, mode="pruned", block_size=64, overwrite=True, progress=cancel)
    np.testing.assert_array_equal(work, unit_rows(x)[0])


def test_selection_with_overwrite_picks_the_same_logs_from_the_matrix_itself() -> None:
    x = clustered(2500, 16, seed=4)
    statuses = ["ERROR" if i % 17 == 0 else "SUCCESS" for i in range(len(x))]
    x[5] = 0.0  # a zero vector: left out like a failed log
    reference = select_golden(x.copy(), statuses, SelectionSettings(top_k=12))
    work = x.copy()
    selection = select_golden(work, statuses, SelectionSettings(top_k=12), overwrite=True)
    np.testing.assert_array_equal(selection.steady, reference.steady)
    np.testing.assert_array_equal(selection.anomaly, reference.anomaly)
    np.testing.assert_array_equal(selection.density, reference.density)
    np.testing.assert_array_equal(selection.clusters, reference.clusters)
    part = selection.participating
    np.testing.assert_array_equal(work[~part], x[~part])  # left-out rows untouched
    np.testing.assert_array_equal(work[part], unit_rows(x[part])[0])  # the others normalised in place, once

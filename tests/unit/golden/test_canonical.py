"""The same logs give the same picks in any row order (VT-20): a compacted store reads back in
another order, and the golden set must not change with it."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vectortrainer.golden import selection as selection_module
from vectortrainer.golden.canonical import content_keys, content_order
from vectortrainer.golden.facility import MAX_CLIENTS
from vectortrainer.golden.selection import GoldenSelection, select_golden
from vectortrainer.settings import SelectionSettings


def blobs(sizes: list[int], dim: int, lone: int, seed: int) -> np.ndarray:
    """Clusters of the given sizes (equal sizes tie in 'largest cluster first') and lone logs."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(sizes), dim))
    parts = [centre + 0.35 * rng.standard_normal((size, dim)) / math.sqrt(dim)
             for centre, size in zip(centres, sizes, strict=True)]
    parts.append(rng.standard_normal((lone, dim)))
    return np.vstack(parts).astype(np.float32)


def picks_by_row(result: GoldenSelection, order: np.ndarray) -> list[tuple[int, str, int]]:
    """Each pick as (row of the unpermuted logs, strategy, rank)."""
    return [(int(order[p.row]), p.strategy, p.rank) for p in result.picks]


def test_equal_rows_get_equal_keys_wherever_they_are_and_distinct_rows_never_collide() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((20_000, 48)).astype(np.float32)
    matrix[7] = matrix[19_000]
    keys = content_keys(matrix)
    assert keys[7] == keys[19_000]
    assert len(np.unique(keys)) == len(matrix) - 1
    shuffle = rng.permutation(len(matrix))
    assert np.array_equal(content_keys(matrix[shuffle]), keys[shuffle])
    # one bit of one word moves the key
    nudged = matrix[:1].copy()
    nudged.view(np.uint32)[0, 5] ^= 1
    assert content_keys(nudged)[0] != keys[0]


def test_content_order_puts_the_same_rows_in_the_same_order() -> None:
    matrix = blobs([30, 30], 16, 5, seed=1)
    shuffle = np.random.default_rng(2).permutation(len(matrix))
    assert np.array_equal(shuffle[content_order(matrix[shuffle])], content_order(matrix))


def test_picks_do_not_change_with_the_row_order_beyond_the_sampled_clients() -> None:
    # More logs than facility location scores (a sample of them is scored), clusters of equal
    # size, lone logs for the new-pattern picks.
    matrix = blobs([900, 900, 900, 600, 600, 300, 300], 32, 400, seed=3)
    assert len(matrix) > MAX_CLIENTS
    statuses = ["SUCCESS"] * len(matrix)
    chosen = SelectionSettings(top_k=80)
    identity = np.arange(len(matrix))
    first = select_golden(matrix.copy(), statuses, chosen)
    assert len(first.anomaly) and len(first.steady)
    for seed in (4, 5):
        shuffle = np.random.default_rng(seed).permutation(len(matrix))
        again = select_golden(matrix[shuffle].copy(), statuses, chosen)
        assert picks_by_row(again, shuffle) == picks_by_row(first, identity)
        assert np.array_equal(again.density[np.argsort(shuffle)], first.density)


def test_the_callers_matrix_comes_back_in_its_own_order_when_worked_in_place() -> None:
    matrix = blobs([200, 200, 100], 16, 20, seed=6)
    expected = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    result = select_golden(matrix, ["SUCCESS"] * len(matrix), SelectionSettings(top_k=12),
                           overwrite=True)
    np.testing.assert_allclose(matrix, expected, atol=1e-6)
    assert picks_by_row(result, np.arange(len(matrix))) == picks_by_row(
        select_golden(expected.copy(), ["SUCCESS"] * len(matrix), SelectionSettings(top_k=12)),
        np.arange(len(matrix)))


def test_without_the_content_order_the_row_order_would_change_the_picks(monkeypatch) -> None:
    """The check above can fail: with rows taken in the order given, equal-size clusters and the
    sampled clients follow the row order, and so do the picks."""
    monkeypatch.setattr(selection_module, "content_order", lambda unit: np.arange(len(unit)))
    matrix = blobs([900, 900, 900, 600, 600, 300, 300], 32, 400, seed=3)
    statuses = ["SUCCESS"] * len(matrix)
    chosen = SelectionSettings(top_k=80)
    first = picks_by_row(select_golden(matrix.copy(), statuses, chosen), np.arange(len(matrix)))
    shuffle = np.random.default_rng(4).permutation(len(matrix))
    again = picks_by_row(select_golden(matrix[shuffle].copy(), statuses, chosen), shuffle)
    assert again != first


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from([8, 12, 20]), min_size=1, max_size=4), st.integers(0, 6),
       st.integers(1, 12), st.integers(0, 2**16))
def test_any_row_order_gives_the_same_picks(sizes, lone, top_k, seed) -> None:
    matrix = blobs(sizes, 12, lone, seed)
    statuses = ["SUCCESS"] * len(matrix)
    chosen = SelectionSettings(top_k=top_k)
    shuffle = np.random.default_rng(seed + 1).permutation(len(matrix))
    assert picks_by_row(select_golden(matrix[shuffle].copy(), statuses, chosen), shuffle) == \
        picks_by_row(select_golden(matrix.copy(), statuses, chosen), np.arange(len(matrix)))

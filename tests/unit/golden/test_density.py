"""FR-5.3: the density kernels agree with a brute-force reference written from the definition."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vectortrainer.errors import ConfigError, DataFormatError
from vectortrainer.golden.density import SIMILARITY_TOLERANCE, epsilon_density, epsilon_graph_stats


def brute_force(vectors: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray, list[set[int]]]:
    """D(L_i), neighbour counts and components, pair by pair in float64 (the definition, slowly)."""
    x = np.asarray(vectors, dtype=np.float64)
    n = len(x)
    norms = [math.sqrt(float(v @ v)) for v in x]
    density = np.zeros(n)
    counts = np.zeros(n, dtype=int)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(n):
            if i == j or norms[i] == 0 or norms[j] == 0:
                continue
            sim = float(x[i] @ x[j]) / (norms[i] * norms[j])
            if sim >= 1 - epsilon - SIMILARITY_TOLERANCE:
                density[i] += sim
                counts[i] += 1
                parent[find(i)] = find(j)
    groups: dict[int, set[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), set()).add(i)
    return density, counts, list(groups.values())


def clustered(n: int, dim: int, centres: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    x = c[rng.integers(0, centres, n)] + spread * rng.standard_normal((n, dim)) / math.sqrt(dim)
    return x.astype(np.float32)


def as_partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), set()).add(i)
    return {frozenset(g) for g in groups.values()}


@pytest.mark.parametrize("mode", ["exact", "pruned"])
@pytest.mark.parametrize("block_size", [1, 7, 64, 5000])
@pytest.mark.parametrize("epsilon", [0.05, 0.3, 1.2])
def test_exact_matches_brute_force(block_size: int, epsilon: float, mode: str) -> None:
    x = clustered(180, 24, centres=6, spread=0.6, seed=3)
    expected_density, expected_counts, expected_groups = brute_force(x, epsilon)
    stats = epsilon_graph_stats(x, epsilon, mode=mode, block_size=block_size)
    np.testing.assert_allclose(stats.density, expected_density, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(stats.neighbour_counts, expected_counts)
    assert as_partition(stats.components) == {frozenset(g) for g in expected_groups}
    assert stats.mode == mode and stats.density_error is None
    # Component labels are the smallest row index of the component.
    assert all(stats.components[i] == min(g) for g in expected_groups for i in g)


def test_public_function_returns_the_density_array() -> None:
    x = clustered(50, 8, centres=3, spread=0.5, seed=1)
    density = epsilon_density(x, 0.2, block_size=16)
    assert isinstance(density, np.ndarray) and density.shape == (50,)
    np.testing.assert_allclose(density, brute_force(x, 0.2)[0], atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(
    x=arrays(np.float32, st.tuples(st.integers(0, 12), st.integers(1, 4)), elements=st.integers(-3, 3).map(float)),
    epsilon=st.sampled_from([0.01, 0.1, 0.5, 1.0, 2.0]),
    block_size=st.integers(1, 5),
)
def test_exact_matches_brute_force_on_small_integer_grids(x: np.ndarray, epsilon: float, block_size: int) -> None:
    # Small integer vectors produce many exact duplicates, zero rows and boundary ties.
    density, counts, groups = brute_force(x, epsilon)
    stats = epsilon_graph_stats(x, epsilon, mode="exact", block_size=block_size)
    np.testing.assert_allclose(stats.density, density, atol=1e-4)
    np.testing.assert_array_equal(stats.neighbour_counts, counts)
    assert as_partition(stats.components) == {frozenset(g) for g in groups}


def test_empty_and_single_row() -> None:
    assert epsilon_density(np.zeros((0, 384), np.float32), 0.15).shape == (0,)
    np.testing.assert_array_equal(epsilon_density(np.ones((1, 4), np.float32), 0.15), [0.0])


def test_exact_duplicates_are_neighbours_with_similarity_one() -> None:
    x = np.array([[1, 2, 3], [1, 2, 3], [2, 4, 6], [-1, 0, 0]], dtype=np.float32)
    stats = epsilon_graph_stats(x, 0.1, mode="exact")
    np.testing.assert_allclose(stats.density, [2.0, 2.0, 2.0, 0.0], atol=1e-6)
    np.testing.assert_array_equal(stats.neighbour_counts, [2, 2, 2, 0])
    assert as_partition(stats.components) == {frozenset({0, 1, 2}), frozenset({3})}


def test_zero_vectors_get_zero_density_and_never_nan() -> None:
    x = np.array([[0, 0, 0], [1, 0, 0], [0, 0, 0], [1, 0.01, 0]], dtype=np.float32)
    for epsilon in (0.1, 1.0, 2.0):  # epsilon 2 makes every non-zero pair a neighbour
        stats = epsilon_graph_stats(x, epsilon, mode="exact", block_size=2)
        assert np.isfinite(stats.density).all()
        assert stats.density[0] == 0 and stats.density[2] == 0
        assert stats.neighbour_counts[0] == 0 and stats.neighbour_counts[2] == 0
        assert stats.neighbour_counts[1] == 1 and stats.density[1] > 0.99
        assert stats.components[0] == 0 and stats.components[2] == 2


def test_epsilon_boundary_is_inclusive() -> None:
    # cos(60 degrees) = 0.5 exactly: a neighbour at epsilon 0.5, not at a hair less.
    x = np.array([[1.0, 0.0], [0.5, math.sqrt(3) / 2]], dtype=np.float32)
    np.testing.assert_allclose(epsilon_density(x, 0.5), [0.5, 0.5], atol=1e-6)
    np.testing.assert_array_equal(epsilon_density(x, 0.4999), [0.0, 0.0])


def test_bad_input_is_refused_with_a_clear_error() -> None:
    x = np.ones((3, 4), np.float32)
    for epsilon in (0, -0.1, 2.5, float("nan")):
        with pytest.raises(ConfigError, match="epsilon"):
            epsilon_density(x, epsilon)
    with pytest.raises(DataFormatError, match="2-D"):
        epsilon_density(np.ones(4), 0.1)
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(DataFormatError, match="row 2"):
        epsilon_density(bad, 0.1)


def test_progress_reports_every_upper_triangular_block() -> None:
    seen: list[tuple[int, int]] = []
    epsilon_graph_stats(clustered(100, 8, 3, 0.5, 0), 0.2, mode="exact", block_size=30, progress=lambda d, t: seen.append((d, t)))
    # 4 row blocks -> 4 + 3 + 2 + 1 upper-triangular blocks.
    assert seen[-1] == (10, 10) and len(seen) == 10


def test_auto_mode_is_exact_for_small_inputs() -> None:
    assert epsilon_graph_stats(clustered(30, 4, 2, 0.3, 0), 0.1).mode == "exact"


@pytest.mark.parametrize("mode", ["exact", "pruned"])
def test_kth_similarity_is_exact_beyond_the_floor_sample(mode: str) -> None:
    # more rows than FLOOR_SAMPLE: every block starts from a sampled floor of the k-th similarity,
    # and identical rows (one of them in the sample, say) must still count each other
    from vectortrainer.golden.density import FLOOR_SAMPLE

    rng = np.random.default_rng(5)
    centres = rng.standard_normal((40, 24))
    x = centres[rng.integers(40, size=FLOOR_SAMPLE + 700)] + 0.4 * rng.standard_normal((FLOOR_SAMPLE + 700, 24))
    x = np.vstack([x, x[:30]]).astype(np.float32)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    for k in (1, 5):
        result = epsilon_graph_stats(x, 0.3, mode=mode, min_samples=k, block_size=256)
        np.testing.assert_allclose(result.kth_similarity, -np.sort(-sims, axis=1)[:, k - 1], atol=1e-5)

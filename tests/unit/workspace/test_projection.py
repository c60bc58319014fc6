"""The 2-D projection of the vector map: PCA fitted on chosen rows, nearest-neighbour distances."""

from __future__ import annotations

import numpy as np
import pytest

from vectortrainer.errors import DataFormatError
from vectortrainer.workspace.projection import nearest_neighbour_distance, pca_2d


# ------------------------------------------------------------------------------ projection
def _circle_in_space(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Unit vectors on a great circle of a random 2-D plane in ``dim`` dimensions."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(dim, 2)))
    angles = np.linspace(0, np.pi / 2, n)
    return (np.c_[np.cos(angles), np.sin(angles)] @ basis.T).astype(np.float32)


def test_pca_of_vectors_in_a_plane_keeps_their_distances_and_all_variance():
    vectors = _circle_in_space(40, 12)
    projection = pca_2d(vectors)
    assert sum(projection.explained) == pytest.approx(1.0, abs=1e-5)
    original = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
    projected = np.linalg.norm(projection.points[:, None] - projection.points[None], axis=2)
    np.testing.assert_allclose(projected, original, atol=1e-5)


def test_pca_is_deterministic_and_sign_fixed():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(200, 32)).astype(np.float32)
    first, second = pca_2d(vectors), pca_2d(vectors.copy())
    np.testing.assert_array_equal(first.points, second.points)
    # Row order does not change the picture: each row keeps its coordinates.
    order = np.random.default_rng(4).permutation(200)
    permuted = pca_2d(vectors[order])
    np.testing.assert_allclose(permuted.points, first.points[order], atol=1e-6)
    assert first.explained[0] >= first.explained[1] > 0


def test_pca_fitted_on_some_rows_projects_all_and_ignores_the_rest_for_axes():
    vectors = _circle_in_space(20, 8)
    outliers = np.random.default_rng(1).normal(size=(5, 8)).astype(np.float32) * 5
    everything = np.vstack([vectors, outliers])
    mask = np.r_[np.ones(20, bool), np.zeros(5, bool)]
    fitted = pca_2d(everything, mask)
    alone = pca_2d(vectors)
    np.testing.assert_allclose(fitted.points[:20], alone.points, atol=1e-6)
    assert fitted.points.shape == (25, 2) and np.abs(fitted.points[20:]).sum() > 0
    with pytest.raises(DataFormatError, match="mask"):
        pca_2d(everything, np.ones(3, bool))


def test_pca_with_too_few_rows_gives_zeros():
    assert pca_2d(np.zeros((0, 4), np.float32)).points.shape == (0, 2)
    single = pca_2d(np.ones((1, 4), np.float32))
    assert single.points.tolist() == [[0.0, 0.0]] and single.explained == (0.0, 0.0)


@pytest.mark.parametrize("block_size", [1, 3, 1024])
def test_nearest_neighbour_distance_matches_brute_force(block_size):
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(37, 6)).astype(np.float32)
    vectors[10] = 0.0  # a zero vector has no direction: nobody's neighbour
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-30)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    similarity[:, 10] = -np.inf
    expected = 1.0 - similarity.max(axis=1)
    got = nearest_neighbour_distance(vectors, block_size=block_size)
    assert np.isnan(got[10])
    keep = np.arange(37) != 10
    np.testing.assert_allclose(got[keep], expected[keep], atol=1e-5)
    assert np.isnan(nearest_neighbour_distance(np.ones((1, 3), np.float32))).all()

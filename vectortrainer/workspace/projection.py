"""2-D views of log vectors for the dashboards: a deterministic PCA and nearest-neighbour distances.

Both work on cosine geometry, the one the density kernel uses: rows are scaled to
unit length first (``vectortrainer.density.unit_rows``), so what lies close on the
map is close in cosine similarity.

* :func:`pca_2d` fits the first two principal components (eigenvectors of the
  covariance matrix, ``numpy.linalg.eigh``) on the rows chosen for fitting and
  projects every row. Each component's sign is fixed so its largest loading is
  positive: the same vectors always give the same picture.
* :func:`nearest_neighbour_distance` gives each row's cosine distance to its
  nearest other row, in row blocks over the upper triangle of the similarity
  matrix (memory bounded by one block of rows, one BLAS product per block). A row
  whose nearest neighbour is farther than epsilon has no neighbour in the
  epsilon-graph (density 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vectortrainer.errors import DataFormatError
from vectortrainer.golden.density import unit_rows

NN_BLOCK_SIZE = 1024


@dataclass(frozen=True)
class Projection:
    """Row coordinates on the first two principal components and the share of variance each
    explains."""

    points: np.ndarray  # (n, 2) float64
    explained: tuple[float, float]


def pca_2d(vectors: np.ndarray, fit_rows: np.ndarray | None = None) -> Projection:
    """Project unit-scaled ``vectors`` onto the two main axes of the rows in ``fit_rows`` (default:
    all).

    Fewer than two fitting rows, or rows with no spread, give zeros (no axis to show).
    """
    unit, _ = unit_rows(vectors)
    n, dim = unit.shape
    points = np.zeros((n, 2), dtype=np.float64)
    if fit_rows is None:
        fit = unit
    else:
        rows = np.asarray(fit_rows)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise DataFormatError(f"fit_rows: a mask of {rows.shape} given for {n} vectors")
            rows = np.flatnonzero(rows)
        fit = unit[rows]
    if len(fit) < 2 or dim == 0:
        return Projection(points, (0.0, 0.0))
    fit64 = fit.astype(np.float64)
    mean = fit64.mean(axis=0)
    centred = fit64 - mean
    covariance = centred.T @ centred / (len(fit64) - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending order
    order = np.argsort(eigenvalues)[::-1][:2]
    axes = eigenvectors[:, order]
    values = np.clip(eigenvalues[order], 0.0, None)
    # eigh's sign is arbitrary: make the largest loading of each axis positive.
    for k in range(axes.shape[1]):
        if axes[np.argmax(np.abs(axes[:, k])), k] < 0:
            axes[:, k] = -axes[:, k]
    total = float(np.clip(eigenvalues, 0.0, None).sum())
    if total <= 0.0:
        return Projection(points, (0.0, 0.0))
    points[:, : axes.shape[1]] = (unit.astype(np.float64) - mean) @ axes
    explained = [float(v / total) for v in values] + [0.0, 0.0]
    return Projection(points, (explained[0], explained[1]))


def nearest_neighbour_distance(
    vectors: np.ndarray, *, block_size: int = NN_BLOCK_SIZE
) -> np.ndarray:
    """Cosine distance (1 - similarity) from each row to its nearest other row; NaN without one.

    Zero rows have no direction: they get NaN and are nobody's neighbour.
    """
    if block_size < 1:
        raise DataFormatError(f"block_size={block_size}: must be at least 1")
    unit, nonzero = unit_rows(vectors)
    n = len(unit)
    result = np.full(n, np.nan, dtype=np.float64)
    live = np.flatnonzero(nonzero)
    if len(live) < 2:
        return result
    sub = np.ascontiguousarray(unit[live])
    best = np.full(len(live), -np.inf, dtype=np.float32)
    # Similarity is symmetric: each block of rows meets only itself and the rows after it, and
    # its products update both sides (half the work of the full matrix).
    for start in range(0, len(sub), block_size):
        stop = min(start + block_size, len(sub))
        similarity = sub[start:stop] @ sub[start:].T
        # not its own neighbour
        similarity[np.arange(stop - start), np.arange(stop - start)] = -np.inf
        np.maximum(best[start:stop], similarity.max(axis=1), out=best[start:stop])
        np.maximum(best[start:], similarity.max(axis=0), out=best[start:])
    result[live] = np.clip(1.0 - best.astype(np.float64), 0.0, 2.0)
    return result

"""Approximate epsilon-graph density for data where pruning cannot help, with its error measured.

An inverted-file index of faiss (``IndexIVFFlat``, inner product on unit vectors)
answers a *range* search per row with the neighbour threshold as radius, so a row
keeps every neighbour the probed lists hold (no cap on the number of neighbours).
Rows in lists that are not probed are missed, so density can only be under-counted.

:func:`density_error` measures that against exact density on a random sample of rows
(each sampled row against all rows, one product) and reports the mean relative error
of D and the share of rows under-counted by more than 10%. Nothing is capped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from vectortrainer.golden.runners import TaskRunner

# a row is "under-counted" when its approximate D is below 90% of the exact D
UNDERCOUNT_LIMIT = 0.10


@dataclass(frozen=True)
class DensityError:
    """Error of an approximate density against exact density on ``sample_size`` sampled rows.

    ``mean_relative_error`` is the mean over sampled rows of |D_approx - D_exact| / D_exact
    (a row with exact D = 0 counts 0 when the approximation agrees, 1 otherwise);
    ``undercounted_share`` is the share of sampled rows whose D_approx < 0.9 D_exact.
    """

    mean_relative_error: float
    undercounted_share: float
    sample_size: int

    def describe(self) -> str:
        return (
            f"D off by {self.mean_relative_error:.2%} on average, "
            f"{self.undercounted_share:.1%} of rows under-counted by "
            f">{UNDERCOUNT_LIMIT:.0%} (exact check on {self.sample_size} sampled rows)"
        )


def build_index(unit: np.ndarray, nprobe: int, seed: int) -> tuple[Any, Any]:
    """An IVF-flat inner-product index over ``unit`` rows (``faiss.IndexIVFFlat``) and its
    quantiser.

    The caller keeps the quantiser alive as long as the index (faiss does not own it).
    """
    import faiss  # imported here: only the approximate mode needs it

    n, dim = unit.shape
    # faiss wants about 39 training points per list; ~4 sqrt(n) lists keeps lists short.
    nlist = max(1, min(int(4 * math.sqrt(n)), n // 39))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = seed
    index.cp.niter = 10  # a coarse quantiser only routes queries: a short k-means is enough
    rng = np.random.default_rng(seed)
    train_rows = np.sort(rng.choice(n, size=min(n, 40 * nlist), replace=False))
    index.train(unit[train_rows])
    index.add(unit)
    index.nprobe = min(nprobe, nlist)
    return index, quantizer


def kth_from_index(
    index: Any, unit: np.ndarray, k: int, progress: Callable[[int, int], None] | None
) -> np.ndarray:
    """Each row's similarity to its ``k``-th most similar other row, as the index finds it (-inf:
    fewer found)."""
    n = len(unit)
    want = min(k + 1, n)  # +1: a row usually finds itself first
    out = np.full(n, -np.inf)
    batch = 8192
    total = math.ceil(n / batch)
    for step, start in enumerate(range(0, n, batch), 1):
        sims, ids = index.search(unit[start : start + batch], want)
        own = np.arange(start, start + len(sims))[:, None]
        others = np.where((ids >= 0) & (ids != own), sims, -np.inf)
        others = -np.sort(-others, axis=1)
        if others.shape[1] >= k:
            out[start : start + len(sims)] = others[:, k - 1]
        if progress:
            progress(step, total)
    return out


def range_graph(
    index: Any, unit: np.ndarray, threshold: float, link: float, core: np.ndarray | None,
    progress: Callable[[int, int], None] | None, batch: int = 512,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Density, counts, components and nearest cores from range searches at ``threshold``."""
    from vectortrainer.golden.kernel import component_labels, union_edges

    n = len(unit)
    thr = np.float64(threshold)  # float32 scores are compared exactly, as in the exact kernel
    # faiss keeps scores > radius: just below the float32
    # nearest to the threshold keeps every score >= it.
    radius = float(np.nextafter(np.float32(threshold), np.float32(-np.inf)))
    density = np.zeros(n)
    counts = np.zeros(n, dtype=np.int64)
    nearest = np.full(n, -1, dtype=np.int64) if core is not None else None
    parent = np.arange(n, dtype=np.int64)
    total = math.ceil(n / batch)
    for step, start in enumerate(range(0, n, batch), 1):
        rows = unit[start : start + batch]
        lims, sims, ids = index.range_search(rows, radius)
        row_of = np.repeat(np.arange(len(rows)), np.diff(lims.astype(np.int64)))
        keep = (ids != start + row_of) & (ids >= 0) & (sims >= thr)
        row_of, sims, ids = row_of[keep], sims[keep], ids[keep].astype(np.int64)
        density[start : start + len(rows)] = np.bincount(
            row_of, weights=sims.astype(np.float64), minlength=len(rows)
        )
        counts[start : start + len(rows)] = np.bincount(row_of, minlength=len(rows))
        joins = sims >= np.float64(link if core is not None else threshold)
        if core is not None:
            assert nearest is not None
            hit = core[ids]
            order = np.lexsort((ids[hit], -sims[hit], row_of[hit]))
            hit_rows, first = np.unique(row_of[hit][order], return_index=True)
            nearest[start + hit_rows] = ids[hit][order][first]
            joins &= hit & core[start + row_of]
        union_edges(parent, start + row_of[joins], ids[joins])
        if progress:
            progress(step, total)
    return density, counts, component_labels(parent), nearest


EXACT_SAMPLE_CHUNK = 64  # sampled rows per product against every row


def exact_density_of(unit: np.ndarray, rows: np.ndarray, threshold: float,
                     runner: TaskRunner | None = None) -> np.ndarray:
    """Exact D of the given rows: each against all rows, self excluded (exact compare, float64
    sum); tasks of :data:`EXACT_SAMPLE_CHUNK` rows on ``runner`` (default: threads of this
    process)."""
    from vectortrainer.golden.runners import ThreadRunner

    chunks = [rows[start : start + EXACT_SAMPLE_CHUNK]
              for start in range(0, len(rows), EXACT_SAMPLE_CHUNK)]
    everyone = slice(0, len(unit))
    results = (runner or ThreadRunner()).map(exact_density_task, (unit, threshold),
                                             ((chunk, everyone) for chunk in chunks))
    return np.concatenate([np.zeros(0), *results])


def exact_density_task(unit: np.ndarray, threshold: float,
                       pair: tuple[np.ndarray, slice]) -> np.ndarray:
    """Exact D of rows ``pair[0]`` of ``unit`` against every row, self excluded."""
    from vectortrainer.golden.probing import column_blocks

    density = np.zeros(len(pair[0]))
    for _, sims in column_blocks(unit, pair[0]):
        density += np.where(sims >= np.float64(threshold), sims, 0).sum(axis=1, dtype=np.float64)
    return density


def density_error(unit: np.ndarray, threshold: float, approx: np.ndarray, sample_size: int,
                  rng: np.random.Generator,
                  runner: TaskRunner | None = None) -> DensityError | None:
    """Mean relative error of ``approx`` and the share of rows under-counted by >10%, on sampled
    rows (scored on ``runner``)."""
    n = len(unit)
    if sample_size <= 0 or n == 0:
        return None
    sample = np.sort(rng.choice(n, size=min(n, sample_size), replace=False))
    exact = exact_density_of(unit, sample, threshold, runner)
    got = approx[sample]
    positive = exact > 0
    relative = np.where(
        positive, np.abs(got - exact) / np.where(positive, exact, 1.0), (got != 0).astype(float)
    )
    under = got < (1.0 - UNDERCOUNT_LIMIT) * exact
    return DensityError(float(relative.mean()), float(under.mean()), len(sample))

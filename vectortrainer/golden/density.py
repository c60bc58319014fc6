"""Epsilon-graph density of execution logs in embedding space (FR-1.1, FR-1.2, VT-2).

Each log is a node; the weight of edge (i, j) is the cosine similarity of their
vectors, and j is a neighbour of i when that similarity is at least ``1 - epsilon``.
The density of log i is ``D(L_i) = sum of W_ij over its neighbours j != i``.

Four ways to compute it:

* **exact** (default up to :data:`EXACT_MODE_LIMIT` rows, and beyond it where neither pruning
  nor probing helps): rows are normalised once
  to float32 unit vectors; the similarity matrix is visited in square blocks of
  ``block_size`` rows, only on and above the diagonal (each off-diagonal block adds
  to the rows of both sides). Each block is one BLAS product followed by one
  compiled pass (:mod:`vectortrainer.golden.kernel`) that thresholds, sums, counts,
  keeps nearest cores and merges components; blocks run on one BLAS thread each in
  a thread pool. Memory is bounded by one block per thread.
* **pruned** (exact, beyond that size when it pays): rows are partitioned by
  spherical k-means and block pairs whose angular bound rules out any neighbour are
  skipped (:mod:`vectortrainer.golden.pruning`); the surviving pairs run through the
  same exact tasks. The result equals the exact mode's.
* **probed** (approximate; beyond :data:`EXACT_MODE_LIMIT` when the bound prunes too little and
  this costs less than every pair): each piece runs, through the same exact tasks, against the
  pieces nearest its rows (:mod:`vectortrainer.golden.probing`), as many as a calibration sample
  needs to keep D within 1%, and sampled sums estimate what those pairs miss
  (:mod:`vectortrainer.golden.ring`); its error on D is measured against exact density on a
  sample of rows and carried in :attr:`DensityResult.density_error`.
* **ann** (approximate; on request only: see :data:`PRUNED_WORK_LIMIT` for why ``auto``
  never chooses it): faiss range search with the threshold as radius
  (:mod:`vectortrainer.golden.approximate`). It never caps the number of
  neighbours; its error on D is measured against exact density on a sample of rows
  and carried in :attr:`DensityResult.density_error`.

A similarity that falls short of the threshold by less than
:data:`SIMILARITY_TOLERANCE` counts as a neighbour, so pairs that sit exactly on
the boundary are not lost to float32 rounding. Zero vectors have no direction:
they get density 0, no neighbours, and a component of their own. Vectors holding
NaN or infinity are refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Literal

import numpy as np

from vectortrainer.errors import ConfigError, DataFormatError
from vectortrainer.golden.approximate import DensityError
from vectortrainer.golden.epsilon import EpsilonChoice, choose_epsilon, given_epsilon
from vectortrainer.settings import DEFAULT_MIN_SAMPLES, DENSITY_MODES, DensityMode, epsilon_problem

if TYPE_CHECKING:
    from vectortrainer.golden.probing import Probe
    from vectortrainer.golden.pruning import Pieces
    from vectortrainer.golden.runners import Pair, TaskRunner

DEFAULT_BLOCK_SIZE = 512  # a 512 x 512 float32 block (1 MB) stays in cache for the epilogue
EXACT_MODE_LIMIT = 60_000
# Beyond EXACT_MODE_LIMIT, "auto" prunes while the surviving pairs hold at most this share of
# the n^2/2 pair work; above it pruning cannot help and every pair runs exactly:
# on loose real-text clusters (bench/scale_realistic.py) the faiss index was slower than every
# pair, and more so as the logs grew: 58 s against 51.5 s at 100,000 logs, 229 s against 183 s
# at 200,000 (its range search returns more neighbours per row as the logs grow), so "auto"
# never turns to it; "ann" is there on request.
PRUNED_WORK_LIMIT = 0.5
# The same for the kNN pass (its bound is the rows' current k-th similarity).
KNN_WORK_LIMIT = 0.5
# Pairs of the pieces nearest each row run unless they hold more than this share of the pair
# work: their blocks are smaller and their tasks more, so near it every pair is as fast.
PROBED_WORK_LIMIT = 0.5
# Shares of a pass's progress bar: each row's nearest pieces before a probed pass (about a
# quarter of the k-th pass's time at a million logs), the ring's sampled sums after it.
PROBE_SHARE = 0.25
RING_SHARE = 0.1
DEFAULT_NPROBE = 64
FLOOR_SAMPLE = 2048  # rows that give every row a lower bound of its k-th similarity
FLOOR_MARGIN = 1e-5  # far above float32 rounding of a similarity, far below any tolerance
DEFAULT_ERROR_SAMPLE = 500
SIMILARITY_TOLERANCE = 1e-6

Progress = Callable[[int, int], None]
"""``progress(done, total)`` in units of work (blocks or query batches)."""

Mode = DensityMode


@dataclass(frozen=True)
class DensityResult:
    """Density of every row plus what selection needs from the same pass.

    ``components`` labels connected components of the epsilon-graph (each label is
    the smallest row index in its component); with ``min_samples``, only edges between
    two core rows join components, so non-core rows (bridges) never chain them.
    ``density_error`` is set in the approximate modes (probed, ann) only: the mean
    relative error of D and the share of rows under-counted by more than 10%, against
    exact density on ``density_error.sample_size`` random rows. ``pair_work`` is the
    share of the n^2/2 pair work the density pass did (below 1 when pruning or probing
    skipped pairs). ``kth_mode`` says how the k-th neighbour similarities were found:
    exactly, over the pieces nearest each row (beyond the exact size, when isolated
    rows leave the kNN pass nothing to prune; density may still be exact in the pruned
    mode), or through the faiss index.
    """

    density: np.ndarray
    neighbour_counts: np.ndarray
    components: np.ndarray
    epsilon: float
    epsilon_choice: EpsilonChoice
    # With ``min_samples``: each row's similarity to its min_samples-th nearest neighbour,
    # whether it is a core row, and its most similar core neighbour within epsilon (-1: none).
    kth_similarity: np.ndarray | None
    core: np.ndarray | None
    nearest_core: np.ndarray | None
    mode: Literal["exact", "pruned", "probed", "ann"]
    seconds: float
    density_error: DensityError | None = None
    pair_work: float = 1.0
    kth_mode: Literal["exact", "probed", "ann"] | None = None


def similarity_threshold(epsilon: float) -> float:
    """The smallest similarity that still counts as a neighbour for ``epsilon``."""
    check_epsilon(epsilon)
    return 1.0 - float(epsilon) - SIMILARITY_TOLERANCE


def check_epsilon(epsilon: float) -> None:
    """Refuse an epsilon outside (0, 2] (the same rule as ``selection.epsilon`` in the config)."""
    problem = epsilon_problem(epsilon)
    if problem:
        raise ConfigError(f"epsilon={epsilon!r}: {problem}")


ROW_CHUNK = 65_536  # rows per step of the whole-matrix passes: temporaries stay a few tens of MB


def unit_rows(vectors: np.ndarray, *, copy: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Rows scaled to unit length as float32, and a mask of rows that were non-zero.

    With ``copy=False`` a float32 array is normalised in place (and returned); any
    other dtype is converted into a new array either way.
    """
    unit = _matrix(vectors).astype(np.float32, copy=copy)
    nonzero = np.empty(len(unit), dtype=bool)
    for start in range(0, len(unit), ROW_CHUNK):
        part = unit[start : start + ROW_CHUNK]
        _refuse_non_finite(part, start)
        norms = np.sqrt(np.einsum("ij,ij->i", part, part, dtype=np.float64)).astype(np.float32)
        nonzero[start : start + ROW_CHUNK] = norms > 0
        np.divide(part, norms[:, None], out=part, where=norms[:, None] > 0)
    return unit, nonzero


def nonzero_rows(vectors: np.ndarray) -> np.ndarray:
    """Which rows of ``vectors`` are non-zero (NaN or infinity refused as in :func:`unit_rows`); no
    copy."""
    array = _matrix(vectors)
    nonzero = np.empty(len(array), dtype=bool)
    for start in range(0, len(array), ROW_CHUNK):
        part = array[start : start + ROW_CHUNK]
        _refuse_non_finite(part, start)
        nonzero[start : start + ROW_CHUNK] = (part != 0).any(axis=1)
    return nonzero


def _matrix(vectors: np.ndarray) -> np.ndarray:
    array = np.asarray(vectors)
    if array.ndim != 2:
        raise DataFormatError(
            f"vectors: expected a 2-D array (logs x dimensions), got shape {array.shape}"
        )
    return array


def _refuse_non_finite(part: np.ndarray, start: int) -> None:
    finite = np.isfinite(part).all(axis=1)
    if not finite.all():
        bad = start + int(np.flatnonzero(~finite)[0])
        raise DataFormatError(
            f"vectors: row {bad} holds NaN or infinity; re-embed or drop that log"
        )


def epsilon_density(
    vectors: np.ndarray, epsilon: float, *, block_size: int = DEFAULT_BLOCK_SIZE
) -> np.ndarray:
    """D(L_i) for every row of ``vectors`` (exact, float64), self excluded (FR-1.2)."""
    return epsilon_graph_stats(vectors, epsilon, mode="exact", block_size=block_size).density


def epsilon_graph_stats(
    vectors: np.ndarray,
    epsilon: float | Literal["auto"],
    *,
    mode: Mode = "auto",
    block_size: int = DEFAULT_BLOCK_SIZE,
    nprobe: int = DEFAULT_NPROBE,
    error_sample_size: int = DEFAULT_ERROR_SAMPLE,
    seed: int = 0,
    progress: Progress | None = None,
    min_samples: int | None = None,
    workers: int | None = None,
    runner: TaskRunner | None = None,
    overwrite: bool = False,
) -> DensityResult:
    """Density, neighbour counts and connected components of the epsilon-graph.

    With ``min_samples`` (or ``epsilon="auto"``, which implies ``DEFAULT_MIN_SAMPLES``)
    a first pass finds every row's ``min_samples``-th nearest-neighbour similarity;
    ``epsilon="auto"`` is chosen from those (:mod:`vectortrainer.golden.epsilon`); rows
    with ``min_samples`` neighbours within epsilon are *core*, components join only
    core rows, and each row's nearest core neighbour is kept (see :class:`DensityResult`).

    ``runner`` runs the exact tasks (default: threads of this process, ``workers`` of
    them; :mod:`vectortrainer.golden.runners`); every runner gives the same result.
    With ``overwrite`` a float32 ``vectors`` is normalised in place and its rows are
    reordered in place while the passes run (restored before returning, also on an
    error): no copy of the matrix is made.
    """
    if epsilon != "auto":
        similarity_threshold(epsilon)  # validates a given epsilon before any work
    if block_size < 1:
        raise ConfigError(f"block_size={block_size}: must be at least 1")
    if min_samples is None and epsilon == "auto":
        min_samples = DEFAULT_MIN_SAMPLES
    if min_samples is not None and min_samples < 1:
        raise ConfigError(f"min_samples={min_samples}: must be at least 1")
    if mode not in DENSITY_MODES:
        raise ConfigError(f"density mode {mode!r}: expected one of {', '.join(DENSITY_MODES)}")
    started = time.perf_counter()
    from vectortrainer.golden import pruning
    from vectortrainer.golden.runners import ThreadRunner

    runner = runner or ThreadRunner(workers)
    unit, nonzero = unit_rows(vectors, copy=not overwrite)
    n = len(unit)
    live = np.flatnonzero(nonzero)
    sub = unit if len(live) == n else unit[live]  # a copy only when some rows are zero
    m = len(sub)
    phases = _Phases(progress, 2 if min_samples is not None else 1)
    if mode == "auto":
        mode = "exact" if m <= EXACT_MODE_LIMIT else "pruned"
    # "auto" beyond the limit, and "probed": the pieces nearest each row where the bound prunes
    # too little, and every pair, exactly, where probing would cost as much
    fallback = (mode == "pruned" and m > EXACT_MODE_LIMIT) or mode == "probed"

    pieces: Pieces | None = None
    probe: Probe | None = None
    if m > 1 and mode in ("exact", "pruned", "probed"):
        pieces = (pruning.contiguous_pieces(m, block_size) if mode == "exact"
                  else pruning.kmeans_pieces(sub, block_size, seed, runner=runner))
    rows = _PieceOrder(sub, None if pieces is None else pieces.order)
    try:
        index = None
        kth = None
        kth_mode: Literal["exact", "probed", "ann"] | None = None
        if min_samples is not None:
            kth = np.full(n, -np.inf)
            kth_mode = "ann" if mode == "ann" else "exact"
            if m > 1:
                sub_kth = None
                knn_phase = phases.next()
                if pieces is not None:
                    # one lower bound per row, for the pruned pass and for every pair if it runs
                    floors = _kth_floors(rows.in_piece_order(), min_samples, runner)
                    if mode != "probed":
                        sub_kth = _kth_pass(
                            rows.in_piece_order(),
                            pieces.order,
                            pieces,
                            min_samples,
                            block_size,
                            mode == "pruned",
                            KNN_WORK_LIMIT if fallback else None,
                            knn_phase,
                            runner,
                            floors,
                        )
                    if sub_kth is None and (mode == "probed" or fallback):
                        # pruning cannot help: the pieces nearest each row, if that is cheaper
                        probe = _probe(rows.in_piece_order(), pieces, min_samples, seed,
                                       _span(knn_phase, 0.0, PROBE_SHARE), runner)
                        partners = _probed_partners(probe, None, m)
                        if partners is not None:
                            mode = kth_mode = "probed"
                            sub_kth = _kth_pass(rows.in_piece_order(), pieces.order, pieces,
                                                min_samples, block_size, False, None,
                                                _span(knn_phase, PROBE_SHARE, 1.0), runner,
                                                floors, partners)
                if sub_kth is None and fallback:
                    # pruning cannot help: every pair, exactly (see PRUNED_WORK_LIMIT)
                    assert pieces is not None
                    after_probe = knn_phase if probe is None else _span(knn_phase, PROBE_SHARE, 1.0)
                    sub_kth = _kth_pass(rows.in_piece_order(), pieces.order,
                                        pruning.contiguous_pieces(m, block_size), min_samples,
                                        block_size, False, None, after_probe, runner, floors)
                if sub_kth is None:  # "ann": the index finds the k-th neighbours
                    kth_mode = "ann"
                    index = _index(rows.in_original_order(), nprobe, seed)
                    sub_kth = _approximate().kth_from_index(index[0], sub, min_samples, knn_phase)
                kth[live] = sub_kth
        if epsilon == "auto":
            # "auto" implies min_samples, so the kNN pass ran
            assert kth is not None and min_samples is not None
            choice = choose_epsilon(kth[live], min_samples)
        else:
            choice = given_epsilon(float(epsilon))
        threshold = similarity_threshold(choice.epsilon)
        core = None if kth is None else kth >= threshold
        # Core logs join one micro-cluster when they are at
        # least this alike (the auto choice's upper cut).
        link = max(threshold, (choice.link_similarity or 0.0) - SIMILARITY_TOLERANCE)

        density = np.zeros(n, dtype=np.float64)
        counts = np.zeros(n, dtype=np.int64)
        components = np.arange(n, dtype=np.int64)
        nearest_core = np.full(n, -1, dtype=np.int64) if core is not None else None
        error = None
        work = 1.0
        if m > 1:
            sub_core = None if core is None else core[live]
            graph = None
            if mode != "ann":
                assert pieces is not None
                graph_phase = phases.next()
                partners = _partners(pieces, threshold, mode != "exact")
                work = _pair_work(pieces, partners, m)
                order = pieces.order
                if mode == "probed" and work <= PRUNED_WORK_LIMIT:
                    mode = "pruned"  # the bound prunes well: exact, and cheaper
                elif fallback and work > PRUNED_WORK_LIMIT:
                    # the bound prunes too little: the pieces nearest each row, if cheaper
                    if probe is None:
                        probe = _probe(rows.in_piece_order(), pieces, min_samples, seed,
                                       _span(graph_phase, 0.0, PROBE_SHARE), runner)
                        graph_phase = _span(graph_phase, PROBE_SHARE, 1.0)
                    probed = _probed_partners(probe, threshold, m)
                    if probed is not None:
                        mode = "probed"
                        # a pair the bound rules out holds no neighbour either way
                        partners = [b[np.isin(b, bound)] for b, bound in zip(probed, partners,
                                                                            strict=True)]
                        work = _pair_work(pieces, partners, m)
                    else:  # neither pruning nor probing helps: every pair, exactly
                        mode, work = "exact", 1.0
                        pieces = pruning.contiguous_pieces(m, block_size)
                        partners = _partners(pieces, threshold, False)
                graph = _graph_pass(
                    rows.in_piece_order(),
                    order,
                    pieces,
                    partners,
                    threshold,
                    link,
                    None if sub_core is None else sub_core[order],
                    block_size,
                    _span(graph_phase, 0.0, 1.0 - RING_SHARE) if mode == "probed" else graph_phase,
                    runner,
                )
            if graph is None:
                index = index or _index(rows.in_original_order(), nprobe, seed)
                approximate = _approximate()
                graph = approximate.range_graph(
                    index[0], sub, threshold, link, sub_core, phases.next()
                )
                error = approximate.density_error(sub, threshold, graph[0], error_sample_size,
                                                  np.random.default_rng(seed))
                work = 1.0
            elif mode == "probed":
                assert probe is not None
                # what the pairs miss, estimated from a few rows of the pieces just beyond
                missed, missed_counts = probe.ring_sums(threshold,
                                                        _span(graph_phase, 1.0 - RING_SHARE, 1.0))
                graph[0][order] += missed
                graph[1][order] += np.rint(missed_counts).astype(np.int64)
                error = _approximate().density_error(
                    rows.in_original_order(), threshold, graph[0], error_sample_size,
                    np.random.default_rng(seed), runner)
            d, c, comp, near = graph
            density[live] = d
            counts[live] = c
            components[live] = live[comp]  # component label = smallest original row index
            if nearest_core is not None and near is not None:
                nearest_core[live] = np.where(near >= 0, live[np.maximum(near, 0)], -1)
    finally:
        rows.in_original_order()
    return DensityResult(
        density=density,
        neighbour_counts=counts,
        components=components,
        epsilon=choice.epsilon,
        epsilon_choice=choice,
        kth_similarity=kth,
        core=core,
        nearest_core=nearest_core,
        mode=mode,
        seconds=time.perf_counter() - started,
        density_error=error,
        pair_work=work,
        kth_mode=kth_mode,
    )


def _probe(rows: np.ndarray, pieces: Pieces, k: int | None, seed: int,
           progress: Progress | None, runner: TaskRunner) -> Probe:
    from vectortrainer.golden.probing import Probe

    return Probe(rows, pieces, k or DEFAULT_MIN_SAMPLES, seed, runner, progress)


def _span(progress: Progress | None, start: float, stop: float) -> Progress | None:
    """``progress`` of one step reported as the ``start``..``stop`` share of a pass's bar (in
    thousandths): the probe's own steps move the bar too, and can be cancelled through it."""
    if progress is None:
        return None
    report = progress
    return lambda done, total: report(
        round(1000 * (start + (stop - start) * done / max(1, total))), 1000)


def _probed_partners(probe: Probe, threshold: float | None, n: int) -> list[np.ndarray] | None:
    """The probe's piece pairs at ``threshold`` (``None``: for the k-th similarities), or None
    when they hold more than :data:`PROBED_WORK_LIMIT` of the pair work (every pair is cheaper
    then)."""
    partners = probe.partners(threshold)
    return None if _pair_work(probe.pieces, partners, n) > PROBED_WORK_LIMIT else partners


def _approximate() -> ModuleType:
    from vectortrainer.golden import approximate  # faiss: only the approximate mode needs it

    return approximate


def _index(unit: np.ndarray, nprobe: int, seed: int) -> tuple[object, object]:
    from vectortrainer.golden.approximate import build_index  # faiss: only when it runs

    return build_index(unit, nprobe, seed)


def _partners(pieces: Pieces, threshold: float, prune: bool) -> list[np.ndarray]:
    """For each piece ``a``, the pieces ``b > a`` that may hold a neighbour of it."""
    from vectortrainer.golden.pruning import bound_blocks

    count = len(pieces)
    if not prune:
        return [np.arange(a + 1, count) for a in range(count)]
    out = []
    for a0, bounds in bound_blocks(pieces):
        for i, row in enumerate(bounds):
            a = a0 + i
            out.append(a + 1 + np.flatnonzero(row[a + 1 :] >= threshold))
    return out


def _pair_work(pieces: Pieces, partners: list[np.ndarray], n: int) -> float:
    """Share of the n^2/2 pair work that the surviving piece pairs hold."""
    sizes = pieces.sizes.astype(np.float64)
    work = float((sizes * sizes / 2).sum()) + sum(
        float(sizes[a] * sizes[b].sum()) for a, b in enumerate(partners)
    )
    return work / (n * n / 2) if n else 0.0


def _groups(pieces: Pieces, partners: np.ndarray, block_size: int) -> list[np.ndarray]:
    """Cuts a piece's partners into groups of at most ``block_size`` rows (one piece at least)."""
    groups: list[np.ndarray] = []
    current: list[int] = []
    rows = 0
    sizes = pieces.sizes
    for b in partners:
        size = int(sizes[b])
        if current and rows + size > block_size:
            groups.append(np.asarray(current))
            current, rows = [], 0
        current.append(b)
        rows += size
    if current:
        groups.append(np.asarray(current))
    return groups


def _rows_of(pieces: Pieces, group: np.ndarray | None, a: int) -> np.ndarray | slice:
    """Positions (in ``pieces.order``) of the rows of a group of pieces: a slice when contiguous."""
    if group is None:
        return slice(int(pieces.starts[a]), int(pieces.stops[a]))
    first, last = int(group[0]), int(group[-1])
    if last - first + 1 == len(group):
        return slice(int(pieces.starts[first]), int(pieces.stops[last]))
    return np.concatenate([np.arange(pieces.starts[b], pieces.stops[b]) for b in group])


def _plan(
    pieces: Pieces, partners: list[np.ndarray], block_size: int
) -> list[tuple[int, np.ndarray | None]]:
    """The tasks: each piece with itself, then with its partners in groups of at most ``block_size``
    rows."""
    plan: list[tuple[int, np.ndarray | None]] = []
    for a in range(len(pieces)):
        plan.append((a, None))
        plan.extend((a, group) for group in _groups(pieces, partners[a], block_size))
    return plan


def _graph_pass(
    rows: np.ndarray,
    ids: np.ndarray,
    pieces: Pieces,
    partners: list[np.ndarray],
    threshold: float,
    link: float,
    core: np.ndarray | None,
    block_size: int,
    progress: Progress | None,
    runner: TaskRunner,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Exact density, counts, components and nearest cores over the planned piece pairs.

    ``rows`` are the unit rows in piece order, ``ids`` their original indices and
    ``core`` their core flags (in piece order too); results come back in original order.
    """
    from vectortrainer.golden.kernel import GraphAccumulator
    from vectortrainer.golden.runners import graph_pair

    n = len(rows)
    plan = _plan(pieces, partners, block_size)
    acc = GraphAccumulator(n, n, core is not None)
    # Positions are made as the runner asks for them, and
    # again to merge: a million rows plan ~10^5 pairs.
    results = runner.map(
        graph_pair, (rows, ids, core, threshold, link), (_pair(pieces, a, g) for a, g in plan)
    )
    for done, ((a, group), part) in enumerate(zip(plan, results, strict=False), 1):
        pa, pb = _pair(pieces, a, group)
        acc.add(_as_index(pa), None if pb is None else _as_index(pb), part)
        if progress:
            progress(done, len(plan))
    density = np.empty(n)
    counts = np.empty(n, dtype=np.int64)
    density[ids] = acc.density
    counts[ids] = acc.counts
    near = None
    if core is not None:
        near = np.empty(n, dtype=np.int64)
        near[ids] = acc.near
    return density, counts, acc.components(), near


def _kth_pass(
    rows: np.ndarray, ids: np.ndarray, pieces: Pieces, k: int, block_size: int, prune: bool,
    work_limit: float | None, progress: Progress | None, runner: TaskRunner,
    floors: np.ndarray, partners: list[np.ndarray] | None = None,
) -> np.ndarray | None:
    """Each row's similarity to its ``k``-th most similar other row (-inf with fewer than ``k``
    others).

    Exact; ``rows`` in piece order, the result in original order (``ids``); ``floors`` (in
    piece order too) from :func:`_kth_floors`. With
    ``prune``, a first stage runs each piece with itself and its nearest pieces; a
    pair is then skipped when its similarity bound is below the current ``k``-th
    similarity of every row on both sides (no row can improve). Returns None when
    ``work_limit`` is set and the second stage would exceed that share of the pair
    work (pruning cannot help: the caller runs every pair).
    """
    from vectortrainer.golden.kernel import TopKAccumulator
    from vectortrainer.golden.pruning import bound_blocks
    from vectortrainer.golden.runners import topk_pair

    n = len(rows)
    acc = TopKAccumulator(n, max(1, k))
    count = len(pieces)

    def run(plan: list[tuple[int, np.ndarray | None]], report: Progress | None) -> None:
        results = runner.map(topk_pair, (rows, max(1, k), floors),
                             (_pair(pieces, a, g) for a, g in plan))
        for done, ((a, group), (top_a, top_b)) in enumerate(zip(plan, results, strict=False), 1):
            pa, pb = _pair(pieces, a, group)
            acc.add(_as_index(pa), top_a)
            if pb is not None:
                acc.add(_as_index(pb), top_b)
            if report:
                report(done, len(plan))

    if not prune:
        every = partners or [np.arange(a + 1, count) for a in range(count)]
        run(_plan(pieces, every, block_size), progress)
        kth = acc.kth()
    else:
        first: list[np.ndarray] = []
        # bounds a block of pieces at a time: never count^2 floats
        for a0, bounds in bound_blocks(pieces):
            for i, row in enumerate(bounds):
                nearest = np.argsort(-row, kind="stable")
                nearest = nearest[nearest != a0 + i][:2]
                first.append(np.sort(nearest[nearest > a0 + i]))
        stage = (lambda done, total: progress(done, 2 * total)) if progress else None
        run(_plan(pieces, first, block_size), stage)
        kth_now = acc.top[:, -1]
        floor = np.minimum.reduceat(kth_now, pieces.starts) if count else np.zeros(0)
        second = []
        for a0, bounds in bound_blocks(pieces):
            for i, row in enumerate(bounds):
                a = a0 + i
                keep = a + 1 + np.flatnonzero(row[a + 1 :] >= np.minimum(floor[a], floor[a + 1 :]))
                second.append(np.setdiff1d(keep, first[a], assume_unique=True))
        if work_limit is not None and _pair_work(pieces, second, n) > work_limit:
            return None
        stage = (lambda done, total: progress(total + done, 2 * total)) if progress else None
        run([(a, g) for a in range(count) for g in _groups(pieces, second[a], block_size)], stage)
        kth = acc.kth()
    out = np.empty(n)
    out[ids] = kth
    return out


def _kth_floors(rows: np.ndarray, k: int, runner: TaskRunner) -> np.ndarray:
    """A lower bound of each row's ``k``-th similarity: its ``k``-th over a fixed sample of
    :data:`FLOOR_SAMPLE` rows (the sample's own rows skip themselves by taking the ``k+1``-th).
    Costs ``FLOOR_SAMPLE / n`` of the pass, runs as tasks like the pass (on the cluster with
    Ray), and lets the kNN epilogue skip almost every value."""
    from vectortrainer.golden.runners import topk_pair

    n = len(rows)
    if n <= FLOOR_SAMPLE:
        return np.full(n, -np.inf, dtype=np.float32)
    sample = np.sort(np.random.default_rng(0).choice(n, FLOOR_SAMPLE, replace=False))
    pairs: list[Pair] = [(slice(start, min(start + FLOOR_SAMPLE, n)), sample)
                         for start in range(0, n, FLOOR_SAMPLE)]
    floors = np.empty(n, dtype=np.float32)
    unbounded = np.full(n, -np.inf, dtype=np.float32)
    for (part, _), (top, _) in zip(pairs, runner.map(topk_pair, (rows, k + 1, unbounded), pairs),
                                   strict=True):
        floors[part] = top[:, k]
    # the same pair's similarity may round differently in another block's product
    return floors - FLOOR_MARGIN


def _pair(pieces: Pieces, a: int, group: np.ndarray | None) -> Pair:
    """Positions (in piece order) of piece ``a`` and of its partner ``group`` (``None``: with
    itself)."""
    return _rows_of(pieces, None, a), (None if group is None else _rows_of(pieces, group, a))


class _PieceOrder:
    """The working rows, put in piece order in place for the exact passes and back for everything
    else."""

    def __init__(self, rows: np.ndarray, order: np.ndarray | None) -> None:
        self.rows = rows
        self.order = None if order is None or _identity(order) else order
        self.reordered = False

    def in_piece_order(self) -> np.ndarray:
        from vectortrainer.golden.pruning import reorder_rows

        if self.order is not None and not self.reordered:
            reorder_rows(self.rows, self.order)
            self.reordered = True
        return self.rows

    def in_original_order(self) -> np.ndarray:
        from vectortrainer.golden.pruning import restore_rows

        if self.reordered:
            assert self.order is not None
            restore_rows(self.rows, self.order)
            self.reordered = False
        return self.rows


def _identity(order: np.ndarray) -> bool:
    return bool(len(order) == 0 or (order[0] == 0 and (np.diff(order) == 1).all()))


def _as_index(positions: np.ndarray | slice) -> np.ndarray:
    if isinstance(positions, slice):
        return np.arange(positions.start, positions.stop)
    return positions


class _Phases:
    """Reports several passes as one progress: pass ``i`` of ``count`` covers its share of the
    bar."""

    def __init__(self, progress: Progress | None, count: int) -> None:
        self.progress = progress
        self.count = count
        self.index = -1

    def next(self) -> Progress | None:
        self.index += 1
        if self.progress is None:
            return None
        index, count, report = self.index, self.count, self.progress
        return lambda done, total: report(index * total + done, count * total)



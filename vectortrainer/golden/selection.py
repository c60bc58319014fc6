"""Golden-data selection over the epsilon-graph: steady-state centres and new patterns (FR-1.3,
FR-1.4, VT-3, VT-11).

Algorithm (``select_golden``):

1. **Who takes part.** Only successful logs (``SUCCESS`` and ``ANOMALY``, see
   ``vectortrainer.store.records.SUCCESSFUL_STATUSES``) with a non-zero vector. Failed logs
   (``ERROR`` / ``FAILURE``) embed their error text, not their input, so they are
   neither counted in anyone's density nor ever picked.
2. **Epsilon, density and core logs.** :func:`vectortrainer.golden.density.epsilon_graph_stats`
   first finds each participant's ``min_samples``-th nearest-neighbour similarity and,
   with ``epsilon="auto"`` (the default), chooses epsilon from it
   (:mod:`vectortrainer.golden.epsilon`); then, in one blocked pass (exact) or through an
   ANN index for large inputs, density D (FR-1.2) at that epsilon, neighbour counts,
   core logs (``min_samples`` neighbours within epsilon) and components over core logs.
3. **Dense clusters** (:mod:`vectortrainer.golden.clusters`): core components merged by
   average linkage while their logs are more alike than two random logs are, each
   non-core log with a core neighbour attached as the cluster's fringe; clusters of at
   least ``min_cluster_size`` logs, numbered 0.. by size (largest first).
4. **Anomaly picks** (new patterns): participants outside every dense cluster (never a
   cluster's fringe: the low-density logs), the newest first: the farthest from every prototype
   of where the logs are (:mod:`vectortrainer.golden.novelty`), which tells a request unlike any
   pattern from the sparse edge of a large one. Those as near a prototype as the clusters' own
   logs are (a sparse pattern: one request type phrased many ways) are candidates for the steady
   state too, and the auto split counts them as steady; ties go to status ``ANOMALY`` first
   (VectorWave's drift detector flagged them), then content order (below). With too few logs
   for two prototypes the order is lowest density first, then ``ANOMALY``, then the more
   isolated (the lower their ``min_samples``-th neighbour similarity).
5. **Steady-state picks** (facility location, :mod:`vectortrainer.golden.facility`): each dense
   cluster's **medoid** first (the core log with the largest summed cosine similarity to the
   others; largest cluster first), then whichever candidate adds most to the coverage of the
   density (every log's best similarity to a pick, a cluster's logs counted only by picks of
   their own cluster), so dense regions get picks in proportion to how many logs they hold and
   how spread out they are. Then each pick in a cluster moves to the core log that best stands
   for the cluster's logs it covers (:mod:`vectortrainer.golden.centres`): an early greedy pick
   stood for much of its cluster, and ends at the centre of the share it stands for.
6. **The split.** With ``anomaly_share: auto`` (the default) one facility-location order over
   every participant decides it: a new log is picked when covering it adds more than another
   steady pick would, new logs capped at ``MAX_AUTO_ANOMALY_SHARE`` of ``top_k``. A new log's
   coverage of itself counts as far as it is new (:func:`~vectortrainer.golden.novelty.newness`):
   one just past the sparse-pattern limit (the sparse tail of known patterns) is worth only the
   logs like it, so a budget goes to new logs where the logs hold real novelty. A number fixes
   the new patterns' share at ``round(top_k * anomaly_share)``; what either side cannot fill
   goes to the other.
7. **Near-duplicates are suppressed**: no pick has cosine similarity >=
   ``1 - duplicate_epsilon`` (default ``epsilon / 4``) with an earlier pick, across both
   strategies, so a group of identical logs yields at most one pick.
8. **Ranking**: steady picks in facility-location order; anomaly picks newest first.

The result is deterministic for the same logs, in any row order: selection works on them in an
order fixed by their contents (:mod:`vectortrainer.golden.canonical`), so a store that reads back
in another order (LanceDB after a compaction) gives the same picks.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from vectortrainer.errors import DataFormatError
from vectortrainer.golden.approximate import DensityError
from vectortrainer.golden.canonical import content_order
from vectortrainer.golden.centres import recentre
from vectortrainer.golden.clusters import dense_clusters
from vectortrainer.golden.density import (
    DEFAULT_BLOCK_SIZE,
    ROW_CHUNK,
    Progress,
    epsilon_graph_stats,
    nonzero_rows,
)
from vectortrainer.golden.epsilon import EpsilonChoice
from vectortrainer.golden.facility import facility_location_order
from vectortrainer.golden.novelty import newness, pattern_limit, prototype_distance, prototypes
from vectortrainer.settings import (
    AUTO,
    DEFAULT_MIN_SAMPLES,
    DEFAULT_SETTINGS,
    MAX_AUTO_ANOMALY_SHARE,
    SelectionSettings,
    require_settings,
)
from vectortrainer.store.records import SUCCESSFUL_STATUSES

if TYPE_CHECKING:
    from vectortrainer.golden.runners import TaskRunner

Strategy = Literal["steady", "anomaly"]


@dataclass(frozen=True)
class Pick:
    """One selected log with what a UI needs to explain why it was picked."""

    row: int
    strategy: Strategy
    rank: int
    density: float
    neighbours: int
    status: str
    cluster: int  # dense-cluster id, -1 when outside every dense cluster
    cluster_size: int


@dataclass
class GoldenSelection:
    """Ranked row indices per strategy plus the per-row figures behind them.

    ``density`` / ``neighbour_counts`` are 0 for rows that took no part (failed
    logs, zero vectors); ``clusters`` is -1 outside every dense cluster; ``fringe``
    marks rows that joined a cluster through a core neighbour.
    """

    steady: np.ndarray
    anomaly: np.ndarray
    density: np.ndarray
    neighbour_counts: np.ndarray
    clusters: np.ndarray
    cluster_sizes: np.ndarray
    picks: list[Pick]
    participating: np.ndarray
    epsilon: float
    duplicate_epsilon: float
    density_mode: str
    density_seconds: float
    selection_seconds: float
    density_error: DensityError | None = None  # approximate density only: its error on a sample
    excluded: dict[str, int] = field(default_factory=dict)
    epsilon_choice: EpsilonChoice | None = None
    min_samples: int = DEFAULT_MIN_SAMPLES
    cluster_similarity: float | None = None
    core: np.ndarray | None = None
    fringe: np.ndarray | None = None
    duplicates_suppressed: int = 0
    # outside every dense cluster: distance to the nearest prototype of the logs, NaN elsewhere;
    # None when no log is outside them or there are too few logs for prototypes
    novelty: np.ndarray | None = None

    @property
    def rows(self) -> np.ndarray:
        """All picked rows: steady first, then anomaly."""
        return np.concatenate([self.steady, self.anomaly])

    @property
    def epsilon_reason(self) -> str:
        return self.epsilon_choice.reason if self.epsilon_choice else f"set: {self.epsilon:g}"


def select_golden(
    vectors: np.ndarray,
    statuses: Sequence[str],
    settings: SelectionSettings = DEFAULT_SETTINGS,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    progress: Progress | None = None,
    runner: TaskRunner | None = None,
    overwrite: bool = False,
) -> GoldenSelection:
    """Pick up to ``settings.top_k`` logs: medoids of every dense cluster and low-density new
    patterns.

    ``settings`` (a config's ``selection`` section will do) are valid by construction.
    ``block_size`` is the density kernel's tile. ``runner`` runs the density tasks
    (default: threads of this process). With ``overwrite`` a C-contiguous float32
    ``vectors`` is used as the working matrix instead of a copy: rows keep their places,
    but participating rows come back normalised to unit length.
    """
    settings = require_settings(settings)
    array = np.asarray(vectors)
    nonzero = nonzero_rows(array)
    n = len(array)
    if len(statuses) != n:
        raise DataFormatError(
            f"statuses: {len(statuses)} given for {n} vectors; they must be aligned"
        )
    successful = np.fromiter((s in SUCCESSFUL_STATUSES for s in statuses), dtype=bool, count=n)
    participating = successful & nonzero
    rows = np.flatnonzero(participating)
    # Everything below works in positions of ``unit``, the participating rows normalised, in the
    # order of their contents. Without ``overwrite`` it is the one copy of the matrix.
    in_place = (
        overwrite
        and array.dtype == np.float32
        and array.flags.c_contiguous
        and array.flags.writeable
    )
    left_out = _compact_rows(array, rows) if in_place else None
    try:
        # float32 rows of our own (or the caller's, in
        # place); density normalises them in place, once.
        unit = array[: len(rows)] if in_place else np.asarray(array[rows], dtype=np.float32)
        # In an order fixed by the logs' contents: the same logs give the same picks, whatever
        # order the store read them in (golden/canonical.py). Imported here: pruning brings numba,
        # which the faces must not load at import time.
        from vectortrainer.golden.pruning import reorder_rows, restore_rows

        order = content_order(unit)
        reorder_rows(unit, order)
        try:
            return _select(
                unit,
                rows[order],
                statuses,
                n,
                successful,
                nonzero,
                participating,
                settings,
                block_size=block_size,
                progress=progress,
                runner=runner,
            )
        finally:
            if in_place:
                restore_rows(unit, order)
    finally:
        if left_out is not None:
            _expand_rows(array, rows, left_out)


def _compact_rows(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Moves ``array[rows]`` (increasing) to the front, in place; returns the rows left out, saved
    aside."""
    left = np.ones(len(array), dtype=bool)
    left[rows] = False
    saved = array[left].copy()
    # each source row sits at or after its target: none is overwritten
    for start in range(0, len(rows), ROW_CHUNK):
        sources = rows[start : start + ROW_CHUNK]
        array[start : start + len(sources)] = array[sources]
    return saved


def _expand_rows(array: np.ndarray, rows: np.ndarray, saved: np.ndarray) -> None:
    """Undoes :func:`_compact_rows`: the front rows back to ``rows``, the saved rows to the
    others."""
    starts = range(0, len(rows), ROW_CHUNK)
    # from the back: each target sits at or after every row still to move
    for start in reversed(starts):
        targets = rows[start : start + ROW_CHUNK]
        array[targets] = array[start : start + len(targets)].copy()
    left = np.ones(len(array), dtype=bool)
    left[rows] = False
    array[left] = saved


def _select(
    unit: np.ndarray,
    rows: np.ndarray,
    statuses: Sequence[str],
    n: int,
    successful: np.ndarray,
    nonzero: np.ndarray,
    participating: np.ndarray,
    settings: SelectionSettings,
    *,
    block_size: int,
    progress: Progress | None,
    runner: TaskRunner | None,
) -> GoldenSelection:
    """:func:`select_golden` on ``unit``, the participating logs (float32 and owned: the density
    pass normalises them in place, and everything after it reads unit rows); ``rows[i]`` is the
    caller's row at position ``i`` of ``unit``."""
    stats = epsilon_graph_stats(
        unit,
        settings.epsilon,
        mode=settings.density_mode,
        block_size=block_size,
        progress=progress,
        min_samples=settings.min_samples,
        runner=runner,
        overwrite=True,
    )
    chosen = stats.epsilon
    duplicate_epsilon = (
        chosen / 4 if settings.duplicate_epsilon is None else settings.duplicate_epsilon
    )
    top_k = settings.top_k
    started = time.perf_counter()
    assert (
        stats.core is not None
        and stats.nearest_core is not None
        and stats.kth_similarity is not None
    )
    grouping = dense_clusters(
        unit,
        stats.core,
        stats.components,
        stats.nearest_core,
        min_cluster_size=settings.min_cluster_size,
        cluster_similarity=settings.cluster_similarity_value,
    )
    local_cluster = grouping.labels
    cluster_sizes = grouping.sizes

    picker = _Picker(unit, 1.0 - duplicate_epsilon)
    statuses_list = list(statuses)
    outside = np.flatnonzero(local_cluster < 0)
    novelty = np.full(n, np.nan)
    distance, limit = _outside_novelty(unit, outside, np.flatnonzero(local_cluster >= 0))
    if distance is not None:
        novelty[rows[outside]] = distance
    # Logs outside the dense clusters as near a prototype as the clusters' own logs: a sparse
    # pattern, not a new one (VT-20). They stand for the steady state; the others are new.
    pattern = np.zeros(len(unit), dtype=bool)
    if distance is not None:
        pattern[outside[distance <= limit]] = True
    isolation = stats.kth_similarity  # the closure below loses the assertion's narrowing

    @functools.cache
    def anomaly_order() -> np.ndarray:
        """New-pattern candidates in pick order, ranked only when a pick needs them."""
        flagged_last = [statuses_list[r] != "ANOMALY" for r in rows[outside]]
        if distance is None:
            return outside[np.lexsort((outside, isolation[outside], flagged_last,
                                       stats.density[outside]))]
        return outside[np.lexsort((outside, flagged_last, -distance))]

    # Steady picks cover the density (facility location, VT-20): first each dense cluster's centre,
    # largest cluster first, then whichever log adds most to how well the logs are represented.
    # Only a cluster's logs stand for it, so a log between two clusters (a bridge) never stands
    # for both; centres come from core logs, so a fringe log is never one.
    members = [np.flatnonzero((local_cluster == c) & stats.core) for c in range(len(cluster_sizes))]
    centres = [_medoid(unit, m) for m in members if len(m)]
    is_new = (local_cluster < 0) & ~pattern
    if settings.anomaly_share == AUTO:
        # A new log counts for itself as far as it is new: one just past the sparse-pattern limit
        # is worth only the logs like it that it stands for, one far past it counts in full.
        own_weight = np.ones(len(unit))
        if distance is not None:
            own_weight[outside] = np.where(pattern[outside], 1.0, newness(distance, limit))
        steady, anomaly = _adaptive_split(unit, local_cluster, is_new, anomaly_order, centres,
                                          picker, top_k, own_weight)
    else:
        share = round(top_k * settings.anomaly_share)
        anomaly = picker.take(anomaly_order(), share) if share else []
        steady = facility_location_order(
            unit, np.flatnonzero(~is_new), top_k - len(anomaly),
            lambda row: bool(picker.take([row], 1)), groups=local_cluster, first=centres,
        )
    # Each steady pick in a cluster moves to the centre of the logs it stands for (VT-20).
    steady = recentre(unit, steady + anomaly, local_cluster, stats.core,
                      picker.replace)[: len(steady)]
    if len(steady) + len(anomaly) < top_k:  # clusters ran out: new patterns take the rest
        # Later in density order than every earlier anomaly pick, so the ranking holds.
        anomaly += picker.take(anomaly_order(), top_k - len(steady) - len(anomaly))
    steady = rows[np.asarray(steady, dtype=np.int64)].tolist()
    anomaly = rows[np.asarray(anomaly, dtype=np.int64)].tolist()

    density = np.zeros(n)
    counts = np.zeros(n, dtype=np.int64)
    density[rows] = stats.density
    counts[rows] = stats.neighbour_counts
    clusters = np.full(n, -1, dtype=np.int64)
    clusters[rows] = local_cluster
    core = np.zeros(n, dtype=bool)
    core[rows] = stats.core
    fringe = np.zeros(n, dtype=bool)
    fringe[rows[grouping.fringe]] = True

    def describe(row: int, strategy: Strategy, rank: int) -> Pick:
        cluster = int(clusters[row])
        return Pick(
            row=int(row),
            strategy=strategy,
            rank=rank,
            density=float(density[row]),
            neighbours=int(counts[row]),
            status=statuses_list[row],
            cluster=cluster,
            cluster_size=int(cluster_sizes[cluster]) if cluster >= 0 else 1,
        )

    picks = [describe(r, "steady", i) for i, r in enumerate(steady)]
    picks += [describe(r, "anomaly", i) for i, r in enumerate(anomaly)]
    excluded = {}
    failed = int((~successful).sum())
    if failed:
        excluded["failed status"] = failed
    zero = int((successful & ~nonzero).sum())
    if zero:
        excluded["zero vector"] = zero
    return GoldenSelection(
        steady=np.asarray(steady, dtype=np.int64),
        anomaly=np.asarray(anomaly, dtype=np.int64),
        density=density,
        neighbour_counts=counts,
        clusters=clusters,
        cluster_sizes=np.asarray(cluster_sizes, dtype=np.int64),
        picks=picks,
        participating=participating,
        epsilon=float(chosen),
        duplicate_epsilon=float(duplicate_epsilon),
        density_mode=stats.mode,
        density_seconds=stats.seconds,
        selection_seconds=time.perf_counter() - started,
        density_error=stats.density_error,
        excluded=excluded,
        epsilon_choice=stats.epsilon_choice,
        min_samples=settings.min_samples,
        cluster_similarity=grouping.cluster_similarity,
        core=core,
        fringe=fringe,
        duplicates_suppressed=picker.rejected,
        novelty=novelty if distance is not None else None,
    )


class _Picker:
    """Accepts rows unless they are near-duplicates of a row accepted before."""

    def __init__(self, unit: np.ndarray, duplicate_similarity: float) -> None:
        self.unit = unit
        self.duplicate_similarity = duplicate_similarity
        self.accepted: list[int] = []
        self.rejected_rows: set[int] = set()  # candidates turned down as near-duplicates of a pick

    @property
    def rejected(self) -> int:
        return len(self.rejected_rows)

    def is_new(self, row: int) -> bool:
        if row in self.accepted:
            return False
        if not self.accepted:
            return True
        sims = self.unit[self.accepted] @ self.unit[row]
        return bool(sims.max() < self.duplicate_similarity)

    def replace(self, old: int, new: int) -> bool:
        """Puts ``new`` in ``old``'s place unless it is a near-duplicate of another accepted row."""
        others = [row for row in self.accepted if row != old]
        if new in self.accepted:
            return False
        nearest = float((self.unit[others] @ self.unit[new]).max()) if others else -1.0
        if nearest >= self.duplicate_similarity:
            return False
        self.accepted[self.accepted.index(old)] = new
        self.rejected_rows.discard(new)  # a pick now, not a near-duplicate passed over
        return True

    def take(self, candidates: Sequence[int] | np.ndarray, limit: int) -> list[int]:
        taken: list[int] = []
        if limit <= 0:
            return taken
        for row in _iter_new(self, candidates):
            if len(taken) >= limit:
                break
            self.accepted.append(int(row))
            taken.append(int(row))
        return taken


def _iter_new(
    picker: _Picker, candidates: Sequence[int] | np.ndarray, chunk: int = 4096
) -> Iterator[int]:
    """Candidates that are not near-duplicates of accepted rows, checked a chunk at a time."""
    candidates = np.asarray(candidates, dtype=np.int64)
    for start in range(0, len(candidates), chunk):
        part = candidates[start : start + chunk]
        if picker.accepted:
            sims = picker.unit[part] @ picker.unit[picker.accepted].T
            duplicate = sims.max(axis=1) >= picker.duplicate_similarity
            picker.rejected_rows.update(
                int(r) for r in part[duplicate] if int(r) not in picker.accepted
            )
            part = part[~duplicate]
        for row in part:
            if picker.is_new(int(row)):  # re-check against rows accepted within this chunk
                yield int(row)
            elif int(row) not in picker.accepted:
                picker.rejected_rows.add(int(row))


def _outside_novelty(
    unit: np.ndarray, outside: np.ndarray, members: np.ndarray
) -> tuple[np.ndarray | None, float]:
    """The distance of each log of ``outside`` to the nearest prototype of a pattern, and the
    distance within which a log belongs to a pattern (:func:`pattern_limit` over the clusters'
    ``members``); (None, -inf) with no log outside or too few logs for prototypes."""
    centres_of_patterns = prototypes(unit) if len(outside) else None
    if centres_of_patterns is None:
        return None, float("-inf")
    return (prototype_distance(unit, outside, centres_of_patterns),
            pattern_limit(unit, members, centres_of_patterns))


def _adaptive_split(
    unit: np.ndarray,
    labels: np.ndarray,
    is_new: np.ndarray,
    anomaly_order: Callable[[], np.ndarray],
    centres: list[int],
    picker: _Picker,
    top_k: int,
    own_weight: np.ndarray,
) -> tuple[list[int], list[int]]:
    """Steady and anomaly picks from one facility-location order over every participant: a new
    log (``is_new``: outside the dense clusters and every sparse pattern) is picked when covering
    the new logs like it, and itself as far as ``own_weight`` says, adds more than another steady
    pick would, up to ``MAX_AUTO_ANOMALY_SHARE`` of ``top_k``. Where no log is new, almost the
    whole budget goes to the steady state; where a pattern is new, it takes its share. The
    anomaly picks come back in ``anomaly_order()``."""
    cap = round(top_k * MAX_AUTO_ANOMALY_SHARE)
    anomaly: list[int] = []

    def accept(row: int) -> bool:
        if not is_new[row]:
            return bool(picker.take([row], 1))
        if len(anomaly) >= cap or not picker.take([row], 1):
            return False
        anomaly.append(row)
        return True

    order = facility_location_order(unit, np.arange(len(unit)), top_k, accept, groups=labels,
                                    first=centres, own_weight=own_weight)
    if not anomaly:
        return order, []
    rank = {int(row): i for i, row in enumerate(anomaly_order())}
    return ([row for row in order if not is_new[row]],
            sorted(anomaly, key=rank.__getitem__))


def _medoid(unit: np.ndarray, members: np.ndarray) -> int:
    """The member most alike to all the others (the cosine medoid)."""
    x = unit[members]
    return int(members[np.argmax(x @ x.sum(axis=0))])

"""The map of a function's logs the faces draw (FR-4.3): a 2-D projection, the golden picks, density
histograms.

:func:`build_vector_map` projects every log (PCA fitted on the logs that take part
in density), marks the golden picks (those a run recorded, matched by log uuid, or
picked anew on the store as it is now), and bins densities and nearest-neighbour
distances for the histograms. The web page only draws the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vectortrainer.display import histogram_rows, hover_text
from vectortrainer.golden.coverage import Coverage, coverage
from vectortrainer.golden.selection import select_golden
from vectortrainer.json_types import JSONObject
from vectortrainer.settings import AUTO, SelectionSettings
from vectortrainer.store.records import FunctionLogs
from vectortrainer.workspace.projection import nearest_neighbour_distance, pca_2d

MAX_MAP_POINTS = 4000
NOT_PICKED = "not picked"
PICKS_RECORDED = "recorded"
PICKS_RECOMPUTED = "recomputed"


@dataclass
class VectorMap:
    """Everything the vector distribution page draws."""

    function: str
    # x, y, status, strategy, golden, rank, density, input, output, uuid
    points: list[JSONObject]
    total: int
    explained: tuple[float, float]
    density_bins: list[JSONObject]
    distance_bins: list[JSONObject]
    settings: SelectionSettings
    steady: int
    anomaly: int
    clusters: int
    skipped: dict[str, int]
    excluded: dict[str, int]
    picks_source: str = PICKS_RECOMPUTED  # PICKS_RECORDED: the run's golden_picks.json
    # recorded (entries of golden_picks.json), log gone from the store
    missing_picks: list[JSONObject] = field(default_factory=list)
    epsilon: float = 0.0  # the one used (chosen from the logs with "auto")
    coverage: Coverage | None = None  # of the selection the settings make on the logs as they are

    @property
    def shown(self) -> int:
        return len(self.points)

    @property
    def one_neighbour_density(self) -> float:
        """The least density a log with one neighbour within epsilon can have: 1 - epsilon."""
        return 1.0 - self.epsilon


def build_vector_map(
    logs: FunctionLogs,
    settings: SelectionSettings,
    *,
    max_points: int = MAX_MAP_POINTS,
    bins: int = 30,
    recorded_picks: list[JSONObject] | None = None,
) -> VectorMap:
    """Project every log to 2-D, mark the golden picks, and bin densities and distances.

    With ``recorded_picks`` (a run's ``golden_picks.json``) the marked picks are
    those, matched by log uuid; recorded picks whose log is no longer in ``logs``
    are listed in ``missing_picks``. Without them the picks are selected anew with
    ``settings`` on ``logs`` as they are now. Densities and histograms always
    describe ``logs`` with ``settings``.

    The PCA is fitted on the logs that take part in density (successful, with a
    vector): failed logs embed their error text, so they are projected but do not
    shape the axes. Above ``max_points`` logs the map keeps every golden pick plus
    evenly spaced other rows (deterministic).
    """
    n = len(logs.records)
    source = PICKS_RECORDED if recorded_picks is not None else PICKS_RECOMPUTED
    if n == 0:
        return VectorMap(logs.function_name, [], logs.total, (0.0, 0.0), [], [], settings, 0, 0, 0,
                         dict(logs.skipped), {}, source, list(recorded_picks or []),
                         epsilon=0.0 if settings.epsilon == AUTO else float(settings.epsilon))
    selection = select_golden(logs.vectors, logs.statuses, settings)
    projection = pca_2d(logs.vectors, selection.participating)
    strategy = np.full(n, NOT_PICKED, dtype=object)
    rank = np.full(n, -1, dtype=np.int64)
    missing: list[JSONObject] = []
    marked: list[tuple[int, str, int]]
    if recorded_picks is None:
        marked = [(pick.row, pick.strategy, pick.rank) for pick in selection.picks]
        steady, anomaly = len(selection.steady), len(selection.anomaly)
    else:
        row_of = {record.uuid: row for row, record in enumerate(logs.records)}
        marked = []
        for pick in recorded_picks:
            if pick["uuid"] in row_of:
                marked.append(
                    (row_of[pick["uuid"]], str(pick["strategy"]), int(pick.get("rank") or 0))
                )
            else:
                missing.append(pick)
        steady = sum(1 for pick in recorded_picks if pick["strategy"] == "steady")
        anomaly = sum(1 for pick in recorded_picks if pick["strategy"] == "anomaly")
    for row, kind, place in marked:
        strategy[row] = kind
        rank[row] = place
    picked_rows = np.asarray([row for row, _, _ in marked], dtype=np.int64)
    shown = _rows_to_show(n, picked_rows, max_points)
    points: list[JSONObject] = []
    for row in shown:
        record = logs.records[row]
        points.append(
            {
                "x": float(projection.points[row, 0]),
                "y": float(projection.points[row, 1]),
                "status": record.status,
                "strategy": str(strategy[row]),
                "golden": bool(rank[row] >= 0),
                "rank": int(rank[row]) if rank[row] >= 0 else None,
                "density": float(selection.density[row]),
                "input": hover_text(record.inputs),
                "output": hover_text(record.output if record.succeeded else record.error_message),
                "uuid": record.uuid,
            }
        )
    participating = np.flatnonzero(selection.participating)
    in_cluster = selection.clusters[participating] >= 0
    density = selection.density[participating]
    density_bins = histogram_rows(
        density, bins, groups=np.where(in_cluster, "dense cluster", "outside clusters")
    )
    distance = nearest_neighbour_distance(logs.vectors[participating])
    distance_bins = histogram_rows(distance[np.isfinite(distance)], bins)
    return VectorMap(
        function=logs.function_name,
        points=points,
        total=n,
        explained=projection.explained,
        density_bins=density_bins,
        distance_bins=distance_bins,
        settings=settings,
        steady=steady,
        anomaly=anomaly,
        clusters=len(selection.cluster_sizes),
        skipped=dict(logs.skipped),
        excluded=dict(selection.excluded),
        picks_source=source,
        missing_picks=missing,
        epsilon=selection.epsilon,
        coverage=coverage(selection, logs.vectors),
    )


def _rows_to_show(n: int, picked: np.ndarray, max_points: int) -> list[int]:
    if n <= max_points:
        return list(range(n))
    keep = set(int(r) for r in picked)
    room = max(0, max_points - len(keep))
    keep.update(int(r) for r in np.linspace(0, n - 1, num=room).round().astype(np.int64))
    return sorted(keep)



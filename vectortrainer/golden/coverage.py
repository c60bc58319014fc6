"""What a selection covers: how many logs each pick stands for, which clusters got none and why
(VT-11).

Every log of a dense cluster stands with the most similar steady pick of its
cluster; a log outside every cluster stands with an anomaly pick it is within
epsilon of. A cluster without a pick says why: the steady budget ran out (clusters
are served largest first), or all its core logs were near-duplicates of earlier
picks. The epsilon decision and the near-duplicates suppressed are part of the
report; the CLI summary, the TUI dataset screen and the web vector map show it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from vectortrainer.golden.density import ROW_CHUNK, unit_rows
from vectortrainer.golden.selection import GoldenSelection


@dataclass(frozen=True)
class UncoveredCluster:
    """A dense cluster no pick stands for, and why."""

    cluster: int
    size: int
    reason: str


@dataclass(frozen=True)
class Coverage:
    """The coverage report of one selection."""

    clusters: int
    covered_clusters: int
    # per pick, in the selection's pick order: the logs it represents (itself included)
    stands_for: list[int]
    represented: int  # logs some pick stands for
    participating: int
    outside: int  # participating logs outside every dense cluster
    uncovered: list[UncoveredCluster] = field(default_factory=list)
    duplicates_suppressed: int = 0
    epsilon: float = 0.0
    epsilon_reason: str = ""
    cluster_similarity: float | None = None

    def lines(self) -> list[str]:
        """The report as short lines for a summary."""
        lines = [
            f"{self.covered_clusters} of {self.clusters} dense clusters "
            f"have a pick; the picks stand for {self.represented} of "
            f"{self.participating} logs ({self.outside} outside every cluster)"
        ]
        for cluster in self.uncovered[:5]:
            lines.append(
                f"cluster {cluster.cluster} ({cluster.size} logs) has no pick: {cluster.reason}"
            )
        if len(self.uncovered) > 5:
            lines.append(f"... and {len(self.uncovered) - 5} more clusters without a pick")
        if self.duplicates_suppressed:
            lines.append(f"{self.duplicates_suppressed} near-duplicates of a pick were passed over")
        lines.append(f"epsilon {self.epsilon_reason}")
        return lines

    def to_dict(self) -> dict:
        """The report as JSON, without the per-pick ``stands_for`` counts."""
        return {key: value for key, value in asdict(self).items() if key != "stands_for"}


def coverage(selection: GoldenSelection, vectors: np.ndarray) -> Coverage:
    """The coverage report of ``selection`` over the ``vectors`` it was made from."""
    picks = [pick.row for pick in selection.picks]
    stands_for = [0] * len(picks)
    participating = np.flatnonzero(selection.participating)
    clusters = selection.clusters
    if picks and len(participating):
        pick_units, _ = unit_rows(np.asarray(vectors)[picks])
        pick_cluster = np.array([pick.cluster for pick in selection.picks])
        pick_is_anomaly = np.array([pick.strategy == "anomaly" for pick in selection.picks])
        # participants x picks, a chunk at a time
        for start in range(0, len(participating), ROW_CHUNK):
            rows = participating[start : start + ROW_CHUNK]
            sims = unit_rows(np.asarray(vectors)[rows])[0] @ pick_units.T
            own = clusters[rows]
            # Cluster members stand with their own cluster's steady picks; others with a close
            # pick outside every cluster (a new pattern, or a sparse pattern's steady pick).
            allowed = np.where(own[:, None] >= 0,
                               (pick_cluster[None, :] == own[:, None]) & ~pick_is_anomaly[None, :],
                               (pick_cluster[None, :] < 0) & (sims >= 1.0 - selection.epsilon))
            masked = np.where(allowed, sims, -np.inf)
            best = np.argmax(masked, axis=1)
            has = np.isfinite(masked[np.arange(len(rows)), best])
            for column in best[has]:  # a pick is its own most similar pick, so it counts itself
                stands_for[int(column)] += 1
    picked_clusters = {
        pick.cluster for pick in selection.picks if pick.strategy == "steady" and pick.cluster >= 0
    }
    steady_budget = len(selection.steady)
    uncovered = []
    for cluster, size in enumerate(selection.cluster_sizes.tolist()):
        if cluster in picked_clusters:
            continue
        reason = (
            f"the {steady_budget} steady picks went to larger clusters first"
            if cluster >= steady_budget
            else "its core logs are near-duplicates of earlier picks"
        )
        uncovered.append(UncoveredCluster(cluster, int(size), reason))
    choice = selection.epsilon_choice
    return Coverage(
        clusters=len(selection.cluster_sizes),
        covered_clusters=len(picked_clusters),
        stands_for=stands_for,
        represented=int(sum(stands_for)),
        participating=int(len(participating)),
        outside=int((clusters[participating] < 0).sum()),
        uncovered=uncovered,
        duplicates_suppressed=selection.duplicates_suppressed,
        epsilon=selection.epsilon,
        epsilon_reason=choice.reason if choice is not None else f"set: {selection.epsilon:g}",
        cluster_similarity=selection.cluster_similarity,
    )

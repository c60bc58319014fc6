"""What a run records of its golden data: the picks (``golden_picks.json``) and the statistics of
its summary.

The picks let the vector map show what a run trained on even after the store has
changed; the statistics are the ``golden`` part of the run's summary (FR-4.4).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from vectortrainer.errors import DataFormatError
from vectortrainer.files import count_lines, read_json
from vectortrainer.golden.extractor import ExtractionReport
from vectortrainer.json_types import JSONObject

PICK_FIELDS = ("uuid", "strategy", "rank", "density", "cluster", "cluster_size")


def golden_picks(report: ExtractionReport) -> list[JSONObject]:
    """The extractor's picks as ``golden_picks.json`` rows: uuid, strategy, rank, density, cluster,
    cluster_size."""
    return [{name: getattr(pick, name) for name in PICK_FIELDS} for pick in report.picks]


def read_golden_picks(path: Path) -> list[JSONObject]:
    """The picks a run's extract stage recorded; a damaged file raises :class:`DataFormatError`
    naming it."""
    picks = read_json(path, expect=list)
    for index, pick in enumerate(picks):
        if (
            not isinstance(pick, dict)
            or not isinstance(pick.get("uuid"), str)
            or not pick.get("strategy")
        ):
            raise DataFormatError(f"{path}: entry {index} is not a pick with a uuid and a strategy")
    return list(picks)


def golden_stats(report: ExtractionReport, golden_path: Path) -> JSONObject:
    """Counts per strategy, density percentiles and what was left out (the summary's ``golden``
    part)."""
    return {
        "examples": count_lines(golden_path),
        "per_strategy": {"steady": report.steady, "anomaly": report.anomaly},
        "density_percentiles": dict(report.density_percentiles),
        "clusters": report.clusters,
        "logs": report.total_logs,
        "usable_logs": report.usable_logs,
        "skipped": dict(report.skipped),
        "excluded": dict(report.excluded),
        "density_mode": report.density_mode,
        # Approximate density only: its error on D against exact density on a sample of rows.
        "density_error": asdict(report.density_error) if report.density_error is not None else None,
        "epsilon": report.epsilon,
        "epsilon_reason": report.epsilon_reason,
        "top_k": report.top_k,
        "coverage": report.coverage.to_dict() if report.coverage is not None else {},
    }


def adopted_stats(golden_path: Path) -> JSONObject:
    """The ``golden`` part of a summary for a file made elsewhere (nothing is known but its
    size)."""
    return {"examples": count_lines(golden_path), "per_strategy": {}, "density_percentiles": {}}

"""The summary `vectortrainer select` prints: what the steady picks stand for."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console

from vectortrainer.cli.select import _summary_table


def _summary(steady_outside: int) -> str:
    report = SimpleNamespace(function_name="f", total_logs=500, usable_logs=490, steady=18,
                             steady_outside=steady_outside, anomaly=2, clusters=6,
                             density_percentiles={}, density_mode="exact", density_error=None,
                             skipped={}, excluded={}, epsilon=0.4, top_k=20, coverage=None, timings={})
    console = Console(width=200, record=True)
    console.print(_summary_table(report))
    return console.export_text()


def test_steady_picks_of_sparse_patterns_are_counted_apart_from_the_clusters() -> None:
    assert "18 from 6 dense clusters, 3 of them from sparse patterns outside the clusters" in _summary(3)
    plain = _summary(0)
    assert "18 from 6 dense clusters" in plain and "sparse" not in plain

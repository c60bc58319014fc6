"""Monitors: the callback contract, fan-out, the JSONL sink and the Rich dashboard."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from vectortrainer.cli.dashboard import RichDashboard, render_summary
from vectortrainer.runs.summary import RunSummary
from vectortrainer.runs.events import read_events
from vectortrainer.runs.monitor import CompositeMonitor, JsonlEventSink, PipelineMonitor


class Recorder(PipelineMonitor):
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def on_stage_start(self, stage, *, total=None, description=""):
        self.calls.append(("start", stage, total))

    def on_metric(self, metrics, *, step=None, stage=None):
        self.calls.append(("metric", dict(metrics), step))


def test_base_monitor_accepts_every_callback_as_a_no_op():
    monitor = PipelineMonitor()
    monitor.on_run_start("r")
    monitor.on_stage_start("extract", total=3)
    monitor.on_progress("extract", 1, 3, "x")
    monitor.on_stage_complete("extract", result={}, duration_s=1.0)
    monitor.on_stage_failed("upload", "boom")
    monitor.on_log("hello")
    monitor.on_metric({"train_loss": 1.0}, step=1)
    monitor.on_summary(RunSummary(run_id="r"))
    monitor.on_run_end("succeeded")


def test_composite_forwards_in_order_and_propagates_errors():
    first, second = Recorder(), Recorder()
    composite = CompositeMonitor([first, None, second])
    composite.on_stage_start("extract", total=5)
    composite.on_metric({"train_loss": 0.5}, step=3)
    composite.on_log("ignored by recorders")

    assert first.calls == second.calls == [("start", "extract", 5), ("metric", {"train_loss": 0.5}, 3)]

    class Exploding(PipelineMonitor):
        def on_log(self, message, *, level="info", stage=None):
            raise RuntimeError("monitor broke")

    with pytest.raises(RuntimeError, match="monitor broke"):
        CompositeMonitor([Exploding(), first]).on_log("x")


def test_jsonl_sink_writes_one_event_per_callback_and_throttles_progress(tmp_path):
    path = tmp_path / "events.jsonl"
    sink = JsonlEventSink(path, progress_interval_s=60)
    sink.on_run_start("run-1")
    sink.on_stage_start("extract", total=100)
    for done in range(100):
        sink.on_progress("extract", done, 100)
    sink.on_progress("extract", 100, 100)  # the last one always gets through
    sink.on_metric({"train_loss": 0.25}, step=7, stage="monitor")
    sink.on_log("uploaded file sk-abcdefghijklmnopqrstu", level="info")
    sink.on_stage_complete("extract", result={"examples": 3}, duration_s=0.5)
    sink.on_run_end("succeeded", message="done")

    events = read_events(path)
    types = [e["type"] for e in events]
    assert types == ["run_start", "stage_start", "progress", "progress", "metric", "log", "stage_complete", "run_end"]
    assert [e["completed"] for e in events if e["type"] == "progress"] == [0, 100]
    metric = events[4]
    assert metric["metrics"] == {"train_loss": 0.25} and metric["step"] == 7
    assert "sk-abcdefghijklmnopqrstu" not in path.read_text()
    assert [e["seq"] for e in events] == list(range(1, 9))


def _dashboard(*, terminal: bool) -> tuple[RichDashboard, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=110, force_terminal=terminal, color_system=None)
    return RichDashboard(console, refresh_per_second=20), buffer


def _drive(dashboard: RichDashboard) -> None:
    with dashboard:
        dashboard.on_run_start("run-42")
        dashboard.on_stage_start("extract", total=10, description="density")
        dashboard.on_progress("extract", 4, 10)
        dashboard.on_stage_complete("extract", result={"note": "12 examples"}, duration_s=1.5)
        dashboard.on_stage_complete("synthesize", skipped=True)
        dashboard.on_stage_start("upload")
        dashboard.on_stage_failed("upload", "no API key")
        dashboard.on_log("a warning line", level="warning")
        dashboard.on_metric({"train_loss": 0.125}, step=9)
        dashboard.on_metric({"train_loss": 0.0625}, step=10)


def test_live_dashboard_on_a_terminal_shows_stages_progress_logs_and_metrics():
    dashboard, buffer = _dashboard(terminal=True)
    assert dashboard.live
    _drive(dashboard)
    text = buffer.getvalue()

    assert "run run-42" in text
    assert "12 examples" in text and "1.5s" in text
    assert "done in an earlier attempt" in text
    assert "failed" in text and "no API key" in text
    assert "a warning line" in text
    assert "step 10: train_loss=0.0625" in text
    assert dashboard.stage_states["extract"] == "complete"
    assert dashboard.stage_states["monitor"] == "pending"


def test_dashboard_without_a_terminal_prints_plain_lines_in_order():
    dashboard, buffer = _dashboard(terminal=False)
    assert not dashboard.live
    _drive(dashboard)
    lines = buffer.getvalue().splitlines()

    assert lines == [
        "extract started: density",
        "extract complete in 1.5s: 12 examples",
        "synthesize skipped: done in an earlier attempt",
        "upload started",
        "upload failed: no API key",
        "a warning line",
        "step 9: train_loss=0.125",  # the next metric falls inside metric_every_s
    ]


def test_dashboard_keeps_only_the_log_tail():
    dashboard, _ = _dashboard(terminal=False)
    for i in range(30):
        dashboard.on_log(f"line {i}")
    assert [text for _, text in dashboard.log_tail] == [f"line {i}" for i in range(22, 30)]


def test_summary_shows_golden_rules_cost_and_training():
    summary = RunSummary.from_dict({
        "run_id": "r9",
        "golden": {"examples": 20, "per_strategy": {"steady": 15, "anomaly": 5},
                   "density_percentiles": {"p50": 3.5, "p90": 9.25}},
        "rules": {"count": 4, "conflicts": 1, "merged": 2},
        "cost": {"estimated_usd": 0.0123, "budget_usd": 5.0, "tokens": 4100, "n_epochs": 3},
        "training": {"status": "succeeded", "final_loss": 0.3141, "trained_tokens": 4100,
                     "fine_tuned_model": "ft:gpt-4o-mini-2024-07-18:org::abc"},
        "unknown": "ignored",
    })
    buffer = io.StringIO()
    Console(file=buffer, width=140, color_system=None).print(render_summary(summary))
    text = buffer.getvalue()

    for expected in ("20 (15 steady, 5 anomaly)", "p50 3.5", "p90 9.25", "4 (1 conflicts, 2 merged)",
                     "$0.01 of $5.00 for 4,100 tokens", "final loss", "0.3141", "ft:gpt-4o-mini-2024-07-18:org::abc"):
        assert expected in text
    assert render_summary(summary).row_count == len(summary.rows()) == 8


def test_summary_with_missing_sections_still_renders():
    buffer = io.StringIO()
    summary = RunSummary.from_dict({"run_id": "r0", "golden": None, "cost": "not a mapping"})
    Console(file=buffer, width=120, color_system=None).print(render_summary(summary))
    assert "summary of run r0" in buffer.getvalue() and summary.rows() == []

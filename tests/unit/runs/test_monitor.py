"""The monitor contract (FR-4.1): the no-op base, fan-out, and the events.jsonl sink other processes follow."""

from __future__ import annotations

import pytest

from vectortrainer.runs.events import read_events
from vectortrainer.runs.monitor import CompositeMonitor, JsonlEventSink, PipelineMonitor
from vectortrainer.runs.summary import RunSummary


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

"""Pipeline monitors (FR-4.1): the callback contract that watches a run as it happens.

:class:`PipelineMonitor` is the contract (every method a no-op, so a monitor
overrides only what it needs). :class:`CompositeMonitor` fans out to several;
:class:`JsonlEventSink` appends every callback to the run's ``events.jsonl`` (how
other processes follow a run). The faces bring their own: the CLI's Rich
dashboard (``vectortrainer.cli.dashboard``) and the TUI's message-posting monitor.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from vectortrainer.json_types import JSONValue
from vectortrainer.runs.events import EventLog
from vectortrainer.runs.summary import RunSummary


class PipelineMonitor:
    """Receives every stage's start / progress / completion, log lines and metrics."""

    def on_run_start(
        self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None
    ) -> None:
        """A run starts (or resumes)."""

    def on_stage_start(
        self, stage: str, *, total: float | None = None, description: str = ""
    ) -> None:
        """``stage`` starts; ``total`` is the amount of work when known (for an ETA)."""

    def on_progress(
        self, stage: str, completed: float, total: float | None = None, message: str = ""
    ) -> None:
        """``completed`` of ``total`` units of ``stage`` are done."""

    def on_stage_complete(self, stage: str, *, result: Mapping[str, JSONValue] | None = None,
                          duration_s: float | None = None, skipped: bool = False) -> None:
        """``stage`` finished (``skipped``: it had already finished in an earlier attempt)."""

    def on_stage_failed(self, stage: str, error: str) -> None:
        """``stage`` stopped with ``error`` (one line)."""

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        """A log line (level: debug, info, warning, error)."""

    def on_metric(
        self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None
    ) -> None:
        """Per-step training metrics (``train_loss``, ``valid_loss``, token accuracy, ...)."""

    def on_summary(self, summary: RunSummary) -> None:
        """The final summary (FR-4.4), also written to ``summary.json``."""

    def on_run_end(self, status: str, *, message: str = "") -> None:
        """The run stopped with ``status`` (succeeded, failed, interrupted, ...)."""


class CompositeMonitor(PipelineMonitor):
    """Forwards every callback to each monitor in order; an exception in one propagates."""

    def __init__(self, monitors: Iterable[PipelineMonitor | None]) -> None:
        self.monitors: list[PipelineMonitor] = [m for m in monitors if m is not None]

    def on_run_start(
        self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None
    ) -> None:
        for monitor in self.monitors:
            monitor.on_run_start(run_id, resumed=resumed, run_dir=run_dir)

    def on_stage_start(
        self, stage: str, *, total: float | None = None, description: str = ""
    ) -> None:
        for monitor in self.monitors:
            monitor.on_stage_start(stage, total=total, description=description)

    def on_progress(
        self, stage: str, completed: float, total: float | None = None, message: str = ""
    ) -> None:
        for monitor in self.monitors:
            monitor.on_progress(stage, completed, total, message)

    def on_stage_complete(self, stage: str, *, result: Mapping[str, JSONValue] | None = None,
                          duration_s: float | None = None, skipped: bool = False) -> None:
        for monitor in self.monitors:
            monitor.on_stage_complete(stage, result=result, duration_s=duration_s, skipped=skipped)

    def on_stage_failed(self, stage: str, error: str) -> None:
        for monitor in self.monitors:
            monitor.on_stage_failed(stage, error)

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        for monitor in self.monitors:
            monitor.on_log(message, level=level, stage=stage)

    def on_metric(
        self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None
    ) -> None:
        for monitor in self.monitors:
            monitor.on_metric(metrics, step=step, stage=stage)

    def on_summary(self, summary: RunSummary) -> None:
        for monitor in self.monitors:
            monitor.on_summary(summary)

    def on_run_end(self, status: str, *, message: str = "") -> None:
        for monitor in self.monitors:
            monitor.on_run_end(status, message=message)


class JsonlEventSink(PipelineMonitor):
    """Appends each callback as one JSON line to ``events.jsonl`` (secrets redacted)."""

    def __init__(self, target: EventLog | str | Path, *, progress_interval_s: float = 0.25) -> None:
        self.log = target if isinstance(target, EventLog) else EventLog(Path(target))
        # Progress can come thousands of times a second; keep the file readable.
        self.progress_interval_s = progress_interval_s
        self._last_progress: dict[str, float] = {}

    def on_run_start(
        self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None
    ) -> None:
        self.log.append("run_start", run_id=run_id, resumed=resumed)

    def on_stage_start(
        self, stage: str, *, total: float | None = None, description: str = ""
    ) -> None:
        self._last_progress.pop(stage, None)
        self.log.append("stage_start", stage=stage, total=total, description=description)

    def on_progress(
        self, stage: str, completed: float, total: float | None = None, message: str = ""
    ) -> None:
        now = time.monotonic()
        finished = total is not None and completed >= total
        if not finished and now - self._last_progress.get(stage, -1e9) < self.progress_interval_s:
            return
        self._last_progress[stage] = now
        self.log.append("progress", stage=stage, completed=completed, total=total, message=message)

    def on_stage_complete(self, stage: str, *, result: Mapping[str, JSONValue] | None = None,
                          duration_s: float | None = None, skipped: bool = False) -> None:
        self.log.append("stage_complete", stage=stage, result=dict(result or {}),
                        duration_s=duration_s, skipped=skipped)

    def on_stage_failed(self, stage: str, error: str) -> None:
        self.log.append("stage_failed", stage=stage, error=error)

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        self.log.append("log", level=level, stage=stage, message=message)

    def on_metric(
        self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None
    ) -> None:
        self.log.append("metric", stage=stage, step=step, metrics=dict(metrics))

    def on_summary(self, summary: RunSummary) -> None:
        self.log.append("summary", summary=summary.to_dict())

    def on_run_end(self, status: str, *, message: str = "") -> None:
        self.log.append("run_end", status=status, message=message)

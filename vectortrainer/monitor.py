"""Pipeline monitors (FR-4.1, FR-4.2, FR-4.4): callbacks that watch a run as it happens.

:class:`PipelineMonitor` is the callback contract (every method a no-op, so a
monitor overrides only what it needs). :class:`CompositeMonitor` fans out to
several; :class:`JsonlEventSink` appends every callback to the run's
``events.jsonl`` (how other processes follow a run); :class:`RichDashboard`
draws progress bars with ETA, a stage table and a live log tail on stderr and
prints the final summary. The TUI has its own monitor that posts messages.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from vectortrainer.runs import STAGES, EventLog, redact_secrets


class PipelineMonitor:
    """Receives every stage's start / progress / completion, log lines and metrics."""

    def on_run_start(self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None) -> None:
        """A run starts (or resumes)."""

    def on_stage_start(self, stage: str, *, total: float | None = None, description: str = "") -> None:
        """``stage`` starts; ``total`` is the amount of work when known (for an ETA)."""

    def on_progress(self, stage: str, completed: float, total: float | None = None, message: str = "") -> None:
        """``completed`` of ``total`` units of ``stage`` are done."""

    def on_stage_complete(self, stage: str, *, result: Mapping[str, Any] | None = None,
                          duration_s: float | None = None, skipped: bool = False) -> None:
        """``stage`` finished (``skipped``: it had already finished in an earlier attempt)."""

    def on_stage_failed(self, stage: str, error: str) -> None:
        """``stage`` stopped with ``error`` (one line)."""

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        """A log line (level: debug, info, warning, error)."""

    def on_metric(self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None) -> None:
        """Per-step training metrics (``train_loss``, ``valid_loss``, token accuracy, ...)."""

    def on_summary(self, summary: Mapping[str, Any]) -> None:
        """The final summary (FR-4.4), also written to ``summary.json``."""

    def on_run_end(self, status: str, *, message: str = "") -> None:
        """The run stopped with ``status`` (succeeded, failed, interrupted, ...)."""


class CompositeMonitor(PipelineMonitor):
    """Forwards every callback to each monitor in order; an exception in one propagates."""

    def __init__(self, monitors: Iterable[PipelineMonitor | None]) -> None:
        self.monitors: list[PipelineMonitor] = [m for m in monitors if m is not None]

    def on_run_start(self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None) -> None:
        for monitor in self.monitors:
            monitor.on_run_start(run_id, resumed=resumed, run_dir=run_dir)

    def on_stage_start(self, stage: str, *, total: float | None = None, description: str = "") -> None:
        for monitor in self.monitors:
            monitor.on_stage_start(stage, total=total, description=description)

    def on_progress(self, stage: str, completed: float, total: float | None = None, message: str = "") -> None:
        for monitor in self.monitors:
            monitor.on_progress(stage, completed, total, message)

    def on_stage_complete(self, stage: str, *, result: Mapping[str, Any] | None = None,
                          duration_s: float | None = None, skipped: bool = False) -> None:
        for monitor in self.monitors:
            monitor.on_stage_complete(stage, result=result, duration_s=duration_s, skipped=skipped)

    def on_stage_failed(self, stage: str, error: str) -> None:
        for monitor in self.monitors:
            monitor.on_stage_failed(stage, error)

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        for monitor in self.monitors:
            monitor.on_log(message, level=level, stage=stage)

    def on_metric(self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None) -> None:
        for monitor in self.monitors:
            monitor.on_metric(metrics, step=step, stage=stage)

    def on_summary(self, summary: Mapping[str, Any]) -> None:
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

    def on_run_start(self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None) -> None:
        self.log.append("run_start", run_id=run_id, resumed=resumed)

    def on_stage_start(self, stage: str, *, total: float | None = None, description: str = "") -> None:
        self._last_progress.pop(stage, None)
        self.log.append("stage_start", stage=stage, total=total, description=description)

    def on_progress(self, stage: str, completed: float, total: float | None = None, message: str = "") -> None:
        now = time.monotonic()
        finished = total is not None and completed >= total
        if not finished and now - self._last_progress.get(stage, -1e9) < self.progress_interval_s:
            return
        self._last_progress[stage] = now
        self.log.append("progress", stage=stage, completed=completed, total=total, message=message)

    def on_stage_complete(self, stage: str, *, result: Mapping[str, Any] | None = None,
                          duration_s: float | None = None, skipped: bool = False) -> None:
        self.log.append("stage_complete", stage=stage, result=dict(result or {}),
                        duration_s=duration_s, skipped=skipped)

    def on_stage_failed(self, stage: str, error: str) -> None:
        self.log.append("stage_failed", stage=stage, error=error)

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        self.log.append("log", level=level, stage=stage, message=message)

    def on_metric(self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None) -> None:
        self.log.append("metric", stage=stage, step=step, metrics=dict(metrics))

    def on_summary(self, summary: Mapping[str, Any]) -> None:
        self.log.append("summary", summary=dict(summary))

    def on_run_end(self, status: str, *, message: str = "") -> None:
        self.log.append("run_end", status=status, message=message)


_STATE_STYLE = {"pending": "dim", "running": "bold cyan", "complete": "green", "skipped": "green",
                "failed": "bold red"}
_LEVEL_STYLE = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}


class RichDashboard(PipelineMonitor):
    """A live terminal dashboard on stderr: stage table, progress bars with ETA, log tail.

    Use as a context manager (or call :meth:`close`). When the console is not a
    terminal (CI, cron, a pipe) it prints plain lines instead — stage changes,
    log lines, metrics at most every ``metric_every_s`` — so a long job's log
    shows it is alive without redrawing frames.
    """

    def __init__(self, console: Console | None = None, *, log_lines: int = 8,
                 stages: Iterable[str] = STAGES, refresh_per_second: float = 4,
                 show_end_message: bool = True, live: bool | None = None,
                 metric_every_s: float = 10.0) -> None:
        self.show_end_message = show_end_message
        self.metric_every_s = metric_every_s
        self._last_metric_print = -1e9
        self.console = console or Console(stderr=True, highlight=False)
        self.stage_states: dict[str, str] = {name: "pending" for name in stages}
        self.stage_notes: dict[str, str] = {}
        self.stage_durations: dict[str, float] = {}
        self.log_tail: collections.deque[tuple[str, str]] = collections.deque(maxlen=log_lines)
        self.latest_metrics: dict[str, float] = {}
        self.latest_step: int | None = None
        self.run_id: str | None = None
        self.progress = Progress(
            TextColumn("[bold]{task.description:<11}"),
            BarColumn(bar_width=None),
            MofNCompleteColumn(),
            TimeRemainingColumn(compact=True, elapsed_when_finished=True),
            console=self.console,
            expand=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.RLock()
        self._live = Live(self, console=self.console, refresh_per_second=refresh_per_second,
                          transient=False, redirect_stdout=False, redirect_stderr=False)
        self._started = False
        self.live = self.console.is_terminal if live is None else live

    # -- rendering -----------------------------------------------------------------
    def __rich__(self) -> RenderableType:
        with self._lock:
            return Group(self._stage_table(), self.progress, self._log_panel())

    def _stage_table(self) -> Table:
        title = f"run {self.run_id}" if self.run_id else "pipeline"
        table = Table(title=title, title_justify="left", expand=True, show_edge=False, pad_edge=False)
        table.add_column("stage", no_wrap=True)
        table.add_column("state", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        table.add_column("note", overflow="ellipsis", no_wrap=True, ratio=1)
        for stage, state in self.stage_states.items():
            seconds = self.stage_durations.get(stage)
            table.add_row(stage, f"[{_STATE_STYLE.get(state, '')}]{state}[/]",
                          f"{seconds:.1f}s" if seconds is not None else "",
                          escape(self.stage_notes.get(stage, "")))
        if self.latest_metrics:
            shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(self.latest_metrics.items()))
            step = f"step {self.latest_step}: " if self.latest_step is not None else ""
            table.caption = f"{step}{shown}"
        return table

    def _log_panel(self) -> Panel:
        lines = [f"[{_LEVEL_STYLE.get(level, '')}]{escape(text)}[/]" if _LEVEL_STYLE.get(level) else escape(text)
                 for level, text in self.log_tail]
        return Panel("\n".join(lines) or "[dim]no log lines yet[/]", title="log", title_align="left")

    def _plain(self, text: str) -> None:
        """One line on a non-terminal console (markup allowed, values escaped by the caller)."""
        if not self.live:
            self.console.print(text, soft_wrap=True)

    def _ensure_started(self) -> None:
        if self.live and not self._started:
            self._started = True
            self._live.start()

    def refresh(self) -> None:
        if self._started:
            self._live.refresh()

    # -- callbacks -------------------------------------------------------------------
    def on_run_start(self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None) -> None:
        with self._lock:
            self.run_id = run_id
        self._ensure_started()

    def on_stage_start(self, stage: str, *, total: float | None = None, description: str = "") -> None:
        with self._lock:
            self.stage_states[stage] = "running"
            if description:
                self.stage_notes[stage] = description
            if stage in self._tasks:
                self.progress.reset(self._tasks[stage], total=total, completed=0, visible=True)
            else:
                self._tasks[stage] = self.progress.add_task(stage, total=total)
        self._plain(f"[bold]{stage}[/] started" + (f": {escape(description)}" if description else ""))
        self._ensure_started()

    def on_progress(self, stage: str, completed: float, total: float | None = None, message: str = "") -> None:
        with self._lock:
            if stage not in self._tasks:
                self._tasks[stage] = self.progress.add_task(stage, total=total)
            kwargs: dict[str, Any] = {"completed": completed}
            if total is not None:
                kwargs["total"] = total
            self.progress.update(self._tasks[stage], **kwargs)
            if message:
                self.stage_notes[stage] = message

    def on_stage_complete(self, stage: str, *, result: Mapping[str, Any] | None = None,
                          duration_s: float | None = None, skipped: bool = False) -> None:
        with self._lock:
            self.stage_states[stage] = "skipped" if skipped else "complete"
            note = str(result["note"]) if result and result.get("note") else ""
            if skipped:
                self.stage_notes[stage] = f"{note} (done before)" if note else "done in an earlier attempt"
            elif result and result.get("note"):
                self.stage_notes[stage] = str(result["note"])
            if duration_s is not None:
                self.stage_durations[stage] = duration_s
            task = self._tasks.get(stage)
            if task is not None:
                # The stage table keeps the record; only running stages keep a bar.
                self.progress.update(task, visible=False)
        took = f" in {duration_s:.1f}s" if duration_s is not None and not skipped else ""
        note = self.stage_notes.get(stage, "")
        self._plain(f"[bold]{stage}[/] [green]{self.stage_states[stage]}[/]{took}" + (f": {escape(note)}" if note else ""))
        self.refresh()

    def on_stage_failed(self, stage: str, error: str) -> None:
        with self._lock:
            self.stage_states[stage] = "failed"
            self.stage_notes[stage] = error
            task = self._tasks.get(stage)
            if task is not None:
                self.progress.stop_task(task)
        # Where the caller prints the final message itself, the plain log keeps this line short.
        self._plain(f"[bold]{stage}[/] [bold red]failed[/]" + (f": {escape(error)}" if self.show_end_message else ""))
        self.refresh()

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        text = redact_secrets(message)
        line = f"{stage}: {text}" if stage else text
        with self._lock:
            self.log_tail.append((level, line))
        style = _LEVEL_STYLE.get(level)
        self._plain(f"[{style}]{escape(line)}[/]" if style else escape(line))

    def on_metric(self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None) -> None:
        with self._lock:
            self.latest_metrics.update({k: float(v) for k, v in metrics.items() if v is not None})
            if step is not None:
                self.latest_step = step
        now = time.monotonic()
        if not self.live and now - self._last_metric_print >= self.metric_every_s:
            self._last_metric_print = now
            shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()) if v is not None)
            self._plain(f"{'step ' + str(step) + ': ' if step is not None else ''}{shown}")

    def on_summary(self, summary: Mapping[str, Any]) -> None:
        with self._lock:
            if "summary" in self.stage_states:
                self.stage_states["summary"] = "complete"
            task = self._tasks.get("summary")
            if task is not None:
                self.progress.update(task, visible=False)
        self.refresh()
        self.close()
        self.console.print(render_summary(summary))

    def on_run_end(self, status: str, *, message: str = "") -> None:
        self.close()
        if message and self.show_end_message:
            style = "green" if status == "succeeded" else "yellow"
            self.console.print(f"[{style}]{escape(message)}[/]")

    def close(self) -> None:
        if self._started:
            with self._lock:
                self._live.stop()
            self._started = False

    def __enter__(self) -> "RichDashboard":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _fmt(value: Any, spec: str = "", missing: str = "-") -> str:
    if value is None:
        return missing
    if spec and isinstance(value, (int, float)):
        return format(value, spec)
    return str(value)


def render_summary(summary: Mapping[str, Any]) -> Table:
    """The final summary as a Rich table: golden data, rules, cost, training (FR-4.4)."""
    table = Table(title=f"summary of run {summary.get('run_id', '')}", title_justify="left",
                  show_header=False, expand=False)
    table.add_column("section", style="bold", no_wrap=True)
    table.add_column("value")
    golden = summary.get("golden") or {}
    per_strategy = golden.get("per_strategy") or {}
    strategies = ", ".join(f"{k} {v}" for k, v in per_strategy.items()) or "-"
    table.add_row("golden data", f"{_fmt(golden.get('examples'))} examples ({strategies})")
    percentiles = golden.get("density_percentiles") or {}
    if percentiles:
        table.add_row("density", ", ".join(f"{k} {_fmt(v, '.3g')}" for k, v in percentiles.items()))
    rules = summary.get("rules") or {}
    table.add_row("rules", f"{_fmt(rules.get('count'))} rules, {_fmt(rules.get('conflicts'))} conflicts, "
                           f"{_fmt(rules.get('merged'))} merged")
    cost = summary.get("cost") or {}
    budget = cost.get("budget_usd")
    table.add_row("cost", f"estimated ${_fmt(cost.get('estimated_usd'), '.4f')} for {_fmt(cost.get('tokens'))} "
                          f"tokens x {_fmt(cost.get('n_epochs'))} epochs; budget "
                          f"{'$' + format(budget, '.2f') if budget is not None else 'off'}")
    training = summary.get("training") or {}
    table.add_row("training", f"{_fmt(training.get('status'))}, final loss {_fmt(training.get('final_loss'), '.4f')}, "
                              f"{_fmt(training.get('trained_tokens'))} trained tokens")
    table.add_row("model", escape(_fmt(training.get("fine_tuned_model"))))
    status = summary.get("status")
    if status:
        table.add_row("status", str(status))
    return table

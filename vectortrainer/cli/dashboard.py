"""The ``--batch`` dashboard (FR-4.2, FR-4.4): stage table, progress bars with ETA, a live log tail,
the summary.

:class:`RichDashboard` is a :class:`~vectortrainer.runs.monitor.PipelineMonitor` that
draws on stderr; when stderr is not a terminal (CI, cron) it prints plain lines.
:func:`render_summary` shows a run's summary rows as a Rich table.
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
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vectortrainer.redaction import redact_secrets
from vectortrainer.workspace.types import STAGES, PipelineMonitor, RunSummary

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
        table = Table(
            title=title, title_justify="left", expand=True, show_edge=False, pad_edge=False
        )
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
        lines = [
            f"[{_LEVEL_STYLE.get(level, '')}]{escape(text)}[/]"
            if _LEVEL_STYLE.get(level)
            else escape(text)
            for level, text in self.log_tail
        ]
        return Panel(
            "\n".join(lines) or "[dim]no log lines yet[/]", title="log", title_align="left"
        )

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
    def on_run_start(
        self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None
    ) -> None:
        with self._lock:
            self.run_id = run_id
        self._ensure_started()

    def on_stage_start(
        self, stage: str, *, total: float | None = None, description: str = ""
    ) -> None:
        with self._lock:
            self.stage_states[stage] = "running"
            if description:
                self.stage_notes[stage] = description
            if stage in self._tasks:
                self.progress.reset(self._tasks[stage], total=total, completed=0, visible=True)
            else:
                self._tasks[stage] = self.progress.add_task(stage, total=total)
        self._plain(
            f"[bold]{stage}[/] started" + (f": {escape(description)}" if description else "")
        )
        self._ensure_started()

    def on_progress(
        self, stage: str, completed: float, total: float | None = None, message: str = ""
    ) -> None:
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
                self.stage_notes[stage] = (
                    f"{note} (done before)" if note else "done in an earlier attempt"
                )
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
        self._plain(
            f"[bold]{stage}[/] [green]{self.stage_states[stage]}[/]{took}"
            + (f": {escape(note)}" if note else "")
        )
        self.refresh()

    def on_stage_failed(self, stage: str, error: str) -> None:
        with self._lock:
            self.stage_states[stage] = "failed"
            self.stage_notes[stage] = error
            task = self._tasks.get(stage)
            if task is not None:
                self.progress.stop_task(task)
        # Where the caller prints the final message itself, the plain log keeps this line short.
        self._plain(
            f"[bold]{stage}[/] [bold red]failed[/]"
            + (f": {escape(error)}" if self.show_end_message else "")
        )
        self.refresh()

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        text = redact_secrets(message)
        line = f"{stage}: {text}" if stage else text
        with self._lock:
            self.log_tail.append((level, line))
        style = _LEVEL_STYLE.get(level)
        self._plain(f"[{style}]{escape(line)}[/]" if style else escape(line))

    def on_metric(
        self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None
    ) -> None:
        with self._lock:
            self.latest_metrics.update({k: float(v) for k, v in metrics.items() if v is not None})
            if step is not None:
                self.latest_step = step
        now = time.monotonic()
        if not self.live and now - self._last_metric_print >= self.metric_every_s:
            self._last_metric_print = now
            shown = ", ".join(f"{k}={v:.4g}" for k, v in sorted(metrics.items()) if v is not None)
            self._plain(f"{'step ' + str(step) + ': ' if step is not None else ''}{shown}")

    def on_summary(self, summary: RunSummary) -> None:
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

    def __exit__(self, *_exc_info: object) -> None:
        self.close()


def render_summary(summary: RunSummary) -> Table:
    """The final summary as a Rich table: the rows every face shows (FR-4.4)."""
    table = Table(
        title=f"summary of run {summary.run_id}",
        title_justify="left",
        show_header=False,
        expand=False,
    )
    table.add_column("section", style="bold", no_wrap=True)
    # A value without spaces (the adapter's folder, a model id) folds onto the next line: a
    # person reads the whole of it, at any width (Rich's default cuts it with an ellipsis).
    table.add_column("value", overflow="fold")
    for label, value in summary.rows():
        table.add_row(label, escape(value))
    return table

"""Live training: stages with states, progress with ETA, job status and events, loss chart, summary,
resume.

The pipeline runs in a thread worker; a ``PipelineMonitor`` posts one message per
callback to this screen (never touching widgets from the thread). The cost is
approved in the budget modal, asked for from the worker and awaited there.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Header, Label, ProgressBar, RichLog, Static
from textual.worker import Worker, WorkerState, get_current_worker

from screens.base import ModeScreen
from screens.budget import BudgetScreen
from screens.confirm import ConfirmScreen
from tui.widgets import LossChart, StageList, key_value_table
from tui.workers import in_background
from tui.workspace import budget_view
from vectortrainer.errors import VectorTrainerError, describe
from vectortrainer.workspace.types import (
    STAGES,
    Estimate,
    PipelineMonitor,
    RunInfo,
    RunOutcome,
    RunSummary,
    StageStatus,
    train_loss,
)


class PipelineEvent(Message):
    """One monitor callback, forwarded from the pipeline thread."""

    def __init__(self, kind: str, **data: Any) -> None:
        super().__init__()
        self.kind = kind
        self.data = data

    def can_replace(self, message: Message) -> bool:
        return (
            self.kind == "progress"
            and isinstance(message, PipelineEvent)
            and message.kind == "progress"
            and message.data.get("stage") == self.data.get("stage")
        )


class ScreenMonitor(PipelineMonitor):
    """Forwards every pipeline callback to the screen as a message (thread-safe)."""

    def __init__(self, screen: "TrainingScreen") -> None:
        self.screen = screen

    def _post(self, kind: str, **data: Any) -> None:
        self.screen.post_message(PipelineEvent(kind, **data))

    def on_run_start(
        self, run_id: str, *, resumed: bool = False, run_dir: Path | None = None
    ) -> None:
        self._post("run_start", run_id=run_id, resumed=resumed)

    def on_stage_start(
        self, stage: str, *, total: float | None = None, description: str = ""
    ) -> None:
        self._post("stage_start", stage=stage, total=total, description=description)

    def on_progress(
        self, stage: str, completed: float, total: float | None = None, message: str = ""
    ) -> None:
        self._post("progress", stage=stage, completed=completed, total=total, message=message)

    def on_stage_complete(self, stage: str, *, result: Mapping[str, Any] | None = None,
                          duration_s: float | None = None, skipped: bool = False) -> None:
        self._post("stage_complete", stage=stage, result=dict(result or {}), skipped=skipped)

    def on_stage_failed(self, stage: str, error: str) -> None:
        self._post("stage_failed", stage=stage, error=error)

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        self._post("log", message=message, level=level, stage=stage)

    def on_metric(
        self, metrics: Mapping[str, float], *, step: int | None = None, stage: str | None = None
    ) -> None:
        self._post("metric", metrics=dict(metrics), step=step)

    def on_summary(self, summary: RunSummary) -> None:
        self._post("summary", summary=summary)

    def on_run_end(self, status: str, *, message: str = "") -> None:
        self._post("run_end", status=status, message=message)


class TrainingScreen(ModeScreen):
    """Start (after the budget modal), follow, cancel and resume fine-tuning runs."""

    MODE_NAME = "Training"
    BINDINGS = [
        # Short words: at 80 columns the footer keeps t and c beside the screen keys F1-F6.
        Binding("t", "start", "Start", id="training.start", tooltip="Start training"),
        Binding("c", "cancel_run", "Cancel", id="training.cancel", tooltip="Cancel the run"),
        Binding("r", "resume", "Resume", id="training.resume", tooltip="Resume a run"),
    ]
    FOOTER_KEEP = ("start", "cancel_run")
    running: reactive[bool] = reactive(False)

    def __init__(self) -> None:
        super().__init__()
        self.stage_states: dict[str, tuple[str, str]] = {
            name: (StageStatus.PENDING, "") for name in STAGES
        }
        self.losses: list[float] = []
        self.resumable: RunInfo | None = None
        self.outcome: RunOutcome | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="training-body"):
            with Vertical(id="training-left", classes="panel"):
                yield Label("Stages", classes="panel-title")
                yield StageList(id="stages")
                yield Label("Run", classes="panel-title")
                yield Static("", id="run-info")
                with Horizontal(classes="buttons"):
                    yield Button("Start (t)", id="start-button", variant="primary")
                    yield Button("Cancel (c)", id="cancel-button", variant="error")
                yield Button("Resume (r)", id="resume-button")
            with Vertical(id="training-right", classes="panel"):
                yield Label("Progress", classes="panel-title", id="progress-title")
                yield ProgressBar(id="stage-progress", show_eta=True)
                yield Static("job: not started", id="job-status")
                yield Label("Training loss", classes="panel-title")
                yield LossChart(id="loss")
                yield Label("Events", classes="panel-title")
                yield RichLog(id="events", wrap=True, markup=False, max_lines=2000, min_width=20)
                yield Static("", id="summary")
        yield self.footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#summary", Static).display = False
        self.query_one("#stage-progress", ProgressBar).display = False
        self._show_stages()
        self._find_resumable()

    def on_screen_resume(self) -> None:
        if not self.running:
            self._find_resumable()

    # -- what the screen shows ------------------------------------------------------------
    def _show_stages(self) -> None:
        self.query_one("#stages", StageList).stages = tuple(
            (name, state, note) for name, (state, note) in self.stage_states.items()
        )

    def _golden_file(self) -> Path | None:
        """The last export when it holds the current function's data (else the run extracts)."""
        app = self.vt_app
        if app.exported_path is None or app.exported_function not in (None, app.current_function):
            return None
        return app.exported_path

    def _other_export(self) -> str:
        """Words for an export of another function than the current one ("" when there is none)."""
        app = self.vt_app
        if app.exported_path is None or self._golden_file() is not None:
            return ""
        return f"{app.exported_path.name} holds {app.exported_function}'s golden data"

    def _show_run_info(self) -> None:
        app = self.vt_app
        plan = self.workspace.runs.plan()
        golden = self._golden_file()
        other = self._other_export()
        lines = [
            f"function: {app.current_function or '(choose one on the dataset screen, F2)'}",
            "golden file: "
            + (golden.name if golden else "(none: the run extracts it"
               + (f"; {other})" if other else ")")),
            f"model: {plan.target}",
            f"budget: {plan.limit}",
        ]
        if self.resumable is not None and not self.running:
            lines.append(f"resumable: {self.resumable.run_id} ({self.resumable.status}) — press r")
        self.query_one("#run-info", Static).update("\n".join(lines))

    def watch_running(self, running: bool) -> None:
        self.query_one("#start-button", Button).disabled = running
        self.query_one("#resume-button", Button).disabled = running
        self.query_one("#cancel-button", Button).disabled = not running
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # cancel_run stays enabled with no run: the key then says so rather than nothing
        if action in ("start", "resume"):
            if self.running:
                return None
            if action == "resume":
                return self.resumable is not None or None
        return True

    # -- resume ---------------------------------------------------------------------------
    @in_background("runs", "looking for runs")
    def _find_resumable(self) -> None:
        # A run resumes under its own function only: the current function's runs are offered.
        latest = self.workspace.runs.latest_resumable(self.vt_app.current_function)
        self.app.call_from_thread(self._resumable_found, latest)

    def _resumable_found(self, info: RunInfo | None) -> None:
        self.resumable = info
        self._show_run_info()
        self.refresh_bindings()

    @on(Button.Pressed, "#resume-button")
    def action_resume(self) -> None:
        if self.resumable is None:
            self.notify("No unfinished run in the output directory.", severity="warning")
            return
        self._begin(resume_id=self.resumable.run_id)

    # -- start ----------------------------------------------------------------------------
    @on(Button.Pressed, "#start-button")
    def action_start(self) -> None:
        function = self.vt_app.current_function
        if not function:
            self.notify("Choose a function on the dataset screen first (F2).", severity="warning")
            return
        other = self._other_export()
        if other:
            # Not an error: the run extracts this function's golden data itself, as it does
            # with no export; training on the other function's file is never an option.
            self.notify(f"{other}; this run of {function} extracts its own.",
                        title="Golden data", markup=False)
        self._begin(resume_id=None)

    def _begin(self, *, resume_id: str | None) -> None:
        app = self.vt_app
        function = app.current_function
        if resume_id is not None and self.resumable is not None and self.resumable.function:
            function = self.resumable.function  # the run's own function, whatever is selected
        config = self.workspace.config.with_overrides(
            "training screen", **{"selection.function": function}
        )
        self.workspace.config = config
        self.stage_states = {name: (StageStatus.PENDING, "") for name in STAGES}
        self.losses = []
        self.query_one("#loss", LossChart).show([])
        self.query_one("#events", RichLog).clear()
        self.query_one("#summary", Static).display = False
        self._show_stages()
        self.query_one("#stage-progress", ProgressBar).display = True
        self.running = True
        golden = self._golden_file() if resume_id is None else None
        self._user_resumed = resume_id is not None
        self._run_pipeline(resume_id, golden)

    @in_background("training", "training run")
    def _run_pipeline(self, resume_id: str | None, golden: Path | None) -> None:
        runs, monitor = self.workspace.runs, ScreenMonitor(self)
        confirm = self._confirm_from_thread
        try:
            if resume_id is not None:
                outcome = runs.resume(resume_id, monitor=monitor, confirm=confirm)
            else:
                outcome = runs.start(monitor=monitor, confirm=confirm, golden_path=golden)
        except VectorTrainerError as exc:
            if runs.current_run is not None:
                raise  # the run had begun: the app reports it as a failed run
            # Refused before any work (a key, a model, golden data of another function): one line.
            self.app.call_from_thread(self._refused, describe(exc))
            return
        self.app.call_from_thread(self._finished, outcome)

    def _refused(self, message: str) -> None:
        self.running = False
        self.query_one("#stage-progress", ProgressBar).display = False
        self.notify(message, title="Run not started", severity="error", timeout=10, markup=False)

    def _confirm_from_thread(self, estimate: Estimate) -> bool:
        """The pipeline's confirm callback: show the budget modal and wait for the answer."""
        answer: dict[str, bool] = {}
        answered = threading.Event()
        view = budget_view(estimate)

        def ask() -> None:
            def done(approved: bool | None) -> None:
                answer["approved"] = bool(approved)
                answered.set()

            self.app.push_screen(BudgetScreen(view), done)

        self.app.call_from_thread(ask)
        worker = get_current_worker()
        while not answered.wait(0.1):
            if worker.is_cancelled:
                return False
        return answer["approved"]

    def _finished(self, outcome: RunOutcome) -> None:
        self.running = False
        self.query_one("#stage-progress", ProgressBar).display = False
        self.outcome = outcome
        self.notify(
            outcome.message,
            title=f"Run {outcome.status}",
            severity="information" if outcome.ok else "warning",
            timeout=8,
            markup=False,
        )
        self._find_resumable()

    # -- cancel ---------------------------------------------------------------------------
    @on(Button.Pressed, "#cancel-button")
    def action_cancel_run(self) -> None:
        if not self.running:
            self.notify("No run to cancel: t starts one (r resumes an unfinished one).",
                        title="No run", severity="warning")
            return
        self.app.push_screen(
            ConfirmScreen(
                "Cancel the run?",
                "Stop this run at the next safe point? A job already created keeps running at the "
                "vendor; the run can be resumed later (r) without paying twice.",
                "Cancel run",
            ),
            self._cancel_confirmed,
        )

    def _cancel_confirmed(self, confirmed: bool | None) -> None:
        if confirmed and self.workspace.runs.cancel():
            self.query_one("#job-status", Static).update("job: cancelling…")

    @on(Worker.StateChanged)
    def _worker_ended(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "training" and event.state in (
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self.running = False

    # -- pipeline events --------------------------------------------------------------------
    @on(PipelineEvent)
    def _pipeline_event(self, event: PipelineEvent) -> None:
        data = event.data
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(**data)

    def _on_run_start(self, run_id: str, resumed: bool) -> None:
        # a run started from the exported file is resumed internally
        resumed = resumed and self._user_resumed
        self.query_one("#progress-title", Label).update(
            f"Run {run_id}{' (resumed)' if resumed else ''}"
        )

    def _on_stage_start(self, stage: str, total: float | None, description: str) -> None:
        self.stage_states[stage] = (StageStatus.RUNNING, description)
        self._show_stages()
        bar = self.query_one("#stage-progress", ProgressBar)
        bar.update(total=total, progress=0)

    def _on_progress(
        self, stage: str, completed: float, total: float | None, message: str
    ) -> None:
        bar = self.query_one("#stage-progress", ProgressBar)
        if stage == "monitor":
            self.query_one("#job-status", Static).update(
                f"job: {message}" if message else "job: running"
            )
        bar.update(total=total, progress=completed)

    _user_resumed = False

    def _on_stage_complete(self, stage: str, result: dict, skipped: bool) -> None:
        note = str(result.get("note", "")) if isinstance(result, dict) else ""
        state = StageStatus.SKIPPED if skipped and self._user_resumed else StageStatus.COMPLETE
        self.stage_states[stage] = (
            state,
            note + (" (done before)" if skipped and self._user_resumed else ""),
        )
        self._show_stages()

    def _on_stage_failed(self, stage: str, error: str) -> None:
        self.stage_states[stage] = (StageStatus.FAILED, error[:60])
        self._show_stages()

    def _on_log(self, message: str, level: str, stage: str | None) -> None:
        style = {"warning": "yellow", "error": "bold red"}.get(level, "")
        prefix = f"[{stage}] " if stage else ""
        self.query_one("#events", RichLog).write(Text(prefix + message, style=style))

    def _on_metric(self, metrics: dict, step: int | None) -> None:
        loss = train_loss(metrics)
        if loss is not None:
            self.losses.append(loss)
            self.query_one("#loss", LossChart).show(self.losses)

    def _on_summary(self, summary: RunSummary) -> None:
        summary_widget = self.query_one("#summary", Static)
        summary_widget.update(key_value_table(summary.rows()))
        summary_widget.border_title = "Summary"
        summary_widget.display = True

    def _on_run_end(self, status: str, message: str) -> None:
        self.query_one("#job-status", Static).update(f"run: {status}")

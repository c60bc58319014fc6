"""Following a training job to its end, for any trainer: its events to the run's monitor, its
progress, the time budget and cancellation.

Events are handed on oldest first, and each one's id is saved as soon as it is handed on
(``save_event_id``), so a crash replays at most the event it interrupted (at-least-once).
A job still running past ``budget.max_minutes`` is cancelled; a run that is cancelled
(``cancelled`` set) stops waiting at once, and its job can be followed again on resume.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from vectortrainer.errors import PipelineCancelled
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.training.base import BaseTrainer, TrainingEvent, TrainingResult

STAGE = "monitor"  # the run's stage that follows the job


class JobFollower:
    """Follows one job of ``trainer`` for a run (see the module docstring)."""

    def __init__(
        self,
        trainer: BaseTrainer,
        monitor: PipelineMonitor,
        *,
        poll_interval_s: float,
        max_minutes: float | None,
        cancelled: threading.Event,
    ) -> None:
        self.trainer = trainer
        self.monitor = monitor
        self.poll_interval_s = poll_interval_s
        self.max_minutes = max_minutes
        self.cancelled = cancelled
        self._last_step = 0
        self._total_steps: int | None = None

    def follow(
        self,
        job_id: str,
        *,
        started: float,
        after: str | None,
        save_event_id: Callable[[str], None],
    ) -> TrainingResult:
        """Poll the job (started at ``started``) until it ends, handing on the events newer than
        ``after``; its result."""
        while True:
            after = self._drain(job_id, after, save_event_id)
            status = self.trainer.get_status(job_id)
            self.monitor.on_progress(STAGE, self._last_step, self._total_steps, status.value)
            if status.is_terminal:
                break
            if self.max_minutes is not None and time.time() - started > self.max_minutes * 60:
                self.monitor.on_log(
                    f"budget.max_minutes ({self.max_minutes}) reached: cancelling job {job_id}",
                    level="warning",
                    stage=STAGE,
                )
                self.trainer.cancel(job_id)
            if self.cancelled.wait(self.poll_interval_s):
                raise PipelineCancelled("cancelled")
        self._drain(job_id, after, save_event_id)
        return self.trainer.get_result(job_id)

    def _drain(
        self, job_id: str, after: str | None, save_event_id: Callable[[str], None]
    ) -> str | None:
        for event in self.trainer.events(job_id, after=after):
            self._forward(event)
            if event.id:
                after = event.id
                save_event_id(event.id)
        return after

    def _forward(self, event: TrainingEvent) -> None:
        if event.kind == "metric" and (event.metrics or event.step is not None):
            # a provider with progress but no loss stream (Fireworks) sends steps only
            if event.metrics:
                self.monitor.on_metric(event.metrics, step=event.step, stage=STAGE)
            if event.total_steps:
                self._total_steps = event.total_steps
            if event.step is not None:
                self._last_step = event.step
                self.monitor.on_progress(STAGE, event.step, self._total_steps, event.message)
        elif event.message:
            self.monitor.on_log(event.message, stage=STAGE)

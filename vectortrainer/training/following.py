"""Following a training job to its end, for any trainer: its events to the run's monitor, its
progress, the time budget and cancellation.

Events are handed on oldest first, and each one's id is saved as soon as it is handed on
(``save_event_id``), so a crash replays at most the event it interrupted (at-least-once).
A job still running past ``budget.max_minutes`` is cancelled; a run that is cancelled
(``cancelled`` set) stops waiting at once, and its job can be followed again on resume.

A status the provider does not document (null, a new word, a page that is no job:
:attr:`~vectortrainer.training.base.TrainingStatus.UNKNOWN`) is waited out for
``MAX_UNKNOWN_POLLS`` polls in a row (5 minutes at the default ``training.poll_interval_s`` of
5 s), then following stops with one line (a
:class:`~vectortrainer.errors.ProviderAnswerError`): the job is left as it is, the run can be
resumed to follow the same job again, and no second job is ever created for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from vectortrainer.errors import PipelineCancelled, ProviderAnswerError
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.training.base import BaseTrainer, TrainingEvent, TrainingResult, TrainingStatus

STAGE = "monitor"  # the run's stage that follows the job
MAX_UNKNOWN_POLLS = 60  # polls in a row with no status the provider documents


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
        max_unknown_polls: int = MAX_UNKNOWN_POLLS,
    ) -> None:
        self.trainer = trainer
        self.max_unknown_polls = max_unknown_polls
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
        unknown = 0
        while True:
            after = self._drain(job_id, after, save_event_id)
            status = self.trainer.get_status(job_id)
            self.monitor.on_progress(STAGE, self._last_step, self._total_steps, status.value)
            if status.is_terminal:
                break
            unknown = unknown + 1 if status is TrainingStatus.UNKNOWN else 0
            if unknown >= self.max_unknown_polls:
                raise self._unknown_for_too_long(job_id, unknown)
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

    def _unknown_for_too_long(self, job_id: str, polls: int) -> ProviderAnswerError:
        title = self.trainer.title
        return ProviderAnswerError(
            f"{title} answered no status it documents for job {job_id} in {polls} polls in a "
            f"row (the last: {self.trainer.unknown_status or 'none'}), so the run stopped "
            f"following it; the job was left as it is and no other job was created. Look at it "
            f"at {title}, then resume the run to follow the same job again"
        )

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

"""The states a run and its stages can be in, and the stages themselves, as the one vocabulary of
every face.

Both enums are ``StrEnum``s: their values are what ``run.json`` and ``events.jsonl``
hold, and they compare equal to those plain strings.
"""

from __future__ import annotations

import enum

STAGES: tuple[str, ...] = (
    "extract",
    "synthesize",
    "hook",
    "estimate",
    "confirm",
    "upload",
    "train",
    "monitor",
    "evaluate",
    "summary",
)


class StageStatus(enum.StrEnum):
    """One stage of a run. ``COMPLETE`` and ``SKIPPED`` stages are not run again on resume."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETE = "complete"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        return self in (StageStatus.COMPLETE, StageStatus.SKIPPED)


class RunStatus(enum.StrEnum):
    """How a run stands (``run.json`` "status"); a stopped run says why."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"  # trained, passed the evaluation gate, promoted
    NOT_PROMOTED = "not_promoted"  # trained, but the evaluation gate kept the model out of service
    FAILED = "failed"  # an unexpected error; details in run.json
    TRAINING_FAILED = "training_failed"
    TRAINING_CANCELLED = "training_cancelled"
    BUDGET_EXCEEDED = "budget_exceeded"
    NOT_APPROVED = "not_approved"
    NEEDS_CREDENTIALS = "needs_credentials"
    INTERRUPTED = "interrupted"  # Ctrl-C, cancel, or a process that died while it ran
    DAMAGED = "damaged"  # listed only: its run.json cannot be read

    @property
    def resumable(self) -> bool:
        """Whether ``--resume`` can take the run further (a live run is never resumable)."""
        return self not in (
            RunStatus.RUNNING,
            RunStatus.SUCCEEDED,
            RunStatus.NOT_PROMOTED,
            RunStatus.DAMAGED,
        )

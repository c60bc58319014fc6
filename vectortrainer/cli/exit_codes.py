"""Exit codes are an API (the README's table): how each way a command or a run ends maps to one."""

from __future__ import annotations

import enum

from vectortrainer.errors import (
    BudgetExceededError,
    ConfigError,
    InferenceNotAvailableError,
    LoopInUseError,
    TimeBudgetExceededError,
    UnknownRunError,
    VectorTrainerError,
    VersionLockError,
)
from vectortrainer.workspace.types import RunStatus


class ExitCode(enum.IntEnum):
    OK = 0
    RUN_FAILED = 1
    USAGE = 2
    BUDGET_EXCEEDED = 3
    TRAINING_FAILED = 4
    NOT_PROMOTED = 5
    LOOP_BUSY = 6
    INTERRUPTED = 130


# How each way a run can end maps to an exit code (the README's table).
STATUS_EXIT_CODES: dict[RunStatus, ExitCode] = {
    RunStatus.SUCCEEDED: ExitCode.OK,
    RunStatus.NOT_PROMOTED: ExitCode.NOT_PROMOTED,
    RunStatus.FAILED: ExitCode.RUN_FAILED,
    RunStatus.NEEDS_CREDENTIALS: ExitCode.USAGE,
    RunStatus.BUDGET_EXCEEDED: ExitCode.BUDGET_EXCEEDED,
    RunStatus.NOT_APPROVED: ExitCode.BUDGET_EXCEEDED,
    RunStatus.TRAINING_FAILED: ExitCode.TRAINING_FAILED,
    RunStatus.TRAINING_CANCELLED: ExitCode.TRAINING_FAILED,
    RunStatus.INTERRUPTED: ExitCode.INTERRUPTED,
}
# Error types -> exit codes, most specific first; any other user error is a failed run.
ERROR_EXIT_CODES: tuple[tuple[type[VectorTrainerError], ExitCode], ...] = (
    (ConfigError, ExitCode.USAGE),
    (UnknownRunError, ExitCode.USAGE),
    # a gate the chosen trainer cannot serve: fix the config
    (InferenceNotAvailableError, ExitCode.USAGE),
    (BudgetExceededError, ExitCode.BUDGET_EXCEEDED),
    (TimeBudgetExceededError, ExitCode.BUDGET_EXCEEDED),
    (LoopInUseError, ExitCode.LOOP_BUSY),
    # another writer holds a versions lock (named), or the lock is a link
    (VersionLockError, ExitCode.USAGE),
)


def exit_code_for_status(status: str) -> ExitCode:
    """The exit code of a run that ended with ``status``."""
    try:
        return STATUS_EXIT_CODES.get(RunStatus(status), ExitCode.RUN_FAILED)
    except ValueError:
        return ExitCode.RUN_FAILED


def exit_code_for_error(error: VectorTrainerError) -> ExitCode:
    """The exit code of a user error (the engine's errors carry none)."""
    for kind, code in ERROR_EXIT_CODES:
        if isinstance(error, kind):
            return code
    return ExitCode.RUN_FAILED

"""What every command shares: exit codes, common options, config loading, error reporting."""

from __future__ import annotations

import argparse
import enum
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, cast

from rich.console import Console

from vectortrainer.config import Config, load_config
from vectortrainer.errors import (
    BudgetExceededError,
    ConfigError,
    InferenceNotAvailableError,
    LoopInUseError,
    TimeBudgetExceededError,
    UnknownRunError,
    VectorTrainerError,
    VersionLockError,
    describe,
)
from vectortrainer.redaction import RedactingStream, redact_text
from vectortrainer.workspace import Workspace
from vectortrainer.workspace.types import RunStatus

# Messages and progress go to stderr; stdout is kept
# for data (JSON summaries). Both are redacted by value.
# (RedactingStream has the text-stream methods Console uses; it is no io.TextIOBase.)
stderr_console = Console(file=cast(IO[str], RedactingStream("stderr")), highlight=False)


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


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """Options that every command understands (and that override the config file)."""
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="YAML config (see config.example.yaml)"
    )
    parser.add_argument(
        "--store", type=Path, metavar="PATH", help="VectorWave Lite store directory"
    )
    parser.add_argument("--output-dir", type=Path, metavar="DIR", help="where runs are written")
    parser.add_argument("--function", metavar="NAME", help="the decorated function to work on")


def config_from_args(args: argparse.Namespace) -> Config:
    """The config file (or defaults) with the command-line flags applied on top; its secrets are
    registered for redaction (the CLI's start-up)."""
    config = load_config(getattr(args, "config", None)).with_overrides(
        **{
            "store.path": getattr(args, "store", None),
            "output_dir": getattr(args, "output_dir", None),
            "selection.function": getattr(args, "function", None),
            "selection.epsilon": getattr(args, "epsilon", None),
            "selection.top_k": getattr(args, "top_k", None),
            "budget.max_budget_usd": getattr(args, "max_budget", None),
        }
    )
    config.register_secrets()
    return config


def workspace_from_args(args: argparse.Namespace, **overrides: object) -> Workspace:
    """The workspace over the config the flags describe (``overrides``: more dotted keys, e.g.
    ``{"hooks.dir": args.hooks_dir}``; ``None`` values are ignored)."""
    return Workspace(config_from_args(args).with_overrides(**overrides))


def fail(message: str, code: ExitCode = ExitCode.RUN_FAILED) -> int:
    """Print one clear line to stderr and return the exit code."""
    stderr_console.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    return int(code)


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command; user errors become one line and an exit code, Ctrl-C becomes 130."""
    try:
        return int(handler(args))
    except VectorTrainerError as exc:
        return fail(describe(exc), exit_code_for_error(exc))
    except KeyboardInterrupt as exc:
        stderr_console.print(
            str(exc) or "interrupted", style="yellow", markup=False, soft_wrap=True
        )
        return int(ExitCode.INTERRUPTED)


def add_subcommand_options(parser: argparse.ArgumentParser) -> None:
    """Let the common options also follow the subcommand (`vectortrainer select --store X`)."""
    unset = argparse.SUPPRESS  # a value given before the subcommand is kept
    parser.add_argument("--config", type=Path, metavar="FILE", help="YAML config", default=unset)
    parser.add_argument(
        "--store", type=Path, metavar="PATH", help="VectorWave Lite store directory", default=unset
    )
    parser.add_argument(
        "--output-dir", type=Path, metavar="DIR", help="where runs are written", default=unset
    )


def write_stdout(text: str) -> None:
    text = redact_text(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()

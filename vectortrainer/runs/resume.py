"""Which runs can be resumed, and the command line that resumes one (VT-9).

A run is resumable when it stopped (interrupted, refused, failed, its job failed):
never when it succeeded, is damaged, or is live in another process. Every face
asks :func:`resumable_runs`; every message that says how to resume uses
:func:`resume_command`.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from vectortrainer.config import Config
from vectortrainer.runs.directory import RunInfo, list_runs


def resumable_runs(output_dir: str | os.PathLike[str]) -> list[RunInfo]:
    """The runs ``--resume`` can take further, newest first."""
    return [info for info in list_runs(output_dir) if info.resumable]


def resume_command(run_id: str, config: Config | None = None) -> str:
    """The command line that resumes ``run_id`` (with the config file and output dir it needs)."""
    parts = ["vectortrainer", "--batch"]
    if config is not None and config.source is not None:
        parts += ["--config", shlex.quote(str(config.source))]
    if config is not None and Path(config.output_dir) != Path(Config().output_dir):
        parts += ["--output-dir", shlex.quote(str(config.output_dir))]
    return " ".join([*parts, "--resume", run_id])

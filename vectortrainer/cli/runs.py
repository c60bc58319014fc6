"""`vectortrainer runs`: the runs in the output directory, newest first, and how to resume one."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone

from rich.table import Table

from vectortrainer.cli.common import add_command, workspace_from_args
from vectortrainer.cli.output import stderr_console, stdout_console, write_stdout


def register(subparsers: argparse._SubParsersAction) -> None:
    add_command(subparsers, "runs", "list the runs in the output directory and how to resume "
                "them", runs_command, "--json", json="print the list as JSON on stdout")


def runs_command(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    config, runs = workspace.config, workspace.runs
    infos = runs.list()
    if getattr(args, "json", False):
        write_stdout(
            json.dumps(
                [
                    {
                        "run_id": i.run_id,
                        "status": i.status,
                        "function": i.function,
                        "created_at": i.created_at,
                        "job_id": i.job_id,
                        "fine_tuned_model": i.fine_tuned_model,
                        "error": i.error,
                        "problem": i.problem,
                        "events": i.events,
                        "resume": runs.resume_command(i.run_id) if i.resumable else None,
                    }
                    for i in infos
                ],
                indent=2,
            )
        )
        return 0
    if not infos:
        stderr_console.print(
            f"No runs in {config.output_dir} yet: start "
            "one with the app or `vectortrainer --batch`.",
            soft_wrap=True,
        )
        return 0
    table = Table(title=f"Runs in {config.output_dir}", title_justify="left")
    for column in ("run", "status", "function", "started (UTC)", "events", "model / problem"):
        table.add_column(
            column,
            no_wrap=column in ("run", "status"),
            justify="right" if column == "events" else "left",
            # what a person reads to decide wraps instead of being cut off with an ellipsis
            overflow="fold",
            min_width=len("needs_credentials") if column == "status" else None,
            ratio=3 if column == "model / problem" else None,
        )
    for info in infos:
        started = (
            datetime.fromtimestamp(info.created_at, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
            if info.created_at
            else ""
        )
        table.add_row(
            info.run_id,
            info.status,
            info.function or "",
            started,
            str(info.events) if not info.error else "",
            info.error or info.fine_tuned_model or info.problem or "",
        )
    stdout_console.print(table)  # the list asked for; the advice below goes to stderr
    resumable = [i for i in infos if i.resumable]
    if resumable:
        stderr_console.print(
            f"Resume the newest with: {runs.resume_command(resumable[0].run_id)}", soft_wrap=True
        )
    return 0

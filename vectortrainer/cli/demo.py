"""`vectortrainer demo seed`: fill a Lite store by really calling decorated demo functions."""

from __future__ import annotations

import argparse

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vectortrainer.cli.common import add_command, workspace_from_args
from vectortrainer.cli.output import stderr_console


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="the embedded demo store")
    actions = demo.add_subparsers(dest="demo_command", metavar="ACTION", required=True)
    seed = add_command(actions, "seed", "seed the demo store by calling decorated demo functions "
                       "(idempotent)", seed_command, "--feedback",
                       feedback="where to write demo feedback pairs (default: feedback.path)")
    seed.add_argument("--if-empty", action="store_true",
                      help="do nothing if the store already holds any logs")


def seed_command(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    config = workspace.config
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=stderr_console, transient=True,
    ) as bar:
        task = bar.add_task("seeding", total=None)

        def on_progress(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total, description=message)

        report = workspace.seed_demo(on_progress, if_empty=args.if_empty)
    if report.already_seeded:
        stderr_console.print(
            f"The store at {config.store.path} already holds {report.stored} logs; nothing added.",
            soft_wrap=True,
        )
    else:
        per_function = ", ".join(
            f"{name} {count}" for name, count in sorted(report.per_function.items())
        )
        stderr_console.print(
            f"Seeded {config.store.path}: {report.calls} calls "
            f"({report.failed_calls} failing on purpose), {report.stored} logs "
            f"stored and verified ({per_function}) in {report.seconds:.1f} s.",
            soft_wrap=True,
        )
    if report.feedback_path is not None:
        stderr_console.print(
            f"Demo feedback: {report.feedback_pairs} pairs in {report.feedback_path}.",
            soft_wrap=True,
        )
    return 0

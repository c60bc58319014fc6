"""`vectortrainer hooks list|diff|rollback|verify`: the hook versions of a hooks directory
(FR-7)."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from vectortrainer.cli.common import add_command, workspace_from_args
from vectortrainer.cli.exit_codes import ExitCode
from vectortrainer.cli.output import answer, fail, stderr_console, write_stdout
from vectortrainer.workspace.types import HookVersionManager


def register(subparsers: argparse._SubParsersAction) -> None:
    hooks = subparsers.add_parser("hooks", help="list, compare, verify and roll back hook versions")
    actions = hooks.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    flags = ("--hooks-dir", "--json")
    add_command(actions, "list", "list the saved versions", list_command, *flags)
    diff = add_command(actions, "diff", "unified diff of two versions", diff_command, *flags)
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B")
    rollback = add_command(actions, "rollback", "make VERSION (default: the previous one) the "
                           "active hook", rollback_command, *flags)
    rollback.add_argument("version", nargs="?", metavar="VERSION")
    add_command(actions, "verify", "check every version's checksum and the active hook",
                verify_command, *flags)


def _manager(args: argparse.Namespace) -> HookVersionManager:
    return workspace_from_args(args).hooks.manager()


def _report_warnings(manager: HookVersionManager) -> None:
    for warning in manager.warnings:
        stderr_console.print(f"[yellow]warning:[/] {warning}")


def list_command(args: argparse.Namespace) -> int:
    manager = _manager(args)
    versions = manager.list_versions()
    _report_warnings(manager)
    if args.json:
        write_stdout(json.dumps([v.to_dict() for v in versions]))
        return 0
    table = Table(title=f"hook versions in {manager.versions_dir}", title_justify="left")
    for column in ("version", "timestamp (UTC)", "rules", "active", "sha256", "note"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            v.version_id,
            v.timestamp,
            str(v.rules_count),
            "*" if v.active else "",
            v.sha256[:12],
            v.note,
        )
    Console(highlight=False).print(table)
    return 0


def diff_command(args: argparse.Namespace) -> int:
    manager = _manager(args)
    text = manager.diff(args.a, args.b)
    _report_warnings(manager)
    if args.json:
        write_stdout(json.dumps({"a": args.a, "b": args.b, "diff": text}))
    elif text:
        write_stdout(text)
    else:
        stderr_console.print(f"{args.a} and {args.b} are identical")
    return 0


def rollback_command(args: argparse.Namespace) -> int:
    manager = _manager(args)
    version = manager.rollback(args.version)
    _report_warnings(manager)
    return answer(args.json, version.to_dict(), f"active hook is now {version.version_id} "
                  f"({version.rules_count} rules): {manager.active_path}")


def verify_command(args: argparse.Namespace) -> int:
    manager = _manager(args)
    report = manager.verify()
    if args.json:
        write_stdout(json.dumps({"ok": report.ok, "active": report.active_version,
                                 "problems": report.problems, "warnings": report.warnings}))
    for warning in report.warnings:
        stderr_console.print(f"[yellow]warning:[/] {warning}")
    if not report.ok:
        return fail("; ".join(report.problems), ExitCode.RUN_FAILED)
    if not args.json:
        stderr_console.print(f"all versions verified; active: {report.active_version or 'none'}")
    return 0

"""`vectortrainer hooks list|diff|rollback|off|verify`: one function's hook versions (FR-7,
VT-18)."""

from __future__ import annotations

import argparse
import dataclasses
import json

from rich.console import Console
from rich.table import Table

from vectortrainer.cli.common import add_command, workspace_from_args
from vectortrainer.cli.exit_codes import ExitCode
from vectortrainer.cli.output import answer, fail, stderr_console, write_stdout
from vectortrainer.cli.rule_diff_table import rule_diff_tables
from vectortrainer.errors import ConfigError
from vectortrainer.workspace import Workspace
from vectortrainer.workspace.types import HookVersionManager


def register(subparsers: argparse._SubParsersAction) -> None:
    hooks = subparsers.add_parser(
        "hooks", help="list, compare, verify, roll back or switch off a function's hook"
    )
    actions = hooks.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    flags = ("--function", "--hooks-dir", "--json")
    function = "the function whose hook (default: selection.function)"
    add_command(actions, "list", "list the function's saved versions, why each is or is not live",
                list_command, *flags, function=function)
    diff = add_command(actions, "diff", "what changes, rule by rule, from version A to B",
                       diff_command, *flags, "--feedback", function=function,
                       feedback="the feedback file the rules were learned from (for --pairs; "
                       "default: feedback.path)")
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B")
    diff.add_argument("--pairs", action="store_true",
                      help="show the feedback pairs each rule was learned from")
    rollback = add_command(actions, "rollback", "make VERSION (default: what was live before) "
                           "the function's hook", rollback_command, *flags, function=function)
    rollback.add_argument("version", nargs="?", metavar="VERSION")
    add_command(actions, "off", "run the function with no hook (rollback goes back)",
                off_command, *flags, function=function)
    add_command(actions, "verify", "check every version's checksum and the active hook",
                verify_command, *flags, function=function)


def _function(workspace: Workspace) -> str:
    function = workspace.config.selection.function
    if not function:
        raise ConfigError("--function NAME: which function's hook? (or set selection.function)")
    return function


def _manager(args: argparse.Namespace) -> tuple[HookVersionManager, str]:
    workspace = workspace_from_args(args)
    function = _function(workspace)
    return workspace.hooks.manager(function), function


def _report_warnings(manager: HookVersionManager) -> None:
    for warning in manager.warnings:
        stderr_console.print(f"[yellow]warning:[/] {warning}")


def list_command(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    function = _function(workspace)
    view = workspace.hooks.view(function)
    for warning in view.warnings:
        stderr_console.print(f"[yellow]warning:[/] {warning}")
    if args.json:
        write_stdout(json.dumps([dataclasses.asdict(row) for row in view.rows]))
        return 0
    if view.problem:
        stderr_console.print(view.problem, soft_wrap=True)
        return 0
    table = Table(title=f"hook versions of {function} in {view.hooks_dir}", title_justify="left")
    for column in ("version", "created", "rules", "state", "from", "why / note"):
        table.add_column(column, overflow="fold")
    for row in view.rows:
        why = row.gate_reason or row.note
        state = row.state + (f" ({row.problem})" if row.problem else "")
        table.add_row(row.version_id, row.created, str(row.rules), state, row.origin, why)
    Console(highlight=False).print(table)
    return 0


def diff_command(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    function = _function(workspace)
    diff = workspace.hooks.rule_diff(function, args.b, against=args.a)
    if args.json:
        write_stdout(json.dumps(diff.to_dict()))
    else:
        Console(highlight=False).print(rule_diff_tables(diff, pairs=args.pairs))
    return 0


def rollback_command(args: argparse.Namespace) -> int:
    manager, function = _manager(args)
    before = manager.get_active_version()
    version = manager.rollback(args.version)
    _report_warnings(manager)
    was = before.version_id if before else "no hook"
    return answer(args.json, version.to_dict(),
                  f"{function} runs hook {version.version_id} now ({version.rules_count} rules; "
                  f"before: {was}); running processes follow within their reload interval")


def off_command(args: argparse.Namespace) -> int:
    manager, function = _manager(args)
    before = manager.deactivate()
    was = before.version_id if before else "no hook"
    return answer(args.json, {"function": function, "live_now": None, "live_before": was},
                  f"{function} runs with no hook now (before: {was}); `vectortrainer hooks "
                  f"rollback --function {function}` brings {was} back")


def verify_command(args: argparse.Namespace) -> int:
    manager, _ = _manager(args)
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

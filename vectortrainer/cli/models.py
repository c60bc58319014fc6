"""`vectortrainer models list|promote|rollback|diff|canary|stop-canary`: the model registry of a
models directory (VT-13), and the canary a candidate serves before its full promotion (issue 26)."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from vectortrainer.cli.common import add_command, workspace_from_args
from vectortrainer.cli.output import answer, stderr_console, stdout_console, write_stdout
from vectortrainer.display import readable_time
from vectortrainer.workspace import Workspace
from vectortrainer.workspace.service import ModelRow
from vectortrainer.workspace.types import ModelEntry, ModelRegistry


def register(subparsers: argparse._SubParsersAction) -> None:
    models = subparsers.add_parser(
        "models", help="list, promote, roll back and compare trained models"
    )
    actions = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    flags = ("--function", "--models-dir", "--json")
    function = "the function (default: selection.function; list: every function)"
    add_command(actions, "list", "every model per function, which is promoted, the gate's "
                "figures", list_command, *flags, function=function)
    promote = add_command(actions, "promote", "make MODEL (an id such as m002) the promoted "
                          "model now", promote_command, *flags, function=function)
    promote.add_argument("version", metavar="MODEL")
    rollback = add_command(actions, "rollback", "promote MODEL, or the model promoted before the "
                           "current one", rollback_command, *flags, function=function)
    rollback.add_argument("version", nargs="?", metavar="MODEL")
    diff = add_command(actions, "diff", "the evaluation figures of two models side by side",
                       diff_command, *flags, function=function)
    diff.add_argument("a", metavar="A")
    diff.add_argument("b", metavar="B")
    one = "the function (default: selection.function)"
    add_command(actions, "canary", "the canary running now: the candidate, its share of calls and "
                "the loop's last figures per arm", canary_command, *flags, function=one)
    add_command(actions, "stop-canary", "stop the canary now: the promoted model serves every "
                "call, the candidate is recorded as stopped by a person", stop_canary_command,
                *flags, function=one)
    undeploy = add_command(actions, "undeploy", "tear down the deployment of MODEL (one kept "
                           "for a rollback bills by the hour)", undeploy_command, *flags,
                           function=one)
    undeploy.add_argument("version", metavar="MODEL")


MODEL_COLUMNS = ("model", "promoted", "provider", "model id / adapter", "run", "score", "gate")


def _workspace(args: argparse.Namespace) -> Workspace:
    return workspace_from_args(args)


def _registry(args: argparse.Namespace) -> ModelRegistry:
    return _workspace(args).models.registry(getattr(args, "function", None))


def _warn(registry: ModelRegistry) -> None:
    for warning in registry.warnings:
        stderr_console.print(f"[yellow]warning:[/] {warning}")


def list_command(args: argparse.Namespace) -> int:
    models = _workspace(args).models
    chosen = getattr(args, "function", None)
    registries = [models.registry(name) for name in ([chosen] if chosen else models.functions())]
    listed = {r.function: r.list() for r in registries}
    for registry in registries:
        _warn(registry)
    if args.json:
        write_stdout(
            json.dumps({name: [m.to_dict() for m in entries] for name, entries in listed.items()})
        )
        return 0
    if not any(listed.values()):
        stderr_console.print(
            f"no trained models in {models.directory} yet (a run that trains one keeps it here)"
        )
        return 0
    console = Console(highlight=False)
    for name, entries in listed.items():
        table = Table(title=f"models of {name}", title_justify="left")
        for column in MODEL_COLUMNS:
            table.add_column(column, overflow="fold")
        for row in map(ModelRow.of, entries):
            gate = f"{row.gate}: {row.reason}" if row.gate else ""
            state = "*" if row.promoted else row.canary if row.canary_running else ""
            table.add_row(row.version_id, state, row.provider, row.model,
                          row.run_id, row.score, gate)
        console.print(table)
    return 0


def _report(entry: ModelEntry, verb: str, args: argparse.Namespace) -> int:
    when = f" (trained {readable_time(entry.created_at)})" if entry.created_at else ""
    return answer(args.json, entry.to_dict(),
                  f"{verb}: {entry.version_id} {entry.model}{when} is now the promoted model of "
                  f"{entry.function}; running processes pick it up within their reload interval")


def promote_command(args: argparse.Namespace) -> int:
    registry = _registry(args)
    entry = registry.promote(args.version)
    _warn(registry)
    if entry.passed_gate is False:
        stderr_console.print(
            f"[yellow]note:[/] {entry.version_id} was refused by the evaluation gate "
            f"({entry.gate.get('reason')}); promoted because you asked"
        )
    return _report(entry, "promoted", args)


def rollback_command(args: argparse.Namespace) -> int:
    registry = _registry(args)
    entry = registry.rollback(args.version)
    _warn(registry)
    return _report(entry, "rolled back", args)


def diff_command(args: argparse.Namespace) -> int:
    registry = _registry(args)
    changes = registry.diff(args.a, args.b)
    if args.json:
        write_stdout(
            json.dumps([{"figure": c.name, "a": c.a, "b": c.b, "delta": c.delta} for c in changes])
        )
        return 0
    table = Table(title=f"{args.a} -> {args.b} ({registry.function})", title_justify="left")
    for column in ("figure", args.a, args.b, "change"):
        table.add_column(column, justify="right" if column != "figure" else "left")
    for c in changes:
        table.add_row(c.name, *("" if v is None else f"{v:.3f}" for v in (c.a, c.b)),
                      "" if c.delta is None else f"{c.delta:+.3f}")
    Console(highlight=False).print(table)
    return 0


def canary_command(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    function = workspace.models.registry(getattr(args, "function", None)).function
    view = workspace.service(function)
    if args.json:
        write_stdout(json.dumps({
            "function": function,
            "canary": None if view.canary is None else {
                "version_id": view.canary.version_id, "model": view.canary.model,
                "share": view.canary.share, "started_at": view.canary.started_at,
                "incumbent_version": view.canary.incumbent_version,
                "last_look": view.canary.look},
            "last_canary": view.last_canary,
        }))
        return 0
    if view.canary is None:
        last = f"; the last one: {view.last_canary}" if view.last_canary else ""
        stdout_console.print(f"no canary of {function} is running{last}", soft_wrap=True)
        return 0
    stdout_console.print(f"canary of {function}: {view.canary.text()}", soft_wrap=True)
    if view.canary.look is not None:
        stdout_console.print(f"the loop's last word: {view.canary.look.get('reason')}",
                             soft_wrap=True)
    return 0


def stop_canary_command(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    function = workspace.models.registry(getattr(args, "function", None)).function
    record = workspace.models.stop_canary(function)
    return answer(args.json, record.to_dict(),
                  f"stopped the canary of {function}: {record.reason}; running processes pick "
                  "it up within their reload interval")


def undeploy_command(args: argparse.Namespace) -> int:
    workspace = _workspace(args)
    function = workspace.models.registry(getattr(args, "function", None)).function
    done = workspace.models.undeploy(function, args.version)
    return answer(args.json, {"function": function, "model": args.version, "result": done}, done)

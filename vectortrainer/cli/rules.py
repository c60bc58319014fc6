"""`vectortrainer rules synthesize`: feedback -> rules -> a validated, versioned hook, with Rich
tables."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vectortrainer.cli.common import add_command, workspace_from_args
from vectortrainer.cli.exit_codes import ExitCode
from vectortrainer.cli.output import fail, stderr_console, write_stdout
from vectortrainer.errors import ConfigError, RuleSynthesisError
from vectortrainer.workspace.types import Choice, GenerationReport, RuleSet


def register(subparsers: argparse._SubParsersAction) -> None:
    rules = subparsers.add_parser("rules", help="turn feedback into rules and a hook script")
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    synth = add_command(actions, "synthesize", "synthesise rules from feedback and write the hook",
                        synthesize_command, "--feedback", "--hooks-dir", "--json",
                        hooks_dir="where the hook is written (default: hooks.dir)",
                        json="print a machine-readable summary on stdout")
    synth.add_argument("--no-semantic", action="store_true",
                       help="skip the MiniLM rewrite screen (faster)")
    synth.add_argument("--no-versioning", action="store_true",
                       help="write the hook without saving a version")
    synth.add_argument(
        "--choose",
        action="append",
        default=[],
        metavar="CONFLICT=N|both[:I,J]",
        help="settle a conflict yourself (repeatable): N keeps the N-th rule of CONFLICT; "
        "both keeps all its rules, applied in the order I,J (default 0,1), the first "
        "scoped to its own pairs' context",
    )
    synth.add_argument("--note", default="", help="note stored with the hook version")


def _parse_choices(values: list[str]) -> dict[str, Choice]:
    """``CONFLICT=N`` -> N; ``CONFLICT=both`` -> "both"; ``CONFLICT=both:1,0`` -> ("both", [1,
    0])."""
    choices: dict[str, Choice] = {}
    for value in values:
        conflict, _, choice = value.partition("=")
        conflict, choice = conflict.strip(), choice.strip()
        keyword, _, order_text = choice.partition(":")
        order = [part.strip() for part in order_text.split(",")] if order_text else []
        if conflict and choice.isdigit():
            choices[conflict] = int(choice)
        elif conflict and keyword == "both" and not order_text:
            choices[conflict] = "both"
        elif (conflict and keyword == "both" and len(order) >= 2 and all(p.isdigit() for p in order)
              and len(set(order)) == len(order)):
            choices[conflict] = ("both", [int(p) for p in order])
        else:
            raise _usage(
                f"--choose {value!r}: expected CONFLICT=N or CONFLICT=both:I,J (each rule once), "
                "e.g. --choose c-1a2b3c4d=1 or --choose c-1a2b3c4d=both:1,0"
            )
    return choices


def _usage(message: str) -> Exception:
    return ConfigError(message)


def synthesize_command(args: argparse.Namespace) -> int:
    semantic = False if args.no_semantic else None  # None: the config's feedback.semantic_screen
    workspace = workspace_from_args(args, **{"feedback.semantic_screen": semantic})
    feedback_path = workspace.config.feedback.path
    choices = _parse_choices(args.choose)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"learning rules from {feedback_path}", total=None)

        def on_progress(done: int, total: int | None, what: str) -> None:
            bar.update(task, description=what, completed=done, total=total)

        # Each rule's blast radius is measured on the store's uncorrected logs, when there is one.
        try:
            learned = workspace.rules.synthesize(choices=choices, progress=on_progress,
                                                 must_exist=True)
        except RuleSynthesisError as exc:
            return fail(f"--choose: {exc}", ExitCode.USAGE)
    read = learned.read
    for problem in read.problems:
        stderr_console.print(
            f"[yellow]warning:[/] {escape(str(feedback_path))}: {escape(str(problem))} "
            "(line skipped; fix or delete it)"
        )
    if read.surrogate_lines:
        stderr_console.print(f"[yellow]warning:[/] {escape(learned.notices[-1])}")
    if not read.pairs:
        return fail(f"{feedback_path}: no valid feedback pairs to learn from", ExitCode.USAGE)
    report, summary = workspace.rules.publish(
        learned.rule_set, note=args.note, enable_versioning=not args.no_versioning
    )
    if args.json:
        write_stdout(json.dumps(summary, ensure_ascii=False))
    else:
        _print_tables(Console(highlight=False), learned.rule_set, report, Path(summary["hook"]))
    return 0


def _print_tables(
    console: Console, rule_set: RuleSet, report: GenerationReport, path: Path
) -> None:
    rules = Table(title=f"{len(rule_set.rules)} rules", title_justify="left")
    for column in ("#", "kind", "pattern", "replacement", "condition", "support", "blast radius"):
        rules.add_column(column, overflow="fold")
    for number, rule in enumerate(rule_set.rules, start=1):
        rules.add_row(
            str(number),
            rule.kind,
            repr(rule.pattern),
            repr(rule.replacement),
            rule.describe_scope() or "always",
            str(rule.support),
            rule.evidence.blast_radius,
        )
    console.print(rules)
    for number, rule in enumerate(rule_set.rules, start=1):
        console.print(f"why {number}: {rule.evidence.why}", soft_wrap=True)
    if rule_set.inactive:
        inactive = Table(
            title=f"{len(rule_set.inactive)} rules kept inactive by their blast radius",
            title_justify="left",
        )
        for column in ("kind", "pattern", "replacement", "blast radius", "why"):
            inactive.add_column(column, overflow="fold")
        for held in rule_set.inactive:
            rule = held.rule
            inactive.add_row(
                rule.kind,
                repr(rule.pattern),
                repr(rule.replacement),
                rule.evidence.blast_radius,
                held.reason,
            )
        console.print(inactive)
    if rule_set.conflicts:
        conflicts = Table(
            title=(
                f"{len(rule_set.conflicts)} conflicts (override with --choose ID=N or ID=both:I,J)"
            ),
            title_justify="left",
        )
        for column in ("id", "kind", "contenders", "winner", "why"):
            conflicts.add_column(column, overflow="fold")
        for conflict in rule_set.conflicts:
            contenders = "\n".join(
                f"{i}: {r.pattern!r} -> {r.replacement!r} (support {r.support})"
                for i, r in enumerate(conflict.rules)
            )
            kept = (
                f"both: {' then '.join(map(str, conflict.order))}"
                if conflict.order is not None
                else str(conflict.chosen)
            )
            conflicts.add_row(conflict.conflict_id, conflict.kind, contenders, kept,
                              f"{conflict.reason} [{conflict.resolved_by}]")
        console.print(conflicts)
    for note in rule_set.notes:
        console.print(f"note: {note}")
    for skipped in report.skipped:
        console.print(f"skipped rule {skipped.rule.rule_id}: {skipped.reason}")
    if report.replay is not None:
        replay = report.replay
        table = Table(title="replay of the feedback through the written hook", title_justify="left")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("pairs", str(replay.pairs))
        table.add_row(
            "bad outputs fixed exactly", f"{replay.exact_fixes} ({replay.exact_fix_rate:.1%})"
        )
        table.add_row("mean repair (edit distance)", f"{replay.mean_repair:.1%}")
        table.add_row("good outputs changed", str(len(replay.good_changed)))
        console.print(table)
    version = f" (version {report.version_id})" if report.version_id else ""
    console.print(f"hook written: {path}{version}")

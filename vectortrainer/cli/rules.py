"""`vectortrainer rules synthesize`: feedback -> rules, shown with their replay; with ``--activate``
they go through the hook gate, one function at a time, and are live only if it passes (VT-18)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vectortrainer.cli.common import add_command, workspace_from_args
from vectortrainer.cli.exit_codes import ExitCode
from vectortrainer.cli.output import fail, stderr_console, write_json
from vectortrainer.errors import ConfigError, RuleSynthesisError
from vectortrainer.json_types import JSONObject
from vectortrainer.workspace import Workspace
from vectortrainer.workspace.types import Choice, ReplayReport, RuleSet


def register(subparsers: argparse._SubParsersAction) -> None:
    rules = subparsers.add_parser("rules", help="turn feedback into rules and a hook script")
    actions = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    synth = add_command(actions, "synthesize", "learn rules from the feedback and show them",
                        synthesize_command, "--function", "--feedback", "--hooks-dir", "--json",
                        function="the function whose rules (default: every function in the "
                        "feedback)",
                        hooks_dir="where the hook is written (default: hooks.dir)",
                        json="print a machine-readable summary on stdout")
    synth.add_argument("--no-semantic", action="store_true",
                       help="skip the MiniLM rewrite screen (faster)")
    synth.add_argument("--activate", action="store_true",
                       help="put the rules through the hook gate; they go live only if it passes")
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
    chosen = workspace.config.selection.function
    functions: list[str | None] = [chosen] if chosen else [*workspace.feedback.functions()]
    functions = functions or [None]
    if args.activate and None in functions:
        return fail(f"{feedback_path}: its pairs name no function; say which function's hook "
                    "to make with --function NAME", ExitCode.USAGE)
    code = 0
    for function in functions:
        code = max(code, _synthesize_one(workspace, function, choices, args))
    return code


def _synthesize_one(workspace: Workspace, function: str | None, choices: dict[str, Choice],
                    args: argparse.Namespace) -> int:
    """Learn ``function``'s rules and show them; with ``--activate``, put them through the gate."""
    feedback_path = workspace.config.feedback.path
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=stderr_console, transient=True) as bar:
        task = bar.add_task(f"learning rules from {feedback_path}", total=None)

        def on_progress(done: int, total: int | None, what: str) -> None:
            bar.update(task, description=what, completed=done, total=total)

        # Each rule's blast radius is measured on the store's uncorrected logs, when there is one.
        try:
            learned = workspace.rules.synthesize(function=function, choices=choices,
                                                 progress=on_progress, must_exist=True)
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
    if not learned.rule_set.pairs:
        return fail(f"{feedback_path}: no valid feedback pairs to learn from"
                    + (f" for {function}" if function else ""), ExitCode.USAGE)
    rule_set = learned.rule_set
    replay = workspace.rules.replay(rule_set) if rule_set.rules else None
    outcome = None
    if args.activate and function is not None:
        outcome = workspace.rules.publish(function, choices=choices, note=args.note, origin="cli")
    live = workspace.hooks.live(function) if function else None
    if args.json:  # the whole document (every rejection): seconds at 10,000 pairs, so only here
        summary: JSONObject = {
            "function": function, **workspace.rules.document(rule_set),
            "replay": replay.to_dict() if replay is not None else None,
            "live_before": outcome.live_before if outcome else live,
            "live_now": outcome.live_now if outcome else live,
            "version": outcome.version_id if outcome else None,
            "gate": outcome.decision.to_dict() if outcome else None,
        }
        write_json(summary, ensure_ascii=False)
        return 0
    console = Console(highlight=False)
    if function:
        console.rule(f"rules of {function}")
    _print_tables(console, rule_set, replay)
    if outcome is not None:
        verdict = "passed" if outcome.decision.passed else "refused"
        console.print(f"hook gate: {verdict} ({outcome.decision.reason}); {outcome.live_words}",
                      soft_wrap=True)
    elif args.activate and rule_set.rules:
        console.print("nothing was made live: the pairs the hook gate learns from (all but its "
                      "held-out ones) back no rule on their own; record more corrections, or "
                      "learn next to the function's store so the logs measure each rule",
                      soft_wrap=True)
    elif args.activate:
        console.print("no rule learned: nothing to put through the gate")
    else:
        console.print(f"nothing was made live (live now: {live or 'no hook'}); review the rules, "
                      "then run again with --activate to put them through the hook gate",
                      soft_wrap=True)
    return 0


def _print_tables(console: Console, rule_set: RuleSet, replay: ReplayReport | None) -> None:
    count = len(rule_set.rules)
    rules = Table(title=f"{count} rule{'' if count == 1 else 's'}", title_justify="left")
    for column in ("#", "kind", "pattern", "becomes", "when", "support", "blast radius"):
        # Short fields stay whole; the texts share what is left and wrap, never cut off.
        whole = column in ("#", "kind", "support")
        rules.add_column(column, overflow="fold", no_wrap=whole,
                         ratio=None if whole else 2 if column in ("pattern", "becomes") else 1)
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
    if replay is not None:
        table = Table(title="replay of the feedback through these rules", title_justify="left")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("pairs", str(replay.pairs))
        table.add_row(
            "bad outputs fixed exactly", f"{replay.exact_fixes} ({replay.exact_fix_rate:.1%})"
        )
        table.add_row("mean repair (edit distance)", f"{replay.mean_repair:.1%}")
        table.add_row("good outputs changed", str(len(replay.good_changed)))
        console.print(table)

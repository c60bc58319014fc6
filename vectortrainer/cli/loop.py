"""`vectortrainer loop [--once] [--interval DURATION]`: training cycles whenever enough is new
(VT-13).

Each cycle is an ordinary run (with the Rich dashboard on stderr, approved like
``--batch``: within the budget, or with ``--yes``). ``--once`` runs one cycle and
exits, for cron: 0 when the cycle ran and promoted, or found nothing to do (it says
so); otherwise the run's own exit code (see ``--batch``); 6 when another scheduler
holds the loop. Without ``--once`` it keeps running, one cycle per interval, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json

from rich.markup import escape

from vectortrainer.cli.common import add_command, config_from_args
from vectortrainer.cli.dashboard import RichDashboard
from vectortrainer.cli.exit_codes import ExitCode, exit_code_for_status
from vectortrainer.cli.output import fail, stderr_console, write_stdout
from vectortrainer.config import Config, duration_problem, parse_duration
from vectortrainer.errors import ConfigError
from vectortrainer.workspace import Workspace, offline_defaults
from vectortrainer.workspace.types import CycleOutcome


def register(subparsers: argparse._SubParsersAction) -> None:
    loop = add_command(subparsers, "loop", "run a training cycle whenever enough new logs or "
                       "feedback arrived", loop_command, "--function", "--max-budget", "--json",
                       function="the function to train", json="one JSON line per cycle on stdout")
    loop.add_argument("--once", action="store_true", help="one cycle, then exit (for cron)")
    loop.add_argument("--interval", metavar="DURATION",
                      help="time between cycles (90s, 15m, 1h; default loop.interval)")
    loop.add_argument("--yes", action="store_true",
                      help="approve the cost of each cycle (within the budget)")


def loop_command(args: argparse.Namespace) -> int:
    if args.interval is not None and duration_problem(args.interval):
        raise ConfigError(f"--interval: {duration_problem(args.interval)}")
    # no config file and no key: the demo trains SmolLM2 locally, as the app and --batch do
    config = offline_defaults(config_from_args(args))
    interval = parse_duration(args.interval or config.loop.interval)
    return run_cycles(config, once=args.once, interval_s=interval, yes=args.yes, as_json=args.json)


def run_cycles(config: Config, *, once: bool, interval_s: float, yes: bool, as_json: bool) -> int:
    """Run the loop with the dashboard; the exit code of the last cycle (see the module
    docstring)."""
    codes: list[int] = []
    workspace = Workspace(config)

    def report(cycle: CycleOutcome) -> None:
        code = (
            int(exit_code_for_status(cycle.outcome.status))
            if cycle.outcome is not None
            else int(ExitCode.OK)
        )
        codes.append(code)
        if as_json:
            write_stdout(json.dumps({**cycle.to_dict(), "exit_code": code}, default=str))
        if code == ExitCode.OK:
            stderr_console.print(f"[green]{escape(cycle.message)}[/]", soft_wrap=True)
        else:
            fail(cycle.message, ExitCode(code))

    if not once:
        stderr_console.print(
            f"looping over {config.selection.function}: a cycle every {interval_s:g} s "
            f"(Ctrl-C stops)",
            style="dim",
        )
    workspace.loop.cycles(
        once=once,
        interval_s=interval_s,
        confirm=workspace.runs.unattended(yes=yes),
        monitor=lambda: RichDashboard(stderr_console, show_end_message=False),
        on_cycle=report,
    )
    return codes[-1] if codes else int(ExitCode.OK)

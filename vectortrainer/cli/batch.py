"""`vectortrainer --batch`: the whole pipeline headless, for CI and cron (VT-10).

Rich progress goes to stderr; with ``--json`` a machine-readable summary goes to
stdout (also when the run stops early: ``status``, ``exit_code``, ``message``).

Exit codes (an API; the same table is in the README):

====  ==========================================================================
0     the run succeeded: a fine-tuned model passed the evaluation gate and is promoted
1     the run failed (store, data or vendor error; see the message and run.json)
2     usage or configuration error, found before any work: no API key (the message
      names the variable to set), a model the provider does not train, a setting it
      would refuse, no local model, ``--resume`` of another function's run, golden
      data of another function; a new run is then not even created
3     budget exceeded, or the cost was not approved; nothing was uploaded
4     the training job failed or was cancelled (``--resume`` starts a new job)
5     trained but not promoted: the evaluation gate kept the model out of service
      (it is in the registry; ``vectortrainer models promote`` overrides the gate)
6     (loop mode) another scheduler is running a cycle; nothing was done
130   interrupted (Ctrl-C); the message says how to resume
====  ==========================================================================

With ``loop.enabled: true`` in the config, ``--batch`` runs loop cycles instead of
one run (one cycle, or continuously with ``loop.continuous``), as ``vectortrainer loop``.

Checks before work: what can be checked without a request (the provider's key, the model
known and open, the job's settings, ``training.local_model`` a model directory, a gate the
trainer can serve) is checked before the store is read, and a run that cannot work stops
with one line and exit 2; nothing is extracted, written or paid for. A resumed run is
checked the same way until its job exists: without the key it stops ``needs_credentials``
(exit 2) and resumes once the key is set. ``--resume RUN_ID`` resumes a run only under its
own function: ``--function`` (or ``selection.function``) naming another one is refused (exit 2).
With no config file and no key for the default provider, a new run trains the packaged
SmolLM2 on this machine instead (``offline_defaults``, as the app does).

Approving the cost headless: nobody is there to ask, so the budget is the
approval. With a budget (``--max-budget`` or ``budget.max_budget_usd``) a run
whose estimate is within it proceeds and one above it stops with exit 3 before
any upload. With the budget turned off (``max_budget_usd: null``) the run
proceeds only with ``--yes``; without it, it stops with exit 3. A local run
(``training.provider: local``) pays no vendor: it is held to ``budget.max_minutes``.
"""

from __future__ import annotations

import argparse
import json

from rich.markup import escape

from vectortrainer.cli.common import config_from_args
from vectortrainer.cli.dashboard import RichDashboard
from vectortrainer.cli.exit_codes import ExitCode, exit_code_for_error, exit_code_for_status
from vectortrainer.cli.loop import run_cycles
from vectortrainer.cli.output import fail, stderr_console, write_stdout
from vectortrainer.config import parse_duration
from vectortrainer.errors import ConfigError, VectorTrainerError, describe
from vectortrainer.workspace import Workspace, offline_defaults
from vectortrainer.workspace.types import RunOutcome, RunStatus


def run_batch(args: argparse.Namespace) -> int:
    """Run (or resume) the pipeline headless and return the exit code."""
    as_json = bool(getattr(args, "json", False))
    try:
        config = config_from_args(args)
        if not args.resume:  # a run resumes under the settings it started with
            # no config file and no key: the demo trains SmolLM2 locally, as the app does
            config = offline_defaults(config)
    except ConfigError as exc:
        return _report_error(exc, ExitCode.USAGE, as_json)
    if config.loop.enabled and not args.resume:
        return run_cycles(
            config,
            once=not config.loop.continuous,
            interval_s=parse_duration(config.loop.interval),
            yes=bool(args.yes),
            as_json=as_json,
        )
    workspace = Workspace(config)
    if not args.resume and not config.selection.function:
        return _report_error(ConfigError(_which_function(workspace)), ExitCode.USAGE, as_json)
    runs = workspace.runs
    with RichDashboard(stderr_console, show_end_message=False) as dashboard:
        confirm = runs.unattended(yes=bool(args.yes))
        try:
            if args.resume:
                outcome = runs.resume(args.resume, monitor=dashboard, confirm=confirm)
            else:
                outcome = runs.start(monitor=dashboard, confirm=confirm)
        except KeyboardInterrupt:
            dashboard.close()
            run = runs.current_run
            message = (
                f"interrupted. Resume with: {runs.resume_command(run.run_id)}"
                if run is not None
                else "interrupted before the run started"
            )
            where = run.path if run else config.output_dir
            outcome = RunOutcome(run.run_id if run else "", where, RunStatus.INTERRUPTED, message)
            return _report(outcome, as_json)
        except VectorTrainerError as exc:
            dashboard.close()
            return _report_error(exc, exit_code_for_error(exc), as_json, workspace)
        except Exception as exc:  # a vendor or I/O failure: one line, details stay in run.json
            dashboard.close()
            return _report_error(exc, ExitCode.RUN_FAILED, as_json, workspace)
    return _report(outcome, as_json)


def _which_function(workspace: Workspace) -> str:
    """The one line for a run with no function: the store's functions to choose from, when it
    can tell them (a store it cannot read is the run's to report, once a function is chosen)."""
    message = "selection.function: no function chosen; pass --function NAME or set it in the config"
    try:
        functions = workspace.list_functions() if workspace.store_exists() else []
    except VectorTrainerError:
        functions = []
    if functions:
        listed = ", ".join(f"{f.name} ({f.success} successful logs)" for f in functions)
        message += f"; the store at {workspace.store_path} holds: {listed}"
    return message


def _report(outcome: RunOutcome, as_json: bool) -> int:
    code = exit_code_for_status(outcome.status)
    if as_json:
        write_stdout(
            json.dumps({**outcome.to_dict(), "exit_code": int(code)}, indent=2, default=str)
        )
    if code == ExitCode.OK:
        stderr_console.print(f"[green]{escape(outcome.message)}[/]", soft_wrap=True)
        return int(code)
    if code == ExitCode.INTERRUPTED:
        stderr_console.print(outcome.message, style="yellow", markup=False, soft_wrap=True)
        return int(code)
    return fail(outcome.message, code)


def _report_error(
    exc: Exception, code: ExitCode, as_json: bool, workspace: Workspace | None = None
) -> int:
    run = workspace.runs.current_run if workspace is not None else None
    if as_json:
        write_stdout(
            json.dumps(
                {
                    "run_id": run.run_id if run else None,
                    "run_dir": str(run.path) if run else None,
                    "status": "usage_error" if code == ExitCode.USAGE else str(RunStatus.FAILED),
                    "message": describe(exc),
                    "exit_code": int(code),
                },
                indent=2,
            )
        )
    suffix = (
        f" (run {run.run_id}; resume with: {workspace.runs.resume_command(run.run_id)})"
        if run is not None and workspace is not None
        else ""
    )
    return fail(f"{describe(exc)}{suffix}", code)

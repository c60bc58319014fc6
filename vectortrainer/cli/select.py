"""`vectortrainer select` (golden data -> ChatML JSONL) and `vectortrainer functions` (what a store
holds)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vectortrainer.cli.common import add_command, workspace_from_args
from vectortrainer.cli.output import stderr_console, stdout_console
from vectortrainer.errors import ConfigError
from vectortrainer.workspace.types import ExtractionReport


def register(subparsers: argparse._SubParsersAction) -> None:
    select = add_command(subparsers, "select", "pick golden data and write ChatML JSONL",
                         select_command, "--function", "--epsilon", "--top-k",
                         function="the decorated function")
    select.add_argument("--out", type=Path, required=True, metavar="FILE",
                        help="the ChatML JSONL to write")
    add_command(subparsers, "functions", "list the functions in a store with their log counts",
                functions_command)


def select_command(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    function = workspace.config.selection.function
    if not function:
        raise ConfigError(
            "select: name the function with --function NAME "
            "(list them with `vectortrainer functions`)"
        )
    _check_out(args.out)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr_console,
        transient=True,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def on_progress(stage: str, done: int, total: int) -> None:
            # One bar per stage (read, density, selection,
            # write, validate), so each has its own ETA.
            if stage not in tasks:
                for earlier in tasks.values():
                    bar.update(earlier, visible=False)
                tasks[stage] = bar.add_task(stage, total=total or None)
                # logs and CI: one line per stage instead of a live bar
                if not stderr_console.is_terminal:
                    stderr_console.print(f"{stage} {function}: {total or '?'} to do")
            bar.update(tasks[stage], completed=done, total=total or None)

        try:
            report = workspace.golden.export(function, args.out, on_stage=on_progress)
        except KeyboardInterrupt:
            bar.stop()
            left = (
                "was not written"
                if not args.out.exists()
                else "is from an earlier selection or not validated"
            )
            raise KeyboardInterrupt(
                f"selection of {function} interrupted; {args.out} {left}"
            ) from None
    stderr_console.print(_summary_table(report))
    if not report.validation.ok:
        stderr_console.print(f"[red]{args.out} failed validation:[/]")
        for problem in report.validation.problems[:20]:
            stderr_console.print(f"  {problem}")
        return 1
    stderr_console.print(f"Wrote {report.examples} examples to {args.out} (valid ChatML).")
    return 0


def _check_out(out: Path) -> None:
    """``--out`` must name a file that can be written, before minutes of reading and clustering."""
    if out.is_dir():
        raise ConfigError(
            f"select --out {out}: is a folder; name the JSONL "
            f"file to write (e.g. {out / 'golden.jsonl'})"
        )
    parent = next((p for p in out.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(
            f"select --out {out}: {parent} is a file, not a folder; choose another path"
        )


def _summary_table(report: ExtractionReport) -> Table:
    table = Table(
        title=f"Golden data for {report.function_name}", show_header=False, title_justify="left"
    )
    table.add_column(style="bold")
    table.add_column()
    table.add_row("logs read", f"{report.total_logs} ({report.usable_logs} usable)")
    sparse = (f", {report.steady_outside} of them from sparse patterns outside the clusters"
              if report.steady_outside else "")
    table.add_row(
        "steady (cluster centres)", f"{report.steady} from {report.clusters} dense clusters{sparse}"
    )
    table.add_row("anomaly (new patterns)", str(report.anomaly))
    if report.density_percentiles:
        table.add_row(
            "density percentiles",
            "  ".join(f"{k} {v:.2f}" for k, v in report.density_percentiles.items()),
        )
    error = report.density_error
    table.add_row(
        "density mode",
        report.density_mode + (f" ({error.describe()})" if error is not None else ""),
    )
    left_out = {**report.skipped, **report.excluded}
    table.add_row("left out", ", ".join(f"{n} {why}" for why, n in left_out.items()) or "nothing")
    table.add_row("epsilon / top-k", f"{report.epsilon:.3g} / {report.top_k}")
    if report.coverage is not None:
        table.add_row("coverage", "\n".join(report.coverage.lines()))
    table.add_row("timings", "  ".join(f"{k} {v:.2f}s" for k, v in report.timings.items()))
    return table


def functions_command(args: argparse.Namespace) -> int:
    workspace = workspace_from_args(args)
    summaries = workspace.list_functions()
    table = Table(title=f"Functions in {workspace.store_path}", title_justify="left")
    table.add_column("function", no_wrap=True)
    for column in ("logs", "success", "anomaly", "failed", "with vector", "with inputs"):
        table.add_column(column, justify="right")
    for s in summaries:
        counts = (s.total, s.success, s.anomaly, s.failed, s.with_vector, s.with_inputs)
        table.add_row(s.name, *map(str, counts))
    stdout_console.print(table)
    return 0

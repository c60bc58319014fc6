"""`vectortrainer providers`: each fine-tuning provider, its models, dates, prices, and whether its
credentials are set."""

from __future__ import annotations

import argparse
import json

from rich.markup import escape
from rich.table import Table

from vectortrainer.cli.common import add_command, config_from_args
from vectortrainer.cli.output import stderr_console, write_stdout
from vectortrainer.workspace.provider_view import ProviderRow, provider_overview


def register(subparsers: argparse._SubParsersAction) -> None:
    add_command(subparsers, "providers", "fine-tuning providers: models, dates, prices, "
                "credentials", providers_command, "--json", json="print the list as JSON")


def providers_command(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    rows = provider_overview(config)
    if getattr(args, "json", False):
        write_stdout(json.dumps([row.to_dict() for row in rows], indent=2))
        return 0
    for row in rows:
        stderr_console.print(_table(row))
        for warning in row.warnings:
            stderr_console.print(f"  [yellow]warning:[/] {escape(warning)}", soft_wrap=True)
        if row.notes:
            stderr_console.print(f"  [dim]{escape(row.notes)}[/]", soft_wrap=True)
    stderr_console.print(
        "Switch with training.provider in the config; override dates under schedule: and "
        "prices under budget.prices.",
        soft_wrap=True,
    )
    return 0


def _table(row: ProviderRow) -> Table:
    state = "open" if row.open else f"[red]closed[/] (no new jobs after {row.jobs_until})"
    if row.open and row.jobs_until:
        state = f"open until {row.jobs_until} (no new jobs after; {escape(row.jobs_until_source)})"
    credentials = ", ".join(f"{name} {'[green]set[/]' if ok else '[red]not set[/]'}"
                            for name, ok in row.credentials.items())
    title = f"{'▶ ' if row.selected else ''}{row.title} ({row.name}, SDK {row.sdk}): {state}"
    extra = f"\n{'; '.join(row.restrictions)}" if row.restrictions else ""
    table = Table(title=title + extra, title_justify="left", caption=f"credentials: {credentials}",
                  caption_justify="left")
    for column in (
        "model",
        "USD / 1M training tokens",
        "methods",
        "shuts down",
        "source of the price",
    ):
        table.add_column(column, overflow="fold")
    for model in row.models:
        price = (
            f"{model.price_per_million:.2f}"
            if model.price_per_million is not None
            else "[yellow]not recorded[/]"
        )
        shutdown = model.shutdown_on or ""
        if model.shutdown_on and not model.open:
            shutdown = f"[red]{shutdown}[/]"
        table.add_row(
            escape(model.name),
            price,
            ", ".join(model.methods),
            shutdown,
            escape(model.price_source),
        )
    return table

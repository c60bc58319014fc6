"""Small display widgets shared by the screens: histogram, budget bar, stage list, loss chart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Label, Sparkline, Static

from tui.workspace import BudgetView
from vectortrainer.display import histogram_counts
from vectortrainer.workspace.types import StageStatus

BLOCKS = " ▁▂▃▄▅▆▇█"


class DensityHistogram(Static):
    """A one-line-per-row block histogram of log densities, with its range underneath."""

    DEFAULT_CSS = "DensityHistogram { height: 6; }"
    values: reactive[tuple[float, ...]] = reactive(tuple, layout=True)

    def render(self) -> Text:
        if not self.values:
            return Text("density histogram: select a function first", style="dim")
        counts, low, high = histogram_counts(
            self.values, bins=max(8, min(48, self.size.width or 24))
        )
        peak = max(counts) or 1
        rows = 4
        lines = []
        for level in range(rows, 0, -1):
            line = ""
            for count in counts:
                filled = count / peak * rows - (level - 1)
                line += BLOCKS[max(0, min(8, round(filled * 8)))] if filled > 0 else " "
            lines.append(line)
        text = Text("\n".join(lines), style="cyan")
        text.append(
            f"\n{low:<10.2f}{'density D(L)':^{max(0, len(counts) - 20)}}{high:>10.2f}", style="dim"
        )
        return text


class BudgetBar(Static):
    """Estimate against its limit as a bar: green within, red over (dollars or minutes)."""

    DEFAULT_CSS = "BudgetBar { height: 2; }"

    def __init__(self, view: BudgetView, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.view = view

    def render(self) -> Text:
        view = self.view
        width = max(10, (self.size.width or 50) - 2)
        amount = view.format_amount(view.amount)
        if view.limit is None or view.amount is None:
            return Text(f"{amount} — no budget set (guard off)" if view.limit is None
                        else f"{amount} — the budget cannot be checked", style="yellow")
        share = view.amount / view.limit if view.limit > 0 else float("inf")
        filled = min(width, int(round(min(share, 1.0) * width)))
        over = share > 1.0
        bar = Text("█" * filled, style="red" if over else "green")
        bar.append("░" * (width - filled), style="dim")
        label = (
            f"{amount} of {view.format_amount(view.limit)} budget ({share:.0%})"
            if share != float("inf")
            else "the budget is 0"
        )
        bar.append("\n" + label, style="bold red" if over else "green")
        return bar


STAGE_STYLE: dict[str, tuple[str, str]] = {
    StageStatus.PENDING: ("·", "dim"),
    StageStatus.RUNNING: ("▶", "bold yellow"),
    StageStatus.COMPLETE: ("✔", "green"),
    StageStatus.SKIPPED: ("–", "dim"),
    StageStatus.FAILED: ("✘", "bold red"),
}


class StageList(Static):
    """Pipeline stages with their states (pending, running, completed, failed, ...)."""

    stages: reactive[tuple[tuple[str, str, str], ...]] = reactive(tuple, layout=True)

    def render(self) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_column(width=1)
        table.add_column()
        table.add_column(style="dim")
        if not self.stages:
            table.add_row("", Text("no run yet", style="dim"), "")
        for name, state, note in self.stages:
            mark, style = STAGE_STYLE.get(state, ("?", ""))
            table.add_row(Text(mark, style=style), Text(name, style=style), note)
        return table


class LossChart(Vertical):
    """The training loss so far: a sparkline with the first, last and minimum values."""

    DEFAULT_CSS = """
    LossChart { height: 5; }
    LossChart Sparkline { height: 3; }
    LossChart Label { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Sparkline([], id="loss-sparkline")
        yield Label("loss: waiting for the first step", id="loss-label")

    def show(self, losses: Sequence[float]) -> None:
        self.query_one(Sparkline).data = list(losses)
        if losses:
            self.query_one("#loss-label", Label).update(
                f"loss: first {losses[0]:.3f}  last {losses[-1]:.3f} "
                f" min {min(losses):.3f}  ({len(losses)} steps)"
            )


def key_value_table(rows: Sequence[tuple[str, str]]) -> Group:
    """Aligned label / value rows for summaries."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    return Group(table)


def cursor_key(table: DataTable) -> str | None:
    """The key of the row under the table's cursor (None when the table is empty)."""
    if table.row_count == 0:
        return None
    row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    return None if row_key.value is None else str(row_key.value)

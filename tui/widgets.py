"""Small display widgets shared by the screens: histogram, budget bar, stage list, loss chart,
tables whose text columns share the width, and the footer that keeps the screen keys in view."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Label, Sparkline, Static

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
        middle = len(counts) - 20  # the label only where it fits between the two ends
        label = "density D(L)" if middle >= 14 else ""
        text.append(f"\n{low:<10.2f}{label:^{max(0, middle)}}{high:>10.2f}", style="dim")
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
    LossChart { height: auto; margin-bottom: 1; }
    LossChart Sparkline { height: 3; }
    /* In a narrow panel the figures wrap rather than run past its edge. */
    LossChart Label { color: $text-muted; width: 100%; height: auto; }
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
    # In a narrow panel the labels wrap rather than shrink to "la…" (Rich narrows the widest
    # column first, and the label column is often the widest).
    table.add_column(style="bold", min_width=min(12, max((len(k) for k, _ in rows), default=0)))
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


def cell(text: str) -> Text:
    """A table cell of one line of text that ends in "…" at its column's edge."""
    return Text(" ".join(text.split()), no_wrap=True, overflow="ellipsis", end="")


class WideTable(DataTable[Any]):
    """A table whose text columns share the width the other columns leave, so they grow with the
    terminal.

    Columns are keyed by their labels; those named in ``flex`` get the width left over, in
    proportion to their weights (never under ``min_width``). Their cells should hold the whole
    text (:func:`cell`): it is cut with "…" at the column's edge, and the row opens in full.
    """

    # The width the text columns share stays the same whether a scrollbar shows or not.
    DEFAULT_CSS = "WideTable { scrollbar-gutter: stable; }"

    def __init__(self, *, flex: Mapping[str, int], min_width: int = 6, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flex = dict(flex)
        self.min_width = min_width

    def add_named_columns(self, *labels: str) -> None:
        """Columns keyed by their labels (the flexible ones start at ``min_width``)."""
        for label in labels:
            width = self.min_width if label in self.flex else None
            self.add_column(label, width=width, key=label)

    def on_resize(self, event: Resize) -> None:
        self.share_width()

    def watch_virtual_size(self) -> None:
        # New rows may widen the other columns: share again what is left.
        self.share_width()

    def share_width(self) -> None:
        flexible = [c for c in self.ordered_columns if c.key.value in self.flex]
        available = self.scrollable_content_region.width
        if not flexible or available <= 0:
            return
        fixed = sum(
            c.get_render_width(self) for c in self.ordered_columns if c.key.value not in self.flex
        )
        free = available - fixed - 2 * self.cell_padding * len(flexible)
        weights = [self.flex[str(c.key.value)] for c in flexible]
        widths = _shares(free, weights, self.min_width)
        changed = False
        for column, width in zip(flexible, widths, strict=True):
            if column.width != width or column.auto_width:
                column.width, column.auto_width = width, False
                changed = True
        if changed:
            # DataTable has no public call to re-measure after a column's width changes: do
            # what its own width-changing watchers do (clear the render caches, re-measure).
            self._clear_caches()
            self._require_update_dimensions = True
            self.refresh()


def _shares(free: int, weights: Sequence[int], least: int) -> list[int]:
    """``free`` cells split in proportion to ``weights``, each at least ``least``."""
    total = sum(weights) or 1
    widths = [max(least, free * weight // total) for weight in weights]
    spare = free - sum(widths)
    if spare > 0:  # the rounding remainder goes to the first (the one that matters most)
        widths[0] += spare
    return widths


def _footer_action(widget: Widget) -> str | None:
    """The action of one of the footer's keys (Textual does not export their class)."""
    action = getattr(widget, "action", None)
    return action if isinstance(action, str) else None


def _footer_width(widgets: Iterable[Widget]) -> int:
    """Columns the compact footer's keys take: "key description" and a space each."""
    width = 0
    for widget in widgets:
        if _footer_action(widget) is not None:
            key = str(getattr(widget, "key_display", ""))
            width += len(key) + len(str(getattr(widget, "description", ""))) + 2
            if widget.has_class("-command-palette"):
                width += 1  # its border
    return width


class KeysFooter(Footer):
    """The compact footer. When its keys do not fit the terminal, it leaves out the screen's
    keys not in ``keep``, the last first (help and the command palette still list them), then
    the palette key, so the keys that switch screens (F1-F6) stay in view."""

    def __init__(self, keep: Collection[str] = ()) -> None:
        super().__init__(compact=True)
        self.keep = frozenset(keep)
        self._composed_for = 0

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        width = self._composed_for = self.app.size.width
        own = {b.action for b in type(self.screen).BINDINGS if not isinstance(b, tuple)}
        # The screen's other keys go from the last, one at a time, until the rest fits.
        for widget in reversed(list(widgets)):
            if _footer_width(widgets) <= width:
                break
            if _footer_action(widget) in own - self.keep:
                widgets.remove(widget)
        if _footer_width(widgets) > width:
            widgets = [w for w in widgets if not w.has_class("-command-palette")]
        yield from widgets

    def on_resize(self) -> None:
        if self.app.size.width != self._composed_for:
            self.call_after_refresh(self.recompose)

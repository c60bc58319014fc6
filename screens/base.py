"""What every mode screen shares: header and footer, the app's workspace, palette commands from
bindings, and opening a table's row in full."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from textual import events, on
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable
from textual.worker import Worker

from screens.detail import DetailScreen
from tui.widgets import KeysFooter

if TYPE_CHECKING:
    from tui.app import VectorTrainerApp
    from tui.workspace import Workspace


class ModeScreen(Screen):
    """A top-level screen of one mode; its bindings also become command-palette commands."""

    MODE_NAME = ""
    PALETTE_HELP: dict[str, str] = {}
    # Tables on which Enter opens the row in full (elsewhere Enter keeps its own meaning and
    # ``o`` opens it); the table ``o`` opens when no table has had the focus yet.
    ENTER_OPENS: frozenset[str] = frozenset()
    DETAIL_TABLE = ""
    # The screen's keys the footer keeps when they do not all fit the terminal.
    FOOTER_KEEP: tuple[str, ...] = ("open_detail",)

    def __init__(self) -> None:
        super().__init__()
        self._detail_table = self.DETAIL_TABLE

    def footer(self) -> KeysFooter:
        return KeysFooter(keep=self.FOOTER_KEEP)

    def on_mount(self) -> None:
        self.watch(self.app, "status_text", self._show_status)

    @on(Worker.StateChanged)
    def _forward_worker_state(self, event: Worker.StateChanged) -> None:
        self.vt_app.report_worker_failure(event)

    def _show_status(self, status: str) -> None:
        self.sub_title = f"{self.MODE_NAME} · {status}" if status else self.MODE_NAME

    @property
    def vt_app(self) -> "VectorTrainerApp":
        return cast("VectorTrainerApp", self.app)

    @property
    def workspace(self) -> "Workspace":
        return self.vt_app.workspace

    @staticmethod
    def _when_confirmed(
        action: Callable[..., object], *args: Any
    ) -> Callable[[bool | None], None]:
        """A confirmation modal's callback: ``action(*args)`` when the person said yes."""

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                action(*args)

        return answered

    def palette_commands(self) -> Iterable[SystemCommand]:
        """One command per visible, enabled binding of this screen (so the palette follows the
        screen)."""
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            action = binding.action
            if self.check_action(action.split("(")[0], ()) is False:
                continue
            help_text = self.PALETTE_HELP.get(
                action, f"{binding.description} ({binding.key.split(',')[0]})"
            )
            yield SystemCommand(
                f"{self.MODE_NAME}: {binding.description}",
                help_text,
                lambda action=action: self.run_action(action),
            )

    # -- rows in full ---------------------------------------------------------------------
    def row_detail(self, table: DataTable) -> DetailScreen | None:
        """The row under ``table``'s cursor in full (None: the table has no such row)."""
        return None

    @on(events.DescendantFocus)
    def _table_focused(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, DataTable) and event.widget.id:
            self._detail_table = event.widget.id

    @on(DataTable.RowSelected)
    def _enter_opens(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id in self.ENTER_OPENS:
            self._open(event.data_table)

    def action_open_detail(self) -> None:
        """``o``: the focused table's row in full (or the last table that had the focus)."""
        focused = self.focused
        tables = [t for t in self.query(DataTable) if t is focused] or [
            t for t in self.query(DataTable) if t.id == self._detail_table
        ]
        table = tables[0] if tables else None
        if table is None or table.row_count == 0 or not self._open(table):
            self.notify("No row to open here yet.", severity="warning")

    def _open(self, table: DataTable) -> bool:
        detail = self.row_detail(table) if table.row_count else None
        if detail is not None:
            self.app.push_screen(detail)
        return detail is not None

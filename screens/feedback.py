"""Feedback: from a log's output, write the corrected output to record a pair; list, edit and delete
pairs (FR-2.1)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Header, Label, Static, TextArea

from screens.base import ModeScreen
from screens.confirm import ConfirmScreen
from tui.widgets import cursor_key
from tui.workers import in_background
from vectortrainer.display import preview
from vectortrainer.workspace.types import FeedbackEntry, FeedbackPair, FunctionLogs, LogRecord


class FeedbackScreen(ModeScreen):
    """Turn bad outputs into corrections; the rules screen learns from them."""

    MODE_NAME = "Feedback"
    BINDINGS = [
        Binding("f7", "save", "Save", id="feedback.save", key_display="F7", priority=True),
        Binding("e", "edit", "Edit", id="feedback.edit"),
        Binding("x", "delete", "Delete", id="feedback.delete"),
        Binding("l", "load_logs", "Load logs", id="feedback.load"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.logs: FunctionLogs | None = None
        self.current: LogRecord | None = None
        self.editing_id: str | None = None
        self.entries: list[FeedbackEntry] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="feedback-body"):
            with Vertical(id="feedback-left", classes="panel"):
                yield Label(
                    "Logs (pick one; enter opens it)", classes="panel-title", id="logs-title"
                )
                yield DataTable(id="logs", cursor_type="row", zebra_stripes=True)
                yield Label("Feedback pairs", classes="panel-title")
                yield DataTable(id="pairs", cursor_type="row", zebra_stripes=True)
            with Vertical(id="feedback-right", classes="panel"):
                yield Label("Model output (bad)", classes="panel-title")
                yield Static("Pick a log on the left.", id="bad-output")
                yield Label(
                    "Corrected output — type the fix, then F7 to save",
                    classes="panel-title",
                    id="fixed-title",
                )
                yield TextArea(id="fixed-output", soft_wrap=True, show_line_numbers=False)
                with Horizontal(classes="buttons"):
                    yield Button("Save pair (F7)", id="save-button", variant="primary")
                    yield Button("New", id="new-button")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#logs", DataTable).add_columns("status", "input", "output")
        self.query_one("#pairs", DataTable).add_columns("id", "bad output", "fixed output")
        self._reload_pairs()
        self.action_load_logs()

    def on_screen_resume(self) -> None:
        selection = self.vt_app.selection
        if selection is not None and (
            self.logs is None or self.logs.function_name != selection.function
        ):
            self._show_logs(selection.logs)

    # -- logs ---------------------------------------------------------------------------
    def action_load_logs(self) -> None:
        app = self.vt_app
        if app.selection is not None:
            self._show_logs(app.selection.logs)
        elif app.current_function and app.store_state == "ready":
            self._read_logs(app.current_function)
        elif app.functions and app.store_state == "ready":
            self._read_logs(app.functions[0].name)
        else:
            self.query_one("#logs-title", Label).update(
                "Logs: open the store on the dataset screen first (F2)"
            )

    @in_background("feedback-logs", "reading logs")
    def _read_logs(self, name: str) -> None:
        logs = self.workspace.read_function(name)
        self.app.call_from_thread(self._show_logs, logs)

    def _show_logs(self, logs: FunctionLogs) -> None:
        self.logs = logs
        table = self.query_one("#logs", DataTable)
        table.clear()
        for index, record in enumerate(logs.records):
            if record.succeeded and record.output is not None:
                table.add_row(
                    record.status,
                    Text(preview(record.inputs, 30)),
                    Text(preview(record.output, 30)),
                    key=str(index),
                )
        self.query_one("#logs-title", Label).update(
            f"Logs of {logs.function_name} (enter opens one)"
        )

    @on(DataTable.RowSelected, "#logs")
    def _log_chosen(self, event: DataTable.RowSelected) -> None:
        assert self.logs is not None
        self.current = self.logs.records[int(str(event.row_key.value))]
        self.editing_id = None
        text = self.workspace.feedback.editable_output(self.current)
        self.query_one("#bad-output", Static).update(Text(text))
        editor = self.query_one("#fixed-output", TextArea)
        editor.text = text
        editor.focus()
        self.query_one("#fixed-title", Label).update(
            "Corrected output — type the fix, then F7 to save"
        )

    # -- pairs --------------------------------------------------------------------------
    def _reload_pairs(self) -> None:
        self._load_pairs()

    @in_background("feedback-pairs", "reading feedback")
    def _load_pairs(self) -> None:
        entries = self.workspace.feedback.entries()
        self.app.call_from_thread(self._show_pairs, entries)

    def _show_pairs(self, entries: list[FeedbackEntry]) -> None:
        self.entries = entries
        table = self.query_one("#pairs", DataTable)
        table.clear()
        for entry in entries:
            table.add_row(entry.entry_id, Text(preview(entry.pair.bad_output, 24)),
                          Text(preview(entry.pair.fixed_output, 24)), key=entry.entry_id)
        self.refresh_bindings()

    def _selected_entry(self) -> FeedbackEntry | None:
        key = cursor_key(self.query_one("#pairs", DataTable))
        return next((e for e in self.entries if e.entry_id == key), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("edit", "delete"):
            return (bool(self.entries) or None) if self.is_mounted else None
        return True

    @on(Button.Pressed, "#save-button")
    def action_save(self) -> None:
        fixed = self.query_one("#fixed-output", TextArea).text
        if self.editing_id is not None:
            entry = next(e for e in self.entries if e.entry_id == self.editing_id)
            unchanged = fixed.strip() == entry.pair.bad_output.strip()
            pair = None
        elif self.current is not None:
            entry, pair = None, self.workspace.feedback.correction(self.current, fixed)
            unchanged = pair.fixed_output.strip() == pair.bad_output.strip()
        else:
            self.notify(
                "Pick a log first (enter on the logs table), or a pair to edit (e).",
                severity="warning",
            )
            return
        if unchanged:
            self.notify(
                "The corrected output is the same as the model's: change it first.",
                severity="warning",
            )
            return
        self._save(fixed, entry, pair)

    @in_background("feedback-save", "saving feedback")
    def _save(self, fixed: str, entry: FeedbackEntry | None, pair: FeedbackPair | None) -> None:
        if entry is not None:
            self.workspace.feedback.edit(entry, fixed)
            message = f"Updated feedback pair {entry.entry_id}."
        elif pair is not None:
            message = f"Saved feedback pair {self.workspace.feedback.record(pair)}."
        else:
            return
        self.app.call_from_thread(self._saved, message, self.workspace.feedback.entries())

    def _saved(self, message: str, entries: list[FeedbackEntry]) -> None:
        self._show_pairs(entries)
        self.editing_id = None
        self.notify(message + " F4 synthesises rules from the pairs.", title="Feedback")

    @on(Button.Pressed, "#new-button")
    def _new(self) -> None:
        self.editing_id = None
        self.current = None
        self.query_one("#bad-output", Static).update("Pick a log on the left.")
        self.query_one("#fixed-output", TextArea).text = ""
        self.query_one("#logs", DataTable).focus()

    def action_edit(self) -> None:
        entry = self._selected_entry()
        if entry is None:
            return
        self.editing_id = entry.entry_id
        self.query_one("#bad-output", Static).update(Text(entry.pair.bad_output))
        editor = self.query_one("#fixed-output", TextArea)
        editor.text = entry.pair.fixed_output
        editor.focus()
        self.query_one("#fixed-title", Label).update(
            f"Editing pair {entry.entry_id} — F7 saves the change"
        )

    def action_delete(self) -> None:
        entry = self._selected_entry()
        if entry is None:
            return
        self.app.push_screen(
            ConfirmScreen(
                "Delete the feedback pair?",
                f"Delete pair {entry.entry_id}?\n"
                f"{preview(entry.pair.bad_output, 60)}\n→ {preview(entry.pair.fixed_output, 60)}",
                "Delete",
            ),
            self._when_confirmed(self._delete, entry.entry_id),
        )

    @in_background("feedback-save", "deleting feedback")
    def _delete(self, entry_id: str) -> None:
        self.workspace.feedback.delete(entry_id)
        self.app.call_from_thread(
            self._saved, f"Deleted feedback pair {entry_id}.", self.workspace.feedback.entries()
        )

"""Feedback: from a log's output, write the corrected output to record a pair; list, edit and delete
pairs (FR-2.1)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Header, Label, Select, Static, TextArea

from screens.base import ModeScreen
from screens.confirm import ConfirmScreen
from screens.detail import DetailScreen, Section, full_text, log_sections, word_diff
from tui.widgets import WideTable, cell, cursor_key
from tui.workers import in_background
from vectortrainer.display import hover_text, preview
from vectortrainer.workspace.types import (
    FeedbackEntry,
    FeedbackPair,
    FunctionLogs,
    FunctionSummary,
    LogRecord,
)


class FeedbackScreen(ModeScreen):
    """Turn bad outputs into corrections; the rules screen learns from them."""

    MODE_NAME = "Feedback"
    BINDINGS = [
        Binding("f7", "save", "Save", id="feedback.save", key_display="F7", priority=True),
        Binding("e", "edit", "Edit", id="feedback.edit"),
        Binding("x", "delete", "Delete", id="feedback.delete"),
        Binding("l", "load_logs", "Load logs", id="feedback.load"),
        Binding("f", "choose_function", "Function", id="feedback.function"),
        Binding("o", "open_detail", "Open", id="feedback.open", tooltip="Open the row in full"),
    ]
    # Enter on a log opens it for correction; on a pair it opens the pair in full.
    ENTER_OPENS = frozenset({"pairs"})
    DETAIL_TABLE = "logs"
    FOOTER_KEEP = ("save", "choose_function", "open_detail")

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
                with Horizontal(id="feedback-function"):
                    yield Label("function", classes="panel-title")
                    yield Select[str]([], id="function", compact=True, prompt="choose one")
                yield Label("Logs (enter corrects one)", classes="panel-title", id="logs-title")
                yield WideTable(id="logs", flex={"input": 1, "output": 1},
                                cursor_type="row", zebra_stripes=True)
                yield Label("Feedback pairs (enter opens one)", classes="panel-title",
                            id="pairs-title")
                yield WideTable(id="pairs", flex={"bad output": 1, "fixed output": 1},
                                cursor_type="row", zebra_stripes=True)
            with Vertical(id="feedback-right", classes="panel"):
                with Vertical(id="log-input-box"):
                    yield Label("Input of the log", classes="panel-title")
                    yield Static("", id="log-input")
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
        yield self.footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#logs", WideTable).add_named_columns("status", "input", "output")
        self.query_one("#pairs", WideTable).add_named_columns("id", "bad output", "fixed output")
        self.query_one("#log-input-box").display = False
        self.query_one("#logs", DataTable).focus()  # not the switcher: enter corrects a log
        self.watch(self.vt_app, "functions", self._show_functions)
        self._reload_pairs()
        self.action_load_logs()

    def on_screen_resume(self) -> None:
        """The app's function may have changed on another screen: show its logs."""
        self._show_functions(self.vt_app.functions)
        wanted = self.vt_app.current_function
        if self.logs is None or (wanted is not None and self.logs.function_name != wanted):
            self.action_load_logs()

    # -- the function ---------------------------------------------------------------------
    def _show_functions(self, functions: tuple[FunctionSummary, ...]) -> None:
        switcher = self.query_one("#function", Select)
        names = [f.name for f in functions]
        switcher.set_options([(name, name) for name in names])
        current = self.vt_app.current_function
        if current in names:
            with switcher.prevent(Select.Changed):  # showing the app's choice is no new choice
                switcher.value = current

    @on(Select.Changed, "#function")
    def _function_switched(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str) or event.value == self.vt_app.current_function:
            return
        self.vt_app.current_function = event.value  # the app's function: every screen follows
        self.action_load_logs()

    def action_choose_function(self) -> None:
        """``f``: the function switcher, open."""
        switcher = self.query_one("#function", Select)
        switcher.focus()
        switcher.action_show_overlay()

    # -- logs ---------------------------------------------------------------------------
    def action_load_logs(self) -> None:
        app = self.vt_app
        if app.selection is not None and app.current_function in (None, app.selection.function):
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
                    cell(hover_text(record.inputs, 400)),
                    cell(hover_text(record.output, 400)),
                    key=str(index),
                )
        self.query_one("#logs-title", Label).update(
            f"Logs of {logs.function_name} (enter corrects one)"
        )
        self._reload_pairs()  # the pairs follow the function

    @on(DataTable.RowSelected, "#logs")
    def _log_chosen(self, event: DataTable.RowSelected) -> None:
        assert self.logs is not None
        self.current = self.logs.records[int(str(event.row_key.value))]
        self.editing_id = None
        text = self.workspace.feedback.editable_output(self.current)
        self._show_input(self.current.inputs)
        self.query_one("#bad-output", Static).update(Text(text))
        editor = self.query_one("#fixed-output", TextArea)
        editor.text = text
        editor.focus()
        self.query_one("#fixed-title", Label).update(
            "Corrected output — type the fix, then F7 to save"
        )

    # -- pairs --------------------------------------------------------------------------
    def _reload_pairs(self) -> None:
        """The pairs the rules of the function shown learn from (its own and the untagged)."""
        self._load_pairs(self.logs.function_name if self.logs is not None
                         else self.vt_app.current_function)

    @in_background("feedback-pairs", "reading feedback")
    def _load_pairs(self, function: str | None) -> None:
        entries = self.workspace.feedback.entries(function)
        self.app.call_from_thread(self._show_pairs, entries, function)

    def _show_pairs(self, entries: list[FeedbackEntry], function: str | None) -> None:
        self.entries = entries
        self.query_one("#pairs-title", Label).update(Text(
            f"Pairs of {function} (enter opens one)" if function
            else "Feedback pairs (enter opens one)"))
        table = self.query_one("#pairs", DataTable)
        table.clear()
        for entry in entries:
            table.add_row(entry.entry_id, cell(preview(entry.pair.bad_output, 400)),
                          cell(preview(entry.pair.fixed_output, 400)), key=entry.entry_id)
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
        self.app.call_from_thread(self._saved, message)

    def _saved(self, message: str) -> None:
        self._reload_pairs()
        self.editing_id = None
        self.notify(message + " F4 synthesises rules from the pairs.", title="Feedback")

    @on(Button.Pressed, "#new-button")
    def _new(self) -> None:
        self.editing_id = None
        self.current = None
        self._show_input(None)
        self.query_one("#bad-output", Static).update("Pick a log on the left.")
        self.query_one("#fixed-output", TextArea).text = ""
        self.query_one("#logs", DataTable).focus()

    def action_edit(self) -> None:
        entry = self._selected_entry()
        if entry is None:
            return
        self.editing_id = entry.entry_id
        self._show_input(entry.pair.input_prompt or None)
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
        self.app.call_from_thread(self._saved, f"Deleted feedback pair {entry_id}.")

    # -- rows in full ---------------------------------------------------------------------
    def _show_input(self, inputs: object) -> None:
        """The input of the log (or pair) being corrected, whole (the panel scrolls)."""
        self.query_one("#log-input-box").display = inputs is not None
        self.query_one("#log-input", Static).update(Text(full_text(_single(inputs))))

    def row_detail(self, table: DataTable) -> DetailScreen | None:
        key = cursor_key(table)
        if key is None:
            return None
        if table.id == "logs":
            if self.logs is None:
                return None
            record = self.logs.records[int(key)]
            return DetailScreen(f"Log of {record.function_name} ({record.status})",
                                log_sections(record))
        entry = next((e for e in self.entries if e.entry_id == key), None)
        if entry is None:
            return None
        return DetailScreen(f"Feedback pair {entry.entry_id}", self._pair_sections(entry))

    def _pair_sections(self, entry: FeedbackEntry) -> list[Section]:
        pair = entry.pair
        sections: list[Section] = [
            ("bad output", pair.bad_output),
            ("fixed output", pair.fixed_output),
            ("the change (removed struck through, added in green)",
             word_diff(self.workspace.feedback.diff(pair.bad_output, pair.fixed_output))),
        ]
        if pair.input_prompt:
            sections.insert(0, ("input", pair.input_prompt))
        if pair.context:
            sections.append(("context", full_text(pair.context)))
        sections.append(("stored", f"line {entry.line} of {self.workspace.feedback.path}"))
        return sections


def _single(inputs: object) -> object:
    """A log's inputs as people read them: a single argument as its value."""
    if isinstance(inputs, dict) and len(inputs) == 1:
        return next(iter(inputs.values()))
    return inputs

"""Hooks and models in service: the function's hook versions with what each changes against the
live one, rule by rule (and on 'p' the feedback pairs behind each rule), the function's trained
models with the gates' last decisions and the loop's next trigger; rolling back either is one
confirmed action (FR-7.5, VT-13, VT-18)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Label, RichLog, Static

from screens.base import ModeScreen
from screens.confirm import ConfirmScreen
from tui.rule_diff import rule_diff_text
from tui.widgets import cursor_key
from tui.workers import in_background
from tui.workspace import HookVersionRow, ModelRow, ServiceView
from vectortrainer.errors import VectorTrainerError
from vectortrainer.workspace.types import RuleDiff


class HooksScreen(ModeScreen):
    """Which hook and which model are live, what each version changes, and going back to one at
    once."""

    MODE_NAME = "Hooks"
    BINDINGS = [
        Binding("b", "rollback", "Roll back", id="hooks.rollback"),
        Binding("m", "rollback_model", "Model back", id="hooks.rollback_model"),
        Binding("p", "toggle_pairs", "Pairs", id="hooks.pairs"),
        Binding("r", "reload", "Reload", id="hooks.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.versions: list[HookVersionRow] = []
        self.service: ServiceView | None = None
        self.show_pairs = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="hooks-body"):
            with Vertical(id="hooks-left", classes="panel"):
                yield Label("Hook versions", classes="panel-title")
                yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
                yield Label("", id="hooks-dir")
            with Vertical(id="hooks-right", classes="panel"):
                yield Label(
                    "Rules changed against the live version", classes="panel-title", id="diff-title"
                )
                yield RichLog(
                    id="diff",
                    wrap=True,
                    highlight=False,
                    markup=False,
                    min_width=20,
                    auto_scroll=False,
                )
        with Vertical(id="service", classes="panel"):
            yield Label("In service", classes="panel-title", id="service-title")
            yield Static("", id="service-lines")
            yield DataTable(id="models", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#versions", DataTable).add_columns(
            "version", "created", "rules", "state", "from"
        )
        self.query_one("#models", DataTable).add_columns(
            "model", "promoted", "model id / adapter", "score", "gate"
        )
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load_versions()

    @in_background("hooks", "reading hook versions")
    def _load_versions(self) -> None:
        versions = self._versions()
        function = self._function()
        service = self.workspace.service(function) if function else None
        self.app.call_from_thread(self._show_versions, versions)
        self.app.call_from_thread(self._show_service, service)

    def _versions(self) -> list[HookVersionRow]:
        """The current function's hook versions, newest first, with their checksums verified."""
        function = self._function()
        if function is None:
            return []
        view = self.workspace.hooks.view(function)
        self.app.call_from_thread(
            self.query_one("#hooks-dir", Label).update, f"hooks of {function}: {view.hooks_dir}"
        )
        return list(reversed(view.rows))

    def _function(self) -> str | None:
        return (
            getattr(self.app, "current_function", None) or self.workspace.config.selection.function
        )

    def _show_service(self, service: ServiceView | None) -> None:
        self.service = service
        title = self.query_one("#service-title", Label)
        lines = self.query_one("#service-lines", Static)
        table = self.query_one("#models", DataTable)
        table.clear()
        if service is None:
            title.update("In service")
            lines.update(
                Text("Choose a function on the Dataset screen (F2) to see its models.", style="dim")
            )
            return
        title.update(f"In service for {service.function}")
        text = Text()
        for label, value in service.lines():
            text.append(f"{label}: ", style="bold")
            text.append(f"{value}\n")
        for problem in service.problems:
            text.append(f"{problem}\n", style="yellow")
        lines.update(text)
        for row in reversed(service.models):
            gate = {
                "passed": Text("passed", style="green"),
                "refused": Text("refused", style="red"),
            }.get(row.gate, "")
            table.add_row(
                row.version_id,
                Text("● promoted", style="bold green") if row.promoted else "",
                row.model,
                row.score,
                gate,
                key=row.version_id,
            )
        self.refresh_bindings()

    def _show_versions(self, versions: list[HookVersionRow]) -> None:
        self.versions = versions
        table = self.query_one("#versions", DataTable)
        table.clear()
        for row in versions:
            # A damaged version says so first: it can no longer be made live.
            state = (
                Text("DAMAGED (checksum)", style="bold red") if not row.checksum_ok
                else Text("● active", style="bold green") if row.active
                else Text(row.state)
            )
            table.add_row(
                row.version_id,
                row.created[:16],  # to the minute: the table fits its panel at 80 columns
                row.rules,
                state,
                row.origin.split(" ")[0],  # "run", "loop"; the run id is under the diff
                key=row.version_id,
            )
        if not versions:
            log = self.query_one("#diff", RichLog)
            log.clear()
            log.write(
                Text(
                    "No hook versions yet: generate one on the rules screen (F4, then g).",
                    style="dim",
                )
            )
        self.refresh_bindings()

    def _selected(self) -> HookVersionRow | None:
        key = cursor_key(self.query_one("#versions", DataTable))
        return next((v for v in self.versions if v.version_id == key), None)

    @on(DataTable.RowHighlighted, "#versions")
    def _row_highlighted(self) -> None:
        row = self._selected()
        if row is not None:
            self._load_diff(row.version_id)

    def action_toggle_pairs(self) -> None:
        """Show or hide the feedback pairs each rule of the diff was learned from."""
        self.show_pairs = not self.show_pairs
        row = self._selected()
        if row is not None:
            self._load_diff(row.version_id)

    @in_background("hooks-diff", "comparing hook versions")
    def _load_diff(self, version_id: str) -> None:
        function = self._function()
        if function is None:
            return
        try:
            diff: RuleDiff | str = self.workspace.hooks.rule_diff(function, version_id)
        except VectorTrainerError as exc:  # a damaged version, or a hook edited by hand
            diff = str(exc)
        self.app.call_from_thread(self._show_diff, version_id, diff)

    def _show_diff(self, version_id: str, diff: RuleDiff | str) -> None:
        row = next((v for v in self.versions if v.version_id == version_id), None)
        active = next((v.version_id for v in self.versions if v.active), None)
        self.query_one("#diff-title", Label).update(
            f"Rolling back from {active} to {version_id} changes:"
            if active and active != version_id
            else f"{version_id} is the live hook; against no hook:"
            if row is not None and row.active
            else f"Making {version_id} live (no hook is live now) changes:"
        )
        log = self.query_one("#diff", RichLog)
        log.clear()
        if row is not None:
            made = f"made by {row.origin}" if row.origin else "origin not recorded"
            why = row.problem or row.gate_reason or row.note
            log.write(Text(f"{version_id}: {row.state}, {made}" + (f"; {why}" if why else ""),
                           style="dim"))
        if isinstance(diff, str):
            log.write(Text(diff, style="yellow"))
        else:
            log.write(rule_diff_text(diff, pairs=self.show_pairs))
        log.scroll_home(animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rollback":
            row = self._selected() if self.is_mounted else None
            return None if row is None or row.active else True
        if action == "rollback_model":
            model = self._selected_model() if self.is_mounted else None
            return None if model is None or model.promoted else True
        return True

    def _selected_model(self) -> ModelRow | None:
        key = cursor_key(self.query_one("#models", DataTable))
        if self.service is None or key is None:
            return None
        return next((m for m in self.service.models if m.version_id == key), None)

    @on(DataTable.RowHighlighted, "#models")
    def _model_highlighted(self) -> None:
        self.refresh_bindings()

    def action_rollback_model(self) -> None:
        model = self._selected_model()
        service = self.service
        if model is None or service is None or model.promoted:
            self.notify("Select a model that is not the promoted one.", severity="warning")
            return
        current = service.promoted.version_id if service.promoted else "none"
        refused = (
            f"\nThe evaluation gate refused it: {model.reason}" if model.gate == "refused" else ""
        )
        self.app.push_screen(
            ConfirmScreen(
                "Change the model in service?",
                f"Promote {model.version_id} ({model.model}) for "
                f"{service.function} now, in place of {current}?{refused}\nRunning "
                "processes pick it up within their reload interval.",
                "Promote",
            ),
            self._when_confirmed(self._rollback_model, service.function, model.version_id),
        )

    @in_background("hooks-rollback", "model rollback")
    def _rollback_model(self, function: str, version_id: str) -> None:
        entry = self.workspace.models.rollback(function, version_id)
        service = self.workspace.service(function)
        self.app.call_from_thread(self._show_service, service)
        self.app.call_from_thread(
            self.notify,
            f"{entry.version_id} ({entry.model}) is now in service.",
            title="Model changed",
        )

    def action_rollback(self) -> None:
        row = self._selected()
        if row is None or row.active:
            self.notify("Select a version that is not the active one.", severity="warning")
            return
        self.app.push_screen(
            ConfirmScreen(
                "Roll back the hook?",
                f"Make version {row.version_id} ({row.rules} rules) the active hook now?\n"
                "The current hook stays in the version list; you can roll forward again.",
                "Roll back",
            ),
            self._when_confirmed(self._rollback, row.version_id),
        )

    @in_background("hooks-rollback", "rollback")
    def _rollback(self, version_id: str) -> None:
        function = self._function()
        if function is None:
            return
        self.workspace.hooks.rollback(function, version_id)
        versions = self._versions()
        self.app.call_from_thread(self._rolled_back, version_id, versions)

    def _rolled_back(self, version_id: str, versions: list[HookVersionRow]) -> None:
        self._show_versions(versions)
        self.notify(f"Version {version_id} is now the active hook.", title="Rolled back")

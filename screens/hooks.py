"""Hooks and models in service: the function's hook versions with what each changes against the
live one, rule by rule (and on 'p' the feedback pairs behind each rule), the function's trained
models with the gates' last decisions, the canary with its figures per arm and the loop's next
trigger; rolling back either, and stopping a canary, is one confirmed action (FR-7.5, VT-13,
VT-18, issue 26)."""

from __future__ import annotations

import threading

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Header, Label, RichLog, Static

from screens.base import ModeScreen
from screens.confirm import ConfirmScreen
from screens.detail import DetailScreen, Section
from tui.rule_diff import rule_diff_text
from tui.widgets import WideTable, cell, cursor_key
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
        Binding("x", "stop_canary", "Stop canary", id="hooks.stop_canary"),
        Binding("p", "toggle_pairs", "Pairs", id="hooks.pairs"),
        Binding("r", "reload", "Reload", id="hooks.reload"),
        Binding("i", "toggle_service", "In service", id="hooks.service"),
        Binding("o", "open_detail", "Open", id="hooks.open", tooltip="Open the row in full"),
    ]
    ENTER_OPENS = frozenset({"versions", "models"})
    DETAIL_TABLE = "versions"
    FOOTER_KEEP = ("rollback", "open_detail")
    # Under this many rows the "In service" panel starts folded to its first lines, so the
    # versions keep the room (i unfolds it).
    TALL = 34
    # None: folded or not by the terminal's height; True / False: as the person chose (i).
    service_open: reactive[bool | None] = reactive(None)

    def __init__(self) -> None:
        super().__init__()
        self.versions: list[HookVersionRow] = []
        self.service: ServiceView | None = None
        self.show_pairs = False
        self.shown_diff: tuple[str, RuleDiff | str] | None = None  # the diff under the table
        # Reads and changes of what is live, one at a time: closing a confirmation resumes the
        # screen, and its reload must not read before a rollback writes and show that after it.
        self._service_lock = threading.Lock()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="hooks-body"):
            with Vertical(id="hooks-left", classes="panel"):
                yield Label("Hook versions", classes="panel-title")
                yield WideTable(id="versions", flex={"state": 3, "from": 1}, min_width=5,
                                cursor_type="row", zebra_stripes=True)
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
            yield WideTable(id="models", flex={"model id / adapter": 1}, min_width=12,
                            cursor_type="row", zebra_stripes=True)
        yield self.footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#versions", WideTable).add_named_columns(
            "version", "state", "rules", "created", "from"
        )
        self.query_one("#models", WideTable).add_named_columns(
            "model", "promoted", "model id / adapter", "score", "gate"
        )
        self._fold_service()
        self.action_reload()

    # -- the "In service" panel: folded on short terminals ----------------------------------
    def on_resize(self, event: events.Resize) -> None:
        self._fold_service()
        if self.shown_diff is not None:  # the diff's lines are wrapped at the old width
            self.call_after_refresh(self._show_diff, *self.shown_diff)

    def watch_service_open(self) -> None:
        if self.is_mounted:
            self._fold_service()

    def _service_folded(self) -> bool:
        chosen = self.service_open
        return not chosen if chosen is not None else self.size.height < self.TALL

    def _fold_service(self) -> None:
        folded = self._service_folded()
        panel = self.query_one("#service", Vertical)
        if panel.has_class("-folded") != folded:
            panel.set_class(folded, "-folded")
            self._show_service(self.service)

    def action_toggle_service(self) -> None:
        """``i``: unfold the "In service" panel (its models table too), or fold it."""
        self.service_open = self._service_folded()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load_versions()

    @in_background("hooks", "reading hook versions")
    def _load_versions(self) -> None:
        with self._service_lock:
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
        folded = self._service_folded()
        title.update(f"In service for {service.function}"
                     + (" — i unfolds it, with its models" if folded else " — i folds it"))
        text = Text()
        shown = service.lines()[:2] if folded else service.lines()
        for label, value in shown:
            text.append(f"{label}: ", style="bold")
            text.append(f"{value}\n")
        for problem in [] if folded else service.problems:
            text.append(f"{problem}\n", style="yellow")
        text.rstrip()  # the panel's last line is text, not an empty line
        lines.update(text)
        for row in reversed(service.models):
            gate = {
                "passed": Text("passed", style="green"),
                "refused": Text("refused", style="red"),
                "not enough evidence": Text("not enough evidence", style="yellow"),
            }.get(row.gate, "")
            table.add_row(
                row.version_id,
                Text("● promoted", style="bold green") if row.promoted
                else Text(f"◐ {row.canary}", style="bold yellow") if row.canary_running else "",
                cell(row.model),
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
            state.no_wrap, state.overflow = True, "ellipsis"
            table.add_row(
                row.version_id,
                state,
                row.rules,
                row.created[5:16],  # month to minute: the table fits at 80 columns (o: the year)
                cell(row.origin),
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
        self.shown_diff = (version_id, diff)
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


    def _selected_model(self) -> ModelRow | None:
        key = cursor_key(self.query_one("#models", DataTable))
        if self.service is None or key is None:
            return None
        return next((m for m in self.service.models if m.version_id == key), None)

    @on(DataTable.RowHighlighted, "#models")
    def _model_highlighted(self) -> None:
        self.refresh_bindings()

    def action_rollback_model(self) -> None:
        # Always enabled: with nothing to promote, the key says why rather than nothing.
        model = self._selected_model()
        service = self.service
        if service is None:
            self.notify("Choose a function on the Dataset screen (F2): models are per function.",
                        severity="warning")
            return
        if not service.models:
            self.notify(f"No trained model of {service.function} yet: a training run (F5) "
                        "registers one.", title="No model", severity="warning")
            return
        if model is None or model.promoted:
            self.notify(f"{model.version_id if model else 'That model'} is the model in service "
                        "already: select another one in the models table (i shows it) to "
                        "promote it.", title="Nothing to change", severity="warning")
            return
        current = service.promoted.version_id if service.promoted else "none"
        kept_out = model.gate in ("refused", "not enough evidence")
        refused = f"\nThe evaluation gate refused it: {model.reason}" if kept_out else ""
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
        with self._service_lock:
            entry = self.workspace.models.rollback(function, version_id)
            service = self.workspace.service(function)
            self.app.call_from_thread(self._show_service, service)
        self.app.call_from_thread(
            self.notify,
            f"{entry.version_id} ({entry.model}) is now in service.",
            title="Model changed",
        )

    def action_stop_canary(self) -> None:
        """``x``: stop the running canary (asks first): the promoted model serves every call."""
        service = self.service
        if service is None:
            self.notify("Choose a function on the Dataset screen (F2): canaries are per function.",
                        severity="warning")
            return
        canary = service.canary
        if canary is None:
            last = f"\nThe last one: {service.last_canary}" if service.last_canary else ""
            self.notify(f"No canary of {service.function} is running.{last}", title="No canary",
                        severity="warning")
            return
        self.app.push_screen(
            ConfirmScreen(
                "Stop the canary?",
                f"Stop {canary.version_id} ({canary.model}), which serves "
                f"{100 * canary.share:g}% of {service.function}'s calls?\n"
                f"{canary.incumbent_version or 'The promoted model'} then serves every call; "
                f"{canary.version_id} is recorded as stopped by a person.\nLast figures: "
                f"{canary.arms_text()}",
                "Stop canary",
            ),
            self._when_confirmed(self._stop_canary, service.function),
        )

    @in_background("hooks-rollback", "stopping the canary")
    def _stop_canary(self, function: str) -> None:
        with self._service_lock:
            record = self.workspace.models.stop_canary(function)
            service = self.workspace.service(function)
            self.app.call_from_thread(self._show_service, service)
        self.app.call_from_thread(
            self.notify,
            f"The canary of {function} is stopped: {record.reason}.",
            title="Canary stopped",
        )

    def action_rollback(self) -> None:
        row = self._selected()
        if row is None:
            self.notify("No hook version to go back to: generate one on the rules screen "
                        "(F4, then g).", severity="warning")
            return
        if row.active:
            self.notify(f"{row.version_id} is the live hook already: select another version.",
                        severity="warning")
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
        with self._service_lock:
            self.workspace.hooks.rollback(function, version_id)
            versions = self._versions()
            self.app.call_from_thread(self._rolled_back, version_id, versions)

    def _rolled_back(self, version_id: str, versions: list[HookVersionRow]) -> None:
        self._show_versions(versions)
        self.notify(f"Version {version_id} is now the active hook.", title="Rolled back")

    # -- rows in full ---------------------------------------------------------------------
    def row_detail(self, table: DataTable) -> DetailScreen | None:
        key = cursor_key(table)
        if table.id == "models":
            model = self._selected_model()
            return None if model is None else _model_detail(model)
        row = next((v for v in self.versions if v.version_id == key), None)
        if row is None:
            return None
        sections: list[Section] = [
            ("version", f"{row.version_id}: {row.state or 'saved'}"
                        + (" (the live hook)" if row.active else "")),
            ("made", f"{row.created} by {row.origin or '(origin not recorded)'}"),
            ("rules", str(row.rules)),
        ]
        for heading, value in (("note", row.note), ("hook gate", row.gate_reason),
                               ("problem", row.problem or "")):
            if value:
                sections.append((heading, value))
        sections.append(("checksum (sha256)", row.sha256 + ("" if row.checksum_ok
                                                             else " — DOES NOT MATCH")))
        if self.shown_diff is not None and self.shown_diff[0] == row.version_id:
            diff = self.shown_diff[1]
            sections.append(("what making it live changes, rule by rule, with the pairs",
                             Text(diff) if isinstance(diff, str)
                             else rule_diff_text(diff, pairs=True)))
        return DetailScreen(f"Hook version {row.version_id}", sections)


def _model_detail(model: ModelRow) -> DetailScreen:
    sections: list[Section] = [
        ("model", f"{model.version_id}" + (" (in service)" if model.promoted else "")),
        ("model id / adapter", model.model),
        ("provider", model.provider),
        ("training run", model.run_id or "(not recorded)"),
        ("score", model.score or "(not evaluated)"),
        ("evaluation gate", f"{model.gate or 'not judged'}"
                            + (f": {model.reason}" if model.reason else "")),
    ]
    sections += [(heading, value) for heading, value in (("paired gain", model.gain),
                                                         ("per slice", model.slices),
                                                         ("through the hook", model.hook),
                                                         ("deployment", model.serving),
                                                         ("canary", model.canary)) if value]
    return DetailScreen(f"Model {model.version_id}", sections)

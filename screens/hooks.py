"""Hook versions: table of versions, coloured diff against the active one, rollback with confirmation (FR-7.5)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Label, RichLog

from screens.base import ModeScreen
from screens.confirm import ConfirmScreen
from tui.workspace import HookVersionRow


def coloured_diff(diff: str) -> Text:
    """A unified diff with added lines green, removed red and hunk headers cyan."""
    text = Text()
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            continue  # file names carry timestamps; the title names the versions
        if line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        else:
            style = ""
        text.append(line + "\n", style=style)
    return text


class HooksScreen(ModeScreen):
    """Which hook is live, what each version changes, and going back to one at once."""

    MODE_NAME = "Hooks"
    BINDINGS = [
        Binding("b", "rollback", "Roll back", id="hooks.rollback"),
        Binding("r", "reload", "Reload", id="hooks.reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.versions: list[HookVersionRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="hooks-body"):
            with Vertical(id="hooks-left", classes="panel"):
                yield Label("Hook versions", classes="panel-title")
                yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
                yield Label("", id="hooks-dir")
            with Vertical(id="hooks-right", classes="panel"):
                yield Label("Diff against the active version", classes="panel-title", id="diff-title")
                yield RichLog(id="diff", wrap=True, highlight=False, markup=False, min_width=20)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#versions", DataTable).add_columns("version", "created", "rules", "active", "checksum")
        self.query_one("#hooks-dir", Label).update(f"hooks directory: {self.workspace.config.hooks.dir}")
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self._load_versions()

    @work(thread=True, exclusive=True, exit_on_error=False, group="hooks", description="reading hook versions")
    def _load_versions(self) -> None:
        versions = self.workspace.hook_versions()
        self.app.call_from_thread(self._show_versions, versions)

    def _show_versions(self, versions: list[HookVersionRow]) -> None:
        self.versions = versions
        table = self.query_one("#versions", DataTable)
        table.clear()
        for row in versions:
            table.add_row(
                row.version_id, row.created, row.rules,
                Text("● active", style="bold green") if row.active else "",
                Text("ok", style="green") if row.checksum_ok else Text("DAMAGED", style="bold red"),
                key=row.version_id,
            )
        if not versions:
            log = self.query_one("#diff", RichLog)
            log.clear()
            log.write(Text("No hook versions yet: generate one on the rules screen (F4, then g).", style="dim"))
        self.refresh_bindings()

    def _selected(self) -> HookVersionRow | None:
        table = self.query_one("#versions", DataTable)
        if table.row_count == 0:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return next((v for v in self.versions if v.version_id == key.value), None)

    @on(DataTable.RowHighlighted, "#versions")
    def _row_highlighted(self) -> None:
        row = self._selected()
        if row is not None:
            self._load_diff(row.version_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="hooks-diff", description="diffing hook versions")
    def _load_diff(self, version_id: str) -> None:
        diff = self.workspace.hook_diff(version_id)
        self.app.call_from_thread(self._show_diff, version_id, diff)

    def _show_diff(self, version_id: str, diff: str) -> None:
        active = next((v.version_id for v in self.versions if v.active), None)
        self.query_one("#diff-title", Label).update(
            f"Rolling back from {active} to {version_id} changes (− {active}, + {version_id}):"
            if active and active != version_id else f"{version_id} is the active hook"
        )
        log = self.query_one("#diff", RichLog)
        log.clear()
        log.write(coloured_diff(diff) if diff.strip() else Text("(no difference: this is the active hook)", style="dim"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rollback":
            row = self._selected() if self.is_mounted else None
            return None if row is None or row.active else True
        return True

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
            lambda ok: self._rollback(row.version_id) if ok else None,
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="hooks-rollback", description="rollback")
    def _rollback(self, version_id: str) -> None:
        self.workspace.rollback(version_id)
        versions = self.workspace.hook_versions()
        self.app.call_from_thread(self._rolled_back, version_id, versions)

    def _rolled_back(self, version_id: str, versions: list[HookVersionRow]) -> None:
        self._show_versions(versions)
        self.notify(f"Version {version_id} is now the active hook.", title="Rolled back")

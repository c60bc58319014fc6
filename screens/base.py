"""What every mode screen shares: header and footer, the app's workspace, palette commands from
bindings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from textual import on
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

if TYPE_CHECKING:
    from tui.app import VectorTrainerApp
    from tui.workspace import Workspace


class ModeScreen(Screen):
    """A top-level screen of one mode; its bindings also become command-palette commands."""

    MODE_NAME = ""
    PALETTE_HELP: dict[str, str] = {}

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

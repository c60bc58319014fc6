"""The VectorTrainer Textual app: modes for dataset / feedback / rules / training / hooks.

``make_app(config)`` builds the app (the CLI and the tests both use it);
``run_app(config)`` is what ``vectortrainer`` without a subcommand calls, with the
config the CLI built from the file and its flags. The
first screen paints at once; the VectorWave store opens in a worker thread and
its state is shown in the header's subtitle and on the dataset screen.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

from tui.help import HelpScreen
from tui.keys import check_keymap
from tui.terminal_guard import draw_nowhere, stderr_to_file, terminal_is_gone
from tui.workers import in_background
from tui.workspace import SelectionView, Workspace
from vectortrainer.config import Config
from vectortrainer.errors import describe
from vectortrainer.workspace.types import FunctionSummary, LogReader

log = logging.getLogger("vectortrainer.tui")

# Every module that declares bindings (the help modal is the app's own: tui.help).
SCREEN_MODULES = tuple(
    f"screens.{name}"
    for name in ("budget", "confirm", "dataset", "detail", "feedback", "hooks", "rules", "training")
) + ("tui.help",)
# How often the app checks that its terminal is still there, and the exit status when it is not
# (128 + SIGHUP, as a shell reports a process a hangup ended).
TERMINAL_CHECK_SECONDS = 1.0
TERMINAL_CLOSED = 129
MODE_KEYS = (
    ("f2", "dataset", "Data"),
    ("f3", "feedback", "Feedback"),
    ("f4", "rules", "Rules"),
    ("f5", "training", "Train"),
    ("f6", "hooks", "Hooks"),
)


def _screen(module_name: str, class_name: str) -> Screen:
    """A mode's screen, its module imported the first time the mode is opened."""
    screen: Screen = getattr(importlib.import_module(module_name), class_name)()
    return screen


class VectorTrainerApp(App[int]):
    """Golden data, rules, hooks and budgeted fine-tuning over a VectorWave store."""

    TITLE = "VectorTrainer"
    CSS_PATH = "app.tcss"
    MODES = {
        "dataset": lambda: _screen("screens.dataset", "DatasetScreen"),
        "feedback": lambda: _screen("screens.feedback", "FeedbackScreen"),
        "rules": lambda: _screen("screens.rules", "RulesScreen"),
        "training": lambda: _screen("screens.training", "TrainingScreen"),
        "hooks": lambda: _screen("screens.hooks", "HooksScreen"),
    }
    DEFAULT_MODE = "dataset"
    # Screen classes the stylesheet narrows and shortens panels by (at 80x24 every screen fits).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    BINDINGS = [
        Binding("f1", "help", "Help", id="app.help", key_display="F1", priority=True),
        Binding("question_mark", "help", "Help", id="app.help_question", key_display="?"),
        *[
            Binding(
                key,
                f"switch_mode('{mode}')",
                label,
                id=f"app.mode.{mode}",
                key_display=key.upper(),
                priority=True,
            )
            for key, mode, label in MODE_KEYS
        ],
        Binding(
            "f9",
            "toggle_theme",
            "Theme",
            id="app.theme",
            key_display="F9",
            show=False,
            priority=True,
        ),
        Binding("f10", "quit", "Quit", id="app.quit", key_display="F10", show=False, priority=True),
    ]

    store_state: reactive[str] = reactive("unknown")
    functions: reactive[tuple[FunctionSummary, ...]] = reactive(tuple)
    selection: reactive[SelectionView | None] = reactive(None)
    # Shown after the mode name in the header ("Dataset · store 'store' · 2 functions").
    status_text: reactive[str] = reactive("")

    def __init__(
        self,
        workspace: Workspace,
        *,
        load_store: bool = True,
        keymap: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self._load_store_on_mount = load_store
        self._keymap = keymap or {}
        self.store_error: str = ""
        self.current_function: str | None = workspace.config.selection.function
        # The last export and the function it holds (None: not known, e.g. set by a test);
        # the training screen uses it only for that function.
        self.exported_path: Path | None = None
        self.exported_function: str | None = None

    # -- start-up -----------------------------------------------------------------
    def on_mount(self) -> None:
        if self._keymap:
            self.set_keymap(self._keymap)
        if self._load_store_on_mount:
            self.refresh_store()
        elif self.workspace.source is not None:
            self.store_state = "ready"
        terminal = sys.__stdin__
        if not self.is_headless and terminal is not None and os.isatty(terminal.fileno()):
            # Textual draws on sys.__stderr__ (terminal_guard.py)
            self.watch_terminal(terminal.fileno(), sys.__stderr__)

    def watch_terminal(self, fd: int, drawn_on: IO[str] | None) -> None:
        """Quit within a second of the terminal on ``fd`` being hung up (terminal_guard.py), the
        stream Textual draws on, ``drawn_on``, pointed at the null device first."""
        def exit_if_gone() -> None:
            if terminal_is_gone(fd):
                log.warning("the terminal was hung up; quitting")
                if drawn_on is not None:
                    draw_nowhere(drawn_on)
                self.exit(TERMINAL_CLOSED)

        self.set_interval(TERMINAL_CHECK_SECONDS, exit_if_gone, name="terminal watch")

    def refresh_store(self) -> None:
        """(Re)open the store in the background; the header says what is happening."""
        if not self.workspace.store_exists():
            self.store_state = "absent"
            return
        self.store_state = "loading"
        self._load_store()

    @in_background("store", "opening the store")
    def _load_store(self) -> None:
        functions = self.workspace.list_functions()
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._store_loaded, functions)

    def _store_loaded(self, functions: list[FunctionSummary]) -> None:
        self.functions = tuple(functions)
        self.store_state = "ready"

    def watch_store_state(self, state: str) -> None:
        count = len(self.functions)
        self.status_text = {
            "unknown": "",
            "absent": "no store yet",
            "loading": "opening the store…",
            "seeding": "seeding the demo store…",
            "ready": (
                f"store '{self.workspace.store_path.name}' · "
                f"{count} function{'s' if count != 1 else ''}"
            ),
            "error": "the store failed to open",
        }.get(state, state)

    def watch_functions(self) -> None:
        if self.store_state == "ready":
            self.watch_store_state("ready")

    # -- errors in one place --------------------------------------------------------
    @on(Worker.StateChanged)
    def _app_worker_changed(self, event: Worker.StateChanged) -> None:
        self.report_worker_failure(event)

    def report_worker_failure(self, event: Worker.StateChanged) -> None:
        """The one place worker failures are handled (screens forward theirs: the message does not
        bubble)."""
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if error is None:
            return
        log.error(
            "worker %s failed:\n%s", event.worker.name, "".join(traceback.format_exception(error))
        )
        if event.worker.group == "store":
            self.store_state = "error"
            self.store_error = describe(error)
        what = event.worker.description or event.worker.name
        self.notify(
            describe(error), title=f"{what} failed", severity="error", timeout=10, markup=False
        )

    # -- actions --------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: the current screen's own commands first, then the app's."""
        palette = getattr(screen, "palette_commands", None)
        if palette is not None:
            yield from palette()
        for key, mode, label in MODE_KEYS:
            yield SystemCommand(
                f"Go to {label}",
                f"Switch to the {label.lower()} screen ({key.upper()})",
                lambda mode=mode: self.switch_mode(mode),
            )
        yield SystemCommand("Help", "Keys and the whole loop, step by step (F1)", self.action_help)
        yield SystemCommand(
            "Toggle light/dark theme",
            "Switch between the light and dark theme (F9)",
            self.action_toggle_theme,
        )
        yield SystemCommand("Quit", "Leave VectorTrainer (F10)", self.exit)


def make_app(
    config: Config,
    *,
    source: LogReader | None = None,
    load_store: bool = True,
    keymap: dict[str, str] | None = None,
) -> VectorTrainerApp:
    """The app over ``config``; ``source`` injects a ready log source (tests, embedding).

    Its workspace registers the config's secrets for redaction (the start-up step).
    """
    return VectorTrainerApp(
        Workspace(config=config, source=source), load_store=load_store, keymap=keymap
    )


def binding_ids() -> set[str]:
    """Every binding id the app and its screens declare (what ``keys:`` in the config may remap)."""
    bindings: list[object] = list(VectorTrainerApp.BINDINGS)
    for name in SCREEN_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type):
                bindings += getattr(value, "BINDINGS", [])
    return {b.id for b in bindings if isinstance(b, Binding) and b.id}


def run_app(config: Config) -> int:
    """Open the full-screen app over ``config`` (the CLI's default command)."""
    config.register_secrets()  # start-up: nothing the app shows or writes holds them
    # A typo in `keys:` is reported before the screen opens.
    keymap = check_keymap(config.keys, binding_ids(), str(config.source or "config"))
    log_path = Path(config.output_dir) / "tui.log"
    app = make_app(config, keymap=keymap)
    with stderr_to_file(log_path):
        result = app.run()
    # Textual stopped on an unhandled error; its traceback went to the log, not the screen
    if app.return_code:
        print(f"VectorTrainer stopped on an unexpected error; the traceback is in {log_path}. "
              "Please report it with that file.", file=sys.stderr)
        return int(app.return_code)
    return int(result or 0)

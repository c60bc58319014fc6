"""Training screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from screens.base import ModeScreen


class TrainingScreen(ModeScreen):
    MODE_NAME = "Training"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("coming soon")
        yield Footer()

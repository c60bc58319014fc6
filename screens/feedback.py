"""Feedback screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from screens.base import ModeScreen


class FeedbackScreen(ModeScreen):
    MODE_NAME = "Feedback"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("coming soon")
        yield Footer()

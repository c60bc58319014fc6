"""One table row in full: a scrollable modal of titled sections (a log's whole input and output,
a rule with its supporting pairs, a conflict's two rules, a hook version, a model).

Every screen opens its rows here (``o``, or Enter where Enter has no other meaning); what a
kind of row shows is built by the screen that lists it, from the helpers below.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from vectortrainer.workspace.types import DiffSegment, LogRecord

# (heading, body): the body is plain text, or a Rich renderable (a word diff, a rule diff)
Section = tuple[str, RenderableType]


def full_text(value: object) -> str:
    """A value in full: a string as it is (its line breaks kept), anything else as indented
    JSON."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def plain(body: RenderableType, width: int = 100) -> str:
    """A section's body as plain text."""
    if isinstance(body, str):
        return body
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(body)
    return console.export_text().rstrip("\n")


def word_diff(segments: list[DiffSegment]) -> Text:
    """A pair's token diff: removed text in red (struck through), added text in green."""
    text = Text()
    for segment in segments:
        if segment.op == "equal":
            text.append(segment.bad)
            continue
        if segment.bad:
            text.append(segment.bad, style="bold red strike")
        if segment.fixed:
            text.append(segment.fixed, style="bold green")
    return text


def log_sections(record: LogRecord) -> list[Section]:
    """A log's whole input (one section per argument) and output, and what else was logged."""
    inputs = record.inputs
    if isinstance(inputs, dict) and inputs:
        sections: list[Section] = [(f"input · {name}", full_text(value))
                                   for name, value in inputs.items()]
    else:
        sections = [("input", full_text(inputs))]
    sections.append(("output", full_text(record.output)))
    if record.error_message:
        sections.append(("error", record.error_message))
    facts = [("status", record.status), ("uuid", record.uuid), ("logged", record.timestamp),
             ("trace id", record.trace_id or ""),
             ("duration", f"{record.duration_ms:.0f} ms" if record.duration_ms is not None else "")]
    sections.append(("log", "\n".join(f"{label}: {value}" for label, value in facts if value)))
    return sections


class DetailScreen(ModalScreen[None]):
    """One row in full, in titled sections; scrolls with the arrows, escape closes."""

    BINDINGS = [
        Binding("escape,q,o", "close", "Close", id="detail.close"),
        Binding("c", "copy", "Copy all", id="detail.copy"),
    ]

    def __init__(self, title: str, sections: Sequence[Section]) -> None:
        super().__init__()
        self.title_text = title
        self.sections = list(sections)

    def compose(self) -> ComposeResult:
        with Vertical(id="detail-dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", id="detail-title", markup=False)
            with VerticalScroll(id="detail-body"):
                for heading, body in self.sections:
                    yield Label(heading, classes="detail-heading", markup=False)
                    # Text, never markup: logged text may hold square brackets.
                    yield Static(Text(body) if isinstance(body, str) else body,
                                 classes="detail-text", markup=False)
            yield Label("↑/↓ scroll · c copies all · escape closes", classes="detail-hint")

    def on_mount(self) -> None:
        self.query_one("#detail-body", VerticalScroll).focus()

    def plain_text(self) -> str:
        """The whole detail as plain text (what ``c`` copies)."""
        parts = [self.title_text]
        for heading, body in self.sections:
            parts.append(f"{heading}\n{plain(body)}")
        return "\n\n".join(parts)

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.plain_text())
        self.notify("Copied to the clipboard (where the terminal allows it).", title="Copied")

    def action_close(self) -> None:
        self.dismiss(None)

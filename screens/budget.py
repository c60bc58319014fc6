"""Budget confirmation: the estimate (dollars, or minutes for a local run) against its budget;
Approve or Cancel (FR-6)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from tui.widgets import BudgetBar, key_value_table
from tui.workspace import BudgetView


class BudgetScreen(ModalScreen[bool]):
    """Dismisses with True only when approved (never possible over budget)."""

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel", id="budget.cancel"),
        Binding("a", "approve", "Approve", id="budget.approve"),
    ]

    def __init__(self, budget: BudgetView) -> None:
        super().__init__()
        self.budget = budget

    def compose(self) -> ComposeResult:
        view = self.budget
        with Vertical(id="budget-dialog", classes="dialog"):
            yield Label(view.title, classes="dialog-title")
            yield Static(key_value_table(view.rows), id="budget-table")
            yield BudgetBar(view, id="budget-bar")
            if view.warnings:
                yield Static(Text("\n".join(f"⚠ {w}" for w in view.warnings), style="bold yellow"),
                             id="budget-warnings")
            if view.over_budget:
                yield Static(
                    f"[b red]Over budget: cannot be approved.[/]\n{view.advice}", id="budget-advice"
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    "Approve (a)", id="approve", variant="success", disabled=view.over_budget
                )
                yield Button("Cancel (n)", id="cancel", variant="default")

    def on_mount(self) -> None:
        self.query_one("#cancel" if self.budget.over_budget else "#approve", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "approve":
            return None if self.budget.over_budget else True
        return True

    @on(Button.Pressed, "#approve")
    def action_approve(self) -> None:
        if self.budget.over_budget:  # a key press cannot get past the disabled button either
            self.notify("Over budget: this cost cannot be approved.", severity="error")
            return
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)

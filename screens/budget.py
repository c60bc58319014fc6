"""Budget confirmation: the estimated fine-tune cost against the budget; Approve or Cancel (FR-6)."""

from __future__ import annotations

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
            yield Label("Approve the fine-tune cost?", classes="dialog-title")
            yield Static(
                key_value_table(
                    [
                        ("examples", f"{view.examples:,}"),
                        ("tokens per epoch", f"{view.tokens:,}"),
                        ("model", view.model),
                        ("epochs", str(view.epochs)),
                        ("price", f"${view.price_per_million:.2f} per 1M training tokens"),
                        ("billed tokens", f"{view.tokens * view.epochs:,}"),
                        ("estimate", f"${view.estimate_usd:.2f}"),
                        ("budget", "none (guard off)" if view.budget_usd is None else f"${view.budget_usd:.2f}"),
                    ]
                ),
                id="budget-table",
            )
            yield BudgetBar(view.estimate_usd, view.budget_usd, id="budget-bar")
            if view.over_budget:
                yield Static(
                    f"[b red]Over budget: cannot be approved.[/]\n{view.advice or self._default_advice()}",
                    id="budget-advice",
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Approve (a)", id="approve", variant="success", disabled=view.over_budget)
                yield Button("Cancel (n)", id="cancel", variant="default")

    def _default_advice(self) -> str:
        return (
            "To get under it: select fewer examples (a smaller top-k on the dataset screen), "
            "choose a cheaper model or fewer epochs (training.model / training.n_epochs), "
            "or raise budget.max_budget_usd in the config."
        )

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

"""Who approves the cost of a run, and on what grounds: the one approval policy.

A run stops before its upload until its :class:`~vectortrainer.budget.estimates.Estimate`
is approved. A person approves it in the app's budget modal; when nobody is there
(``--batch``, ``loop``, the Python API without a callback) :func:`unattended_approval`
decides:

- a local run pays no vendor: it is approved when it fits ``budget.max_minutes``;
- a vendor run with a budget is approved when the estimate is within it (the guard
  already refused one above it, with nothing uploaded; a resumed run is held to the
  budget of today's config, not the one it was estimated under);
- a vendor run with the budget turned off (``max_budget_usd: null``) is approved only
  when the user said so up front (``--yes``).

Every decision carries the words the run records (``run.json``, the event log).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vectortrainer.budget.estimates import MINUTES, Estimate


@dataclass(frozen=True)
class Approval:
    """A decision on a run's cost, and who or what made it ("within the budget ($5.00)")."""

    approved: bool
    by: str


ApprovalPolicy = Callable[[Estimate], Approval]


def unattended_approval(*, max_budget_usd: float | None, yes: bool = False) -> ApprovalPolicy:
    """The policy when nobody is there to ask (see the module docstring).

    ``max_budget_usd`` is the budget in force (``budget.max_budget_usd``); ``yes`` stands for
    ``--yes``.
    """

    def decide(estimate: Estimate) -> Approval:
        if estimate.kind == MINUTES:
            return Approval(estimate.within_budget, "a local run: held to budget.max_minutes")
        if max_budget_usd is not None:
            within = estimate.estimated_usd <= max_budget_usd
            return Approval(within, f"within the budget (${max_budget_usd:.2f})" if within
                            else f"over the budget (${max_budget_usd:.2f})")
        if yes:
            return Approval(True, "--yes (no budget set)")
        return Approval(False, "no budget set and no --yes")

    return decide

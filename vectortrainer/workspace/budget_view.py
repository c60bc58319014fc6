"""What a budget confirmation shows of an estimate, whichever kind it is (the TUI modal, any other
face).

:func:`budget_view` turns any :class:`~vectortrainer.budget.estimates.Estimate` into
labelled rows, the amount against its limit in one unit, whether it can be
approved, and advice when it cannot. A face only lays these out.
"""

from __future__ import annotations

from dataclasses import dataclass

from vectortrainer.budget.catalog import PROVIDERS
from vectortrainer.budget.estimates import MINUTES, CostEstimate, Estimate, TimeEstimate
from vectortrainer.display import format_usd


@dataclass(frozen=True)
class BudgetView:
    """The figures of one estimate as a confirmation shows them."""

    title: str
    rows: tuple[tuple[str, str], ...]
    amount: float | None  # in ``unit``; None when it could not be measured
    limit: float | None  # None: no guard
    unit: str  # "usd" or "minutes"
    advice: str = ""
    # the provider's schedule: restrictions in force, a cutoff within 30 days
    warnings: tuple[str, ...] = ()

    @property
    def over_budget(self) -> bool:
        return self.amount is not None and self.limit is not None and self.amount > self.limit

    def format_amount(self, value: float | None) -> str:
        """``$1.23`` or ``4.5 min`` (``not measured`` for a missing figure)."""
        if value is None:
            return "not measured"
        return f"{value:.1f} min" if self.unit == MINUTES else format_usd(value)


def budget_view(estimate: Estimate) -> BudgetView:
    """The confirmation's view of ``estimate``, with advice when it is over its limit."""
    if isinstance(estimate, TimeEstimate):
        return _minutes_view(estimate)
    if isinstance(estimate, CostEstimate):
        return _dollars_view(estimate)
    raise TypeError(f"no budget view for {type(estimate).__name__}")


def _dollars_view(estimate: CostEstimate) -> BudgetView:
    tokens, epochs, budget = estimate.tokens_per_epoch, estimate.n_epochs, estimate.limit
    provider = estimate.provider
    counted = (
        f"{tokens:,}"
        if estimate.exact_tokens
        else f"{tokens:,} (approximate: {estimate.encoding}, not the model's own tokenizer)"
    )
    evaluation = (
        (
            "evaluation",
            f"{format_usd(estimate.evaluation_usd)} for {estimate.evaluation_requests} "
            "held-out replies (at most)",
        ),
    )
    rows = (
        ("provider", PROVIDERS[provider].title if provider in PROVIDERS else provider),
        ("examples", f"{estimate.n_examples:,}"),
        ("tokens per epoch", counted),
        ("model", estimate.model),
        ("epochs", str(epochs)),
        ("price", f"${estimate.price_per_million:.2f} per 1M training tokens"),
        ("billed tokens", f"{estimate.billed_tokens:,}"),
        *(evaluation if estimate.evaluation_usd else ()),
        *(("gate deployment", f"{h['what']}: at most {h['hours']} h at ${h['hourly_usd']}/h, "
                              f"{format_usd(float(h['estimated_usd']))} (included)")
          for h in estimate.hosting),
        ("estimate", format_usd(estimate.estimated_usd)),
        ("budget", "none (guard off)" if budget is None else format_usd(budget)),
    )
    advice = ""
    if budget is not None and estimate.estimated_usd > budget:
        fitting = (
            int(estimate.n_examples * budget / estimate.estimated_usd)
            if estimate.estimated_usd
            else 0
        )
        most = (
            f"at most about {fitting} example{'s' if fitting != 1 else ''}"
            if fitting >= 1
            else "far fewer examples"
        )
        advice = (
            f"To get under {format_usd(budget)}: select {most} (a smaller "
            "top-k), use fewer epochs or a cheaper model (training.n_epochs "
            "/ training.model), or raise budget.max_budget_usd in the config."
        )
    return BudgetView(
        "Approve the fine-tune cost?",
        rows,
        estimate.estimated_usd,
        budget,
        "usd",
        advice,
        tuple(estimate.warnings),
    )


def _minutes_view(estimate: TimeEstimate) -> BudgetView:
    minutes, limit, speed = estimate.amount, estimate.limit, estimate.tokens_per_second
    rows = (
        ("provider", "local (your machine)"),
        ("examples", f"{estimate.n_examples:,}"),
        ("model", estimate.model),
        ("method", estimate.method),
        ("tokens", f"{estimate.total_tokens:,} ({estimate.n_epochs_trained:g} epochs)"),
        ("speed", f"{speed:,.0f} tokens/s on {estimate.device}" if speed else "not measured"),
        ("estimate", "not measured" if minutes is None else f"{minutes:.1f} min"),
        ("budget", "none (guard off)" if limit is None else f"{limit:g} min"),
        ("cost", "$0 (a local run pays no vendor)"),
    )
    advice = ""
    if minutes is not None and limit is not None and minutes > limit:
        advice = (
            f"To get under {limit:g} min: set training.max_steps, select fewer examples (a "
            "smaller top-k), use a smaller model, or raise budget.max_minutes in the config."
        )
    return BudgetView("Approve the local training time?", rows, minutes, limit, MINUTES, advice)

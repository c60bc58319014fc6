"""The budget guards: nothing is uploaded or trained past a budget (FR-6.3, FR-6.5).

:func:`check_budget` counts a training file's tokens, prices them and raises
:class:`~vectortrainer.errors.BudgetExceededError` above ``max_budget_usd``;
:func:`check_time_budget` does the same for a local run's minutes against
``budget.max_minutes``. A limit of ``None`` turns a guard off (the estimate is
still made and returned).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path

from vectortrainer.budget.estimates import CostEstimate, Epochs, TimeEstimate, resolve_epochs
from vectortrainer.budget.pricing import resolve_model
from vectortrainer.budget.tokens import count_tokens_in_jsonl
from vectortrainer.display import format_usd
from vectortrainer.errors import BudgetExceededError, TimeBudgetExceededError


def check_budget(
    path: str | Path,
    model: str,
    max_budget_usd: float | None,
    n_epochs: Epochs = "auto",
    *,
    validation_path: str | Path | None = None,
    prices: Mapping[str, float] | None = None,
    today: _dt.date | None = None,
) -> CostEstimate:
    """Estimate the cost of training on ``path``; raise ``BudgetExceededError`` if over budget.

    ``max_budget_usd=None`` turns the guard off (the estimate is still returned).
    """
    info = resolve_model(model, prices, today=today)
    counted = count_tokens_in_jsonl(path, model, prices=prices, today=today)
    epochs = resolve_epochs(n_epochs, counted.n_examples)
    usd = info.price_per_million / 1_000_000 * counted.billed_tokens_per_epoch * epochs
    validation = (
        count_tokens_in_jsonl(validation_path, model, prices=prices, today=today) if validation_path else None
    )
    estimate = CostEstimate(
        model=model,
        base_model=info.base,
        encoding=info.encoding,
        n_examples=counted.n_examples,
        tokens_per_epoch=counted.billed_tokens_per_epoch,
        n_epochs=epochs,
        price_per_million=info.price_per_million,
        estimated_usd=usd,
        budget_usd=max_budget_usd,
        within_budget=max_budget_usd is None or usd <= max_budget_usd,
        total_tokens=counted.total_tokens,
        max_tokens_per_example=counted.max_tokens_per_example,
        too_long=counted.too_long,
        validation_examples=validation.n_examples if validation else 0,
        validation_tokens=validation.total_tokens if validation else 0,
    )
    if max_budget_usd is not None and not estimate.within_budget:
        raise BudgetExceededError(
            f"estimated training cost {format_usd(estimate.estimated_usd)} exceeds the budget "
            f"{format_usd(max_budget_usd)} ({estimate.billed_tokens:,} tokens = {estimate.tokens_per_epoch:,} x "
            f"{estimate.n_epochs} epochs on {model} at ${estimate.price_per_million:.2f}/1M); nothing was uploaded. "
            f"Raise --max-budget / budget.max_budget_usd, pick fewer examples or a cheaper model",
            cost=estimate, budget=float(max_budget_usd),
        )
    return estimate


def check_time_budget(estimate: TimeEstimate, max_minutes: float | None) -> None:
    """Raise ``TimeBudgetExceededError`` when the estimate is over ``max_minutes`` (``None``: no guard)."""
    if max_minutes is None or estimate.estimated_minutes is None:
        return
    if estimate.estimated_minutes > max_minutes:
        raise TimeBudgetExceededError(
            f"estimated local training time {estimate.estimated_minutes:.1f} min exceeds the budget "
            f"{max_minutes:g} min ({estimate.total_tokens:,} tokens = {estimate.tokens_per_epoch:,} x "
            f"{estimate.n_epochs_trained:g} epochs at {estimate.tokens_per_second or 0:,.0f} tokens/s on "
            f"{estimate.device}); nothing was trained. Raise budget.max_minutes, set training.max_steps, "
            "pick fewer examples or a smaller model",
            estimate=estimate, max_minutes=max_minutes,
        )

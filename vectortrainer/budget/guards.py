"""The budget guards: nothing is uploaded or trained past a budget (FR-6.3, FR-6.5).

:func:`check_budget` counts a training file's tokens, prices them and raises
:class:`~vectortrainer.errors.BudgetExceededError` above ``max_budget_usd``;
:func:`check_time_budget` does the same for a local run's minutes against
``budget.max_minutes``. A limit of ``None`` turns a guard off (the estimate is
still made and returned). :func:`hold_to_its_budget` is the one guard a run's
estimate passes, whatever its unit: dollars (with the evaluation gate's replies)
or minutes.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from vectortrainer.budget.catalog import provider_facts
from vectortrainer.budget.estimates import (
    CostEstimate,
    Epochs,
    Estimate,
    TimeEstimate,
    resolve_epochs,
)
from vectortrainer.budget.inference import InferenceEstimate, with_evaluation
from vectortrainer.budget.pricing import resolve_model
from vectortrainer.budget.schedule import ScheduleOverrides, current_date, schedule_warnings
from vectortrainer.budget.serving import HostingEstimate
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
    provider: str = "openai",
    schedule: ScheduleOverrides | None = None,
) -> CostEstimate:
    """Estimate the cost of training on ``path`` at ``provider``; raise ``BudgetExceededError`` if
    over budget.

    ``max_budget_usd=None`` turns the guard off (the estimate is still returned). A provider
    past its cutoff or a model past its shutdown is refused first (``FineTuningClosedError``);
    the estimate carries the schedule's warnings (restrictions, a cutoff within 30 days).
    """
    today = today or current_date()
    info = resolve_model(model, prices, today=today, provider=provider, schedule=schedule)
    limits = provider_facts(provider).limits
    counted = count_tokens_in_jsonl(
        path, model, prices=prices, today=today, provider=provider, schedule=schedule
    )
    epochs = resolve_epochs(n_epochs, counted.n_examples, limits.default_epochs)
    validation = (
        count_tokens_in_jsonl(validation_path, model, prices=prices, today=today, provider=provider,
                              schedule=schedule) if validation_path else None
    )
    billed_validation = (
        validation.billed_tokens_per_epoch if validation and limits.bills_validation else 0
    )
    usd = (
        info.price_per_million
        / 1_000_000
        * (counted.billed_tokens_per_epoch * epochs + billed_validation)
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
        provider=provider,
        exact_tokens=info.exact_tokens,
        price_source=info.price_source,
        warnings=schedule_warnings(provider, model, today=today, overrides=schedule),
        billed_validation_tokens=billed_validation,  # one evaluation pass
    )
    hold_to_budget(estimate, max_budget_usd)
    return estimate


def hold_to_budget(estimate: CostEstimate, max_budget_usd: float | None) -> CostEstimate:
    """``estimate`` held against ``max_budget_usd``; raises ``BudgetExceededError`` above it
    (``None``: no guard)."""
    held = estimate.with_budget(max_budget_usd)
    if max_budget_usd is not None and not held.within_budget:
        where = f" ({provider_facts(held.provider).title})"
        raise BudgetExceededError(
            f"estimated training cost {format_usd(held.estimated_usd)} exceeds the "
            f"budget {format_usd(max_budget_usd)} ({held.billed_tokens:,} tokens = "
            f"{held.tokens_per_epoch:,} x {held.n_epochs} epochs on {held.model}{where} "
            f"at ${held.price_per_million:.2f}/1M); nothing was uploaded. Raise "
            "--max-budget / budget.max_budget_usd, pick fewer examples or a cheaper model",
            cost=held,
            budget=float(max_budget_usd),
        )
    return held


def check_time_budget(estimate: TimeEstimate, max_minutes: float | None) -> None:
    """Raise ``TimeBudgetExceededError`` when the estimate is over ``max_minutes`` (``None``: no
    guard)."""
    if max_minutes is None or estimate.estimated_minutes is None:
        return
    if estimate.estimated_minutes > max_minutes:
        raise TimeBudgetExceededError(
            f"estimated local training time {estimate.estimated_minutes:.1f} min "
            f"exceeds the budget {max_minutes:g} min ({estimate.total_tokens:,} "
            f"tokens = {estimate.tokens_per_epoch:,} x {estimate.n_epochs_trained:g} "
            f"epochs at {estimate.tokens_per_second or 0:,.0f} tokens/s on "
            f"{estimate.device}); nothing was trained. Raise budget.max_minutes, "
            "set training.max_steps, pick fewer examples or a smaller model",
            estimate=estimate,
            max_minutes=max_minutes,
        )


@dataclass(frozen=True)
class BudgetCheck:
    """An estimate held to the budget in its unit, and why it was refused (``""``: within it)."""

    estimate: Estimate
    refusal: str = ""


def hold_to_its_budget(
    estimate: Estimate,
    *,
    max_budget_usd: float | None,
    max_minutes: float | None,
    evaluation: Callable[[], Sequence[InferenceEstimate | HostingEstimate]] = tuple,
) -> BudgetCheck:
    """The one guard of a run's estimate, in the estimate's own unit (``None``: that guard is off).

    Dollars are held to ``max_budget_usd`` with the evaluation gate's replies and the hosting of
    its deployments included (``evaluation``, asked only for dollars: a local model answers for
    nothing); minutes are
    held to ``max_minutes``, which the estimate then carries as its limit. Over the budget,
    the estimate that was refused comes back with the reason instead of an error, so the
    caller records what it refused before it stops.
    """
    try:
        if isinstance(estimate, TimeEstimate):
            held_time = replace(estimate, max_minutes=max_minutes)
            check_time_budget(held_time, max_minutes)
            return BudgetCheck(held_time)
        if isinstance(estimate, CostEstimate):
            held = hold_to_budget(estimate, max_budget_usd)
            parts = evaluation()
            replies = [p for p in parts if isinstance(p, InferenceEstimate)]
            hosting = [p for p in parts if isinstance(p, HostingEstimate)]
            return BudgetCheck(with_evaluation(held, replies, max_budget_usd, hosting)
                               if parts else held)
    except BudgetExceededError as exc:
        return BudgetCheck(exc.cost, str(exc))
    except TimeBudgetExceededError as exc:
        return BudgetCheck(exc.estimate, str(exc))
    raise TypeError(f"no budget guard for an estimate of kind {estimate.kind!r}")

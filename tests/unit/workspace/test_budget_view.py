"""One Estimate protocol, one confirmation view: dollars and minutes are confirmed the same way (FR-6).

Before the estimates shared a protocol, the TUI's budget modal read ``price_per_million``
from any estimate, so approving a local run (a minutes estimate) raised AttributeError.
"""

from __future__ import annotations

import pytest

from vectortrainer.budget.estimates import (
    CostEstimate,
    Estimate,
    TimeEstimate,
    estimate_from_dict,
    estimate_local_training,
)
from vectortrainer.workspace.budget_view import budget_view
from vectortrainer.errors import DataFormatError


def _dollars(usd: float, budget: float | None) -> CostEstimate:
    return CostEstimate(model="gpt-4.1-mini-2025-04-14", base_model="gpt-4.1-mini-2025-04-14", encoding="o200k_base",
                        n_examples=40, tokens_per_epoch=20_000, n_epochs=3, price_per_million=5.0,
                        estimated_usd=usd, budget_usd=budget, within_budget=budget is None or usd <= budget)


def _minutes(tokens_per_second: float | None, max_minutes: float | None) -> TimeEstimate:
    return estimate_local_training(model="/models/tiny", method="supervised", n_examples=12, tokens_per_epoch=6_000,
                                   n_epochs=2, batch_size=4, max_steps=None, tokens_per_second=tokens_per_second,
                                   device="cpu (2 threads)", max_minutes=max_minutes)


def test_both_estimates_speak_the_protocol():
    for estimate in (_dollars(0.3, 5.0), _minutes(100.0, 30)):
        assert isinstance(estimate, Estimate)
        assert estimate_from_dict(estimate.to_dict()) == estimate  # estimate.json round-trips


def test_a_minutes_estimate_is_shown_in_minutes_and_costs_no_dollars():
    estimate = _minutes(100.0, 30)  # 12,000 tokens at 100/s: 2 minutes
    view = budget_view(estimate)
    rows = dict(view.rows)
    assert view.unit == "minutes" and view.amount == pytest.approx(2.0) and view.limit == 30
    assert rows["estimate"] == "2.0 min" and rows["budget"] == "30 min" and "$0" in rows["cost"]
    assert not view.over_budget and view.advice == ""
    assert view.format_amount(view.amount) == "2.0 min"


def test_max_steps_sets_the_work_estimated_past_the_epochs_as_well_as_short_of_them():
    # 12 examples in batches of 4: 3 steps an epoch. The trainer runs exactly max_steps (it
    # overrides the epochs), so 48 steps are 16 epochs, not the 2 configured.
    def minutes(max_steps: int | None) -> TimeEstimate:
        return estimate_local_training(model="/models/tiny", method="supervised", n_examples=12,
                                       tokens_per_epoch=6_000, n_epochs=2, batch_size=4,
                                       max_steps=max_steps, tokens_per_second=100.0)

    assert minutes(48).n_epochs_trained == pytest.approx(16.0)
    assert minutes(48).amount == pytest.approx(16.0)  # 96,000 tokens at 100/s
    assert minutes(3).n_epochs_trained == pytest.approx(1.0)
    assert minutes(None).n_epochs_trained == pytest.approx(2.0)


def test_a_minutes_estimate_over_its_limit_cannot_be_approved_and_says_how_to_fit():
    view = budget_view(_minutes(10.0, 5))  # 20 minutes against 5
    assert view.over_budget
    assert "training.max_steps" in view.advice and "budget.max_minutes" in view.advice


def test_an_unmeasured_time_is_never_over_budget_but_says_so():
    view = budget_view(_minutes(None, 5))
    assert view.amount is None and not view.over_budget
    assert dict(view.rows)["estimate"] == "not measured"


def test_a_dollar_estimate_shows_price_tokens_and_advice_over_budget():
    within = budget_view(_dollars(0.3, 5.0))
    assert within.unit == "usd" and not within.over_budget
    assert dict(within.rows)["billed tokens"] == "60,000" and dict(within.rows)["budget"] == "$5.00"
    over = budget_view(_dollars(3.0, 1.0))
    assert over.over_budget and "at most about 13 examples" in over.advice
    assert dict(budget_view(_dollars(0.3, None)).rows)["budget"] == "none (guard off)"


def test_an_older_runs_local_estimate_still_reads_and_an_unknown_kind_is_refused():
    data = {**_minutes(100.0, 30).to_dict(), "kind": "local"}
    assert estimate_from_dict(data).kind == "minutes"
    with pytest.raises(DataFormatError, match="unknown kind 'euros'"):
        estimate_from_dict({"kind": "euros"})

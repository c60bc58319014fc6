"""The one guard of a run's estimate: dollars (with the gate's replies) or minutes, each against its own budget."""

from __future__ import annotations

import pytest

from vectortrainer.budget.estimates import CostEstimate, TimeEstimate
from vectortrainer.budget.guards import hold_to_its_budget
from vectortrainer.budget.inference import InferenceEstimate
from vectortrainer.budget.notes import estimate_notes


def dollars(usd: float) -> CostEstimate:
    return CostEstimate(model="gpt-4o-mini-2024-07-18", base_model="gpt-4o-mini-2024-07-18", encoding="o200k_base",
                        n_examples=10, tokens_per_epoch=1000, n_epochs=3, price_per_million=3.0, estimated_usd=usd,
                        budget_usd=None, within_budget=True)


def minutes(estimated: float | None) -> TimeEstimate:
    return TimeEstimate(model="/models/tiny", method="supervised", n_examples=10, tokens_per_epoch=1000, n_epochs=3,
                        n_epochs_trained=3.0, total_tokens=3000, tokens_per_second=50.0, estimated_minutes=estimated,
                        device="cpu")


def replies(usd: float) -> list[InferenceEstimate]:
    return [InferenceEstimate("gpt-4o-mini-2024-07-18", requests=4, prompt_tokens=400, completion_tokens=1024,
                              estimated_usd=usd)]


def never() -> list[InferenceEstimate]:
    raise AssertionError("the gate's replies were priced for an estimate that does not pay them")


def test_dollars_within_the_budget_pass_with_the_gates_replies_included():
    check = hold_to_its_budget(dollars(1.0), max_budget_usd=5.0, max_minutes=1.0, evaluation=lambda: replies(0.5))
    assert check.refusal == ""
    assert check.estimate.estimated_usd == pytest.approx(1.5) and check.estimate.limit == 5.0
    assert check.estimate.evaluation_requests == 4 and check.estimate.within_budget


def test_dollars_over_the_budget_are_refused_before_the_replies_are_priced():
    check = hold_to_its_budget(dollars(6.0), max_budget_usd=5.0, max_minutes=None, evaluation=never)
    assert "exceeds the budget $5.00" in check.refusal and "nothing was uploaded" in check.refusal
    assert check.estimate.amount == 6.0 and not check.estimate.within_budget


def test_the_gates_replies_can_push_dollars_over_the_budget():
    check = hold_to_its_budget(dollars(4.0), max_budget_usd=5.0, max_minutes=None, evaluation=lambda: replies(2.0))
    assert "evaluation gate" in check.refusal and "4 held-out replies" in check.refusal
    assert check.estimate.estimated_usd == pytest.approx(6.0) and not check.estimate.within_budget


def test_minutes_are_held_to_max_minutes_and_never_priced_in_dollars():
    over = hold_to_its_budget(minutes(12.0), max_budget_usd=0.01, max_minutes=10.0, evaluation=never)
    assert "exceeds the budget 10 min" in over.refusal and "nothing was trained" in over.refusal
    assert over.estimate.limit == 10.0 and not over.estimate.within_budget
    within = hold_to_its_budget(minutes(8.0), max_budget_usd=0.01, max_minutes=10.0, evaluation=never)
    assert within.refusal == "" and within.estimate.limit == 10.0 and within.estimate.within_budget


def test_a_guard_set_to_none_is_off_but_the_estimate_is_still_made():
    assert hold_to_its_budget(dollars(1e6), max_budget_usd=None, max_minutes=None).refusal == ""
    assert hold_to_its_budget(minutes(1e6), max_budget_usd=None, max_minutes=None).refusal == ""
    unmeasured = hold_to_its_budget(minutes(None), max_budget_usd=None, max_minutes=1.0)
    assert unmeasured.refusal == "" and unmeasured.estimate.amount is None


def test_the_notes_speak_the_unit_of_the_estimate():
    held = hold_to_its_budget(dollars(1.0), max_budget_usd=5.0, max_minutes=None).estimate
    notes = estimate_notes(held, where="OpenAI")
    assert notes.lines[0].text == "3,000 billed tokens on gpt-4o-mini-2024-07-18 (OpenAI): $1.0000 (budget $5.00)"
    assert notes.detail == {"estimated_usd": 1.0, "budget_usd": 5.0, "provider": "openai",
                            "note": "$1.0000 (budget $5.00)"}
    local = estimate_notes(hold_to_its_budget(minutes(2.0), max_budget_usd=None, max_minutes=30.0).estimate,
                           where="local")
    assert [line.text for line in local.lines] == ["3,000 tokens (1,000 x 3 epochs) on /models/tiny: ~2.0 min on cpu"]
    assert local.detail == {"estimated_usd": 0.0, "estimated_minutes": 2.0, "max_minutes": 30.0,
                            "note": "~2.0 min on cpu"}

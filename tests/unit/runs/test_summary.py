"""The summary is a typed RunSummary: written as summary.json, read back tolerantly, shown as the same rows."""

from __future__ import annotations

from vectortrainer.runs.summary import CostSummary, GoldenSummary, RunSummary, TrainingSummary


def _summary() -> RunSummary:
    return RunSummary(
        run_id="r1", function="f", status="succeeded",
        golden=GoldenSummary(examples=6, per_strategy={"steady": 4, "anomaly": 2}),
        cost=CostSummary(model="gpt-4.1-mini-2025-04-14", estimated_usd=0.0042, budget_usd=5.0, tokens=1400),
        training=TrainingSummary(status="succeeded", fine_tuned_model="ft:x", final_loss=0.5, trained_tokens=1400,
                                 metrics={"eval_similarity": 0.8, "base_eval_similarity": 0.6}),
    )


def test_summary_json_round_trips_and_ignores_what_it_does_not_know():
    summary = _summary()
    assert RunSummary.from_dict(summary.to_dict()) == summary
    extended = {**summary.to_dict(), "golden": {**summary.to_dict()["golden"], "added_later": 1}, "new": {}}
    assert RunSummary.from_dict(extended) == summary


def test_rows_are_the_figures_every_face_shows():
    rows = dict(_summary().rows())
    assert rows["golden examples"] == "6 (4 steady, 2 anomaly)"
    assert rows["estimated cost"] == "$0.0042 of $5.00 for 1,400 tokens"  # a small amount never reads $0.00
    assert rows["held-out edit similarity"] == "0.800 (base model 0.600)"
    assert rows["final loss"] == "0.5000" and rows["fine-tuned model"] == "ft:x"


def test_a_local_run_shows_minutes_not_dollars():
    local = RunSummary(cost=CostSummary(estimated_usd=0.0, estimated_minutes=2.5, max_minutes=30))
    rows = dict(local.rows())
    assert rows == {"estimated time": "2.5 min of 30 min"}

"""The pipeline's estimate stage: the trainer's estimate, held to the budget in its own unit, before any upload.

A trainer that only estimates stands in for the vendor and for the local trainer; the run trains on a golden
file given to it, so no store is read and no request is made.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pipelines import make_config
from vectortrainer.budget.estimates import CostEstimate, Estimate, TimeEstimate
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.runs.status import RunStatus
from vectortrainer.training.base import BaseTrainer, PreparedData, TrainingEvent, TrainingResult, TrainingStatus


class EstimateOnly(BaseTrainer):
    """Estimates; anything past the estimate (an upload, a job) fails the test."""

    name = "estimate-only"

    def __init__(self, estimate: Estimate) -> None:
        self.fixed = estimate
        self.uploads: list[Path] = []

    def estimate(self, train_path: Path, validation_path: Path | None = None) -> Estimate:
        return self.fixed

    def prepare_data(self, train_path: Path, validation_path: Path | None = None, *,
                     run_id: str | None = None) -> PreparedData:
        self.uploads.append(train_path)
        raise AssertionError("uploaded past the budget")

    def start_training(self, prepared: PreparedData, *, run_id: str) -> str:
        raise AssertionError("a job past the budget")

    def get_status(self, job_id: str) -> TrainingStatus:
        raise AssertionError

    def get_result(self, job_id: str) -> TrainingResult:
        raise AssertionError

    def cancel(self, job_id: str) -> None:
        raise AssertionError

    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        raise AssertionError


def dollars(usd: float) -> CostEstimate:
    return CostEstimate(model="gpt-4o-mini-2024-07-18", base_model="gpt-4o-mini-2024-07-18", encoding="o200k_base",
                        n_examples=3, tokens_per_epoch=1000, n_epochs=3, price_per_million=3.0, estimated_usd=usd,
                        budget_usd=None, within_budget=True)


def minutes(estimated: float) -> TimeEstimate:
    return TimeEstimate(model="/models/tiny", method="supervised", n_examples=3, tokens_per_epoch=1000, n_epochs=3,
                        n_epochs_trained=3.0, total_tokens=3000, tokens_per_second=50.0, estimated_minutes=estimated,
                        device="cpu")


def golden(tmp_path: Path) -> Path:
    path = tmp_path / "golden.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"in {i}"},
                                                     {"role": "assistant", "content": f"out {i}"}]}) + "\n"
                            for i in range(3)), encoding="utf-8")
    return path


def run_with(tmp_path: Path, estimate: Estimate, **budget: float | None):
    config = make_config(tmp_path, tmp_path / "no-store", gate={"enabled": False}, budget=budget)
    trainer = EstimateOnly(estimate)
    outcome = TrainingPipeline(config, trainer=trainer, confirm=lambda e: False).run(golden_path=golden(tmp_path))
    return outcome, trainer, RunDirectory.open(config.output_dir, outcome.run_id)


@pytest.mark.parametrize(("estimate", "budget", "words"), [
    (dollars(6.0), {"max_budget_usd": 5.0, "max_minutes": None}, "exceeds the budget $5.00"),
    (minutes(12.0), {"max_budget_usd": 0.01, "max_minutes": 10.0}, "exceeds the budget 10 min"),
], ids=["dollars", "minutes"])
def test_an_estimate_over_its_budget_stops_the_run_with_nothing_uploaded(tmp_path, estimate, budget, words):
    outcome, trainer, run = run_with(tmp_path, estimate, **budget)
    assert outcome.status == RunStatus.BUDGET_EXCEEDED and words in outcome.message
    assert trainer.uploads == [] and run.state.train_file_id is None
    assert outcome.estimate is not None and outcome.estimate["kind"] == estimate.kind
    assert outcome.estimate["within_budget"] is False  # the refused estimate is what estimate.json keeps
    assert run.state.stage("estimate").status == "failed" and run.state.stage("upload").status == "pending"


@pytest.mark.parametrize(("estimate", "budget"), [
    (dollars(1.0), {"max_budget_usd": 5.0, "max_minutes": 0.001}),  # minutes do not hold dollars back
    (minutes(2.0), {"max_budget_usd": 0.001, "max_minutes": 10.0}),  # nor dollars minutes
], ids=["dollars", "minutes"])
def test_an_estimate_within_its_budget_goes_on_to_the_confirmation(tmp_path, estimate, budget):
    outcome, trainer, run = run_with(tmp_path, estimate, **budget)
    assert outcome.status == RunStatus.NOT_APPROVED and trainer.uploads == []
    assert run.state.stage("estimate").status == "complete" and outcome.estimate["within_budget"] is True
    assert (run.path / "holdout.jsonl").exists() is False  # the gate is off: nothing is held out


class ServingEstimateOnly(EstimateOnly):
    """Says it serves its models, as OpenAI does, so a run with the gate on gets past the preflight."""

    name = "openai"

    @property
    def serves_models(self) -> bool:
        return True


class LogLines(PipelineMonitor):
    def __init__(self) -> None:
        self.lines: list[tuple[str | None, str]] = []

    def on_log(self, message: str, *, level: str = "info", stage: str | None = None) -> None:
        self.lines.append((stage, message))


def test_the_estimate_says_what_the_gate_holds_out_of_the_golden_examples(tmp_path):
    # 3 picked, 2 trained on: the log says where the third went before any cost is shown
    config = make_config(tmp_path, tmp_path / "no-store", gate={"enabled": True, "holdout_every": 4})
    monitor = LogLines()
    TrainingPipeline(config, trainer=ServingEstimateOnly(dollars(1.0)), monitor=monitor,
                     confirm=lambda e: False).run(golden_path=golden(tmp_path))
    assert ("estimate", "the gate holds out 1 of 3 golden examples to judge on; training sees 2 examples") \
        in monitor.lines

"""BaseTrainer says everything the pipeline asks of a trainer: a trainer that leaves out a part is not a trainer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vectortrainer.budget.estimates import Estimate, TimeEstimate
from vectortrainer.training.base import BaseTrainer, PreparedData, TrainingEvent, TrainingResult, TrainingStatus
from vectortrainer.training.factory import HOSTED_TRAINERS, trains_locally
from vectortrainer.training.local.trainer import LocalTrainer


class WithoutEstimate(BaseTrainer):
    name = "no-estimate"

    def prepare_data(self, train_path: Path, validation_path: Path | None = None, *,
                     run_id: str | None = None) -> PreparedData:
        return PreparedData(train_path=train_path, n_examples=0)

    def start_training(self, prepared: PreparedData, *, run_id: str) -> str:
        return "job"

    def get_status(self, job_id: str) -> TrainingStatus:
        return TrainingStatus.SUCCEEDED

    def get_result(self, job_id: str) -> TrainingResult:
        return TrainingResult(job_id, TrainingStatus.SUCCEEDED)

    def cancel(self, job_id: str) -> None:
        return None

    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        return iter(())


class Complete(WithoutEstimate):
    name = "complete"

    def estimate(self, train_path: Path, validation_path: Path | None = None) -> Estimate:
        return TimeEstimate(model="m", method="supervised", n_examples=1, tokens_per_epoch=1, n_epochs=1,
                            n_epochs_trained=1.0, total_tokens=1, tokens_per_second=None, estimated_minutes=None,
                            device="cpu")


def test_a_trainer_without_an_estimate_cannot_be_made():
    with pytest.raises(TypeError, match="estimate"):
        WithoutEstimate()


def test_a_complete_trainer_has_what_the_pipeline_logs_and_checks():
    trainer = Complete()
    assert trainer.estimate(Path("train.jsonl")).kind == "minutes"
    assert trainer.title == "complete" and trainer.has_api_key is True
    assert trainer.serves_models is False and trainer.base_model is None


def test_every_provider_is_local_or_hosted_by_one_answer():
    assert trains_locally(LocalTrainer.name)
    assert not any(trains_locally(name) for name in HOSTED_TRAINERS)

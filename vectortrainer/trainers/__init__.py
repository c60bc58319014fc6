"""Trainers: the vendor-neutral contract and its implementations."""

from vectortrainer.trainers.base import (
    BaseTrainer,
    PreparedData,
    TrainingEvent,
    TrainingResult,
    TrainingStatus,
)

__all__ = ["BaseTrainer", "PreparedData", "TrainingEvent", "TrainingResult", "TrainingStatus"]

"""Trainers: the vendor-neutral contract and its implementations."""

from vectortrainer.trainers.base import (
    BaseTrainer,
    PreparedData,
    TrainingEvent,
    TrainingResult,
    TrainingStatus,
)
from vectortrainer.trainers.openai import (
    MissingAPIKeyError,
    OpenAITrainer,
    TrainerAPIError,
    TrainingNotAvailableError,
)

__all__ = [
    "BaseTrainer",
    "MissingAPIKeyError",
    "OpenAITrainer",
    "PreparedData",
    "TrainerAPIError",
    "TrainingEvent",
    "TrainingNotAvailableError",
    "TrainingResult",
    "TrainingStatus",
]

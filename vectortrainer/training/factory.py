"""The trainer a config names (``training.trainer``): OpenAI, or the local LoRA trainer."""

from __future__ import annotations

from vectortrainer.config import Config
from vectortrainer.training.base import BaseTrainer
from vectortrainer.training.local.trainer import LocalTrainer
from vectortrainer.training.openai import OpenAITrainer


def make_trainer(config: Config) -> BaseTrainer:
    """A trainer from the config (OpenAI reads its API key from the environment at first use)."""
    if config.training.trainer == "local":
        return LocalTrainer.from_config(config)
    return OpenAITrainer.from_config(config)

"""The trainer a config names (``training.provider``): OpenAI, Azure OpenAI, Together, Fireworks or
local; and the one answer to "does this provider train here, held to minutes, or at a vendor, held
to dollars?" (:func:`trains_locally`)."""

from __future__ import annotations

import datetime as _dt

from vectortrainer.config import Config
from vectortrainer.training.azure import AzureOpenAITrainer
from vectortrainer.training.base import BaseTrainer
from vectortrainer.training.fireworks import FireworksTrainer
from vectortrainer.training.local.trainer import LocalTrainer
from vectortrainer.training.openai import OpenAITrainer
from vectortrainer.training.together import TogetherTrainer

HOSTED_TRAINERS = {
    trainer.name: trainer
    for trainer in (OpenAITrainer, AzureOpenAITrainer, TogetherTrainer, FireworksTrainer)
}


def trains_locally(provider: str) -> bool:
    """Whether ``provider`` trains on this machine: its run costs minutes (``budget.max_minutes``)
    and its replies nothing, where a vendor's costs dollars (``budget.max_budget_usd``)."""
    return provider == LocalTrainer.name


def make_trainer(config: Config, *, today: _dt.date | None = None) -> BaseTrainer:
    """A trainer from the config (a hosted one reads its API key from the environment at first use).

    ``today`` is the date the provider's schedule is checked on (default: today).
    """
    if trains_locally(config.training.provider):
        return LocalTrainer.from_config(config)
    return HOSTED_TRAINERS[config.training.provider].from_config(config, today=today)

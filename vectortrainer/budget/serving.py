"""How each provider serves a fine-tuned model, and what that costs: the facts the evaluation gate
plans and prices its deployments with (issue 26).

A fine-tune answers either at once, billed per token like its base (``serverless``), or only
after a deployment is created, billed per hour while it lives (``deployed``): Azure OpenAI
(a deployment of the fine-tuned model), Fireworks (a LoRA loaded onto an on-demand
deployment of its base) and Together for a full fine-tune (a dedicated endpoint; a LoRA of a
listed base answers serverless). The gate creates a deployment only after its hosting, for the
longest it may live, was held to the budget with the training and the replies.

Prices and readiness bounds are recorded here, as the catalogue records training prices:
with their source, never re-read online (no network here). They size an upper bound; the
bound is what the budget holds.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from vectortrainer.budget.catalog import base_model_name

_NOT_REREAD = "recorded by the project (issue 26, 2026-12), not re-read online"
AZURE_HOSTING_SOURCE = (
    "Azure OpenAI pricing: hosting a fine-tuned model deployment is billed per hour "
    "(about $1.70 for the gpt-4o and gpt-4.1 families), " + _NOT_REREAD
)
FIREWORKS_HOSTING_SOURCE = (
    "Fireworks on-demand deployments: billed per GPU-second (an H100 at $5.80 per hour), "
    "no per-token charge on a deployment; LoRA fine-tunes need one, " + _NOT_REREAD
)
TOGETHER_HOSTING_SOURCE = (
    "Together dedicated endpoints: billed per minute (an H100 at $3.36 per hour); LoRA "
    "fine-tunes of serverless bases answer without one, at the base's token price, " + _NOT_REREAD
)

# The longest the gate waits for a deployment to become ready before it gives up (and tears it
# down): what the vendors document as their usual provisioning, with room.
READY_WITHIN_S = {"azure": 30 * 60.0, "fireworks": 30 * 60.0, "together": 30 * 60.0}
# What one reply may take on a deployment (its share of the hosting bound).
REPLY_BOUND_S = 10.0
# The teardown's own request and the provider's stop: billed time after the last reply.
TEARDOWN_BOUND_S = 120.0

# GPUs a deployment of the base needs (fp16 weights and room for a LoRA).
_GPUS = {
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference": 4,
    "accounts/fireworks/models/llama-v3p1-70b-instruct": 4,
}
_HOURLY_PER_GPU = {"fireworks": 5.80, "together": 3.36}
_AZURE_HOURLY = 1.70
# Billing granularity in seconds: Azure bills a started hour, Together a started minute,
# Fireworks by the second.
_BILLED_PER_S = {"azure": 3600.0, "together": 60.0, "fireworks": 1.0}
# USD per 1M tokens (input, output) when a serverless open model answers (a LoRA of it is
# billed as its base).
OPEN_MODEL_TOKEN_PRICES: dict[str, tuple[float, float]] = {
    "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference": (0.18, 0.18),
    "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference": (0.88, 0.88),
    "Qwen/Qwen2.5-7B-Instruct": (0.30, 0.30),
    "accounts/fireworks/models/llama-v3p1-8b-instruct": (0.20, 0.20),
    "accounts/fireworks/models/qwen2p5-7b-instruct": (0.20, 0.20),
    "accounts/fireworks/models/llama-v3p1-70b-instruct": (0.90, 0.90),
}
OPEN_MODEL_TOKEN_SOURCE = "Together and Fireworks serverless inference prices, " + _NOT_REREAD


@dataclass(frozen=True)
class Hosting:
    """How a provider serves a fine-tune of one base model for the gate."""

    provider: str
    deployed: bool  # False: it answers at once (serverless)
    hourly_usd: float = 0.0
    what: str = ""  # "an on-demand deployment on 1 H100", in words
    ready_within_s: float = 0.0
    billed_per_s: float = 1.0
    source: str = ""
    # a deployment bills time, not tokens (Fireworks); False: tokens are billed on top
    tokens_free: bool = False

    def billed_hours(self, seconds: float) -> float:
        """The hours billed for a deployment that lived ``seconds`` (rounded up to the
        provider's granularity)."""
        if not self.deployed:
            return 0.0
        units = max(1, math.ceil(max(0.0, seconds) / self.billed_per_s))
        return units * self.billed_per_s / 3600.0

    def usd_for(self, seconds: float) -> float:
        return round(self.billed_hours(seconds) * self.hourly_usd, 6)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SERVERLESS = Hosting(provider="", deployed=False, what="answers without a deployment")


def hosting_for(provider: str, base_model: str, *, training_type: str = "lora",
                hourly_usd: float | None = None) -> Hosting:
    """How ``provider`` serves a fine-tune of ``base_model`` (trained as ``training_type``);
    ``hourly_usd`` (``budget.hosting_usd_per_hour``) replaces the recorded price of a deployment."""
    hosting = _recorded_hosting(provider, base_model, training_type)
    if hourly_usd is None or not hosting.deployed:
        return hosting
    return replace(hosting, hourly_usd=float(hourly_usd),
                   source="budget.hosting_usd_per_hour in the config")


def _recorded_hosting(provider: str, base_model: str, training_type: str) -> Hosting:
    base = base_model_name(base_model)
    if provider == "azure":
        return Hosting("azure", True, _AZURE_HOURLY,
                       "a Standard deployment of the fine-tuned model", READY_WITHIN_S["azure"],
                       _BILLED_PER_S["azure"], AZURE_HOSTING_SOURCE)
    if provider == "fireworks":
        gpus = _GPUS.get(base, 1)
        return Hosting("fireworks", True, _HOURLY_PER_GPU["fireworks"] * gpus,
                       f"an on-demand deployment of {base} on {gpus} H100, the LoRA loaded onto it",
                       READY_WITHIN_S["fireworks"], _BILLED_PER_S["fireworks"],
                       FIREWORKS_HOSTING_SOURCE, tokens_free=True)
    if provider == "together" and training_type == "full":
        gpus = _GPUS.get(base, 1)
        return Hosting("together", True, _HOURLY_PER_GPU["together"] * gpus,
                       f"a dedicated endpoint on {gpus} H100", READY_WITHIN_S["together"],
                       _BILLED_PER_S["together"], TOGETHER_HOSTING_SOURCE, tokens_free=True)
    return Hosting(provider, False, what="answers without a deployment (billed per token)",
                   source=TOGETHER_HOSTING_SOURCE if provider == "together" else "")


def gpus_for(base_model: str) -> int:
    """The H100s a deployment of ``base_model`` is priced with (what a trainer asks for, so the
    deployment costs what the budget held)."""
    return _GPUS.get(base_model_name(base_model), 1)


def hosting_bound_s(hosting: Hosting, replies: int) -> float:
    """The longest a gate deployment lives: its wait for readiness, every reply at its bound, and
    the teardown."""
    if not hosting.deployed:
        return 0.0
    return hosting.ready_within_s + replies * REPLY_BOUND_S + TEARDOWN_BOUND_S


@dataclass(frozen=True)
class HostingEstimate:
    """A gate deployment's hosting before it is created: an upper bound, held to the budget."""

    model: str
    provider: str
    what: str
    hourly_usd: float
    hours: float
    estimated_usd: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate_hosting(hosting: Hosting, model: str, replies: int) -> HostingEstimate | None:
    """The hosting bound of one gate deployment (None: the model answers serverless)."""
    if not hosting.deployed:
        return None
    seconds = hosting_bound_s(hosting, replies)
    return HostingEstimate(model=model, provider=hosting.provider, what=hosting.what,
                           hourly_usd=hosting.hourly_usd,
                           hours=round(hosting.billed_hours(seconds), 4),
                           estimated_usd=hosting.usd_for(seconds), source=hosting.source)

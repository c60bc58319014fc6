"""A job's settings checked against what the provider accepts, before anything is uploaded (VT-14).

The ranges are the provider's (:class:`~vectortrainer.budget.catalog.JobLimits`, with
their sources); DPO support is per model. Every problem is named in one
:class:`~vectortrainer.errors.HyperparameterError`, with the config key and the range,
so a user fixes them all at once instead of paying for an upload to learn one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from vectortrainer.budget.catalog import DPO, SUPERVISED, ProviderFacts, provider_facts
from vectortrainer.budget.estimates import Epochs
from vectortrainer.errors import HyperparameterError

Auto = Literal["auto"]


@dataclass(frozen=True)
class JobSettings:
    """The job a trainer would ask for (the ``training`` section, as the trainer holds it)."""

    model: str
    method: str = SUPERVISED
    n_epochs: Epochs = "auto"
    batch_size: int | Auto = "auto"
    learning_rate_multiplier: float | Auto = "auto"
    learning_rate: float | Auto = "auto"
    beta: float | Auto = "auto"
    seed: int | None = None
    suffix: str | None = None


def check_job_settings(
    provider: str, settings: JobSettings, *, suffix_reserved: int = 0
) -> list[str]:
    """Raise ``HyperparameterError`` naming every setting ``provider`` would refuse; return notes.

    ``suffix_reserved`` is what the trainer appends to the suffix itself (a run tag).
    The notes say what is accepted but not sent (e.g. a seed where the provider takes none).
    """
    facts = provider_facts(provider)
    limits = facts.limits
    problems: list[str] = []
    notes: list[str] = []
    if settings.method not in (SUPERVISED, DPO):
        problems.append(f"training.method: {settings.method!r} is not supervised or dpo")
    elif settings.method == DPO and not supports_dpo(facts, settings.model):
        dpo_models = [m.name for m in facts.models if DPO in m.methods]
        listed = facts.model(settings.model)
        why = f" ({listed.methods_source})" if listed is not None and listed.methods_source else ""
        problems.append(
            f"training.method: dpo is not offered for {settings.model} on {facts.title}{why}; use "
            f"a DPO model ({', '.join(dpo_models) or 'none listed'}) or training.method: supervised"
        )
    low, high = limits.epochs
    if settings.n_epochs != "auto" and not _int_within(settings.n_epochs, low, high):
        problems.append(
            f"training.n_epochs: {settings.n_epochs!r} is "
            f"outside {facts.title}'s range {low}-{high}"
        )
    if settings.batch_size != "auto":
        if limits.batch_size is not None and not _int_within(
            settings.batch_size, *limits.batch_size
        ):
            problems.append(
                f"training.batch_size: {settings.batch_size!r} is outside {facts.title}'s range "
                f"{limits.batch_size[0]}-{limits.batch_size[1]}"
            )
        elif limits.batch_size is None and not _int_within(settings.batch_size, 1, None):
            problems.append(
                f"training.batch_size: {settings.batch_size!r} must be a positive integer"
            )
    problems += _learning_rate_problems(facts, settings)
    if settings.method == DPO and settings.beta != "auto":
        problems += _beta_problems(facts, settings.beta)
    if settings.seed is not None:
        if limits.seed is None:
            notes.append(f"{facts.title} jobs take no seed: training.seed is not sent")
        elif not _int_within(settings.seed, *limits.seed):
            problems.append(f"training.seed: {settings.seed!r} is outside {facts.title}'s range "
                            f"{limits.seed[0]}..{limits.seed[1]}")
    if settings.suffix is not None and len(settings.suffix) + suffix_reserved > limits.suffix_max:
        room = limits.suffix_max - suffix_reserved
        problems.append(
            f"training.suffix: {len(settings.suffix)} characters; {facts.title} takes "
            f"{limits.suffix_max}"
            + (
                f", {suffix_reserved} of them for the run tag, so at most {room}"
                if suffix_reserved
                else ""
            )
        )
    if problems:
        raise HyperparameterError(
            f"{facts.title} would refuse this job ({limits.source}): " + "; ".join(problems)
            + ". Nothing was uploaded; fix the config and run again"
        )
    return notes


def supports_dpo(facts: ProviderFacts, model: str) -> bool:
    """Whether ``model`` can be trained with DPO on this provider (unlisted OpenAI-family names:
    gpt-4.1 only)."""
    listed = facts.model(model)
    if listed is not None:
        return DPO in listed.methods
    if facts.name in ("openai", "azure"):
        return facts.base_name(model).startswith("gpt-4.1")
    return True  # a model we do not list: the provider decides


def _learning_rate_problems(facts: ProviderFacts, settings: JobSettings) -> list[str]:
    multiplier, absolute = settings.learning_rate_multiplier, settings.learning_rate
    if facts.limits.learning_rate == "multiplier":
        wrong = (
            (
                f"training.learning_rate: {facts.title} takes a multiplier, not "
                "an absolute rate; set training.learning_rate_multiplier instead"
            )
            if absolute != "auto"
            else None
        )
        value, key = multiplier, "training.learning_rate_multiplier"
    else:
        wrong = (f"training.learning_rate_multiplier: {facts.title} takes an absolute rate; set "
                 f"training.learning_rate instead") if multiplier != "auto" else None
        value, key = absolute, "training.learning_rate"
    problems = [wrong] if wrong else []
    if value != "auto" and not (_is_number(value) and value > 0):
        problems.append(f"{key}: {value!r} must be greater than 0")
    return problems


def _beta_problems(facts: ProviderFacts, beta: Any) -> list[str]:
    limits = facts.limits
    if not _is_number(beta) or beta <= 0:
        return [f"training.beta: {beta!r} must be greater than 0"]
    if limits.beta_max is not None:
        over = beta > limits.beta_max if limits.beta_max_inclusive else beta >= limits.beta_max
        if over:
            bracket = "]" if limits.beta_max_inclusive else ")"
            return [
                f"training.beta: {beta!r} is outside {facts.title}'s "
                f"range (0, {limits.beta_max:g}{bracket}"
            ]
    return []


def _is_number(value: Any) -> bool:
    """A finite number: NaN passes no range check, so it must never reach one."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int_within(value: Any, low: int, high: int | None) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value >= low
            and (high is None or value <= high))

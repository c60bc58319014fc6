"""What the evaluation gate's replies cost: inference tokens priced per model, counted in the
training budget.

The gate asks the candidate and the model in service one question per held-out
case. Before anything is uploaded, the pipeline estimates those requests (prompt
tokens counted offline as the vendor counts them, replies at their token cap, so
the figure is an upper bound) and adds them to the training estimate; afterwards
the tokens the API reported are priced the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from vectortrainer.budget.catalog import provider_facts
from vectortrainer.budget.encodings import get_encoding
from vectortrainer.budget.estimates import CostEstimate
from vectortrainer.budget.pricing import APPROXIMATE_ENCODING, resolve_model
from vectortrainer.budget.serving import OPEN_MODEL_TOKEN_PRICES, HostingEstimate
from vectortrainer.budget.tokens import count_message_tokens
from vectortrainer.display import format_usd
from vectortrainer.errors import BudgetExceededError, UnknownModelError

# USD per 1M tokens (input, output) when a model answers, for the base model and for a
# fine-tune of it. Source: OpenAI's pricing page (platform.openai.com/docs/pricing, text
# tokens and "Fine-tuning" inference), as recorded by the project, not re-read online
# (no network here). Prices change: they only size an upper bound of the gate's cost.
INFERENCE_PRICES: dict[str, dict[str, tuple[float, float]]] = {
    "gpt-4.1-2025-04-14": {"base": (2.00, 8.00), "fine_tuned": (3.00, 12.00)},
    "gpt-4.1-mini-2025-04-14": {"base": (0.40, 1.60), "fine_tuned": (0.80, 3.20)},
    "gpt-4.1-nano-2025-04-14": {"base": (0.10, 0.40), "fine_tuned": (0.20, 0.80)},
    "gpt-4o-2024-08-06": {"base": (2.50, 10.00), "fine_tuned": (3.75, 15.00)},
    "gpt-4o-mini-2024-07-18": {"base": (0.15, 0.60), "fine_tuned": (0.30, 1.20)},
    "gpt-3.5-turbo": {"base": (0.50, 1.50), "fine_tuned": (3.00, 6.00)},
}


@dataclass(frozen=True)
class InferenceEstimate:
    """The gate's replies before they are asked: requests, tokens (replies at their cap) and
    dollars."""

    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int  # the cap: an upper bound
    estimated_usd: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_OPENAI_FAMILY = ("openai", "azure")  # Azure serves the same snapshots: priced as OpenAI's


def _prices(model: str, provider: str = "openai", *,
            base_model: str | None = None) -> tuple[float, float]:
    if provider not in _OPENAI_FAMILY:
        # an open model's fine-tune is named by its provider, not after its base: the trainer's
        # base model says what it is billed as
        base = provider_facts(provider).base_name(base_model or model)
        prices = OPEN_MODEL_TOKEN_PRICES.get(base)
        if prices is None:
            raise UnknownModelError(
                f"model {model!r}: no {provider} inference price known for {base!r}, so the "
                f"gate's replies cannot be priced (known: {', '.join(OPEN_MODEL_TOKEN_PRICES)})"
            )
        return prices
    info = resolve_model(model)
    table = INFERENCE_PRICES.get(info.base)
    if table is None:
        raise UnknownModelError(
            f"model {model!r}: no inference price known for {info.base!r}, so the gate's "
            f"replies cannot be priced (known: {', '.join(sorted(INFERENCE_PRICES))})"
        )
    return table["fine_tuned" if info.is_fine_tuned else "base"]


def inference_usd(model: str, prompt_tokens: int, completion_tokens: int, *,
                  provider: str = "openai", base_model: str | None = None) -> float:
    """Dollars for ``model`` (at ``provider``, a fine-tune of ``base_model`` when its name does
    not say) reading ``prompt_tokens`` and writing ``completion_tokens``."""
    price_in, price_out = _prices(model, provider, base_model=base_model)
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000


def estimate_replies(model: str, conversations: Sequence[list[dict[str, str]]], *, max_tokens: int,
                     fine_tuned: bool, provider: str = "openai",
                     tokens_free: bool = False) -> InferenceEstimate:
    """The cost of asking ``model`` (or a fine-tune of it, ``fine_tuned``) at ``provider`` each
    conversation once; ``tokens_free``: it answers on a deployment billed by the hour instead."""
    if provider in _OPENAI_FAMILY:
        info = resolve_model(model)
        encoding = get_encoding(info.encoding)
        priced_as = (f"ft:{info.base}:estimate::x" if fine_tuned and not info.is_fine_tuned
                     else model)
    else:  # counted with the stand-in encoding: the provider bills its own tokenizer's count
        encoding, priced_as = get_encoding(APPROXIMATE_ENCODING), model
    prompt_tokens = sum(count_message_tokens(messages, encoding) for messages in conversations)
    completion_tokens = max_tokens * len(conversations)
    return InferenceEstimate(
        model=model,
        requests=len(conversations),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        estimated_usd=0.0 if tokens_free else inference_usd(priced_as, prompt_tokens,
                                                            completion_tokens, provider=provider),
    )


def with_evaluation(estimate: CostEstimate, replies: Sequence[InferenceEstimate],
                    budget_usd: float | None,
                    hosting: Sequence[HostingEstimate] = ()) -> CostEstimate:
    """The training estimate with the gate's replies and its deployments' hosting added, held to
    the same budget (raises above it)."""
    hosted = sum(h.estimated_usd for h in hosting)
    evaluation = sum(r.estimated_usd for r in replies) + hosted
    total = estimate.estimated_usd + evaluation
    combined = replace(estimate, estimated_usd=total, evaluation_usd=evaluation,
                       evaluation_requests=sum(r.requests for r in replies), budget_usd=budget_usd,
                       within_budget=budget_usd is None or total <= budget_usd,
                       hosting_usd=hosted, hosting=[h.to_dict() for h in hosting])
    if not combined.within_budget:
        hosting_part = (
            f", {format_usd(hosted)} of it hosting {len(hosting)} deployment(s) for at most "
            f"{sum(h.hours for h in hosting):g} h" if hosting else ""
        )
        raise BudgetExceededError(
            f"estimated cost {format_usd(total)} (training {format_usd(estimate.estimated_usd)} "
            f"+ evaluation gate {format_usd(evaluation)} for {combined.evaluation_requests} "
            f"held-out replies{hosting_part}) exceeds the budget "
            f"{format_usd(budget_usd or 0.0)}; nothing was uploaded. Raise --max-budget / "
            "budget.max_budget_usd, lower gate.max_cases or gate.max_reply_tokens, or pick "
            "fewer examples",
            cost=combined,
            budget=float(budget_usd),  # type: ignore[arg-type]
        )
    return combined

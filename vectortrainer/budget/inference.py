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

from vectortrainer.budget.encodings import get_encoding
from vectortrainer.budget.estimates import CostEstimate
from vectortrainer.budget.pricing import resolve_model
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


def _prices(model: str) -> tuple[float, float]:
    info = resolve_model(model)
    table = INFERENCE_PRICES.get(info.base)
    if table is None:
        raise UnknownModelError(
            f"model {model!r}: no inference price known for {info.base!r}, so the gate's "
            f"replies cannot be priced (known: {', '.join(sorted(INFERENCE_PRICES))})"
        )
    return table["fine_tuned" if info.is_fine_tuned else "base"]


def inference_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Dollars for ``model`` reading ``prompt_tokens`` and writing ``completion_tokens``."""
    price_in, price_out = _prices(model)
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000


def estimate_replies(model: str, conversations: Sequence[list[dict[str, str]]], *, max_tokens: int,
                     fine_tuned: bool) -> InferenceEstimate:
    """The cost of asking ``model`` (or a fine-tune of it, ``fine_tuned``) each conversation
    once."""
    info = resolve_model(model)
    encoding = get_encoding(info.encoding)
    prompt_tokens = sum(count_message_tokens(messages, encoding) for messages in conversations)
    completion_tokens = max_tokens * len(conversations)
    priced_as = f"ft:{info.base}:estimate::x" if fine_tuned and not info.is_fine_tuned else model
    return InferenceEstimate(
        model=model,
        requests=len(conversations),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        estimated_usd=inference_usd(priced_as, prompt_tokens, completion_tokens),
    )


def with_evaluation(estimate: CostEstimate, replies: Sequence[InferenceEstimate],
                    budget_usd: float | None) -> CostEstimate:
    """The training estimate with the gate's replies added, held to the same budget (raises above
    it)."""
    evaluation = sum(r.estimated_usd for r in replies)
    total = estimate.estimated_usd + evaluation
    combined = replace(estimate, estimated_usd=total, evaluation_usd=evaluation,
                       evaluation_requests=sum(r.requests for r in replies), budget_usd=budget_usd,
                       within_budget=budget_usd is None or total <= budget_usd)
    if not combined.within_budget:
        raise BudgetExceededError(
            f"estimated cost {format_usd(total)} (training {format_usd(estimate.estimated_usd)} "
            f"+ evaluation gate {format_usd(evaluation)} for {combined.evaluation_requests} "
            f"held-out replies) exceeds the budget {format_usd(budget_usd or 0.0)}; "
            "nothing was uploaded. Raise --max-budget / budget.max_budget_usd, "
            "lower gate.max_cases or gate.max_reply_tokens, or pick fewer examples",
            cost=combined,
            budget=float(budget_usd),  # type: ignore[arg-type]
        )
    return combined

"""Training prices and the model facts pricing needs, per provider: aliases, fine-tuned names,
encodings (VT-8, VT-14).

The figures live in :mod:`vectortrainer.budget.catalog` with their sources; the tables
below are OpenAI's, kept under their public names. An unknown model is refused, never
priced at the cheapest rate; a model past its shutdown, or a provider past its cutoff,
is refused with the date (:mod:`vectortrainer.budget.schedule`). ``budget.prices`` in
the config overrides or extends the table of the configured provider, and is the only
way to price a model whose price was not recorded.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass

from vectortrainer.budget.catalog import OPENAI, ProviderFacts, base_model_name, provider_facts
from vectortrainer.budget.schedule import ScheduleOverrides, check_open
from vectortrainer.errors import UnknownModelError

__all__ = [
    "MODEL_TRAINING_PRICES",
    "MODEL_RETIREMENT_DATES",
    "MAX_TOKENS_PER_EXAMPLE",
    "MODEL_ALIASES",
    "ModelInfo",
    "base_model_name",
    "resolve_model",
]

# USD per 1M *training* tokens on OpenAI (validation tokens are free); sources in the catalog.
MODEL_TRAINING_PRICES: dict[str, float] = {
    m.name: m.price_per_million for m in OPENAI.models if m.price_per_million is not None
}
# The day each OpenAI base model (and its fine-tunes) shuts down.
MODEL_RETIREMENT_DATES: dict[str, _dt.date] = {
    m.name: m.shutdown_on for m in OPENAI.models if m.shutdown_on
}
# Longest training example per model (longer ones are truncated), from OpenAI's fine-tuning guide.
MAX_TOKENS_PER_EXAMPLE: dict[str, int] = {
    m.name: m.max_tokens_per_example for m in OPENAI.models if m.max_tokens_per_example
}
# Short names and older snapshots -> the entry of the tables above.
MODEL_ALIASES: dict[str, str] = dict(OPENAI.model_aliases)

# Encoding by model family for OpenAI-family names the catalog does not list; longest prefix first.
# (tiktoken's own table maps every `ft:gpt-4...` name to cl100k_base, wrong for gpt-4o / gpt-4.1
# bases, so fine-tuned names are reduced to their base before this lookup.)
_ENCODING_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("gpt-4.1", "o200k_base"),
    ("gpt-4o", "o200k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-4", "cl100k_base"),
)
# Providers whose models have their own tokenizers: counted with this encoding, as an approximation.
APPROXIMATE_ENCODING = "o200k_base"


@dataclass(frozen=True)
class ModelInfo:
    """What pricing and counting need to know about a model name."""

    requested: str  # as the user wrote it, e.g. "ft:gpt-4o-mini-2024-07-18:acme::abc123"
    base: str  # the price-table entry, e.g. "gpt-4o-mini-2024-07-18"
    encoding: str
    price_per_million: float
    max_tokens_per_example: int | None
    retired_on: _dt.date | None = None  # the shutdown date, when one is published
    provider: str = "openai"
    exact_tokens: bool = True  # False: ``encoding`` approximates the model's own tokenizer
    price_source: str = ""

    @property
    def is_fine_tuned(self) -> bool:
        return self.requested.startswith("ft:")


def resolve_model(
    model: str,
    prices: Mapping[str, float] | None = None,
    *,
    today: _dt.date | None = None,
    provider: str = "openai",
    schedule: ScheduleOverrides | None = None,
) -> ModelInfo:
    """Look ``model`` up for pricing on ``provider``: aliases and fine-tuned names map to their
    base.

    ``prices`` (from ``budget.prices``) override or extend the provider's table. Raises
    ``UnknownModelError`` (no price known), ``RetiredModelError`` (past its shutdown) or
    ``FineTuningClosedError`` (the provider is past its cutoff).
    """
    facts = provider_facts(provider)
    base = facts.base_name(model)
    listed = facts.model(model)
    overrides = {facts.base_name(k): float(v) for k, v in (prices or {}).items()}
    price = overrides.get(base, listed.price_per_million if listed is not None else None)
    if price is None:
        raise UnknownModelError(_no_price_message(model, base, provider, listed is not None))
    check_open(provider, model, today=today, overrides=schedule)
    if listed is not None:
        encoding, exact = listed.encoding, listed.exact_tokens
    elif provider in ("openai", "azure"):
        known_encoding, exact = _encoding_for_base(base), True
        if known_encoding is None:
            raise UnknownModelError(
                f"model {model!r}: no tokenizer known for {base!r} "
                "(supported families: gpt-4.1, gpt-4o, gpt-3.5)"
            )
        encoding = known_encoding
    else:
        encoding, exact = APPROXIMATE_ENCODING, False
    return ModelInfo(
        requested=model,
        base=base,
        encoding=encoding,
        price_per_million=price,
        max_tokens_per_example=listed.max_tokens_per_example if listed is not None else None,
        retired_on=listed.shutdown_on if listed is not None else None,
        provider=provider,
        exact_tokens=exact,
        price_source="budget.prices in the config"
        if base in overrides
        else (listed.price_source if listed else ""),
    )


def _no_price_message(model: str, base: str, provider: str, listed: bool) -> str:
    facts = provider_facts(provider)
    if listed:
        return (f"model {model!r} on {facts.title}: no training price is recorded "
                f"({_price_source(facts, model)}); add its USD per 1M training tokens under "
                f"budget.prices in the config, e.g. budget.prices: {{{base}: <price>}}")
    known = ", ".join(
        f"{m.name} (shuts down {m.shutdown_on.isoformat()})" if m.shutdown_on else m.name
        for m in sorted(facts.models, key=lambda m: m.name)
    )
    return (f"model {model!r} has no known training price on {facts.title} (known: {known}); "
            f"add its USD per 1M training tokens under budget.prices in the config")


def _encoding_for_base(base: str) -> str | None:
    for prefix, encoding in _ENCODING_BY_PREFIX:
        if base.startswith(prefix):
            return encoding
    return None


def _price_source(facts: ProviderFacts, model: str) -> str:
    listed = facts.model(model)
    return listed.price_source if listed is not None else "not listed"

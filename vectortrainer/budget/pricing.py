"""Training prices and the model facts pricing needs: aliases, fine-tuned names, encodings, retirement (VT-8).

An unknown model is refused, never priced at the cheapest rate; a retired model is
refused with its retirement date. ``budget.prices`` in the config overrides or
extends the table.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass

from vectortrainer.errors import RetiredModelError, UnknownModelError

# USD per 1M *training* tokens (validation tokens are free). Source: OpenAI's pricing
# page (platform.openai.com/docs/pricing, "Fine-tuning"), figures as recorded in the
# project's issue 4 in November 2026 (not re-read online: no network here). Prices
# change: override per model with `budget.prices` in the config.
MODEL_TRAINING_PRICES: dict[str, float] = {
    "gpt-4.1-2025-04-14": 25.00,
    "gpt-4.1-mini-2025-04-14": 5.00,
    "gpt-4.1-nano-2025-04-14": 1.50,
    "gpt-4o-2024-08-06": 25.00,
    "gpt-4o-mini-2024-07-18": 3.00,
    "gpt-3.5-turbo": 8.00,
}

# Fine-tuning shut down for these base models (OpenAI deprecations page).
MODEL_RETIREMENT_DATES: dict[str, _dt.date] = {
    "gpt-4.1-nano-2025-04-14": _dt.date(2026, 10, 23),
    "gpt-3.5-turbo": _dt.date(2026, 10, 23),
}

# Longest training example per model (longer ones are truncated), from OpenAI's
# fine-tuning guide: 65,536 tokens for the gpt-4o / gpt-4.1 families, 16,385 for
# gpt-3.5-turbo-0125.
MAX_TOKENS_PER_EXAMPLE: dict[str, int] = {
    "gpt-4.1-2025-04-14": 65_536,
    "gpt-4.1-mini-2025-04-14": 65_536,
    "gpt-4.1-nano-2025-04-14": 65_536,
    "gpt-4o-2024-08-06": 65_536,
    "gpt-4o-mini-2024-07-18": 65_536,
    "gpt-3.5-turbo": 16_385,
}

# Short names and older snapshots -> the entry of the tables above.
MODEL_ALIASES: dict[str, str] = {
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-3.5-turbo-0125": "gpt-3.5-turbo",
    "gpt-3.5-turbo-1106": "gpt-3.5-turbo",
    "gpt-3.5-turbo-0613": "gpt-3.5-turbo",
}

# Encoding by model family; longest prefix first. (tiktoken's own table maps every
# `ft:gpt-4...` name to cl100k_base, wrong for gpt-4o / gpt-4.1 bases, so fine-tuned
# names are reduced to their base before this lookup.)
_ENCODING_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("gpt-4.1", "o200k_base"),
    ("gpt-4o", "o200k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-4", "cl100k_base"),
)


@dataclass(frozen=True)
class ModelInfo:
    """What pricing and counting need to know about a model name."""

    requested: str  # as the user wrote it, e.g. "ft:gpt-4o-mini-2024-07-18:acme::abc123"
    base: str  # the price-table entry, e.g. "gpt-4o-mini-2024-07-18"
    encoding: str
    price_per_million: float
    max_tokens_per_example: int | None
    retired_on: _dt.date | None = None

    @property
    def is_fine_tuned(self) -> bool:
        return self.requested.startswith("ft:")


def base_model_name(model: str) -> str:
    """``ft:<base>:<org>:<suffix>:<id>`` (or a checkpoint of one) -> ``<base>``; others unchanged."""
    model = model.strip()
    if model.startswith("ft:"):
        parts = model.split(":")
        if len(parts) < 2 or not parts[1]:
            raise UnknownModelError(f"model {model!r}: a fine-tuned name looks like ft:<base>:<org>::<id>")
        return parts[1]
    return model


def resolve_model(
    model: str,
    prices: Mapping[str, float] | None = None,
    *,
    today: _dt.date | None = None,
) -> ModelInfo:
    """Look ``model`` up for pricing: aliases and fine-tuned names map to their base.

    ``prices`` (from ``budget.prices``) override or extend the table. Raises
    ``UnknownModelError`` / ``RetiredModelError``.
    """
    overrides = dict(prices or {})
    base = base_model_name(model)
    base = MODEL_ALIASES.get(base, base)
    table = {**MODEL_TRAINING_PRICES, **{MODEL_ALIASES.get(k, k): v for k, v in overrides.items()}}
    if base not in table:
        known = ", ".join(
            f"{m} (retired {MODEL_RETIREMENT_DATES[m].isoformat()})" if m in MODEL_RETIREMENT_DATES else m
            for m in sorted(MODEL_TRAINING_PRICES)
        )
        raise UnknownModelError(
            f"model {model!r} has no known training price (known: {known}); "
            f"add its USD per 1M training tokens under budget.prices in the config"
        )
    encoding = _encoding_for_base(base)
    if encoding is None:
        raise UnknownModelError(
            f"model {model!r}: no tokenizer known for {base!r} (supported families: gpt-4.1, gpt-4o, gpt-3.5)"
        )
    retired_on = MODEL_RETIREMENT_DATES.get(base)
    if retired_on is not None and (today or _dt.date.today()) >= retired_on:
        live = ", ".join(sorted(m for m in MODEL_TRAINING_PRICES if m not in MODEL_RETIREMENT_DATES))
        raise RetiredModelError(
            f"model {model!r}: fine-tuning of {base} was retired on {retired_on.isoformat()}; "
            f"choose another model (e.g. {live})"
        )
    return ModelInfo(
        requested=model,
        base=base,
        encoding=encoding,
        price_per_million=float(table[base]),
        max_tokens_per_example=MAX_TOKENS_PER_EXAMPLE.get(base),
        retired_on=retired_on,
    )


def _encoding_for_base(base: str) -> str | None:
    for prefix, encoding in _ENCODING_BY_PREFIX:
        if base.startswith(prefix):
            return encoding
    return None

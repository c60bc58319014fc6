"""Cost guardrail (FR-6, VT-8): offline token counting, the price table, the budget guard.

Tokens are counted with the real ``tiktoken`` (seeded offline, see ``tokens``), the
way OpenAI's fine-tuning data-preparation guide counts chat examples: 3 tokens per
message, the tokens of each value, 1 more per ``name``, and 3 for reply priming.
Examples longer than the model's per-example limit are reported (the API truncates
them, and bills at most the limit). An unknown model is refused, never priced at
the cheapest rate; a retired model is refused with its retirement date.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from vectortrainer.errors import ConfigError, DataFormatError, VectorTrainerError
from vectortrainer.tokens import get_encoding

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

# The vendor's default n_epochs heuristic (fine-tuning data-preparation guide).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

# The guide's chat counting constants.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3

Epochs = int | Literal["auto"]


class UnknownModelError(ConfigError):
    """A model that has no training price; the message lists the known ones."""

    exit_code = 2


class RetiredModelError(ConfigError):
    """A model whose fine-tuning was retired; the message names the date."""

    exit_code = 2


class BudgetExceededError(VectorTrainerError):
    """The estimated training cost is over ``max_budget_usd``; nothing was uploaded (FR-6.3).

    ``estimate`` is the estimated cost in USD, ``budget`` the limit, ``tokens`` the
    billed training tokens (all epochs); ``cost`` holds the whole ``CostEstimate``.
    """

    exit_code = 3

    def __init__(self, cost: "CostEstimate", budget: float) -> None:
        self.cost = cost
        self.estimate = cost.estimated_usd
        self.budget = budget
        self.tokens = cost.billed_tokens
        super().__init__(
            f"estimated training cost {format_usd(cost.estimated_usd)} exceeds the budget {format_usd(budget)} "
            f"({cost.billed_tokens:,} tokens = {cost.tokens_per_epoch:,} x {cost.n_epochs} epochs "
            f"on {cost.model} at ${cost.price_per_million:.2f}/1M); nothing was uploaded. "
            f"Raise --max-budget / budget.max_budget_usd, pick fewer examples or a cheaper model"
        )


def format_usd(amount: float) -> str:
    """Dollars with cents, and with enough digits that a small amount never reads as $0.00."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    return f"${amount:.2g}" if abs(amount) >= 1e-6 else f"${amount:.1e}"


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


def auto_epochs(n_examples: int) -> int:
    """The vendor's default ``n_epochs`` for ``n_examples`` training examples."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def resolve_epochs(n_epochs: Epochs, n_examples: int) -> int:
    """An explicit epoch count, or the ``auto`` heuristic for ``n_examples``."""
    if n_epochs == "auto":
        return auto_epochs(n_examples)
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 1:
        raise ConfigError(f"training.n_epochs: expected a positive integer or 'auto', got {n_epochs!r}")
    return n_epochs


@dataclass
class TokenCount:
    """Tokens of a ChatML JSONL file as the vendor counts them."""

    path: str
    model: str
    encoding: str
    n_examples: int
    total_tokens: int  # sum over examples, untruncated
    billed_tokens_per_epoch: int  # sum of min(limit, example tokens)
    max_example_tokens: int
    max_tokens_per_example: int | None
    too_long: list[int] = field(default_factory=list)  # 1-based line numbers over the limit

    def __int__(self) -> int:
        return self.total_tokens


@dataclass
class CostEstimate:
    """What a fine-tune of a file would cost; written to ``estimate.json`` by the pipeline."""

    model: str
    base_model: str
    encoding: str
    n_examples: int
    tokens_per_epoch: int  # billed (truncated at the per-example limit)
    n_epochs: int
    price_per_million: float
    estimated_usd: float
    budget_usd: float | None
    within_budget: bool
    total_tokens: int = 0  # untruncated
    max_tokens_per_example: int | None = None
    too_long: list[int] = field(default_factory=list)
    validation_examples: int = 0
    validation_tokens: int = 0  # free, shown for information

    @property
    def billed_tokens(self) -> int:
        return self.tokens_per_epoch * self.n_epochs

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["billed_tokens"] = self.billed_tokens
        return data


def count_message_tokens(messages: Iterable[Mapping[str, Any]], encoding: Any) -> int:
    """Tokens of one chat example: 3 per message + its values (+1 per name) + 3 reply priming."""
    total = REPLY_PRIMING_TOKENS
    encode = encoding.encode_ordinary
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if key == "weight":  # a training flag, not text the model sees
                continue
            total += len(encode(_value_text(value)))
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(p, Mapping) and "text" in p for p in value):
        return "".join(str(p["text"]) for p in value)  # content given as text parts
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _example_messages(example: Any, where: str) -> list[Mapping[str, Any]]:
    """The messages to count: chat (``messages``) or preference (input + both outputs)."""
    if not isinstance(example, Mapping):
        raise DataFormatError(f"{where}: expected a JSON object with 'messages', got {type(example).__name__}")
    if isinstance(example.get("messages"), list):
        messages = example["messages"]
    elif isinstance(example.get("input"), Mapping) and "preferred_output" in example:
        messages = [
            *example["input"].get("messages", []),
            *example.get("preferred_output", []),
            *example.get("non_preferred_output", []),
        ]
    else:
        raise DataFormatError(f"{where}: no 'messages' list (expected one ChatML example per line)")
    if not all(isinstance(m, Mapping) for m in messages):
        raise DataFormatError(f"{where}: every message must be a JSON object")
    return messages


def _read_examples(path: Path) -> Iterator[tuple[int, list[Mapping[str, Any]]]]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: training file not found") from None
    with handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                example = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                raise DataFormatError(f"{path}:{line_no}: not UTF-8 text (save the file as UTF-8)") from None
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
            yield line_no, _example_messages(example, f"{path}:{line_no}")


def count_tokens_in_jsonl(
    path: str | Path,
    model: str = "gpt-4o-mini-2024-07-18",
    *,
    prices: Mapping[str, float] | None = None,
    today: _dt.date | None = None,
) -> TokenCount:
    """Count the tokens of a ChatML JSONL file for ``model``, offline (FR-6.1)."""
    path = Path(path)
    info = resolve_model(model, prices, today=today)
    encoding = get_encoding(info.encoding)
    limit = info.max_tokens_per_example
    n_examples = total = billed = longest = 0
    too_long: list[int] = []
    for line_no, messages in _read_examples(path):
        tokens = count_message_tokens(messages, encoding)
        n_examples += 1
        total += tokens
        longest = max(longest, tokens)
        if limit is not None and tokens > limit:
            too_long.append(line_no)
            billed += limit
        else:
            billed += tokens
    return TokenCount(
        path=str(path),
        model=model,
        encoding=info.encoding,
        n_examples=n_examples,
        total_tokens=total,
        billed_tokens_per_epoch=billed,
        max_example_tokens=longest,
        max_tokens_per_example=limit,
        too_long=too_long,
    )


def estimate_training_cost(
    tokens: int,
    model: str,
    n_epochs: Epochs = "auto",
    *,
    n_examples: int | None = None,
    prices: Mapping[str, float] | None = None,
    today: _dt.date | None = None,
) -> float:
    """USD for training ``tokens`` (one epoch) for ``n_epochs``: price / 1M x tokens x epochs.

    ``n_epochs="auto"`` needs ``n_examples`` to apply the vendor's heuristic.
    """
    if tokens < 0:
        raise ValueError("tokens must be >= 0")
    if n_epochs == "auto" and n_examples is None:
        raise ValueError("n_epochs='auto' needs n_examples to pick the epoch count")
    info = resolve_model(model, prices, today=today)
    epochs = resolve_epochs(n_epochs, n_examples or 0)
    return info.price_per_million / 1_000_000 * tokens * epochs


def check_budget(
    path: str | Path,
    model: str,
    max_budget_usd: float | None,
    n_epochs: Epochs = "auto",
    *,
    validation_path: str | Path | None = None,
    prices: Mapping[str, float] | None = None,
    today: _dt.date | None = None,
) -> CostEstimate:
    """Estimate the cost of training on ``path``; raise ``BudgetExceededError`` if over budget.

    ``max_budget_usd=None`` turns the guard off (the estimate is still returned).
    """
    info = resolve_model(model, prices, today=today)
    counted = count_tokens_in_jsonl(path, model, prices=prices, today=today)
    epochs = resolve_epochs(n_epochs, counted.n_examples)
    usd = info.price_per_million / 1_000_000 * counted.billed_tokens_per_epoch * epochs
    validation = (
        count_tokens_in_jsonl(validation_path, model, prices=prices, today=today) if validation_path else None
    )
    estimate = CostEstimate(
        model=model,
        base_model=info.base,
        encoding=info.encoding,
        n_examples=counted.n_examples,
        tokens_per_epoch=counted.billed_tokens_per_epoch,
        n_epochs=epochs,
        price_per_million=info.price_per_million,
        estimated_usd=usd,
        budget_usd=max_budget_usd,
        within_budget=max_budget_usd is None or usd <= max_budget_usd,
        total_tokens=counted.total_tokens,
        max_tokens_per_example=counted.max_tokens_per_example,
        too_long=counted.too_long,
        validation_examples=validation.n_examples if validation else 0,
        validation_tokens=validation.total_tokens if validation else 0,
    )
    if not estimate.within_budget:
        raise BudgetExceededError(estimate, float(max_budget_usd))  # type: ignore[arg-type]
    return estimate

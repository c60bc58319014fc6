"""Estimates of a fine-tune before it starts: dollars for a vendor, minutes for a local run, behind
one protocol.

Every estimate has a ``kind`` (``"usd"`` or ``"minutes"``), an ``amount`` in its
unit, the ``limit`` it is held to (``None``: no guard) and says whether it is
``within_budget``. The guards, the pipeline's confirm step and every face's budget
confirmation speak only :class:`Estimate`, so a local run and a vendor run are
confirmed the same way. ``estimate.json`` holds ``to_dict()``;
:func:`estimate_from_dict` reads either kind back.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, Protocol, runtime_checkable

from vectortrainer.budget.catalog import provider_facts
from vectortrainer.budget.pricing import resolve_model
from vectortrainer.errors import ConfigError, DataFormatError
from vectortrainer.json_types import JSONObject, JSONValue

USD = "usd"
MINUTES = "minutes"

# The vendor's default n_epochs heuristic (fine-tuning data-preparation guide).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

# DPO forwards chosen and rejected (both counted in its tokens) and adds a
# reference forward pass without gradients: about a third of a training step.
DPO_TIME_FACTOR = 4.0 / 3.0

Epochs = int | Literal["auto"]


@runtime_checkable
class Estimate(Protocol):
    """What guards, the confirm step and the faces need of any estimate."""

    @property
    def kind(self) -> str:
        """``"usd"`` (a vendor's dollars) or ``"minutes"`` (a local run's time)."""

    @property
    def model(self) -> str: ...

    @property
    def n_examples(self) -> int: ...

    @property
    def estimated_usd(self) -> float:
        """Dollars paid to a vendor (0.0 for a local run)."""

    @property
    def amount(self) -> float | None:
        """The estimate in its unit (dollars or minutes); ``None`` when it could not be measured."""

    @property
    def limit(self) -> float | None:
        """The budget in the same unit; ``None`` when no guard is set."""

    @property
    def within_budget(self) -> bool: ...

    @property
    def warnings(self) -> Sequence[str]:
        """What to tell whether or not the estimate fits (a cutoff ahead, a setting not sent)."""

    def to_dict(self) -> JSONObject: ...


def auto_epochs(n_examples: int) -> int:
    """The vendor's default ``n_epochs`` for ``n_examples`` training examples."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


def resolve_epochs(n_epochs: Epochs, n_examples: int, default: int | None = None) -> int:
    """An explicit epoch count, or what ``auto`` means: ``default``, else the vendor heuristic for
    ``n_examples``."""
    if n_epochs == "auto":
        return default if default is not None else auto_epochs(n_examples)
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 1:
        raise ConfigError(
            f"training.n_epochs: expected a positive integer or 'auto', got {n_epochs!r}"
        )
    return n_epochs


@dataclass
class CostEstimate:
    """What a fine-tune of a file would cost at a vendor; written to ``estimate.json`` by the
    pipeline."""

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
    # free at OpenAI (shown for information); billed where the provider bills them
    validation_tokens: int = 0
    # the evaluation gate's replies (an upper bound), included in estimated_usd
    evaluation_usd: float = 0.0
    evaluation_requests: int = 0
    # the part of evaluation_usd that hosts the gate's deployments (their bound), and each one
    hosting_usd: float = 0.0
    hosting: list[JSONObject] = field(default_factory=list)
    kind: str = USD
    provider: str = "openai"
    # False: counted with a stand-in tokenizer (the provider bills its own count)
    exact_tokens: bool = True
    price_source: str = ""
    # the provider's schedule: restrictions, cutoffs ahead
    warnings: list[str] = field(default_factory=list)
    billed_validation_tokens: int = 0  # where the provider bills its evaluation pass

    @property
    def billed_tokens(self) -> int:
        return self.tokens_per_epoch * self.n_epochs + self.billed_validation_tokens

    @property
    def amount(self) -> float:
        return self.estimated_usd

    @property
    def limit(self) -> float | None:
        return self.budget_usd

    def with_budget(self, budget_usd: float | None) -> "CostEstimate":
        """The same estimate held against ``budget_usd`` (``None``: no guard)."""
        return replace(self, budget_usd=budget_usd,
                       within_budget=budget_usd is None or self.estimated_usd <= budget_usd)

    def to_dict(self) -> JSONObject:
        data = asdict(self)
        data["billed_tokens"] = self.billed_tokens
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> "CostEstimate":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class TimeEstimate:
    """What a local run would take: tokens x epochs, and minutes measured on this machine."""

    model: str
    method: str
    n_examples: int
    tokens_per_epoch: int
    n_epochs: int
    # training.max_steps / steps per epoch when set (the trainer then runs exactly that many
    # steps, fewer or more than n_epochs), else n_epochs
    n_epochs_trained: float
    total_tokens: int
    tokens_per_second: float | None
    estimated_minutes: float | None
    device: str
    max_minutes: float | None = None
    estimated_usd: float = 0.0  # a local run pays no vendor
    kind: str = MINUTES

    @property
    def amount(self) -> float | None:
        return self.estimated_minutes

    @property
    def limit(self) -> float | None:
        return self.max_minutes

    @property
    def within_budget(self) -> bool:
        if self.max_minutes is None or self.estimated_minutes is None:
            return True
        return self.estimated_minutes <= self.max_minutes

    @property
    def warnings(self) -> Sequence[str]:
        return ()  # a local run has no vendor schedule to warn of

    def to_dict(self) -> JSONObject:
        return {**asdict(self), "within_budget": self.within_budget}

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> "TimeEstimate":
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known and k != "kind"})


def estimate_from_dict(data: Mapping[str, JSONValue]) -> Estimate:
    """The estimate ``to_dict`` wrote (``estimate.json``), of either kind (``"local"``: an older
    run's minutes)."""
    kind = data.get("kind", USD)
    if kind in (MINUTES, "local"):
        return TimeEstimate.from_dict(data)
    if kind == USD:
        return CostEstimate.from_dict(data)
    raise DataFormatError(f"estimate: unknown kind {kind!r} (expected {USD!r} or {MINUTES!r})")


def estimate_training_cost(
    tokens: int,
    model: str,
    n_epochs: Epochs = "auto",
    *,
    n_examples: int | None = None,
    prices: Mapping[str, float] | None = None,
    today: _dt.date | None = None,
    provider: str = "openai",
) -> float:
    """USD for training ``tokens`` (one epoch) for ``n_epochs``: price / 1M x tokens x epochs.

    ``n_epochs="auto"`` needs ``n_examples`` to apply the vendor's heuristic.
    """
    if tokens < 0:
        raise ValueError("tokens must be >= 0")
    if n_epochs == "auto" and n_examples is None:
        raise ValueError("n_epochs='auto' needs n_examples to pick the epoch count")
    info = resolve_model(model, prices, today=today, provider=provider)
    epochs = resolve_epochs(
        n_epochs, n_examples or 0, provider_facts(provider).limits.default_epochs
    )
    return info.price_per_million / 1_000_000 * tokens * epochs


def estimate_local_training(
    *,
    model: str,
    method: str,
    n_examples: int,
    tokens_per_epoch: int,
    n_epochs: int,
    batch_size: int,
    max_steps: int | None,
    tokens_per_second: float | None,
    device: str = "not measured",
    max_minutes: float | None = None,
) -> TimeEstimate:
    """Tokens x epochs and, with a measured throughput, the minutes they take. With ``max_steps``
    the trainer runs exactly that many steps (it overrides the epochs, as in transformers), so the
    epochs are those steps' worth, more or fewer than ``n_epochs``."""
    steps_per_epoch = max(1, math.ceil(n_examples / max(1, batch_size)))
    epochs_trained = float(n_epochs) if max_steps is None else max_steps / steps_per_epoch
    total_tokens = int(round(tokens_per_epoch * epochs_trained))
    minutes = None
    if tokens_per_second:
        factor = DPO_TIME_FACTOR if method == "dpo" else 1.0
        minutes = total_tokens * factor / tokens_per_second / 60.0
    return TimeEstimate(
        model=model,
        method=method,
        n_examples=n_examples,
        tokens_per_epoch=tokens_per_epoch,
        n_epochs=n_epochs,
        n_epochs_trained=epochs_trained,
        total_tokens=total_tokens,
        tokens_per_second=tokens_per_second,
        estimated_minutes=minutes,
        device=device if tokens_per_second else "not measured",
        max_minutes=max_minutes,
    )

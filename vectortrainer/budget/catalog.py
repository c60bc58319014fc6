"""What each fine-tuning provider publishes, as data with its source: models, prices, dates and job
limits (VT-14).

Everything a guard, an estimate or the ``providers`` listing needs to know about a
vendor lives here, and nowhere else. Every figure carries where it came from and
when it was recorded. Figures nobody could check are marked as such; a model with
no recorded price is refused until ``budget.prices`` gives one. Dates can be
overridden from the config (``schedule:``, see :mod:`vectortrainer.budget.schedule`),
prices with ``budget.prices``.

No network was reachable when these were recorded: "as recorded in issue 14" means
the project's issue text (its author read the vendor's pages), "not re-read online"
means nobody here could check it again.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace

from vectortrainer.errors import ConfigError, UnknownModelError

SUPERVISED = "supervised"
DPO = "dpo"

ISSUE_14 = "as recorded in issue 14 (2026-12-01), not re-read online"
OPENAI_SPEC = "OpenAI's official OpenAPI spec (fine-tuning job parameters), " + ISSUE_14


@dataclass(frozen=True)
class ModelFacts:
    """One base model a provider fine-tunes."""

    name: str
    # USD per 1M training tokens; None: not recorded, budget.prices must give it
    price_per_million: float | None
    price_source: str
    methods: tuple[str, ...] = (SUPERVISED,)
    methods_source: str = ""
    shutdown_on: _dt.date | None = None  # the model and its fine-tunes shut down that day
    shutdown_source: str = ""
    encoding: str = "o200k_base"
    # False: counted with ``encoding`` as a stand-in for the model's own tokenizer
    exact_tokens: bool = True
    max_tokens_per_example: int | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Restriction:
    """A published step of a provider closing fine-tuning to some of its customers."""

    since: _dt.date
    who: str  # "new organisations"
    source: str


@dataclass(frozen=True)
class JobLimits:
    """What a provider accepts in a job request; checked before any upload (``training.limits``)."""

    epochs: tuple[int, int]
    # inclusive; None: any positive integer (the provider checks per model)
    batch_size: tuple[int, int] | None
    # DPO beta must be > 0 and at most this (``beta_max_inclusive``); None: only > 0
    beta_max: float | None
    beta_max_inclusive: bool
    seed: tuple[int, int] | None  # inclusive; None: the provider takes no seed
    suffix_max: int
    min_examples: int
    # "multiplier" (OpenAI's learning_rate_multiplier) or "absolute" (training.learning_rate)
    learning_rate: str
    max_file_bytes: int | None = None
    # what ``n_epochs: auto`` sends; None: OpenAI's count-dependent heuristic
    default_epochs: int | None = None
    # validation tokens are billed like training tokens (once per evaluation)
    bills_validation: bool = False
    source: str = ""


@dataclass(frozen=True)
class ProviderFacts:
    """A fine-tuning provider: its models, its schedule and its limits."""

    name: str  # the ``training.provider`` value
    title: str
    sdk: str  # the PyPI package the trainer drives
    models: tuple[ModelFacts, ...]
    limits: JobLimits
    jobs_until: _dt.date | None = None  # no new job can be created after this day
    jobs_until_source: str = ""
    restrictions: tuple[Restriction, ...] = ()
    credentials: tuple[str, ...] = ()  # the environment variables the trainer reads by default
    notes: str = ""
    model_aliases: dict[str, str] = field(default_factory=dict)

    def base_name(self, name: str) -> str:
        """The listed model ``name`` stands for: a fine-tuned name's base, an alias's dated
        model."""
        base = base_model_name(name)
        return self.model_aliases.get(base, base)

    def model(self, name: str) -> ModelFacts | None:
        """The facts of ``name`` (an alias or a fine-tune resolves to its base); None when not
        listed."""
        base = self.base_name(name)
        return next((m for m in self.models if m.name == base), None)


def base_model_name(model: str) -> str:
    """``ft:<base>:<org>:<suffix>:<id>`` (or a checkpoint of one) -> ``<base>``; others
    unchanged."""
    model = model.strip()
    if model.startswith("ft:"):
        parts = model.split(":")
        if len(parts) < 2 or not parts[1]:
            raise UnknownModelError(
                f"model {model!r}: a fine-tuned name looks like ft:<base>:<org>::<id>"
            )
        return parts[1]
    return model


_OPENAI_PRICES = (
    "OpenAI pricing page (Fine-tuning), as recorded in the project's issue 4 (November 2026), "
    "not re-read online"
)
_OPENAI_SHUTDOWN = "OpenAI deprecations page, " + ISSUE_14
_OPENAI_DPO = "OpenAI's DPO guide lists the gpt-4.1 family only, " + ISSUE_14
_OPENAI_LIMITS = JobLimits(
    epochs=(1, 50), batch_size=(1, 256), beta_max=2.0, beta_max_inclusive=True, seed=(0, 2**31 - 1),
    suffix_max=64, min_examples=10, learning_rate="multiplier", source=OPENAI_SPEC,
)
# The dated snapshots named in issue 14 and the fine-tuning guide's per-example token limits.
_OPENAI_ALIASES = {
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-3.5-turbo-0125": "gpt-3.5-turbo",
    "gpt-3.5-turbo-1106": "gpt-3.5-turbo",
    "gpt-3.5-turbo-0613": "gpt-3.5-turbo",
}


def _openai_models(prices: dict[str, float | None], price_source: str, *, shutdowns: bool,
                   names: tuple[str, ...] | None = None) -> tuple[ModelFacts, ...]:
    """The OpenAI model family (or ``names`` of it); Azure fine-tunes the same snapshots at its own
    prices and dates."""
    dated = {
        "gpt-4.1-2025-04-14": (_dt.date(2027, 1, 14), (SUPERVISED, DPO)),
        "gpt-4.1-mini-2025-04-14": (_dt.date(2027, 1, 14), (SUPERVISED, DPO)),
        "gpt-4.1-nano-2025-04-14": (_dt.date(2026, 10, 23), (SUPERVISED, DPO)),
        "gpt-4o-2024-08-06": (_dt.date(2027, 1, 14), (SUPERVISED,)),
        "gpt-4o-mini-2024-07-18": (_dt.date(2027, 1, 14), (SUPERVISED,)),
        "gpt-3.5-turbo": (_dt.date(2026, 10, 23), (SUPERVISED,)),
    }
    return tuple(
        ModelFacts(
            name=name, price_per_million=prices.get(name), price_source=price_source,
            methods=methods, methods_source=_OPENAI_DPO,
            shutdown_on=shutdown if shutdowns else None,
            shutdown_source=_OPENAI_SHUTDOWN if shutdowns else "",
            encoding="cl100k_base" if name.startswith("gpt-3.5") else "o200k_base",
            max_tokens_per_example=16_385 if name.startswith("gpt-3.5") else 65_536,
        )
        for name, (shutdown, methods) in dated.items() if names is None or name in names
    )


OPENAI = ProviderFacts(
    name="openai",
    title="OpenAI",
    sdk="openai",
    models=_openai_models(
        {
            "gpt-4.1-2025-04-14": 25.00,
            "gpt-4.1-mini-2025-04-14": 5.00,
            "gpt-4.1-nano-2025-04-14": 1.50,
            "gpt-4o-2024-08-06": 25.00,
            "gpt-4o-mini-2024-07-18": 3.00,
            "gpt-3.5-turbo": 8.00,
        },
        _OPENAI_PRICES,
        shutdowns=True,
    ),
    limits=_OPENAI_LIMITS,
    jobs_until=_dt.date(2027, 1, 6),
    jobs_until_source="OpenAI's fine-tuning shutdown notice, " + ISSUE_14,
    restrictions=(
        Restriction(
            _dt.date(2026, 5, 7),
            "new organisations",
            "OpenAI's fine-tuning shutdown notice, " + ISSUE_14,
        ),
        Restriction(
            _dt.date(2026, 7, 2),
            "organisations with no recent fine-tuned inference",
            "OpenAI's fine-tuning shutdown notice, " + ISSUE_14,
        ),
    ),
    credentials=("OPENAI_API_KEY",),
    model_aliases=_OPENAI_ALIASES,
)

AZURE = ProviderFacts(
    name="azure",
    title="Azure OpenAI",
    sdk="openai (AzureOpenAI)",
    # Azure bills its own training rate (and hosting per
    # hour); none was recorded: budget.prices must give it.
    models=_openai_models(
        {},
        "Azure OpenAI's pricing page could not be read when these facts were recorded",
        shutdowns=False,
        names=(
            "gpt-4.1-2025-04-14",
            "gpt-4.1-mini-2025-04-14",
            "gpt-4.1-nano-2025-04-14",
            "gpt-4o-2024-08-06",
            "gpt-4o-mini-2024-07-18",
        ),
    ),
    limits=replace(
        _OPENAI_LIMITS,
        source="the same fine-tuning job API as OpenAI's (OpenAPI spec ranges), " + ISSUE_14,
    ),
    # the management token only when the gate deploys a model (azure.management_token_env)
    credentials=("AZURE_OPENAI_API_KEY", "AZURE_MANAGEMENT_TOKEN"),
    notes=(
        "Azure's own retirement dates were not recorded; OpenAI's self-serve cutoff is not "
        "Azure's. A fine-tuned model serves only once deployed: the gate deploys it through the "
        "control plane (billed per hour) and tears it down unless it is promoted."
    ),
    model_aliases=_OPENAI_ALIASES,
)

def _open_model(
    name: str, price_per_million: float | None, price_source: str, methods_source: str
) -> ModelFacts:
    """An open-weights model a vendor (Together, Fireworks) tunes with SFT or DPO; its tokens are
    counted with the stand-in encoding, not its own tokenizer."""
    return ModelFacts(
        name=name,
        price_per_million=price_per_million,
        price_source=price_source,
        methods=(SUPERVISED, DPO),
        methods_source=methods_source,
        exact_tokens=False,
    )


_TOGETHER_PRICE = "together.ai/pricing could not be read when these facts were recorded"
_TOGETHER_LIMITS = "Together fine-tuning API reference and the together SDK, " + ISSUE_14
TOGETHER = ProviderFacts(
    name="together",
    title="Together AI",
    sdk="together",
    models=tuple(
        _open_model(name, None, _TOGETHER_PRICE, "Together SDK: training_method sft | dpo")
        for name in (
            "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
            "meta-llama/Meta-Llama-3.1-70B-Instruct-Reference",
            "Qwen/Qwen2.5-7B-Instruct",
        )
    ),
    limits=JobLimits(
        epochs=(1, 20),
        batch_size=None,
        beta_max=None,
        beta_max_inclusive=False,
        seed=(0, 2**31 - 1),
        suffix_max=40,
        min_examples=1,
        learning_rate="absolute",
        default_epochs=1,
        bills_validation=True,
        source=_TOGETHER_LIMITS,
    ),
    credentials=("TOGETHER_API_KEY",),
    notes=(
        "Together bills every processed token, validation "
        "included; its own estimate is checked before the job."
    ),
)

_FIREWORKS_PRICE = (
    "fireworks.ai/pricing (tuning: $0.50 per 1M training tokens up to 16B parameters, $3.00 for "
    "16.1B-80B), read from a stored copy of unknown date, not re-read online"
)
_FIREWORKS_METHODS = "fireworks-ai SDK: supervisedFineTuningJobs and dpoJobs"
FIREWORKS = ProviderFacts(
    name="fireworks",
    title="Fireworks AI",
    sdk="fireworks-ai",
    models=tuple(
        _open_model(name, price, _FIREWORKS_PRICE, _FIREWORKS_METHODS)
        for name, price in (
            ("accounts/fireworks/models/llama-v3p1-8b-instruct", 0.50),
            ("accounts/fireworks/models/qwen2p5-7b-instruct", 0.50),
            ("accounts/fireworks/models/llama-v3p1-70b-instruct", 3.00),
        )
    ),
    # DPO beta "> 0 and < 0.5" is the SDK's own field documentation (DpoConfig.beta).
    limits=JobLimits(
        epochs=(1, 100),
        batch_size=None,
        beta_max=0.5,
        beta_max_inclusive=False,
        seed=None,
        suffix_max=63,
        min_examples=3,
        learning_rate="absolute",
        max_file_bytes=150 * 1024 * 1024,
        default_epochs=1,
        source=(
            "Fireworks datasets API (at least 3 examples; :upload takes up to 150 MB), "
            "fireworks-ai SDK field docs; resource ids follow AIP-122 (63 characters). "
            "Epoch ceiling not recorded: 100 is this project's guard. " + ISSUE_14
        ),
    ),
    credentials=("FIREWORKS_API_KEY", "FIREWORKS_ACCOUNT_ID"),
    notes=(
        "Jobs take no seed. Datasets and jobs are named by us, so a resumed run finds them by name."
    ),
)

PROVIDERS: dict[str, ProviderFacts] = {p.name: p for p in (OPENAI, AZURE, TOGETHER, FIREWORKS)}
LOCAL = "local"  # the trainer on the user's own model: no vendor, no dates, held to minutes


def provider_facts(name: str) -> ProviderFacts:
    """The facts of provider ``name``; a ``ConfigError`` lists the known ones."""
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ConfigError(f"training.provider: unknown provider {name!r} "
                          f"(known: {', '.join([*PROVIDERS, LOCAL])})") from None

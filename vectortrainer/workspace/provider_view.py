"""What ``vectortrainer providers`` shows: every provider, its models, their dates and prices, and
the credentials.

One engine view for every face: the facts come from :mod:`vectortrainer.budget.catalog`
with the config's ``schedule:`` and ``budget.prices`` applied, the credentials are the
environment variables the config names (only whether each is set; never a value).
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import asdict, dataclass, field

from vectortrainer.budget.catalog import PROVIDERS
from vectortrainer.budget.schedule import current_date, provider_schedule, schedule_warnings
from vectortrainer.config import Config
from vectortrainer.json_types import JSONObject
from vectortrainer.training.factory import trains_locally


@dataclass(frozen=True)
class ModelRow:
    name: str
    price_per_million: float | None
    price_source: str
    methods: tuple[str, ...]
    shutdown_on: str | None
    open: bool  # fine-tuning can still be started on it today


@dataclass(frozen=True)
class ProviderRow:
    name: str
    title: str
    sdk: str
    selected: bool
    open: bool  # new jobs accepted today
    jobs_until: str | None
    jobs_until_source: str
    restrictions: list[str]
    credentials: dict[str, bool]  # environment variable (or config key) -> set?
    models: list[ModelRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: str = ""

    def to_dict(self) -> JSONObject:
        return asdict(self)


def provider_overview(config: Config, today: _dt.date | None = None) -> list[ProviderRow]:
    """Every provider as it stands ``today`` (default: today) under ``config``."""
    today = today or current_date()
    rows = [_hosted_row(name, config, today) for name in PROVIDERS]
    rows.append(
        ProviderRow(
            name="local",
            title="Local (your model, your machine)",
            sdk="transformers + peft + trl",
            selected=trains_locally(config.training.provider),
            open=True,
            jobs_until=None,
            jobs_until_source="",
            restrictions=[],
            credentials={"training.local_model": config.training.local_model is not None},
            notes="No vendor and no dates: a run is held to budget.max_minutes instead of dollars.",
        )
    )
    return rows


def _hosted_row(name: str, config: Config, today: _dt.date) -> ProviderRow:
    schedule = provider_schedule(name, config.schedule)
    facts = schedule.facts
    selected = config.training.provider == name
    prices = config.budget.prices if selected else {}
    models = []
    for model in facts.models:
        shutdown = schedule.shutdown_of(model.name)
        price = prices.get(model.name, model.price_per_million)
        models.append(
            ModelRow(
                name=model.name,
                price_per_million=price,
                price_source="budget.prices in the config"
                if model.name in prices
                else model.price_source,
                methods=model.methods,
                shutdown_on=shutdown[0].isoformat() if shutdown else None,
                open=(shutdown is None or today < shutdown[0])
                and (schedule.jobs_until is None or today <= schedule.jobs_until),
            )
        )
    shown = config.training.model if selected else facts.models[0].name
    return ProviderRow(
        name=name,
        title=facts.title,
        sdk=facts.sdk,
        selected=selected,
        open=schedule.jobs_until is None or today <= schedule.jobs_until,
        jobs_until=schedule.jobs_until.isoformat() if schedule.jobs_until else None,
        jobs_until_source=schedule.jobs_until_source,
        restrictions=[
            f"closed to {r.who} since {r.since.isoformat()}"
            for r in facts.restrictions
            if r.since <= today
        ],
        credentials=_credentials(name, config),
        models=models,
        warnings=schedule_warnings(name, shown, today=today, overrides=config.schedule)
        if facts.model(shown)
        else [],
        notes=facts.notes,
    )


def _credentials(name: str, config: Config) -> dict[str, bool]:
    """The environment variables (or config keys) the provider's trainer reads, and whether each is
    set."""

    def env(variable: str) -> bool:
        return bool(os.environ.get(variable))

    if name == "openai":
        return {config.openai.api_key_env: env(config.openai.api_key_env)}
    if name == "azure":
        endpoint = "azure.endpoint" if config.azure.endpoint else "AZURE_OPENAI_ENDPOINT"
        return {config.azure.api_key_env: env(config.azure.api_key_env),
                endpoint: bool(config.azure.endpoint) or env("AZURE_OPENAI_ENDPOINT")}
    if name == "together":
        return {config.together.api_key_env: env(config.together.api_key_env)}
    account = "fireworks.account_id" if config.fireworks.account_id else "FIREWORKS_ACCOUNT_ID"
    return {config.fireworks.api_key_env: env(config.fireworks.api_key_env),
            account: bool(config.fireworks.account_id) or env("FIREWORKS_ACCOUNT_ID")}

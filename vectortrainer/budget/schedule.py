"""The providers' published schedule, applied: refuse a job past a cutoff or a shutdown, warn ahead
of one (VT-14).

The dates are data in :mod:`vectortrainer.budget.catalog`; the config's ``schedule:``
section overrides them (``openai: 2027-01-06`` for the provider's last day of new
jobs, ``openai/gpt-4o-2024-08-06: 2027-01-14`` for a model's shutdown), because
vendors move dates and a user should not wait for a release to follow them.

A provider's API may report a model's shutdown date itself (OpenAI's models endpoint
does): a :class:`ReportedShutdown` replaces the catalogue's date for that model, and the
config's ``schedule:`` still has the last word. :func:`past_shutdown` is the one test of
"this model no longer serves", for training and for promotion alike.

"Today" is :func:`current_date`: the real date, or ``VECTORTRAINER_TODAY`` (an ISO
date) to rehearse a cutoff before it happens. Every check takes ``today`` too, so
tests and callers inject the clock.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

from vectortrainer.budget.catalog import LOCAL, PROVIDERS, ProviderFacts, provider_facts
from vectortrainer.errors import (
    ConfigError,
    FineTuningClosedError,
    RetiredModelError,
    UnknownModelError,
)

TODAY_ENV = "VECTORTRAINER_TODAY"
WARNING_WINDOW_DAYS = 30
ScheduleOverrides = Mapping[str, str]  # the config's ``schedule:`` section


def current_date() -> _dt.date:
    """Today, or the date in ``VECTORTRAINER_TODAY`` (to rehearse a cutoff)."""
    value = os.environ.get(TODAY_ENV, "").strip()
    if not value:
        return _dt.date.today()
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{TODAY_ENV}={value!r}: expected a date like 2027-01-06 (or unset it)"
        ) from None


def parse_schedule_date(key: str, value: str) -> _dt.date:
    """A ``schedule:`` value as a date; the error names the key."""
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"schedule.{key}: expected a date like 2027-01-06, got {value!r}"
        ) from None


@dataclass(frozen=True)
class ReportedShutdown:
    """What a provider's API said of ``model``'s shutdown: the date (``on``), or None when it
    gave none or could not be read, so the catalogue's date stands; ``source`` says which."""

    model: str
    on: _dt.date | None
    source: str

    @property
    def news(self) -> str:
        """The run's log line of it."""
        if self.on is None:
            return f"shutdown date of {self.model}: {self.source}"
        return f"{self.model} shuts down on {self.on.isoformat()} ({self.source})"


@dataclass(frozen=True)
class ProviderSchedule:
    """A provider's dates after the config's overrides."""

    facts: ProviderFacts
    jobs_until: _dt.date | None
    jobs_until_source: str
    shutdowns: dict[str, tuple[_dt.date, str]]  # model -> (date, source)

    def shutdown_of(self, model: str) -> tuple[_dt.date, str] | None:
        return self.shutdowns.get(self.facts.base_name(model))


def provider_schedule(
    provider: str, overrides: ScheduleOverrides | None = None,
    reported: ReportedShutdown | None = None,
) -> ProviderSchedule:
    """``provider``'s published dates, with the date its API ``reported`` (when it gave one) and
    the ``schedule:`` overrides applied, in that order."""
    facts = provider_facts(provider)
    jobs_until, jobs_source = facts.jobs_until, facts.jobs_until_source
    shutdowns = {
        m.name: (m.shutdown_on, m.shutdown_source)
        for m in facts.models
        if m.shutdown_on is not None
    }
    # The provider's own word is fresher than the catalogue; the user's config still wins.
    if reported is not None and reported.on is not None:
        shutdowns[facts.base_name(reported.model)] = (reported.on, reported.source)
    for key, value in (overrides or {}).items():
        name, _, model = key.partition("/")
        if name != provider:
            continue
        when = parse_schedule_date(key, value)
        if model and facts.model(model) is None:
            known = ", ".join(m.name for m in facts.models)
            raise ConfigError(
                f"schedule.{key}: {facts.title} lists no model {model!r} (known: {known})"
            )
        if model:
            shutdowns[facts.base_name(model)] = (when, f"schedule.{key} in the config")
        else:
            jobs_until, jobs_source = when, f"schedule.{key} in the config"
    return ProviderSchedule(facts, jobs_until, jobs_source, shutdowns)


def alternatives(provider: str) -> str:
    """The other providers, as the config line that picks them."""
    others = [name for name in (*PROVIDERS, LOCAL) if name != provider]
    return f"training.provider: {' | '.join(others)} (see `vectortrainer providers`)"


def past_shutdown(provider: str, model: str, *, today: _dt.date | None = None,
                  overrides: ScheduleOverrides | None = None,
                  reported: ReportedShutdown | None = None) -> tuple[_dt.date, str] | None:
    """``model``'s shutdown (date, source) when it is on or before ``today``; None while it serves.

    A local model, a provider this project has no facts of, and a name no base model can be
    read from never shut down: there is no date to hold them to.
    """
    if provider not in PROVIDERS:
        return None
    try:
        shutdown = provider_schedule(provider, overrides, reported).shutdown_of(model)
    except UnknownModelError:
        return None
    today = today or current_date()
    return shutdown if shutdown is not None and today >= shutdown[0] else None


def check_open(provider: str, model: str, *, today: _dt.date | None = None,
               overrides: ScheduleOverrides | None = None,
               reported: ReportedShutdown | None = None,
               spared: str = "Nothing was uploaded") -> None:
    """Refuse (before any upload) a job past ``provider``'s cutoff or past ``model``'s shutdown
    (the date its API ``reported``, else the catalogue's; the config's over both). ``spared``
    says what the refusal kept from happening."""
    schedule = provider_schedule(provider, overrides, reported)
    today = today or current_date()
    title = schedule.facts.title
    if schedule.jobs_until is not None and today > schedule.jobs_until:
        raise FineTuningClosedError(
            f"{title} creates no new fine-tuning jobs after {schedule.jobs_until.isoformat()} "
            f"({schedule.jobs_until_source}); today is {today.isoformat()}. "
            f"{spared}. Switch provider with {alternatives(provider)}, "
            f"or set schedule.{provider} in the config if {title} moved the date"
        )
    shutdown = schedule.shutdown_of(model)
    if shutdown is not None and today >= shutdown[0]:
        base = schedule.facts.base_name(model)
        live = [m.name for m in schedule.facts.models
                if (s := schedule.shutdown_of(m.name)) is None or today < s[0]]
        example = f" (e.g. {', '.join(live)})" if live else ""
        raise RetiredModelError(
            f"model {model!r}: fine-tuning of {base} was retired on "
            f"{shutdown[0].isoformat()} (it shut down; source: {shutdown[1]}). {spared}. "
            f"Pick a current model with training.model{example}, or another "
            f"provider: {alternatives(provider)}"
        )


def schedule_warnings(provider: str, model: str, *, today: _dt.date | None = None,
                      overrides: ScheduleOverrides | None = None) -> list[str]:
    """What an estimate should warn about: restrictions in force, a cutoff or shutdown within 30
    days."""
    schedule = provider_schedule(provider, overrides)
    today = today or current_date()
    title = schedule.facts.title
    warnings = []
    active = [r for r in schedule.facts.restrictions if r.since <= today]
    if active:
        closed = " and ".join(f"to {r.who} since {r.since.isoformat()}" for r in active)
        warnings.append(f"{title} fine-tuning is closed {closed} (403 training_not_available)")
    if (
        schedule.jobs_until is not None
        and 0 <= (schedule.jobs_until - today).days <= WARNING_WINDOW_DAYS
    ):
        days = (schedule.jobs_until - today).days
        others = " | ".join(name for name in (*PROVIDERS, LOCAL) if name != provider)
        warnings.append(
            f"{title} creates no new fine-tuning jobs after {schedule.jobs_until.isoformat()} "
            f"(in {days} day{'s' if days != 1 else ''}); switch with training.provider: {others}"
        )
    shutdown = schedule.shutdown_of(model)
    if shutdown is not None and 0 <= (shutdown[0] - today).days <= WARNING_WINDOW_DAYS:
        days = (shutdown[0] - today).days
        warnings.append(f"{schedule.facts.base_name(model)} and its fine-tunes shut down on "
                        f"{shutdown[0].isoformat()} (in {days} day{'s' if days != 1 else ''})")
    return warnings

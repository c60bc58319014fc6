"""The providers' facts and schedule: sourced data, cutoffs refused, warnings ahead, config overrides (VT-14)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from vectortrainer.budget.catalog import PROVIDERS
from vectortrainer.budget.guards import check_budget
from vectortrainer.budget.pricing import resolve_model
from vectortrainer.budget.schedule import (
    ReportedShutdown,
    check_open,
    current_date,
    past_shutdown,
    schedule_warnings,
)
from vectortrainer.workspace.budget_view import budget_view
from vectortrainer.config import Config
from vectortrainer.errors import ConfigError, FineTuningClosedError, RetiredModelError, UnknownModelError

BEFORE = dt.date(2026, 12, 1)  # 36 days before OpenAI's cutoff


def test_every_recorded_figure_carries_its_source():
    for provider in PROVIDERS.values():
        assert provider.limits.source, provider.name
        if provider.jobs_until is not None:
            assert provider.jobs_until_source
        for model in provider.models:
            assert model.price_source, model.name
            if model.shutdown_on is not None:
                assert model.shutdown_source, model.name
        assert all(r.source for r in provider.restrictions)


def test_openais_published_dates_are_the_issues():
    openai = PROVIDERS["openai"]
    assert openai.jobs_until == dt.date(2027, 1, 6)
    assert [r.since for r in openai.restrictions] == [dt.date(2026, 5, 7), dt.date(2026, 7, 2)]
    for name in ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14"):
        assert openai.model(name).shutdown_on == dt.date(2027, 1, 14)
    assert openai.model("ft:gpt-4o-mini-2024-07-18:acme::abc").shutdown_on == dt.date(2027, 1, 14)


def test_past_the_cutoff_every_openai_model_is_refused_and_the_message_says_when_why_and_what_else():
    with pytest.raises(FineTuningClosedError) as info:
        check_open("openai", "gpt-4.1-mini-2025-04-14", today=dt.date(2027, 1, 7))
    message = str(info.value)
    assert "after 2027-01-06" in message and "today is 2027-01-07" in message and "issue 14" in message
    assert "training.provider: azure | together | fireworks | local" in message
    check_open("openai", "gpt-4.1-mini-2025-04-14", today=dt.date(2027, 1, 6))  # the last day still works
    check_open("together", "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", today=dt.date(2030, 1, 1))


def test_a_model_past_its_shutdown_is_refused_with_the_date():
    with pytest.raises(RetiredModelError, match="retired on 2026-10-23"):
        check_open("openai", "gpt-4.1-nano-2025-04-14", today=BEFORE)
    with pytest.raises(RetiredModelError, match="retired on 2027-01-14.*another provider"):
        check_open("openai", "ft:gpt-4o-2024-08-06:acme::x", today=dt.date(2027, 1, 14),
                   overrides={"openai": "2027-02-01"})  # the cutoff moved; the model's shutdown did not


def test_warnings_within_30_days_and_restrictions_in_force():
    quiet = schedule_warnings("openai", "gpt-4o-mini-2024-07-18", today=BEFORE)
    assert len(quiet) == 1 and "closed to new organisations since 2026-05-07" in quiet[0]
    near = schedule_warnings("openai", "gpt-4o-mini-2024-07-18", today=dt.date(2026, 12, 15))
    assert any("after 2027-01-06 (in 22 days)" in w for w in near)
    assert any("gpt-4o-mini-2024-07-18 and its fine-tunes shut down on 2027-01-14 (in 30 days)" in w for w in near)
    assert schedule_warnings("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct", today=BEFORE) == []


def test_the_config_overrides_the_dates():
    overrides = {"openai": "2027-03-01", "openai/gpt-4o-mini-2024-07-18": "2027-06-01"}
    check_open("openai", "gpt-4o-mini", today=dt.date(2027, 2, 1), overrides=overrides)
    with pytest.raises(FineTuningClosedError, match="schedule.openai in the config"):
        check_open("openai", "gpt-4o-mini", today=dt.date(2027, 3, 2), overrides=overrides)
    with pytest.raises(ConfigError, match="lists no model 'gpt-9'"):
        check_open("openai", "gpt-4o-mini", today=BEFORE, overrides={"openai/gpt-9": "2027-01-01"})


def test_schedule_keys_and_dates_are_checked_when_the_config_loads(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("schedule:\n  openai: 2027-02-01\n  openai/gpt-4o-2024-08-06: 2027-03-01\n", encoding="utf-8")
    from vectortrainer.config import load_config

    assert load_config(path).schedule == {"openai": "2027-02-01", "openai/gpt-4o-2024-08-06": "2027-03-01"}
    path.write_text("schedule:\n  openia: 2027-02-01\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="schedule.openia: unknown provider 'openia'"):
        load_config(path)
    path.write_text("schedule:\n  openai: soon\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="schedule.openai: expected a date"):
        load_config(path)


def test_today_can_be_rehearsed_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.setenv("VECTORTRAINER_TODAY", "2027-01-07")
    assert current_date() == dt.date(2027, 1, 7)
    with pytest.raises(FineTuningClosedError):
        resolve_model("gpt-4o-mini")
    monkeypatch.setenv("VECTORTRAINER_TODAY", "next tuesday")
    with pytest.raises(ConfigError, match="VECTORTRAINER_TODAY='next tuesday'"):
        current_date()


def test_a_model_without_a_recorded_price_needs_one_from_the_config():
    model = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    with pytest.raises(UnknownModelError, match=r"no training price is recorded.*budget.prices: \{meta-llama"):
        resolve_model(model, provider="together")
    info = resolve_model(model, {model: 3.0}, provider="together")
    assert info.price_per_million == 3.0 and info.price_source == "budget.prices in the config"
    assert not info.exact_tokens  # counted with o200k_base as a stand-in for Llama's tokenizer
    unlisted = resolve_model("my-org/my-model", {"my-org/my-model": 1.0}, provider="together")
    assert unlisted.encoding == "o200k_base" and not unlisted.exact_tokens


def test_an_estimate_names_its_provider_its_warnings_and_an_approximate_count(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                     {"role": "assistant", "content": "a"}]}) + "\n"
                            for i in range(12)), encoding="utf-8")
    openai = check_budget(path, "gpt-4o-mini", 5.0, today=dt.date(2026, 12, 20))
    view = budget_view(openai)
    assert dict(view.rows)["provider"] == "OpenAI" and len(view.warnings) == 3
    assert "(in 17 days)" in " ".join(view.warnings)
    fireworks = check_budget(path, "accounts/fireworks/models/llama-v3p1-8b-instruct", 5.0, provider="fireworks")
    rows = dict(budget_view(fireworks).rows)
    assert rows["provider"] == "Fireworks AI" and "approximate: o200k_base" in rows["tokens per epoch"]
    assert fireworks.n_epochs == 1 and budget_view(fireworks).warnings == ()


def test_together_bills_the_validation_pass(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text((json.dumps({"messages": [{"role": "user", "content": "q"},
                                              {"role": "assistant", "content": "a"}]}) + "\n") * 10,
                    encoding="utf-8")
    model = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    without = check_budget(path, model, None, 2, prices={model: 1.0}, provider="together")
    with_valid = check_budget(path, model, None, 2, prices={model: 1.0}, provider="together", validation_path=path)
    assert with_valid.billed_tokens == without.billed_tokens + without.tokens_per_epoch
    openai = check_budget(path, "gpt-4o-mini", None, 2, validation_path=path)
    assert openai.billed_tokens == openai.tokens_per_epoch * 2  # OpenAI's validation tokens are free


def test_training_trainer_is_read_as_training_provider(tmp_path):
    from vectortrainer.config import load_config

    path = tmp_path / "config.yaml"
    path.write_text("training:\n  trainer: local\n", encoding="utf-8")
    config = load_config(path)
    assert config.training.provider == "local" and config.training.trainer is None
    path.write_text("training:\n  trainer: local\n  provider: together\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="training.trainer: 'local' contradicts training.provider: 'together'"):
        load_config(path)
    assert Config().with_overrides(**{"training.trainer": "local"}).training.provider == "local"


ENDPOINT = "OpenAI's models endpoint (GET /v1/models/gpt-4o-mini): shutdown_date"


def test_a_date_the_provider_reported_replaces_the_catalogues_and_is_named_as_the_source():
    earlier = ReportedShutdown("gpt-4o-mini", dt.date(2026, 11, 30), ENDPOINT)
    with pytest.raises(RetiredModelError) as info:
        check_open("openai", "gpt-4o-mini-2024-07-18", today=BEFORE, reported=earlier)
    message = str(info.value)
    assert "'gpt-4o-mini-2024-07-18'" in message and "retired on 2026-11-30" in message
    assert f"source: {ENDPOINT}" in message and "training.model (e.g. " in message
    offered = message.split("(e.g. ")[1].split(")")[0].split(", ")
    assert offered and "gpt-4o-mini-2024-07-18" not in offered  # not offered as a current model
    assert "`vectortrainer providers`" in message
    # A later date lets the model train past the catalogue's (the cutoff moved by the config).
    later = ReportedShutdown("gpt-4o-mini", dt.date(2027, 6, 1), ENDPOINT)
    check_open("openai", "gpt-4o-mini", today=dt.date(2027, 2, 1), overrides={"openai": "2027-12-31"},
               reported=later)
    # No date reported: the catalogue's stands.
    silent = ReportedShutdown("gpt-4o-mini", None, "from the catalogue; the endpoint gave no shutdown_date")
    assert past_shutdown("openai", "gpt-4o-mini", today=dt.date(2027, 1, 14), reported=silent) == (
        dt.date(2027, 1, 14), PROVIDERS["openai"].model("gpt-4o-mini").shutdown_source)


def test_the_config_has_the_last_word_over_the_providers_date():
    earlier = ReportedShutdown("gpt-4o-mini", dt.date(2026, 11, 30), ENDPOINT)
    overrides = {"openai/gpt-4o-mini-2024-07-18": "2027-01-01"}
    check_open("openai", "gpt-4o-mini", today=BEFORE, overrides=overrides, reported=earlier)
    assert past_shutdown("openai", "gpt-4o-mini", today=BEFORE, reported=earlier) == (
        dt.date(2026, 11, 30), ENDPOINT)
    assert past_shutdown("openai", "gpt-4o-mini", today=BEFORE, overrides=overrides, reported=earlier) is None


def test_only_a_providers_listed_model_can_be_past_its_shutdown():
    assert past_shutdown("openai", "gpt-4.1-nano-2025-04-14", today=BEFORE)[0] == dt.date(2026, 10, 23)
    assert past_shutdown("openai", "ft:gpt-4.1-nano-2025-04-14:acme::x", today=BEFORE) is not None
    assert past_shutdown("openai", "gpt-4o-mini", today=BEFORE) is None  # not yet
    assert past_shutdown("local", "HuggingFaceTB/SmolLM2-135M-Instruct", today=dt.date(2099, 1, 1)) is None
    assert past_shutdown("a-provider-we-never-heard-of", "gpt-4.1-nano", today=BEFORE) is None
    assert past_shutdown("openai", "ft:", today=BEFORE) is None  # no base to read: no date to hold it to

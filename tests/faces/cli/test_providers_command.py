"""`vectortrainer providers`: every provider with its models, dates, prices and credentials (never a secret)."""

from __future__ import annotations

import json

from vectortrainer.cli import main


def test_the_json_lists_every_provider_with_dates_prices_and_whether_credentials_are_set(capsys, monkeypatch):
    monkeypatch.setenv("TOGETHER_API_KEY", "tg-secret-value")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(["providers", "--json"]) == 0
    out = capsys.readouterr().out
    rows = {row["name"]: row for row in json.loads(out)}
    assert list(rows) == ["openai", "azure", "together", "fireworks", "local"]
    openai = rows["openai"]
    assert openai["selected"] and openai["open"] and openai["jobs_until"] == "2027-01-06"
    assert openai["credentials"] == {"OPENAI_API_KEY": False}
    assert {m["name"]: m["shutdown_on"] for m in openai["models"]}["gpt-4o-mini-2024-07-18"] == "2027-01-14"
    assert {m["name"]: m["open"] for m in openai["models"]}["gpt-4.1-nano-2025-04-14"] is False  # shut down
    assert rows["together"]["credentials"] == {"TOGETHER_API_KEY": True}
    assert all(m["price_per_million"] is None for m in rows["together"]["models"])
    assert all(m["price_source"] for row in rows.values() for m in row["models"])
    assert "tg-secret-value" not in out


def test_past_the_cutoff_the_table_says_openai_is_closed(capsys, monkeypatch):
    monkeypatch.setenv("VECTORTRAINER_TODAY", "2027-01-07")
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["providers"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "OpenAI (openai, SDK openai): closed (no new jobs after 2027-01-06)" in err
    assert "Together AI (together, SDK together): open" in err

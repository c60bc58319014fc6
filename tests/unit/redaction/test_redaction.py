"""Redaction by value, of URL user info and by shape; config refuses a key where a variable name belongs."""

from __future__ import annotations

import argparse
import json
import secrets
import string

import pytest

from vectortrainer.config import load_config
from vectortrainer.errors import ConfigError, describe
from vectortrainer.redaction import (
    REDACTED,
    known_secret_values,
    redact_secrets,
    redact_text,
    register_secret,
    to_json,
)
from vectortrainer.workspace import Workspace
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.events import EventLog


def _token(length: int = 40) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


@pytest.mark.parametrize("variable", ["OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "TOGETHER_API_KEY",
                                      "FIREWORKS_API_KEY"])
def test_the_value_of_every_providers_key_variable_is_redacted_whatever_its_shape(monkeypatch, variable):
    key = _token()
    monkeypatch.setenv(variable, key)

    assert redact_text(f"401: key {key} is not valid") == f"401: key {REDACTED} is not valid"
    assert key not in to_json({"message": f"job failed ({key})", "nested": [key], key: 1})
    assert key not in describe(RuntimeError(f"boom {key}"))


def test_a_variable_a_config_names_is_redacted_by_value_from_start_up(tmp_path, monkeypatch):
    key = _token()
    monkeypatch.setenv("MY_TEAM_KEY", key)
    assert key in redact_text(key)  # not known yet
    path = tmp_path / "config.yaml"
    path.write_text("training:\n  provider: together\ntogether:\n  api_key_env: MY_TEAM_KEY\n", encoding="utf-8")

    config = load_config(path)
    config.register_secrets()

    assert key not in redact_text(f"key={key}")


def test_loading_and_checking_a_config_register_nothing_start_up_does(tmp_path, monkeypatch):
    key, password = _token(), _token(24)
    monkeypatch.setenv("MY_OTHER_TEAM_KEY", key)
    path = tmp_path / "config.yaml"
    path.write_text(f"fireworks:\n  api_key_env: MY_OTHER_TEAM_KEY\n"
                    f"  base_url: https://proxyuser:{password}@proxy.example/v1\n", encoding="utf-8")

    config = load_config(path)
    checked = config.with_overrides("dataset screen", **{"selection.top_k": "7"})  # a screen checks settings

    assert key in redact_text(key) and password not in known_secret_values()
    Workspace(checked)  # a library user's start-up
    assert key not in redact_text(f"key={key}") and password in known_secret_values()
    assert redact_text(f"said {password}") == f"said {REDACTED}"


def test_every_face_and_the_pipeline_register_the_config_at_start_up(tmp_path, monkeypatch):
    from vectortrainer.cli.common import config_from_args
    from vectortrainer.pipeline import TrainingPipeline

    for name, start in (
        ("VT_CLI_KEY", lambda config_path: config_from_args(argparse.Namespace(config=config_path))),
        ("VT_PIPELINE_KEY", lambda config_path: TrainingPipeline(load_config(config_path))),
    ):
        key = _token()
        monkeypatch.setenv(name, key)
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"azure:\n  api_key_env: {name}\n", encoding="utf-8")
        load_config(path)
        assert key in redact_text(key)
        start(path)
        assert key not in redact_text(key), name


def test_a_key_handed_over_in_code_is_redacted():
    key = _token()
    register_secret(key)
    assert redact_secrets({"detail": f"x {key} y"}) == {"detail": f"x {REDACTED} y"}


def test_short_values_are_not_redacted_by_value(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "abc")
    assert redact_text("abc def") == "abc def"


def test_user_info_in_urls_is_replaced():
    assert redact_text("POST https://bob:hunter2secret@proxy.example:8443/v1/files failed") == \
        f"POST https://{REDACTED}@proxy.example:8443/v1/files failed"
    assert redact_text("http://token@host/x") == f"http://{REDACTED}@host/x"
    assert redact_text("mail bob@example.com, see https://example.com/a@b") == \
        "mail bob@example.com, see https://example.com/a@b"


@pytest.mark.parametrize("section", ["openai", "azure", "together", "fireworks"])
@pytest.mark.parametrize("value", [_token(), f"tgp_v1_{_token(43)}", f"sk-proj-{_token(30)}",
                                   "0123456789abcdef0123456789abcdef"])
def test_an_api_key_env_holding_a_key_is_refused_without_showing_it(tmp_path, section, value):
    path = tmp_path / "config.yaml"
    path.write_text(f"{section}:\n  api_key_env: '{value}'\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    line = describe(caught.value)
    assert f"{section}.api_key_env" in line and value not in line and "\n" not in str(caught.value)


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "MY_PROD_OPENAI_KEY_2", "AZURE_OPENAI_API_KEY_WESTEUROPE_2024",
                                  "together_key"])
def test_ordinary_variable_names_are_accepted(tmp_path, name):
    path = tmp_path / "config.yaml"
    path.write_text(f"openai:\n  api_key_env: {name}\n", encoding="utf-8")
    assert load_config(path).openai.api_key_env == name


def test_credentials_in_base_url_reach_neither_run_json_nor_events(tmp_path):
    password = _token(24)
    path = tmp_path / "config.yaml"
    path.write_text(f"openai:\n  base_url: https://proxyuser:{password}@proxy.example/v1\n"
                    f"together:\n  base_url: https://{password}@together.example\n", encoding="utf-8")
    config = load_config(path)
    assert config.openai.base_url.startswith("https://proxyuser:")  # the client still gets the URL

    run = RunDirectory.create(tmp_path / "out", config.redacted(), run_id="r1")
    EventLog(run.events_path).append("log", message=f"calling {config.openai.base_url}: refused")

    written = (run.path / "run.json").read_text(encoding="utf-8") + run.events_path.read_text(encoding="utf-8")
    assert password not in written and "proxyuser" not in written
    assert json.loads((run.path / "run.json").read_text(encoding="utf-8"))["config"]["openai"]["base_url"] == \
        f"https://{REDACTED}@proxy.example/v1"


def test_a_trainer_built_in_code_with_a_key_as_its_variable_never_shows_it():
    from vectortrainer.errors import MissingAPIKeyError
    from vectortrainer.training.together import TogetherTrainer

    key = _token()
    trainer = TogetherTrainer(api_key_env=key)

    with pytest.raises(MissingAPIKeyError) as caught:
        trainer.api_key()

    assert key not in describe(caught.value)
    assert "no Together AI API key" in describe(caught.value)


def test_json_on_stdout_is_written_in_pieces_as_json_dumps_writes_it_and_redacted(capsys):
    """`rules synthesize --json` on 10,000 real pairs writes 50 MB: the CLI streams it, and a
    secret inside any string is still redacted, wherever the pieces are cut."""
    from vectortrainer.cli.output import write_json

    key = _token()
    register_secret(key)
    data = {"rejected": [{"reason": f"entry {i} é", "note": f"x {key} y" if i == 3000 else None}
                         for i in range(6000)], "url": "https://user:pw@example.com/x"}
    write_json(data, ensure_ascii=False)
    written = capsys.readouterr().out
    assert len(written) > 3 * (1 << 16)  # written in several pieces
    assert written == json.dumps(redact_secrets(data), ensure_ascii=False) + "\n"
    assert key not in written and "user:pw" not in written and f"x {REDACTED} y" in written

"""`vectortrainer models canary | stop-canary` (issue 26): what a canary serves, and a person's stop from
the command line or the application layer, after which the promoted model serves every call."""

from __future__ import annotations

import json

import pytest

from vectortrainer.cli import main
from vectortrainer.config import Config
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.runtime import promoted_model
from vectortrainer.workspace import Workspace

FUNCTION = "summarize_ticket"


@pytest.fixture
def registry(tmp_path):
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    registry.register(provider="openai", model="ft:incumbent", gate={"passed": True, "reason": "r"}, promote=True)
    registry.register(provider="openai", model="ft:candidate", gate={"passed": True, "reason": "r"})
    registry.start_canary("m002", 0.5)
    return registry


def _served(registry) -> set[str]:
    def summarize_ticket(ticket: str) -> str:
        return promoted_model(FUNCTION, models_dir=registry.models_dir, default="base", reload_interval=0)

    return {summarize_ticket(f"Order {i} is late.") for i in range(100)}


def test_the_cli_shows_the_canary_and_a_person_stops_it(registry, capsys):
    where = ["--function", FUNCTION, "--models-dir", str(registry.models_dir)]
    assert _served(registry) == {"ft:incumbent", "ft:candidate"}
    assert main(["models", "canary", *where]) == 0
    assert "canary of summarize_ticket: m002 ft:candidate serves 50% of calls beside m001" in capsys.readouterr().out
    assert main(["models", "canary", "--json", *where]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["canary"]["version_id"] == "m002" and shown["canary"]["share"] == 0.5

    assert main(["models", "stop-canary", *where]) == 0
    assert "stopped the canary of summarize_ticket: m001 serves every call again" in capsys.readouterr().out
    assert _served(registry) == {"ft:incumbent"}
    record = registry.list()[1].canary
    assert (record["state"], record["decided_by"]) == ("stopped", "person")

    assert main(["models", "stop-canary", *where]) == 1  # nothing left to stop: one clear line
    assert "no canary of summarize_ticket is running" in capsys.readouterr().err


def test_the_application_layer_stops_it_the_same_way(registry):
    workspace = Workspace(Config().with_overrides(**{"models.dir": registry.models_dir}))
    assert workspace.models.canary(FUNCTION).version_id == "m002"
    assert workspace.service(FUNCTION).canary.share == 0.5
    record = workspace.models.stop_canary(FUNCTION)
    assert (record.state, record.decided_by, record.incumbent_version) == ("stopped", "person", "m001")
    assert workspace.models.canary(FUNCTION) is None and _served(registry) == {"ft:incumbent"}

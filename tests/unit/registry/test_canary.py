"""The model registry's canary (issue 26): started, read, finished and stopped in locked, atomic writes;
promoted.json keeps the incumbent as its model; the candidate's entry records what became of it, by whom,
with the figures."""

from __future__ import annotations

import json

import pytest

from vectortrainer.errors import ModelRegistryError
from vectortrainer.registry.canary import uses_canary
from vectortrainer.registry.models import ModelRegistry

FUNCTION = "summarize_ticket"


@pytest.fixture
def registry(tmp_path):
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    registry.register(provider="openai", model="ft:one", gate={"passed": True, "reason": "r"}, promote=True)
    registry.register(provider="openai", model="ft:two", gate={"passed": True, "reason": "r"})
    return registry


def _states(registry):
    return [(e.version_id, e.promoted, e.canary.get("state")) for e in registry.list()]


def test_a_canary_starts_beside_the_promoted_model_and_is_read_back(registry):
    route = registry.start_canary("m002", 0.1)
    assert (route.version_id, route.model, route.share, route.incumbent_version) == ("m002", "ft:two", 0.1, "m001")
    assert registry.canary() == route
    assert _states(registry) == [("m001", True, None), ("m002", False, "running")]
    assert json.loads(registry.promoted_path.read_text())["model"] == "ft:one"
    assert registry.verify().ok and registry.verify().active_version == "m001"
    assert [r["action"] for r in registry.store.history()][-1] == "canary-start"


def test_the_loop_promotes_it_fully_with_its_figures(registry):
    registry.start_canary("m002", 0.1)
    record = registry.finish_canary(True, decided_by="loop", reason="not worse", figures={"calls": [210, 1900]})
    assert (record.state, record.decided_by, record.figures) == ("promoted", "loop", {"calls": [210, 1900]})
    assert registry.canary() is None
    assert _states(registry) == [("m001", False, None), ("m002", True, "promoted")]
    assert "canary" not in json.loads(registry.promoted_path.read_text())
    assert registry.rollback().version_id == "m001"  # what was live before is what a rollback returns to


def test_a_rollback_leaves_the_incumbent_serving_every_call(registry):
    registry.start_canary("m002", 0.1)
    record = registry.finish_canary(False, decided_by="loop", reason="errors rose", figures={"x": 1})
    assert (record.state, record.reason, record.incumbent_version) == ("rolled_back", "errors rose", "m001")
    assert registry.canary() is None and registry.promoted().version_id == "m001"
    entry = registry.list()[1]
    assert entry.canary["state"] == "rolled_back" and entry.canary["ended_at"]
    assert json.loads(registry.promoted_path.read_text()) == json.loads(registry.store.read("m001"))


def test_a_person_stops_it(registry):
    registry.start_canary("m002", 0.5)
    record = registry.stop_canary()
    assert (record.state, record.decided_by) == ("stopped", "person")
    assert registry.canary() is None and registry.promoted().version_id == "m001"
    with pytest.raises(ModelRegistryError, match="no canary of summarize_ticket is running"):
        registry.stop_canary()


def test_a_person_changing_the_promoted_model_ends_the_canary_and_says_so(registry):
    registry.register(provider="openai", model="ft:three", gate={"passed": True, "reason": "r"})
    registry.start_canary("m002", 0.5)
    registry.promote("m003")
    assert registry.canary() is None and registry.promoted().version_id == "m003"
    assert registry.list()[1].canary["state"] == "stopped" and registry.list()[1].canary["decided_by"] == "person"
    registry.start_canary("m002", 0.5)
    registry.promote("m002")  # the candidate itself: promoted
    assert registry.list()[1].canary["state"] == "promoted"


def test_a_new_canary_supersedes_the_running_one(registry):
    registry.register(provider="openai", model="ft:three", gate={"passed": True, "reason": "r"})
    registry.start_canary("m002", 0.5)
    registry.start_canary("m003", 0.2)
    assert registry.canary().version_id == "m003"
    assert registry.list()[1].canary["state"] == "stopped" and "superseded" in registry.list()[1].canary["reason"]


def test_a_full_promotion_by_a_run_leaves_no_canary_that_says_it_runs(registry):
    registry.start_canary("m002", 0.5)
    registry.register(provider="openai", model="ft:three", gate={"passed": True, "reason": "r"}, promote=True)
    assert registry.canary() is None
    assert registry.list()[1].canary["state"] == "ended"


@pytest.mark.parametrize("version, share, message", [
    ("m002", 0, "share must be a number in"), ("m002", 1.5, "share must be a number in"),
    ("m002", float("nan"), "share must be a number in"), ("m001", 0.1, "is the promoted model already"),
    ("m009", 0.1, "no model 'm009'"),
])
def test_a_canary_that_cannot_run_is_refused_and_nothing_changes(registry, version, share, message):
    before = registry.promoted_path.read_bytes()
    with pytest.raises(ModelRegistryError, match=message):
        registry.start_canary(version, share)
    assert registry.promoted_path.read_bytes() == before and registry.canary() is None


def test_no_canary_without_a_promoted_model(tmp_path):
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    registry.register(provider="openai", model="ft:one", gate={"passed": True, "reason": "r"})
    with pytest.raises(ModelRegistryError, match="a canary needs one"):
        registry.start_canary("m001", 0.1)


def test_a_promotion_the_registry_refuses_is_not_made_by_the_loop_either(tmp_path):
    registry = ModelRegistry(tmp_path / "models", FUNCTION,
                             refusal=lambda entry: "its base shut down" if entry.model == "ft:two" else "")
    registry.register(provider="openai", model="ft:one", gate={"passed": True, "reason": "r"}, promote=True)
    registry.register(provider="openai", model="ft:two", gate={"passed": True, "reason": "r"})
    with pytest.raises(ModelRegistryError, match="its base shut down"):
        registry.start_canary("m002", 0.1)


def test_the_rule_a_gate_applies():
    incumbent = object()
    assert uses_canary(0.1, incumbent) is True  # type: ignore[arg-type]
    assert uses_canary(0.0, incumbent) is False  # type: ignore[arg-type]  # the default: full promotion
    assert uses_canary(0.1, None) is False  # the first model: nothing to measure it against


def test_a_damaged_canary_block_is_a_clear_error_for_the_registry(registry):
    registry.start_canary("m002", 0.1)
    entry = json.loads(registry.promoted_path.read_text())
    entry["canary"]["share"] = "lots"
    registry.promoted_path.write_text(json.dumps(entry, indent=2, sort_keys=True) + "\n")
    with pytest.raises(ModelRegistryError, match="damaged canary block"):
        registry.canary()

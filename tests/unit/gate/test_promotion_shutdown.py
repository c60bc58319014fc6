"""A model whose base model is past its shutdown is never promoted (issue 26, part 4): not by the gate
after a run, not by a person through the application layer (promote, roll back); the date is the one
the provider reported when known, else the catalogue's, with the config over both. A local model
never shuts down."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from vectortrainer.budget.schedule import ReportedShutdown
from vectortrainer.config import Config
from vectortrainer.errors import ModelRegistryError
from vectortrainer.gate.holdout import HeldOutCase
from vectortrainer.gate.model_gate import GateSettings
from vectortrainer.gate.promotion import SHUT_DOWN, entry_refusal, judge_and_keep
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.training.base import Completion
from vectortrainer.workspace import Workspace
from vectortrainer.workspace.service import ModelRow

FUNCTION = "summarize_ticket"
TODAY = dt.date(2026, 12, 1)  # the suite's day: gpt-4.1-nano shut down on 2026-10-23, gpt-4o-mini serves
NANO, MINI = "gpt-4.1-nano-2025-04-14", "gpt-4o-mini-2024-07-18"
ENDPOINT = f"OpenAI's models endpoint (GET /v1/models/{MINI}): shutdown_date"


class ReplyingTrainer:
    """Answers every prompt alike, and counts how often the gate asked."""

    def __init__(self, name: str, base_model: str, reported: ReportedShutdown | None = None) -> None:
        self.name, self.base_model, self.reported, self.asked = name, base_model, reported, 0

    def reported_shutdown(self) -> ReportedShutdown | None:
        return self.reported

    def complete_many(self, model, conversations, *, max_tokens):
        self.asked += 1
        return [Completion("the reply") for _ in conversations]


def keep(registry: ModelRegistry, trainer: ReplyingTrainer, tmp_path: Path, *, gate: bool = True, run: str = "r1"):
    cases = [HeldOutCase("steady", [{"role": "user", "content": f"q{i}"}], "the reply") for i in range(10)]
    return judge_and_keep(registry, trainer, model=f"ft:{trainer.base_model}:acme::{run}", run_id=run,
                          data_sha256="ab" * 32, cases=cases,
                          settings=GateSettings(semantic=False) if gate else None,
                          scorer=lambda: pytest.fail("no meaning is scored"),
                          decision_path=tmp_path / f"gate-{run}.json", today=TODAY)


def test_a_model_whose_base_shut_down_is_kept_but_neither_judged_nor_promoted(tmp_path):
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    trainer = ReplyingTrainer("openai", NANO)

    promotion = keep(registry, trainer, tmp_path)

    assert not promotion.promoted and trainer.asked == 0 and not (tmp_path / "gate-r1.json").exists()
    assert f"its base model {NANO} shut down on 2026-10-23" in promotion.reason
    assert "OpenAI deprecations page" in promotion.reason and "`vectortrainer providers`" in promotion.reason
    assert promotion.news.startswith(f"ft:{NANO}:acme::r1 -> m001: not promoted (its base model")
    assert promotion.level == "warning" and promotion.detail()["outcome"] == SHUT_DOWN
    (entry,) = registry.list()
    assert registry.promoted() is None and entry.gate["outcome"] == SHUT_DOWN and entry.passed_gate is False
    assert ModelRow.of(entry).gate == "base model shut down"
    # With the gate off it is not promoted either.
    assert not keep(registry, trainer, tmp_path, gate=False, run="r2").promoted


def test_the_date_the_provider_reported_refuses_and_is_recorded_with_the_model(tmp_path):
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    reported = ReportedShutdown(MINI, dt.date(2026, 11, 30), ENDPOINT)

    promotion = keep(registry, ReplyingTrainer("openai", MINI, reported), tmp_path, gate=False)

    assert not promotion.promoted and f"{MINI} shut down on 2026-11-30 (source: {ENDPOINT})" in promotion.reason
    (entry,) = registry.list()
    assert entry.base_shutdown == {"on": "2026-11-30", "source": ENDPOINT}
    assert f"recorded with {entry.version_id}" in entry_refusal(entry, today=TODAY)


def test_a_base_that_serves_and_a_local_model_are_promoted_as_before(tmp_path):
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    silent = ReportedShutdown(MINI, None, "from the catalogue; the endpoint gave no shutdown_date")
    assert keep(registry, ReplyingTrainer("openai", MINI, silent), tmp_path, gate=False).promoted
    assert registry.list()[0].base_shutdown == {}  # nothing reported, nothing recorded

    local = ModelRegistry(tmp_path / "local-models", FUNCTION)
    trainer = ReplyingTrainer("local", "HuggingFaceTB/SmolLM2-135M-Instruct")
    promotion = judge_and_keep(local, trainer, model="/adapters/r1", run_id="r1", data_sha256="ab" * 32,
                               cases=[], settings=None, scorer=lambda: None,
                               decision_path=tmp_path / "gate.json", today=dt.date(2099, 1, 1))
    assert promotion.promoted


# ----- a person's promotion and rollback, through the application layer the faces use -----------
def _workspace(tmp_path: Path, **schedule: str) -> Workspace:
    config = Config().with_overrides(**{"models.dir": tmp_path / "models", "selection.function": FUNCTION})
    if schedule:
        config = config.with_overrides(schedule=schedule)
    return Workspace(config)


def _models(tmp_path: Path) -> ModelRegistry:
    """m001 local (promoted), m002 on a shut-down base, m003 with a past date its provider reported,
    m004 on a base that serves."""
    registry = ModelRegistry(tmp_path / "models", FUNCTION)
    registry.register(provider="local", model="/adapters/a", base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
                      gate={"passed": True, "reason": "r"}, promote=True)
    registry.register(provider="openai", model=f"ft:{NANO}:acme::b", base_model=NANO,
                      gate={"passed": True, "reason": "r"})
    registry.register(provider="openai", model=f"ft:{MINI}:acme::c", base_model=MINI,
                      gate={"passed": True, "reason": "r"},
                      base_shutdown={"on": "2026-11-30", "source": ENDPOINT})
    registry.register(provider="openai", model=f"ft:{MINI}:acme::d", base_model=MINI,
                      gate={"passed": True, "reason": "r"})
    return registry


def test_a_person_cannot_promote_or_roll_back_to_a_model_past_its_shutdown(tmp_path):
    plain = _models(tmp_path)
    before = plain.promoted_path.read_bytes()
    models = _workspace(tmp_path).models

    with pytest.raises(ModelRegistryError) as info:
        models.registry().promote("m002")
    message = str(info.value)
    assert f"model m002 (ft:{NANO}:acme::b) of {FUNCTION} was not promoted" in message
    assert f"its base model {NANO} shut down on 2026-10-23" in message
    assert "`vectortrainer providers`" in message and "the promoted model was left as it was" in message
    with pytest.raises(ModelRegistryError,
                       match=re.escape(f"shut down on 2026-11-30 (source: {ENDPOINT}, recorded with m003)")):
        models.rollback(FUNCTION, "m003")
    with pytest.raises(ModelRegistryError, match="m002 .* was not promoted"):
        models.rollback(FUNCTION, "m002")
    assert plain.promoted_path.read_bytes() == before and plain.promoted().version_id == "m001"

    assert models.registry().promote("m004").version_id == "m004"  # its base still serves
    assert models.rollback(FUNCTION).version_id == "m001"  # back to the local model: it never shuts down


def test_today_and_the_config_decide_at_each_promotion(tmp_path, monkeypatch):
    _models(tmp_path)
    registry = _workspace(tmp_path).models.registry()
    monkeypatch.setenv("VECTORTRAINER_TODAY", "2027-01-14")  # the day gpt-4o-mini shuts down
    with pytest.raises(ModelRegistryError, match=f"{MINI} shut down on 2027-01-14"):
        registry.promote("m004")
    monkeypatch.setenv("VECTORTRAINER_TODAY", "2026-12-01")
    # The user's config moved the shut-down base's date: the model may serve again.
    moved = _workspace(tmp_path, **{f"openai/{NANO}": "2027-06-01"}).models.registry()
    assert moved.promote("m002").version_id == "m002"

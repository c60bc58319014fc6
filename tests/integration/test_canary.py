"""A canary in the user's process, end to end on a real VectorWave store (issue 26, part 3).

An app in its own process logs through `@vectorize(capture_inputs=True, capture_return_value=True)` and
asks `promoted_model` for its model on every call, while two candidates are in canary at 50 %: one whose
model fails on every call, one as good as the promoted model. The loop then reads what VectorWave logged,
puts every call on the arm the app served it from (recomputed from the logged inputs alone), and decides
by itself: the failing candidate is rolled back with its figures, the healthy one promoted fully.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap

import pytest

from tests.support import REPO_ROOT
from vectortrainer.config import Config
from vectortrainer.loop import loop_view, run_cycle
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.registry.routing import CANDIDATE, arm_of, logged_form
from vectortrainer.runtime import promoted_model
from vectortrainer.store.source import LogSource
from vectortrainer.workspace.service import service_view

pytestmark = pytest.mark.slow
BROKEN, HEALTHY = "answer_broken", "answer_healthy"
INCUMBENT_MODEL, BROKEN_MODEL, HEALTHY_MODEL = "ft:incumbent", "ft:broken", "ft:healthy"
REFERENCE_CALLS, CANARY_CALLS, MIN_CALLS = 20, 90, 30

APP = textwrap.dedent("""
    import json, sys
    import vectortrainer.quickstart as vt
    store, models = sys.argv[1], sys.argv[2]
    vt.log_to(store)

    from vectorwave import vectorize
    from vectortrainer.registry.models import ModelRegistry
    from vectortrainer.runtime import promoted_model

    served = []

    @vectorize(capture_inputs=True, capture_return_value=True)
    def answer_broken(ticket: str, tier: str, meta: dict, tags: tuple = ("refund",)) -> str:
        model = promoted_model("answer_broken", models_dir=models, default="base", reload_interval=0)
        served.append(["answer_broken", ticket, model])
        if model == "ft:broken":
            raise RuntimeError("the candidate's endpoint answers 500")
        return f"Summary: {ticket} Priority: normal."

    @vectorize(capture_inputs=True, capture_return_value=True)
    def answer_healthy(ticket: str, tier: str) -> str:
        model = promoted_model("answer_healthy", models_dir=models, default="base", reload_interval=0)
        served.append(["answer_healthy", ticket, model])
        return f"Summary: {ticket} Priority: {'high' if tier == 'enterprise' else 'normal'}."

    # before any canary: what the promoted model answered (the semantic score's references)
    for i in range(int(sys.argv[3])):
        answer_healthy(f"Order {i} was charged twice.", "pro")
    vt.flush()
    for function in ("answer_broken", "answer_healthy"):
        ModelRegistry(models, function).start_canary("m002", 0.5)

    for i in range(int(sys.argv[4])):
        try:
            answer_broken(f"Refund {i} has not arrived.", "pro", {"order": i, "password": "hunter2", "lines": (1, 2)})
        except RuntimeError:
            pass
        answer_healthy(f"Parcel {i} is late.", "enterprise" if i % 3 == 0 else "pro")
    print(json.dumps(served))
""")


@pytest.fixture(scope="module")
def canary_run(tmp_path_factory):
    """The app's calls (function, ticket, model served) and the store, models and config it leaves."""
    root = tmp_path_factory.mktemp("canary")
    store, models = root / "store", root / "models"
    for function, candidate in ((BROKEN, BROKEN_MODEL), (HEALTHY, HEALTHY_MODEL)):
        registry = ModelRegistry(models, function)
        registry.register(provider="openai", model=INCUMBENT_MODEL, gate={"passed": True, "reason": "r"},
                          promote=True)
        registry.register(provider="openai", model=candidate, gate={"passed": True, "reason": "r"})
    script = root / "app.py"
    script.write_text(APP, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script), str(store), str(models), str(REFERENCE_CALLS),
                             str(CANARY_CALLS)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    served = json.loads(result.stdout.strip().splitlines()[-1])
    return {"served": served, "store": store, "models": models, "root": root}


def _config(run, function: str, **canary) -> Config:
    return Config().with_overrides(**{
        "store.path": run["store"], "models.dir": run["models"], "output_dir": run["root"] / "out",
        "feedback.path": run["root"] / "feedback.jsonl", "selection.function": function,
        # no training in these cycles: only the canary is looked at
        "loop.min_new_logs": 0, "loop.min_new_feedback": 0,
        "canary.min_calls": MIN_CALLS, **{f"canary.{key}": value for key, value in canary.items()}})


def test_the_loop_puts_every_logged_call_on_the_arm_the_app_served_it_from(canary_run):
    source = LogSource.open(canary_run["store"])
    served = {(function, ticket): model for function, ticket, model in canary_run["served"]}
    for function, candidate in ((BROKEN, BROKEN_MODEL), (HEALTHY, HEALTHY_MODEL)):
        records = [r for r in source.read_function(function).records if (function, r.inputs["ticket"]) in served]
        window = [r for r in records if not r.inputs["ticket"].startswith("Order ")]
        assert len(window) == CANARY_CALLS  # every call of the canary was logged
        arms = [arm_of("m002", 0.5, r.inputs) for r in window]
        assert [a == CANDIDATE for a in arms] == [served[(function, r.inputs["ticket"])] == candidate for r in window]
        assert min(arms.count(CANDIDATE), len(arms) - arms.count(CANDIDATE)) >= MIN_CALLS
    # what VectorWave did to the inputs, the runtime did too: masked, a tuple as text
    logged = next(r for r in source.read_function(BROKEN).records).inputs
    assert logged["meta"]["password"] == "[MASKED]" and logged["meta"]["lines"] == "(1, 2)"
    assert logged["tags"] == "('refund',)"


def test_a_canary_that_raises_the_error_rate_is_rolled_back_by_the_loop_without_a_person(canary_run):
    config = _config(canary_run, BROKEN, semantic=False)
    cycle = run_cycle(config)
    assert not cycle.ran and cycle.canary is not None and cycle.canary.action == "rollback", cycle.message
    assert "rolled back by the loop" in cycle.message and "error rate 100.0% vs 0.0%" in cycle.message

    registry = ModelRegistry(config.models.dir, BROKEN)
    assert registry.canary() is None and registry.promoted().version_id == "m001"
    record = registry.list()[1].canary
    assert (record["state"], record["decided_by"]) == ("rolled_back", "loop")
    figures = record["figures"]
    assert figures["candidate"]["error_rate"] == 1.0 and figures["incumbent"]["error_rate"] == 0.0
    assert figures["candidate"]["calls"] + figures["incumbent"]["calls"] == CANARY_CALLS
    assert figures["bounds"][0]["signal"] == "error rate" and figures["bounds"][0]["lower"] > 0.5

    view = loop_view(config, BROKEN)
    assert view.last_canary_decision["action"] == "rollback" and view.canary["version_id"] == "m002"
    lines = dict(service_view(config, BROKEN).lines())
    assert lines["last canary"].startswith("m002 rolled back in canary by the loop: m002 is worse: error rate")

    # every call is the promoted model's again, without a restart
    for function, ticket, model in canary_run["served"]:
        if function == BROKEN and model == BROKEN_MODEL:
            inputs = {"ticket": ticket, "tier": "pro", "meta": {}, "tags": ("refund",)}
            assert promoted_model(BROKEN, models_dir=config.models.dir, default="base", reload_interval=0,
                                  route_by=inputs) == INCUMBENT_MODEL


def test_a_healthy_canary_is_promoted_fully_with_its_semantic_score(canary_run):
    config = _config(canary_run, HEALTHY, semantic=True)
    cycle = run_cycle(config)
    assert cycle.canary is not None and cycle.canary.action == "promote", cycle.message
    registry = ModelRegistry(config.models.dir, HEALTHY)
    assert registry.promoted().version_id == "m002" and registry.canary() is None
    figures = registry.list()[1].canary["figures"]
    assert figures["candidate"]["errors"] == figures["incumbent"]["errors"] == 0
    assert figures["candidate"]["score_mean"] is not None and figures["incumbent"]["score_mean"] is not None
    assert "nearest input" in figures["semantic"]
    assert registry.rollback().version_id == "m001"  # a person can still go back to what was live before


def test_the_runtime_writes_inputs_the_way_vectorwave_logs_them():
    """Our copy of VectorWave's serialisation, against VectorWave's own, through the Lite store's JSON."""
    import datetime
    import decimal
    import enum

    core = importlib.import_module("vectorwave.vectorwave_core")

    class Colour(enum.Enum):
        RED = 1

    sensitive = ["password", "api_key", "token"]
    values = ["text", 3, 2.5, True, None, [1, "a", (2, 3)], (1, 2), {"b": 1, "Password": "x", "k": {"TOKEN": 2}},
              {1: "one", 2.5: "x", True: "t"}, {"a", }, datetime.date(2026, 12, 1), decimal.Decimal("1.10"),
              Colour.RED, b"raw", [[{"api_key": "k", "rest": [(1,)]}]], float("inf")]
    for value in values:
        theirs = json.loads(json.dumps(core.mask_and_serialize(value, sensitive), default=str, ensure_ascii=False))
        assert logged_form(value, frozenset(sensitive)) == theirs, value


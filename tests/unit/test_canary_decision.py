"""The loop's verdict on a canary (issue 26): signals per arm from logged calls and feedback, one-sided
bounds, and the registry change each verdict makes. Logs are planted records here; the real store is in
tests/integration/test_canary.py."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from vectortrainer.canary.decision import decide, proportion_rise, wilson
from vectortrainer.canary.signals import ArmFigures, CanarySignals, canary_signals
from vectortrainer.canary.watch import watch_canary
from vectortrainer.config import CanaryConfig, Config
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.golden.chatml import render_user
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.registry.routing import CANDIDATE, CanaryRoute, arm_of
from vectortrainer.store.records import FunctionLogs, FunctionSummary, LogRecord
from vectortrainer.store.source import FunctionInfo

FUNCTION = "summarize_ticket"
START = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
ROUTE = CanaryRoute("m002", "ft:two", 0.5, START.isoformat(), "m001")
SETTINGS = CanaryConfig(share=0.5, min_calls=50, semantic=False)


def _signals(c_calls, c_errors, i_calls, i_errors, *, c_fixed=0, i_fixed=0, scores=None):
    c_scores, i_scores = scores or ([], [])
    arm = lambda calls, errors, fixed, s: ArmFigures(  # noqa: E731
        calls, errors, fixed, len(s), float(np.mean(s)) if s else None, float(np.std(s, ddof=1)) if len(s) > 1 else None)
    return CanarySignals("m002", 0.5, ROUTE.started_at, arm(c_calls, c_errors, c_fixed, c_scores),
                         arm(i_calls, i_errors, i_fixed, i_scores))


def test_wilson_and_newcombe_bounds_behave_at_the_edges():
    low, high = wilson(0, 10, 1.645)
    assert low == 0 and 0.1 < high < 0.25
    rise = proportion_rise("error rate", 10, 10, 0, 10, 0.95, 0.0)
    assert rise.difference == 1.0 and 0.4 < rise.lower < 1.0 and rise.worse
    same = proportion_rise("error rate", 2, 200, 2, 200, 0.95, 0.0)
    assert same.difference == 0 and same.lower < 0 and not same.worse


def test_a_candidate_that_raises_the_error_rate_is_rolled_back():
    verdict = decide(_signals(60, 30, 60, 1), SETTINGS, hours=1)
    assert verdict.action == "rollback"
    assert "error rate 50.0% vs 1.7%" in verdict.reason and "60 / 60 calls" in verdict.reason
    assert verdict.figures["candidate"]["error_rate"] == 0.5 and verdict.figures["bounds"][0]["worse"]


def test_a_broken_candidate_is_rolled_back_before_min_calls():
    verdict = decide(_signals(15, 15, 14, 0), SETTINGS, hours=0.1)
    assert verdict.action == "rollback" and "before 50 calls an arm" in verdict.reason
    assert verdict.figures["confidence"] == pytest.approx(0.995)
    # early looks come every cycle on few calls: the exact test holds them back until the evidence is there
    assert decide(_signals(3, 3, 3, 0), SETTINGS, hours=0.1).action == "wait"
    assert decide(_signals(6, 6, 6, 0), SETTINGS, hours=0.1).action == "rollback"


def test_a_little_noise_waits_then_promotes():
    assert decide(_signals(20, 1, 20, 0), SETTINGS, hours=1).action == "wait"
    verdict = decide(_signals(60, 2, 61, 1), SETTINGS, hours=2)
    assert verdict.action == "promote" and "not worse at 95% confidence" in verdict.reason


def test_the_tolerance_lets_a_small_rise_through():
    worse = _signals(500, 40, 500, 20)  # +4 points
    assert decide(worse, dataclasses.replace(SETTINGS, min_calls=200), hours=1).action == "rollback"
    assert decide(worse, dataclasses.replace(SETTINGS, min_calls=200, max_error_rise=0.05), hours=1).action == "promote"


def test_corrections_per_call_roll_a_candidate_back():
    verdict = decide(_signals(80, 0, 80, 0, c_fixed=20, i_fixed=1), SETTINGS, hours=1)
    assert verdict.action == "rollback" and "corrections per call 25.0% vs 1.2%" in verdict.reason


def test_the_semantic_score_counts_only_without_corrections():
    rng = np.random.default_rng(3)
    scores = (list(rng.normal(0.55, 0.05, 60)), list(rng.normal(0.80, 0.05, 60)))
    settings = dataclasses.replace(SETTINGS, semantic=True)
    verdict = decide(_signals(60, 0, 60, 0, scores=scores), settings, hours=1)
    assert verdict.action == "rollback" and "semantic score 0.5" in verdict.reason
    assert decide(_signals(60, 0, 60, 0, scores=scores), SETTINGS, hours=1).action == "promote"  # semantic off
    close = (list(rng.normal(0.79, 0.05, 60)), list(rng.normal(0.80, 0.05, 60)))
    assert decide(_signals(60, 0, 60, 0, scores=close), settings, hours=1).action == "promote"


def test_a_canary_short_of_calls_expires():
    verdict = decide(_signals(10, 0, 12, 0), SETTINGS, hours=80)
    assert verdict.action == "expire" and "canary.max_hours (72 h)" in verdict.reason


# ------------------------------------------------------------------ signals from logged calls
def _record(i: int, *, before: bool = False, status: str = "SUCCESS", output: str | None = None) -> LogRecord:
    moment = START + timedelta(minutes=(-60 if before else 1) + i / 100)
    inputs = {"ticket": f"Order {i} has not arrived.", "tier": "pro"}
    return LogRecord(f"uuid-{i}{'b' if before else ''}", FUNCTION, status, inputs,
                     None if status != "SUCCESS" else (output or f"Summary: order {i} late."),
                     moment.isoformat(), trace_id=f"trace-{i}{'b' if before else ''}")


def _logs(records: list[LogRecord]) -> FunctionLogs:
    rng = np.random.default_rng(0)
    return FunctionLogs(FUNCTION, records, rng.normal(size=(len(records), 8)).astype(np.float32))


def test_calls_go_to_the_arm_the_runtime_served_them_from():
    records = [_record(i) for i in range(300)] + [_record(i, before=True) for i in range(50)]
    signals = canary_signals(ROUTE, _logs(records), [])
    expected = sum(arm_of("m002", 0.5, r.inputs) == CANDIDATE for r in records[:300])
    assert (signals.candidate.calls, signals.incumbent.calls) == (expected, 300 - expected)


def test_errors_and_corrections_are_counted_per_arm_and_tied_to_calls():
    records = [_record(i, status="ERROR" if i % 3 == 0 else "SUCCESS") for i in range(120)]
    records += [_record(1000, before=True)]
    by_uuid = FeedbackPair("x", "y", context={"function": FUNCTION, "log_uuid": "uuid-1"})
    by_trace = FeedbackPair("x", "y", context={"function": FUNCTION, "trace_id": "trace-2"})
    by_input = FeedbackPair("x", "y", render_user(records[4].inputs), {"function": FUNCTION})
    older = FeedbackPair("x", "y", render_user(records[-1].inputs), {"function": FUNCTION})  # before the canary
    signals = canary_signals(ROUTE, _logs(records), [by_uuid, by_trace, by_input, older])
    arms = {r.uuid: arm_of("m002", 0.5, r.inputs) for r in records[:120]}
    errors = sum(1 for r in records[:120] if r.status == "ERROR" and arms[r.uuid] == CANDIDATE)
    assert signals.candidate.errors == errors and signals.candidate.errors + signals.incumbent.errors == 40
    assert signals.corrections == 3 and signals.linked_by == {"log_uuid": 1, "trace_id": 1, "input": 1}
    corrected_on_candidate = sum(arms[u] == CANDIDATE for u in ("uuid-1", "uuid-2", "uuid-4"))
    assert signals.candidate.corrected == corrected_on_candidate


def test_the_semantic_score_compares_outputs_with_the_nearest_earlier_output():
    before = [_record(i, before=True, output="Summary: a late order.") for i in range(20)]
    window = [_record(i, output="Summary: a late order." if arm_of("m002", 0.5, _record(i).inputs) != CANDIDATE
                      else "Buy our premium plan!") for i in range(100)]
    seen = []

    def similarity(left, right):
        seen.append(len(left))
        return np.array([1.0 if a == b else 0.1 for a, b in zip(left, right)])

    signals = canary_signals(ROUTE, _logs(before + window), [], similarity=similarity)
    assert signals.candidate.score_mean == pytest.approx(0.1) and signals.incumbent.score_mean == pytest.approx(1.0)
    assert seen == [100] and "nearest input" in signals.semantic


# ------------------------------------------------------------------ one look by the loop
class PlantedSource:
    def __init__(self, logs: FunctionLogs) -> None:
        self.logs = logs

    def list_functions(self) -> list[FunctionSummary]:
        n = len(self.logs.records)
        return [FunctionSummary(FUNCTION, n, n, n, n)]

    def function_info(self, function_name: str) -> FunctionInfo:
        return FunctionInfo(function_name)

    def read_function(self, function_name, progress=None) -> FunctionLogs:
        return self.logs


def _config(tmp_path, **canary) -> Config:
    return Config().with_overrides(**{"models.dir": tmp_path / "models", "feedback.path": tmp_path / "fb.jsonl",
                                      "selection.function": FUNCTION,
                                      **{f"canary.{k}": v for k, v in canary.items()}})


def _registry_in_canary(config: Config) -> ModelRegistry:
    registry = ModelRegistry(config.models.dir, FUNCTION)
    registry.register(provider="openai", model="ft:one", gate={"passed": True, "reason": "r"}, promote=True)
    registry.register(provider="openai", model="ft:two", gate={"passed": True, "reason": "r"})
    registry.start_canary("m002", 0.5)
    return registry


def test_a_look_waits_then_rolls_back_without_a_person(tmp_path):
    config = _config(tmp_path, share=0.5, min_calls=40, semantic=False)
    registry = _registry_in_canary(config)
    started = datetime.fromisoformat(registry.canary().started_at)
    later = started.timestamp() + 3600

    def calls(n):
        return [dataclasses.replace(_record(i), timestamp=(started + timedelta(seconds=1 + i)).isoformat(),
                                    status="ERROR" if arm_of("m002", 0.5, _record(i).inputs) == CANDIDATE else "SUCCESS")
                for i in range(n)]

    first = watch_canary(config, FUNCTION, PlantedSource(_logs(calls(6))), now=later)
    assert first.action == "wait" and registry.canary() is not None
    check = watch_canary(config, FUNCTION, PlantedSource(_logs(calls(120))), now=later)
    assert check.action == "rollback" and check.decided and registry.canary() is None
    record = registry.list()[1].canary
    assert (record["state"], record["decided_by"]) == ("rolled_back", "loop")
    assert record["figures"]["candidate"]["error_rate"] == 1.0 and record["figures"]["incumbent"]["error_rate"] == 0.0
    assert watch_canary(config, FUNCTION, PlantedSource(_logs(calls(120))), now=later) is None


def test_a_healthy_canary_is_promoted_fully(tmp_path):
    config = _config(tmp_path, share=0.5, min_calls=40, semantic=False)
    registry = _registry_in_canary(config)
    started = datetime.fromisoformat(registry.canary().started_at)
    logs = _logs([dataclasses.replace(_record(i), timestamp=(started + timedelta(seconds=1 + i)).isoformat())
                  for i in range(150)])
    FeedbackStore(config.feedback.path).add(FeedbackPair("a", "b", "unrelated input", {"function": FUNCTION}))
    check = watch_canary(config, FUNCTION, PlantedSource(logs), now=started.timestamp() + 60)
    assert check.action == "promote", check.reason
    assert registry.promoted().version_id == "m002" and registry.list()[1].canary["state"] == "promoted"


def test_while_a_canary_runs_the_loop_trains_nothing_new_and_shows_its_look(tmp_path):
    from vectortrainer.loop import loop_view, run_cycle

    config = _config(tmp_path, share=0.5, min_calls=400, semantic=False).with_overrides(
        **{"output_dir": tmp_path / "out", "loop.min_new_logs": 5})
    registry = _registry_in_canary(config)
    started = datetime.fromisoformat(registry.canary().started_at)
    source = PlantedSource(_logs([dataclasses.replace(_record(i), timestamp=(started + timedelta(seconds=1 + i)).isoformat())
                                  for i in range(20)]))

    def no_pipeline(config):
        raise AssertionError("a run started while the canary ran")

    cycle = run_cycle(config, pipeline_factory=no_pipeline, source=source)
    assert not cycle.ran and cycle.canary.action == "wait"
    assert "20 new successful logs" in cycle.trigger.reason and "m002 is in canary: training waits" in cycle.trigger.reason
    view = loop_view(config, FUNCTION, source)
    assert view.canary["action"] == "wait" and view.canary["figures"]["candidate"]["calls"] > 0
    assert view.last_canary_decision is None and registry.canary() is not None

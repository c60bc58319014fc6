"""The loop's decisions: when a cycle is due, the daily cap, the lock, and resuming an interrupted cycle.

The store is a real (tiny) source of counts and the feedback a real store; the pipeline is a recording
double here, because the whole loop with the real pipeline runs in tests/integration/test_loop.py.
"""

from __future__ import annotations

import time

import pytest

from vectortrainer.config import Config
from vectortrainer.errors import LoopInUseError, StoreError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.loop import LoopState, check_trigger, loop_lock, loop_view, read_state, run_cycle
from vectortrainer.pipeline import RunOutcome
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.status import RunStatus
from vectortrainer.store.records import FunctionLogs, FunctionSummary
from vectortrainer.store.source import FunctionInfo, LogReader, ProgressCallback


class Counts:
    """A log source (a ``LogReader``) whose counts are what the loop reads; it holds no logs."""

    def __init__(self, success: int) -> None:
        self.success = success

    def list_functions(self) -> list[FunctionSummary]:
        return [FunctionSummary("f", self.success + 3, self.success, self.success, self.success, 3)]

    def function_info(self, function_name: str) -> FunctionInfo:
        return FunctionInfo(function_name)

    def read_function(self, function_name: str, progress: ProgressCallback | None = None) -> FunctionLogs:
        raise StoreError(f"no logs of function '{function_name}' in this stand-in")


def test_counts_is_a_log_reader():
    assert isinstance(Counts(1), LogReader)


class RecordingPipeline:
    """Runs leave a real run directory with the given status (what the loop reads back)."""

    calls: list[tuple[str, str]] = []

    def __init__(self, config, status=RunStatus.SUCCEEDED):
        self.config, self.status = config, status

    def _finish(self, run_id):
        try:
            run = RunDirectory.open(self.config.output_dir, run_id)
        except Exception:
            run = RunDirectory.create(self.config.output_dir, {}, run_id=run_id, function="f")
        run.state.status = self.status
        run.save()
        return RunOutcome(run_id, run.path, self.status, f"run {run_id}: {self.status}")

    def run(self, *, run_id=None, golden_path=None):
        RecordingPipeline.calls.append(("run", run_id))
        return self._finish(run_id)

    def resume(self, run_id):
        RecordingPipeline.calls.append(("resume", run_id))
        return self._finish(run_id)


@pytest.fixture
def config(tmp_path):
    RecordingPipeline.calls = []
    cfg = Config().with_overrides(**{"selection.function": "f", "output_dir": tmp_path / "out",
                                     "feedback.path": tmp_path / "feedback.jsonl", "loop.min_new_logs": 10,
                                     "loop.min_new_feedback": 2, "loop.max_cycles_per_day": 2})
    return cfg


def test_thresholds_decide_and_a_cycle_with_nothing_new_changes_nothing(config):
    state = LoopState("f", logs_seen=100, feedback_seen=4)
    assert not check_trigger(config, state, (105, 5)).due
    assert check_trigger(config, state, (110, 4)).reason == "10 new successful logs (threshold 10)"
    assert check_trigger(config, state, (100, 6)).due

    first = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(40))
    assert first.ran and first.outcome.status == RunStatus.SUCCEEDED
    quiet = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(45))
    assert not quiet.ran and quiet.message.startswith("nothing to do for f: 5 new successful logs (need 10)")
    assert [c[0] for c in RecordingPipeline.calls] == ["run"]
    assert read_state(config, "f").logs_seen == 40


def test_new_feedback_alone_triggers_and_the_daily_cap_holds(config):
    run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(40))
    FeedbackStore(config.feedback.path).add_many([FeedbackPair("a", "b", "p"), FeedbackPair("c", "d", "q")])
    second = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(40))
    assert second.ran and "2 new feedback pairs" in second.trigger.reason
    capped = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(90))
    assert not capped.ran and "2 cycles in the last 24 h" in capped.message
    later = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(90), now=time.time() + 25 * 3600)
    assert later.ran


def test_an_interrupted_cycle_is_resumed_by_the_next_one(config):
    interrupted = run_cycle(config, pipeline_factory=lambda c: RecordingPipeline(c, RunStatus.INTERRUPTED),
                            source=Counts(40))
    run_id = interrupted.outcome.run_id
    again = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(40))
    assert again.resumed and again.outcome.run_id == run_id and again.outcome.status == RunStatus.SUCCEEDED
    assert RecordingPipeline.calls == [("run", run_id), ("resume", run_id)]
    assert read_state(config, "f").cycles[-1]["status"] == "succeeded"


def test_two_schedulers_never_run_a_cycle_at_once(config):
    with loop_lock(config):
        with pytest.raises(LoopInUseError, match="another loop cycle is running"):
            run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(40))
    assert RecordingPipeline.calls == []


def test_the_view_shows_what_is_new_and_the_next_look(config):
    run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(40))
    view = loop_view(config, "f", source=Counts(47))
    assert (view.new_logs, view.new_feedback, view.cycles_today) == (7, 0, 1)
    assert view.trigger.startswith("not yet: 7 new successful logs (need 10)")
    assert view.last_cycle["status"] == "succeeded" and view.next_check_at > time.time()
    missing = loop_view(config.with_overrides(**{"store.path": config.output_dir / "nowhere"}), "f")
    assert missing.problem and "no VectorWave store" in missing.problem

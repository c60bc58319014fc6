"""VT-18 in the loop: replayed calls are no new logs, a cycle resumes only its own function's runs, and a cycle
whose run is refused before it begins (a key, a model: checked before any work) changes nothing, so what was new
is still new once the config is fixed."""

from __future__ import annotations

import pytest

from tests.unit.test_loop import Counts, RecordingPipeline
from vectortrainer.config import Config
from vectortrainer.errors import MissingAPIKeyError
from vectortrainer.loop import current_counts, read_state, run_cycle
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.status import RunStatus
from vectortrainer.store.records import FunctionSummary


@pytest.fixture
def config(tmp_path):
    RecordingPipeline.calls = []
    return Config().with_overrides(**{"selection.function": "f", "output_dir": tmp_path / "out",
                                      "feedback.path": tmp_path / "feedback.jsonl", "loop.min_new_logs": 10,
                                      "loop.min_new_feedback": 2, "loop.max_cycles_per_day": 2})


class WithReplays(Counts):
    """45 of the 50 successful logs are replays."""

    def list_functions(self) -> list[FunctionSummary]:
        return [FunctionSummary("f", 53, 50, 50, 50, 3, replayed=45, replayed_success=45)]


def test_replayed_calls_do_not_count_as_new_logs(config):
    assert current_counts(config, "f", WithReplays(0)) == (5, 0)
    quiet = run_cycle(config, pipeline_factory=RecordingPipeline, source=WithReplays(0))
    assert not quiet.ran and quiet.trigger.new_logs == 5
    assert RecordingPipeline.calls == []


class RefusedBeforeItBegins:
    """A pipeline whose run is refused by a check before any work: no run directory, an error."""

    def __init__(self, config) -> None:
        self.config = config

    def run(self, *, run_id=None, golden_path=None):
        raise MissingAPIKeyError("no OpenAI API key: set the OPENAI_API_KEY environment variable")

    def resume(self, run_id):
        raise AssertionError("nothing to resume")


def test_a_cycle_refused_before_its_run_began_changes_nothing(config):
    with pytest.raises(MissingAPIKeyError, match="OPENAI_API_KEY"):
        run_cycle(config, pipeline_factory=RefusedBeforeItBegins, source=Counts(40))
    state = read_state(config, "f")
    assert state.logs_seen == 0 and state.cycles == []

    fixed = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(40))  # the key is set now
    assert fixed.ran and not fixed.resumed and fixed.trigger.new_logs == 40
    assert [call[0] for call in RecordingPipeline.calls] == ["run"]


def test_a_cycle_resumes_only_its_own_functions_run(config):
    interrupted = run_cycle(config, pipeline_factory=lambda c: RecordingPipeline(c, RunStatus.INTERRUPTED),
                            source=Counts(40))
    run = RunDirectory.open(config.output_dir, interrupted.outcome.run_id)
    run.state.function = "g"  # the run the last cycle names is another function's
    run.save()

    later = run_cycle(config, pipeline_factory=RecordingPipeline, source=Counts(40))

    assert not later.resumed and ("resume", run.run_id) not in RecordingPipeline.calls

"""Run and stage states are one vocabulary (StrEnums) that run.json, every face and the CLI share."""

from __future__ import annotations

import json

import pytest

from vectortrainer.config import Config
from vectortrainer.errors import RunDirectoryError
from vectortrainer.runs.directory import RunDirectory, list_runs
from vectortrainer.runs.status import STAGES, RunStatus, StageStatus


def test_states_are_the_strings_on_disk():
    assert StageStatus.COMPLETE == "complete" and json.dumps(StageStatus.COMPLETE) == '"complete"'
    assert [s.value for s in StageStatus] == ["pending", "running", "complete", "skipped", "failed"]
    assert StageStatus.SKIPPED.done and not StageStatus.FAILED.done
    assert STAGES[0] == "extract" and STAGES[-1] == "summary"


def test_only_stopped_runs_are_resumable():
    resumable = {s for s in RunStatus if s.resumable}
    assert RunStatus.RUNNING not in resumable and RunStatus.SUCCEEDED not in resumable
    assert RunStatus.DAMAGED not in resumable
    assert {RunStatus.INTERRUPTED, RunStatus.NOT_APPROVED, RunStatus.TRAINING_FAILED} <= resumable


def test_run_json_is_read_back_as_enums_and_an_unknown_state_is_named(tmp_path):
    run = RunDirectory.create(tmp_path, Config().redacted(), run_id="r1", function="f")
    run.state.stage("extract").status = StageStatus.COMPLETE
    run.save()
    again = RunDirectory.open(tmp_path, "r1")
    assert again.state.status is RunStatus.RUNNING and again.state.stage("extract").status is StageStatus.COMPLETE
    data = json.loads(run.path.joinpath("run.json").read_text())
    data["stages"]["extract"]["status"] = "completed"  # what the TUI once wrote
    run.path.joinpath("run.json").write_text(json.dumps(data))
    with pytest.raises(RunDirectoryError, match="stages.extract: unknown status 'completed'"):
        RunDirectory.open(tmp_path, "r1")
    (info,) = list_runs(tmp_path)
    assert info.status is RunStatus.DAMAGED and not info.resumable

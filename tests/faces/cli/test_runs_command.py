"""`vectortrainer runs`: newest first, damaged runs named with their problem, the resume command for a stopped run."""

from __future__ import annotations

import json

from vectortrainer.cli import main
from vectortrainer.runs.directory import RUN_FILE, RunDirectory


def test_runs_lists_stopped_and_damaged_runs_with_how_to_resume(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "240")  # a wide terminal: each cell on one line
    out = tmp_path / "out"
    stopped = RunDirectory.create(out, {}, run_id="20260101-000000-aaaaaa", function="draft_reply")
    stopped.state.status = "needs_credentials"
    stopped.state.error = "no OpenAI API key: set the OPENAI_API_KEY environment variable"
    stopped.save()
    done = RunDirectory.create(out, {}, run_id="20260102-000000-bbbbbb", function="draft_reply")
    done.state.status = "succeeded"
    done.save()
    damaged = RunDirectory.create(out, {}, run_id="20260103-000000-cccccc")
    (damaged.path / RUN_FILE).write_text("{not json")

    assert main(["runs", "--output-dir", str(out), "--json"]) == 0
    listed = {item["run_id"]: item for item in json.loads(capsys.readouterr().out)}
    assert listed["20260101-000000-aaaaaa"]["resume"].endswith("--resume 20260101-000000-aaaaaa")
    assert listed["20260101-000000-aaaaaa"]["problem"].startswith("no OpenAI API key")
    assert listed["20260102-000000-bbbbbb"]["resume"] is None
    assert listed["20260103-000000-cccccc"]["status"] == "damaged" and "run.json" in listed["20260103-000000-cccccc"]["error"]

    assert main(["runs", "--output-dir", str(out)]) == 0
    printed = capsys.readouterr()
    table = printed.out
    assert "needs_credentials" in table and "no OpenAI API key" in table  # why it stopped, not blank
    assert "Resume the newest with:" in printed.err and "--resume 20260101-000000-aaaaaa" in printed.err


def test_no_runs_says_how_to_start_one(tmp_path, capsys) -> None:
    assert main(["runs", "--output-dir", str(tmp_path / "none")]) == 0
    assert "start one with the app or `vectortrainer --batch`" in capsys.readouterr().err

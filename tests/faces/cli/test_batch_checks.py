"""`--batch` and VT-18: what cannot work is refused before any work with one line and exit 2 (the store here does
not even exist: a run that went to work would fail reading it, with exit 1), and a run resumes only under its own
function."""

from __future__ import annotations

import json

from tests.support.pipelines import config_file
from vectortrainer.cli import main
from vectortrainer.runs.directory import RunDirectory, list_runs
from vectortrainer.runs.status import RunStatus


def _batch(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["--batch", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_no_api_key_is_exit_2_before_anything_is_read_or_written(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = config_file(tmp_path)

    code, out, err = _batch(capsys, "--config", str(config), "--json")

    assert code == 2, err
    assert "set the OPENAI_API_KEY environment variable" in err and "no VectorWave store" not in err
    assert len(err.strip().splitlines()) == 1
    report = json.loads(out)
    assert report["status"] == "usage_error" and report["exit_code"] == 2 and report["run_id"] is None
    assert list_runs(tmp_path / "out") == []


def test_a_local_run_without_a_model_is_exit_2_before_extraction(tmp_path, capsys):
    config = config_file(tmp_path, training={"provider": "local"},
                         budget={"max_budget_usd": None, "max_minutes": 30})

    code, _, err = _batch(capsys, "--config", str(config))

    assert code == 2 and "training.local_model: not set" in err and "no VectorWave store" not in err
    assert list_runs(tmp_path / "out") == []


def test_an_unknown_model_is_exit_2_before_extraction(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent")
    config = config_file(tmp_path, training={"model": "gpt-nobody-trains-this"})

    code, _, err = _batch(capsys, "--config", str(config))

    assert code == 2 and "gpt-nobody-trains-this" in err and "no VectorWave store" not in err


def test_resuming_a_run_under_another_function_is_exit_2_and_changes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent")
    config = config_file(tmp_path)  # selection.function: summarize_ticket
    run = RunDirectory.create(tmp_path / "out", {}, run_id="20260101-000000-aaaaaa", function="summarize_ticket")
    run.state.status = RunStatus.NOT_APPROVED
    run.save()

    code, _, err = _batch(capsys, "--config", str(config), "--resume", run.run_id, "--function", "classify_intent")

    assert code == 2, err
    assert (f"run {run.run_id} trains summarize_ticket, but classify_intent is selected" in err
            and "--function summarize_ticket" in err)
    assert RunDirectory.open(tmp_path / "out", run.run_id).state.status == RunStatus.NOT_APPROVED

    other = config_file(tmp_path, selection={"function": "classify_intent"})  # the same, from the config file
    code, _, err = _batch(capsys, "--config", str(other), "--resume", run.run_id)
    assert code == 2 and "but classify_intent is selected" in err


def test_the_resume_command_names_the_function_when_the_config_file_selects_another(tmp_path, capsys,
                                                                                    monkeypatch):
    """A run started with --function F over a config of G stops resumable: its resume line must say F."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent")
    config = config_file(tmp_path, selection={"function": "classify_intent"})

    code, out, err = _batch(capsys, "--config", str(config), "--function", "summarize_ticket", "--json")

    assert code == 1 and "no VectorWave store" in err  # it went to work: the store is missing
    resume = err[err.index("resume with: ") + len("resume with: "):].split(")")[0]
    assert resume.endswith(f"--resume {json.loads(out)['run_id']} --function summarize_ticket")


def test_no_function_chosen_lists_the_stores_functions_to_choose_from(seeded_store, tmp_path, capsys):
    code, _, err = _batch(capsys, "--store", str(seeded_store), "--output-dir", str(tmp_path / "out"))

    assert code == 2 and len(err.strip().splitlines()) == 1, err
    line = " ".join(err.split())
    assert "no function chosen; pass --function NAME" in line
    assert "summarize_ticket (" in line and "classify_intent (" in line and "draft_reply (" in line
    assert list_runs(tmp_path / "out") == []

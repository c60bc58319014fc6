"""The run directory: atomic run.json, append-only events, robust loading, cross-process following."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from vectortrainer.config import Config
from vectortrainer.errors import RunDirectoryError, RunInUseError
from vectortrainer.files import atomic_write_text
from vectortrainer.redaction import redact_secrets
from vectortrainer.runs.directory import RunDirectory, list_runs
from vectortrainer.runs.events import EventLog, EventReader, read_events


def test_create_save_and_reload_round_trip(tmp_path):
    run = RunDirectory.create(tmp_path, Config().redacted(), function="summarize")
    run.state.stage("extract").status = "complete"
    run.state.stage("extract").detail = {"golden": {"examples": 12}}
    run.state.train_file_id = "file-1"
    run.save()

    again = RunDirectory.open(tmp_path, run.run_id)

    assert again.path == tmp_path / "runs" / run.run_id
    assert again.state.function == "summarize"
    assert again.state.stage("extract").done
    assert again.state.stage("extract").detail == {"golden": {"examples": 12}}
    assert again.state.train_file_id == "file-1"
    assert again.state.config["training"]["model"] == Config().training.model
    assert not again.state.stage("upload").done
    assert [p.name for p in run.path.iterdir() if p.name.endswith(".tmp")] == []


def test_creating_an_existing_run_id_is_refused(tmp_path):
    RunDirectory.create(tmp_path, {}, run_id="same")
    with pytest.raises(RunDirectoryError, match="already exists.*--resume same"):
        RunDirectory.create(tmp_path, {}, run_id="same")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file is empty"),
        ('{"run_id": "r1", "created_at": 1', "run.json:1: not valid JSON"),
        ("[1, 2]", "expected a JSON dict, found list"),
        ('{"run_id": "r1"}', "missing key.*created_at"),
        ('{"run_id": "r1", "created_at": 1, "updated_at": 1, "stages": {"extract": 3}}', "stages.extract: expected a mapping"),
        ('{"run_id": "other", "created_at": 1, "updated_at": 1, "stages": {}}', "does not match its directory"),
    ],
)
def test_damaged_run_json_names_the_file_and_the_problem(tmp_path, content, message):
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(content)

    with pytest.raises(RunDirectoryError, match=message) as info:
        RunDirectory.open(tmp_path, "r1")
    assert str(run_dir / "run.json") in str(info.value)


def test_missing_run_lists_recent_ones(tmp_path):
    RunDirectory.create(tmp_path, {}, run_id="known-run")
    with pytest.raises(RunDirectoryError, match="no such run.*known-run"):
        RunDirectory.open(tmp_path, "nope")
    with pytest.raises(RunDirectoryError, match="not a valid run id"):
        RunDirectory.open(tmp_path, "../escape")


def test_list_runs_newest_first_and_reports_damaged_ones(tmp_path):
    older = RunDirectory.create(tmp_path, {}, run_id="a-older")
    newer = RunDirectory.create(tmp_path, {}, run_id="b-newer")
    older.state.created_at, newer.state.created_at = 100.0, 200.0
    older.save()
    newer.save()
    (tmp_path / "runs" / "c-broken").mkdir()

    infos = list_runs(tmp_path)

    assert [i.run_id for i in infos if i.error is None] == ["b-newer", "a-older"]
    broken = next(i for i in infos if i.run_id == "c-broken")
    assert broken.status == "damaged" and "run.json: file is missing" in broken.error
    assert list_runs(tmp_path / "nothing-here") == []


def test_secrets_are_redacted_everywhere_they_could_be_written(tmp_path):
    key = "sk-proj-abcdefghijklmnop1234"
    assert redact_secrets({"api_key": key, "api_key_env": "OPENAI_API_KEY", "trained_tokens": 5}) == {
        "api_key": "***", "api_key_env": "OPENAI_API_KEY", "trained_tokens": 5,
    }
    assert redact_secrets(f"Authorization: Bearer {key}") == "Authorization: ***"
    assert redact_secrets([f"key {key} leaked"]) == ["key *** leaked"]
    for vendor_key in ("fw_3ZsLm9abcdefGHIJklmn", "tgp_v1_AbCdEfGh1234567890xyz"):  # Fireworks, Together
        assert redact_secrets(f"rejected {vendor_key}.") == "rejected ***."

    run = RunDirectory.create(tmp_path, {"openai": {"api_key": key, "api_key_env": "OPENAI_API_KEY"}})
    run.events.append("log", message=f"calling with {key}")
    run.write_json("estimate.json", {"token": key, "n": 1})

    for path in run.path.iterdir():
        assert key not in path.read_text(), path.name
    assert run.state.config["openai"]["api_key_env"] == "OPENAI_API_KEY"


def test_event_log_continues_its_sequence_after_reopening(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    log.append("log", message="one")
    log.append("log", message="two")

    EventLog(tmp_path / "events.jsonl").append("log", message="three")

    assert [e["seq"] for e in read_events(tmp_path / "events.jsonl")] == [1, 2, 3]
    assert "\n\n" not in (tmp_path / "events.jsonl").read_text()  # a clean file gets no blank line


def test_reader_never_returns_a_half_written_line_and_survives_a_damaged_one(tmp_path):
    path = tmp_path / "events.jsonl"
    reader = EventReader(path)
    assert reader.read_new() == []  # no file yet

    path.write_bytes(b'{"type": "log", "seq": 1}\n{"type": "lo')
    assert [e["seq"] for e in reader.read_new()] == [1]
    assert reader.read_new() == []

    with path.open("ab") as handle:
        handle.write(b'g", "seq": 2}\nnot json\n')
    events = reader.read_new()
    assert events[0] == {"type": "log", "seq": 2}
    assert events[1]["type"] == "unreadable" and events[1]["line"] == 3

    path.write_bytes(b'{"type": "new", "seq": 1}\n')  # replaced by a shorter file: start over
    assert reader.read_new() == [{"type": "new", "seq": 1}]


def test_reader_follows_a_writer_in_another_process(tmp_path):
    path = tmp_path / "events.jsonl"
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import time
            from vectortrainer.runs.events import EventLog
            log = EventLog(__import__("pathlib").Path({str(path)!r}))
            for i in range(50):
                log.append("progress", completed=i)
                time.sleep(0.002)
        """)],
    )
    reader = EventReader(path)
    seen: list[dict] = []
    while writer.poll() is None:
        seen.extend(reader.read_new())
    seen.extend(reader.read_new())

    assert writer.returncode == 0
    assert [e["completed"] for e in seen] == list(range(50))
    assert reader.offset == path.stat().st_size


def test_run_lock_refuses_a_second_holder(tmp_path):
    run = RunDirectory.create(tmp_path, {})
    other = RunDirectory.open(tmp_path, run.run_id)
    with run.lock():
        with pytest.raises(RunInUseError, match="in use by another process"):
            with other.lock():
                pass
    with other.lock():  # released
        pass


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    atomic_write_text(target, json.dumps({"v": 1}))

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("vectortrainer.files.os.fsync", disk_full)  # fails after the bytes are written
    with pytest.raises(OSError, match="No space"):
        atomic_write_text(target, json.dumps({"v": 2}))

    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_a_running_run_whose_process_died_is_listed_as_interrupted(tmp_path):
    run = RunDirectory.create(tmp_path, {}, run_id="alive")
    run.state.status = "running"
    run.save()
    with run.lock():
        assert run.is_active()
        assert [i.status for i in list_runs(tmp_path)] == ["running"]
    assert not run.is_active()
    assert [i.status for i in list_runs(tmp_path)] == ["interrupted"]


def test_event_log_after_a_line_cut_short_by_a_crash_starts_a_new_line(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"seq": 1, "type": "log"}\n{"seq": 2, "type": "lo')

    EventLog(path).append("log", message="after the crash")

    events = read_events(path)
    assert [e["type"] for e in events] == ["log", "unreadable", "log"]
    assert events[-1]["seq"] == 2 and events[-1]["message"] == "after the crash"

"""Listing runs is cheap and read-only: run.json and an event count, never the events; nothing appended or
created (issue 16 item 9)."""

from __future__ import annotations

import json
import os

from vectortrainer.cli import main
from vectortrainer.runs import events as events_module
from vectortrainer.runs.directory import LOCK_FILE, RunDirectory, list_runs, runs_root
from vectortrainer.runs.events import EventLog, event_count, read_events


def _snapshot(output_dir):
    root = runs_root(output_dir)
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()} | {"<dirs>": sorted(str(p) for p in root.rglob("*"))}


def _run(output_dir, run_id, events=3):
    run = RunDirectory.create(output_dir, {}, run_id=run_id, function="draft_reply")
    for n in range(events):
        run.events.append("log", message=f"event {n}")
    run.state.status = "running"  # its process died without a word
    run.save()
    return run


def test_listing_reads_no_events_and_counts_them_from_the_sidecar(tmp_path, monkeypatch, capsys):
    _run(tmp_path, "20260101-000000-aaaaaa", events=5)
    _run(tmp_path, "20260102-000000-bbbbbb", events=2)

    def no_reading(self):
        raise AssertionError("listing read the events")

    monkeypatch.setattr(EventLog, "_last_seq", no_reading)
    monkeypatch.setattr(events_module, "count_event_lines", lambda *a, **k: no_reading(None))
    infos = {i.run_id: i for i in list_runs(tmp_path)}
    assert (infos["20260101-000000-aaaaaa"].events, infos["20260102-000000-bbbbbb"].events) == (5, 2)
    assert all(i.status == "interrupted" for i in infos.values())
    assert main(["runs", "--output-dir", str(tmp_path), "--json"]) == 0
    assert [r["events"] for r in json.loads(capsys.readouterr().out)] == [2, 5]


def test_listing_never_appends_to_or_creates_a_runs_files(tmp_path, capsys):
    run = _run(tmp_path, "20260101-000000-aaaaaa")
    with run.events_path.open("ab") as handle:
        handle.write(b'{"seq": 4, "type": "log", "mess')  # a crash cut the last line short
    assert not (run.path / LOCK_FILE).exists()
    before = _snapshot(tmp_path)
    for _ in range(2):
        list_runs(tmp_path)
        assert main(["runs", "--output-dir", str(tmp_path)]) == 0
        assert main(["runs", "--output-dir", str(tmp_path), "--json"]) == 0
    capsys.readouterr()
    assert _snapshot(tmp_path) == before
    assert not (run.path / LOCK_FILE).exists()


def test_a_live_run_is_still_seen_as_running(tmp_path):
    run = _run(tmp_path, "20260101-000000-aaaaaa")
    with run.lock():
        [info] = list_runs(tmp_path)
        assert info.status == "running" and run.is_active()
    [info] = list_runs(tmp_path)
    assert info.status == "interrupted" and not run.is_active()


def test_the_count_stays_right_when_the_sidecar_is_stale_or_missing(tmp_path):
    run = _run(tmp_path, "20260101-000000-aaaaaa", events=4)
    path = run.events_path
    assert event_count(path) == 4
    with path.open("a", encoding="utf-8") as handle:  # a writer that knows nothing of the sidecar
        handle.write(json.dumps({"seq": 5, "type": "log"}) + "\n")
    assert event_count(path) == 5
    os.unlink(str(path) + ".count")
    assert event_count(path) == 5
    # The next append through a reopened run continues the seq and repairs the count.
    reopened = RunDirectory.open(tmp_path, run.run_id)
    assert reopened.events.append("log", message="after")["seq"] == 6
    assert event_count(path) == 6 == len(read_events(path))


def test_a_torn_last_line_is_closed_by_the_next_append_not_by_opening(tmp_path):
    run = _run(tmp_path, "20260101-000000-aaaaaa", events=1)
    with run.events_path.open("ab") as handle:
        handle.write(b'{"seq": 2, "ty')
    torn = run.events_path.read_bytes()
    reopened = RunDirectory.open(tmp_path, run.run_id)
    assert run.events_path.read_bytes() == torn
    reopened.events.append("log", message="resumed")
    lines = run.events_path.read_bytes().splitlines()
    assert json.loads(lines[-1])["message"] == "resumed" and lines[-2] == b'{"seq": 2, "ty'
    assert event_count(run.events_path) == 3

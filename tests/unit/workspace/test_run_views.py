"""A run as the faces show it: stages, summary rows, events followed by offset, damaged runs as problems."""

from __future__ import annotations

from tests.support import web_runs as ws
from vectortrainer import display
from vectortrainer.workspace import run_views
from vectortrainer.runs.directory import list_runs
from vectortrainer.runs.events import read_events


# ------------------------------------------------------------------------------ runs and events
def test_finished_run_view_stages_and_summary(tmp_path):
    run = ws.finished_run(tmp_path)
    view = run_views.open_run_view(tmp_path, run.run_id)
    assert view.problems == [] and view.status == "succeeded" and not view.live
    feed = run_views.EventFeed(view.events_path)
    assert feed.refresh() == len(feed.events) > 20
    rows = run_views.stage_rows(view, feed.events)
    assert [r["stage"] for r in rows][:10] == ["extract", "synthesize", "hook", "estimate", "confirm", "upload",
                                               "train", "monitor", "evaluate", "summary"]
    assert {r["state"] for r in rows} == {"complete"} and {r["duration"] for r in rows} == {"0.5 s"}
    assert rows[0]["note"] == "6 examples"
    figures = dict(view.summary.rows())
    assert figures["golden examples"] == "6 (2 anomaly, 4 steady)"
    assert figures["held-out edit similarity"] == "0.820 (base model 0.610)"
    assert figures["fine-tuned model"] == "ft:tiny:vt" and figures["final loss"] == "0.9000"
    assert figures["evaluation gate"] == "promoted as m001: beats the base model"
    assert figures["held-out score"] == "0.910 vs 0.420 (base model tiny)"
    assert figures["paired gain"] == "+0.490 (95% one-sided bounds +0.410 to +0.560, 4 cases)"
    assert figures["per slice"] == "steady 0.950/0.400 (2), feedback 0.870/0.440 (2)"
    assert figures["gate inference"] == "8 replies, $0.0012"
    assert figures["hook"] == "v002 active: repairs 80.0% of the held-out distance"


def test_learning_curve_keeps_one_value_per_step_and_both_losses(tmp_path):
    run = ws.finished_run(tmp_path)
    points = run_views.learning_curve(read_events(run.events_path))
    train = [(p["step"], p["value"]) for p in points if p["metric"] == "train_loss"]
    valid = [(p["step"], p["value"]) for p in points if p["metric"] == "valid_loss"]
    assert train == list(enumerate(ws.TRAIN_LOSS, start=1))
    assert valid == sorted(ws.VALID_LOSS.items())


def test_learning_curve_skips_missing_steps_and_non_numbers():
    events = [
        {"type": "metric", "step": None, "metrics": {"train_loss": 1.0}},
        {"type": "metric", "step": 1, "metrics": {"train_loss": float("nan"), "valid_loss": True}},
        {"type": "metric", "step": 2, "metrics": {"train_loss": "1.5", "loss": 0.7, "full_valid_loss": 0.7, "accuracy": 0.9}},
        {"type": "log", "step": 3, "metrics": {"train_loss": 9.0}},
    ]
    assert run_views.learning_curve(events) == [{"step": 2, "metric": "full_valid_loss", "value": 0.7}]  # "loss" is no metric name


def test_running_run_is_followed_by_offset_as_events_arrive(tmp_path):
    run, sink = ws.running_run(tmp_path)
    view = run_views.open_run_view(tmp_path, run.run_id)
    assert view.live
    feed = run_views.EventFeed(view.events_path)
    first = feed.refresh()
    started = run.state.stage("extract").started_at
    rows = {r["stage"]: r for r in run_views.stage_rows(view, feed.events, now=started + 75)}
    assert rows["extract"]["state"] == "running" and rows["extract"]["duration"] == "1 min 15 s"
    assert rows["extract"]["progress"] == "3/10 reading logs"
    assert rows["synthesize"]["state"] == "pending"
    assert feed.refresh() == 0
    sink.on_progress("extract", 7, 10, "density")
    with run.events_path.open("a", encoding="utf-8") as handle:
        handle.write('{"seq": 99, "type": "log", "mess')  # still being written by the other process
    assert feed.refresh() == 1 and len(feed.events) == first + 1
    assert run_views.stage_rows(view, feed.events)[0]["progress"] == "7/10 density"
    with run.events_path.open("a", encoding="utf-8") as handle:
        handle.write('age": "later"}\n')
    assert feed.refresh() == 1 and run_views.log_lines(feed.events)[-1]["message"] == "later"


def test_damaged_run_says_what_is_wrong_and_shows_the_events(tmp_path):
    path = ws.damaged_run(tmp_path)
    infos = list_runs(tmp_path)
    assert [(i.run_id, i.status) for i in infos] == [(path.name, "damaged")]
    assert run_views.run_label(infos[0]) == f"{path.name} · damaged"
    view = run_views.open_run_view(tmp_path, path.name)
    assert view.state is None and view.status == "damaged"
    assert len(view.problems) == 1 and "run.json" in view.problems[0] and "not valid JSON" in view.problems[0]
    feed = run_views.EventFeed(view.events_path)
    feed.refresh()
    rows = {r["stage"]: r for r in run_views.stage_rows(view, feed.events)}
    assert rows["extract"]["state"] == "complete" and rows["extract"]["note"] == "5 examples"
    assert rows["extract"]["duration"] == "1.2 s" and rows["train"]["state"] == "pending"
    assert len(feed.unreadable) == 1
    assert "line 4 unreadable" in run_views.log_lines(feed.events)[-1]["message"]


def test_damaged_summary_and_missing_run_are_problems_not_errors(tmp_path):
    run = ws.finished_run(tmp_path)
    run.summary_path.write_text("[1, 2", encoding="utf-8")
    view = run_views.open_run_view(tmp_path, run.run_id)
    assert view.state is not None and view.summary is None
    assert len(view.problems) == 1 and "summary.json" in view.problems[0]
    missing = run_views.open_run_view(tmp_path, "20990101-000000-ffffff")
    assert missing.state is None and "no such run directory" in missing.problems[0]
    assert list_runs(tmp_path / "nowhere") == []


def test_a_directory_that_is_no_run_id_is_a_problem(tmp_path):
    (tmp_path / "runs" / "my run").mkdir(parents=True)
    (info,) = list_runs(tmp_path)
    view = run_views.open_run_view(tmp_path, info.run_id)
    assert view.state is None and "not a valid run id" in view.problems[0]
    escaped = run_views.open_run_view(tmp_path, "../../etc")
    assert escaped.path == tmp_path / "runs" / "etc" and escaped.problems


def test_format_duration():
    assert [display.format_duration(s) for s in (None, 0.04, 59.94, 61, 3725)] == [
        "", "0.0 s", "59.9 s", "1 min 01 s", "1 h 02 min"]

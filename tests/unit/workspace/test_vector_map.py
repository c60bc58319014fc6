"""The vector map: the selection the settings make, recorded picks matched by uuid, histograms, limits."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import web_runs as ws
from vectortrainer import display
from vectortrainer.config import Config
from vectortrainer.workspace import vector_map as vectors
from vectortrainer.golden.selection import select_golden
from vectortrainer.settings import SelectionSettings
from vectortrainer.workspace import run_views
from vectortrainer.store import lite
from vectortrainer.store.source import LogSource


# ------------------------------------------------------------------------------ vector map
def test_selection_settings_come_from_the_run_snapshot(tmp_path):
    view = run_views.open_run_view(tmp_path, ws.finished_run(tmp_path).run_id)
    assert run_views.selection_settings(view, Config().selection) == SelectionSettings(0.2, 6)
    assert run_views.selection_settings(None, Config().selection) == SelectionSettings("auto", 20)


def test_vector_map_shows_the_selection_the_settings_make():
    logs = ws.planted_logs()
    settings = SelectionSettings(0.2, 6)
    vector_map = vectors.build_vector_map(logs, settings)
    selection = select_golden(logs.vectors, logs.statuses, settings)
    golden = {p["uuid"]: (p["strategy"], p["rank"]) for p in vector_map.points if p["golden"]}
    assert golden == {logs.records[p.row].uuid: (p.strategy, p.rank) for p in selection.picks}
    assert (vector_map.steady, vector_map.anomaly, vector_map.clusters) == (3, 3, 3)
    assert vector_map.shown == vector_map.total == len(logs.records) == 30
    assert {p["status"] for p in vector_map.points} == {"SUCCESS", "ANOMALY", "ERROR"}
    assert all(p["strategy"] == vectors.NOT_PICKED for p in vector_map.points if p["status"] == "ERROR")
    errors = [p for p in vector_map.points if p["status"] == "ERROR"]
    assert errors[0]["output"] == "ValueError: bad 0" and errors[0]["input"] == "broken 0"
    assert vector_map.skipped == {"no vector": 1} and vector_map.excluded == {"failed status": 2}
    # every participating log is counted once in the density and in the distance histograms
    assert sum(b["count"] for b in vector_map.density_bins) == 28
    assert sum(b["count"] for b in vector_map.distance_bins) == 28
    in_clusters = sum(b["count"] for b in vector_map.density_bins if b["group"] == "dense cluster")
    assert in_clusters == 24
    assert vector_map.one_neighbour_density == pytest.approx(0.8)
    # clusters sit apart on the map: each cluster's points are closer to each other than to another cluster
    xy = {p["uuid"]: (p["x"], p["y"]) for p in vector_map.points}
    centres = [np.mean([xy[f"c{c}-{i}"] for i in range(8)], axis=0) for c in range(3)]
    spread = max(np.linalg.norm(np.subtract(xy[f"c{c}-{i}"], centres[c])) for c in range(3) for i in range(8))
    gap = min(np.linalg.norm(centres[a] - centres[b]) for a in range(3) for b in range(a + 1, 3))
    assert gap > 5 * spread
    assert vectors.build_vector_map(logs, settings).points == vector_map.points


def test_vector_map_shows_the_picks_the_run_recorded_and_names_those_gone_from_the_store(tmp_path):
    logs = ws.planted_logs()
    run = ws.finished_run(tmp_path)
    ws.record_picks(run)
    view = run_views.open_run_view(tmp_path, run.run_id)
    assert view.problems == [] and view.golden_picks == ws.RECORDED_PICKS
    settings = run_views.selection_settings(view, Config().selection)
    recomputed = {p["uuid"] for p in vectors.build_vector_map(logs, settings).points if p["golden"]}

    vector_map = vectors.build_vector_map(logs, settings, recorded_picks=view.golden_picks)

    golden = {p["uuid"]: (p["strategy"], p["rank"]) for p in vector_map.points if p["golden"]}
    assert golden == {"c0-3": ("steady", 0), "c1-5": ("steady", 1), "iso-1": ("anomaly", 0)}
    assert set(golden) != recomputed  # the map shows what the run trained on, not today's selection
    assert vector_map.picks_source == vectors.PICKS_RECORDED
    assert [p["uuid"] for p in vector_map.missing_picks] == ["gone-7"]
    assert (vector_map.steady, vector_map.anomaly) == (3, 1)  # as the run trained, the lost log included
    assert vector_map.shown == vector_map.total == 30
    note = run_views.picks_note(vector_map, view)
    assert note.startswith("golden picks recorded by the run") and "1 of them no longer in the store" in note
    assert "gone-7" in note
    # above the point limit every recorded pick still found is drawn
    small = vectors.build_vector_map(logs, settings, recorded_picks=view.golden_picks, max_points=5)
    assert {p["uuid"] for p in small.points if p["golden"]} == set(golden) and small.shown <= 5


def test_a_run_without_recorded_picks_falls_back_to_re_computing_them(tmp_path):
    logs = ws.planted_logs()
    view = run_views.open_run_view(tmp_path, ws.finished_run(tmp_path).run_id)
    assert view.golden_picks is None
    settings = run_views.selection_settings(view, Config().selection)
    selection = select_golden(logs.vectors, logs.statuses, SelectionSettings(epsilon=0.2, top_k=6))

    vector_map = vectors.build_vector_map(logs, settings, recorded_picks=view.golden_picks)

    golden = {p["uuid"] for p in vector_map.points if p["golden"]}
    assert golden == {logs.records[p.row].uuid for p in selection.picks}
    assert vector_map.picks_source == vectors.PICKS_RECOMPUTED and vector_map.missing_picks == []
    assert "re-computed with the run's settings" in run_views.picks_note(vector_map, view)
    assert "config's settings" in run_views.picks_note(vector_map, None)
    # a run that trained on an exported golden file says so
    run = ws.finished_run(tmp_path, run_id="20260104-120000-dddddd")
    run.state.stage("extract").detail["source"] = str(tmp_path / "exported.jsonl")
    run.save()
    adopted = run_views.open_run_view(tmp_path, run.run_id)
    assert "trained on exported.jsonl" in run_views.picks_note(vector_map, adopted)


def test_a_damaged_picks_file_is_a_problem_and_the_picks_are_re_computed(tmp_path):
    run = ws.finished_run(tmp_path)
    ws.record_picks(run, [{"strategy": "steady", "rank": 0}])
    view = run_views.open_run_view(tmp_path, run.run_id)
    assert view.golden_picks is None
    assert len(view.problems) == 1 and "golden_picks.json: entry 0" in view.problems[0]
    (run.path / "golden_picks.json").write_text('[{"uuid": ', encoding="utf-8")
    view = run_views.open_run_view(tmp_path, run.run_id)
    assert view.golden_picks is None and "not valid JSON" in view.problems[0]


def test_vector_map_above_the_point_limit_keeps_every_golden_pick():
    logs = ws.planted_logs()
    vector_map = vectors.build_vector_map(logs, SelectionSettings(0.2, 6), max_points=10)
    assert vector_map.total == 30 and vector_map.shown <= 10
    assert sum(p["golden"] for p in vector_map.points) == 6


def test_vector_map_of_a_function_without_usable_logs_is_empty():
    logs = ws.planted_logs()
    empty = type(logs)(logs.function_name, [], np.zeros((0, 16), np.float32), skipped={"no vector": 4}, total=4)
    vector_map = vectors.build_vector_map(empty, SelectionSettings(0.2, 6))
    assert vector_map.points == [] and vector_map.skipped == {"no vector": 4}


def test_histogram_rows_share_edges_across_groups():
    values = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    groups = np.array(["a", "b", "a", "b", "a"], dtype=object)
    rows = display.histogram_rows(values, 4, groups=groups)
    assert [r["start"] for r in rows if r["group"] == "a"] == [r["start"] for r in rows if r["group"] == "b"]
    assert sum(r["count"] for r in rows if r["group"] == "a") == 3
    assert [r["count"] for r in display.histogram_rows(values, 4)] == [2, 0, 1, 2]
    assert display.histogram_rows(np.array([]), 4) == []
    assert display.histogram_rows(np.array([2.0, 2.0]), 3)[0]["count"] == 2


def test_hover_text_is_short_and_one_line():
    assert display.hover_text({"message": "hi\n there"}) == "hi there"
    assert display.hover_text({"a": 1, "b": "x"}) == '{"a": 1, "b": "x"}'
    assert len(display.hover_text("x" * 1000)) == display.HOVER_CHARS and display.hover_text(None) == ""


def test_missing_store_is_a_clear_error(tmp_path):
    from vectortrainer.errors import StoreError

    with pytest.raises(StoreError, match="demo seed"):
        LogSource.open(tmp_path / "no-store").read_function("f")
    assert lite.store_signature(tmp_path / "no-store") == ""

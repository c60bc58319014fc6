"""What the web companion shows, as plain Python: projection, runs, events, learning curve,
vector map, histograms and hook versions (FR-4.3, FR-7.5)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests import web_support as ws
from vectortrainer import display
from vectortrainer.config import Config
from vectortrainer.errors import DataFormatError, HookVersionError
from vectortrainer.golden import vector_map as vectors
from vectortrainer.golden.projection import nearest_neighbour_distance, pca_2d
from vectortrainer.golden.selection import select_golden
from vectortrainer.hooks import views as hook_views
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.runs import views as run_views
from vectortrainer.runs.directory import list_runs
from vectortrainer.runs.events import read_events
from vectortrainer.store import lite
from vectortrainer.store.source import LogSource


# ------------------------------------------------------------------------------ projection
def _circle_in_space(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Unit vectors on a great circle of a random 2-D plane in ``dim`` dimensions."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(dim, 2)))
    angles = np.linspace(0, np.pi / 2, n)
    return (np.c_[np.cos(angles), np.sin(angles)] @ basis.T).astype(np.float32)


def test_pca_of_vectors_in_a_plane_keeps_their_distances_and_all_variance():
    vectors = _circle_in_space(40, 12)
    projection = pca_2d(vectors)
    assert sum(projection.explained) == pytest.approx(1.0, abs=1e-5)
    original = np.linalg.norm(vectors[:, None] - vectors[None], axis=2)
    projected = np.linalg.norm(projection.points[:, None] - projection.points[None], axis=2)
    np.testing.assert_allclose(projected, original, atol=1e-5)


def test_pca_is_deterministic_and_sign_fixed():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(200, 32)).astype(np.float32)
    first, second = pca_2d(vectors), pca_2d(vectors.copy())
    np.testing.assert_array_equal(first.points, second.points)
    # Row order does not change the picture: each row keeps its coordinates.
    order = np.random.default_rng(4).permutation(200)
    permuted = pca_2d(vectors[order])
    np.testing.assert_allclose(permuted.points, first.points[order], atol=1e-6)
    assert first.explained[0] >= first.explained[1] > 0


def test_pca_fitted_on_some_rows_projects_all_and_ignores_the_rest_for_axes():
    vectors = _circle_in_space(20, 8)
    outliers = np.random.default_rng(1).normal(size=(5, 8)).astype(np.float32) * 5
    everything = np.vstack([vectors, outliers])
    mask = np.r_[np.ones(20, bool), np.zeros(5, bool)]
    fitted = pca_2d(everything, mask)
    alone = pca_2d(vectors)
    np.testing.assert_allclose(fitted.points[:20], alone.points, atol=1e-6)
    assert fitted.points.shape == (25, 2) and np.abs(fitted.points[20:]).sum() > 0
    with pytest.raises(DataFormatError, match="mask"):
        pca_2d(everything, np.ones(3, bool))


def test_pca_with_too_few_rows_gives_zeros():
    assert pca_2d(np.zeros((0, 4), np.float32)).points.shape == (0, 2)
    single = pca_2d(np.ones((1, 4), np.float32))
    assert single.points.tolist() == [[0.0, 0.0]] and single.explained == (0.0, 0.0)


@pytest.mark.parametrize("block_size", [1, 3, 1024])
def test_nearest_neighbour_distance_matches_brute_force(block_size):
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(37, 6)).astype(np.float32)
    vectors[10] = 0.0  # a zero vector has no direction: nobody's neighbour
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-30)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    similarity[:, 10] = -np.inf
    expected = 1.0 - similarity.max(axis=1)
    got = nearest_neighbour_distance(vectors, block_size=block_size)
    assert np.isnan(got[10])
    keep = np.arange(37) != 10
    np.testing.assert_allclose(got[keep], expected[keep], atol=1e-5)
    assert np.isnan(nearest_neighbour_distance(np.ones((1, 3), np.float32))).all()


# ------------------------------------------------------------------------------ runs and events
def test_finished_run_view_stages_and_summary(tmp_path):
    run = ws.finished_run(tmp_path)
    view = run_views.open_run_view(tmp_path, run.run_id)
    assert view.problems == [] and view.status == "succeeded" and not view.live
    feed = run_views.EventFeed(view.events_path)
    assert feed.refresh() == len(feed.events) > 20
    rows = run_views.stage_rows(view, feed.events)
    assert [r["stage"] for r in rows][:8] == ["extract", "synthesize", "estimate", "confirm", "upload", "train",
                                              "monitor", "summary"]
    assert {r["state"] for r in rows} == {"complete"} and {r["duration"] for r in rows} == {"0.5 s"}
    assert rows[0]["note"] == "6 examples"
    figures = dict(view.summary.rows())
    assert figures["golden examples"] == "6 (2 anomaly, 4 steady)"
    assert figures["held-out edit similarity"] == "0.820 (base model 0.610)"
    assert figures["fine-tuned model"] == "ft:tiny:vt" and figures["final loss"] == "0.9000"


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


# ------------------------------------------------------------------------------ vector map
def test_selection_settings_come_from_the_run_snapshot(tmp_path):
    view = run_views.open_run_view(tmp_path, ws.finished_run(tmp_path).run_id)
    assert run_views.selection_settings(view, Config().selection) == vectors.SelectionSettings(0.2, 6, 0.25)
    assert run_views.selection_settings(None, Config().selection) == vectors.SelectionSettings(0.15, 20, 0.25)


def test_vector_map_shows_the_selection_the_settings_make():
    logs = ws.planted_logs()
    settings = vectors.SelectionSettings(0.2, 6)
    vector_map = vectors.build_vector_map(logs, settings)
    selection = select_golden(logs.vectors, logs.statuses, epsilon=0.2, top_k=6)
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
    selection = select_golden(logs.vectors, logs.statuses, epsilon=0.2, top_k=6)

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
    vector_map = vectors.build_vector_map(logs, vectors.SelectionSettings(0.2, 6), max_points=10)
    assert vector_map.total == 30 and vector_map.shown <= 10
    assert sum(p["golden"] for p in vector_map.points) == 6


def test_vector_map_of_a_function_without_usable_logs_is_empty():
    logs = ws.planted_logs()
    empty = type(logs)(logs.function_name, [], np.zeros((0, 16), np.float32), skipped={"no vector": 4}, total=4)
    vector_map = vectors.build_vector_map(empty, vectors.SelectionSettings(0.2, 6))
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


# ------------------------------------------------------------------------------ hooks
def test_hook_versions_view_rollback_and_diff(tmp_path):
    ws.hook_store(tmp_path)
    view = hook_views.hook_versions_view(tmp_path)
    assert [(r.version_id, r.active, r.checksum_ok) for r in view.rows] == [
        ("v001", False, True), ("v002", False, True), ("v003", True, True)]
    assert view.active == "v003" and view.problem is None
    diff = HookVersionManager(tmp_path).diff("v001", "v002")
    assert "-" in diff and "A: " in diff and "B: " in diff
    restored = HookVersionManager(tmp_path).rollback("v001")
    assert restored.version_id == "v001"
    assert HookVersionManager(tmp_path).get_active_version().version_id == "v001"
    assert hook_views.hook_versions_view(tmp_path).active == "v001"


def test_tampered_version_shows_a_failed_checksum_and_cannot_be_restored(tmp_path):
    manager = ws.hook_store(tmp_path)
    version = manager.list_versions()[0]
    (manager.versions_dir / version.file).write_text("# edited by hand\n", encoding="utf-8")
    rows = hook_views.hook_versions_view(tmp_path).rows
    assert not rows[0].checksum_ok and rows[0].problem.startswith("hook version v001 failed its checksum")
    assert rows[1].checksum_ok and rows[1].problem is None
    with pytest.raises(HookVersionError, match="checksum"):
        HookVersionManager(tmp_path).rollback("v001")
    assert manager.get_active_version().version_id == "v003"


def test_no_hook_store_is_explained_and_not_created(tmp_path):
    view = hook_views.hook_versions_view(tmp_path / "hooks")
    assert view.rows == [] and "no hook versions" in view.problem and "rules synthesize" in view.problem
    assert not (tmp_path / "hooks").exists()


def test_engine_side_of_the_web_face_never_imports_streamlit():
    code = ("import sys, vectortrainer.runs.views, vectortrainer.golden.vector_map, vectortrainer.hooks.views, "
            "vectortrainer.cli.web; "
            "bad = [m for m in ('streamlit', 'textual', 'vectorwave') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

"""The Streamlit companion driven by Streamlit's own AppTest on fixture run directories:
every page renders, charts carry the right data, rollback needs a confirmation and changes
the active hook, no-run and damaged-run cases explain themselves (FR-4.3, FR-7.5).

The store read is the one part replaced: ``LogSource.open`` returns a source of planted
vectors (reading a real store imports VectorWave and its model, covered by the slow test
at the end)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.errors import AppTestError

from tests.support import web_runs as ws
from vectortrainer.workspace import vector_map as vectors
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.settings import SelectionSettings
from vectortrainer.store.records import FunctionLogs, FunctionSummary
from vectortrainer.store.source import FunctionInfo, LogReader, LogSource, ProgressCallback
from vectortrainer.web import __file__ as web_package
from vectortrainer.web.access import ACCESS_TOKEN_ENV

APP = Path(web_package).with_name("app.py")
TOKEN = "this-start-token-0123456789"


class PlantedSource:
    """Stands in for the store (a ``LogReader``): every function's logs are the planted ones."""

    def __init__(self, logs: FunctionLogs) -> None:
        self.logs = logs

    def list_functions(self) -> list[FunctionSummary]:
        n = len(self.logs.records)
        return [FunctionSummary(self.logs.function_name, n, n, n, n)]

    def function_info(self, function_name: str) -> FunctionInfo:
        return FunctionInfo(function_name)

    def read_function(self, function: str, progress: ProgressCallback | None = None) -> FunctionLogs:
        return self.logs


def test_the_planted_source_is_a_log_reader():
    assert isinstance(PlantedSource(ws.planted_logs()), LogReader)


@pytest.fixture
def paths(tmp_path):
    return {"out": tmp_path / "out", "hooks": tmp_path / "hooks", "store": tmp_path / "store",
            "models": tmp_path / "models"}


@pytest.fixture
def make_app(paths, monkeypatch):
    """An AppTest of the real script with the command-line arguments `vectortrainer web` passes."""
    st.cache_data.clear()

    monkeypatch.setenv(ACCESS_TOKEN_ENV, TOKEN)  # as `vectortrainer web` hands it over

    def make(*, logs=None, extra=(), token=TOKEN):
        """The app opened at the printed address (``token``: its ``?token=``; None: the bare address)."""
        if logs is not None:
            monkeypatch.setattr(LogSource, "open", classmethod(lambda cls, store, **kw: PlantedSource(logs)))
        monkeypatch.setattr(sys, "argv", [str(APP), "--output-dir", str(paths["out"]), "--store",
                                          str(paths["store"]), "--hooks-dir", str(paths["hooks"]),
                                          "--models-dir", str(paths["models"]), *extra])
        at = AppTest.from_file(str(APP), default_timeout=60)
        if token is not None:
            at.query_params["token"] = token
        return at

    return make


def goto(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, at.exception
    return at


def confirm_rollback_to_v001(at: AppTest) -> AppTest:
    """On the hook versions page: choose v001 to roll back to and tick the confirmation."""
    at.selectbox(key="rollback_target").set_value("v001").run()
    at.checkbox(key="rollback_confirm").check().run()
    return at


def chart_frames(at: AppTest) -> list:
    """The data behind each chart on the page (one list of frames per chart)."""
    frames = []
    for chart in at.get("vega_lite_chart"):
        frames.append([pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().to_pandas()
                       for d in chart.proto.datasets])
    return frames


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def test_no_run_yet_every_page_explains_what_to_do(make_app):
    at = make_app().run()
    assert not at.exception
    assert "vectortrainer --batch" in at.info[0].value and "No run yet" in at.info[0].value
    goto(at, "Vector distribution")
    assert "No function chosen" in at.info[0].value
    goto(at, "Learning curve")
    assert "No run yet" in at.info[0].value
    goto(at, "Hook versions")
    assert "No function has a hook" in at.info[0].value and "--activate" in at.info[0].value


def test_a_run_started_while_the_page_is_open_is_found(make_app, paths):
    at = make_app().run()
    assert "No run yet" in at.info[0].value
    run = ws.finished_run(paths["out"])
    at.button(key="look_again").click().run()
    assert at.sidebar.selectbox(key="run").value == run.run_id and not at.info
    assert {m.label: m.value for m in at.metric}["status"] == "succeeded"


def test_run_status_of_a_finished_run(make_app, paths):
    run = ws.finished_run(paths["out"])
    at = make_app().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["status"] == "succeeded" and metrics["stages done"] == "10/10" and int(metrics["events"]) > 20
    assert run.run_id in at.markdown[0].value and ws.FUNCTION in at.markdown[0].value
    stages = at.dataframe[0].value
    assert list(stages["stage"][:10]) == ["extract", "synthesize", "hook", "estimate", "confirm", "upload",
                                          "train", "monitor", "evaluate", "summary"]
    assert set(stages["state"]) == {"✔ complete"}
    summary = at.table[0].value
    assert summary.loc["held-out edit similarity", "value"] == "0.820 (base model 0.610)"
    assert summary.loc["golden examples", "value"] == "6 (2 anomaly, 4 steady)"
    assert summary.loc["evaluation gate", "value"] == "promoted as m001: beats the base model"
    logs = at.dataframe[1].value
    assert "extract finished" in set(logs["message"])
    assert at.toggle[0].value is False  # a finished run is not followed live by default


def test_run_status_follows_a_live_run(make_app, paths):
    ws.finished_run(paths["out"])
    run, sink = ws.running_run(paths["out"])  # newer: selected first
    at = make_app().run()
    assert not at.exception
    assert at.toggle[0].value is True
    assert {m.label: m.value for m in at.metric}["status"] == "running"
    extract = at.dataframe[0].value.set_index("stage").loc["extract"]
    assert extract["state"] == "▶ running" and extract["progress"] == "3/10 reading logs"
    events_before = int({m.label: m.value for m in at.metric}["events"])

    sink.on_progress("extract", 8, 10, "density")
    sink.on_log("density done", stage="extract")
    at.run()
    assert int({m.label: m.value for m in at.metric}["events"]) == events_before + 2
    assert at.dataframe[0].value.set_index("stage").loc["extract", "progress"] == "8/10 density"
    assert "density done" in set(at.dataframe[1].value["message"])


def test_damaged_run_says_what_is_wrong_and_shows_what_it_can(make_app, paths):
    path = ws.damaged_run(paths["out"])
    at = make_app().run()
    assert not at.exception
    assert at.sidebar.selectbox(key="run").value == path.name
    assert any("run.json" in e.value and "not valid JSON" in e.value for e in at.error)
    stages = at.dataframe[0].value.set_index("stage")
    assert stages.loc["extract", "state"] == "✔ complete" and stages.loc["extract", "note"] == "5 examples"
    assert any("unreadable" in message for message in at.dataframe[1].value["message"])
    for page in ("Vector distribution", "Learning curve", "Hook versions"):
        goto(at, page)


def test_vector_distribution_charts_get_the_map_and_histograms(make_app, paths):
    run = ws.finished_run(paths["out"])
    logs = ws.planted_logs()
    at = goto(make_app(logs=logs).run(), "Vector distribution")
    expected = vectors.build_vector_map(logs, SelectionSettings(0.2, 6))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["logs shown"] == "30 / 30" and metrics["steady picks"] == "3" and metrics["new patterns"] == "3"
    assert "epsilon 0.2 · top_k 6 (the run's settings)" in at.caption[0].value
    map_frames, density_frames, distance_frames = chart_frames(at)
    points = map_frames[0]
    assert len(points) == 30
    assert set(points.loc[points["golden"], "uuid"]) == {p["uuid"] for p in expected.points if p["golden"]}
    assert points.set_index("uuid").loc["err-0", "output"] == "ValueError: bad 0"
    map_spec, density_spec, distance_spec = chart_specs(at)
    assert map_spec["layer"][0]["encoding"]["color"]["field"] == "status"
    assert {"input", "output"} <= {t["field"] for t in map_spec["layer"][0]["encoding"]["tooltip"]}
    assert density_frames[0]["count"].sum() == 28 and distance_frames[0]["count"].sum() == 28
    assert density_frames[1]["threshold"].tolist() == [pytest.approx(0.8)]  # 1 - epsilon
    assert distance_frames[1]["threshold"].tolist() == [pytest.approx(0.2)]  # epsilon
    golden_table = at.dataframe[0].value
    assert len(golden_table) == 6 and set(golden_table["strategy"]) == {"steady", "anomaly"}

    at.radio(key="colour_by").set_value("strategy").run()
    assert chart_specs(at)[0]["layer"][0]["encoding"]["color"]["field"] == "strategy"
    assert run.run_id in at.sidebar.selectbox(key="run").value


def test_vector_distribution_marks_the_picks_the_run_recorded(make_app, paths):
    run = ws.finished_run(paths["out"])
    ws.record_picks(run)
    at = goto(make_app(logs=ws.planted_logs()).run(), "Vector distribution")
    points = chart_frames(at)[0][0]
    assert set(points.loc[points["golden"], "uuid"]) == {"c0-3", "c1-5", "iso-1"}
    assert "golden picks recorded by the run" in at.warning[0].value and "gone-7" in at.warning[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["steady picks"] == "3" and metrics["new patterns"] == "1"
    assert len(at.dataframe[0].value) == 3


def test_vector_distribution_says_picks_are_re_computed_for_a_run_without_them(make_app, paths):
    ws.finished_run(paths["out"])
    at = goto(make_app(logs=ws.planted_logs()).run(), "Vector distribution")
    assert any("re-computed with the run's settings" in caption.value for caption in at.caption)
    assert not at.warning


def test_vector_distribution_without_a_store_says_so_and_shows_the_rest(make_app, paths):
    ws.finished_run(paths["out"])
    at = goto(make_app().run(), "Vector distribution")  # the real loader: no store at paths["store"]
    assert "Vector store not available" in at.warning[0].value and "demo seed" in at.warning[0].value
    assert at.json[0].value and json.loads(at.json[0].value)["examples"] == 6
    assert len(at.get("vega_lite_chart")) == 0


def test_learning_curve_chart_gets_the_losses_by_step(make_app, paths):
    run = ws.finished_run(paths["out"])
    at = goto(make_app().run(), "Learning curve")
    (frames,) = chart_frames(at)
    curve = frames[0]
    train = curve[curve["metric"] == "train_loss"].sort_values("step")
    assert train["value"].tolist() == ws.TRAIN_LOSS and train["step"].tolist() == list(range(1, 7))
    valid = curve[curve["metric"] == "valid_loss"]
    assert dict(zip(valid["step"], valid["value"])) == ws.VALID_LOSS
    assert at.table[0].value.loc["final loss", "value"] == "0.9000"
    assert run.run_id


def test_learning_curve_before_any_metric(make_app, paths):
    ws.running_run(paths["out"])
    at = goto(make_app().run(), "Learning curve")
    assert "No training metrics yet" in at.info[0].value


def test_hook_rollback_needs_a_confirmation_and_changes_the_active_version(make_app, paths):
    ws.hook_store(paths["hooks"])
    ws.hook_store(paths["hooks"], "draft_reply")  # another function's hooks: never touched here
    at = goto(make_app().run(), "Hook versions")
    assert at.selectbox(key="hooks_function").options == [ws.FUNCTION, "draft_reply"]
    assert at.selectbox(key="hooks_function").value == ws.FUNCTION
    table = at.dataframe[0].value
    assert table["version"].tolist() == ["v001", "v002", "v003"]
    assert table["state"].tolist() == ["superseded", "superseded", "active"]
    assert set(table["checksum"]) == {"ok"}
    # A rule-level diff of the last two versions, never raw JSON.
    assert "v002 -> v003" in " ".join(m.value for m in at.markdown)
    changed = at.dataframe[1].value.to_dict("records")
    assert changed and "C: " in str(changed) and '"kind"' not in str(changed)

    assert at.button(key="rollback_button").disabled
    at.selectbox(key="rollback_target").set_value("v001").run()
    with pytest.raises(AppTestError, match="disabled"):  # a browser user cannot press it either
        at.button(key="rollback_button").click()
    hooks = HookVersionManager.for_function(paths["hooks"], ws.FUNCTION)
    assert hooks.get_active_version().version_id == "v003"

    at.checkbox(key="rollback_confirm").check().run()
    assert not at.button(key="rollback_button").disabled
    at.button(key="rollback_button").click().run()
    assert not at.exception
    assert hooks.get_active_version().version_id == "v001"
    assert at.success[0].value == f"{ws.FUNCTION} runs hook v001 now (1 rules)."
    assert at.dataframe[0].value["state"].tolist() == ["active", "superseded", "rolled back from"]
    other = HookVersionManager.for_function(paths["hooks"], "draft_reply")
    assert other.get_active_version().version_id == "v003"
    assert at.checkbox(key="rollback_confirm").value is False  # the next rollback asks again


def test_rollback_to_a_tampered_version_is_refused_on_the_page(make_app, paths):
    manager = ws.hook_store(paths["hooks"])
    first = manager.list_versions()[0]
    (manager.versions_dir / first.file).write_text("# edited by hand\n", encoding="utf-8")
    at = goto(make_app().run(), "Hook versions")
    assert at.dataframe[0].value["checksum"].tolist()[0].startswith("FAILED")
    confirm_rollback_to_v001(at)
    at.button(key="rollback_button").click().run()
    assert "Rollback refused" in at.error[0].value and "checksum" in at.error[0].value
    assert manager.get_active_version().version_id == "v003"


def test_a_bad_config_file_is_one_clear_message(make_app, paths, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("selection:\n  epsilonn: 0.1\n", encoding="utf-8")
    at = make_app(extra=("--config", str(bad))).run()
    assert not at.exception
    assert "epsilonn" in at.error[0].value and "did you mean 'epsilon'" in at.error[0].value


@pytest.mark.slow
def test_vector_distribution_reads_a_real_store(make_app, paths, seeded_store, tmp_path):
    """The real loader on the seeded VectorWave Lite store (imports VectorWave: seconds)."""
    paths["store"] = seeded_store
    config = tmp_path / "config.yaml"
    config.write_text("selection:\n  function: classify_intent\n", encoding="utf-8")
    at = goto(make_app(extra=("--config", str(config))).run(), "Vector distribution")
    assert not at.warning, [w.value for w in at.warning]
    logs = LogSource.open(seeded_store).read_function("classify_intent")
    points = chart_frames(at)[0][0]
    assert len(points) == len(logs.records) > 100
    assert {"SUCCESS", "ERROR"} <= set(points["status"])
    expected = vectors.build_vector_map(logs, SelectionSettings("auto", 20))  # the config's defaults
    assert set(points.loc[points["golden"], "uuid"]) == {p["uuid"] for p in expected.points if p["golden"]}
    assert points["golden"].sum() > 0


def test_in_service_shows_the_models_and_the_gates_and_changes_the_model_after_a_confirmation(make_app, paths):
    from tests.support.tui_fixtures import two_models
    from vectortrainer.config import Config
    from vectortrainer.registry.models import ModelRegistry

    config = Config().with_overrides(**{"models.dir": paths["models"]})
    two_models(config, ws.FUNCTION)
    ws.hook_store(paths["hooks"])
    at = goto(make_app().run(), "In service")
    text = at.markdown[0].value
    assert "**model in service:** m001 ft:gpt-4o-mini-2024-07-18:acme:vt:aaa111" in text
    assert "**hook in service:** v003" in text and "**last model gate:** m002 refused (0.350 vs 0.912)" in text
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["m002", "m001"] and table["gate"].tolist() == ["refused", "passed"]

    with pytest.raises(AppTestError, match="disabled"):
        at.button(key="model_button").click()
    at.checkbox(key="model_confirm").check().run()
    at.button(key="model_button").click().run()
    assert not at.exception
    assert ModelRegistry(paths["models"], ws.FUNCTION).promoted().version_id == "m002"
    assert at.success[0].value.startswith("m002 (ft:gpt-4o-mini-2024-07-18:acme:vt:bbb222) is now in service")
    assert at.checkbox(key="model_confirm").value is False


def test_in_service_before_any_model_says_what_to_do(make_app):
    at = goto(make_app().run(), "In service")
    assert "No trained model" in at.info[0].value


# ------------------------------------------------------------------------------ the access token
@pytest.mark.parametrize("token", [None, "a-guessed-token"])
def test_without_the_token_the_page_is_read_only(make_app, paths, token):
    from tests.support.tui_fixtures import two_models
    from vectortrainer.config import Config

    config = Config().with_overrides(**{"models.dir": paths["models"]})
    two_models(config, ws.FUNCTION)
    ws.hook_store(paths["hooks"])
    at = goto(make_app(token=token).run(), "Hook versions")
    assert at.dataframe[0].value["version"].tolist() == ["v001", "v002", "v003"]  # reading still works
    assert "Read-only" in at.info[0].value and "?token=" in at.info[0].value
    keys = {widget.key for widget in [*at.button, *at.checkbox, *at.selectbox]}
    assert not keys & {"rollback_button", "rollback_confirm", "rollback_target"}
    assert "read-only" in " ".join(c.value for c in at.sidebar.caption)

    goto(at, "In service")
    assert "Read-only" in at.info[0].value
    assert not {w.key for w in [*at.button, *at.checkbox]} & {"model_button", "model_confirm"}


def test_a_session_without_the_token_cannot_roll_back_even_by_sending_the_widget_states(make_app, paths):
    """What a local script on the WebSocket does: it sends the confirmation and the click, not the token."""
    manager = ws.hook_store(paths["hooks"])
    at = confirm_rollback_to_v001(goto(make_app().run(), "Hook versions"))
    at.button(key="rollback_button").click()
    at.query_params.clear()  # the same messages, from a session whose address has no token

    at.run()

    assert not at.exception
    assert manager.get_active_version().version_id == "v003"
    assert "Rollback refused" in at.error[0].value and "Read-only" in at.error[0].value


def test_a_rollback_click_without_the_confirmation_changes_nothing(make_app, paths):
    manager = ws.hook_store(paths["hooks"])
    at = confirm_rollback_to_v001(goto(make_app().run(), "Hook versions"))
    at.checkbox(key="rollback_confirm").uncheck()
    at.button(key="rollback_button").click()  # a crafted message: the click without the confirmation

    at.run()

    assert manager.get_active_version().version_id == "v003"
    assert "tick the confirmation first" in at.error[0].value


def test_a_session_without_the_token_cannot_change_the_model_in_service(make_app, paths):
    from tests.support.tui_fixtures import two_models
    from vectortrainer.config import Config
    from vectortrainer.registry.models import ModelRegistry

    config = Config().with_overrides(**{"models.dir": paths["models"]})
    two_models(config, ws.FUNCTION)
    at = goto(make_app().run(), "In service")
    at.checkbox(key="model_confirm").check().run()
    at.button(key="model_button").click()
    at.query_params["token"] = "wrong"

    at.run()

    assert ModelRegistry(paths["models"], ws.FUNCTION).promoted().version_id == "m001"
    assert "Not changed" in at.error[0].value


def test_a_key_pasted_into_the_config_is_not_shown_on_the_page(make_app, tmp_path):
    key = "Zx9" + "q7Wm2Lr8Tn4Vb6Yc1Hd5Kf3Gs0Pa" + "e2Uj4"
    config = tmp_path / "config.yaml"
    config.write_text(f"openai:\n  api_key_env: {key}\n", encoding="utf-8")
    at = make_app(extra=("--config", str(config))).run()
    assert "openai.api_key_env" in at.error[0].value and "looks like an API key" in at.error[0].value
    assert key not in at.error[0].value

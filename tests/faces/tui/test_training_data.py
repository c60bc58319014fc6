"""VT-18 on the training screen: a run of the selected function never trains on another function's export (it
extracts its own, and says so), never resumes another function's run, and a run that cannot work is refused in one
line before any work. The cost is declined at the modal: nothing is ever sent."""

from __future__ import annotations

import json

import pytest

from screens.budget import BudgetScreen
from screens.training import TrainingScreen
from tests.support.pilot import settle, wait_for_screen, wait_until
from tests.support.tui_fixtures import FixtureLogSource, fixture_config, write_chatml
from tui.app import make_app
from vectortrainer.runs.directory import RunDirectory, list_runs
from vectortrainer.runs.golden import export_record_path, write_export_record
from vectortrainer.runs.status import RunStatus

SIZE = (120, 40)
pytestmark = pytest.mark.anyio
FUNCTION, OTHER = "answer_support_ticket", "summarise_invoice"


def _app(tmp_path, monkeypatch, *, key: bool = True, load_store: bool = False):
    # Enough picks for a vendor's minimum, and no held-out share: the run must get to its estimate.
    config = fixture_config(tmp_path, monkeypatch).with_overrides(
        **{"selection.top_k": 30, "selection.epsilon": 0.05, "gate.enabled": False})
    if key:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent")  # declined at the modal: never sent
    else:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    app = make_app(config, source=FixtureLogSource(), load_store=load_store)
    app.current_function = FUNCTION
    return app


def _notes(app) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def test_an_export_of_another_function_is_not_trained_on(tmp_path, monkeypatch):
    """The reported bug: an export of one function, then another function selected, trained on the export."""
    app = _app(tmp_path, monkeypatch)
    app.exported_path = write_chatml(tmp_path / "output" / "golden-summarise_invoice.jsonl", 12)
    write_export_record(app.exported_path, OTHER)
    app.exported_function = OTHER
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        info = str(screen.query_one("#run-info").render())
        assert "none: the run extracts it" in info and "golden-summarise_invoice.jsonl holds summarise_invoice" in info
        await pilot.press("t")
        await wait_for_screen(pilot, BudgetScreen)
        assert any("this run of answer_support_ticket extracts its own" in note for note in _notes(app))
        await pilot.press("n")
        await wait_until(pilot, lambda: screen.outcome is not None, "the end of the run")
    assert screen.outcome.status == RunStatus.NOT_APPROVED
    run = RunDirectory.open(tmp_path / "output", screen.outcome.run_id)
    assert run.state.function == FUNCTION and run.state.stage("extract").status == "complete"
    assert run.state.provenance["function"] == FUNCTION and run.state.provenance["origin"] == "extract"
    assert run.golden_path.read_bytes() != app.exported_path.read_bytes()


async def test_the_export_keeps_its_function_and_its_record(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, load_store=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.selection is not None, "the selection")
        await pilot.press("e")
        await wait_until(pilot, lambda: app.exported_path is not None, "the export")
        await pilot.press("f5")
        await settle(pilot)
        assert "golden file: golden-answer_support_ticket.jsonl" in str(app.screen.query_one("#run-info").render())
    assert app.exported_function == FUNCTION
    record = json.loads(export_record_path(tmp_path / app.exported_path).read_text())
    assert record["function"] == FUNCTION


async def test_a_run_without_its_key_is_refused_in_one_line_before_any_work(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, key=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "t")
        screen = app.screen
        await wait_until(pilot, lambda: any(note.startswith("Run not started") for note in _notes(app)),
                         "the refusal")
        assert not screen.running and screen.outcome is None
        [note] = [note for note in _notes(app) if note.startswith("Run not started")]
        assert "set the OPENAI_API_KEY environment variable" in note and "\n" not in note
    assert list_runs(tmp_path / "output") == []


async def test_only_the_selected_functions_run_is_offered_for_resume(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    mine = RunDirectory.create("output", {}, run_id="20261201-000000-aaaaaa", function=FUNCTION)
    theirs = RunDirectory.create("output", {}, run_id="20261201-000001-bbbbbb", function=OTHER)  # newer
    for run in (mine, theirs):
        run.state.status = RunStatus.NOT_APPROVED
        run.save()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        screen = app.screen
        await wait_until(pilot, lambda: screen.resumable is not None, "the resumable run showing")
        assert screen.resumable.run_id == mine.run_id

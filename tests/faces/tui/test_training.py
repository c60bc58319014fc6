"""Pilot flows of the training screen: the budget modal gates the run; approved runs reach a summary.

Training talks to the loopback OpenAI stand-in with the real ``openai`` client.
"""

from __future__ import annotations

import json

import pytest

from screens.budget import BudgetScreen
from screens.training import TrainingScreen
from tests.support.tui_fixtures import FixtureLogSource, fixture_config, write_chatml
from tui.app import make_app
from vectortrainer.runs.directory import list_runs

SIZE = (120, 40)
pytestmark = pytest.mark.anyio


def _training_app(tmp_path, monkeypatch, openai_standin, *, budget: float | None, examples: int = 12):
    config = fixture_config(tmp_path, monkeypatch)
    config.openai.base_url = openai_standin.base_url
    config.training.poll_interval_s = 0.01
    config.budget.max_budget_usd = budget
    monkeypatch.setenv("OPENAI_API_KEY", openai_standin.api_key)
    app = make_app(config, source=FixtureLogSource(), load_store=False)
    app.current_function = "answer_support_ticket"
    app.exported_path = write_chatml(tmp_path / "output" / "golden-answer_support_ticket.jsonl", examples)
    return app


async def _wait_for_modal(pilot, kind) -> None:
    for _ in range(200):
        if isinstance(pilot.app.screen, kind) and pilot.app.screen.is_mounted:
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{kind.__name__} never appeared; screen is {pilot.app.screen}")


async def test_approve_runs_training_to_summary(tmp_path, monkeypatch, openai_standin):
    app = _training_app(tmp_path, monkeypatch, openai_standin, budget=5.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        await pilot.press("t")
        await _wait_for_modal(pilot, BudgetScreen)
        assert not app.screen.query_one("#approve").disabled
        await pilot.press("a")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.outcome is not None and screen.outcome.ok, screen.outcome
        assert screen.stage_states["summary"][0] == "complete"
        assert screen.losses and screen.losses[-1] < screen.losses[0]  # the stand-in's loss falls
        assert screen.query_one("#summary").display
    assert openai_standin.requests_to("POST", "/v1/fine_tuning/jobs")
    summary = json.loads((screen.outcome.run_dir / "summary.json").read_text())
    assert summary["training"]["status"] == "succeeded"
    assert summary["golden"]["examples"] == 12


async def test_over_budget_cannot_be_approved(tmp_path, monkeypatch, openai_standin):
    app = _training_app(tmp_path, monkeypatch, openai_standin, budget=0.0001)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "t")
        # The pipeline's own guard refuses before the modal: nothing is asked, nothing uploaded.
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        assert screen.outcome.status == "budget_exceeded"
    assert not openai_standin.requests_to("POST", "/v1/files")


async def test_budget_modal_refuses_approval_over_budget(tmp_path, monkeypatch):
    from tui.workspace import Workspace

    config = fixture_config(tmp_path, monkeypatch)
    config.budget.max_budget_usd = 0.001
    view = Workspace(config).estimate_budget(write_chatml(tmp_path / "g.jsonl", 40))
    app = make_app(config, source=FixtureLogSource(), load_store=False)
    answers = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(BudgetScreen(view), answers.append)
        await pilot.pause()
        assert app.screen.query_one("#approve").disabled
        await pilot.press("a")  # the key is refused too
        await pilot.click("#approve")
        await pilot.pause()
        assert isinstance(app.screen, BudgetScreen) and answers == []
        assert "smaller top-k" in str(app.screen.query_one("#budget-advice").render())
        await pilot.press("escape")
        await pilot.pause()
    assert answers == [False]


async def test_cancelled_run_can_be_resumed(tmp_path, monkeypatch, openai_standin):
    app = _training_app(tmp_path, monkeypatch, openai_standin, budget=5.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "t")
        await _wait_for_modal(pilot, BudgetScreen)
        await pilot.press("n")  # decline: the run stops before any upload and stays resumable
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert screen.outcome.status == "not_approved"
        assert not openai_standin.requests_to("POST", "/v1/files")
        await app.workers.wait_for_complete()
        await pilot.pause()
        first_run = screen.outcome.run_id
        assert screen.resumable is not None and screen.resumable.run_id == first_run
        await pilot.press("r")
        await _wait_for_modal(pilot, BudgetScreen)
        await pilot.press("a")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.outcome.ok
        assert screen.outcome.run_id == first_run
        assert screen.resumable is None  # nothing left to resume
    runs = list_runs(tmp_path / "output")
    assert len(runs) == 1 and runs[0].status == "succeeded"

"""Pilot flows of the training screen: the budget modal gates the run; approved runs reach a summary.

Training talks to the loopback OpenAI stand-in with the real ``openai`` client.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from screens.budget import BudgetScreen
from screens.training import TrainingScreen
from tests.support.configs import configured
from tests.support.pilot import wait_for_screen, wait_until
from tests.support.tiny_model import build_tiny_model
from tests.support.tui_fixtures import FixtureLogSource, fixture_config, write_chatml
from tui.app import make_app
from vectortrainer.runs.directory import RunDirectory, list_runs
from vectortrainer.runs.status import RunStatus

SIZE = (120, 40)
pytestmark = pytest.mark.anyio


def _training_app(tmp_path, monkeypatch, openai_standin, *, budget: float | None, examples: int = 12):
    config = configured(fixture_config(tmp_path, monkeypatch), **{
        "openai.base_url": openai_standin.base_url, "training.poll_interval_s": 0.01,
        "budget.max_budget_usd": budget,
        # a dozen examples leave the gate a few held-out cases: these tests are about the screen's
        # flow, not about how many cases are evidence enough
        "gate.min_cases": 2})
    monkeypatch.setenv("OPENAI_API_KEY", openai_standin.api_key)
    app = make_app(config, source=FixtureLogSource(), load_store=False)
    app.current_function = "answer_support_ticket"
    app.exported_path = write_chatml(tmp_path / "output" / "golden-answer_support_ticket.jsonl", examples)
    return app


async def test_approve_runs_training_to_summary(tmp_path, monkeypatch, openai_standin):
    app = _training_app(tmp_path, monkeypatch, openai_standin, budget=5.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        await pilot.press("t")
        await wait_for_screen(pilot, BudgetScreen)
        assert not app.screen.query_one("#approve").disabled
        await pilot.press("a")
        await wait_until(pilot, lambda: screen.outcome is not None, "the end of the run")
        assert screen.outcome.ok, (screen.outcome.status, screen.outcome.message)
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
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        await wait_until(pilot, lambda: screen.outcome is not None, "the end of the run")
        assert screen.outcome.status == "budget_exceeded"
    assert not openai_standin.requests_to("POST", "/v1/files")


async def test_budget_modal_refuses_approval_over_budget(tmp_path, monkeypatch):
    from tui.workspace import Workspace

    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"budget.max_budget_usd": 0.001})
    view = Workspace(config).runs.estimate(write_chatml(tmp_path / "g.jsonl", 40))
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
        await wait_for_screen(pilot, BudgetScreen)
        await pilot.press("n")  # decline: the run stops before any upload and stays resumable
        screen = app.screen
        await wait_until(pilot, lambda: screen.outcome is not None and screen.resumable is not None,
                         "the declined run listed as resumable")
        assert screen.outcome.status == "not_approved"
        assert not openai_standin.requests_to("POST", "/v1/files")
        first_run = screen.outcome.run_id
        assert screen.resumable is not None and screen.resumable.run_id == first_run
        await pilot.press("r")
        await wait_for_screen(pilot, BudgetScreen)
        await pilot.press("a")
        await wait_until(pilot, lambda: screen.outcome.run_id == first_run and screen.outcome.ok, "the resumed run")
        assert screen.resumable is None  # nothing left to resume
    runs = list_runs(tmp_path / "output")
    assert len(runs) == 1 and runs[0].status == "succeeded"


@pytest.mark.slow
async def test_a_local_run_is_confirmed_in_minutes_and_trains_to_a_summary(tmp_path, monkeypatch):
    """``training.trainer: local``: the modal shows the measured minutes (it once raised AttributeError)."""
    model = build_tiny_model(tmp_path / "tiny-model")
    config = configured(fixture_config(tmp_path, monkeypatch), **{
        "training.provider": "local", "training.local_model": model, "training.max_steps": 2,
        "training.n_epochs": 1, "training.poll_interval_s": 0.05, "budget.max_budget_usd": None,
        "budget.max_minutes": 30,
        "gate.enabled": False,  # a tiny random model never beats its base (the gate is tested on its own)
    })
    app = make_app(config, source=FixtureLogSource(), load_store=False)
    app.current_function = "answer_support_ticket"
    app.exported_path = write_chatml(tmp_path / "output" / "golden-answer_support_ticket.jsonl", 12, words=8)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "t")
        await wait_for_screen(pilot, BudgetScreen, timeout_s=120)  # calibration runs a few real steps first
        modal = app.screen
        assert modal.budget.unit == "minutes" and modal.budget.limit == 30 and not modal.budget.over_budget
        assert dict(modal.budget.rows)["budget"] == "30 min"
        await pilot.press("a")
        screen = app.screen
        assert isinstance(screen, TrainingScreen)
        await wait_until(pilot, lambda: screen.outcome is not None, "the end of the local run", timeout_s=300)
        assert screen.outcome.ok, screen.outcome.message
        assert screen.query_one("#summary").display
    summary = json.loads((screen.outcome.run_dir / "summary.json").read_text())
    assert summary["training"]["status"] == "succeeded" and summary["cost"]["estimated_minutes"] is not None


async def test_a_run_live_in_another_process_is_not_offered_for_resume(tmp_path, monkeypatch, openai_standin):
    app = _training_app(tmp_path, monkeypatch, openai_standin, budget=5.0)
    stopped = RunDirectory.create("output", {}, run_id="20261201-000000-aaaaaa", function="answer_support_ticket")
    stopped.state.status = RunStatus.INTERRUPTED
    stopped.save()
    live = RunDirectory.create("output", {}, run_id="20261201-000001-bbbbbb", function="answer_support_ticket")
    holder = subprocess.Popen(  # another process running the newer run: it holds the run's lock
        [sys.executable, "-c", "import sys, time, filelock; lock = filelock.FileLock(sys.argv[1]); lock.acquire();"
         " print('held', flush=True); time.sleep(60)", str(live.path / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f5")
            screen = app.screen
            await wait_until(pilot, lambda: screen.resumable is not None, "the resumable run showing")
            assert screen.resumable.run_id == stopped.run_id  # never the newer, live one
    finally:
        holder.kill()
        holder.wait()

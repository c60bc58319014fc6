"""Snapshots of every screen and modal at 120x40 on fixed fixture data (pytest-textual-snapshot).

Regenerate with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

import pytest

from screens.budget import BudgetScreen
from screens.confirm import ConfirmScreen
from tests.tui_fixture_data import FixtureLogSource, fixture_config, write_chatml
from tui.app import make_app
from tui.workspace import Workspace

SIZE = (120, 40)


async def _settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_no_store_screen(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_help_screen(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch))
    assert snap_compare(app, press=["f1"], terminal_size=SIZE, run_before=_settle)


def test_budget_modal_within_budget(snap_compare, tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    view = Workspace(config).estimate_budget(write_chatml(tmp_path / "golden.jsonl", 12))
    assert not view.over_budget
    app = make_app(config, source=FixtureLogSource(), load_store=False)

    async def run_before(pilot):
        pilot.app.push_screen(BudgetScreen(view))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_budget_modal_over_budget(snap_compare, tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    config.budget.max_budget_usd = 0.01
    view = Workspace(config).estimate_budget(write_chatml(tmp_path / "golden.jsonl", 60, words=400))
    assert view.over_budget
    app = make_app(config, source=FixtureLogSource(), load_store=False)

    async def run_before(pilot):
        pilot.app.push_screen(BudgetScreen(view))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_confirm_modal(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource(), load_store=False)

    async def run_before(pilot):
        pilot.app.push_screen(ConfirmScreen("Roll back the hook?", "Make version v2 the active hook now?", "Roll back"))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_dataset_screen_functions(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)

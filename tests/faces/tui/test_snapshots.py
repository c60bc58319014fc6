"""Snapshots of every screen and modal at 120x40 on fixed fixture data (pytest-textual-snapshot).

Regenerate with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and review the SVGs.
"""

from __future__ import annotations

from screens.budget import BudgetScreen
from screens.confirm import ConfirmScreen
from tests.support.pilot import settle, wait_until
from tests.support.tui_fixtures import (
    FixtureLogSource,
    fixture_config,
    greetings_by_tier,
    two_hook_versions,
    two_models,
    write_chatml,
)
from tui.app import make_app
from tui.workspace import Workspace

SIZE = (120, 40)


async def _wait_until(pilot, condition, timeout_s: float = 30.0) -> None:
    await wait_until(pilot, condition, "the screen's data", timeout_s)


async def _settle(pilot) -> None:
    await settle(pilot)


def test_no_store_screen(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_help_screen(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch))
    assert snap_compare(app, press=["f1"], terminal_size=SIZE, run_before=_settle)


def test_budget_modal_within_budget(snap_compare, tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    view = Workspace(config).runs.estimate(write_chatml(tmp_path / "golden.jsonl", 12))
    assert not view.over_budget
    app = make_app(config, source=FixtureLogSource(), load_store=False)

    async def run_before(pilot):
        pilot.app.push_screen(BudgetScreen(view))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_budget_modal_over_budget(snap_compare, tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"budget.max_budget_usd": 0.01})
    view = Workspace(config).runs.estimate(write_chatml(tmp_path / "golden.jsonl", 60, words=400))
    assert view.over_budget
    app = make_app(config, source=FixtureLogSource(), load_store=False)

    async def run_before(pilot):
        pilot.app.push_screen(BudgetScreen(view))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_budget_modal_near_the_providers_cutoff(snap_compare, tmp_path, monkeypatch):
    monkeypatch.setenv("VECTORTRAINER_TODAY", "2026-12-20")  # 17 days before OpenAI stops taking jobs
    config = fixture_config(tmp_path, monkeypatch)
    view = Workspace(config).runs.estimate(write_chatml(tmp_path / "golden.jsonl", 12))
    assert any("in 17 days" in warning for warning in view.warnings)
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


def _fixed_hook_times(config) -> None:
    """Give saved hook versions fixed timestamps (the manifest is data; checksums cover the sources)."""
    import json as _json

    manifest = config.hooks.dir / ".hook_versions" / "manifest.json"
    data = _json.loads(manifest.read_text())
    for number, version in enumerate(data["versions"], start=1):
        version["timestamp"] = f"2026010{number}T120000000000Z"
    manifest.write_text(_json.dumps(data))


def test_dataset_screen_after_selection(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())

    async def run_before(pilot):
        await _wait_until(pilot, lambda: pilot.app.store_state == "ready" and pilot.app.functions)
        await pilot.press("s")
        await _wait_until(pilot, lambda: pilot.app.selection is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_feedback_screen(snap_compare, tmp_path, monkeypatch):
    from vectortrainer.feedback.pair import FeedbackPair
    from vectortrainer.feedback.store import write_feedback_file

    config = fixture_config(tmp_path, monkeypatch)
    write_feedback_file(config.feedback.path, [FeedbackPair("Refund is ok", "Refund is approved")], id_prefix="fb")
    app = make_app(config, source=FixtureLogSource())

    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("f3")
        await _settle(pilot)
        pilot.app.screen.query_one("#logs").focus()
        await pilot.press("down", "enter")
        await _settle(pilot)
        pilot.app.screen.query_one("#fixed-output").cursor_blink = False  # blinking is a clock
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_rules_screen_with_conflict(snap_compare, tmp_path, monkeypatch):
    from vectortrainer.feedback.pair import FeedbackPair
    from vectortrainer.feedback.store import write_feedback_file

    config = fixture_config(tmp_path, monkeypatch)
    write_feedback_file(config.feedback.path, [
        FeedbackPair("Your order 4411 ships soon", "Your order #4411 ships soon."),
        FeedbackPair("Your order 97 ships soon", "Your order #97 ships soon."),
        FeedbackPair("Refund is ok", "Refund is approved"),
        FeedbackPair("Refund is ok", "Refund is fine"),
    ], id_prefix="fb")
    app = make_app(config, source=FixtureLogSource())

    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("f4", "s")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_rules_screen_keep_both(snap_compare, tmp_path, monkeypatch):
    from vectortrainer.feedback.store import write_feedback_file

    config = fixture_config(tmp_path, monkeypatch)
    write_feedback_file(config.feedback.path, greetings_by_tier(), id_prefix="fb")
    app = make_app(config, source=FixtureLogSource())

    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("f4", "s")
        await _settle(pilot)
        pilot.app.screen.query_one("#conflicts").focus()
        await pilot.press("3")  # keep both, A first
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_hooks_screen(snap_compare, tmp_path, monkeypatch):

    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"selection.function": "answer_support_ticket"})
    two_hook_versions(config)
    _fixed_hook_times(config)
    two_models(config, "answer_support_ticket")
    app = make_app(config, source=FixtureLogSource())

    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("f6")
        await _settle(pilot)
        pilot.app.screen.query_one("#versions").focus()
        await pilot.press("down")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_training_screen_idle(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())

    async def run_before(pilot):
        await _settle(pilot)
        await pilot.press("f5")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

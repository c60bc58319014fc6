"""Snapshots of every screen and modal at 120x40 on fixed fixture data (pytest-textual-snapshot),
and of the main screens and a row opened in full at 80x24 and 160x48 (they fit the smallest,
and their tables share the width of the largest).

Regenerate with ``pytest tests/faces/tui/test_snapshots.py --snapshot-update`` and review the
SVGs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from screens.budget import BudgetScreen
from screens.confirm import ConfirmScreen
from screens.detail import DetailScreen
from tests.support.pilot import settle, wait_for_screen, wait_until
from tests.support.tui_fixtures import (
    FixtureLogSource,
    fixture_config,
    greetings_by_tier,
    many_hook_versions,
    two_hook_versions,
    two_models,
    write_chatml,
)
from tui.app import make_app
from tui.workspace import Workspace
from vectortrainer.config import Config
from vectortrainer.workspace.budget_view import BudgetView

SIZE = (120, 40)
# The smallest terminal every screen fits, and a large one whose width the tables share.
SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


async def _wait_until(pilot, condition, timeout_s: float = 30.0) -> None:
    await wait_until(pilot, condition, "the screen's data", timeout_s)


async def _settle(pilot) -> None:
    await settle(pilot)


def _modal(snap_compare: Callable[..., bool], config: Config, screen: Callable[[], Screen]) -> bool:
    """The snapshot of ``screen()`` pushed over the app (the store not loaded)."""
    app = make_app(config, source=FixtureLogSource(), load_store=False)

    async def run_before(pilot: Pilot) -> None:
        pilot.app.push_screen(screen())
        await pilot.pause()

    return snap_compare(app, terminal_size=SIZE, run_before=run_before)


def _pressing(keys: Sequence[str], focus: str | None = None,
              then: Sequence[str] = ()) -> Callable[[Pilot], Awaitable[None]]:
    """A ``run_before``: settle, press ``keys`` (to a screen), settle; then, given ``focus``,
    focus that widget, press ``then`` and settle again."""
    async def run_before(pilot: Pilot) -> None:
        await _settle(pilot)
        await pilot.press(*keys)
        await _settle(pilot)
        if focus is not None:
            pilot.app.screen.query_one(focus).focus()
            await pilot.press(*then)
            await _settle(pilot)

    return run_before


def _estimate(config: Config, tmp_path: Path, examples: int, words: int = 40) -> BudgetView:
    """The budget view of a golden file of ``examples`` ChatML examples of ``words`` words."""
    golden = write_chatml(tmp_path / "golden.jsonl", examples, words=words)
    return Workspace(config).runs.estimate(golden)


def test_no_store_screen(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch))
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def test_help_screen(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch))
    assert snap_compare(app, press=["f1"], terminal_size=SIZE, run_before=_settle)


def test_budget_modal_within_budget(snap_compare, tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    view = _estimate(config, tmp_path, 12)
    assert not view.over_budget
    assert _modal(snap_compare, config, lambda: BudgetScreen(view))


def test_budget_modal_over_budget(snap_compare, tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"budget.max_budget_usd": 0.01})
    view = _estimate(config, tmp_path, 60, words=400)
    assert view.over_budget
    assert _modal(snap_compare, config, lambda: BudgetScreen(view))


def test_budget_modal_near_the_providers_cutoff(snap_compare, tmp_path, monkeypatch):
    monkeypatch.setenv("VECTORTRAINER_TODAY", "2026-12-20")  # 17 days before OpenAI stops taking jobs
    config = fixture_config(tmp_path, monkeypatch)
    view = _estimate(config, tmp_path, 12)
    assert any("in 17 days" in warning for warning in view.warnings)
    assert _modal(snap_compare, config, lambda: BudgetScreen(view))


def test_confirm_modal(snap_compare, tmp_path, monkeypatch):
    assert _modal(snap_compare, fixture_config(tmp_path, monkeypatch), lambda: ConfirmScreen(
        "Roll back the hook?", "Make version v2 the active hook now?", "Roll back"))


def test_dataset_screen_functions(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    assert snap_compare(app, terminal_size=SIZE, run_before=_settle)


def _fixed_hook_times(config) -> None:
    """Give saved hook versions fixed timestamps (the manifest is data; checksums cover the sources)."""
    import json as _json

    manifest = config.hooks.dir / "answer_support_ticket" / ".hook_versions" / "manifest.json"
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
        await _pressing(["f3"], "#logs", ["down", "enter"])(pilot)
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
    assert snap_compare(app, terminal_size=SIZE, run_before=_pressing(["f4", "s"]))


def test_rules_screen_keep_both(snap_compare, tmp_path, monkeypatch):
    from vectortrainer.feedback.store import write_feedback_file

    config = fixture_config(tmp_path, monkeypatch)
    write_feedback_file(config.feedback.path, greetings_by_tier(), id_prefix="fb")
    app = make_app(config, source=FixtureLogSource())
    keep_both_a_first = _pressing(["f4", "s"], "#conflicts", ["3"])
    assert snap_compare(app, terminal_size=SIZE, run_before=keep_both_a_first)


def test_hooks_screen(snap_compare, tmp_path, monkeypatch):

    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"selection.function": "answer_support_ticket"})
    two_hook_versions(config)
    _fixed_hook_times(config)
    two_models(config, "answer_support_ticket")
    app = make_app(config, source=FixtureLogSource())
    older_version = _pressing(["f6"], "#versions", ["down"])
    assert snap_compare(app, terminal_size=SIZE, run_before=older_version)


def test_training_screen_idle(snap_compare, tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    assert snap_compare(app, terminal_size=SIZE, run_before=_pressing(["f5"]))


# -- the main screens at the smallest and at a large terminal ----------------------------------
def _rules_app(tmp_path, monkeypatch):
    from vectortrainer.feedback.pair import FeedbackPair
    from vectortrainer.feedback.store import write_feedback_file

    config = fixture_config(tmp_path, monkeypatch)
    write_feedback_file(config.feedback.path, greetings_by_tier() + [
        FeedbackPair("Your order 4411 ships soon", "Your order #4411 ships soon."),
        FeedbackPair("Your order 97 ships soon", "Your order #97 ships soon."),
    ], id_prefix="fb")
    return make_app(config, source=FixtureLogSource())


@SIZES
def test_dataset_screen_after_selection_sized(snap_compare, tmp_path, monkeypatch, size):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())

    async def run_before(pilot):
        await _wait_until(pilot, lambda: pilot.app.store_state == "ready" and pilot.app.functions)
        await pilot.press("s")
        await _wait_until(pilot, lambda: pilot.app.selection is not None)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@SIZES
def test_rules_screen_with_conflict_sized(snap_compare, tmp_path, monkeypatch, size):
    app = _rules_app(tmp_path, monkeypatch)
    assert snap_compare(app, terminal_size=size, run_before=_pressing(["f4", "s"]))


@SIZES
def test_hooks_screen_sized(snap_compare, tmp_path, monkeypatch, size):
    config = fixture_config(tmp_path, monkeypatch).with_overrides(
        **{"selection.function": "answer_support_ticket"})
    many_hook_versions(config, count=7)
    _fixed_hook_times(config)
    two_models(config, "answer_support_ticket")
    app = make_app(config, source=FixtureLogSource())
    older_version = _pressing(["f6"], "#versions", ["down"])
    assert snap_compare(app, terminal_size=size, run_before=older_version)


@SIZES
def test_conflict_opened_in_full(snap_compare, tmp_path, monkeypatch, size):
    app = _rules_app(tmp_path, monkeypatch)

    async def run_before(pilot):
        await _pressing(["f4", "s"], "#conflicts", ["enter"])(pilot)
        await wait_for_screen(pilot, DetailScreen)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)

"""Pilot flows: select -> export; feedback -> synthesise -> resolve a conflict -> generate hook; rollback.

The log source is fixed in-memory fixture data (no VectorWave import); feedback,
rules, hooks and ChatML export are the real engine writing into tmp_path.
"""

from __future__ import annotations

import json
from typing import TypeVar

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from screens.confirm import ConfirmScreen
from screens.feedback import FeedbackScreen
from screens.hooks import HooksScreen
from screens.rules import RulesScreen
from tests.support.pilot import settle, wait_for_screen, wait_until
from tests.support.tui_fixtures import FixtureLogSource, fixture_config, greetings_by_tier, two_hook_versions
from tui.app import make_app
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.golden.chatml import build_example
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.hooks.versions import HookVersionManager

SIZE = (120, 40)
pytestmark = pytest.mark.anyio
ScreenT = TypeVar("ScreenT", bound=Screen)


async def _open(pilot: Pilot, kind: type[ScreenT], *keys: str) -> ScreenT:
    """Press ``keys`` (the ones that open a screen), settle; the screen on top, a ``kind``."""
    await pilot.press(*keys)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen




async def test_select_then_export_writes_valid_chatml(tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.store_state == "ready"
        await pilot.press("s")
        await wait_until(pilot, lambda: app.selection is not None, "the selection")
        view = app.selection
        assert view is not None and view.function == "answer_support_ticket"
        assert 0 < len(view.candidates) <= config.selection.top_k
        assert {c.strategy for c in view.candidates} <= {"steady", "anomaly"}
        assert app.screen.query_one("#candidates").row_count == len(view.candidates)
        await pilot.press("e")
        await settle(pilot)
    exported = tmp_path / "output" / "golden-answer_support_ticket.jsonl"
    assert app.exported_path == exported.relative_to(tmp_path)
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(lines) == len(view.candidates)
    picked = {c.uuid for c in view.candidates}
    records = {r.uuid: r for r in view.logs.records}
    users = {m["messages"][1]["content"] for m in lines}
    # The user message carries the picked logs' real inputs (VT-4), never a failed log.
    assert all(records[u].status == "SUCCESS" for u in picked)
    assert all(any(records[u].inputs["question"] in text for text in users) for u in picked)


async def test_selecting_again_replaces_the_selection_without_stopping_the_app(tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.selection is not None, "the first selection")
        first = app.selection
        await pilot.press("s")
        await wait_until(pilot, lambda: app.selection is not first or app.return_code is not None, "the second selection")
        assert app.return_code is None and app.is_running
        assert app.selection is not first and app.selection.function == first.function
        assert app.screen.query_one("#candidates").row_count == len(app.selection.candidates)


async def test_feedback_rules_conflict_hook(tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    store = FeedbackStore(config.feedback.path)
    store.add(FeedbackPair("Refund is ok", "Refund is approved"))
    store.add(FeedbackPair("Refund is ok", "Refund is fine"))
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Feedback: open a log, write the fix, save with F7.
        screen = await _open(pilot, FeedbackScreen, "f3")
        logs = screen.query_one("#logs")
        logs.focus()
        await pilot.press("enter")
        await pilot.pause()
        bad = screen.current.output
        editor = screen.query_one("#fixed-output")
        editor.text = bad.replace("Answer about", "Our answer about") + " Thanks."
        await pilot.press("f7")
        await settle(pilot)
        entries = FeedbackStore(config.feedback.path).list()
        assert len(entries) == 3 and entries[-1].pair.bad_output == bad
        assert entries[-1].pair.context["log_uuid"] == screen.current.uuid
        # Stored as the log's ChatML example holds it (the TUI once stored a JSON dump of the arguments).
        example = build_example(screen.current.inputs, screen.current.output, "system")["messages"]
        assert entries[-1].pair.input_prompt == example[1]["content"] and bad == example[2]["content"]
        # Rules: synthesise, see the conflict between the two refund fixes, keep B.
        rules_screen = await _open(pilot, RulesScreen, "f4", "s")
        rule_set = rules_screen.rule_set
        assert rule_set.conflicts, "the two refund fixes contradict each other"
        conflict = rule_set.conflicts[0]
        other = 1 - conflict.chosen
        rules_screen.query_one("#conflicts").focus()
        await pilot.press(str(other + 1))
        await settle(pilot)
        resolved = next(c for c in rules_screen.rule_set.conflicts if c.conflict_id == conflict.conflict_id)
        assert resolved.chosen == other and resolved.resolved_by == "person"
        assert rules_screen.replay_report is not None
        # Make the hook: through the hook gate, which has no held-out pair among 3 to judge it on.
        await pilot.press("g")
        await settle(pilot)
        function = app.current_function
        assert any("refused by the hook gate" in str(n.message) and "live now: no hook" in str(n.message)
                   for n in app._notifications)
        await pilot.press("g")  # the same hook again: judged again, never saved twice
        await settle(pilot)
    versions = HookVersionManager.for_function(config.hooks.dir, function).list_versions()
    assert len(versions) == 1 and not versions[0].active
    assert (versions[0].state, versions[0].origin) == ("refused by its gate", "app")
    assert not (config.hooks.dir / "generated_prompt_hook.py").exists()


async def test_keep_both_rules_of_a_conflict_in_an_order(tmp_path, monkeypatch):
    from vectortrainer.rules.replay import apply_rules

    config = fixture_config(tmp_path, monkeypatch)
    store = FeedbackStore(config.feedback.path)
    for pair in greetings_by_tier():
        store.add(pair)
    # A second conflict no context tells apart: keeping both of it must be refused.
    store.add(FeedbackPair("Refund is ok", "Refund is approved"))
    store.add(FeedbackPair("Refund is ok", "Refund is fine"))
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await _open(pilot, RulesScreen, "f4", "s")
        conflicts = screen.rule_set.conflicts
        greeting = next(i for i, c in enumerate(conflicts) if c.rules[0].pattern == "Hi")
        assert len(conflicts) == 2
        refund = 1 - greeting
        table = screen.query_one("#conflicts")
        table.focus()
        table.move_cursor(row=greeting)
        await pilot.press("4")  # keep both, B ("Hey", the VIP fix) first
        await settle(pilot)
        kept = screen.rule_set.conflicts[greeting]
        assert kept.order == [1, 0] and kept.resolved_by == "person"
        assert str(table.get_row_at(greeting)[1]) == "B→A"
        rules = screen.rule_set.rules
        assert apply_rules(rules, "Hi Zoe, ok", {"tier": "vip"}) == "Hey Zoe, ok"
        assert apply_rules(rules, "Hi Zoe, ok", {"tier": "free"}) == "Hello Zoe, ok"
        assert screen.replay_report.good_changed == []
        before = screen.rule_set
        table.move_cursor(row=refund)
        await pilot.press("3")
        await settle(pilot)
        assert screen.rule_set is before  # refused: nothing changed
        assert any("cannot keep both" in str(n.message) for n in app._notifications)


async def test_rollback_to_previous_version(tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"selection.function": "answer_support_ticket"})
    manager = two_hook_versions(config, "answer_support_ticket")
    first, second = [v.version_id for v in manager.list_versions()]
    assert manager.get_active_version().version_id == second
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, HooksScreen, "f6")
        table = screen.query_one("#versions")
        table.focus()
        await settle(pilot)
        # The live version shows what it does against no hook (it was compared with itself).
        diff = "\n".join(str(line.text) for line in screen.query_one("#diff").lines)
        assert f"\nno hook -> {second}:" in diff and "+ rule 1:" in diff, diff
        await pilot.press("down")  # newest first: move to the older version
        await settle(pilot)
        diff = "\n".join(str(line.text) for line in screen.query_one("#diff").lines)
        # A rule-level diff, from the top: the older version's order-number rule comes back.
        assert diff.startswith("v001: superseded") and "\nv002 -> v001:" in diff, diff
        assert "+ rule 1: regex_replace" in diff
        assert '"kind"' not in diff  # never raw JSON
        await pilot.press("b")
        await wait_for_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        # The rollback runs in a worker started once the modal is gone: wait for what it does.
        await wait_until(pilot, lambda: [row.version_id for row in screen.versions if row.active] == [first],
                         "the rollback to the older version")
    assert manager.get_active_version().version_id == first


async def test_a_reload_that_read_before_the_rollback_never_shows_after_it(tmp_path, monkeypatch):
    """Closing the confirmation resumes the screen, which reloads the versions while the
    rollback runs; a reload slow to finish must not put the old live version back on screen."""
    import threading
    import time

    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"selection.function": "answer_support_ticket"})
    manager = two_hook_versions(config, "answer_support_ticket")
    first, second = [v.version_id for v in manager.list_versions()]
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot, HooksScreen, "f6")
        workspace = screen.workspace
        real_service = workspace.service
        rolling_back = threading.Event()

        def slow_service(function: str):
            # The reload read the versions before the rollback; it finishes after it.
            if rolling_back.is_set():
                time.sleep(1.0)
            return real_service(function)

        real_rollback = workspace.hooks.rollback

        def rollback(function: str, version_id: str):
            time.sleep(0.3)  # the reload started with the resume gets to read first
            return real_rollback(function, version_id)

        monkeypatch.setattr(workspace, "service", slow_service)
        monkeypatch.setattr(workspace.hooks, "rollback", rollback)
        screen.query_one("#versions").focus()
        await pilot.press("down")
        await settle(pilot)
        await pilot.press("b")
        await wait_for_screen(pilot, ConfirmScreen)
        rolling_back.set()
        await pilot.press("y")
        await wait_until(pilot, lambda: [row.version_id for row in screen.versions if row.active] == [first],
                         "the rollback to the older version")
        await settle(pilot)
        assert [row.version_id for row in screen.versions if row.active] == [first]
    assert manager.get_active_version().version_id == first != second


async def test_the_model_in_service_is_changed_with_one_confirmed_action(tmp_path, monkeypatch):
    from tests.support.tui_fixtures import two_models
    from vectortrainer.registry.models import ModelRegistry

    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"selection.function": "answer_support_ticket"})
    two_models(config, "answer_support_ticket")
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        screen = app.screen
        await wait_until(pilot, lambda: screen.service is not None, "the models in service")
        lines = str(screen.query_one("#service-lines").render())
        assert "model in service: m001" in lines and "last model gate: m002 refused" in lines
        screen.query_one("#models").focus()
        await pilot.press("m")  # the newest (refused) model is selected: promote it over the gate
        await wait_for_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.service.promoted.version_id == "m002", "the promotion")
        await pilot.press("down", "m")  # and back to the one the gate approved
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.service.promoted.version_id == "m001", "the rollback")
    assert ModelRegistry(config.models.dir, "answer_support_ticket").promoted().version_id == "m001"


async def test_rules_screen_shows_progress_and_the_feedback_lines_skipped(tmp_path, monkeypatch):
    import io

    from rich.console import Console
    from textual.widgets import Static

    config = fixture_config(tmp_path, monkeypatch)
    store = FeedbackStore(config.feedback.path)
    for pair in greetings_by_tier():
        store.add(pair)
    with config.feedback.path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
        handle.write(json.dumps({"bad_output": "It costs 5 \ud800 today", "fixed_output": "It costs 5 EUR today"}) + "\n")
    shown: list[str] = []
    original = RulesScreen._progress_from_thread

    def spy(self, done, total, what):  # type: ignore[no-untyped-def]
        shown.append(what)
        original(self, done, total, what)

    monkeypatch.setattr(RulesScreen, "_progress_from_thread", spy)
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f4", "s")
        await wait_until(pilot, lambda: app.screen.rule_set is not None, "the rules", timeout_s=120)
        await settle(pilot)
        console = Console(width=400, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#replay", Static).content)
        text = console.export_text()
    assert "diffing feedback pairs" in shown
    lines = len(greetings_by_tier())
    assert "1 malformed line(s) skipped" in text and f"line {lines + 1}" in text
    assert "U+FFFD" in text and f"line(s) {lines + 2}" in text


class _SlowLogSource(FixtureLogSource):
    """The fixture logs, read in 200 batches of 20 ms each (a large store), counting the batches read."""

    batches = 200

    def __init__(self) -> None:
        super().__init__()
        self.read = 0

    def read_function(self, name, progress=None):
        import time

        for done in range(1, self.batches + 1):
            time.sleep(0.02)
            self.read = done
            if progress is not None:
                progress(done, self.batches)
        return super().read_function(name)


async def test_cancelling_a_selection_stops_the_read_and_exports_nothing(tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    source = _SlowLogSource()
    app = make_app(config, source=source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        bar = app.screen.query_one("#work-progress")
        await wait_until(pilot, lambda: source.read >= 3 and bar.progress >= 1, "the read under way", then_settle=False)
        assert bar.display and bar.total == source.batches and bar.show_eta
        await pilot.press("escape")
        await wait_until(pilot, lambda: not any(w.is_running for w in app.screen.workers if w.group == "selection"),
                         "the selection worker to end")
        await settle(pilot)
        stopped_at = source.read
        assert stopped_at < source.batches  # the read stopped at the next batch, not at the end
        assert app.selection is None
        assert not bar.display
        assert "cancelled" in str(app.screen.query_one("#work-status").render())
    output = tmp_path / "output"
    assert not output.exists() or not list(output.glob("golden-*.jsonl"))
    assert app.exported_path is None

"""Nothing a person must read is cut short (issue 28): every table row opens in full, text columns
share the terminal's width, long text wraps at first paint, every screen fits 80x24; and the small
things (Enter in epsilon, typing fast, the feedback screen's function switcher, c and m explaining).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.geometry import Region
from textual.widget import Widget

from screens.detail import DetailScreen
from screens.feedback import FeedbackScreen
from screens.hooks import HooksScreen
from screens.rules import RulesScreen, rule_text
from tests.support.pilot import settle, wait_for_screen, wait_until
from tests.support.tui_fixtures import (
    FixtureLogSource,
    fixture_config,
    greetings_by_tier,
    many_hook_versions,
    two_hook_versions,
    two_models,
)
from tui.app import make_app
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore

pytestmark = pytest.mark.anyio
FUNCTION = "answer_support_ticket"


def _app_with_greetings(tmp_path, monkeypatch):
    """The app over the fixture logs, with the greeting corrections (one conflict) recorded."""
    config = fixture_config(tmp_path, monkeypatch)
    store = FeedbackStore(config.feedback.path)
    for pair in greetings_by_tier():
        store.add(pair)
    return make_app(config, source=FixtureLogSource())


async def _synthesised(pilot) -> None:
    """On the rules screen, once the rules are learned."""
    await settle(pilot)
    await pilot.press("f4", "s")
    await wait_until(pilot, lambda: pilot.app.screen.rule_set is not None, "the rules", timeout_s=120)


def _text(widget: Widget) -> str:
    """What ``widget`` shows now, its lines joined by spaces."""
    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return " ".join(" ".join(strip.text for strip in strips).split())


def _with_function(config):
    return config.with_overrides(**{"selection.function": FUNCTION})


def _notified(app, words: str) -> bool:
    return any(words in str(n.message) for n in app._notifications)


async def _detail(pilot, *keys: str) -> DetailScreen:
    await pilot.press(*keys)
    await wait_for_screen(pilot, DetailScreen)
    screen = pilot.app.screen
    assert isinstance(screen, DetailScreen)
    return screen


async def _close(pilot) -> None:
    await pilot.press("escape")
    await pilot.pause()
    assert not isinstance(pilot.app.screen, DetailScreen)


# -- rows in full -------------------------------------------------------------------------
async def test_a_golden_pick_opens_in_full_and_enter_on_a_function_still_selects(tmp_path,
                                                                                 monkeypatch):
    source = FixtureLogSource()
    original = source.read_function
    fine_print = " and the fine print of clause 7" * 20  # longer than any column, any preview

    def read_function(name, progress=None):
        logs = original(name, progress)
        logs.records = [replace(r, inputs={"question": r.inputs["question"] + fine_print})
                        for r in logs.records]
        return logs

    source.read_function = read_function
    app = make_app(fixture_config(tmp_path, monkeypatch), source=source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.selection is not None, "the selection")
        screen, view = app.screen, app.selection
        candidates = screen.query_one("#candidates")
        candidates.focus()
        candidates.move_cursor(row=1)
        detail = await _detail(pilot, "enter")
        record = next(r for r in view.logs.records if r.uuid == view.candidates[1].uuid)
        text = detail.plain_text()
        assert record.inputs["question"] in text and record.output in text and record.uuid in text
        assert f"Golden pick 2 of {len(view.candidates)}" in text
        await _close(pilot)
        # Enter on a function keeps its meaning (select); o opens the function in full.
        first = app.selection
        screen.query_one("#functions").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.selection is not first, "the selection again")
        detail = await _detail(pilot, "o")
        assert "Function answer_support_ticket" in detail.plain_text()


async def test_the_highlighted_function_is_named_in_full_above_its_table(tmp_path, monkeypatch):
    # At 80 columns the table cuts "answer_support_ticket"; two names may share a long prefix.
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        table, title = screen.query_one("#functions"), screen.query_one("#functions-title")
        assert "answer_support_ticket" not in _text(table) and "\u2026" in _text(table)
        assert _text(title) == "Functions \u00b7 answer_support_ticket"
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        assert _text(title) == "Functions \u00b7 summarise_invoice"
        assert app.current_function == "summarise_invoice"


async def test_a_log_and_a_pair_open_in_full_on_the_feedback_screen(tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch)
    long_fix = "Refund is approved. " + "We will also credit the shipping costs. " * 20
    pair = FeedbackPair("Refund is ok", long_fix, "may I get a refund?", {"tier": "vip"})
    FeedbackStore(config.feedback.path).add(pair)
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FeedbackScreen)
        assert screen.focused is screen.query_one("#logs")
        detail = await _detail(pilot, "o")  # the log in full: Enter starts a correction
        record = screen.logs.records[0]
        text = detail.plain_text()
        assert record.inputs["question"] in text and record.output in text
        await _close(pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert screen.current is record and not isinstance(app.screen, DetailScreen)
        # the input of the log being corrected, whole
        assert record.inputs["question"] in _text(screen.query_one("#log-input"))
        screen.query_one("#pairs").focus()
        detail = await _detail(pilot, "enter")
        text = detail.plain_text()
        assert long_fix in text and "Refund is ok" in text and "may I get a refund?" in text
        assert '"tier": "vip"' in text


async def test_a_rule_and_a_conflict_open_in_full(tmp_path, monkeypatch):
    app = _app_with_greetings(tmp_path, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        await _synthesised(pilot)
        screen = app.screen
        assert isinstance(screen, RulesScreen)
        rule = screen.rule_set.rules[0]
        screen.query_one("#rules").focus()
        detail = await _detail(pilot, "enter")
        text = detail.plain_text()
        headings = ("pattern", "replacement", "scope", "support", "why, replay and blast radius")
        for heading in headings:
            assert f"\n{heading}\n" in f"\n{text}", heading
        assert rule.evidence.blast_radius in text and rule.describe_scope() in text
        sources = [s for s in rule.sources if s < len(screen.rule_set.pairs)]
        assert sources and all(f"supporting pair {s + 1}" in text for s in sources)
        await _close(pilot)
        conflict = screen.rule_set.conflicts[0]
        screen.query_one("#conflicts").focus()
        detail = await _detail(pilot, "enter")
        text = detail.plain_text()
        a, b = conflict.rules[:2]
        assert rule_text(a) in text and rule_text(b) in text  # B in full too, never cut
        assert "rule B · pattern" in text and "rule B · supporting pair" in text


async def test_a_hook_version_and_a_model_open_in_full(tmp_path, monkeypatch):
    config = _with_function(fixture_config(tmp_path, monkeypatch))
    manager = two_hook_versions(config, FUNCTION)
    two_models(config, FUNCTION)
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HooksScreen)
        screen.query_one("#versions").focus()
        detail = await _detail(pilot, "enter")
        newest = manager.list_versions()[-1]
        assert newest.sha256 in detail.plain_text() and "the live hook" in detail.plain_text()
        await _close(pilot)
        screen.query_one("#models").focus()
        detail = await _detail(pilot, "enter")
        text = detail.plain_text()
        assert "ft:gpt-4o-mini-2024-07-18:acme:vt:bbb222" in text
        assert "slice steady regressed: 0.930 -> 0.310" in text


# -- widths and heights -------------------------------------------------------------------
async def _rules_columns(tmp_path, monkeypatch, size: tuple[int, int]) -> tuple[int, int, int]:
    tmp_path.mkdir()
    app = _app_with_greetings(tmp_path, monkeypatch)
    async with app.run_test(size=size) as pilot:
        await _synthesised(pilot)
        rules, conflicts = app.screen.query_one("#rules"), app.screen.query_one("#conflicts")
        return rules.size.width, rules.columns["rule"].width, conflicts.columns["B"].width


async def test_the_rules_table_and_its_text_columns_grow_with_the_terminal(tmp_path, monkeypatch):
    narrow = await _rules_columns(tmp_path / "a", monkeypatch, (80, 24))
    wide = await _rules_columns(tmp_path / "b", monkeypatch, (160, 48))
    assert wide[0] >= narrow[0] + 40  # the table takes its share of the extra 80 columns
    assert wide[1] >= narrow[1] + 30 and wide[2] > narrow[2]


async def test_long_text_wraps_at_first_paint(tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.selection is not None, "the selection")
        screen = app.screen
        status = screen.query_one("#work-status")
        assert status.size.height >= 2 and _text(status).endswith("Press e to export.")
        coverage = screen.query_one("#skipped")
        assert coverage.size.width <= screen.query_one("#dataset-right").size.width
        assert "dense clusters have a pick" in _text(coverage)


async def test_the_loss_figures_wrap_in_a_narrow_training_panel(tmp_path, monkeypatch):
    # At 80 columns the line ran past the panel's edge: "loss: waiting for the first st".
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        chart, label = app.screen.query_one("#loss"), app.screen.query_one("#loss-label")
        assert _text(label) == "loss: waiting for the first step"
        chart.show([2.796, 1.5, 0.127])
        await pilot.pause()
        assert _text(label) == "loss: first 2.796 last 0.127 min 0.127 (3 steps)"
        assert label.size.height >= 2 and chart.size.width <= app.screen.query_one("#training-right").size.width


async def test_the_feedback_behind_a_rule_wraps_again_when_the_terminal_grows(tmp_path,
                                                                              monkeypatch):
    app = _app_with_greetings(tmp_path, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        await _synthesised(pilot)
        diffs = app.screen.query_one("#rule-diffs")
        narrow = max(len(line.text) for line in diffs.lines)
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert max(len(line.text) for line in diffs.lines) > narrow + 10


def _footer_keys(app) -> dict[str, Widget]:
    return {key.key: key for key in app.screen.query("FooterKey")}


async def test_every_screen_keeps_the_screen_keys_in_the_footer_at_80x24(tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for mode_key in ("f2", "f3", "f4", "f5", "f6"):
            await pilot.press(mode_key)
            await settle(pilot)
            keys = _footer_keys(app)
            for wanted in ("f1", "f2", "f3", "f4", "f5", "f6"):
                shown = wanted in keys and keys[wanted].region.right <= 80
                assert shown, (mode_key, wanted, sorted(keys))
            assert "o" in keys or mode_key == "f5"  # open in full, where there are tables


async def test_the_hooks_screen_at_80x24_shows_more_than_4_versions(tmp_path, monkeypatch):
    config = _with_function(fixture_config(tmp_path, monkeypatch))
    many_hook_versions(config, FUNCTION, 7)
    two_models(config, FUNCTION)
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        screen = app.screen
        versions = screen.query_one("#versions")
        assert versions.row_count == 7
        assert versions.scrollable_content_region.height - 1 > 4  # rows in view under the header
        assert not screen.query_one("#models").display  # folded: i shows the models
        await pilot.press("i")
        await pilot.pause()
        assert screen.query_one("#models").display and screen.query_one("#models").row_count == 2
        await pilot.press("i")
        await pilot.pause()
        assert not screen.query_one("#models").display


# -- small things -------------------------------------------------------------------------
async def test_enter_in_epsilon_applies_it_and_fast_typing_loses_nothing(tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        epsilon = app.screen.query_one("#epsilon")
        epsilon.focus()
        epsilon.value = ""
        await pilot.press(*"1e-3")  # no pause between the keys
        assert epsilon.value == "1e-3"
        epsilon.value = ""
        await pilot.press(*"0.4512")
        assert epsilon.value == "0.4512"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.selection is not None, "the selection on enter")
        assert app.selection.settings.epsilon == pytest.approx(0.4512)
        top_k = app.screen.query_one("#top-k")
        top_k.focus()
        top_k.value = ""
        await pilot.press(*"2.5", "enter")
        assert top_k.value == "2.5"  # kept as typed, and refused in words
        await settle(pilot)
        assert _notified(app, "selection.top_k: expected an integer, got '2.5'")


async def test_the_feedback_screen_switches_the_function(tmp_path, monkeypatch):
    app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen
        switcher = screen.query_one("#function")
        assert switcher.value == FUNCTION == screen.logs.function_name
        await pilot.press("f")  # the switcher, open
        await pilot.pause()
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: screen.logs.function_name == "summarise_invoice",
                         "the other function's logs")
        assert app.current_function == "summarise_invoice" == switcher.value
        await pilot.press("f6")  # the other screens follow the app's function
        await settle(pilot)
        assert "hooks of summarise_invoice" in _text(app.screen.query_one("#hooks-dir"))
        await pilot.press("f2")
        await settle(pilot)
        functions = app.screen.query_one("#functions")
        assert functions.get_row_at(functions.cursor_row)[0].plain == "summarise_invoice"


async def test_the_feedback_screen_lists_the_pairs_its_function_learns_from(tmp_path, monkeypatch):
    # A pair of another function never teaches this one's rules: it is not listed with them.
    config = fixture_config(tmp_path, monkeypatch)
    store = FeedbackStore(config.feedback.path)
    ticket = store.add(FeedbackPair("q", "Hi Ann", "Hello Ann", context={"function": FUNCTION}))
    invoice = store.add(FeedbackPair("q", "Total 12", "Total: 12",
                                     context={"function": "summarise_invoice"}))
    untagged = store.add(FeedbackPair("q", "thx", "Thank you"))
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        screen = app.screen

        def listed() -> set[str]:
            return {str(key.value) for key in screen.query_one("#pairs").rows}

        await wait_until(pilot, lambda: listed() == {ticket, untagged}, "this function's pairs")
        assert f"Pairs of {FUNCTION}" in _text(screen.query_one("#pairs-title"))
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: listed() == {invoice, untagged}, "the other function's")
        assert "Pairs of summarise_invoice" in _text(screen.query_one("#pairs-title"))


async def test_c_with_no_run_and_m_with_no_model_say_so(tmp_path, monkeypatch):
    config = _with_function(fixture_config(tmp_path, monkeypatch))
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert _notified(app, "No run to cancel")
        await pilot.press("f6")
        await settle(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert _notified(app, f"No trained model of {FUNCTION} yet")
        await pilot.press("b")
        await pilot.pause()
        assert _notified(app, "No hook version to go back to")

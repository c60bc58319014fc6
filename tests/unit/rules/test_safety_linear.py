"""Hooks that cannot freeze (issue 16 item 1): the safety check, the learner's guards and the hook's own cap."""

from __future__ import annotations

import time

import pytest

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.generator import usable_rules
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.rules.safety import check_regex_safety
from vectortrainer.rules.synthesis import synthesize_rules


@pytest.mark.parametrize("pattern", [
    r"(\d+)(\d+)x",  # 31 s at 2,000 characters before
    r"(\w+)(\w+)(\w+)(\w+)!",
    r"\d+\ ms\Z",  # the rule four ordinary pairs taught: quadratic in a digit run when searched unanchored
    r"(?<!\d)(\d+)(\d+)x",  # guarded on the left, but the two repeats still split the run every way
    r"\w+\d+",
    r"hello\w+x",  # "hellohello..." rescans from every "h"
    r"\d++x",  # possessive alone does not stop the rescans from each start
    r"(?=\d+x)",  # a lookahead with a repeat rescans at every position
    r"(a+)+",
])
def test_patterns_that_backtrack_or_rescan_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        check_regex_safety(pattern)


@pytest.mark.parametrize("pattern", [
    r"(?<!\w)\d+\ ms\Z",
    r"\A\d+\ ",
    r"order(?<!\worder)\ (\d+)(?!\w)",
    r"(?<!\w)([A-Z]\w*)\ x",
    r"ticket(?<!\wticket)\ \#(\d{4})(?!\w)",
    r"(?<=ticket\ )(?:\#)",
    r"\d{2}/\d{2}/\d{4}",
    r"(?<!\d)\d++\d",
])
def test_guarded_patterns_pass(pattern: str) -> None:
    check_regex_safety(pattern)


def test_the_hook_refuses_adjacent_quantifiers_over_one_class() -> None:
    kept, skipped = usable_rules([Rule(kind="regex_replace", pattern=r"(\d+)(\d+)x", replacement="")])
    assert not kept and "unsafe regex" in skipped[0].reason


def test_the_rule_learned_from_latency_pairs_is_guarded_and_linear() -> None:
    pairs = [FeedbackPair(f"Request served. Latency:{n} ms", "Request served. Latency:") for n in (42, 7, 130, 55)]
    rules = synthesize_rules(pairs).rules
    assert [r.pattern for r in rules] == [r"(?<!\w)\d+\ ms\Z"]
    kept, skipped = usable_rules(rules)
    assert kept and not skipped
    compiled, _ = interpreter.load_rules(rules_document(kept))
    assert interpreter.apply_rules(compiled, "Latency:42 ms", {}, "output") == "Latency:"
    started = time.perf_counter()
    assert interpreter.apply_rules(compiled, "7" * 64000, {}, "output") == "7" * 64000
    assert time.perf_counter() - started < 1.0  # 21.8 s before (quadratic in the digit run)


def test_a_text_past_the_scan_cap_passes_unchanged_and_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, _ = interpreter.load_rules(rules_document([Rule(kind="replace", pattern="teh", replacement="the")]))
    monkeypatch.setattr(interpreter, "MAX_SCAN_CHARS", 20)
    monkeypatch.setitem(interpreter.STATS, "too_long", 0)
    assert interpreter.apply_rules(compiled, "teh cat", {}, "output") == "the cat"
    long_text = "teh cat sat on teh mat, said teh dog"
    assert interpreter.apply_rules(compiled, long_text, {}, "output") == long_text
    assert interpreter.STATS["too_long"] == 1

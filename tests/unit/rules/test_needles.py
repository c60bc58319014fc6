"""The text a regex rule cannot match without (issue 23): found right, and never a change to what a
hook does, only to how fast it does it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import rules_document
from vectortrainer.rules.needles import required_literal
from vectortrainer.rules.synthesis import synthesize_rules

CORRECTIONS = Path(__file__).resolve().parents[2] / "data" / "corrections"


@pytest.mark.parametrize(("pattern", "needle"), [
    (r"(?<!\w)([A-Z]\w*)\ when(?!\w)", " when"),
    (r"Editura(?<!\wEditura)\ ([A-Z]\w*)(?!\w)", "Editura"),
    (r"(?<=(?<!\w)Estonian\ )(?:Guard(?<=(?<!\w)Estonian\ Guard)(?!\w))", "Estonian Guard"),
    (r"colou?r", "colo"),  # the optional "u" ends the run
    (r"(?i:General(?<=(?<!\w)the\ General)(?!\w))", ""),  # any letter case: no needle
    (r"(?i)order", ""),
    (r"order|invoice", ""),  # either alternative may match
    (r"(?!invoice)\d+", ""),  # a negative lookahead's text is not required
    (r"\.(\d{3})\.", ""),  # too short to rule anything out
    (r"[unbalanced", ""),
])
def test_the_needle_is_text_every_match_contains(pattern: str, needle: str) -> None:
    assert required_literal(pattern) == needle


@pytest.mark.parametrize(("needle", "kind", "key"), [
    ("the sick", "replace", "sick"),  # a literal matches between word boundaries: its words are whole
    ("US army", "replace", "army"),
    (" d 'état", "replace", "état"),
    ("approximately", "regex_replace", ""),  # a regex's needle may sit inside a longer word
    ("Editura ", "regex_replace", ""),
    (" when the ", "regex_replace", "when"),  # bounded inside the needle on both sides
    ("", "case_fix", ""),
])
def test_the_key_word_is_a_word_the_text_holds_whole_wherever_the_rule_matches(needle, kind, key) -> None:
    assert interpreter._key_word(needle, kind) == key


def test_rules_with_needles_change_exactly_what_they_changed_without() -> None:
    with gzip.open(CORRECTIONS / "mlqe-pe-ro-en-train.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle][:2500]
    pairs = [FeedbackPair(row["bad"], row["fixed"], "", {}) for row in rows if row["bad"] != row["fixed"]]
    rules = synthesize_rules(pairs).rules
    with_needles, _ = interpreter.load_rules(rules_document(rules))
    assert any(rule["needle"] for rule in with_needles if rule["kind"] == "regex_replace")
    without, _ = interpreter.load_rules(json.dumps({"version": 1, "rules": [r.to_dict() for r in rules]}))
    for rule in without:  # neither the needle nor its key word rules anything out
        rule["needle"] = rule["key"] = rule["folded_needle"] = ""
    assert sum(bool(rule["key"]) for rule in with_needles) > len(with_needles) / 2
    texts = [row["bad"] for row in rows] + [row["fixed"] for row in rows]
    for text in texts:
        assert interpreter.apply_rules(with_needles, text, {}, "output") == \
            interpreter.apply_rules(without, text, {}, "output")


def test_a_case_fix_is_ruled_out_by_its_words_in_any_letter_case_and_never_wrongly() -> None:
    """Real post-edits capitalise names ("sikkim" -> "Sikkim"): such a rule matches in any letter
    case, so it had no needle and ran over every output (12-17 µs per 1 KB each). Its needle is now
    looked for in the folded text; the letters that match an ASCII letter only under
    re.IGNORECASE (Kelvin sign, long s, dotted and dotless i) still let it through."""
    document = json.dumps({"version": 1, "rules": [
        {"kind": "case_fix", "pattern": "sikkim", "replacement": "Sikkim"},
        {"kind": "case_fix", "pattern": "kirk", "replacement": "Kirk"}]})
    rules, _ = interpreter.load_rules(document)
    assert [rule["folded_needle"] for rule in rules] == ["sikkim", "kirk"]
    without, _ = interpreter.load_rules(document)
    for rule in without:
        rule["folded_needle"] = ""
    texts = ["Tea from SIKKIM .", "tea from sikkim", "ſikkim tea", "\u212airk and SİKKİM", "KIRK ıs here",
             "kırk", "no match at all", "sikkimese tea", ""]
    for text in texts:
        assert interpreter.apply_rules(rules, text, {}, "output") == \
            interpreter.apply_rules(without, text, {}, "output")
    assert interpreter.apply_rules(rules, "ſikkim tea", {}, "output") == "Sikkim tea"
    assert interpreter.apply_rules(rules, "\u212airk", {}, "output") == "Kirk"

"""The text a regex rule cannot match without (issue 23): found right, and never a change to what a
hook does, only to how fast it does it."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import rules_document
from vectortrainer.rules.needles import required_literal, whole_word
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
    assert any(rule["needle"] for rule in with_needles["rules"] if rule["kind"] == "regex_replace")
    without, _ = interpreter.load_rules(json.dumps({"version": 1, "rules": [r.to_dict() for r in rules]}))
    for rule in without["rules"]:  # neither the needle nor its key word rules anything out
        rule["needle"] = rule["key"] = rule["folded_needle"] = ""
    without = interpreter.index_rules(without["rules"])
    assert sum(bool(rule["key"]) for rule in with_needles["rules"]) > len(with_needles["rules"]) / 2
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
    assert [rule["folded_needle"] for rule in rules["rules"]] == ["sikkim", "kirk"]
    without, _ = interpreter.load_rules(document)
    for rule in without["rules"]:
        rule["folded_needle"] = ""
    texts = ["Tea from SIKKIM .", "tea from sikkim", "ſikkim tea", "\u212airk and SİKKİM", "KIRK ıs here",
             "kırk", "no match at all", "sikkimese tea", ""]
    for text in texts:
        assert interpreter.apply_rules(rules, text, {}, "output") == \
            interpreter.apply_rules(without, text, {}, "output")
    assert interpreter.apply_rules(rules, "ſikkim tea", {}, "output") == "Sikkim tea"
    assert interpreter.apply_rules(rules, "\u212airk", {}, "output") == "Kirk"


def test_a_rule_acts_on_what_an_earlier_rule_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rules run in order on the text as it stands. The key words of a text were collected once, so
    a rule whose key word only an earlier rule wrote ("receive", after "recieve" -> "receive") was
    skipped; the rules filed by key word are now looked up again after each change."""
    monkeypatch.setattr(interpreter, "_MIN_INDEXED_RULES", 1)  # the index even for four rules
    document = json.dumps({"version": 1, "rules": [
        {"kind": "replace", "pattern": "recieve", "replacement": "receive"},
        {"kind": "replace", "pattern": "receive it", "replacement": "get it"},
        {"kind": "case_fix", "pattern": "sikkim", "replacement": "Sikkim"},
        {"kind": "replace", "pattern": "from Sikkim", "replacement": "from the Sikkim hills"}]})
    plan, skipped = interpreter.load_rules(document)
    assert not skipped
    assert [rule["key"] for rule in plan["rules"]] == ["recieve", "receive", "", "Sikkim"]
    assert interpreter.apply_rules(plan, "Did you recieve it?", {}, "output") == "Did you get it?"
    assert interpreter.apply_rules(plan, "Tea from SIKKIM.", {}, "output") == "Tea from the Sikkim hills."
    assert interpreter.apply_rules(plan, "Tea from SIKKIM.", {}, "prompt") == "Tea from SIKKIM."


def test_a_call_visits_only_the_rules_its_words_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan files each target's rules by key word: a text with none of the keys is looked at by
    the rules without a key alone, in their order."""
    monkeypatch.setattr(interpreter, "_MIN_INDEXED_RULES", 1)
    document = json.dumps({"version": 1, "rules": [
        {"kind": "replace", "pattern": "colour", "replacement": "color"},
        {"kind": "append", "replacement": " (reviewed)"},
        {"kind": "replace", "pattern": "favour", "replacement": "favor", "target": "prompt"},
        {"kind": "replace", "pattern": "colour scheme", "replacement": "palette"}]})
    plan, _ = interpreter.load_rules(document)
    assert plan["keyed"] == {"output": {"colour": [0, 3]}, "prompt": {"favour": [2]}}
    assert plan["unkeyed"] == {"output": [1], "prompt": []}
    assert interpreter._candidates(plan, "a plain text", "output", -1) == [1]
    assert interpreter._candidates(plan, "the colour scheme", "output", -1) == [0, 1, 3]
    assert interpreter._candidates(plan, "the colour scheme", "output", 0) == [1, 3]
    assert interpreter.apply_rules(plan, "the colour scheme", {}, "output") == "the color scheme (reviewed)"


def test_the_ascii_runs_of_a_text_hold_those_of_each_of_its_words() -> None:
    """A rule is filed under the longest ASCII run of its key word and found by the text's runs: every
    word the text holds whole must have its runs among the text's, in any script."""
    ascii_chars = [chr(code) for code in range(128)]
    assert set(interpreter._ASCII_NON_WORD) == {
        c for c in ascii_chars if not re.match(r"\w", c) and not c.isspace()}
    texts = ["Die Enzyklopädie (2. Auflage) – «Œuvres» d'état; e-mail_id=42…", "汉语 Kirk’s naïve café\u2028x",
             "\x00tab\there\x7fend", "ſikkim İstanbul", ""]
    for text in texts:
        runs = set(interpreter._ascii_runs(text))
        for word in re.findall(r"\w+", text):
            assert set(interpreter._ascii_runs(word)) <= runs, word
    assert interpreter._ascii_runs("Enzyklopädie") == ["Enzyklop", "die"]
    assert interpreter._ascii_runs("汉语") == []


def test_a_key_word_in_any_script_still_finds_its_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpreter, "_MIN_INDEXED_RULES", 1)
    document = json.dumps({"version": 1, "rules": [
        {"kind": "replace", "pattern": "Encyclopedia", "replacement": "Enzyklopädie"},
        {"kind": "replace", "pattern": "Enzyklopädie Britannica", "replacement": "Encyclopædia Britannica"},
        {"kind": "replace", "pattern": "汉语", "replacement": "中文"}]})
    plan, _ = interpreter.load_rules(document)
    assert plan["keyed"]["output"] == {"Encyclopedia": [0], "Enzyklop": [1]}
    assert plan["unkeyed"]["output"] == [2]
    assert interpreter.apply_rules(plan, "Die Encyclopedia Britannica, 汉语.", {}, "output") == \
        "Die Encyclopædia Britannica, 中文."


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_no_text_hides_a_word_from_its_runs(text: str) -> None:
    runs = set(interpreter._ascii_runs(text))
    for word in re.findall(r"\w+", text):
        assert set(interpreter._ascii_runs(word)) <= runs


def test_few_rules_are_tried_in_order_and_change_what_the_index_would() -> None:
    """A plan with fewer keyed rules than _MIN_INDEXED_RULES skips the index (a rule learned during
    synthesis is replayed alone, millions of times); both plans change the same texts alike."""
    rules = [{"kind": "replace", "pattern": "colour", "replacement": "color"},
             {"kind": "replace", "pattern": "colour scheme", "replacement": "palette"},
             {"kind": "append", "replacement": " (reviewed)"}]
    plan, _ = interpreter.load_rules(json.dumps({"version": 1, "rules": rules}))
    assert plan["keyed"] == {"output": {}, "prompt": {}}
    assert plan["unkeyed"]["output"] == [0, 1, 2]
    many = rules + [{"kind": "replace", "pattern": f"word{i}", "replacement": f"term{i}"}
                    for i in range(interpreter._MIN_INDEXED_RULES)]
    indexed, _ = interpreter.load_rules(json.dumps({"version": 1, "rules": many}))
    assert indexed["keyed"]["output"] and indexed["unkeyed"]["output"] == [2]
    for text in ("the colour scheme", "a word3 in colour", "nothing", "word15 word15"):
        expected = text
        for rule in many:  # one rule after the other, as the hook promises
            single, _ = interpreter.load_rules(json.dumps({"version": 1, "rules": [rule]}))
            expected = interpreter.apply_rules(single, expected, {}, "output")
        assert interpreter.apply_rules(indexed, text, {}, "output") == expected


@pytest.mark.parametrize(("pattern", "word"), [
    (r"mistrust(?<=(?<!\w)of\ mistrust)(?!\w)", "mistrust"),  # a space before it, in the lookbehind
    (r"NSV(?<!\wNSV)(?=\ Union(?!\w))", "Union"),  # whole inside a positive lookahead
    (r"approximately(?<!\wapproximately)\ (\d+)\.", "approximately"),  # left edge tested after it
    (r"(?<!\w)\d{2}\ ernannte(?!\w)", "ernannte"),
    (r"\ASommer(?<!\wSommer)(?!\w)", "Sommer"),
    (r"(?<=\ )abc(?!\w)", "abc"),
    (r"approximately", ""),  # may sit inside a longer word
    (r"xapproximately(?<!\wapproximately)", ""),  # the lookbehind is about another word
    (r"abc(?<=xabc)(?!\w)", ""),  # a word character before it
    (r"(?<!\w)\d+\ ms\Z", ""),  # \Z is not recognised: nothing claimed
    (r"colou?r", ""),
    (r"order|invoice", ""),
    (r"(?i)(?<!\w)order(?!\w)", ""),  # any letter case
    (r"(?a)(?<!\w)order(?!\w)", ""),  # ASCII \w: "ordeß" would end the word here, not in the text
])
def test_the_whole_word_is_one_the_pattern_itself_bounds(pattern: str, word: str) -> None:
    assert whole_word(pattern) == word


def test_a_regex_rule_is_filed_under_its_whole_word_and_finds_every_text_it_changes() -> None:
    """Regex rules learned from real post-edits had no key word (their needle, "of mistrust", is only
    text inside a word): 37 of 200 real rules were tried on every output. Wherever such a rule
    matches, its word is among the text's words."""
    with gzip.open(CORRECTIONS / "mlqe-pe-ro-en-train.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle][:2500]
    pairs = [FeedbackPair(row["bad"], row["fixed"], "", {}) for row in rows if row["bad"] != row["fixed"]]
    regex_rules = [rule for rule in synthesize_rules(pairs).rules if rule.kind == "regex_replace"]
    keyed = [rule for rule in regex_rules if whole_word(rule.pattern)]
    assert len(keyed) >= len(regex_rules) / 2
    texts = [row["bad"] for row in rows] + [row["fixed"] for row in rows]
    matched = 0
    for rule in keyed:
        compiled = re.compile(rule.pattern)
        for text in texts:
            if compiled.search(text):
                matched += 1
                assert whole_word(rule.pattern) in re.findall(r"\w+", text), (rule.pattern, text)
    assert matched
    plan, _ = interpreter.load_rules(rules_document(keyed))
    assert all(rule["key"] for rule in plan["rules"])


_BOUNDED = [r"mistrust(?<=(?<!\w)of\ mistrust)(?!\w)", r"NSV(?<!\wNSV)(?=\ Union(?!\w))",
            r"approximately(?<!\wapproximately)\ (\d+)\.", r"(?<!\w)\d{2}\ ernannte(?!\w)",
            r"\ASommer(?<!\wSommer)(?!\w)", r"(?<=\ )abc(?!\w)"]
_PIECES = st.sampled_from(["of mistrust", "NSV Union", "approximately 42.", "12 ernannte", "Sommer",
                           " abc", "of ", "mistrust", " Union", "ernannte", " ", "x", "é", "_", "-",
                           "7", "ß"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join))
def test_wherever_a_bounded_pattern_matches_its_word_is_whole(text: str) -> None:
    for pattern in _BOUNDED:
        if re.search(pattern, text):
            assert whole_word(pattern) in re.findall(r"\w+", text), (pattern, text)

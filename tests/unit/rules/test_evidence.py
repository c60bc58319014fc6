"""Rules that never make real text worse (issue 23): evidence before a rule exists.

Each defect found with real human corrections has its test: a phrase edit over several names
becomes one rule for all; every candidate shown is an edit some pair made (no splice of two edits);
a one-off edit never becomes a broad pattern; a grammar edit seen once is no spelling fix; a phrase
found by looking for what spares the harmed texts earns no precision. The last test learns from real post-edits (MLQE-PE, CC0,
committed under tests/data/corrections) and judges the hook on held-out real text.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from vectortrainer.feedback.diffing import edit_distance
from vectortrainer.feedback.from_logs import LoggedOutput
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules.evidence import MIN_PRECISION, precise_enough, precision_lower_bound
from vectortrainer.feedback.diffing import toward_reordered
from vectortrainer.rules.lexicon import is_british_spelling, is_inflection
from vectortrainer.rules.model import Rule
from vectortrainer.rules.replay import apply_rules
from vectortrainer.rules.scoping import Trial, evaluate
from vectortrainer.rules.synthesis import NOT_GENERALISABLE, PART_OF_A_REWRITE, synthesize_rules

CORRECTIONS = Path(__file__).resolve().parents[2] / "data" / "corrections"
NAMES = ["Anna", "Ben", "Chloe", "Dmitri"]


def _pair(bad: str, fixed: str) -> FeedbackPair:
    return FeedbackPair(bad, fixed, "", {"function": "reply"})


REPLY = {"function": "reply"}


def test_the_bound_passes_two_pairs_and_refuses_one_or_a_failure() -> None:
    assert precise_enough(2, 0) and precise_enough(4, 1) and precise_enough(20, 3)
    assert not precise_enough(1, 0) and not precise_enough(2, 1) and not precise_enough(0, 0)
    assert precision_lower_bound(2, 0) < precision_lower_bound(3, 0) < precision_lower_bound(30, 0) < 1
    assert precision_lower_bound(10, 10) < MIN_PRECISION < precision_lower_bound(10, 1)


@pytest.mark.parametrize("template", [
    ("Thanks {n} for asking. Your order {i} ships today.", "Thank you {n} for contacting us. Your order {i} ships today."),
    ("Dear {n}, thanks for asking! Regards", "Dear {n}, thank you for contacting us! Regards"),
])
def test_one_phrase_edit_over_four_names_is_rules_that_cover_all_four_and_the_next(template) -> None:
    bad, fixed = template
    pairs = [_pair(bad.format(n=n, i=100 + i), fixed.format(n=n, i=100 + i)) for i, n in enumerate(NAMES)]
    rule_set = synthesize_rules(pairs)
    assert rule_set.rules and all(rule.support == 4 for rule in rule_set.rules)  # none per customer
    for pair in pairs:
        assert apply_rules(rule_set.rules, pair.bad_output, REPLY) == pair.fixed_output
    assert apply_rules(rule_set.rules, bad.format(n="Eve", i=555), REPLY) == fixed.format(n="Eve", i=555)


def test_two_pairs_generalise_where_logs_measure_the_rule_and_three_without() -> None:
    bad, fixed = "Hi {n}, thanks for asking. Order {i} ships.", "Hi {n}, thank you for contacting us. Order {i} ships."
    two = [_pair(bad.format(n=n, i=i), fixed.format(n=n, i=i)) for i, n in enumerate(NAMES[:2])]
    unmeasured = synthesize_rules(two)
    assert unmeasured.rules == []
    assert any("no logs to measure" in r.reason for r in unmeasured.rejected)
    logs = [LoggedOutput(text, REPLY) for text in ("Hi Zoe, your order 7 ships.", "We thank you for asking.")]
    measured = synthesize_rules(two, logs=logs)
    assert measured.rules and all(rule.support == 2 for rule in measured.rules)
    assert apply_rules(measured.rules, bad.format(n="Eve", i=555), REPLY) == fixed.format(n="Eve", i=555)


def test_every_candidate_shown_is_an_edit_some_pair_made() -> None:
    """Today's diff split "asking" -> "contacting us" at a space, and a person was shown
    'for asking' -> 'for contacting asking' and 'thanks for' -> 'thanks you for'."""
    pairs = [_pair(f"Thanks {n} for asking. Bye", f"Thank you {n} for contacting us. Bye") for n in NAMES]
    pairs += [_pair(f"Dear {n}, thanks for asking!", f"Dear {n}, thank you for contacting us!") for n in NAMES]
    rule_set = synthesize_rules(pairs)
    shown = [*rule_set.rules, *(rule for conflict in rule_set.conflicts for rule in conflict.rules),
             *(rejected.rule for rejected in rule_set.rejected)]
    assert shown
    fixes = [pair.fixed_output for pair in pairs]
    for rule in shown:
        if rule.kind == "replace":
            assert any(rule.replacement in fixed for fixed in fixes), rule.describe()
    for pair in pairs:
        assert apply_rules(rule_set.rules, pair.bad_output, REPLY) == pair.fixed_output


def test_a_rewritten_sentence_gives_no_splice_of_its_diff_and_no_rule() -> None:
    """From the demo: one reply's sentence rewritten whole gave the rule 'We have asked' -> 'We
    courier asked' (the diff's "have" -> "courier" with the old words around it) and rejected
    candidates such as 'asked the courierfor'."""
    pair = FeedbackPair("Hello Xavier, about order #6402. We have asked the courier for an update. Kind regards",
                        "Hello Xavier, about order #6402. The courier confirmed delivery for tomorrow. Kind regards",
                        "", {"function": "reply", "tier": "pro"})
    logs = [LoggedOutput(f"Hello {name}, about order #{order}. We have asked the courier for an update. Kind regards",
                         {"function": "reply", "tier": "pro"}) for name, order in (("Ann", 1), ("Bo", 22))]
    rule_set = synthesize_rules([pair], logs=logs)
    shown = [*rule_set.rules, *(rejected.rule for rejected in rule_set.rejected)]
    assert shown
    for rule in shown:
        if "\\g<" not in rule.replacement:  # a literal replacement: text the fix holds
            assert rule.replacement in pair.fixed_output, rule.describe()
    # Nor is a real part of it a rule: "for an update" -> "for tomorrow" is this reply's fact, and
    # every logged reply with those words would get it.
    assert rule_set.rules == []
    assert any(r.reason == PART_OF_A_REWRITE and r.rule.replacement == "for tomorrow. Kind"
               for r in rule_set.rejected)
    assert "1 pair(s) rewrite a sentence of one output: no part of it is learned as a rule (pairs 0)" \
        in rule_set.notes


def test_a_one_off_edit_never_becomes_a_broad_pattern() -> None:
    """From real grammar corrections: "give up" -> "give it up", once, changed correct text."""
    pairs = [_pair("They never give up on their dreams .", "They never give it up on their dreams ."),
             _pair("You will recieve the code .", "You will receive the code ."),
             _pair("Our team ship it today .", "Our team ships it today .")]
    sample = [LoggedOutput("We sail at noon .", REPLY), LoggedOutput("Send it today .", REPLY)]
    rule_set = synthesize_rules(pairs, logs=sample)
    assert [(r.pattern, r.replacement) for r in rule_set.rules] == [("recieve", "receive")]
    reasons = {r.rule.pattern: r.reason for r in rule_set.rejected}
    assert any("give up" in pattern and reason == NOT_GENERALISABLE for pattern, reason in reasons.items())
    for correct in ("I will never give up .", "The ship sails at noon .", "Ship it ."):
        assert apply_rules(rule_set.rules, correct, REPLY) == correct


def test_a_phrase_found_after_the_fact_earns_no_precision() -> None:
    """Real corrections gave "to" -> "for" if the text contains "do some"; it fired on correct text."""
    pairs = [_pair("We do some tests to you .", "We do some tests for you ."),
             _pair("They do some work to them .", "They do some work for them ."),
             *(_pair(f"Talk {w} me , then go to school .", f"Talk with me , then go to school .")
               for w in ("at", "on", "in"))]
    rule_set = synthesize_rules(pairs)
    assert not [r for r in rule_set.rules if r.pattern == "to" and r.replacement == "for"]
    for correct in ("I do some reading to relax .", "We go to school ."):
        assert apply_rules(rule_set.rules, correct, REPLY) == correct


def test_a_wording_change_made_inside_rewritten_sentences_is_no_preference() -> None:
    """Real post-editors changed "has become" to "became" in four re-translated sentences, and kept
    it in five held-out ones: a change of correct words counts only where it is what the person
    corrected, not one edit of many."""
    rewritten = [
        _pair("The old town has become a big city after the long war .",
              "The ancient town became a large city following the war ."),
        _pair("Our small village has become very poor in these hard years .",
              "The little village became quite poor during those difficult years ."),
        _pair("His first song has become a hit among young people of the country .",
              "His debut single became a hit with the nation 's youth ."),
        _pair("The old question has become a problem of all nations of the region .",
              "That question became an issue for every nation in the area ."),
    ]
    assert not [r for r in synthesize_rules(rewritten).rules if r.pattern == "has become"]
    focused = [_pair(f"The {x} has become {y} .", f"The {x} became {y} .")
               for x, y in (("town", "a city"), ("song", "a hit"), ("village", "poor"), ("question", "a problem"))]
    assert [(r.pattern, r.replacement) for r in synthesize_rules(focused).rules] == [("has become", "became")]


def test_a_wording_change_good_texts_keep_is_not_narrowed_to_the_words_around_it() -> None:
    """Real post-edits: "its" -> "his" after "to" in three pairs, while 25 good texts keep "its";
    the rule was narrowed to "to its" and fired on correct text."""
    pairs = [_pair(f"He gave the {x} to its son , {y} .", f"He gave the {x} to his son , {z} .")
             for x, y, z in (("house", "as promised", "as he had promised"), ("land", "in the end", "finally"),
                             ("sword", "before dying", "before he died"))]
    pairs += [_pair(f"The {x} lost its {y} in the war .", f"The {x} lost its {y} during the war .")
              for x, y in (("city", "walls"), ("army", "horses"), ("church", "bells"), ("town", "mayor"),
                           ("fleet", "ships"), ("duchy", "lands"))]
    rule_set = synthesize_rules(pairs)
    assert not [r for r in rule_set.rules if "its" in r.pattern]
    assert apply_rules(rule_set.rules, "The bank wrote to its clients .", REPLY) == "The bank wrote to its clients ."


def test_an_inflection_with_nothing_around_it_is_no_rule() -> None:
    """Real post-edits: "fortification" -> "fortifications" in four pairs; the singular was right elsewhere."""
    pairs = [_pair(f"The {w} fortification were built in {y} .", f"The {w} fortifications were built in {y} .")
             for w, y in (("old", 1500), ("new", 1600), ("stone", 1700), ("city", 1800))]
    rule_set = synthesize_rules(pairs)
    assert apply_rules(rule_set.rules, "The fortification stood .", REPLY) == "The fortification stood ."
    assert any("inflection" in r.reason for r in rule_set.rejected)
    for word, other in (("fortification", "fortifications"), ("carry", "carries"), ("attack", "attacked"),
                        ("move", "moving"), ("city", "cities")):
        assert is_inflection(word, other) and is_inflection(other, word)
    for word, other in (("trib", "tribe"), ("recieve", "receive"), ("historic", "historical"), ("IA", "AI")):
        assert not is_inflection(word, other)


def test_an_american_spelling_rule_needs_good_texts_that_keep_no_british_spelling() -> None:
    """Real post-edits: "criticised" -> "criticized" in four pairs while other fixes kept "organised";
    held-out editors kept British spellings, and the rule changed their text."""
    changed = [_pair(f"The {w} was criticised by the press .", f"The {w} was criticized by the press .")
               for w in ("plan", "law", "film")]
    assert [(r.pattern, r.replacement) for r in synthesize_rules(changed).rules] == [("criticised", "criticized")]
    kept = _pair("The event was organised in Iasi by the comitee .", "The event was organised in Iasi by the committee .")
    rule_set = synthesize_rules([*changed, kept])
    assert not [r for r in rule_set.rules if r.pattern == "criticised"]
    assert any("house style" in r.reason and "'organised'" in r.reason for r in rule_set.rejected)
    assert is_british_spelling("organised") and is_british_spelling("metres")
    for word in ("poet", "does", "promise", "Petre", "pre", "Michael"):
        assert not is_british_spelling(word)


def test_dropping_accents_needs_good_texts_that_keep_none() -> None:
    """Real post-edits: "Timişoara" -> "Timisoara" in three pairs while other fixes wrote "Iași"."""
    changed = [_pair(f"The {w} of Timişoara is old .", f"The {w} of Timisoara is old .")
               for w in ("bridge", "church", "theatre")]
    assert [(r.pattern, r.replacement) for r in synthesize_rules(changed).rules] == [("Timişoara", "Timisoara")]
    kept = _pair("He studied in Iasi and Cluj .", "He studied in Iași and Cluj .")
    rule_set = synthesize_rules([*changed, kept])
    assert not [r for r in rule_set.rules if r.pattern == "Timişoara"]
    assert any("accents" in r.reason for r in rule_set.rejected)


def test_a_fix_the_person_also_moved_neither_backs_nor_harms_the_rule() -> None:
    """Real post-edits: "Galats" -> "Galați" in a sentence the editor reordered counted as harm, so a
    rule seen in nine pairs was refused."""
    pair = _pair("In Galats he has lived for many years with his family .", "He and his family lived for many years in Galați .")
    evaluation = evaluate(Rule(kind="replace", pattern="Galats", replacement="Galați"), Trial([pair.bad_output], [pair], {}))
    assert (evaluation.supporters, evaluation.violations, evaluation.unconfirmed) == ([], [], [0])
    assert toward_reordered(pair.bad_output, pair.bad_output.replace("Galats", "Galați"), pair.fixed_output)
    # a word only dropped where the fix wrote another in its place is no step towards it
    assert not toward_reordered("Mr Kazimierz came .", "Kazimierz came .", "Jan Kazimierz came .")


def _post_edits(name: str, limit: int) -> list[tuple[str, str]]:
    with gzip.open(CORRECTIONS / name, "rt", encoding="utf-8") as handle:
        return [(row["bad"], row["fixed"]) for row in map(json.loads, handle)][:limit]


# German outputs: the English word lists (spelling fixes, regional spellings) must not make the
# learner bold where they do not apply. At 3,000 pairs en-de keeps "Encyclopedia" -> "Enzyklopädie"
# (9 pairs change it, 1 keeps it) and held-out fixes keep "Encyclopedia": all 7,000 are used here.
@pytest.mark.parametrize(("languages", "pairs", "least_improved"),
                         [("et-en", 3000, 5), ("ro-en", 3000, 5), ("en-de", 7000, 3)])
def test_real_post_edits_never_make_held_out_text_worse_than_they_improve_it(
        languages: str, pairs: int, least_improved: int) -> None:
    train = _post_edits(f"mlqe-pe-{languages}-train.jsonl.gz", pairs)
    held_out = _post_edits(f"mlqe-pe-{languages}-dev.jsonl.gz", 1000)
    rule_set = synthesize_rules([FeedbackPair(bad, fixed, "", {}) for bad, fixed in train if bad != fixed])
    harmed = sum(1 for _, fixed in held_out if apply_rules(rule_set.rules, fixed, {}) != fixed)
    better = worse = total_before = total_after = 0
    for bad, fixed in held_out:
        before, after = edit_distance(bad, fixed), edit_distance(apply_rules(rule_set.rules, bad, {}), fixed)
        better, worse = better + (after < before), worse + (after > before)
        total_before, total_after = total_before + before, total_after + after
    assert harmed <= 0.005 * len(held_out), harmed
    # et-en 16 and 3, ro-en 7 and 1, en-de 4 and 1 when written (ro-en was 8 and 9, with 8 harmed,
    # before issue 23's second pass)
    assert better >= least_improved and worse * 3 <= better, (better, worse)
    assert total_after < total_before


def test_the_english_word_list_judges_no_spelling_in_german_text() -> None:
    """From real post-edits into German: "Patrioten" -> "Patriots" (a team's name left in English)
    looked like a misspelling fixed twice, since "Patrioten" is no English word, and the rule
    changed a held-out text that kept "Patrioten"."""
    english = [_pair("You will recieve the code .", "You will receive the code ."),
               _pair("Did they recieve it on time ?", "Did they receive it on time ?")]
    german = [_pair("Die Patrioten gewannen das Spiel gegen die Gäste .",
                    "Die Patriots gewannen das Spiel gegen die Gäste ."),
              _pair("Gegen die Patrioten verloren sie in der letzten Saison zweimal .",
                    "Gegen die Patriots verloren sie in der letzten Saison zweimal .")]
    assert [r.pattern for r in synthesize_rules(english).rules] == ["recieve"]
    rule_set = synthesize_rules(german)
    assert rule_set.rules == []
    assert any(r.rule.pattern == "Patrioten" and r.reason.startswith("too little evidence")
               for r in rule_set.rejected)

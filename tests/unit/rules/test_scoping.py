"""Rules that scope themselves (VT-12): text conditions, local context and anchors, case transforms,
spelling fixes, the blast radius on logs, and the evidence every rule carries."""

from __future__ import annotations

import pytest

from vectortrainer.feedback.from_logs import LoggedOutput
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.validation import validate_hook_source
from vectortrainer.rules.blast_radius import LogSample, check_on_logs
from vectortrainer.rules.conditions import discriminating_ngrams, ngram_pattern, separating_key
from vectortrainer.rules.lexicon import is_known_word, is_regional_variant
from vectortrainer.rules.model import Rule
from vectortrainer.rules.replay import apply_rules
from vectortrainer.rules.safety import check_rule_safety
from vectortrainer.rules.synthesis import synthesize_rules

NOTE = " Refunds take 5-7 business days."
CHANNELS = ("email", "chat", "sms")


def P(bad: str, fixed: str, i: int = 0, **context: str) -> FeedbackPair:
    """A pair whose context says nothing about the defect (as pairs made from logs)."""
    return FeedbackPair(bad, fixed, "", {"channel": CHANNELS[i % 3], "log_uuid": f"log-{i}", **context})


def logs(*texts: str) -> list[LoggedOutput]:
    return [LoggedOutput(text, {"channel": CHANNELS[i % 3]}) for i, text in enumerate(texts)]


# --- the interpreter: text conditions and case transforms are data --------------------------

@pytest.mark.parametrize(
    ("rule", "text", "expected"),
    [
        (Rule("append", "", NOTE, text_condition=[ngram_pattern("will refund you")]), "We will refund you.",
         "We will refund you." + NOTE),
        (Rule("append", "", NOTE, text_condition=[ngram_pattern("will refund you")]), "No refund for you.",
         "No refund for you."),
        (Rule("regex_replace", r"\AAs an AI language model, (\w)", r"\g<1>", group_case={1: "upper"}),
         "As an AI language model, hello Mina", "Hello Mina"),
        (Rule("regex_replace", r"(?<!\w)(mr|ms)\.? (\w)", r"\g<1>. \g<2>", group_case={1: "capitalize", 2: "upper"}),
         "to ms smith", "to Ms. Smith"),
        (Rule("regex_replace", r"(?<=(?<!\w)ticket )#", "VT-"), "ticket #12, issue #12, C#, xticket #3",
         "ticket VT-12, issue #12, C#, xticket #3"),
    ],
)
def test_text_conditions_and_case_transforms_as_the_hook_runs_them(rule, text, expected):
    assert apply_rules([rule], text, {}) == expected
    assert apply_rules([rule], expected, {}) == expected  # applying again changes nothing more
    source, kept, skipped = HookScriptGenerator().render([rule])
    assert kept == [rule] and not skipped and validate_hook_source(source) == 1


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (Rule("regex_replace", r"(a)", r"\g<1>", group_case={2: "upper"}), "missing group"),
        (Rule("regex_replace", r"(a)", r"\g<1>", group_case={1: "swapcase"}), "unknown case transform"),
        (Rule("replace", "a", "b", group_case={1: "upper"}), "needs a regex_replace"),
        (Rule("regex_replace", r"(a)", r"\\\g<1>", group_case={1: "upper"}), "only text"),
        (Rule("append", "", "x", text_condition=[r"(a+)+$"]), "unsafe regex"),
        (Rule("append", "", "x", text_condition=["(unclosed"]), "invalid regex"),
    ],
)
def test_the_generator_leaves_out_rules_the_hook_could_not_run_safely(rule, reason):
    _, kept, skipped = HookScriptGenerator().render([rule])
    assert not kept and reason in skipped[0].reason


# --- learning: the three cases of the issue, with context that says nothing ----------------

def test_a_conditional_append_is_scoped_by_a_phrase_in_the_output():
    refunds = [P(f"Hi {n}, we will refund you ${i}0.", f"Hi {n}, we will refund you ${i}0.{NOTE}", i)
               for i, n in enumerate(["Ann", "Bo", "Cy", "Dee"])]
    others = [P(f"Hi {n}, your order shipped . Thanks", f"Hi {n}, your order shipped. Thanks", i + 4)
              for i, n in enumerate(["Eve", "Fay"])]
    lookalike = P("Hi Gus, no refund is possible for you . Thanks", "Hi Gus, no refund is possible for you. Thanks", 6)
    rule_set = synthesize_rules(refunds + others + [lookalike])
    append = next(r for r in rule_set.rules if r.kind == "append")
    assert not append.condition and append.text_condition == [ngram_pattern("will refund you")]
    assert "will refund you" in append.evidence.why
    assert apply_rules(rule_set.rules, "Hi Zed, we will refund you $5.", {"channel": "sms"}).endswith(NOTE)
    assert apply_rules(rule_set.rules, "Hi Zed, a refund is not possible.", {}) == "Hi Zed, a refund is not possible."


def test_an_edit_is_narrowed_to_the_words_around_it_when_look_alikes_are_good():
    pairs = [P(f"We opened ticket #{n} for you.", f"We opened ticket VT-{n} for you.", i)
             for i, n in enumerate((4821, 977, 12, 5003))]
    pairs += [P(f"Please quote ticket #{n}. It is issue #7 in C#.", f"Please quote ticket VT-{n}. It is issue #7 in C#.", 9)
              for n in (88,)]
    pairs.append(P("The C# SDK has issue #12 . Thanks", "The C# SDK has issue #12. Thanks", 10))
    rule_set = synthesize_rules(pairs)
    (rule,) = [r for r in rule_set.rules if "VT-" in r.replacement]
    assert rule.support == 5 and "ticket" in rule.pattern and "after 'ticket '" in rule.evidence.why
    text = "See ticket #31337, issue #12, C# and https://docs.example.com/sdk#install."
    assert apply_rules([rule], text, {}) == "See ticket VT-31337, issue #12, C# and https://docs.example.com/sdk#install."


def test_a_removal_that_recapitalises_is_one_rule_with_a_case_transform():
    openers = [("hello", "Mina"), ("hi", "Jonas"), ("thanks", "Priya"), ("good morning", "Omar")]
    pairs = [P(f"As an AI language model, {g} {n}, your order shipped.", f"{g[0].upper()}{g[1:]} {n}, your order shipped.", i)
             for i, (g, n) in enumerate(openers)]
    rule_set = synthesize_rules(pairs)
    (rule,) = rule_set.rules
    assert rule.kind == "regex_replace" and rule.group_case == {1: "upper"} and rule.support == 4
    assert apply_rules(rule_set.rules, "As an AI language model, welcome back Zoe.", {}) == "Welcome back Zoe."
    assert apply_rules(rule_set.rules, "As requested, here it is.", {}) == "As requested, here it is."


def test_reordered_date_fields_match_only_numbers_of_the_widths_seen():
    dates = [("03/14/2025", "2025-03-14"), ("11/02/2024", "2024-11-02"), ("07/30/2026", "2026-07-30")]
    pairs = [P(f"Due {us}.", f"Due {iso}.", i) for i, (us, iso) in enumerate(dates)]
    pairs.append(P("See https://status.example.com/2025/03/14 , 24/7.", "See https://status.example.com/2025/03/14, 24/7.", 5))
    rule_set = synthesize_rules(pairs)
    (rule,) = [r for r in rule_set.rules if r.kind == "regex_replace"]
    assert rule.pattern.count(r"\d{2}") == 2 and r"\d{4}" in rule.pattern
    assert apply_rules([rule], "Renews 01/05/2027 (see /2025/03/14 and 24/7).", {}) == \
        "Renews 2027-01-05 (see /2025/03/14 and 24/7)."


def test_context_keys_condition_a_rule_only_when_they_really_separate():
    # channel is shared by the two pairs that back the rule by chance, and by a pair it would harm.
    pairs = [FeedbackPair("Order 12 ok", "Order #12 ok", "", {"channel": "email"}),
             FeedbackPair("Order 7 ok", "Order #7 ok", "", {"channel": "email"}),
             FeedbackPair("Order 9 ok", "Order 9 ok", "", {"channel": "email"})]
    assert separating_key([p.context for p in pairs], [0, 1], [2]) is None
    tiers = [{"tier": "vip"}, {"tier": "vip"}, {"tier": "free"}]
    assert separating_key(tiers, [0, 1], [2]) == ("tier", "vip")


def test_a_spelling_fix_seen_once_holds_anywhere_where_logs_measure_it_and_other_one_offs_are_not_rules():
    pairs = [P("You will recieve the code.", "You will receive the code.", 1),
             P("The customer is angry about it.", "The customer is unhappy about it.", 2)]
    sample = logs("We will send the code today.", "Your order is on its way.")
    rule_set = synthesize_rules(pairs, logs=sample)
    spelling = next(r for r in rule_set.rules if r.pattern == "recieve")
    assert not spelling.condition and "spelling" in spelling.evidence.why
    assert apply_rules(rule_set.rules, "Did you recieve it?", {"channel": "sms"}) == "Did you receive it?"
    # Seen once and never again: reported, never a rule (issue 23).
    assert [r.rule for r in rule_set.rules if "angry" in r.pattern] == []
    assert any("angry" in r.rule.pattern and "not generalisable" in r.reason for r in rule_set.rejected)
    assert apply_rules(rule_set.rules, "She is angry about it.", {"channel": "sms"}) == "She is angry about it."


def test_without_logs_a_spelling_fix_needs_the_pairs_any_rule_needs():
    # Real post-editors left "discipoles" and "otomans" in held-out text that one pair each had
    # fixed: with nothing to measure where else a one-off fires, it is no rule (issue 23).
    once = [P("You will recieve the code.", "You will receive the code.", 1)]
    assert synthesize_rules(once).rules == []
    three = [P(f"{who} will recieve the code.", f"{who} will receive the code.", i)
             for i, who in enumerate(("You", "Ana", "Bo"))]
    assert [(r.pattern, r.replacement) for r in synthesize_rules(three).rules] == [("recieve", "receive")]


def test_a_regional_spelling_seen_once_is_a_style_not_a_misspelling():
    # "armoured" is no word of the dictionary (its vocabulary spells it the American way), yet it is
    # correct British English: one post-editor's preference must not rewrite every text (issue 23).
    pairs = [P("The armoured division advanced.", "The armored division advanced.", 1),
             P("You will recieve the code.", "You will receive the code.", 2)]
    rule_set = synthesize_rules(pairs, logs=logs("An order of six.", "Your code is ready."))
    assert [r.pattern for r in rule_set.rules] == ["recieve"]
    assert apply_rules(rule_set.rules, "An armoured car.", {}) == "An armoured car."
    for british, american in (("colonisation", "colonization"), ("metres", "meters"),
                              ("rumoured", "rumored"), ("centre", "center"), ("refuelling", "refueling")):
        assert is_regional_variant(british, american) and is_regional_variant(american, british)
    for typo, word in (("recieve", "receive"), ("dinastic", "dynastic"), ("four", "for"), ("trib", "tribe")):
        assert not is_regional_variant(typo, word)


def test_an_s_form_of_a_known_word_is_a_word_and_a_misspelt_past_is_not():
    # the vocabulary holds "proclaimed" but not "proclaims": "proclaims -> proclaimed" is grammar, not spelling
    assert is_known_word("proclaims") and is_known_word("carries")
    for typo in ("occured", "helpd", "otomans", "recieves"):
        assert not is_known_word(typo)
    pairs = [FeedbackPair("He proclaims the result.", "He proclaimed the result.")]
    assert synthesize_rules(pairs).rules == []  # a one-off that is no spelling fix is not a rule


def test_a_regional_spelling_that_a_good_output_keeps_is_no_house_style():
    changed = [FeedbackPair(f"The {n} tower is {h} metres tall.", f"The {n} tower is {h} meters tall.")
               for n, h in (("north", 40), ("old", 55), ("glass", 120))]
    kept = FeedbackPair("A wall of 3 metres was buit.", "A wall of 3 metres was built.")
    assert [r.replacement for r in synthesize_rules(changed).rules] == ["meters"]
    rule_set = synthesize_rules([*changed, kept])
    assert all(r.pattern != "metres" for r in rule_set.rules)
    assert any("regional spelling" in r.reason for r in rule_set.rejected)


def test_phrases_rarest_elsewhere_win_and_ties_go_to_the_longer():
    positives = ["we will refund you now", "ok, we will refund you today"]
    assert discriminating_ngrams(positives, ["we will send you a box"], ["you", "you", "we will"])[0] == "will refund you"
    # A phrase the texts to leave alone contain is out, and so are its parts.
    assert discriminating_ngrams(positives, ["will refund you"], []) == ["we will refund", "we will", "we"]
    assert discriminating_ngrams(positives, ["we will refund you"], []) == []


# --- the blast radius on the function's logs ------------------------------------------------

def _key_pairs(n: int = 6) -> list[FeedbackPair]:
    return [P(f'{{"cust_id": {1000 + i}, "plan": "pro"}}', f'{{"customer_id": {1000 + i}, "plan": "pro"}}', i)
            for i in range(n)]


def test_a_rule_changing_logs_unlike_its_pairs_is_narrowed_to_its_evidence():
    sample = logs('{"cust_id": 77, "plan": "free"}', '{"field": "cust_id", "action": "deprecated"}',
                  "The cust_id column is empty.", '{"customer_id": 5}')
    broad = synthesize_rules(_key_pairs())
    assert apply_rules(broad.rules, "The cust_id column is empty.", {}) == "The customer_id column is empty."
    rule_set = synthesize_rules(_key_pairs(), logs=sample)
    (rule,) = rule_set.rules
    assert apply_rules([rule], '{"cust_id": 3}', {}) == '{"customer_id": 3}'
    for untouched in ('{"field": "cust_id", "action": "deprecated"}', "The cust_id column is empty."):
        assert apply_rules([rule], untouched, {}) == untouched
    evidence = rule.evidence
    assert (evidence.logs_sampled, evidence.logs_changed) == (4, 1) and "narrowed on the logs" in evidence.why
    assert "2 of the 3 logged outputs" in evidence.why
    assert any("blast radius measured on 4" in n for n in rule_set.notes)


def test_an_append_learned_from_refund_replies_only_is_scoped_by_the_logs():
    pairs = [P(f"Hello {n}, we will refund you ${i}.", f"Hello {n}, we will refund you ${i}.{NOTE}", i)
             for i, n in enumerate(["Ann", "Bo", "Cy", "Dee", "Eve"])]
    sample = logs(*[f"Hello {n}, your order shipped." for n in ("Fay", "Gus", "Hal", "Ida")],
                  "Hello Jo, a refund was issued to you.", "Hello Kim, we will refund you $9.")
    unscoped = synthesize_rules(pairs)
    assert apply_rules(unscoped.rules, "Hello Lu, your order shipped.", {}).endswith(NOTE)  # what the pairs alone allow
    rule_set = synthesize_rules(pairs, logs=sample)
    (rule,) = rule_set.rules
    assert rule.text_condition == [ngram_pattern("will refund you")]
    assert rule.evidence.logs_changed == 1 and rule.evidence.logs_sampled == 6
    assert apply_rules(rule_set.rules, "Hello Lu, your order shipped.", {}) == "Hello Lu, your order shipped."


def test_a_shared_context_the_logs_make_look_like_chance_does_not_narrow():
    dates = [("03/14/2025", "2025-03-14"), ("11/02/2024", "2024-11-02"), ("07/30/2026", "2026-07-30"),
             ("01/09/2025", "2025-01-09"), ("05/05/2025", "2025-05-05"), ("12/24/2024", "2024-12-24")]
    sample = logs("Meet on 01/01/2025.", "Call on 06/07/2025.", "Pay on 08/08/2025.", "Due by 02/02/2025.")
    # Two pairs both writing "on <date>." is likely when three logged dates in four do: no narrowing.
    two = [P(f"Meet on {us}.", f"Meet on {iso}.", i) for i, (us, iso) in enumerate(dates[:2])]
    (rule,) = synthesize_rules(two, logs=sample).rules
    assert rule.evidence.logs_changed == 4 and "narrowed" not in rule.evidence.why
    # Six pairs all writing it is not (0.75 ** 6 < 1/2): the date "by" is left alone.
    six = [P(f"Meet on {us}.", f"Meet on {iso}.", i) for i, (us, iso) in enumerate(dates)]
    (rule,) = synthesize_rules(six, logs=sample).rules
    assert rule.evidence.logs_changed == 3 and "narrowed on the logs" in rule.evidence.why


def test_a_rule_that_cannot_be_narrowed_safely_is_kept_inactive_with_the_reason():
    rule = Rule("replace", "cust_id", "customer_id", sources=list(range(4)))
    backing = [f'{{"cust_id": {i}}}' for i in range(4)]
    sample = LogSample(['{"cust_id": 5}', "the cust_id column"], [{}, {}])
    kept, radius, reason = check_on_logs(rule, backing, sample, safe_on_pairs=lambda candidate: False)
    assert kept is None and (radius.sampled, radius.changed, radius.unbacked) == (2, 2, 1)
    assert reason.startswith("kept inactive") and "1 of the 2 logged outputs" in reason
    narrowed, _, note = check_on_logs(rule, backing, sample, safe_on_pairs=lambda candidate: True)
    assert narrowed is not None and apply_rules([narrowed], "the cust_id column", {}) == "the cust_id column"
    assert note.startswith("narrowed on the logs")
    measured, radius, _ = check_on_logs(rule, backing, sample, safe_on_pairs=lambda c: False, narrow=False)
    assert measured is rule and radius.changed == 2


# --- what every rule carries ------------------------------------------------------------------

def test_every_rule_carries_its_pairs_why_and_figures_and_passes_the_safety_check():
    pairs = _key_pairs() + [P("You will recieve it.", "You will receive it.", 9)]
    rule_set = synthesize_rules(pairs, logs=logs('{"cust_id": 1}', "plain text"))
    assert rule_set.rules
    for rule in rule_set.rules:
        assert rule.sources and rule.evidence.why and rule.evidence.repaired == len(rule.sources)
        assert rule.evidence.exact == len(rule.sources) and rule.evidence.logs_sampled == 2
        check_rule_safety(rule.to_dict())
        assert Rule.from_dict(rule.to_dict()) == rule  # the explanation survives rules.json and the hook
    document = rule_set.to_dict()
    assert document["logs_sampled"] == 2 and document["inactive"] == []
    assert document["rules"][0]["evidence"]["why"]

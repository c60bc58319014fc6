"""Every function its own loop (VT-18): rules never cross functions, and never key on identities.

A rule learned from the pairs of one function is kept to that function, whatever a log sample
shows; when the pairs of several functions back one correction each function gets its own rule.
No rule is conditioned on an identifier (a log uuid, a trace id, a timestamp) or on a context
value only one pair has, so a correction recorded in the app (whose pair carries its log's uuid)
generalises exactly as one recorded from the CLI.
"""

from __future__ import annotations

from typing import Any

import pytest

from vectortrainer.feedback.from_logs import LoggedOutput
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.rules.conditions import ContextConditions, is_identifier_key
from vectortrainer.rules.replay import apply_rules
from vectortrainer.rules.synthesis import RuleSet, synthesize_rules

CLASSIFY = {"function": "classify_intent"}
DRAFT = {"function": "draft_reply"}


def _labels() -> list[FeedbackPair]:
    """Label fixes made only to classify_intent's outputs."""
    pairs = []
    for i, (label, fixed) in enumerate([("billing", "billing_question"), ("shipping", "shipping_delay")] * 3):
        confidence = f"0.{50 + i}"
        pairs.append(FeedbackPair(f'{{"intent": "{label}", "confidence": {confidence}}}',
                                  f'{{"intent": "{fixed}", "confidence": {confidence}}}', "", dict(CLASSIFY)))
    return pairs


def _draft_logs() -> list[LoggedOutput]:
    """draft_reply's uncorrected logs: none mentions billing or shipping (a blast radius of 0)."""
    return [LoggedOutput(f"Hello {name}, your order shipped today.", {**DRAFT, "tier": "free"})
            for name in ("Ann", "Bo", "Cy", "Dee")]


def _hook(rule_set: RuleSet) -> Any:
    """The generated hook's ``intercept_output``, from its rendered source (as it runs in the function)."""
    source, _, _ = HookScriptGenerator().render(rule_set)
    namespace: dict[str, Any] = {"__name__": "generated_prompt_hook"}
    exec(compile(source, "generated_prompt_hook.py", "exec"), namespace)  # our own hook, as it runs in the function
    return namespace["intercept_output"]


def test_label_rules_learned_from_classify_intent_leave_draft_reply_text_alone():
    rule_set = synthesize_rules(_labels(), logs=_draft_logs())
    intercept_output = _hook(rule_set)
    for text in ("Please confirm your billing address.", "Your shipping label is attached."):
        assert intercept_output(text, dict(DRAFT)) == text  # not "your billing_question address"
        assert apply_rules(rule_set.rules, text, DRAFT) == text
    labels = [r for r in rule_set.rules if r.replacement in ("billing_question", "shipping_delay")]
    assert len(labels) == 2
    for rule in labels:
        assert rule.condition == CLASSIFY
        assert rule.evidence.logs_changed == 0  # the log sample shows nothing, and it is scoped all the same
        assert "kept to function classify_intent: learned from that function's corrections" in rule.evidence.why
        assert rule.describe_scope() == "function=classify_intent"
    # ... and they still fire where they were learned.
    assert intercept_output('{"intent": "billing", "confidence": 0.9}', dict(CLASSIFY)) == \
        '{"intent": "billing_question", "confidence": 0.9}'
    assert apply_rules(rule_set.rules, '{"intent": "shipping", "confidence": 0.2}', CLASSIFY) == \
        '{"intent": "shipping_delay", "confidence": 0.2}'


def test_a_correction_several_functions_make_becomes_one_rule_per_function():
    summaries = [FeedbackPair(f"Refund for order {n} approved.", f"Refund for order #{n} approved.", "",
                              {"function": "summarize_ticket"}) for n in (12, 345, 6789)]
    replies = [FeedbackPair(f"Hi, order {n} is on its way.", f"Hi, order #{n} is on its way.", "",
                            dict(DRAFT)) for n in (41, 5150)]
    rule_set = synthesize_rules(summaries + replies)
    orders = [r for r in rule_set.rules if "#" in r.replacement]
    assert sorted(r.condition["function"] for r in orders) == ["draft_reply", "summarize_ticket"]
    assert {r.pattern for r in orders} == {orders[0].pattern}  # the same correction, once per function
    by_function = {r.condition["function"]: r for r in orders}
    assert sorted(by_function["summarize_ticket"].sources) == [0, 1, 2]
    assert sorted(by_function["draft_reply"].sources) == [3, 4]
    text = "About order 77."
    assert apply_rules(rule_set.rules, text, DRAFT) == "About order #77."
    assert apply_rules(rule_set.rules, text, {"function": "summarize_ticket"}) == "About order #77."
    assert apply_rules(rule_set.rules, text, CLASSIFY) == text  # no function taught it
    assert apply_rules(rule_set.rules, text, {}) == text


def test_a_correction_seen_in_another_function_reaches_one_pair_of_this_one():
    # Seven summaries fix the product's name, one reply does: the reply's function gets the rule too,
    # judged on its own pair; a function that never asked for it does not.
    summaries = [FeedbackPair(f"Customer {n} cannot open Cloudsync.", f"Customer {n} cannot open CloudSync.", "",
                              {"function": "summarize_ticket"}) for n in range(7)]
    reply = FeedbackPair("Our Cloudsync team is on it.", "Our CloudSync team is on it.", "", dict(DRAFT))
    rule_set = synthesize_rules([*summaries, reply])
    fixes = sorted((r.condition.get("function"), r.support) for r in rule_set.rules if r.replacement == "CloudSync")
    assert fixes == [("draft_reply", 1), ("summarize_ticket", 7)]
    assert apply_rules(rule_set.rules, "Cloudsync is down.", DRAFT) == "CloudSync is down."
    assert apply_rules(rule_set.rules, "Cloudsync is down.", CLASSIFY) == "Cloudsync is down."


def test_untagged_pairs_still_learn_unscoped_rules():
    pairs = [FeedbackPair(f"Order {n} ships", f"Order #{n} ships") for n in (12, 7, 31)]
    (rule,) = synthesize_rules(pairs).rules
    assert rule.condition == {} and "kept to function" not in rule.evidence.why
    assert apply_rules([rule], "Order 5 ships", {"function": "anything"}) == "Order #5 ships"


# --- identifiers are never conditions -------------------------------------------------------

@pytest.mark.parametrize("key", ["log_uuid", "uuid", "id", "trace_id", "span_id", "run_id", "customer_id",
                                 "traceId", "logUUID", "timestamp", "timestamp_utc", "created_at", "updatedAt"])
def test_identifier_keys(key):
    assert is_identifier_key(key)


@pytest.mark.parametrize("key", ["function", "tier", "channel", "locale", "style", "priority", "format", "paid",
                                 "video", "identity_provider"])
def test_keys_that_are_no_identifiers(key):
    assert not is_identifier_key(key)


def test_only_values_two_pairs_share_may_be_conditions_and_the_function_always():
    conditions = ContextConditions([
        {"function": "f", "tier": "vip", "log_uuid": "a", "customer_name": "Ann", "trace_id": "t"},
        {"function": "g", "tier": "vip", "log_uuid": "b", "customer_name": "Bo", "trace_id": "t"},
        {"function": "f", "tier": "free", "notes": ["a list"]},
    ])
    assert conditions.usable == [{"function": "f", "tier": "vip"}, {"function": "g", "tier": "vip"}, {"function": "f"}]
    assert conditions.restrict({"tier": "vip", "log_uuid": "a", "customer_name": "Ann", "style": "formal"}) == \
        {"tier": "vip", "style": "formal"}  # a value no pair has is no identity


def test_a_shared_trace_id_never_scopes_a_rule():
    # Two pairs of one trace back the fix and a third would be harmed: the trace id would "separate" them.
    pairs = [FeedbackPair("Order 12 ok", "Order #12 ok", "", {"trace_id": "t-1", "created_at": "2025-01-01"}),
             FeedbackPair("Order 7 ok", "Order #7 ok", "", {"trace_id": "t-1", "created_at": "2025-01-01"}),
             FeedbackPair("Order 9 ok", "Order 9 ok", "", {"trace_id": "t-2", "created_at": "2025-01-02"})]
    rule_set = synthesize_rules(pairs)
    for rule in [*rule_set.rules, *(r.rule for r in rule_set.rejected)]:
        assert not {"trace_id", "created_at"} & set(rule.condition)
    for pair in pairs:
        assert apply_rules(rule_set.rules, pair.fixed_output, pair.context) == pair.fixed_output


def _corrections(with_log_uuid: bool) -> list[FeedbackPair]:
    """The same corrections, recorded in the app (each pair with its log's uuid) or from the CLI."""
    made = [
        ("summarize_ticket", "Login issue. Priority: high.", "Login issue. Priority: urgent."),
        ("summarize_ticket", "Order 12 refunded. Priority: low.", "Order #12 refunded. Priority: low."),
        ("summarize_ticket", "Order 7 is late. Priority: low.", "Order #7 is late. Priority: low."),
        ("draft_reply", "Hi Ann, you will recieve it.", "Hi Ann, you will receive it."),
        ("draft_reply", "Hi Bo, the courier is late.", "Hello Bo, the courier is late."),
        ("draft_reply", "Hi Cy, all set.", "Hello Cy, all set."),
    ]
    return [FeedbackPair(bad, fixed, "", {"function": function, **({"log_uuid": f"ced8-{i:04d}"} if with_log_uuid
                                                                    else {})})
            for i, (function, bad, fixed) in enumerate(made)]


# The function's other logs, where the "Priority: high." the person corrected once comes back.
_SUMMARIES = [LoggedOutput("Card declined. Priority: high.", {"function": "summarize_ticket"}),
              LoggedOutput("Password reset. Priority: low.", {"function": "summarize_ticket"})]


def test_a_correction_made_in_the_app_generalises_as_one_from_the_cli():
    from_app = synthesize_rules(_corrections(True), logs=_SUMMARIES)
    from_cli = synthesize_rules(_corrections(False), logs=_SUMMARIES)

    def learned(rule_set: RuleSet) -> list[tuple[object, ...]]:
        return [(r.rule_id, r.kind, r.pattern, r.replacement, r.condition, r.text_condition, r.group_case, r.sources)
                for r in rule_set.rules]

    assert learned(from_app) == learned(from_cli)
    assert from_app.rules and all("log_uuid" not in r.condition for r in from_app.rules)
    assert all("log_uuid" not in r.describe_scope() for r in from_app.rules)
    urgent = next(r for r in from_app.rules if "urgent" in r.replacement)
    assert urgent.condition == {"function": "summarize_ticket"}
    # It fires again: on the next log of the function, whatever that log's uuid.
    assert apply_rules(from_app.rules, "Card declined. Priority: high.",
                       {"function": "summarize_ticket", "log_uuid": "0f3a-new"}) == "Card declined. Priority: urgent."
    assert apply_rules(from_app.rules, "Card declined. Priority: high.", DRAFT) == "Card declined. Priority: high."

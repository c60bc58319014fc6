"""A correction made in the app fires again (VT-18).

The Feedback screen makes its pair from the log (:func:`pair_from_log`), so the pair's context
holds the log's ``log_uuid``. The learner used to condition the rule on it
(``replace 'Priority: high.' -> 'Priority: urgent.' if function=summarize_ticket; log_uuid=ced8...``),
and no other log ever has that uuid. It must generalise as the same correction from the CLI does.
A correction seen once becomes a rule only where its words come back in the function's logs
(issue 23): here they do.
"""

from __future__ import annotations

from vectortrainer.feedback.from_logs import LoggedOutput, pair_from_log
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules.learning import learn_rules
from vectortrainer.rules.synthesis import NOT_GENERALISABLE, synthesize_rules
from vectortrainer.rules.replay import apply_rules
from vectortrainer.store.records import LogRecord


def _log(uuid: str, output: str) -> LogRecord:
    return LogRecord(uuid=uuid, function_name="summarize_ticket", status="SUCCESS",
                     inputs={"ticket": "I cannot log in and my invoice is due today."}, output=output)


# Uncorrected outputs of the function in the store: one says "Priority: high." again.
_LOGS = [LoggedOutput("Printer offline. Priority: high.", {"function": "summarize_ticket"}),
         LoggedOutput("Refund sent. Priority: low.", {"function": "summarize_ticket"})]


def test_a_pair_recorded_from_a_log_learns_a_rule_that_fires_on_the_next_log():
    record = _log("ced8a1f0-6f1e-4a5e-9d7b-1c2d3e4f5a6b", "Login issue, invoice due today. Priority: high.")
    pair = pair_from_log(record, "Login issue, invoice due today. Priority: urgent.")
    assert pair.context["log_uuid"] == record.uuid  # what the app stores with the correction

    # With no logs to show the words come back, a correction seen once is no rule, and says so.
    alone = learn_rules([pair], semantic_screen=False)
    assert alone.rules == [] and [r.reason for r in alone.rejected] == [NOT_GENERALISABLE]

    rule_set = synthesize_rules([pair], logs=_LOGS)
    (rule,) = rule_set.rules
    assert rule.condition == {"function": "summarize_ticket"}
    assert "log_uuid" not in rule.describe_scope() and record.uuid not in rule.describe_scope()

    # A new log of the same function, with another uuid, is corrected as the first one was ...
    following = _log("0b9e7c2d-1111-4222-8333-944455566677", "Card declined twice. Priority: high.")
    context = {"function": following.function_name, "log_uuid": following.uuid}
    assert apply_rules(rule_set.rules, following.output, context) == "Card declined twice. Priority: urgent."
    assert apply_rules(rule_set.rules, following.output, {"function": "summarize_ticket"}) == \
        "Card declined twice. Priority: urgent."
    # ... and another function's output is not.
    assert apply_rules(rule_set.rules, following.output, {"function": "draft_reply"}) == following.output


def test_the_app_and_the_cli_learn_the_same_rule_from_the_same_correction():
    record = _log("ced8a1f0", "Login issue. Priority: high.")
    from_app = synthesize_rules([pair_from_log(record, "Login issue. Priority: urgent.")], logs=_LOGS)
    from_cli = synthesize_rules([FeedbackPair("Login issue. Priority: high.", "Login issue. Priority: urgent.",
                                              "ticket: I cannot log in and my invoice is due today.",
                                              {"function": "summarize_ticket"})], logs=_LOGS)
    assert from_app.rules and [r.to_dict() for r in from_app.rules] == [r.to_dict() for r in from_cli.rules]

"""A feedback pair made from a log holds exactly what the log's ChatML example holds (VT-4).

The TUI used to store a structured output as indented JSON and the input as a JSON
dump of the arguments, so DPO data built from TUI feedback disagreed with the SFT
data of the same log.
"""

from __future__ import annotations

from vectortrainer.feedback.from_logs import editable_output, pair_from_log
from vectortrainer.feedback.preference import example_from_pair
from vectortrainer.golden.chatml import build_example
from vectortrainer.store.records import LogRecord

SYSTEM = "You are the function `classify(ticket, locale)`."


def _log(output) -> LogRecord:
    return LogRecord(uuid="u-1", function_name="classify", status="SUCCESS",
                     inputs={"ticket": "Refund my order 4411, please", "locale": "en-GB"}, output=output)


def test_a_pair_from_a_structured_output_renders_like_its_chatml_example():
    record = _log({"intent": "refund", "confidence": 0.5, "note": "ça va"})
    edited = editable_output(record).replace("0.5", "0.9")
    assert "\n" in edited  # shown indented for editing
    pair = pair_from_log(record, edited)
    golden = build_example(record.inputs, record.output, SYSTEM)["messages"]
    assert pair.input_prompt == golden[1]["content"] == "ticket: Refund my order 4411, please\nlocale: en-GB"
    assert pair.bad_output == golden[2]["content"] == '{"intent": "refund", "confidence": 0.5, "note": "ça va"}'
    assert pair.fixed_output == '{"intent": "refund", "confidence": 0.9, "note": "ça va"}'  # compact again
    assert pair.context == {"function": "classify", "log_uuid": "u-1"}


def test_preference_data_from_such_a_pair_agrees_with_the_sft_example():
    record = _log({"intent": "refund"})
    pair = pair_from_log(record, '{"intent": "billing"}')
    preference = example_from_pair(pair, SYSTEM)
    golden = build_example(record.inputs, record.output, SYSTEM)["messages"]
    assert preference.messages == golden[:2] and preference.rejected == golden[2]["content"]


def test_a_string_output_is_kept_as_typed_and_broken_json_is_not_lost():
    text = _log("Thanks, we will refund you.")
    assert editable_output(text) == "Thanks, we will refund you."
    assert pair_from_log(text, "Thanks; we will refund you.").fixed_output == "Thanks; we will refund you."
    structured = _log({"intent": "refund"})
    assert pair_from_log(structured, '{"intent": "refund",').fixed_output == '{"intent": "refund",'


def test_uncorrected_outputs_leave_out_what_feedback_corrected_and_failed_calls():
    from tests.support.tui_fixtures import FixtureLogSource
    from vectortrainer.feedback.from_logs import uncorrected_outputs
    from vectortrainer.feedback.pair import FeedbackPair

    source = FixtureLogSource()
    logs = source.read_function("answer_support_ticket")
    succeeded = [r for r in logs.records if r.succeeded]
    corrected = [FeedbackPair(succeeded[0].output, "fixed", "", {"log_uuid": succeeded[0].uuid}),
                 FeedbackPair(succeeded[1].output, "fixed")]  # not linked to its log, but the same text
    sample = uncorrected_outputs(source, ["answer_support_ticket"], corrected)
    texts = [o.text for o in sample]
    assert len(sample) == len(succeeded) - 2 and succeeded[0].output not in texts and succeeded[1].output not in texts
    assert all(o.context == {"function": "answer_support_ticket", "question": r.inputs["question"]}
               for o, r in zip(sample, succeeded[2:]))
    spread = uncorrected_outputs(source, ["answer_support_ticket"], [], per_function=5)
    assert len(spread) == 5 and spread[0].text == succeeded[0].output and spread[-1].text != succeeded[4].output

"""A feedback pair made from a log: its input and output rendered exactly as the log's ChatML example.

A person corrects what the model returned; the pair then holds the same user
text and the same bad output the golden data holds for that log, so DPO data
built from feedback agrees with the SFT data (VT-4). A structured return value is
shown indented for editing and stored compact, as ChatML renders it.
"""

from __future__ import annotations

import json

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.golden.chatml import render_user, render_value
from vectortrainer.store.records import LogRecord


def editable_output(record: LogRecord) -> str:
    """The log's return value as a person edits it: a string as it is, anything else as indented JSON."""
    if isinstance(record.output, str):
        return record.output
    return json.dumps(record.output, ensure_ascii=False, indent=1, default=str)


def pair_from_log(record: LogRecord, edited: str) -> FeedbackPair:
    """The feedback pair of a correction to ``record``'s output, tagged with its function and log.

    For a structured output the edited JSON is rendered back the way ChatML renders
    values; text that no longer parses as JSON is kept as typed.
    """
    fixed = edited
    if not isinstance(record.output, str):
        try:
            fixed = render_value(json.loads(edited))
        except ValueError:
            fixed = edited
    return FeedbackPair(
        bad_output=render_value(record.output),
        fixed_output=fixed,
        input_prompt=render_user(record.inputs),
        context={"function": record.function_name, "log_uuid": record.uuid},
    )

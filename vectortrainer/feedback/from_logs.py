"""Feedback and logs: a pair made from a log (rendered exactly as its ChatML example), and the logs
nobody corrected.

A person corrects what the model returned; the pair then holds the same user
text and the same bad output the golden data holds for that log, so DPO data
built from feedback agrees with the SFT data (VT-4). A structured return value is
shown indented for editing and stored compact, as ChatML renders it.

The logged outputs no pair corrected are the sample a rule's blast radius is measured
on before its hook goes live (:func:`uncorrected_outputs`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from vectortrainer.errors import StoreError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.golden.chatml import render_user, render_value
from vectortrainer.json_types import JSONObject
from vectortrainer.store.records import LogRecord
from vectortrainer.store.source import LogReader

# How many uncorrected outputs of each function the rules' blast radius is measured on.
SAMPLE_PER_FUNCTION = 300


def editable_output(record: LogRecord) -> str:
    """The log's return value as a person edits it: a string as it is, anything else as indented
    JSON."""
    if isinstance(record.output, str):
        return record.output
    return json.dumps(record.output, ensure_ascii=False, indent=1, default=str)


def pair_from_log(record: LogRecord, edited: str) -> FeedbackPair:
    """The feedback pair of a correction to ``record``'s output, tagged with its function and log.

    The function tag keeps every rule learned from the pair to that function; the log's uuid only
    says which log was corrected (the blast-radius sample leaves it out) and is never a rule
    condition, so the correction generalises as one recorded from the CLI does (VT-18).

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


@dataclass(frozen=True)
class LoggedOutput:
    """A successful logged output nobody corrected, as the hook would see it: its text and
    context."""

    text: str
    context: JSONObject


def uncorrected_outputs(
    source: LogReader,
    functions: Iterable[str],
    pairs: Iterable[FeedbackPair],
    *,
    per_function: int = SAMPLE_PER_FUNCTION,
) -> list[LoggedOutput]:
    """Up to ``per_function`` successful outputs of each function that no feedback pair corrected.

    ``source`` is any :class:`~vectortrainer.store.source.LogReader` (a
    :class:`~vectortrainer.store.source.LogSource`, or a test's stand-in). A log is left out
    when a pair names it (``log_uuid``) or its output is a pair's bad output. The sample is
    spread evenly over the logs in time order; each output's context is the function's name
    and its scalar captured arguments (what a hook's caller can pass). A function with no logs
    in the store is skipped.
    """
    pairs = list(pairs)
    corrected_ids = {str(p.context["log_uuid"]) for p in pairs if p.context.get("log_uuid")}
    corrected_texts = {p.bad_output for p in pairs}
    sample: list[LoggedOutput] = []
    for function in sorted(set(functions)):
        try:
            logs = source.read_function(function)
        except StoreError:
            continue
        records = sorted(
            (r for r in logs.records if r.succeeded and r.output is not None),
            key=lambda r: r.timestamp,
        )
        outputs = [(r, render_value(r.output)) for r in records if r.uuid not in corrected_ids]
        outputs = [(r, text) for r, text in outputs if text not in corrected_texts]
        step = max(1.0, len(outputs) / per_function)
        for position in range(min(per_function, len(outputs))):
            record, text = outputs[int(position * step)]
            context = {
                "function": function,
                **{k: v for k, v in record.inputs.items() if _is_context_value(v)},
            }
            sample.append(LoggedOutput(text, context))
    return sample


def _is_context_value(value: object) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= 200

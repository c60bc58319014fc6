"""Preference (DPO) data from feedback pairs: a ``bad -> fixed`` correction is a preference pair.

Two file shapes are written and read:

- OpenAI's DPO fine-tuning JSONL, one object per line::

    {"input": {"messages": [...]},
     "preferred_output": [{"role": "assistant", "content": FIXED}],
     "non_preferred_output": [{"role": "assistant", "content": BAD}]}

- TRL's conversational DPO dataset with an explicit prompt::

    {"prompt": [...messages...],
     "chosen": [{"role": "assistant", "content": FIXED}],
     "rejected": [{"role": "assistant", "content": BAD}]}

``read_preference_jsonl`` accepts either shape, so the local trainer runs on the
very file the OpenAI trainer would upload.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vectortrainer.errors import DataFormatError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.files import atomic_write_text, iter_jsonl_records, jsonl_line
from vectortrainer.golden.chatml import content_text, system_prompt_for
from vectortrainer.json_types import JSONObject, JSONValue

PreferenceFormat = Literal["openai", "trl"]
_INPUT_ROLES = frozenset({"system", "developer", "user", "assistant"})


@dataclass(frozen=True)
class PreferenceExample:
    """One preference pair in vendor-neutral form: the conversation so far, and two replies."""

    messages: list[dict[str, str]]
    chosen: str
    rejected: str

    def to_openai(self) -> JSONObject:
        return {
            "input": {"messages": [dict(m) for m in self.messages]},
            "preferred_output": [{"role": "assistant", "content": self.chosen}],
            "non_preferred_output": [{"role": "assistant", "content": self.rejected}],
        }

    def to_trl(self) -> JSONObject:
        return {
            "prompt": [dict(m) for m in self.messages],
            "chosen": [{"role": "assistant", "content": self.chosen}],
            "rejected": [{"role": "assistant", "content": self.rejected}],
        }


@dataclass
class PreferenceExport:
    """What an export wrote, and which pairs it left out and why (never dropped silently)."""

    path: Path
    written: int
    skipped: dict[str, int] = field(default_factory=dict)


def example_from_pair(pair: FeedbackPair, system_prompt: str | None = None) -> PreferenceExample:
    """The preference example of one feedback pair; raises ``DataFormatError`` when it has none."""
    reason = _unusable_reason(pair)
    if reason is not None:
        raise DataFormatError(f"feedback pair cannot be a preference example: {reason}")
    messages: list[dict[str, str]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": pair.input_prompt})
    return PreferenceExample(messages=messages, chosen=pair.fixed_output, rejected=pair.bad_output)


def export_preference_jsonl(
    pairs: Iterable[FeedbackPair],
    path: Path,
    *,
    fmt: PreferenceFormat = "openai",
    system_prompts: Mapping[str, str] | None = None,
    default_system_prompt: str | None = None,
) -> PreferenceExport:
    """Write the usable pairs as DPO JSONL in ``fmt`` ("openai" or "trl"), atomically.

    A pair's system prompt is ``system_prompts[pair.context["function_name"]]`` when
    given (``context["function"]``, or ``"function_name"``), else ``default_system_prompt``. Pairs
    without an input prompt, with an empty output, or whose bad and fixed outputs are equal, are
    skipped and counted by reason. Raises ``DataFormatError`` when no pair is usable (an empty DPO
    file would only fail later, at the vendor or in the trainer).
    """
    if fmt not in ("openai", "trl"):
        raise DataFormatError(f"preference format {fmt!r}: expected 'openai' or 'trl'")
    prompts = dict(system_prompts or {})
    lines: list[str] = []
    skipped: Counter[str] = Counter()
    for pair in pairs:
        reason = _unusable_reason(pair)
        if reason is not None:
            skipped[reason] += 1
            continue
        function_name = _function_of(pair) or ""
        example = example_from_pair(pair, prompts.get(function_name, default_system_prompt))
        record = example.to_openai() if fmt == "openai" else example.to_trl()
        lines.append(jsonl_line(record))
    if not lines:
        detail = ", ".join(f"{n} {why}" for why, n in skipped.items()) or "no pairs given"
        raise DataFormatError(
            f"{path}: no feedback pair is usable as preference data ({detail}); record "
            "corrections with an input prompt and a fixed output that differs from the bad one"
        )
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
    return PreferenceExport(path=Path(path), written=len(lines), skipped=dict(skipped))


def export_run_preferences(
    pairs: Iterable[FeedbackPair],
    path: Path,
    *,
    function: str | None,
    golden_path: Path | None = None,
    system_prompts: Mapping[str, str] | None = None,
) -> PreferenceExport:
    """The DPO file of one pipeline run: the pairs of ``function`` (or untagged), OpenAI shape.

    The system prompt is the one the run's golden ChatML uses (so SFT and DPO data
    agree), else the configured or derived prompt of ``function``.
    """
    mine = [p for p in pairs if function is None or _function_of(p) in (None, function)]
    system = _golden_system_prompt(golden_path) if golden_path is not None else None
    if system is None and function:
        system = system_prompt_for(function, system_prompts)
    return export_preference_jsonl(mine, path, fmt="openai", default_system_prompt=system)


def read_preference_jsonl(path: Path) -> list[PreferenceExample]:
    """Read a DPO JSONL file in either the OpenAI or the TRL shape; errors name file and line."""
    path = Path(path)
    examples = [parse_preference_record(record, where)
                for record, where in iter_jsonl_records(path, what="preference file")]
    if not examples:
        raise DataFormatError(f"{path}: the preference file holds no examples")
    return examples


def parse_preference_record(record: JSONValue, where: str) -> PreferenceExample:
    """One record of either shape -> ``PreferenceExample``; ``where`` prefixes error messages."""
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object per line")
    if "input" in record or "preferred_output" in record:
        source = record.get("input")
        if not isinstance(source, dict):
            raise DataFormatError(f"{where}: 'input' must be an object holding 'messages'")
        messages = _check_messages(source.get("messages"), f"{where}: input.messages")
        chosen = _single_reply(record.get("preferred_output"), f"{where}: preferred_output")
        rejected = _single_reply(
            record.get("non_preferred_output"), f"{where}: non_preferred_output"
        )
    elif "prompt" in record:
        messages = _check_messages(record.get("prompt"), f"{where}: prompt")
        chosen = _single_reply(record.get("chosen"), f"{where}: chosen")
        rejected = _single_reply(record.get("rejected"), f"{where}: rejected")
    else:
        raise DataFormatError(
            f"{where}: not a preference record; expected OpenAI DPO keys "
            "(input, preferred_output, non_preferred_output) or TRL keys (prompt, chosen, rejected)"
        )
    if messages[-1]["role"] != "user":
        raise DataFormatError(f"{where}: the input conversation must end with a user message")
    return PreferenceExample(messages=messages, chosen=chosen, rejected=rejected)


@dataclass(frozen=True)
class ReplyExample:
    """A conversation and the reply it should get (what a held-out case replays, what the local
    trainer renders)."""

    messages: list[dict[str, str]]
    expected: str


def reply_example(record: JSONValue, where: str) -> ReplyExample:
    """A ChatML ``{"messages": [...]}`` record (its final assistant reply) or a preference record
    (its preferred reply) as the conversation before that reply, and the reply."""
    if isinstance(record, dict) and "messages" in record:
        messages = record["messages"]
        if not isinstance(messages, list) or len(messages) < 2:
            raise DataFormatError(
                f"{where}: messages must hold the input and a final assistant reply"
            )
        last = messages[-1]
        expected = content_text(last.get("content")) if isinstance(last, dict) else None
        if not isinstance(last, dict) or last.get("role") != "assistant" or expected is None:
            raise DataFormatError(f"{where}: the last message must be the assistant's golden reply")
        prefix = [
            {"role": str(m["role"]), "content": content_text(m.get("content")) or ""}
            for m in messages[:-1]
        ]
        return ReplyExample(messages=prefix, expected=expected)
    example = parse_preference_record(record, where)
    return ReplyExample(messages=example.messages, expected=example.chosen)


def _function_of(pair: FeedbackPair) -> str | None:
    name = pair.context.get("function") or pair.context.get("function_name")
    return str(name) if name else None


def _golden_system_prompt(golden_path: Path) -> str | None:
    """The system message of the first golden example, if the file has one."""
    try:
        first, _ = next(iter_jsonl_records(golden_path, what="golden file"))
        messages = first.get("messages") or []
    except (StopIteration, DataFormatError, AttributeError):
        return None
    if messages and isinstance(messages[0], dict) and messages[0].get("role") == "system":
        return content_text(messages[0].get("content")) or None
    return None


def _unusable_reason(pair: FeedbackPair) -> str | None:
    if not pair.input_prompt.strip():
        return "without an input prompt"
    if not pair.fixed_output.strip() or not pair.bad_output.strip():
        return "with an empty output"
    if pair.fixed_output == pair.bad_output:
        return "with identical bad and fixed outputs"
    return None


def _check_messages(value: JSONValue, where: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise DataFormatError(f"{where}: expected a non-empty list of messages")
    messages = []
    for index, message in enumerate(value):
        if not isinstance(message, dict):
            raise DataFormatError(f"{where}[{index}]: expected an object with role and content")
        role, content = message.get("role"), message.get("content")
        if role not in _INPUT_ROLES:
            raise DataFormatError(
                f"{where}[{index}].role: {role!r} is not one of {sorted(_INPUT_ROLES)}"
            )
        text = content_text(content)
        if text is None:
            raise DataFormatError(f"{where}[{index}].content: expected a string or text parts")
        messages.append({"role": role, "content": text})
    return messages


def _single_reply(value: JSONValue, where: str) -> str:
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], dict):
        raise DataFormatError(f"{where}: expected a list holding exactly one assistant message")
    message = value[0]
    if message.get("role") != "assistant":
        raise DataFormatError(f"{where}[0].role: expected 'assistant', got {message.get('role')!r}")
    content = content_text(message.get("content"))
    if content is None or not content.strip():
        raise DataFormatError(f"{where}[0].content: expected a non-empty string or text parts")
    return content

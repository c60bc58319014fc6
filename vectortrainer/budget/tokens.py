"""Tokens of a training file, offline and exactly as the vendor bills them (FR-6.1, VT-8).

Counted with the real ``tiktoken`` (seeded offline, see ``encodings``), the way
OpenAI's fine-tuning data-preparation guide counts chat examples: 3 tokens per
message, the tokens of each value, 1 more per ``name``, and 3 for reply priming.
Preference (DPO) records count their input and both outputs. Examples longer than
the model's per-example limit are reported (the API truncates them, and bills at
most the limit).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vectortrainer.budget.encodings import get_encoding
from vectortrainer.budget.pricing import resolve_model
from vectortrainer.budget.schedule import ScheduleOverrides
from vectortrainer.errors import DataFormatError
from vectortrainer.files import iter_jsonl_records
from vectortrainer.golden.chatml import content_text
from vectortrainer.json_types import JSONValue

if TYPE_CHECKING:
    import tiktoken

# The guide's chat counting constants.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3


@dataclass
class TokenCount:
    """Tokens of a ChatML JSONL file as the vendor counts them."""

    path: str
    model: str
    encoding: str
    n_examples: int
    total_tokens: int  # sum over examples, untruncated
    billed_tokens_per_epoch: int  # sum of min(limit, example tokens)
    max_example_tokens: int
    max_tokens_per_example: int | None
    too_long: list[int] = field(default_factory=list)  # 1-based line numbers over the limit

    def __int__(self) -> int:
        return self.total_tokens


def count_message_tokens(
    messages: Iterable[Mapping[str, JSONValue]], encoding: tiktoken.Encoding
) -> int:
    """Tokens of one chat example: 3 per message + its values (+1 per name) + 3 reply priming."""
    total = REPLY_PRIMING_TOKENS
    encode = encoding.encode_ordinary
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if key == "weight":  # a training flag, not text the model sees
                continue
            total += len(encode(_value_text(value)))
            if key == "name":
                total += TOKENS_PER_NAME
    return total


def _value_text(value: JSONValue) -> str:
    if value is None:
        return ""
    # a string, or text (or refusal) parts: the text is what the model reads
    text = content_text(value)
    if text is not None:
        return text
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _example_messages(example: JSONValue, where: str) -> list[Mapping[str, JSONValue]]:
    """The messages to count: chat (``messages``) or preference (input + both outputs)."""
    if not isinstance(example, Mapping):
        raise DataFormatError(
            f"{where}: expected a JSON object with 'messages', got {type(example).__name__}"
        )
    if isinstance(example.get("messages"), list):
        messages = example["messages"]
    elif isinstance(example.get("input"), Mapping) and "preferred_output" in example:
        messages = [
            *example["input"].get("messages", []),
            *example.get("preferred_output", []),
            *example.get("non_preferred_output", []),
        ]
    else:
        raise DataFormatError(f"{where}: no 'messages' list (expected one ChatML example per line)")
    if not all(isinstance(m, Mapping) for m in messages):
        raise DataFormatError(f"{where}: every message must be a JSON object")
    return list(messages)


def _read_examples(path: Path) -> Iterator[tuple[int, list[Mapping[str, JSONValue]]]]:
    for example, where in iter_jsonl_records(path, what="training file"):
        yield int(where.rsplit(":", 1)[1]), _example_messages(example, where)


def count_tokens_in_jsonl(
    path: str | Path,
    model: str = "gpt-4o-mini-2024-07-18",
    *,
    prices: Mapping[str, float] | None = None,
    today: _dt.date | None = None,
    provider: str = "openai",
    schedule: ScheduleOverrides | None = None,
) -> TokenCount:
    """Count the tokens of a ChatML JSONL file for ``model`` on ``provider``, offline (FR-6.1).

    Exact for OpenAI's models; for other providers ``encoding`` stands in for the model's own
    tokenizer.
    """
    path = Path(path)
    info = resolve_model(model, prices, today=today, provider=provider, schedule=schedule)
    encoding = get_encoding(info.encoding)
    limit = info.max_tokens_per_example
    n_examples = total = billed = longest = 0
    too_long: list[int] = []
    for line_no, messages in _read_examples(path):
        tokens = count_message_tokens(messages, encoding)
        n_examples += 1
        total += tokens
        longest = max(longest, tokens)
        if limit is not None and tokens > limit:
            too_long.append(line_no)
            billed += limit
        else:
            billed += tokens
    return TokenCount(
        path=str(path),
        model=model,
        encoding=info.encoding,
        n_examples=n_examples,
        total_tokens=total,
        billed_tokens_per_epoch=billed,
        max_example_tokens=longest,
        max_tokens_per_example=limit,
        too_long=too_long,
    )

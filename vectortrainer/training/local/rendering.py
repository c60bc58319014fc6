"""Training examples rendered with the model's own chat template, as TRL trains on them.

Supervised: ChatML ``{"messages": [...]}`` -> ``{"prompt", "completion"}`` (the loss is
on the reply only). DPO: OpenAI or TRL preference records -> ``{"prompt", "chosen",
"rejected"}``. Rows already in that rendered form pass through unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vectortrainer.errors import DataFormatError
from vectortrainer.feedback.preference import ReplyExample, parse_preference_record, reply_example
from vectortrainer.files import iter_jsonl_records
from vectortrainer.golden.chatml import validate_chat_jsonl
from vectortrainer.json_types import JSONValue

SUPERVISED_KEYS = ("prompt", "completion")
PREFERENCE_KEYS = ("prompt", "chosen", "rejected")


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The conversation so far, ending where the model's reply begins."""
    return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))


def render_reply(tokenizer: Any, messages: list[dict[str, str]], reply: str) -> str:
    """The text the template puts after the generation prompt for ``reply``, ending with eos."""
    prompt = render_prompt(tokenizer, messages)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": reply}], tokenize=False
    )
    # Templates render the reply after the generation prompt; when one does not (e.g. it
    # rewrites earlier turns), fall back to the bare reply.
    completion = full[len(prompt):] if full.startswith(prompt) else reply
    completion = completion.rstrip()
    if not completion.endswith(tokenizer.eos_token):
        completion += tokenizer.eos_token
    return completion


def render_record(record: JSONValue, where: str, tokenizer: Any, method: str) -> dict[str, str]:
    """One JSONL record as a rendered row for ``method`` ("supervised" or "dpo")."""
    keys = SUPERVISED_KEYS if method == "supervised" else PREFERENCE_KEYS
    if isinstance(record, dict) and all(isinstance(record.get(k), str) for k in keys):
        return {k: record[k] for k in keys}
    if method == "supervised":
        if isinstance(record, dict) and "messages" not in record:
            raise DataFormatError(
                f'{where}: expected a ChatML object {{"messages": [...]}} for supervised training '
                "(preference records need training.method: dpo)"
            )
        example = reply_example(record, where)
        return {
            "prompt": render_prompt(tokenizer, example.messages),
            "completion": render_reply(tokenizer, example.messages, example.expected),
        }
    preference = parse_preference_record(record, where)
    return {
        "prompt": render_prompt(tokenizer, preference.messages),
        "chosen": render_reply(tokenizer, preference.messages, preference.chosen),
        "rejected": render_reply(tokenizer, preference.messages, preference.rejected),
    }


def render_file(path: Path, tokenizer: Any, method: str) -> list[dict[str, str]]:
    """Validate ``path`` and render every example (a rendered file from an earlier attempt passes
    through)."""
    path = Path(path)
    records = list(iter_jsonl_records(path, what="training file"))
    rows = [render_record(record, where, tokenizer, method) for record, where in records]
    if not rows:
        raise DataFormatError(f"{path}: no training examples in the file")
    first = records[0][0]
    if method == "supervised" and not (isinstance(first, dict) and "completion" in first):
        # The same chat rules the OpenAI trainer applies
        # (one set of format rules for every trainer).
        validate_chat_jsonl(path).raise_if_invalid()
    return rows


def training_texts(rows: list[dict[str, str]], method: str) -> list[str]:
    """Each row's full training text(s): prompt + completion, or prompt + each of the two
    replies."""
    if method == "supervised":
        return [r["prompt"] + r["completion"] for r in rows]
    return [r["prompt"] + r[k] for r in rows for k in ("chosen", "rejected")]


def held_out_examples(path: Path) -> list[ReplyExample]:
    """Held-out conversations of a raw validation file (a rendered one has no messages to
    replay)."""
    examples = []
    for record, where in iter_jsonl_records(path, what="validation file"):
        if isinstance(record, dict) and isinstance(record.get("prompt"), str):
            return []
        examples.append(reply_example(record, where))
    return examples

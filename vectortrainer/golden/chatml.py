"""ChatML fine-tuning examples from real logs, and their validation (FR-1.6, VT-4).

One example per picked log: ``{"messages": [system, user, assistant]}``.

* **system**: the per-function prompt from config (``selection.system_prompts``),
  else one derived from the function's name, parameters and docstring.
* **user**: the function's real captured input. A single argument is its text (a
  string as-is; anything else as JSON). Several arguments are one ``name: value``
  line each, in signature order; a string value is written as-is unless it spans
  lines or is empty, then it is JSON-quoted so that every argument stays on one
  line; other values are JSON.
* **assistant**: the real return value: a string as-is; anything else as JSON
  (keys in the order the function returned them, non-ASCII kept).

No selection internals (density, cluster) go into the messages.

``validate_chat_jsonl`` checks a file line by line the way OpenAI's fine-tuning
data-preparation guide does (and the API refuses): each line a JSON object with a
``messages`` list; every message an object with a known role, string content that
is not empty, and no unknown keys; ``weight`` only 0 or 1 on assistant messages;
at least one assistant message. It depends on nothing else in the engine, so the
trainers reuse it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vectortrainer.errors import DataFormatError

KNOWN_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
KNOWN_MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id"})


def render_value(value: Any) -> str:
    """A value as message text: strings as-is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def render_user(inputs: Mapping[str, Any]) -> str:
    """The captured arguments as the user message (see the module docstring for the format)."""
    if len(inputs) == 1:
        return render_value(next(iter(inputs.values())))
    lines = []
    for name, value in inputs.items():
        if isinstance(value, str) and value and "\n" not in value and "\r" not in value:
            text = value
        else:
            text = json.dumps(value, ensure_ascii=False, default=str)
        lines.append(f"{name}: {text}")
    return "\n".join(lines)


def default_system_prompt(function_name: str, docstring: str = "", parameters: Iterable[str] = ()) -> str:
    """A system prompt derived from the function itself, for functions without one in config."""
    signature = f"{function_name}({', '.join(parameters)})"
    summary = " ".join((docstring or "").strip().split("\n\n")[0].split())
    prompt = f"You are the function `{signature}`."
    if summary:
        prompt += f" {summary}"
    return prompt + " Answer with its return value only."


def system_prompt_for(
    function_name: str, prompts: Mapping[str, str] | None, docstring: str = "", parameters: Iterable[str] = ()
) -> str:
    """The configured prompt for ``function_name`` if there is one, else the derived default."""
    configured = (prompts or {}).get(function_name)
    if configured and configured.strip():
        return configured
    return default_system_prompt(function_name, docstring, parameters)


def build_example(inputs: Mapping[str, Any], output: Any, system_prompt: str) -> dict[str, list[dict[str, str]]]:
    """One ChatML example from a log's captured inputs and return value."""
    if not inputs:
        raise DataFormatError("a log without captured inputs cannot become a training example")
    return {
        "messages": [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": render_user(inputs)},
            {"role": "assistant", "content": render_value(output)},
        ]
    }


@dataclass(frozen=True)
class Problem:
    line: int
    code: str
    message: str


@dataclass
class ValidationReport:
    """What ``validate_chat_jsonl`` found: examples read, problems by line, counts by kind."""

    path: Path
    examples: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.examples > 0

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(p.code for p in self.problems))

    def summary(self, limit: int = 5) -> str:
        if self.ok:
            return f"{self.path}: {self.examples} valid examples"
        if not self.problems:
            return f"{self.path}: no examples"
        shown = "; ".join(f"line {p.line}: {p.message}" for p in self.problems[:limit])
        more = f" (+{len(self.problems) - limit} more)" if len(self.problems) > limit else ""
        return f"{self.path}: {len(self.problems)} problems: {shown}{more}"

    def raise_if_invalid(self) -> None:
        if not self.ok:
            raise DataFormatError(self.summary())


def validate_chat_jsonl(path: str | Path) -> ValidationReport:
    """Check every line of a chat fine-tuning JSONL file; problems are reported by line number."""
    path = Path(path)
    report = ValidationReport(path=path)
    try:
        raw_lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read the training file: {exc.strerror}") from None
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()  # the newline that ends the last line
    for number, raw in enumerate(raw_lines, 1):
        problems = _check_line(raw)
        report.examples += 1
        report.problems.extend(Problem(number, code, message) for code, message in problems)
    return report


def _check_line(raw: bytes) -> list[tuple[str, str]]:
    try:
        example = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = "empty line" if not raw.strip() else f"not valid JSON ({exc})"
        return [("invalid_json", reason)]
    if not isinstance(example, dict):
        return [("data_type", f"expected a JSON object, got {type(example).__name__}")]
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return [("missing_messages_list", "no non-empty 'messages' list")]
    problems: list[tuple[str, str]] = []
    has_assistant = False
    for index, message in enumerate(messages):
        where = f"message {index}"
        if not isinstance(message, dict):
            problems.append(("message_data_type", f"{where}: expected an object"))
            continue
        unknown = sorted(set(message) - KNOWN_MESSAGE_KEYS)
        if unknown:
            problems.append(("message_unrecognized_key", f"{where}: unrecognised key(s) {', '.join(unknown)}"))
        if "role" not in message or "content" not in message:
            missing = [key for key in ("role", "content") if key not in message]
            calls = "function_call" in message or "tool_calls" in message
            if missing != ["content"] or not calls:
                problems.append(("message_missing_key", f"{where}: missing {' and '.join(missing)}"))
        role = message.get("role")
        if "role" in message and role not in KNOWN_ROLES:
            problems.append(("unrecognized_role", f"{where}: unknown role {role!r}"))
        content = message.get("content")
        if "content" in message and (not isinstance(content, str) or not content.strip()):
            if not (content is None and ("function_call" in message or "tool_calls" in message)):
                problems.append(("missing_content", f"{where}: content must be a non-empty string"))
        if "weight" in message:
            if role != "assistant":
                problems.append(("invalid_weight", f"{where}: 'weight' is only allowed on assistant messages"))
            elif message["weight"] not in (0, 1) or isinstance(message["weight"], bool):
                problems.append(("invalid_weight", f"{where}: weight must be 0 or 1, got {message['weight']!r}"))
        has_assistant |= role == "assistant"
    if not has_assistant:
        problems.append(("example_missing_assistant_message", "no assistant message"))
    return problems

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
``messages`` list; every message an object with a known role, content that is not
empty, and no unknown keys; ``weight`` only 0 or 1 on assistant messages; at least
one assistant message. Where the guide and the official schema differ, it follows
the schema: the ``FineTuneChatRequestInput`` of OpenAI's OpenAPI spec
(github.com/openai/openai-openapi) and the ``ChatCompletionRequest*Message`` types its
messages are made of. So content may also be a list of content parts (``text`` parts
for system and tool messages; ``text`` or ``image_url`` for user messages, since
fine-tuning input takes text and images only; ``text`` or ``refusal`` for assistant
messages); an assistant message may carry a ``refusal`` (a string) in place of
content; a ``tool`` message needs its ``tool_call_id`` and a ``function`` message
its ``name`` (its content may be null). It depends on nothing else in the engine, so
the trainers reuse it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.errors import DataFormatError
from vectortrainer.json_types import JSONValue

KNOWN_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})
KNOWN_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id", "refusal"}
)
# The content part types each role may send in a fine-tuning file (see the module docstring).
CONTENT_PART_TYPES = {
    "system": frozenset({"text"}),
    "tool": frozenset({"text"}),
    "user": frozenset({"text", "image_url"}),
    "assistant": frozenset({"text", "refusal"}),
}


def render_value(value: JSONValue) -> str:
    """A value as message text: strings as-is, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def content_text(content: JSONValue) -> str | None:
    """The text a model reads in a message's ``content``: a string, or the text (or refusal) parts
    joined.

    ``None`` when the content holds no text (absent, or non-text parts such as images).
    """
    if isinstance(content, str):
        return content
    if (
        isinstance(content, list)
        and content
        and all(isinstance(p, Mapping) and ("text" in p or "refusal" in p) for p in content)
    ):
        return "".join(str(p["text"] if "text" in p else p["refusal"]) for p in content)
    return None


def render_user(inputs: Mapping[str, JSONValue]) -> str:
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


def default_system_prompt(
    function_name: str, docstring: str = "", parameters: Iterable[str] = ()
) -> str:
    """A system prompt derived from the function itself, for functions without one in config."""
    signature = f"{function_name}({', '.join(parameters)})"
    summary = " ".join((docstring or "").strip().split("\n\n")[0].split())
    prompt = f"You are the function `{signature}`."
    if summary:
        prompt += f" {summary}"
    return prompt + " Answer with its return value only."


def system_prompt_for(
    function_name: str,
    prompts: Mapping[str, str] | None,
    docstring: str = "",
    parameters: Iterable[str] = (),
) -> str:
    """The configured prompt for ``function_name`` if there is one, else the derived default."""
    configured = (prompts or {}).get(function_name)
    if configured and configured.strip():
        return configured
    return default_system_prompt(function_name, docstring, parameters)


def build_example(
    inputs: Mapping[str, JSONValue], output: JSONValue, system_prompt: str
) -> dict[str, list[dict[str, str]]]:
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
            problems.append(
                ("message_unrecognized_key", f"{where}: unrecognised key(s) {', '.join(unknown)}")
            )
        role = message.get("role")
        calls = "function_call" in message or "tool_calls" in message
        refusal = message.get("refusal")
        refuses = role == "assistant" and isinstance(refusal, str) and bool(refusal.strip())
        # Content may be left out (or null) by an assistant that calls a function or refuses.
        content_optional = role == "assistant" and (calls or refuses)
        missing = [key for key in ("role", "content") if key not in message
                   and not (key == "content" and content_optional)]
        if missing:
            problems.append(("message_missing_key", f"{where}: missing {' and '.join(missing)}"))
        if "role" in message and role not in KNOWN_ROLES:
            problems.append(("unrecognized_role", f"{where}: unknown role {role!r}"))
        if "content" in message:
            content = message["content"]
            if content is None:
                if not (content_optional or role == "function"):
                    problems.append(
                        (
                            "missing_content",
                            f"{where}: content must be a non-empty string "
                            f"or a list of content parts",
                        )
                    )
            else:
                problems.extend(_content_problems(content, role, where))
        if "refusal" in message:
            if role != "assistant":
                problems.append(
                    ("invalid_refusal", f"{where}: 'refusal' is only allowed on assistant messages")
                )
            elif refusal is not None and not isinstance(refusal, str):
                problems.append(("invalid_refusal", f"{where}: refusal must be a string or null"))
        if role == "tool" and not _non_empty_string(message.get("tool_call_id")):
            problems.append(
                (
                    "missing_tool_call_id",
                    f"{where}: a tool message needs its tool_call_id (the id "
                    f"of the assistant's tool call it answers)",
                )
            )
        if role == "function" and not _non_empty_string(message.get("name")):
            problems.append(
                (
                    "missing_function_name",
                    f"{where}: a function message needs the name of the function it answers",
                )
            )
        if "weight" in message:
            if role != "assistant":
                problems.append(
                    ("invalid_weight", f"{where}: 'weight' is only allowed on assistant messages")
                )
            elif message["weight"] not in (0, 1) or isinstance(message["weight"], bool):
                problems.append(
                    ("invalid_weight", f"{where}: weight must be 0 or 1, got {message['weight']!r}")
                )
        has_assistant |= role == "assistant"
    if not has_assistant:
        problems.append(("example_missing_assistant_message", "no assistant message"))
    return problems


def _non_empty_string(value: JSONValue) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _content_problems(content: JSONValue, role: JSONValue, where: str) -> list[tuple[str, str]]:
    """What is wrong with a message's (non-null) content: a non-empty string or a list of allowed
    parts."""
    if isinstance(content, str):
        return (
            [] if content.strip() else [("missing_content", f"{where}: content must not be empty")]
        )
    if not isinstance(content, list):
        return [
            (
                "missing_content",
                f"{where}: content must be a non-empty string or a list of content parts",
            )
        ]
    if not content:
        return [("missing_content", f"{where}: content must not be an empty list")]
    allowed = CONTENT_PART_TYPES.get(role, frozenset({"text"}))
    problems: list[tuple[str, str]] = []
    said = False
    for number, part in enumerate(content):
        here = f"{where}: content part {number}"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in allowed:
            shown = f"type {kind!r}" if isinstance(part, dict) else "not an object"
            problems.append(("invalid_content_part", f"{here}: {shown}; a {role} message takes "
                                                     f"{' or '.join(sorted(allowed))} parts"))
        elif kind in ("text", "refusal"):
            if not isinstance(part.get(kind), str):
                problems.append(("invalid_content_part", f"{here}: '{kind}' must be a string"))
            else:
                said |= bool(part[kind].strip())
        elif kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not _non_empty_string(image.get("url")):
                problems.append(("invalid_content_part", f"{here}: image_url needs a 'url'"))
            else:
                said = True
    if not problems and not said:
        problems.append(("missing_content", f"{where}: every content part is empty"))
    return problems

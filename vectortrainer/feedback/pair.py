"""A user correction (FR-2.1): the model produced ``bad_output``; ``fixed_output`` is what it should
have said.

Text policy: a lone surrogate (``"\\ud800"`` in a JSON line decodes to one) cannot be
written as UTF-8, so nothing learned from it could be saved. Every face reads feedback
through :func:`replace_lone_surrogates`: each lone surrogate becomes U+FFFD (the
replacement character), and the readers count and report the lines where that happened.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

from vectortrainer.json_types import JSONObject, JSONValue

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(value: JSONValue) -> tuple[JSONValue, int]:
    """``value`` (a string, or lists and dicts of them) with lone surrogates as U+FFFD, and how many
    there were."""
    if isinstance(value, str):
        if value.isascii():
            return value, 0
        fixed, count = _LONE_SURROGATE.subn("\ufffd", value)
        return fixed, count
    if isinstance(value, dict):
        total = 0
        items = {}
        for key, item in value.items():
            new_key, n_key = replace_lone_surrogates(key)
            new_item, n_item = replace_lone_surrogates(item)
            items[new_key] = new_item
            total += n_key + n_item
        return (items if total else value), total
    if isinstance(value, (list, tuple)):
        parts = [replace_lone_surrogates(item) for item in value]
        total = sum(n for _, n in parts)
        return (type(value)(p for p, _ in parts) if total else value), total
    return value, 0


@dataclass
class FeedbackPair:
    """A user correction: the model produced ``bad_output``; ``fixed_output`` is right (FR-2.1)."""

    bad_output: str
    fixed_output: str
    input_prompt: str = ""
    context: JSONObject = field(default_factory=dict)

    def to_dict(self) -> JSONObject:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: JSONObject) -> FeedbackPair:
        return cls(
            bad_output=str(data["bad_output"]),
            fixed_output=str(data["fixed_output"]),
            input_prompt=str(data.get("input_prompt") or ""),
            context=dict(data.get("context") or {}),
        )

    def without_lone_surrogates(self) -> tuple[FeedbackPair, int]:
        """This pair with every lone surrogate replaced by U+FFFD, and how many were replaced (see
        the module)."""
        if (
            self.bad_output.isascii()
            and self.fixed_output.isascii()
            and self.input_prompt.isascii()
            and all(
                isinstance(k, str) and k.isascii() and (not isinstance(v, str) or v.isascii())
                for k, v in self.context.items()
            )
            and all(
                isinstance(v, str) or v is None or isinstance(v, (int, float, bool))
                for v in self.context.values()
            )
        ):
            return self, 0  # the common case, decided without copying anything
        bad, n_bad = replace_lone_surrogates(self.bad_output)
        fixed, n_fixed = replace_lone_surrogates(self.fixed_output)
        prompt, n_prompt = replace_lone_surrogates(self.input_prompt)
        context, n_context = replace_lone_surrogates(self.context)
        count = n_bad + n_fixed + n_prompt + n_context
        if not count:
            return self, 0
        return replace(
            self, bad_output=bad, fixed_output=fixed, input_prompt=prompt, context=dict(context)
        ), count

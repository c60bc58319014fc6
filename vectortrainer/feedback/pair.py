"""A user correction (FR-2.1): the model produced ``bad_output``; ``fixed_output`` is what it should have said."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeedbackPair:
    """A user correction: the model produced ``bad_output``; ``fixed_output`` is right (FR-2.1)."""

    bad_output: str
    fixed_output: str
    input_prompt: str = ""
    context: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bad_output": self.bad_output,
            "fixed_output": self.fixed_output,
            "input_prompt": self.input_prompt,
            "context": dict(self.context),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeedbackPair":
        return cls(
            bad_output=str(data["bad_output"]),
            fixed_output=str(data["fixed_output"]),
            input_prompt=str(data.get("input_prompt") or ""),
            context=dict(data.get("context") or {}),
        )

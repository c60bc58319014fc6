"""Plain data types shared by the engine modules and the faces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# VectorWave 1.0 statuses. ANOMALY marks a *successful* call whose input drifted
# far from golden data (a new pattern); ERROR / FAILURE are raised calls whose
# vector embeds the error text, not the input.
SUCCESSFUL_STATUSES: frozenset[str] = frozenset({"SUCCESS", "ANOMALY"})
FAILED_STATUSES: frozenset[str] = frozenset({"ERROR", "FAILURE"})


@dataclass(frozen=True)
class LogRecord:
    """One VectorWave execution log of a decorated function, decoded."""

    uuid: str
    function_name: str
    status: str
    inputs: dict[str, Any]
    output: Any = None
    timestamp: str = ""
    trace_id: str | None = None
    error_message: str | None = None
    duration_ms: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESSFUL_STATUSES


@dataclass
class FunctionLogs:
    """Every log of one function that can take part in density, plus what was left out.

    ``vectors`` rows are aligned with ``records`` (float32, shape (n, dim)).
    ``skipped`` maps a reason (e.g. "no vector", "no captured inputs") to a count.
    """

    function_name: str
    records: list[LogRecord]
    vectors: np.ndarray
    skipped: dict[str, int] = field(default_factory=dict)
    total: int = 0

    @property
    def statuses(self) -> list[str]:
        return [r.status for r in self.records]


@dataclass(frozen=True)
class FunctionSummary:
    """Counts per function, as listed by the log source."""

    name: str
    total: int
    success: int
    with_vector: int
    with_inputs: int
    failed: int = 0
    anomaly: int = 0


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


# Rule kinds the generated hook understands (VT-5). Every rule is data: the hook
# interprets it with a fixed, reviewed runtime and never turns it into code.
RULE_KINDS: tuple[str, ...] = (
    "normalize_whitespace",  # collapse runs of spaces/tabs, trim the ends
    "strip_prefix",  # remove ``pattern`` when the text starts with it
    "strip_suffix",  # remove ``pattern`` when the text ends with it
    "replace",  # whole-word literal ``pattern`` -> ``replacement``
    "remove",  # whole-word literal ``pattern`` -> ""
    "case_fix",  # ``pattern`` in any letter case -> ``replacement``'s casing
    "regex_replace",  # ``pattern`` (a linear-time regex) -> template with \g<n>
    "append",  # add ``replacement`` at the end unless its text is already there
    "prepend",  # add ``replacement`` at the start unless it is already there
)
RULE_TARGETS: tuple[str, ...] = ("output", "prompt")


@dataclass
class Rule:
    """One discrete correction learned from feedback (FR-2.3), applied by the hook in list order.

    ``condition`` maps context keys to the value they must have (all must match);
    ``support`` counts the feedback pairs that back the rule and ``sources`` holds
    their indices; ``priority`` lets a person favour a rule in conflicts.
    """

    kind: str
    pattern: str = ""
    replacement: str = ""
    target: str = "output"
    condition: dict[str, str] = field(default_factory=dict)
    priority: int = 0
    support: int = 1
    sources: list[int] = field(default_factory=list)
    rule_id: str = ""
    origin: str = "heuristic"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "target": self.target,
            "pattern": self.pattern,
            "replacement": self.replacement,
            "condition": dict(self.condition),
            "priority": self.priority,
            "support": self.support,
            "sources": list(self.sources),
            "origin": self.origin,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Rule":
        return cls(
            kind=str(data["kind"]),
            pattern=str(data.get("pattern") or ""),
            replacement=str(data.get("replacement") or ""),
            target=str(data.get("target") or "output"),
            condition={str(k): str(v) for k, v in (data.get("condition") or {}).items()},
            priority=int(data.get("priority") or 0),
            support=int(data.get("support") or 0),
            sources=[int(i) for i in data.get("sources") or []],
            rule_id=str(data.get("rule_id") or ""),
            origin=str(data.get("origin") or "heuristic"),
        )

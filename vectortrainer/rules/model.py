"""The rule language (VT-5): what a rule is, as data, and the JSON document a hook embeds.

A rule has a kind, a target (the prompt or the output), a pattern, a replacement,
a context condition and the feedback that backs it. Rules are data: the generated
hook interprets them with the fixed code of :mod:`vectortrainer.rules.interpreter`
and never turns them into code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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


def rule_id_for(rule: Rule) -> str:
    """A stable id from what the rule does (kind, target, pattern, replacement, condition)."""
    key = json.dumps([rule.kind, rule.target, rule.pattern, rule.replacement, sorted(rule.condition.items())])
    return "r-" + hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def rules_document(rules: Sequence[Rule]) -> str:
    """The JSON document a hook embeds: the rules as data (ASCII only, keys sorted)."""
    return json.dumps({"version": 1, "rules": [r.to_dict() for r in rules]}, ensure_ascii=True, sort_keys=True)

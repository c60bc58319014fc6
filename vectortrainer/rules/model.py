"""The rule language (VT-5, VT-12): what a rule is, as data, and the JSON document a hook embeds.

A rule has a kind, a target (the prompt or the output), a pattern, a replacement,
a context condition, a text condition, optional case transforms of captured groups,
and the evidence that backs it. Rules are data: the generated hook interprets them
with the fixed code of :mod:`vectortrainer.rules.interpreter` and never turns them
into code.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from vectortrainer.json_types import JSONObject
from vectortrainer.rules.needles import required_literal, whole_word

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
# Kinds whose pattern is no trigger (they fire on any text): a condition says where they belong.
FIRES_ON_ANY_TEXT: tuple[str, ...] = ("append", "prepend")
# A text condition the learner writes: a phrase not
# inside a longer word (shown as the phrase itself).
_PHRASE_CONDITION = re.compile(r"(.+)\(\?<!\\w\1\)\(\?!\\w\)\Z")
# How a captured group may be rewritten in a regex_replace template (``group_case``).
CASE_TRANSFORMS: tuple[str, ...] = ("upper", "lower", "capitalize")


@dataclass
class Evidence:
    """Why a rule exists and how it measured, kept with it as data (the hook ignores it).

    ``why`` says what the rule generalises over and why it is scoped as it is;
    ``repaired`` / ``gain`` are the pairs it moved closer to their fix and the characters
    it repaired when it was accepted; ``exact`` the pairs of its own that the whole rule set
    fixes exactly; ``logs_*`` its blast radius: of ``logs_sampled`` uncorrected logged
    outputs, how many it changes and how many of those changes look unlike its pairs.
    """

    why: str = ""
    repaired: int = 0
    gain: int = 0
    exact: int | None = None
    logs_sampled: int | None = None
    logs_changed: int | None = None
    logs_unbacked: int | None = None

    def to_dict(self) -> JSONObject:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: JSONObject | None) -> "Evidence":
        data = data or {}

        def number(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else int(value)

        return cls(
            why=str(data.get("why") or ""),
            repaired=int(data.get("repaired") or 0),
            gain=int(data.get("gain") or 0),
            exact=number("exact"),
            logs_sampled=number("logs_sampled"),
            logs_changed=number("logs_changed"),
            logs_unbacked=number("logs_unbacked"),
        )

    @property
    def blast_radius(self) -> str:
        """``"3 of 120 logs"``, or ``"not measured"`` without a log sample."""
        if self.logs_sampled is None or self.logs_changed is None:
            return "not measured"
        return f"{self.logs_changed} of {self.logs_sampled} logs"


@dataclass
class Rule:
    """One discrete correction learned from feedback (FR-2.3), applied by the hook in list order.

    ``condition`` maps context keys to the value they must have (all must match);
    ``text_condition`` holds regexes that must all be found in the text the rule
    rewrites; ``group_case`` maps a group number of a ``regex_replace`` template to a
    case transform (``{1: "upper"}`` upper-cases group 1). ``support`` counts the
    feedback pairs that back the rule and ``sources`` holds their indices; ``priority``
    lets a person favour a rule in conflicts; ``evidence`` explains it.
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
    text_condition: list[str] = field(default_factory=list)
    group_case: dict[int, str] = field(default_factory=dict)
    evidence: Evidence = field(default_factory=Evidence)

    def to_dict(self) -> JSONObject:
        return {
            "rule_id": self.rule_id,
            "kind": self.kind,
            "target": self.target,
            "pattern": self.pattern,
            "replacement": self.replacement,
            "condition": dict(self.condition),
            "text_condition": list(self.text_condition),
            "group_case": {str(group): case for group, case in sorted(self.group_case.items())},
            "priority": self.priority,
            "support": self.support,
            "sources": list(self.sources),
            "origin": self.origin,
            "evidence": self.evidence.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: JSONObject) -> "Rule":
        return cls(
            kind=str(data["kind"]),
            pattern=str(data.get("pattern") or ""),
            replacement=str(data.get("replacement") or ""),
            target=str(data.get("target") or "output"),
            condition={str(k): str(v) for k, v in (data.get("condition") or {}).items()},
            text_condition=[str(p) for p in data.get("text_condition") or []],
            group_case={int(k): str(v) for k, v in (data.get("group_case") or {}).items()},
            priority=int(data.get("priority") or 0),
            support=int(data.get("support") or 0),
            sources=[int(i) for i in data.get("sources") or []],
            rule_id=str(data.get("rule_id") or ""),
            origin=str(data.get("origin") or "heuristic"),
            evidence=Evidence.from_dict(data.get("evidence")),
        )

    def describe_scope(self) -> str:
        """Where the rule applies, as people read it:
        ``tier=enterprise; text has 'will refund you'``."""
        parts = [f"{k}={v}" for k, v in sorted(self.condition.items())]
        parts += [f"text has {describe_text_condition(pattern)}" for pattern in self.text_condition]
        return "; ".join(parts)


def describe_text_condition(pattern: str) -> str:
    """``'will refund you'`` for the learner's phrase conditions, ``/regex/`` for any other
    pattern."""
    match = _PHRASE_CONDITION.match(pattern)
    if match is not None:
        phrase = re.sub(r"\\(.)", r"\1", match.group(1))
        if re.escape(phrase) == match.group(1):
            return repr(phrase)
    return f"/{pattern}/"


def rule_id_for(rule: Rule) -> str:
    """A stable id from what the rule does (kind, target, pattern, replacement, conditions, case
    transforms)."""
    what: list[object] = [
        rule.kind, rule.target, rule.pattern, rule.replacement, sorted(rule.condition.items())
    ]
    if rule.text_condition or rule.group_case:  # older rules keep the ids they had
        what += [list(rule.text_condition), sorted(rule.group_case.items())]
    key = json.dumps(what)
    return "r-" + hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def rules_document(rules: Sequence[Rule]) -> str:
    """The JSON document a hook embeds: the rules as data (ASCII only, keys sorted), each regex
    rule with the text it cannot match without and the word it holds whole
    (:mod:`~vectortrainer.rules.needles`)."""
    return json.dumps(
        {"version": 1, "rules": [_with_needle(r) for r in rules]}, ensure_ascii=True,
        sort_keys=True,
    )


def _with_needle(rule: Rule) -> JSONObject:
    document = rule.to_dict()
    needle = required_literal(rule.pattern) if rule.kind == "regex_replace" else ""
    if needle:
        document["needle"] = needle
    key = whole_word(rule.pattern) if rule.kind == "regex_replace" else ""
    if key:
        document["key"] = key
    return document

"""Contradicting rules and how they are settled (FR-2.4).

Conflict policy (FR-2.4): two candidates conflict when they share a trigger but neither
replacement contains the other, or when one undoes the other (a -> b and b -> a). The
winner has the larger support, then the higher priority, then the most recent feedback
(largest pair index). Every conflict is kept in `RuleSet.conflicts` with its reason;
`RuleSet.resolve(conflict_id, choice)` re-synthesises with a person's choice, which is
one of (see `Resolution`):

* keep one rule (``choice`` an index, e.g. ``0`` keeps A): it wins, the others are
  dropped and the pairs that backed them are overruled;
* keep both in an order (``resolve(cid, "both", order=[i, j])``): both rules go into
  the hook, rule ``i`` applied before rule ``j``. The first rule is the exception: it
  may not change any pair that backs the second, so it is scoped by the context its own
  pairs share (``tier == "enterprise"``, the same `_scope` step as above). The second
  rule is the default for everything else; it is scoped only where it would undo the
  first rule's repairs. Both must pass the usual checks (no fixed output changed, no
  bad output moved away from its fix) and the whole rule set is replayed over every
  fixed output. If no context makes that hold, the resolution is refused with a
  `RuleSynthesisError` and the rule set is left as it was.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from vectortrainer.errors import RuleSynthesisError
from vectortrainer.json_types import JSONObject
from vectortrainer.rules.candidates import Candidate, CandidateGroup
from vectortrainer.rules.model import Rule


@dataclass(frozen=True)
class Resolution:
    """A person's decision on one conflict: the rule indices kept, in the order the hook applies
    them.

    ``Resolution((1,))`` keeps rule 1 only; ``Resolution((1, 0))`` keeps both, rule 1 first.
    """

    keep: tuple[int, ...]

    @classmethod
    def one(cls, index: int) -> "Resolution":
        return cls((index,))

    @classmethod
    def both(cls, order: Sequence[int]) -> "Resolution":
        return cls(tuple(order))

    @property
    def keeps_both(self) -> bool:
        return len(self.keep) > 1

    def to_json(self) -> int | list[int]:
        """An int for "keep one" (the form older callers wrote), the order as a list for "keep
        both"."""
        return list(self.keep) if self.keeps_both else self.keep[0]

    @classmethod
    def coerce(cls, value: "int | Sequence[int] | Resolution") -> "Resolution":
        if isinstance(value, Resolution):
            return value
        if isinstance(value, int):
            return cls.one(value)
        return cls.both(value)


@dataclass
class Conflict:
    """Contradicting rules and how they were settled (FR-2.4).

    ``chosen`` is the rule that wins (for "keep both", the one applied first); ``order`` is
    None, or the person's order of the rules kept both.
    """

    conflict_id: str
    kind: str  # "same_trigger" or "undo"
    rules: list[Rule]
    chosen: int
    reason: str
    resolved_by: str = "policy"  # or "person"
    order: list[int] | None = None

    @property
    def keeps_both(self) -> bool:
        return self.order is not None

    def to_dict(self) -> JSONObject:
        return {
            "conflict_id": self.conflict_id,
            "kind": self.kind,
            "rules": [r.to_dict() for r in self.rules],
            "chosen": self.chosen,
            "resolution": "both" if self.order is not None else "keep",
            "order": list(self.order) if self.order is not None else None,
            "reason": self.reason,
            "resolved_by": self.resolved_by,
        }


def resolution_for(
    conflict: Conflict, choice: "int | str | Resolution", order: Sequence[int] | None
) -> Resolution:
    """Check a person's choice against the conflict's rules and turn it into a `Resolution`."""
    count = len(conflict.rules)
    cid = conflict.conflict_id
    if isinstance(choice, Resolution):
        resolution = choice
    elif choice == "both":
        resolution = Resolution.both(list(order) if order is not None else range(count))
    elif isinstance(choice, int) and not isinstance(choice, bool):
        resolution = Resolution.one(choice)
    else:
        raise RuleSynthesisError(
            f"conflict {cid}: choice must be a rule index or 'both', got {choice!r}"
        )
    keep = resolution.keep
    if not keep or any(not 0 <= i < count for i in keep):
        raise RuleSynthesisError(f"conflict {cid}: choice must be 0..{count - 1}, got {list(keep)}")
    if (resolution.keeps_both or choice == "both") and sorted(keep) != list(range(count)):
        raise RuleSynthesisError(
            f"conflict {cid}: 'both' needs an order of all "
            f"{count} rules (each once), got {list(keep)}"
        )
    return resolution


def _trigger(candidate: Candidate) -> str | None:
    if candidate.kind in ("append", "prepend", "normalize_whitespace"):
        return None
    return (
        f"{'case' if candidate.kind == 'case_fix' else 'text'}:"
        f"{candidate.pattern.lower() if candidate.kind == 'case_fix' else candidate.pattern}"
    )


def rule_letter(index: int) -> str:
    """How people see a conflict's rules: A, B, C, ..."""
    return chr(ord("A") + index) if index < 26 else str(index)


def _policy_key(group: CandidateGroup, priority: int = 0) -> tuple[int, int, int]:
    return (group.support, priority, max(group.sources, default=-1))


def _conflict_id(kind: str, triggers: Sequence[str]) -> str:
    return (
        "c-"
        + hashlib.sha1(
            (kind + "|" + "|".join(sorted(triggers))).encode("utf-8", "surrogatepass")
        ).hexdigest()[:8]
    )


def find_conflicts(
    groups: Mapping[Candidate, CandidateGroup], overrides: Mapping[str, Resolution]
) -> tuple[list[Conflict], set[Candidate], dict[Candidate, set[int]]]:
    """Conflicting literal candidates, settled by policy (or by a person's override).

    Losers are banned; the pairs that backed them are exempt from the winner's replay
    check (they were overruled), so the winner is not rejected for disagreeing with them.
    """
    conflicts: list[Conflict] = []
    banned: set[Candidate] = set()
    exempt: dict[Candidate, set[int]] = defaultdict(set)
    by_trigger: dict[str, list[CandidateGroup]] = defaultdict(list)
    for group in groups.values():
        trigger = _trigger(group.candidate)
        if trigger is not None:
            by_trigger[trigger].append(group)
    for trigger, members in sorted(by_trigger.items()):
        incompatible = [
            g
            for g in members
            if any(
                g is not h
                and g.candidate.replacement not in h.candidate.replacement
                and h.candidate.replacement not in g.candidate.replacement
                for h in members
            )
        ]
        if len(incompatible) >= 2:
            conflicts.append(
                _settle("same_trigger", [trigger], incompatible, overrides, banned, exempt)
            )
    seen: set[frozenset[Candidate]] = set()
    for group in groups.values():
        c = group.candidate
        if c.kind not in ("replace", "case_fix") or not c.replacement:
            continue
        reverse = groups.get(Candidate(c.kind, c.replacement, c.pattern))
        if reverse is None or frozenset({c, reverse.candidate}) in seen:
            continue
        seen.add(frozenset({c, reverse.candidate}))
        triggers = [f"{c.pattern}->{c.replacement}", f"{c.replacement}->{c.pattern}"]
        conflicts.append(_settle("undo", triggers, [group, reverse], overrides, banned, exempt))
    return conflicts, banned, exempt


def _settle(
    kind: str,
    triggers: Sequence[str],
    members: list[CandidateGroup],
    overrides: Mapping[str, Resolution],
    banned: set[Candidate],
    exempt: dict[Candidate, set[int]],
) -> Conflict:
    members = sorted(members, key=lambda g: (g.candidate.pattern, g.candidate.replacement))
    conflict_id = _conflict_id(kind, triggers)
    rules = [
        g.candidate.as_rule(support=g.support, sources=sorted(set(g.sources))) for g in members
    ]
    resolution = overrides.get(conflict_id)
    if resolution is not None and not all(0 <= i < len(members) for i in resolution.keep):
        resolution = None  # recorded for a different set of contenders: the policy decides again
    if (
        resolution is not None
        and resolution.keeps_both
        and sorted(resolution.keep) == list(range(len(members)))
    ):
        # Nothing is banned or overruled: synthesize_rules scopes the rules against each other.
        order = list(resolution.keep)
        shown = " then ".join(rule_letter(i) for i in order)
        return Conflict(
            conflict_id, kind, rules, order[0], f"both kept by a person, {shown}", "person", order
        )
    if resolution is not None and not resolution.keeps_both:
        chosen = resolution.keep[0]
        reason = "chosen by a person"
        resolved_by = "person"
    else:
        chosen = max(range(len(members)), key=lambda i: _policy_key(members[i]))
        winner = members[chosen]
        runner_up = max((m for i, m in enumerate(members) if i != chosen), key=_policy_key)
        if winner.support != runner_up.support:
            reason = f"larger support ({winner.support} vs {runner_up.support})"
        else:
            reason = (
                f"equal support and priority; most recent feedback (pair {max(winner.sources)})"
            )
        resolved_by = "policy"
    for i, member in enumerate(members):
        if i != chosen:
            banned.add(member.candidate)
            exempt[members[chosen].candidate].update(member.sources)
    return Conflict(conflict_id, kind, rules, chosen, reason, resolved_by)

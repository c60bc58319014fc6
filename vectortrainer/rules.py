"""Feedback pairs -> a discrete, generalising rule set with visible conflicts (FR-2.3, FR-2.4, VT-5).

How rules are found (heuristics; an LLM may propose rules first, see `LLMRuleProposer`):

1. Each pair's bad output is diffed against its fix in word tokens (`diffing.edit_hunks`).
   Every edit becomes a candidate rule of a kind that fits where it sits: a deletion at
   the start is a prefix strip, an insertion at the end an append, a change of letter
   case a case fix, whitespace-only edits a whitespace normalisation, anything else a
   whole-word replacement (insertions carry one word of context on each side).
2. Candidates that differ only in numbers or in names kept on both sides ("order 4411"
   -> "order #4411", "order 97" -> "order #97") are generalised into one regex rule whose
   variable parts are captured (`(\\d+)`, `([A-Z]\\w*)`) and written back (`\\g<1>`);
   literal parts are always `re.escape`d, so patterns stay linear-time.
3. Rules are accepted greedily, the most supported first, each checked on every pair
   as the hook would apply it: it must never change a fixed (good) output and never move
   a bad output away from its fix. A rule that fails is scoped by a context condition
   shared by all pairs that back it (e.g. ``tier == "enterprise"``); if no condition
   makes it safe it is rejected (and listed). After each acceptance the remaining
   differences are recomputed, so corrections that compose (a suffix rewrite plus an
   append) become separate rules.
4. Corrections seen only once become narrow rules: literal, with a word of context,
   and conditioned on the pair's whole context.

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
import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from vectortrainer.diffing import Hunk, SemanticScorer, edit_distance, edit_hunks
from vectortrainer.errors import VectorTrainerError
from vectortrainer.hooks import runtime
from vectortrainer.hooks.generator import rules_document
from vectortrainer.types import RULE_KINDS, RULE_TARGETS, FeedbackPair, Rule

# Pairs whose fix means something else (a rewrite, not a correction) teach no rule.
REWRITE_SIMILARITY = 0.6
_NUMBER = re.compile(r"\d+\Z")
_NAME = re.compile(r"[A-Z][a-z]+\Z")
_NUMBER_CLASS = r"\d+"
_NAME_CLASS = r"[A-Z]\w*"
_MAX_ROUNDS = 200


class RuleSynthesisError(VectorTrainerError):
    """Rule synthesis was asked for something it cannot do (e.g. an unknown conflict id)."""


@dataclass(frozen=True)
class Resolution:
    """A person's decision on one conflict: the rule indices kept, in the order the hook applies them.

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
        """An int for "keep one" (the form older callers wrote), the order as a list for "keep both"."""
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

    def to_dict(self) -> dict[str, Any]:
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


@dataclass
class RejectedRule:
    """A candidate that was not accepted, and why."""

    rule: Rule
    reason: str


@dataclass
class RuleSet:
    """The synthesised rules (in the order the hook applies them) and everything a person may review."""

    rules: list[Rule]
    conflicts: list[Conflict] = field(default_factory=list)
    rejected: list[RejectedRule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rewrites: list[int] = field(default_factory=list)
    pairs: list[FeedbackPair] = field(default_factory=list, repr=False)
    overrides: dict[str, Resolution] = field(default_factory=dict)

    def list_conflicts(self) -> list[Conflict]:
        return list(self.conflicts)

    def resolve(
        self, conflict_id: str, choice: "int | str | Resolution", order: Sequence[int] | None = None
    ) -> "RuleSet":
        """A new rule set with the person's decision on conflict ``conflict_id`` (this one is unchanged).

        ``choice`` is a rule index (that rule wins), ``"both"`` with ``order`` (default
        ``[0, 1]``: both kept, applied in that order), or a `Resolution`. Raises
        `RuleSynthesisError` if the conflict is unknown, the choice is out of range, or
        both rules cannot be kept safely in that order.
        """
        conflict = next((c for c in self.conflicts if c.conflict_id == conflict_id), None)
        if conflict is None:
            known = ", ".join(c.conflict_id for c in self.conflicts) or "none"
            raise RuleSynthesisError(f"no conflict {conflict_id!r} (known conflicts: {known})")
        resolution = resolution_for(conflict, choice, order)
        return synthesize_rules(self.pairs, overrides={**self.overrides, conflict_id: resolution})

    def to_dict(self) -> dict[str, Any]:
        return {
            "rules": [r.to_dict() for r in self.rules],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "rejected": [{"rule": r.rule.to_dict(), "reason": r.reason} for r in self.rejected],
            "notes": list(self.notes),
            "rewrites": list(self.rewrites),
            "overrides": {cid: r.to_json() for cid, r in self.overrides.items()},
        }


def resolution_for(conflict: Conflict, choice: "int | str | Resolution", order: Sequence[int] | None) -> Resolution:
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
        raise RuleSynthesisError(f"conflict {cid}: choice must be a rule index or 'both', got {choice!r}")
    keep = resolution.keep
    if not keep or any(not 0 <= i < count for i in keep):
        raise RuleSynthesisError(f"conflict {cid}: choice must be 0..{count - 1}, got {list(keep)}")
    if (resolution.keeps_both or choice == "both") and sorted(keep) != list(range(count)):
        raise RuleSynthesisError(
            f"conflict {cid}: 'both' needs an order of all {count} rules (each once), got {list(keep)}"
        )
    return resolution


def list_conflicts(rule_set: RuleSet) -> list[Conflict]:
    """Every conflict found, with the rule that won and why."""
    return rule_set.list_conflicts()


def resolve_conflict(
    rule_set: RuleSet, conflict_id: str, choice: "int | str | Resolution", order: Sequence[int] | None = None
) -> RuleSet:
    """Re-synthesise with a person's decision (see `RuleSet.resolve`)."""
    return rule_set.resolve(conflict_id, choice, order)


def apply_rules(rules: Sequence[Rule], text: str, context: Mapping[str, Any] | None, target: str = "output") -> str:
    """Apply ``rules`` exactly as a generated hook would (the same interpreter)."""
    compiled, _ = runtime.load_rules(rules_document(rules))
    return runtime.apply_rules(compiled, text, dict(context or {}), target)


def rule_id_for(rule: Rule) -> str:
    key = json.dumps([rule.kind, rule.target, rule.pattern, rule.replacement, sorted(rule.condition.items())])
    return "r-" + hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]


# ---------------------------------------------------------------------------
# candidates


@dataclass(frozen=True)
class _Candidate:
    kind: str
    pattern: str
    replacement: str

    def as_rule(self, **extra: Any) -> Rule:
        rule = Rule(kind=self.kind, pattern=self.pattern, replacement=self.replacement, **extra)
        rule.rule_id = rule_id_for(rule)
        return rule


def _is_word(token: str) -> bool:
    return bool(token) and (token[0].isalnum() or token[0] == "_")


def _context(tokens: Sequence[str], start: int, step: int, words: int) -> list[str]:
    """Tokens next to ``start`` going ``step`` (-1 left, +1 right) until ``words`` words are included."""
    picked: list[str] = []
    index = start
    while 0 <= index < len(tokens) and words > 0:
        picked.append(tokens[index])
        if _is_word(tokens[index]):
            words -= 1
        index += step
    return picked[::-1] if step < 0 else picked


def _trim_blank_edges(deleted: list[str], inserted: list[str]) -> tuple[list[str], list[str]]:
    """Drop whitespace both sides end (or start) with: it is left to the whitespace rule."""
    while deleted and inserted and not deleted[-1].strip() and not inserted[-1].strip():
        deleted, inserted = deleted[:-1], inserted[:-1]
    while deleted and inserted and not deleted[0].strip() and not inserted[0].strip():
        deleted, inserted = deleted[1:], inserted[1:]
    return deleted, inserted


def _hunk_candidates(hunk: Hunk, *, context_words: int = 0) -> list[tuple[_Candidate, _Candidate | None]]:
    """(literal candidate, generalised candidate or None) for one edit."""
    bad, fixed = hunk.bad_tokens, hunk.fixed_tokens
    deleted = list(bad[hunk.start : hunk.end])
    inserted = list(fixed[hunk.fixed_start : hunk.fixed_end])
    d_text, i_text = "".join(deleted), "".join(inserted)
    if not (d_text + i_text).strip():
        return [(_Candidate("normalize_whitespace", "", ""), None)]
    deleted, inserted = _trim_blank_edges(deleted, inserted)
    d_text, i_text = "".join(deleted), "".join(inserted)
    if hunk.at_start and d_text and not i_text and not context_words:
        return [(_Candidate("strip_prefix", d_text, ""), _generalise("strip_prefix", deleted, []))]
    if hunk.at_end and d_text and not i_text and not context_words:
        return [(_Candidate("strip_suffix", d_text, ""), _generalise("strip_suffix", deleted, []))]
    if not d_text and hunk.start == len(bad):
        return [(_Candidate("append", "", i_text), None)]
    if not d_text and hunk.start == 0:
        return [(_Candidate("prepend", "", i_text), None)]
    if d_text and i_text and d_text.lower() == i_text.lower() and not context_words:
        return [(_Candidate("case_fix", d_text, i_text), None)]
    # Whole-word replacement; a pure insertion needs a word of context to anchor it.
    words = max(context_words, 0 if d_text else 1)
    left = _context(bad, hunk.start - 1, -1, words) if words else []
    right = _context(bad, hunk.end, +1, words) if words else []
    pattern_tokens = left + deleted + right
    replacement_tokens = left + inserted + right
    pattern = "".join(pattern_tokens)
    if not pattern.strip():
        return []
    kind = "remove" if not i_text and not left and not right else "replace"
    literal = _Candidate(kind, pattern, "".join(replacement_tokens))
    return [(literal, _generalise("replace", pattern_tokens, replacement_tokens))]


def _generalise(kind: str, pattern_tokens: list[str], replacement_tokens: list[str]) -> _Candidate | None:
    """Numbers (anywhere) and names (kept on both sides) become captured classes; None if nothing varies."""
    parts: list[str] = []
    remaining = list(replacement_tokens)
    template_slots: dict[int, int] = {}
    groups = 0
    for token in pattern_tokens:
        in_replacement = token in remaining
        if _NUMBER.match(token) or (_NAME.match(token) and in_replacement):
            if in_replacement:
                groups += 1
                slot = remaining.index(token)
                template_slots[slot] = groups
                remaining[slot] = "\x00"  # each replacement token is claimed once
                parts.append(f"({_NUMBER_CLASS if _NUMBER.match(token) else _NAME_CLASS})")
            else:
                parts.append(_NUMBER_CLASS)
        else:
            parts.append(re.escape(token))
    if not groups and not any(_NUMBER.match(t) for t in pattern_tokens):
        return None
    body = "".join(parts)
    if kind == "strip_prefix":
        regex = r"\A" + body
    elif kind == "strip_suffix":
        regex = body + r"\Z"
    else:
        first, last = pattern_tokens[0], pattern_tokens[-1]
        regex = (r"(?<!\w)" if _is_word(first) else "") + body + (r"(?!\w)" if _is_word(last) else "")
    template = "".join(
        f"\\g<{template_slots[i]}>" if i in template_slots else token.replace("\\", "\\\\")
        for i, token in enumerate(replacement_tokens)
    )
    return _Candidate("regex_replace", regex, template)


# ---------------------------------------------------------------------------
# checking a rule against every pair


@dataclass
class _Evaluation:
    supporters: list[int]
    violations: list[int]
    gain: int


def _evaluate(
    rule: Rule,
    residuals: Sequence[str],
    pairs: Sequence[FeedbackPair],
    cache: dict[int, int],
    exempt: frozenset[int] = frozenset(),
    forbidden: frozenset[int] = frozenset(),
) -> _Evaluation:
    """Which pairs the rule helps and which it harms; it may not change ``forbidden`` pairs at all."""
    compiled, skipped = runtime.load_rules(rules_document([rule]))
    if skipped or not compiled:
        return _Evaluation([], list(range(len(pairs))), 0)
    supporters, violations, gain = [], [], 0
    for index, (residual, pair) in enumerate(zip(residuals, pairs)):
        if index in exempt:  # overruled by a conflict decision on this rule's trigger
            continue
        context = dict(pair.context)
        if runtime.apply_rules(compiled, pair.fixed_output, context, rule.target) != pair.fixed_output:
            violations.append(index)
            continue
        after = runtime.apply_rules(compiled, residual, context, rule.target)
        if after == residual:
            continue
        if index in forbidden:  # another rule kept alongside this one owns that pair
            violations.append(index)
            continue
        before_distance = cache.setdefault(index, edit_distance(residual, pair.fixed_output))
        after_distance = edit_distance(after, pair.fixed_output)
        if after_distance < before_distance:
            supporters.append(index)
            gain += before_distance - after_distance
        else:
            violations.append(index)
    return _Evaluation(supporters, violations, gain)


def _scope(
    rule: Rule,
    residuals: Sequence[str],
    pairs: Sequence[FeedbackPair],
    cache: dict[int, int],
    exempt: frozenset[int] = frozenset(),
    forbidden: frozenset[int] = frozenset(),
) -> tuple[Rule | None, _Evaluation, str]:
    """The rule with the smallest context condition that makes it safe, or None and why not."""
    evaluation = _evaluate(rule, residuals, pairs, cache, exempt, forbidden)
    if not evaluation.supporters:
        return None, evaluation, "helps no pair"
    supporters = evaluation.supporters
    shared = _shared_context(pairs, supporters)
    condition = dict(rule.condition)
    while evaluation.violations:
        options = {k: v for k, v in shared.items() if k not in condition}
        if not options:
            return None, evaluation, (
                f"would change {len(evaluation.violations)} good or partly fixed output(s) "
                f"(pairs {_first(evaluation.violations)}) and no shared context scopes it"
            )
        key = max(
            sorted(options),
            key=lambda k: sum(1 for i in evaluation.violations if str(pairs[i].context.get(k)) != options[k]),
        )
        condition[key] = options[key]
        rule = replace(rule, condition=dict(condition))
        evaluation = _evaluate(rule, residuals, pairs, cache, exempt, forbidden)
    if not evaluation.supporters:
        return None, evaluation, "helps no pair once scoped"
    return rule, evaluation, ""


def _shared_context(pairs: Sequence[FeedbackPair], indices: Sequence[int]) -> dict[str, str]:
    first = {str(k): str(v) for k, v in pairs[indices[0]].context.items() if _scalar(v)}
    return {
        k: v
        for k, v in first.items()
        if all(k in pairs[i].context and str(pairs[i].context[k]) == v for i in indices[1:])
    }


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= 200


def _first(indices: Sequence[int], n: int = 5) -> str:
    shown = ", ".join(str(i) for i in indices[:n])
    return shown + (", ..." if len(indices) > n else "")


# ---------------------------------------------------------------------------
# conflicts


@dataclass
class _Group:
    candidate: _Candidate
    sources: list[int] = field(default_factory=list)
    literals: set[_Candidate] = field(default_factory=set)
    gain: int = 0  # estimated characters repaired over all sources

    @property
    def support(self) -> int:
        return len(set(self.sources))


def _trigger(candidate: _Candidate) -> str | None:
    if candidate.kind in ("append", "prepend", "normalize_whitespace"):
        return None
    return f"{'case' if candidate.kind == 'case_fix' else 'text'}:{candidate.pattern.lower() if candidate.kind == 'case_fix' else candidate.pattern}"


def _letter(index: int) -> str:
    """How people see a conflict's rules: A, B, C, ..."""
    return chr(ord("A") + index) if index < 26 else str(index)


def _policy_key(group: _Group, priority: int = 0) -> tuple[int, int, int]:
    return (group.support, priority, max(group.sources, default=-1))


def _conflict_id(kind: str, triggers: Sequence[str]) -> str:
    return "c-" + hashlib.sha1((kind + "|" + "|".join(sorted(triggers))).encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _find_conflicts(
    groups: Mapping[_Candidate, _Group], overrides: Mapping[str, Resolution]
) -> tuple[list[Conflict], set[_Candidate], dict[_Candidate, set[int]]]:
    """Conflicting literal candidates, settled by policy (or by a person's override).

    Losers are banned; the pairs that backed them are exempt from the winner's replay
    check (they were overruled), so the winner is not rejected for disagreeing with them.
    """
    conflicts: list[Conflict] = []
    banned: set[_Candidate] = set()
    exempt: dict[_Candidate, set[int]] = defaultdict(set)
    by_trigger: dict[str, list[_Group]] = defaultdict(list)
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
            conflicts.append(_settle("same_trigger", [trigger], incompatible, overrides, banned, exempt))
    seen: set[frozenset[_Candidate]] = set()
    for group in groups.values():
        c = group.candidate
        if c.kind not in ("replace", "case_fix") or not c.replacement:
            continue
        reverse = groups.get(_Candidate(c.kind, c.replacement, c.pattern))
        if reverse is None or frozenset({c, reverse.candidate}) in seen:
            continue
        seen.add(frozenset({c, reverse.candidate}))
        triggers = [f"{c.pattern}->{c.replacement}", f"{c.replacement}->{c.pattern}"]
        conflicts.append(_settle("undo", triggers, [group, reverse], overrides, banned, exempt))
    return conflicts, banned, exempt


def _settle(
    kind: str,
    triggers: Sequence[str],
    members: list[_Group],
    overrides: Mapping[str, Resolution],
    banned: set[_Candidate],
    exempt: dict[_Candidate, set[int]],
) -> Conflict:
    members = sorted(members, key=lambda g: (g.candidate.pattern, g.candidate.replacement))
    conflict_id = _conflict_id(kind, triggers)
    rules = [g.candidate.as_rule(support=g.support, sources=sorted(set(g.sources))) for g in members]
    resolution = overrides.get(conflict_id)
    if resolution is not None and not all(0 <= i < len(members) for i in resolution.keep):
        resolution = None  # recorded for a different set of contenders: the policy decides again
    if resolution is not None and resolution.keeps_both and sorted(resolution.keep) == list(range(len(members))):
        # Nothing is banned or overruled: synthesize_rules scopes the rules against each other.
        order = list(resolution.keep)
        shown = " then ".join(_letter(i) for i in order)
        return Conflict(conflict_id, kind, rules, order[0], f"both kept by a person, {shown}", "person", order)
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
            reason = f"equal support and priority; most recent feedback (pair {max(winner.sources)})"
        resolved_by = "policy"
    for i, member in enumerate(members):
        if i != chosen:
            banned.add(member.candidate)
            exempt[members[chosen].candidate].update(member.sources)
    return Conflict(conflict_id, kind, rules, chosen, reason, resolved_by)


# ---------------------------------------------------------------------------
# synthesis


def _collect(residuals: Sequence[str], pairs: Sequence[FeedbackPair], active: Sequence[int], context_words: int = 0
) -> tuple[dict[_Candidate, _Group], dict[_Candidate, _Group]]:
    literal: dict[_Candidate, _Group] = {}
    general: dict[_Candidate, _Group] = {}
    for index in active:
        if residuals[index] == pairs[index].fixed_output:
            continue
        for whole in edit_hunks(residuals[index], pairs[index].fixed_output):
            for hunk in whole.sub_hunks():
                gain = edit_distance(hunk.deleted, hunk.inserted)
                for lit, gen in _hunk_candidates(hunk, context_words=context_words):
                    group = literal.setdefault(lit, _Group(lit))
                    if index not in group.sources:
                        group.sources.append(index)
                        group.gain += gain
                    if gen is not None:
                        group = general.setdefault(gen, _Group(gen))
                        if index not in group.sources:
                            group.sources.append(index)
                            group.gain += gain
                        group.literals.add(lit)
    return literal, general


def _residuals(rules: Sequence[Rule], pairs: Sequence[FeedbackPair]) -> list[str]:
    compiled, _ = runtime.load_rules(rules_document(rules))
    return [runtime.apply_rules(compiled, p.bad_output, dict(p.context), "output") for p in pairs]


def synthesize_rules(
    pairs: Sequence[FeedbackPair],
    *,
    scorer: SemanticScorer | None = None,
    llm: "LLMRuleProposer | None" = None,
    overrides: "Mapping[str, int | Sequence[int] | Resolution] | None" = None,
) -> RuleSet:
    """Turn feedback pairs into a rule set (see the module docstring for the method and policy).

    ``overrides`` maps conflict ids to a person's decision (an index, an order of indices
    to keep both, or a `Resolution`). Raises `RuleSynthesisError` when a "keep both"
    decision cannot be applied safely.
    """
    pairs = [p if isinstance(p, FeedbackPair) else FeedbackPair.from_dict(p) for p in pairs]
    overrides = {cid: Resolution.coerce(value) for cid, value in (overrides or {}).items()}
    notes: list[str] = []
    rejected: list[RejectedRule] = []
    active = list(range(len(pairs)))
    rewrites: list[int] = []
    if scorer is not None and pairs:
        similarity = scorer.similarities([p.bad_output for p in pairs], [p.fixed_output for p in pairs])
        rewrites = [i for i, s in enumerate(similarity) if float(s) < REWRITE_SIMILARITY]
        active = [i for i in active if i not in set(rewrites)]
        if rewrites:
            notes.append(
                f"{len(rewrites)} pair(s) rewrite the meaning (semantic similarity < {REWRITE_SIMILARITY}); "
                f"no rule is learned from them: pairs {_first(rewrites)}"
            )
    accepted: list[Rule] = []
    if llm is not None:
        accepted.extend(_accept_llm_rules(llm, pairs, active, notes, rejected))

    residuals = _residuals(accepted, pairs)
    first_literal, _ = _collect(residuals, pairs, active)
    conflicts, banned, exempt = _find_conflicts(first_literal, overrides)
    tried: set[_Candidate] = set(banned)
    cache: dict[int, int] = {}
    # A person's choice is accepted first, whatever its support; the pairs it overrules are exempt.
    for conflict in conflicts:
        if conflict.resolved_by != "person":
            continue
        if conflict.order is not None:
            accepted.extend(_keep_both(conflict, accepted, pairs))
            tried.update(_Candidate(r.kind, r.pattern, r.replacement) for r in conflict.rules)
            residuals = _residuals(accepted, pairs)
            cache.clear()
            continue
        chosen = conflict.rules[conflict.chosen]
        candidate = _Candidate(chosen.kind, chosen.pattern, chosen.replacement)
        rule, evaluation, why = _scope(candidate.as_rule(), residuals, pairs, cache, frozenset(exempt.get(candidate, set())))
        tried.add(candidate)
        if rule is None:
            rejected.append(RejectedRule(chosen, f"chosen in conflict {conflict.conflict_id} but {why}"))
            continue
        accepted.append(_finish(rule, evaluation))
        residuals = _residuals(accepted, pairs)
        cache.clear()

    for _ in range(_MAX_ROUNDS):
        literal, general = _collect(residuals, pairs, active)
        ranked: list[_Group] = [g for g in general.values() if len(g.literals) >= 2]
        ranked += [g for g in literal.values() if g.support >= 2]
        ranked = [g for g in ranked if g.candidate not in tried and not (g.literals & banned)]
        # Most repair first (a whole "Best regards, Support" rewrite before its "Best" -> "Kind" part).
        ranked.sort(key=lambda g: (-g.gain, -g.support, g.candidate.pattern, g.candidate.replacement))
        progress = False
        for group in ranked:
            tried.add(group.candidate)
            overruled = frozenset().union(*(exempt.get(c, set()) for c in group.literals | {group.candidate}))
            rule, evaluation, why = _scope(group.candidate.as_rule(), residuals, pairs, cache, overruled)
            if rule is None or len(evaluation.supporters) < 2:
                rejected.append(RejectedRule(group.candidate.as_rule(support=group.support, sources=sorted(set(group.sources))), why or "backed by one pair once checked"))
                continue
            accepted.append(_finish(rule, evaluation))
            residuals = _residuals(accepted, pairs)
            cache.clear()
            progress = True
            break
        if not progress:
            break

    # One-off corrections: literal, a word of context, the pair's whole context as condition.
    for index in active:
        if residuals[index] == pairs[index].fixed_output:
            continue
        literal, _ = _collect(residuals, pairs, [index], context_words=1)
        for candidate in literal:
            if candidate in banned:
                continue
            undone = _undoes(candidate, accepted)
            if undone is not None:
                rejected.append(RejectedRule(replace(candidate.as_rule(), sources=[index]), f"would undo rule {undone.rule_id}"))
                continue
            condition = {str(k): str(v) for k, v in pairs[index].context.items() if _scalar(v)}
            narrow = replace(candidate.as_rule(), condition=condition)
            rule, evaluation, why = _scope(narrow, residuals, pairs, cache)
            if rule is None:
                rejected.append(RejectedRule(replace(narrow, sources=[index]), why))
                continue
            accepted.append(_finish(rule, evaluation))
            residuals = _residuals(accepted, pairs)
            cache.clear()
    if llm is None:
        notes.append("rules synthesised by heuristics (no LLM configured)")
    _check_kept_both(conflicts, accepted, pairs)
    return RuleSet(
        rules=accepted,
        conflicts=conflicts,
        rejected=rejected,
        notes=notes,
        rewrites=rewrites,
        pairs=list(pairs),
        overrides=overrides,
    )


def _keep_both(conflict: Conflict, accepted: Sequence[Rule], pairs: Sequence[FeedbackPair]) -> list[Rule]:
    """The conflict's rules in the person's order, each scoped off the others' pairs; or a refusal."""
    assert conflict.order is not None
    shown = " then ".join(_letter(i) for i in conflict.order)
    kept: list[Rule] = []
    for index in conflict.order:
        residuals = _residuals([*accepted, *kept], pairs)  # each rule sees what the ones before it left
        cache: dict[int, int] = {}
        contender = conflict.rules[index]
        others = frozenset(s for i, r in enumerate(conflict.rules) if i != index for s in r.sources)
        candidate = _Candidate(contender.kind, contender.pattern, contender.replacement)
        rule, evaluation, why = _scope(candidate.as_rule(), residuals, pairs, cache, forbidden=others)
        if rule is None:
            raise RuleSynthesisError(
                f"conflict {conflict.conflict_id}: cannot keep both ({shown}): rule {_letter(index)} "
                f"({contender.pattern!r} -> {contender.replacement!r}) {why} "
                f"(the other rules' pairs: {_first(sorted(others))}); keep one rule instead"
            )
        kept.append(_finish(rule, evaluation))
    return kept


def _check_kept_both(conflicts: Sequence[Conflict], accepted: Sequence[Rule], pairs: Sequence[FeedbackPair]) -> None:
    """With rules kept both, the whole set must still leave every fixed output as it is."""
    both = [c for c in conflicts if c.order is not None]
    if not both:
        return
    changed = [i for i, p in enumerate(pairs) if apply_rules(accepted, p.fixed_output, p.context) != p.fixed_output]
    if changed:
        ids = ", ".join(c.conflict_id for c in both)
        raise RuleSynthesisError(
            f"keeping both rules of {ids} would change the fixed output of pair(s) {_first(changed)}; keep one rule instead"
        )


def _undoes(candidate: _Candidate, accepted: Sequence[Rule]) -> Rule | None:
    """An accepted rule whose output this candidate would take back, if any."""
    if candidate.kind not in ("replace", "remove", "case_fix"):
        return None
    for rule in accepted:
        produced = rule.replacement.strip()
        if rule.kind in ("replace", "case_fix") and produced and produced in candidate.pattern:
            return rule
    return None


def _finish(rule: Rule, evaluation: _Evaluation) -> Rule:
    rule = replace(rule, support=len(evaluation.supporters), sources=list(evaluation.supporters))
    rule.rule_id = rule_id_for(rule)
    return rule


# ---------------------------------------------------------------------------
# optional LLM proposals

RULES_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rules"],
    "properties": {
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["kind", "target", "pattern", "replacement", "condition"],
                "properties": {
                    "kind": {"type": "string", "enum": list(RULE_KINDS)},
                    "target": {"type": "string", "enum": list(RULE_TARGETS)},
                    "pattern": {"type": "string"},
                    "replacement": {"type": "string"},
                    "condition": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["key", "value"],
                            "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
                        },
                    },
                },
            },
        }
    },
}

_LLM_INSTRUCTIONS = (
    "You turn user corrections of an AI function's outputs into general rewrite rules. "
    "Each rule has a kind (" + ", ".join(RULE_KINDS) + "), a target (output or prompt), a pattern, "
    "a replacement and an optional condition on context values. Prefer few general rules; use "
    "regex_replace with \\d+ or [A-Z]\\w* groups for variable parts. Answer with JSON only."
)


class LLMRuleProposer:
    """Asks a chat model (through the `openai` client) for rules under a strict JSON schema."""

    def __init__(self, client: Any, model: str = "gpt-4o-mini-2024-07-18", *, max_pairs: int = 50) -> None:
        self.client = client
        self.model = model
        self.max_pairs = max_pairs

    def propose(self, pairs: Sequence[FeedbackPair]) -> list[Rule]:
        examples = [
            {"context": p.context, "bad_output": p.bad_output, "fixed_output": p.fixed_output}
            for p in pairs[: self.max_pairs]
        ]
        response = self.client.chat.completions.create(
            model=self.model,
            messages=[
                {"role": "system", "content": _LLM_INSTRUCTIONS},
                {"role": "user", "content": json.dumps(examples, ensure_ascii=False)},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "rules", "strict": True, "schema": RULES_JSON_SCHEMA},
            },
            temperature=0,
        )
        content = response.choices[0].message.content
        document = json.loads(content or "")
        rules = []
        for item in document["rules"]:
            if item["kind"] not in RULE_KINDS or item["target"] not in RULE_TARGETS:
                raise ValueError(f"unknown kind or target in {item!r}")
            condition = {str(c["key"]): str(c["value"]) for c in item.get("condition") or []}
            rule = Rule(
                kind=item["kind"],
                target=item["target"],
                pattern=str(item["pattern"]),
                replacement=str(item["replacement"]),
                condition=condition,
                origin="llm",
            )
            rule.rule_id = rule_id_for(rule)
            rules.append(rule)
        return rules


def _accept_llm_rules(
    llm: LLMRuleProposer,
    pairs: Sequence[FeedbackPair],
    active: Sequence[int],
    notes: list[str],
    rejected: list[RejectedRule],
) -> list[Rule]:
    from vectortrainer.hooks.validation import check_regex_safety

    try:
        proposals = llm.propose([pairs[i] for i in active])
    except Exception as exc:  # any failure of the model or its answer: fall back to heuristics
        notes.append(f"LLM synthesis failed ({type(exc).__name__}: {str(exc)[:160]}); used heuristics only")
        return []
    accepted: list[Rule] = []
    residuals = [p.bad_output for p in pairs]
    cache: dict[int, int] = {}
    for proposal in proposals:
        if proposal.kind == "regex_replace":
            try:
                check_regex_safety(proposal.pattern)
            except ValueError as exc:
                rejected.append(RejectedRule(proposal, f"unsafe regex: {exc}"))
                continue
        rule, evaluation, why = _scope(proposal, residuals, pairs, cache)
        if rule is None:
            rejected.append(RejectedRule(proposal, why))
            continue
        accepted.append(_finish(rule, evaluation))
        residuals = _residuals(accepted, pairs)
        cache.clear()
    notes.append(f"LLM proposed {len(proposals)} rule(s); {len(accepted)} passed the replay check")
    return accepted

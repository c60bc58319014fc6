"""Checking a rule against every feedback pair, as the hook would apply it, and scoping it until it is safe.

A rule is accepted only if it never changes a fixed (good) output and never moves a
bad output away from its fix. A rule that fails is narrowed by a context condition
shared by all the pairs that back it; if none makes it safe it is rejected, with why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from vectortrainer.feedback.diffing import edit_distance
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import Rule, rule_id_for, rules_document


@dataclass
class RejectedRule:
    """A candidate that was not accepted, and why."""

    rule: Rule
    reason: str


@dataclass
class Evaluation:
    supporters: list[int]
    violations: list[int]
    gain: int


def evaluate(
    rule: Rule,
    residuals: Sequence[str],
    pairs: Sequence[FeedbackPair],
    cache: dict[int, int],
    exempt: frozenset[int] = frozenset(),
    forbidden: frozenset[int] = frozenset(),
) -> Evaluation:
    """Which pairs the rule helps and which it harms; it may not change ``forbidden`` pairs at all."""
    compiled, skipped = interpreter.load_rules(rules_document([rule]))
    if skipped or not compiled:
        return Evaluation([], list(range(len(pairs))), 0)
    supporters, violations, gain = [], [], 0
    for index, (residual, pair) in enumerate(zip(residuals, pairs)):
        if index in exempt:  # overruled by a conflict decision on this rule's trigger
            continue
        context = dict(pair.context)
        if interpreter.apply_rules(compiled, pair.fixed_output, context, rule.target) != pair.fixed_output:
            violations.append(index)
            continue
        after = interpreter.apply_rules(compiled, residual, context, rule.target)
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
    return Evaluation(supporters, violations, gain)


def scope(
    rule: Rule,
    residuals: Sequence[str],
    pairs: Sequence[FeedbackPair],
    cache: dict[int, int],
    exempt: frozenset[int] = frozenset(),
    forbidden: frozenset[int] = frozenset(),
) -> tuple[Rule | None, Evaluation, str]:
    """The rule with the smallest context condition that makes it safe, or None and why not."""
    evaluation = evaluate(rule, residuals, pairs, cache, exempt, forbidden)
    if not evaluation.supporters:
        return None, evaluation, "helps no pair"
    supporters = evaluation.supporters
    shared = shared_context(pairs, supporters)
    condition = dict(rule.condition)
    while evaluation.violations:
        options = {k: v for k, v in shared.items() if k not in condition}
        if not options:
            return None, evaluation, (
                f"would change {len(evaluation.violations)} good or partly fixed output(s) "
                f"(pairs {first_indices(evaluation.violations)}) and no shared context scopes it"
            )
        key = max(
            sorted(options),
            key=lambda k: sum(1 for i in evaluation.violations if str(pairs[i].context.get(k)) != options[k]),
        )
        condition[key] = options[key]
        rule = replace(rule, condition=dict(condition))
        evaluation = evaluate(rule, residuals, pairs, cache, exempt, forbidden)
    if not evaluation.supporters:
        return None, evaluation, "helps no pair once scoped"
    return rule, evaluation, ""


def shared_context(pairs: Sequence[FeedbackPair], indices: Sequence[int]) -> dict[str, str]:
    first = {str(k): str(v) for k, v in pairs[indices[0]].context.items() if is_scalar(v)}
    return {
        k: v
        for k, v in first.items()
        if all(k in pairs[i].context and str(pairs[i].context[k]) == v for i in indices[1:])
    }


def is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= 200


def first_indices(indices: Sequence[int], n: int = 5) -> str:
    shown = ", ".join(str(i) for i in indices[:n])
    return shown + (", ..." if len(indices) > n else "")


def with_support(rule: Rule, evaluation: Evaluation) -> Rule:
    rule = replace(rule, support=len(evaluation.supporters), sources=list(evaluation.supporters))
    rule.rule_id = rule_id_for(rule)
    return rule

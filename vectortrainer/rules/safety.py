"""Patterns a hook may run: only those that match in linear time (no catastrophic backtracking)."""

from __future__ import annotations

import re._parser as sre_parse  # the parser `re` itself uses (Python >= 3.11)
from re import _constants as c
from collections.abc import Mapping
from typing import Any

_MAX_REPEATS = 16


def check_regex_safety(pattern: str) -> None:
    """Raise ValueError unless ``pattern`` can only match in linear time.

    Allowed: literals, character classes, anchors, groups, alternation outside
    repeats, and a repeat only over a single character-level item, never directly
    after another repeat; no backreferences. This rules out the nested and
    overlapping quantifiers of catastrophic backtracking (``(a+)+``, ``(a|a)*``, ``\\d+\\d+``).
    """
    try:
        parsed = sre_parse.parse(pattern)
    except Exception as exc:  # re.error and friends
        raise ValueError(f"does not compile: {exc}") from None
    single = {c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN, c.CATEGORY}
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)}
    count = 0

    def walk(items: Any) -> None:
        nonlocal count
        previous_was_repeat = False
        for op, arg in items:
            if op in repeats:
                count += 1
                low, high, body = arg
                if previous_was_repeat:
                    raise ValueError("two quantifiers in a row can backtrack polynomially")
                if len(body) != 1 or body[0][0] not in single:
                    raise ValueError("a quantifier may only repeat a single character or class")
                previous_was_repeat = True
                continue
            previous_was_repeat = False
            if op in (c.GROUPREF, getattr(c, "GROUPREF_EXISTS", None)):
                raise ValueError("backreferences are not allowed")
            if op == c.SUBPATTERN:
                walk(arg[-1])
                previous_was_repeat = bool(arg[-1].data) and arg[-1].data[-1][0] in repeats
            elif op in (c.ASSERT, c.ASSERT_NOT):
                walk(arg[1])
            elif op == c.BRANCH:
                for branch in arg[1]:
                    walk(branch)
            elif op == getattr(c, "ATOMIC_GROUP", None):
                walk(arg)

    walk(parsed)
    if count > _MAX_REPEATS:
        raise ValueError(f"more than {_MAX_REPEATS} quantifiers")


def rule_regexes(rule: Mapping[str, Any]) -> list[str]:
    """Every regex a rule (as its JSON dict) makes the hook run: a regex_replace pattern and the text conditions."""
    patterns = [str(rule.get("pattern") or "")] if rule.get("kind") == "regex_replace" else []
    conditions = rule.get("text_condition") or []
    return patterns + [str(p) for p in (conditions if isinstance(conditions, list) else [conditions])]


def check_rule_safety(rule: Mapping[str, Any]) -> None:
    """Raise ValueError (naming the pattern) unless every regex of ``rule`` matches in linear time."""
    for pattern in rule_regexes(rule):
        try:
            check_regex_safety(pattern)
        except ValueError as exc:
            raise ValueError(f"{pattern[:60]!r}: {exc}") from None

"""Patterns a hook may run: only those that match in linear time, searched anywhere in a text.

Catastrophic backtracking is not the only way a regex freezes a hook. ``re.sub`` tries
every start position, so a pattern that begins with ``\\d+`` rescans a digit run from
each of its digits (quadratic: ``\\d+\\ ms\\Z`` took 21.8 s on 64k digits), and two
quantifiers over overlapping classes side by side (``(\\d+)(\\d+)x``) try every split of
a run. :func:`check_regex_safety` accepts a pattern only if every unbounded quantifier
is *guarded*: what stands just before it cannot be a character of its class (a literal
or class disjoint from it, ``\\A``, ``\\b`` before word characters, a negative lookbehind
that covers it, a possessive quantifier), so each run of the class is scanned from one
start only. Then the work per start is bounded by the run and the search is linear.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typeshed types re's parser under its old public names
    import sre_constants as c
    import sre_parse
else:  # the parser `re` itself uses (Python >= 3.11)
    import re._parser as sre_parse
    from re import _constants as c

_MAX_REPEATS = 16
_POSSESSIVE = getattr(c, "POSSESSIVE_REPEAT", None)
_ATOMIC = getattr(c, "ATOMIC_GROUP", None)
_REPEATS = {c.MAX_REPEAT, c.MIN_REPEAT} | ({_POSSESSIVE} if _POSSESSIVE is not None else set())
_SINGLE = {c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN, c.CATEGORY}
# Characters that stand for every class the learner writes (ASCII, Latin-1 letters, other scripts'
# letters and digits, Unicode spaces): two classes overlap when one of them is in both.
_SAMPLES = [chr(i) for i in range(128)] + list(
    "\u00a0\u00b2\u00e9\u00c9\u00df\u0416\u0436\u0663\u0966\u2003"
    "\u2028\u3000\u4e2d\uff10\u00aa\u02b0\u0301\u200b\ufffd"
)
_CATEGORIES = {
    c.CATEGORY_DIGIT: re.compile(r"\d"), c.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    c.CATEGORY_SPACE: re.compile(r"\s"), c.CATEGORY_NOT_SPACE: re.compile(r"\S"),
    c.CATEGORY_WORD: re.compile(r"\w"), c.CATEGORY_NOT_WORD: re.compile(r"\W"),
    c.CATEGORY_LINEBREAK: re.compile(r"\n"), c.CATEGORY_NOT_LINEBREAK: re.compile(r"[^\n]"),
}
_WORD = frozenset(ch for ch in _SAMPLES if _CATEGORIES[c.CATEGORY_WORD].match(ch))


def _chars(op: Any, arg: Any, ignore_case: bool) -> frozenset[str]:
    """The sample characters a single-character item matches."""
    def one(ch: str) -> bool:
        if op == c.LITERAL:
            return ch == chr(arg)
        if op == c.NOT_LITERAL:
            return ch != chr(arg)
        if op == c.ANY:
            return ch != "\n"
        if op == c.CATEGORY:
            return bool(_CATEGORIES[arg].match(ch))
        negate = False
        hit = False
        for sub_op, sub_arg in arg:
            if sub_op == c.NEGATE:
                negate = True
            elif sub_op == c.LITERAL:
                hit = hit or ch == chr(sub_arg)
            elif sub_op == c.RANGE:
                hit = hit or sub_arg[0] <= ord(ch) <= sub_arg[1]
            elif sub_op == c.CATEGORY:
                hit = hit or bool(_CATEGORIES[sub_arg].match(ch))
            else:  # a set item this check does not know: assume it matches everything
                hit = True
        return hit != negate

    found = {ch for ch in _SAMPLES if one(ch)}
    if ignore_case:
        found |= {ch for ch in _SAMPLES if one(ch.lower()) or one(ch.upper())}
    return frozenset(found)


def _is_unbounded(arg: Any) -> bool:
    return bool(arg[1] == c.MAXREPEAT or arg[1] > 64)


def check_regex_safety(pattern: str) -> None:
    """Raise ValueError unless ``pattern`` can only match in linear time when searched anywhere.

    Allowed: literals, character classes, anchors, groups, alternation outside repeats,
    and a repeat only over a single character-level item; no backreferences; and every
    unbounded repeat guarded on its left (see the module docstring). This rules out
    nested quantifiers (``(a+)+``), adjacent quantifiers over overlapping classes
    (``\\d+\\d+``, ``(\\d+)(\\d+)x``, ``(\\w+)(\\w+)!``), and an unanchored pattern that
    starts with a quantifier (``\\d+\\ ms\\Z``; write ``(?<!\\d)\\d+\\ ms\\Z`` or ``\\A...``).
    """
    try:
        parsed = sre_parse.parse(pattern)
    except Exception as exc:  # re.error and friends
        raise ValueError(f"does not compile: {exc}") from None
    ignore_case = bool(parsed.state.flags & re.IGNORECASE)
    count = 0

    def flatten(items: Any, in_lookaround: bool) -> list[tuple[Any, Any]]:
        """The items in match order, groups opened (their content is concatenated), checked on the
        way."""
        nonlocal count
        flat: list[tuple[Any, Any]] = []
        for op, arg in items:
            if op in _REPEATS:
                count += 1
                body = arg[2]
                if len(body) != 1 or body[0][0] not in _SINGLE:
                    raise ValueError("a quantifier may only repeat a single character or class")
                if in_lookaround and _is_unbounded(arg):
                    raise ValueError(
                        "an unbounded quantifier inside a lookaround "
                        "rescans the text at every position"
                    )
                flat.append((op, arg))
            elif op in (c.GROUPREF, getattr(c, "GROUPREF_EXISTS", None)):
                raise ValueError("backreferences are not allowed")
            elif op == c.SUBPATTERN:
                flat.extend(flatten(arg[-1], in_lookaround))
            elif op in (c.ASSERT, c.ASSERT_NOT):
                flatten(arg[1], True)
                flat.append((op, arg))
            elif op == c.BRANCH:
                for branch in arg[1]:
                    check_sequence(flatten(branch, in_lookaround))
                flat.append((op, arg))
            elif op == _ATOMIC:
                check_sequence(flatten(arg, in_lookaround))
                flat.append((op, arg))
            else:
                flat.append((op, arg))
        return flat

    def check_sequence(flat: list[tuple[Any, Any]]) -> None:
        for position, (op, arg) in enumerate(flat):
            if op in _REPEATS and _is_unbounded(arg):
                body_op, body_arg = arg[2][0]
                _check_guarded(flat, position, _chars(body_op, body_arg, ignore_case), ignore_case)

    check_sequence(flatten(parsed, False))
    if count > _MAX_REPEATS:
        raise ValueError(f"more than {_MAX_REPEATS} quantifiers")


def _check_guarded(
    flat: list[tuple[Any, Any]], position: int, chars: frozenset[str], ignore_case: bool
) -> None:
    """Raise ValueError unless what precedes the repeat at ``position`` cannot be a character of
    ``chars``."""
    walked: list[tuple[Any, Any]] = []  # single items just before the repeat that overlap its class
    index = position - 1
    while index >= 0:
        op, arg = flat[index]
        index -= 1
        if op == c.AT:
            if arg == c.AT_BEGINNING_STRING or (
                arg == c.AT_BOUNDARY and not walked and chars <= _WORD
            ):
                return
            continue  # other anchors are zero-width: look further left
        if op in (c.ASSERT, c.ASSERT_NOT):
            direction, body = arg
            if direction == 1:
                continue  # a lookahead constrains what follows, not what precedes
            if op == c.ASSERT:
                flat = flat[: index + 1] + list(body)
                index = len(flat) - 1
                continue
            # (?<!X...) where "..." are the items just left
            # of it: the character before them is not X.
            tail = list(body[1:])
            left = flat[index + 1 - len(tail) : index + 1] if tail else []
            if (body and body[0][0] in _SINGLE and left == tail
                    and chars <= _chars(body[0][0], body[0][1], ignore_case)):
                return
            continue
        if op in _SINGLE:
            if not (_chars(op, arg, ignore_case) & chars):
                return
            walked.append((op, arg))
            continue
        if op in _REPEATS:
            body_op, body_arg = arg[2][0]
            overlap = _chars(body_op, body_arg, ignore_case) & chars
            if not overlap:
                return
            if op == _POSSESSIVE and _is_unbounded(arg):
                return  # it took every character of the run: nothing is left to split
            if _is_unbounded(arg):
                raise ValueError(
                    "two quantifiers over overlapping classes side by side backtrack polynomially"
                )
            walked.append((None, None))  # a bounded repeat: no lookbehind spells it out
            continue
        if op == c.BRANCH:
            ends = [branch.data[-1] if branch.data else None for branch in arg[1]]
            if all(
                end is not None
                and end[0] in _SINGLE
                and not (_chars(end[0], end[1], ignore_case) & chars)
                for end in ends
            ):
                return
            raise ValueError(
                "a quantifier right after an alternation needs a boundary between them"
            )
        walked.append((None, None))  # an atomic group or anything else: no guard
    raise ValueError(
        "an unanchored pattern that starts with a quantifier rescans runs from every position; "
        "add a left boundary (a lookbehind such as (?<!\\w), or \\A)"
    )


def rule_regexes(rule: Mapping[str, object]) -> list[str]:
    """Every regex a rule (as its JSON dict) makes the hook run: a regex_replace pattern and the
    text conditions."""
    patterns = [str(rule.get("pattern") or "")] if rule.get("kind") == "regex_replace" else []
    conditions = rule.get("text_condition") or []
    return patterns + [
        str(p) for p in (conditions if isinstance(conditions, list) else [conditions])
    ]


def check_rule_safety(rule: Mapping[str, object]) -> None:
    """Raise ValueError (naming the pattern) unless every regex of ``rule`` matches in linear
    time."""
    for pattern in rule_regexes(rule):
        try:
            check_regex_safety(pattern)
        except ValueError as exc:
            raise ValueError(f"{pattern[:60]!r}: {exc}") from None

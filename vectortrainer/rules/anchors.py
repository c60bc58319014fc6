"""Anchors and local context (VT-12): the text every match of a rule shares around it, and narrowing
to it.

A rule learned from "ticket #4821" -> "ticket VT-4821" first reads as ``#`` -> ``VT-``,
which would also rewrite "issue #12" and "C#". Every match in the pairs that back it,
though, has "ticket " just before it: that shared neighbourhood is the rule's local
context. :func:`shared_context` finds it (up to one word on each side, or the start
or end of the text); :func:`narrowed` returns the rule restricted to it, as a
``regex_replace`` whose lookarounds test the context without consuming it, so the
replacement stays as it was. Context is literal text, escaped, and fixed width,
so the narrowed pattern stays linear-time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from vectortrainer.feedback.diffing import tokenize
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import Rule, rule_id_for, rules_document

_MAX_CONTEXT_TOKENS = 4
_LOOKAROUND_CHARS = 80  # how far around a match the context is read (one word and its punctuation)
_PATTERN_KINDS = ("replace", "remove", "case_fix", "regex_replace")


@dataclass(frozen=True)
class LocalContext:
    """What every match shares: literal text just before / after it, or the start / end of the
    text."""

    left: str = ""
    right: str = ""
    at_start: bool = False
    at_end: bool = False

    @property
    def empty(self) -> bool:
        return not (self.left or self.right or self.at_start or self.at_end)

    def parts(self) -> list["LocalContext"]:
        """The narrowings this context allows, least narrow first (each side alone, then all of
        it)."""
        sides = [LocalContext(at_start=True)] if self.at_start else []
        sides += [LocalContext(at_end=True)] if self.at_end else []
        sides += [LocalContext(left=self.left)] if self.left else []
        sides += [LocalContext(right=self.right)] if self.right else []
        return sides + ([self] if len(sides) > 1 else [])

    def describe(self) -> str:
        words = []
        if self.at_start:
            words.append("at the start of the text")
        if self.left:
            words.append(f"after {self.left!r}")
        if self.right:
            words.append(f"before {self.right!r}")
        if self.at_end:
            words.append("at the end of the text")
        return " and ".join(words)


def matcher_for(rule: Rule) -> re.Pattern[str] | None:
    """The regex the hook runs for ``rule`` (None for kinds without one, or a rule that does not
    compile)."""
    if rule.kind not in _PATTERN_KINDS:
        return None
    plan, _ = interpreter.load_rules(rules_document([replace(rule, text_condition=[])]))
    matcher = plan["rules"][0]["matcher"] if plan["rules"] else None
    return matcher if isinstance(matcher, re.Pattern) else None


def shared_context(rule: Rule, texts: Sequence[str]) -> LocalContext | None:
    """The context every match of ``rule`` in ``texts`` shares; None when nothing matches."""
    matcher = matcher_for(rule)
    if matcher is None:
        return None
    lefts: list[str] = []
    rights: list[str] = []
    for text in texts:
        for match in matcher.finditer(text):
            if match.end() == match.start():
                continue
            lefts.append(text[max(0, match.start() - _LOOKAROUND_CHARS) : match.start()])
            rights.append(text[match.end() : match.end() + _LOOKAROUND_CHARS])
    if not lefts:
        return None
    left = _common(lefts, from_end=True)
    right = _common(rights, from_end=False)
    return LocalContext(
        left=left,
        right=right,
        at_start=all(not s for s in lefts),
        at_end=all(not s for s in rights),
    )


def _common(sides: Sequence[str], *, from_end: bool) -> str:
    """The tokens all ``sides`` share next to the match, up to and including one word (blank runs
    only: nothing)."""
    token_lists = [tokenize(side) for side in sides]
    if from_end:
        token_lists = [tokens[::-1] for tokens in token_lists]
    shared: list[str] = []
    for position in range(_MAX_CONTEXT_TOKENS):
        if any(len(tokens) <= position for tokens in token_lists):
            break
        token = token_lists[0][position]
        if any(tokens[position] != token for tokens in token_lists):
            break
        shared.append(token)
        if token[0].isalnum() or token[0] == "_":
            break
    if from_end:
        shared.reverse()
    text = "".join(shared)
    return text if text.strip() else ""


def narrowed(rule: Rule, context: LocalContext) -> Rule | None:
    """``rule`` applied only where ``context`` holds, as a regex_replace; None if it cannot be
    written so."""
    if rule.kind not in _PATTERN_KINDS or context.empty:
        return None
    matcher = matcher_for(rule)
    if matcher is None:
        return None
    if rule.kind == "regex_replace":
        start = _lookbehind(context.left) + f"(?:{matcher.pattern})"
    else:
        # The literal goes first and what lies left of it is
        # tested behind it, so `re` can jump to the literal.
        literal = re.escape(rule.pattern)
        if context.left:
            behind = _lookbehind(context.left + rule.pattern)
        else:
            behind = f"(?<!\\w{literal})" if re.match(r"\w", rule.pattern[0]) else ""
        edge = r"(?!\w)" if re.match(r"\w", rule.pattern[-1]) and not context.right else ""
        start = literal + behind + edge
        if rule.kind == "case_fix":
            start = f"(?i:{start})"
    if rule.kind == "regex_replace":
        template = rule.replacement
    elif rule.kind == "remove":
        template = ""
    else:  # a literal replacement becomes a template: its backslashes are escaped
        template = rule.replacement.replace("\\", "\\\\")
    pattern = (
        (r"\A" if context.at_start else "")
        + start
        + _lookahead(context.right)
        + (r"\Z" if context.at_end else "")
    )
    try:
        re.compile(pattern)
    except re.error:
        return None
    result = replace(rule, kind="regex_replace", pattern=pattern, replacement=template)
    result.rule_id = rule_id_for(result)
    return result


def _lookbehind(text: str) -> str:
    if not text:
        return ""
    edge = r"(?<!\w)" if re.match(r"\w", text[0]) else ""
    return f"(?<={edge}{re.escape(text)})"


def _lookahead(text: str) -> str:
    if not text:
        return ""
    edge = r"(?!\w)" if re.match(r"\w", text[-1]) else ""
    return f"(?={re.escape(text)}{edge})"

"""Candidate rules from the edits in feedback pairs, and their generalisation over variable parts.

Each pair's bad output is diffed against its fix in word tokens
(:func:`vectortrainer.feedback.diffing.edit_hunks`); every edit becomes a candidate of
a kind that fits where it sits (prefix strip, append, case fix, whole-word
replacement, ...). Candidates that differ only in numbers or in names kept on both
sides become one regex rule whose variable parts are captured; literal parts are
always ``re.escape``d, so patterns stay linear-time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from vectortrainer.feedback.diffing import Hunk, edit_distance, edit_hunks
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules.model import Rule, rule_id_for

_NUMBER = re.compile(r"\d+\Z")
_NAME = re.compile(r"[A-Z][a-z]+\Z")
_NUMBER_CLASS = r"\d+"
_NAME_CLASS = r"[A-Z]\w*"


@dataclass(frozen=True)
class Candidate:
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


def hunk_candidates(hunk: Hunk, *, context_words: int = 0) -> list[tuple[Candidate, Candidate | None]]:
    """(literal candidate, generalised candidate or None) for one edit."""
    bad, fixed = hunk.bad_tokens, hunk.fixed_tokens
    deleted = list(bad[hunk.start : hunk.end])
    inserted = list(fixed[hunk.fixed_start : hunk.fixed_end])
    d_text, i_text = "".join(deleted), "".join(inserted)
    if not (d_text + i_text).strip():
        return [(Candidate("normalize_whitespace", "", ""), None)]
    deleted, inserted = _trim_blank_edges(deleted, inserted)
    d_text, i_text = "".join(deleted), "".join(inserted)
    if hunk.at_start and d_text and not i_text and not context_words:
        return [(Candidate("strip_prefix", d_text, ""), generalise("strip_prefix", deleted, []))]
    if hunk.at_end and d_text and not i_text and not context_words:
        return [(Candidate("strip_suffix", d_text, ""), generalise("strip_suffix", deleted, []))]
    if not d_text and hunk.start == len(bad):
        return [(Candidate("append", "", i_text), None)]
    if not d_text and hunk.start == 0:
        return [(Candidate("prepend", "", i_text), None)]
    if d_text and i_text and d_text.lower() == i_text.lower() and not context_words:
        return [(Candidate("case_fix", d_text, i_text), None)]
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
    literal = Candidate(kind, pattern, "".join(replacement_tokens))
    return [(literal, generalise("replace", pattern_tokens, replacement_tokens))]


def generalise(kind: str, pattern_tokens: list[str], replacement_tokens: list[str]) -> Candidate | None:
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
    return Candidate("regex_replace", regex, template)


@dataclass
class CandidateGroup:
    candidate: Candidate
    sources: list[int] = field(default_factory=list)
    literals: set[Candidate] = field(default_factory=set)
    gain: int = 0  # estimated characters repaired over all sources

    @property
    def support(self) -> int:
        return len(set(self.sources))


def collect_candidates(residuals: Sequence[str], pairs: Sequence[FeedbackPair], active: Sequence[int], context_words: int = 0
) -> tuple[dict[Candidate, CandidateGroup], dict[Candidate, CandidateGroup]]:
    literal: dict[Candidate, CandidateGroup] = {}
    general: dict[Candidate, CandidateGroup] = {}
    for index in active:
        if residuals[index] == pairs[index].fixed_output:
            continue
        for whole in edit_hunks(residuals[index], pairs[index].fixed_output):
            for hunk in whole.sub_hunks():
                gain = edit_distance(hunk.deleted, hunk.inserted)
                for lit, gen in hunk_candidates(hunk, context_words=context_words):
                    group = literal.setdefault(lit, CandidateGroup(lit))
                    if index not in group.sources:
                        group.sources.append(index)
                        group.gain += gain
                    if gen is not None:
                        group = general.setdefault(gen, CandidateGroup(gen))
                        if index not in group.sources:
                            group.sources.append(index)
                            group.gain += gain
                        group.literals.add(lit)
    return literal, general

"""Candidate rules from the edits in feedback pairs, and their generalisation over variable parts.

Each pair's bad output is diffed against its fix in word tokens
(:func:`vectortrainer.feedback.diffing.edit_hunks`); every edit becomes a candidate of
a kind that fits where it sits (prefix strip, append, case fix, whole-word
replacement, ...). Candidates that differ only in numbers or in names kept on both
sides become one regex rule whose variable parts are captured; literal parts are
always ``re.escape``d, so patterns stay linear-time. A removal that re-cases the next
letter ("As an AI language model, hello" -> "Hello") becomes a regex rule that captures
that letter and upper-cases it (a case transform, as data), so it holds for any name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from vectortrainer.feedback.diffing import Hunk, edit_distance, edit_hunks
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import Evidence, Rule, rule_id_for

_NUMBER = re.compile(r"\d+\Z")
_NAME = re.compile(r"[A-Z][a-z]+\Z")
_NUMBER_CLASS = r"\d+"
_NAME_CLASS = r"[A-Z]\w*"


_SPELLING_WORD = re.compile(r"[^\W\d_]{3,}\Z")
_SPELLING_EDITS = 2
_SPELLING_SIMILARITY = 0.6


_ESCAPED: dict[str, str] = {}


def _escape(token: str) -> str:
    """``re.escape`` of a token, remembered (the same tokens recur in every pair)."""
    escaped = _ESCAPED.get(token)
    if escaped is None:
        escaped = re.escape(token)
        if len(_ESCAPED) < 200_000:
            _ESCAPED[token] = escaped
    return escaped


@dataclass(frozen=True)
class Candidate:
    kind: str
    pattern: str
    replacement: str
    group_case: tuple[tuple[int, str], ...] = ()

    def as_rule(self, *, support: int = 1, sources: list[int] | None = None) -> Rule:
        """The rule this candidate proposes, backed by ``support`` pairs (``sources``)."""
        rule = Rule(kind=self.kind, pattern=self.pattern, replacement=self.replacement,
                    group_case=dict(self.group_case), evidence=Evidence(why=self.origin),
                    support=support, sources=list(sources or []))
        rule.rule_id = rule_id_for(rule)
        return rule

    @property
    def origin(self) -> str:
        """What the candidate generalises over, as its explanation starts."""
        if self.group_case:
            return "removes a phrase and re-cases the letter after it, whatever word follows"
        if self.kind == "regex_replace" and "\\d{" in self.pattern:
            return "generalised over numbers of the widths seen and names kept on both sides"
        if self.kind == "regex_replace":
            return "generalised over the numbers and names that vary"
        if self.kind in ("append", "prepend"):
            return (
                f"the same text {'appended' if self.kind == 'append' else 'prepended'} "
                "in every pair that backs it"
            )
        return "the same edit in every pair that backs it"

    @property
    def is_spelling_fix(self) -> bool:
        return is_spelling_fix(self.kind, self.pattern, self.replacement)


def is_spelling_fix(kind: str, pattern: str, replacement: str) -> bool:
    """One misspelt word for another ("recieve" -> "receive"): a fix that holds wherever the word
    appears."""
    if kind != "replace" or not (
        _SPELLING_WORD.match(pattern) and _SPELLING_WORD.match(replacement)
    ):
        return False
    # OSA distance: a swapped pair of letters ("teh" -> "the") is one edit, as people count typos.
    similarity = OSA.normalized_similarity(pattern.lower(), replacement.lower())
    return (
        OSA.distance(pattern, replacement) <= _SPELLING_EDITS and similarity >= _SPELLING_SIMILARITY
    )


def _is_word(token: str) -> bool:
    return bool(token) and (token[0].isalnum() or token[0] == "_")


def _context(tokens: Sequence[str], start: int, step: int, words: int) -> list[str]:
    """Tokens next to ``start`` going ``step`` (-1 left, +1 right) until ``words`` words are
    included."""
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


def hunk_candidates(
    hunk: Hunk, *, context_words: int = 0, literal_only: bool = False
) -> list[tuple[Candidate, Candidate | None]]:
    """(literal candidate, generalised candidate or None) for one edit; with ``literal_only``
    no generalisation is tried (a correction seen once has nothing to generalise over)."""
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
        return [(Candidate("case_fix", d_text, i_text), recased_start(hunk, d_text, i_text))]
    recased = recased_removal(hunk, d_text, i_text) if not context_words else None
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
    if literal_only:
        return [(literal, None)]
    general = generalise("replace", pattern_tokens, replacement_tokens)
    exact = generalise("replace", pattern_tokens, replacement_tokens, exact_widths=True)
    found = [(literal, general)] + (
        [(literal, exact)] if exact is not None and exact != general else []
    )
    return found + ([(literal, recased)] if recased is not None else [])


def specificity(candidate: Candidate) -> int:
    """How many of a regex candidate's numbers have a fixed width (between equal candidates, the
    narrower wins)."""
    return candidate.pattern.count("\\d{")


def recased_removal(hunk: Hunk, deleted: str, inserted: str) -> Candidate | None:
    """``^As an AI language model, (\\w)`` -> upper-case of group 1, for "As an AI language model,
    hello" -> "Hello".

    The edit removes a phrase and changes the letter case of the word after it; the
    regex captures that first letter only, so names and words after it may vary.
    """
    if not inserted or len(deleted) <= len(inserted):
        return None
    tail, prefix = deleted[-len(inserted):], deleted[: -len(inserted)]
    if (
        tail == inserted
        or tail[1:] != inserted[1:]
        or tail[0].lower() != inserted[0].lower()
        or not prefix.strip()
    ):
        return None
    transform = "upper" if inserted[0].isupper() else "lower"
    start = (
        r"\A" + re.escape(prefix)
        if hunk.at_start
        else interpreter.literal_pattern(prefix.rstrip())
        + re.escape(prefix[len(prefix.rstrip()) :])
    )
    return Candidate("regex_replace", start + r"(\w)", r"\g<1>", ((1, transform),))


def recased_start(hunk: Hunk, deleted: str, inserted: str) -> Candidate | None:
    """``^(\\w)`` -> upper-case of group 1, when a fix only capitalises the text's first letter."""
    if (
        not hunk.at_start
        or deleted[1:] != inserted[1:]
        or not (deleted[0].islower() and inserted[0].isupper())
    ):
        return None
    return Candidate("regex_replace", r"\A(\w)", r"\g<1>", ((1, "upper"),))


_SHAPES: dict[tuple[object, ...], Candidate | None] = {}


def _shape(
    kind: str, pattern_tokens: Sequence[str], replacement_tokens: Sequence[str], exact_widths: bool
) -> tuple[object, ...] | None:
    """What :func:`generalise` reads of its tokens: numbers (by width) and names kept on both sides
    become placeholders numbered by first use; None when a value recurs on the right more often than
    on the left (then a copy is written literally, and the value matters)."""
    placeholders: dict[str, tuple[str | int, ...]] = {}
    replacement = list(replacement_tokens)

    def canonical(token: str) -> str | tuple[str | int, ...]:
        known = placeholders.get(token)
        if known is not None:
            return known
        in_pattern = token in pattern_tokens
        number = bool(_NUMBER.match(token))
        if not in_pattern or not (number or (_NAME.match(token) and token in replacement)):
            return token
        if replacement.count(token) > list(pattern_tokens).count(token):
            raise LookupError
        placeholders[token] = (
            ("#", len(token), len(placeholders)) if number else ("N", len(placeholders))
        )
        return placeholders[token]

    try:
        left = tuple(canonical(t) for t in pattern_tokens)
        right = tuple(canonical(t) for t in replacement_tokens)
    except LookupError:
        return None
    return (kind, exact_widths, left, right)


def generalise(kind: str, pattern_tokens: Sequence[str], replacement_tokens: Sequence[str], *,
               exact_widths: bool = False) -> Candidate | None:
    """:func:`generalise_tokens`, remembered by the shape of the edit (the same sentence with other
    numbers and names generalises the same way)."""
    key = _shape(kind, pattern_tokens, replacement_tokens, exact_widths)
    if key is None:
        return generalise_tokens(
            kind, pattern_tokens, replacement_tokens, exact_widths=exact_widths
        )
    if key in _SHAPES:
        return _SHAPES[key]
    found = generalise_tokens(kind, pattern_tokens, replacement_tokens, exact_widths=exact_widths)
    if len(_SHAPES) < 100_000:
        _SHAPES[key] = found
    return found


def generalise_tokens(
    kind: str,
    pattern_tokens: Sequence[str],
    replacement_tokens: Sequence[str],
    *,
    exact_widths: bool = False,
) -> Candidate | None:
    """Numbers (anywhere) and names (kept on both sides) become captured classes; None if nothing
    varies.

    With ``exact_widths`` a number matches only as many digits as it has here
    (``\\d{2}/\\d{2}/\\d{4}`` for a date, which leaves "2025/03/14" in a URL alone); pairs whose
    numbers agree in width then back one candidate.
    """
    if not any(
        _NUMBER.match(t) or (_NAME.match(t) and t in replacement_tokens) for t in pattern_tokens
    ):
        return None  # nothing varies (the common case: decided before any regex is written)
    parts: list[str] = []
    remaining = list(replacement_tokens)
    template_slots: dict[int, int] = {}
    groups = 0
    for token in pattern_tokens:
        in_replacement = token in remaining
        if _NUMBER.match(token) or (_NAME.match(token) and in_replacement):
            number_class = f"\\d{{{len(token)}}}" if exact_widths else _NUMBER_CLASS
            if in_replacement:
                groups += 1
                slot = remaining.index(token)
                template_slots[slot] = groups
                remaining[slot] = "\x00"  # each replacement token is claimed once
                parts.append(f"({number_class if _NUMBER.match(token) else _NAME_CLASS})")
            else:
                parts.append(number_class)
        else:
            parts.append(_escape(token))
    if not groups and not any(_NUMBER.match(t) for t in pattern_tokens):
        return None
    body = "".join(parts)
    if kind == "strip_prefix":
        regex = r"\A" + body
    elif kind == "strip_suffix":
        # A leading number or name is guarded on its left,
        # or `re` rescans a digit run from each digit.
        guard = (
            r"(?<!\w)"
            if _is_word(pattern_tokens[0]) and parts[0] != _escape(pattern_tokens[0])
            else ""
        )
        regex = guard + body + r"\Z"
    else:
        first, last = pattern_tokens[0], pattern_tokens[-1]
        right = r"(?!\w)" if _is_word(last) else ""
        if _is_word(first) and parts[0] == _escape(first):
            # The left edge tested after the leading literal, so
            # `re` can jump to it (as the hook's literals do).
            regex = parts[0] + f"(?<!\\w{parts[0]})" + "".join(parts[1:]) + right
        else:
            regex = (r"(?<!\w)" if _is_word(first) else "") + body + right
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


def made_by(literal: Candidate, fixed: str) -> bool:
    """Whether the pair whose fix is ``fixed`` made the edit ``literal``: its replacement, the
    words of context included, is in the fix. Where the context word is itself rewritten (a
    sentence rewritten whole), a part of the diff with the old context around it is no edit anyone
    made: "We have asked the courier" -> "The courier confirmed" gave "We have asked" -> "We
    courier asked"."""
    return literal.replacement in fixed


def collect_candidates(
    residuals: Sequence[str],
    pairs: Sequence[FeedbackPair],
    active: Sequence[int],
    context_words: int = 0,
    literal_only: bool = False,
) -> tuple[dict[Candidate, CandidateGroup], dict[Candidate, CandidateGroup]]:
    literal: dict[Candidate, CandidateGroup] = {}
    general: dict[Candidate, CandidateGroup] = {}
    for index in active:
        if residuals[index] == pairs[index].fixed_output:
            continue
        for whole in edit_hunks(residuals[index], pairs[index].fixed_output):
            for hunk in whole.sub_hunks():
                gain = edit_distance(hunk.deleted, hunk.inserted)
                for lit, gen in hunk_candidates(hunk, context_words=context_words,
                                                literal_only=literal_only):
                    if not made_by(lit, pairs[index].fixed_output):
                        continue
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


def _pair_contributions(
    residual: str, fixed: str, context_words: int = 0
) -> tuple[dict[Candidate, int], dict[Candidate, int], dict[Candidate, set[Candidate]]]:
    """What one pair adds to the candidate groups: literal -> gain, general -> gain, general -> its
    literals.

    The gain a pair adds to a candidate is that of its first edit that proposes it, as in
    :func:`collect_candidates`.
    """
    literal: dict[Candidate, int] = {}
    general: dict[Candidate, int] = {}
    literals_of: dict[Candidate, set[Candidate]] = {}
    if residual == fixed:
        return literal, general, literals_of
    for whole in edit_hunks(residual, fixed):
        for hunk in whole.sub_hunks():
            gain = edit_distance(hunk.deleted, hunk.inserted)
            for lit, gen in hunk_candidates(hunk, context_words=context_words):
                if not made_by(lit, fixed):
                    continue
                literal.setdefault(lit, gain)
                if gen is not None:
                    general.setdefault(gen, gain)
                    literals_of.setdefault(gen, set()).add(lit)
    return literal, general, literals_of


class _Tally:
    __slots__ = ("gain", "literals", "sources")

    def __init__(self) -> None:
        self.sources: dict[int, int] = {}
        self.gain = 0
        # literal -> how many pairs proposed it with this candidate
        self.literals: dict[Candidate, int] = {}


# What one pair contributes to the pool: (literal, gain) and (general, gain, its literals).
_Contributions = tuple[
    tuple[tuple[Candidate, int], ...],
    tuple[tuple[Candidate, int, tuple[Candidate, ...]], ...],
]


class CandidatePool:
    """:func:`collect_candidates` over many pairs, kept up to date as the residuals change.

    Each pair is diffed once, and again only when an accepted rule changed its residual;
    the groups' sources, gains and literals are updated by the difference. The groups
    :meth:`groups` returns are those :func:`collect_candidates` would find with enough
    backing to be ranked (two pairs, or two literals for a generalised one).
    """

    def __init__(self, pairs: Sequence[FeedbackPair], active: Sequence[int]) -> None:
        self.pairs = pairs
        self.active = list(active)
        # pair -> (the residual diffed, what it contributed)
        self._seen: dict[int, tuple[str, _Contributions]] = {}
        self._literal: dict[Candidate, _Tally] = {}
        self._general: dict[Candidate, _Tally] = {}
        self._qualified_literal: set[Candidate] = set()  # backed by two pairs or more
        self._qualified_general: set[Candidate] = set()  # proposed with two literals or more

    def update(
        self,
        residuals: Sequence[str],
        progress: Callable[[int, int], None] | None = None,
        only: Sequence[int] | None = None,
    ) -> None:
        """Diff the pairs whose residual changed since the last update (all of them the first time;
        with ``only``, just those of them, when the caller knows which changed)."""
        looked_at = self.active if only is None else [i for i in only if i in self._seen]
        step = max(1, len(looked_at) // 100)
        for done, index in enumerate(looked_at, start=1):
            if progress is not None and (done % step == 0 or done == len(looked_at)):
                progress(done, len(looked_at))
            residual = residuals[index]
            old = self._seen.get(index)
            if old is not None and old[0] == residual:
                continue
            if old is not None:
                self._change(index, old[1], -1)
            literal, general, literals_of = _pair_contributions(
                residual, self.pairs[index].fixed_output
            )
            # tuples: a third of the memory of the dicts, for 100k pairs
            found = (tuple(literal.items()),
                     tuple((gen, gain, tuple(literals_of[gen])) for gen, gain in general.items()))
            self._seen[index] = (residual, found)
            self._change(index, found, +1)

    def drop(self, indices: Sequence[int]) -> None:
        """Take pairs out of the pool for good (they rewrite the meaning: they back no rule)."""
        gone = set(indices)
        for index in gone & self._seen.keys():
            self._change(index, self._seen.pop(index)[1], -1)
        self.active = [i for i in self.active if i not in gone]

    def _change(
        self,
        index: int,
        found: _Contributions,
        sign: int,
    ) -> None:
        literal, general = found
        for candidate, gain in literal:
            tally = self._tally(self._literal, candidate, index, gain, sign)
            self._qualify(
                self._literal, self._qualified_literal, candidate, tally, len(tally.sources)
            )
        for candidate, gain, literals in general:
            tally = self._tally(self._general, candidate, index, gain, sign)
            for lit in literals:
                count = tally.literals.get(lit, 0) + sign
                if count:
                    tally.literals[lit] = count
                else:
                    tally.literals.pop(lit, None)
            self._qualify(
                self._general, self._qualified_general, candidate, tally, len(tally.literals)
            )

    @staticmethod
    def _tally(
        table: dict[Candidate, _Tally], candidate: Candidate, index: int, gain: int, sign: int
    ) -> _Tally:
        tally = table.get(candidate)
        if tally is None:
            tally = table[candidate] = _Tally()
        if sign > 0:
            tally.sources[index] = gain
            tally.gain += gain
        else:
            tally.gain -= tally.sources.pop(index)
        return tally

    @staticmethod
    def _qualify(
        table: dict[Candidate, _Tally],
        qualified: set[Candidate],
        candidate: Candidate,
        tally: _Tally,
        backing: int,
    ) -> None:
        if backing >= 2:
            qualified.add(candidate)
        else:
            qualified.discard(candidate)
        if not tally.sources:
            del table[candidate]

    def literal_groups(self) -> dict[Candidate, CandidateGroup]:
        """Every literal candidate, as :func:`collect_candidates` returns them (for finding
        conflicts)."""
        return {
            c: CandidateGroup(c, sorted(t.sources), set(), t.gain) for c, t in self._literal.items()
        }

    def groups(self) -> list[CandidateGroup]:
        """The generalised candidates with two literals or more, then the literal ones backed by two
        pairs or more (in no particular order: the caller ranks them; ``sources`` unsorted)."""
        ranked = [CandidateGroup(c, list(self._general[c].sources), set(self._general[c].literals),
                                 self._general[c].gain) for c in self._qualified_general]
        ranked += [CandidateGroup(c, list(self._literal[c].sources), set(), self._literal[c].gain)
                   for c in self._qualified_literal]
        return ranked

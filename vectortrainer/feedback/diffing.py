"""String difference between a bad output and its fix (FR-2.2).

Edit distance and diff segments come from rapidfuzz (Levenshtein opcodes over
characters or word tokens). The semantic difference (MiniLM) is
:mod:`vectortrainer.feedback.semantic`'s.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

from rapidfuzz.distance import Levenshtein, Postfix, Prefix

if TYPE_CHECKING:
    pass

# Word runs, whitespace runs, and single punctuation marks: small enough that a
# fix like "order 4411" -> "order #4411" shows up as one inserted "#".
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_SENTENCE_END = frozenset({".", "!", "?", "\n"})


# A pair is diffed on at most this many characters (bad and fixed together): the token diff's
# time and memory grow with the product of the two lengths (a 5 MB pair took 62 s and 1.38 GB).
MAX_DIFF_CHARS = 50_000
_TRIM_CONTEXT = 200  # characters kept around the changed middle of a trimmed pair


@dataclass(frozen=True)
class BoundedPair:
    """The part of a pair rule learning diffs: all of it, its changed middle (``trimmed``), or
    nothing (``skipped``)."""

    bad: str
    fixed: str
    status: Literal["whole", "trimmed", "skipped"] = "whole"
    reason: str = ""


def bounded_pair(bad: str, fixed: str, limit: int = MAX_DIFF_CHARS) -> BoundedPair:
    """A pair cut to fit ``limit`` characters: the text both sides share at the start and the end
    is dropped but for ``_TRIM_CONTEXT`` characters (cut after a space, so words stay whole; a
    side within that of the text's edge keeps the edge). If the changed middle is still over
    the limit the pair is skipped. The cost is linear (shared prefix and suffix in C)."""
    if len(bad) + len(fixed) <= limit:
        return BoundedPair(bad, fixed)
    prefix = int(Prefix.similarity(bad, fixed))
    suffix = int(Postfix.similarity(bad, fixed))
    suffix = min(suffix, min(len(bad), len(fixed)) - prefix)
    start = 0
    if prefix > _TRIM_CONTEXT:
        cut = bad.rfind(" ", 0, prefix - _TRIM_CONTEXT)
        start = cut + 1 if cut >= 0 else 0
    keep_end = 0  # characters dropped from the end of both texts
    if suffix > _TRIM_CONTEXT:
        tail = len(bad) - suffix + _TRIM_CONTEXT
        cut = bad.find(" ", tail)
        keep_end = len(bad) - (cut + 1) if cut >= 0 else 0
    core_bad, core_fixed = bad[start : len(bad) - keep_end], fixed[start : len(fixed) - keep_end]
    size = f"{len(bad) + len(fixed):,} characters"
    if len(core_bad) + len(core_fixed) > limit:
        return BoundedPair(
            "",
            "",
            "skipped",
            f"{size}, and its edits span {len(core_bad) + len(core_fixed):,}: "
            f"over the {limit:,} a pair is diffed on",
        )
    return BoundedPair(
        core_bad,
        core_fixed,
        "trimmed",
        f"{size}: learned from the {len(core_bad) + len(core_fixed):,} around its edits",
    )


def tokenize(text: str) -> list[str]:
    """Split ``text`` into word, whitespace and punctuation tokens that join back to ``text``."""
    return _TOKEN.findall(text)


def edit_distance(a: str, b: str) -> int:
    """Character-level Levenshtein distance."""
    return int(Levenshtein.distance(a, b))


def on_the_way(text: str, middle: str, fixed: str) -> bool:
    """Whether ``middle`` lies on a shortest word-level edit path from ``text`` to ``fixed``: it
    makes part of that correction and undoes none of what the correction left as it was.

    Words and punctuation, not characters: "economics system" -> "economics systems" is no step
    towards "system of economics", though one more "s" shortens the character distance. Spacing
    is left out (how a diff aligns spaces says nothing about the words).
    """
    a, m, b = _words(text), _words(middle), _words(fixed)
    return int(Levenshtein.distance(a, m)) + int(Levenshtein.distance(m, b)) == int(
        Levenshtein.distance(a, b))


def word_distance(a: str, b: str) -> int:
    """Levenshtein distance over words and punctuation (spacing left out, as in
    :func:`on_the_way`)."""
    return int(Levenshtein.distance(_words(a), _words(b)))


def toward_reordered(text: str, middle: str, fixed: str) -> bool:
    """Whether ``middle`` makes part of a correction that also moved words: every word it takes
    out is one the fix no longer has, and every word it writes is one the fix has and ``text``
    lacks ("In Galats , he lived" -> "In Galați , he lived" towards "He lived in Galați").
    Order is left out; that is what :func:`on_the_way` cannot judge on a reordered sentence."""
    before, after, target = Counter(_words(text)), Counter(_words(middle)), Counter(_words(fixed))
    taken, written = before - after, after - before
    if not written:  # a word only dropped, off the shortest path: the fix wrote another there
        return False
    return not (taken - (before - target)) and not (written - (target - before))


def _words(text: str) -> list[str]:
    return [token for token in tokenize(text) if not token.isspace()]


def normalized_distance(a: str, b: str) -> float:
    """Levenshtein distance divided by the longer length (0 = equal, 1 = nothing shared)."""
    return float(Levenshtein.normalized_distance(a, b))


DiffOp = Literal["equal", "replace", "insert", "delete"]


@dataclass(frozen=True)
class DiffSegment:
    """One stretch of the diff: ``bad`` text became ``fixed`` text (equal, replace, insert,
    delete)."""

    op: DiffOp
    bad: str
    fixed: str
    bad_start: int
    bad_end: int
    fixed_start: int
    fixed_end: int


def diff_segments(
    bad: str, fixed: str, *, granularity: Literal["token", "char"] = "token"
) -> list[DiffSegment]:
    """Diff segments of ``bad`` -> ``fixed``; offsets are in characters for both granularities."""
    if granularity == "char":
        a: Sequence[str] = bad
        b: Sequence[str] = fixed
    elif granularity == "token":
        a, b = tokenize(bad), tokenize(fixed)
    else:
        raise ValueError(f"granularity must be 'token' or 'char', not {granularity!r}")
    a_offsets = _offsets(a)
    b_offsets = _offsets(b)
    segments = []
    for op in Levenshtein.opcodes(a, b):
        segments.append(
            DiffSegment(
                op=cast(DiffOp, op.tag),  # rapidfuzz's tags are exactly these four
                bad="".join(a[op.src_start : op.src_end]),
                fixed="".join(b[op.dest_start : op.dest_end]),
                bad_start=a_offsets[op.src_start],
                bad_end=a_offsets[op.src_end],
                fixed_start=b_offsets[op.dest_start],
                fixed_end=b_offsets[op.dest_end],
            )
        )
    return segments


def _offsets(tokens: Sequence[str]) -> list[int]:
    offsets = [0]
    for token in tokens:
        offsets.append(offsets[-1] + len(token))
    return offsets


@dataclass(frozen=True)
class Hunk:
    """A run of nearby edits, in tokens: ``bad_tokens[start:end]`` became ``inserted``.

    ``bad_tokens`` and ``fixed_tokens`` are the whole tokenised texts, so rule
    synthesis can look at the context around the edit.
    """

    bad_tokens: tuple[str, ...]
    fixed_tokens: tuple[str, ...]
    start: int
    end: int
    fixed_start: int
    fixed_end: int
    # The single edits this hunk merged, as (start, end, fixed_start, fixed_end).
    parts: tuple[tuple[int, int, int, int], ...] = ()

    def sub_hunks(self, max_parts: int = 6) -> list["Hunk"]:
        """Every contiguous run of the merged edits (itself included), for when they are separate
        fixes."""
        parts = self.parts or ((self.start, self.end, self.fixed_start, self.fixed_end),)
        if len(parts) == 1 or len(parts) > max_parts:
            return [self]
        runs = []
        for i in range(len(parts)):
            for j in range(i, len(parts)):
                first, last = parts[i], parts[j]
                runs.append(
                    Hunk(
                        self.bad_tokens,
                        self.fixed_tokens,
                        first[0],
                        last[1],
                        first[2],
                        last[3],
                        parts[i : j + 1],
                    )
                )
        return runs

    @property
    def deleted(self) -> str:
        return "".join(self.bad_tokens[self.start : self.end])

    @property
    def inserted(self) -> str:
        return "".join(self.fixed_tokens[self.fixed_start : self.fixed_end])

    @property
    def at_start(self) -> bool:
        return self.start == 0

    @property
    def at_end(self) -> bool:
        return self.end == len(self.bad_tokens)


def edit_hunks(bad: str, fixed: str, *, merge_gap_words: int = 1) -> list[Hunk]:
    """Token-level edits of ``bad`` -> ``fixed``.

    Edits separated by at most ``merge_gap_words`` unchanged words inside one sentence
    are merged (so "Best regards, Support" -> "Kind regards, the Support Team" is one
    edit, not three). Whitespace-only edits and a deletion at the very start (a prefix
    strip) are never merged with their neighbours: they are corrections of their own.
    """
    a, b = tokenize(bad), tokenize(fixed)
    spans: list[list[int]] = []
    parts: list[list[tuple[int, int, int, int]]] = []
    gap: tuple[int, int] | None = None
    for op in Levenshtein.opcodes(a, b):
        if op.tag == "equal":
            gap = (op.src_start, op.src_end)
            continue
        part = (op.src_start, op.src_end, op.dest_start, op.dest_end)
        if spans and _can_merge(a, b, spans[-1], part, gap, merge_gap_words):
            spans[-1][1], spans[-1][3] = part[1], part[3]
            if _no_word_in(a, gap) and (_inserts_or_deletes(parts[-1][-1]) or
                                        _inserts_or_deletes(part)):
                # One edit the diff split at a space ("thanks" -> "thank" + "you"): a part of
                # it alone, with the other half as its context, is an edit no pair made.
                last = parts[-1][-1]
                parts[-1][-1] = (last[0], part[1], last[2], part[3])
            else:
                parts[-1].append(part)
        else:
            spans.append(list(part))
            parts.append([part])
        gap = None
    ta, tb = tuple(a), tuple(b)
    return [
        Hunk(ta, tb, s, e, fs, fe, tuple(p)) for (s, e, fs, fe), p in zip(spans, parts, strict=True)
    ]


def _inserts_or_deletes(part: tuple[int, int, int, int]) -> bool:
    return part[0] == part[1] or part[2] == part[3]


def _no_word_in(a: Sequence[str], gap: tuple[int, int] | None) -> bool:
    return gap is None or not "".join(a[gap[0] : gap[1]]).strip()


def _is_blank_edit(a: Sequence[str], b: Sequence[str], span: Sequence[int]) -> bool:
    text = "".join(a[span[0] : span[1]]) + "".join(b[span[2] : span[3]])
    return not text.strip()


def _can_merge(
    a: Sequence[str],
    b: Sequence[str],
    previous: Sequence[int],
    current: Sequence[int],
    gap: tuple[int, int] | None,
    merge_gap_words: int,
) -> bool:
    if _is_blank_edit(a, b, previous) or _is_blank_edit(a, b, current):
        return False
    if previous[0] == 0 and previous[2] == previous[3]:  # prefix strip stays its own edit
        return False
    if gap is None:
        return True
    tokens = a[gap[0] : gap[1]]
    words = sum(1 for token in tokens if token[0].isalnum() or token[0] == "_")
    if words > merge_gap_words:
        return False
    return not any(token in _SENTENCE_END or "\n" in token for token in tokens)

"""The literal text a regex rule cannot match without: the hook looks for it first.

A hook runs every rule on every output. A regex that starts with a class (``([A-Z]\\w*)\\ when``)
is tried at every position of a 1 KB output (about 90 µs); ``" when" in text`` rules it out in
well under 1 µs when the text cannot match. So each regex rule carries, as its ``needle``, the
longest run of literal characters that every match must contain, outside any alternative,
repetition, negative lookaround or case-insensitive part. Found by Python's own regex parser; a
pattern it cannot read has no needle (the rule is then simply always tried).
"""

from __future__ import annotations

import functools
import re
from typing import Any

try:  # the parser behind ``re.compile`` (``sre_parse`` before Python 3.11)
    from re import _parser as _regex_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse as _regex_parser  # type: ignore[no-redef]

_MIN_NEEDLE = 3  # shorter text rules out little and costs a search anyway
_LITERAL, _SUBPATTERN, _ASSERT = "LITERAL", "SUBPATTERN", "ASSERT"


@functools.lru_cache(maxsize=4096)
def required_literal(pattern: str) -> str:
    """The longest literal every match of ``pattern`` contains ("" when none is long enough)."""
    try:
        parsed = _regex_parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return ""
    if parsed.state.flags & re.IGNORECASE:
        return ""
    runs: list[str] = []
    _collect(list(parsed), runs)
    best = max(runs, key=len, default="")
    return best if len(best) >= _MIN_NEEDLE else ""


def _collect(items: list[tuple[Any, Any]], runs: list[str]) -> None:
    """Runs of consecutive literals in a sequence every match goes through, into ``runs``."""
    current: list[str] = []
    for op, value in items:
        name = str(op)
        if name == _LITERAL:
            current.append(chr(value))
            continue
        runs.append("".join(current))
        current = []
        if name == _SUBPATTERN:  # (group, add flags, remove flags, the sequence)
            _, add_flags, _, sequence = value
            if not add_flags & re.IGNORECASE:
                _collect(list(sequence), runs)
        elif name == _ASSERT:  # a positive lookaround: its text is in the string too
            _, sequence = value
            _collect(list(sequence), runs)
    runs.append("".join(current))


_WORD_CHAR = re.compile(r"\w")
_ASSERT_NOT, _IN, _CATEGORY_WORD = "ASSERT_NOT", "IN", "CATEGORY_WORD"


@functools.lru_cache(maxsize=4096)
def whole_word(pattern: str) -> str:
    """The longest word every match of ``pattern`` holds whole: its own word, with a non-word
    character or the pattern's word-boundary assertions on both sides ("" when none is certain).

    A hook files a rule under such a word and looks for it among the words of a text (where a
    needle is only text inside one). Found in the sequence every match goes through, and in its
    positive lookarounds; anything this does not recognise bounds nothing, so a word is claimed
    only where the pattern itself makes it whole.
    """
    try:
        parsed = _regex_parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return ""
    if parsed.state.flags & (re.IGNORECASE | re.ASCII):  # (?a): its \w is not the text's words'
        return ""
    words: list[str] = []
    _whole_words(list(parsed), words)
    return max(words, key=len, default="")


def _is_word_class(items: list[tuple[Any, Any]]) -> bool:
    """``items`` is exactly ``\\w`` (one class of the word category)."""
    return (len(items) == 1 and str(items[0][0]) == _IN
            and [(str(op), str(value)) for op, value in items[0][1]] == [("CATEGORY",
                                                                          _CATEGORY_WORD)])


def _literal_text(items: list[tuple[Any, Any]]) -> str | None:
    """The text of ``items`` when all are literals, else None."""
    if not all(str(op) == _LITERAL for op, _ in items):
        return None
    return "".join(chr(value) for _, value in items)


def _lookaround(item: tuple[Any, Any], name: str, direction: int) -> list[tuple[Any, Any]] | None:
    op, value = item
    if str(op) != name or value[0] != direction:
        return None
    return list(value[1])


def _bounded_before(items: list[tuple[Any, Any]], start: int, end: int) -> bool:
    """Nothing word-like is right before the literal ``items[start:end]``: a non-word literal, a
    ``(?<!\\w)`` just before it, or, among the zero-width lookbehinds right after it, a
    ``(?<!\\wTEXT)`` or a ``(?<=...cTEXT)`` (c not a word character) where TEXT is the literal
    text from ``start`` up to there."""
    if start > 0:
        previous = items[start - 1]
        if str(previous[0]) == _LITERAL:
            return not _WORD_CHAR.match(chr(previous[1]))
        behind = _lookaround(previous, _ASSERT_NOT, -1)
        if behind is not None and _is_word_class(behind):
            return True
        behind = _lookaround(previous, _ASSERT, -1)  # (?<=...c) with c not a word character
        if behind and str(behind[-1][0]) == _LITERAL and not _WORD_CHAR.match(chr(behind[-1][1])):
            return True
    text = _literal_text(items[start:end])
    position = end
    while text is not None and position < len(items):
        refused = _lookaround(items[position], _ASSERT_NOT, -1)
        required = _lookaround(items[position], _ASSERT, -1)
        if refused is None and required is None:
            return False
        if refused is not None and _is_word_class(refused[:1]) \
                and _literal_text(refused[1:]) == text:
            return True
        if required is not None:
            tail = _literal_text(required[len(required) - len(text) - 1:])
            if len(required) > len(text) and tail is not None and tail[1:] == text \
                    and not _WORD_CHAR.match(tail[0]):
                return True
        position += 1
    return False


def _bounded_after(items: list[tuple[Any, Any]], end: int) -> bool:
    """Nothing word-like is right after ``items[:end]``: skipping zero-width lookbehinds, a
    non-word literal, a ``(?!\\w)``, or a positive lookahead that starts with a non-word
    literal."""
    position = end
    while position < len(items):
        item = items[position]
        if str(item[0]) == _LITERAL:
            return not _WORD_CHAR.match(chr(item[1]))
        refused = _lookaround(item, _ASSERT_NOT, 1)
        if refused is not None:
            return _is_word_class(refused)
        ahead = _lookaround(item, _ASSERT, 1)
        if ahead is not None:
            return bool(ahead) and str(ahead[0][0]) == _LITERAL \
                and not _WORD_CHAR.match(chr(ahead[0][1]))
        if _lookaround(item, _ASSERT, -1) is None and _lookaround(item, _ASSERT_NOT, -1) is None:
            return False
        position += 1
    return False


def _whole_words(items: list[tuple[Any, Any]], words: list[str]) -> None:
    """The words of the literal runs of ``items`` bounded on both sides, into ``words``; the
    positive lookarounds' sequences are searched the same way."""
    position = 0
    while position < len(items):
        op, value = items[position]
        if str(op) == _ASSERT:
            _whole_words(list(value[1]), words)
        if str(op) != _LITERAL or not _WORD_CHAR.match(chr(value)):
            position += 1
            continue
        end = position
        while end < len(items) and str(items[end][0]) == _LITERAL \
                and _WORD_CHAR.match(chr(items[end][1])):
            end += 1
        if _bounded_before(items, position, end) and _bounded_after(items, end):
            words.append(_literal_text(items[position:end]) or "")
        position = end

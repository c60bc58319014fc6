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

"""Which pairs a rule could change at all, found without running it on every pair (rule synthesis at
volume).

Checking a rule means applying it, as the hook would, to every pair's fixed output and
residual. With 100k pairs and thousands of narrow one-off rules that is quadratic. A rule
can only change a text that holds what it matches, and only under its context condition,
so :class:`PairIndex` keeps, for the pairs, the word tokens of their texts and their
context values, and :meth:`PairIndex.candidates` returns the pairs a rule could
change: a superset (the rule is still applied to each of them), never a guess.

* a literal rule (replace, remove) matches whole words of its pattern, so a pair
  whose texts lack one of them is left alone;
* a regex rule needs its longest literal run to appear in the text (a substring search
  over all the texts at once);
* a context condition needs that value: every rule learned from tagged pairs carries its
  function, and a one-off rule the rest of its pair's context that may be a condition.

Appends, prepends and whitespace rules fire on any text: they are checked everywhere.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # typeshed types re's parser under its old public names
    import sre_constants as c
    import sre_parse
else:
    import re._parser as sre_parse
    from re import _constants as c

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules.model import Rule

_WORDS = re.compile(r"\w+")
_LITERAL_KINDS = ("replace", "remove")  # a case fix matches in any case: checked everywhere
_MIN_RUN = 1


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text))


def literal_run(pattern: str) -> str | None:
    """The longest text every match of ``pattern`` contains (None if there is none worth
    searching)."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError, ValueError):
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None
    best = ""

    def walk(items: Any) -> None:
        nonlocal best
        run: list[str] = []
        for op, arg in items:
            if op == c.LITERAL:
                run.append(chr(arg))
                continue
            if len(run) > len(best):
                best = "".join(run)
            run = []
            if op == c.SUBPATTERN and not (arg[1] & re.IGNORECASE):
                walk(arg[-1])
            elif op in (c.ASSERT, c.ASSERT_NOT, c.AT):
                continue  # zero width: what follows still joins what precedes
        if len(run) > len(best):
            best = "".join(run)

    walk(parsed)
    return best if len(best) >= _MIN_RUN else None


class PairIndex:
    """Word tokens and context values of the pairs (fixed outputs and residuals), kept up to
    date."""

    def __init__(self, pairs: Sequence[FeedbackPair], residuals: Sequence[str]) -> None:
        self.size = len(pairs)
        self._tokens: dict[str, set[int]] = {}
        self._context: dict[tuple[str, str], set[int]] = {}
        self._fixed = [p.fixed_output for p in pairs]
        self._residuals = list(residuals)
        self._joined: tuple[str, list[int]] | None = None
        for index, pair in enumerate(pairs):
            for word in _words(pair.fixed_output) | _words(residuals[index]):
                self._tokens.setdefault(word, set()).add(index)
            for key, value in pair.context.items():
                self._context.setdefault((str(key), str(value)), set()).add(index)

    def update(self, index: int, residual: str) -> None:
        """A pair's residual changed (words it no longer has may stay indexed: the index is a
        superset)."""
        if residual == self._residuals[index]:
            return
        self._residuals[index] = residual
        for word in _words(residual):
            self._tokens.setdefault(word, set()).add(index)
        self._joined = None

    def candidates(self, rule: Rule) -> list[int] | None:
        """The pairs ``rule`` could change, in order; None when it could change any."""
        found: list[set[int]] = []
        for key, value in rule.condition.items():
            found.append(self._context.get((key, value), set()))
        if rule.kind in _LITERAL_KINDS and rule.pattern:
            words = _words(rule.pattern)
            if words:
                found.append(min((self._tokens.get(w, set()) for w in words), key=len))
        elif rule.kind == "strip_prefix" and rule.pattern and not found:
            found.append(
                {
                    i % self.size
                    for i, text in enumerate(self._texts())
                    if text.startswith(rule.pattern)
                }
            )
        elif rule.kind == "strip_suffix" and rule.pattern and not found:
            found.append(
                {
                    i % self.size
                    for i, text in enumerate(self._texts())
                    if text.endswith(rule.pattern)
                }
            )
        elif rule.kind == "regex_replace":
            run = literal_run(rule.pattern)
            if run is not None and not found:
                found.append(self._containing(run))
        if not found:
            return None
        smallest = min(found, key=len)
        return sorted(smallest.intersection(*(s for s in found if s is not smallest)))

    def _texts(self) -> Iterator[str]:
        """Every fixed output, then every residual (position modulo the pairs is the pair)."""
        yield from self._fixed
        yield from self._residuals

    def _containing(self, needle: str) -> set[int]:
        if self._joined is None:
            texts = [*self._fixed, *self._residuals]
            offsets = []
            position = 0
            for text in texts:
                offsets.append(position)
                position += len(text) + 1
            self._joined = ("\x00".join(texts), offsets)
        joined, offsets = self._joined
        hits: set[int] = set()
        start = joined.find(needle)
        while start != -1:
            slot = bisect.bisect_right(offsets, start) - 1
            hits.add(slot % self.size)
            nxt = offsets[slot + 1] if slot + 1 < len(offsets) else len(joined)
            start = joined.find(needle, max(nxt, start + 1))
        return hits

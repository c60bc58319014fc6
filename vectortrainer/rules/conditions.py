"""Conditions a rule can be scoped by (VT-12): words in the text itself, or a context key that
separates.

"Append a refund note to replies that refund" has no context key that tells refund
replies apart: the condition is in the output ("will refund you"). The discriminating
phrase is a word n-gram found in every text the rule fixes and in none of the texts
it must leave alone; among several, the one rarest elsewhere (in the other pairs and
the logged outputs), then the longest, is the least likely to fire where it should not. It becomes a
text condition: an escaped literal with word boundaries, so it is linear-time.

A context key is used only when it really separates: every pair that backs the rule
has the same value and no pair the rule would harm has it.

Which context keys and values may be conditions at all is decided in one place,
:class:`ContextConditions` (VT-18): never an identifier (a log uuid, a trace id, a timestamp:
:func:`is_identifier_key`) and never a value only one pair has, which cannot generalise. A
correction recorded in the app (its context holds the log's ``log_uuid``) therefore
generalises exactly as the same correction recorded from the CLI. The ``function`` key is
the exception to "one pair": it names where a rule may run at all (see
:func:`~vectortrainer.rules.scoping.backing_functions`), not something that happened once.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from vectortrainer.feedback.diffing import tokenize
from vectortrainer.rules import interpreter

MAX_NGRAM_WORDS = 3
_MAX_SCALAR_CHARS = 200
# The context key naming the function a pair corrects (and the hook's caller, at run time).
FUNCTION_KEY = "function"
# Words of a key (snake-cased) that make it name one thing or one moment, never a kind of output;
# so does a last word "at" (created_at).
_IDENTIFIER_WORDS = frozenset({"id", "uuid", "guid", "timestamp", "datetime", "ts"})
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_scalar(value: object) -> bool:
    """Context values a condition may test: short strings, numbers, booleans."""
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= _MAX_SCALAR_CHARS


def is_identifier_key(key: str) -> bool:
    """Whether a context key names one log, trace, run or moment: ``log_uuid``, ``trace_id``,
    ``span_id``, ``run_id``, ``id``, ``traceId``, ``timestamp``, ``timestamp_utc``,
    ``created_at``."""
    words = [w for w in re.split(r"[^a-z0-9]+", _CAMEL_HUMP.sub("_", key).lower()) if w]
    if not words:
        return False
    return bool(_IDENTIFIER_WORDS.intersection(words)) or (len(words) > 1 and words[-1] == "at")


class ContextConditions:
    """The context keys and values each pair offers as rule conditions: the one place that decides
    (VT-18).

    A condition may test a short scalar value (:func:`is_scalar`) of a key that is no identifier
    (:func:`is_identifier_key`), and only a value at least two pairs have: a value one pair has is
    that pair's identity, and a rule keyed on it would never fire again. The function a pair is
    tagged with (``function``) is always offered: it is the rule's scope, not an identity.
    """

    def __init__(self, contexts: Sequence[Mapping[str, object]]) -> None:
        scalars = [
            {str(k): str(v) for k, v in context.items() if is_scalar(v)} for context in contexts
        ]
        self._seen = Counter(item for context in scalars for item in context.items())
        self.usable: list[dict[str, str]] = [
            {k: v for k, v in context.items() if self.allows(k, v)} for context in scalars
        ]

    def allows(self, key: str, value: str) -> bool:
        """Whether ``key == value`` may be a condition (a value no pair has is no identity: a
        person's or a model's rule may name it)."""
        if key == FUNCTION_KEY:
            return True
        return not is_identifier_key(key) and self._seen.get((key, value), 0) != 1

    def restrict(self, condition: Mapping[str, str]) -> dict[str, str]:
        """``condition`` without the keys and values no rule may be conditioned on."""
        return {k: v for k, v in condition.items() if self.allows(k, v)}


@functools.lru_cache(maxsize=65536)
def word_ngrams(text: str, max_words: int = MAX_NGRAM_WORDS) -> frozenset[str]:
    """Runs of 1..``max_words`` words of ``text`` with what lies between them, within one line."""
    tokens = tokenize(text)
    words = [i for i, token in enumerate(tokens) if token[0].isalnum() or token[0] == "_"]
    grams: set[str] = set()
    for first_index, first in enumerate(words):
        for last in words[first_index : first_index + max_words]:
            span = "".join(tokens[first : last + 1])
            if "\n" in span:
                break
            grams.add(span)
    return frozenset(grams)


def ngram_pattern(ngram: str) -> str:
    """The text condition for ``ngram``: the literal phrase, not inside a longer word (as the hook
    writes literals)."""
    return interpreter.literal_pattern(ngram)


def discriminating_ngrams(
    positives: Sequence[str], negatives: Sequence[str], elsewhere: Iterable[str] = ()
) -> list[str]:
    """N-grams in every positive text and in no negative one, rarest ``elsewhere`` first.

    Between equally rare phrases the longer one wins: the evidence covers both, and the
    longer is less likely to appear where the rule has no business.
    """
    if not positives:
        return []
    shared = set(word_ngrams(positives[0]))
    for text in positives[1:]:
        shared &= word_ngrams(text)
        if not shared:
            return []
    for text in negatives:
        shared -= word_ngrams(text)
        if not shared:
            return []
    counts = dict.fromkeys(shared, 0)
    for text in elsewhere:
        for gram in counts.keys() & word_ngrams(text):
            counts[gram] += 1
    return sorted(shared, key=lambda g: (counts[g], -len(word_ngrams(g, 1)), -len(g), g))


def separating_key(
    contexts: Sequence[Mapping[str, object]], positives: Sequence[int], negatives: Sequence[int]
) -> tuple[str, str] | None:
    """A context key whose value every positive shares and no negative has (at least two
    positives).

    ``contexts`` are what each pair offers as conditions (:attr:`ContextConditions.usable`).
    """
    if len(positives) < 2 or not negatives:
        return None
    first = {str(k): str(v) for k, v in contexts[positives[0]].items() if is_scalar(v)}
    for key in sorted(first):
        value = first[key]
        if all(
            str(contexts[i].get(key)) == value and key in contexts[i] for i in positives[1:]
        ) and not any(key in contexts[i] and str(contexts[i][key]) == value for i in negatives):
            return key, value
    return None

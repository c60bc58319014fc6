"""Replaying rules exactly as a generated hook applies them, and scoring the result on feedback
pairs.

:func:`apply_rules` runs the hook's own interpreter in this process;
:func:`score_replay` compares what a hook made of each pair with its fix: exact
repairs, edit-distance reduction, and good outputs it changed (which must be none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from vectortrainer.feedback.diffing import edit_distance
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.json_types import JSONObject
from vectortrainer.rules import interpreter
from vectortrainer.rules.model import Rule, rules_document


def apply_rules(
    rules: Sequence[Rule], text: str, context: Mapping[str, object] | None, target: str = "output"
) -> str:
    """Apply ``rules`` exactly as a generated hook would (the same interpreter)."""
    compiled, _ = interpreter.load_rules(rules_document(rules))
    return interpreter.apply_rules(compiled, text, dict(context or {}), target)


@dataclass
class ReplayReport:
    """How a hook does on feedback pairs: repairs of bad outputs, and harm to good ones."""

    pairs: int = 0
    exact_fixes: int = 0
    mean_repair: float = 0.0  # mean normalised edit-distance reduction over pairs that needed a fix
    distance_before: int = 0
    distance_after: int = 0
    good_changed: list[int] = field(default_factory=list)
    not_fixed: list[int] = field(default_factory=list)
    skipped_rules: list[JSONObject] = field(default_factory=list)
    imported_modules: list[str] = field(default_factory=list)

    @property
    def exact_fix_rate(self) -> float:
        return self.exact_fixes / self.pairs if self.pairs else 0.0

    def to_dict(self) -> JSONObject:
        return {
            "pairs": self.pairs,
            "exact_fixes": self.exact_fixes,
            "exact_fix_rate": round(self.exact_fix_rate, 4),
            "mean_repair": round(self.mean_repair, 4),
            "distance_before": self.distance_before,
            "distance_after": self.distance_after,
            "good_changed": self.good_changed,
            "not_fixed": self.not_fixed,
            "skipped_rules": self.skipped_rules,
        }


def score_replay(
    pairs: Sequence[FeedbackPair], repaired: Sequence[str], good_after: Sequence[str]
) -> ReplayReport:
    """Compare the hook's outputs with the fixes: repair rate, exact fixes, good outputs changed."""
    report = ReplayReport(pairs=len(pairs))
    reductions = []
    for index, (pair, after, good) in enumerate(zip(pairs, repaired, good_after, strict=False)):
        before_d = edit_distance(pair.bad_output, pair.fixed_output)
        after_d = edit_distance(after, pair.fixed_output)
        report.distance_before += before_d
        report.distance_after += after_d
        if after == pair.fixed_output:
            report.exact_fixes += 1
        else:
            report.not_fixed.append(index)
        if before_d:
            reductions.append((before_d - after_d) / before_d)
        if good != pair.fixed_output:
            report.good_changed.append(index)
    report.mean_repair = sum(reductions) / len(reductions) if reductions else 1.0
    return report

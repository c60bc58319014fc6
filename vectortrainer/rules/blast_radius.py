"""A rule's blast radius on the function's real logs, before its hook goes live (VT-12).

Replaying the feedback pairs shows what a rule does to outputs someone looked at. The
logged outputs nobody corrected show where else it would fire. :func:`check_on_logs`
applies an accepted rule to a sample of them and counts the outputs it changes.

A change is *backed* when it happens where the rule's evidence says it should. The
evidence is what every pair that backs the rule shares: for a pattern rule, the local
context around its matches (``ticket `` before ``#``; a spelling fix is its own evidence,
wherever the word appears); for an append or prepend, which
fires on any text, the phrase its backing texts share that is rarest among the logs it
changes ("will refund you"). A shared feature is evidence unless the logs make a
coincidence likely: if a fraction ``p`` of the changed logs has it, ``k`` pairs like
those logs would all have it with probability ``p ** k``; at :data:`CHANCE` or above
the pairs may share it by chance and the rule is left as it is. Changing a good output
costs more than missing a fix, so the bar for narrowing is low. A rule that changes
logs lacking its evidence is narrowed to all of it (the logs are only a sample),
re-checked on the pairs, and kept only if that holds; otherwise it is kept inactive,
with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from vectortrainer.json_types import JSONObject
from vectortrainer.rules import interpreter
from vectortrainer.rules.anchors import narrowed, shared_context
from vectortrainer.rules.candidates import is_spelling_fix
from vectortrainer.rules.conditions import discriminating_ngrams, ngram_pattern
from vectortrainer.rules.model import FIRES_ON_ANY_TEXT, Rule, rules_document

if TYPE_CHECKING:
    from vectortrainer.feedback.from_logs import LoggedOutput

CHANCE = 0.5


@dataclass
class LogSample:
    """Uncorrected successful outputs of the function (as the rules so far leave them) and their
    contexts."""

    texts: list[str] = field(default_factory=list)
    contexts: list[JSONObject] = field(default_factory=list)

    @classmethod
    def of(cls, outputs: Sequence[LoggedOutput]) -> "LogSample":
        """From the sampled logged outputs (their ``text`` and ``context``)."""
        return cls([o.text for o in outputs], [dict(o.context) for o in outputs])

    def __len__(self) -> int:
        return len(self.texts)

    def after(self, rule: Rule) -> "LogSample":
        """The sample as ``rule`` leaves it (the next rule sees these texts, as in the hook)."""
        return LogSample(_apply(rule, self.texts, self.contexts), list(self.contexts))


@dataclass
class BlastRadius:
    """Of ``sampled`` logged outputs, the ones the rule changes and those of them unlike its
    pairs."""

    sampled: int
    changed: int
    unbacked: int = 0


Recheck = Callable[[Rule], bool]


def check_on_logs(
    rule: Rule,
    backing_texts: Sequence[str],
    sample: LogSample,
    safe_on_pairs: Recheck,
    *,
    narrow: bool = True,
) -> tuple[Rule | None, BlastRadius, str]:
    """(the rule, narrowed where its log changes lack its evidence; its blast radius; a note) or
    (None, ..., why).

    ``backing_texts`` are the texts of the pairs that back the rule, as it saw them;
    ``safe_on_pairs`` re-checks a narrowed rule on the feedback pairs. With ``narrow``
    off the blast radius is only measured.
    """
    before = list(sample.texts)
    after = _apply(rule, before, sample.contexts)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b]
    if not changed or not narrow:
        return rule, BlastRadius(len(sample), len(changed)), ""
    narrowest, feature = _evidence(rule, backing_texts, [before[i] for i in changed])
    if narrowest is None:
        return rule, BlastRadius(len(sample), len(changed)), ""
    contexts = [sample.contexts[i] for i in changed]
    texts = [before[i] for i in changed]
    expected = _apply(narrowest, texts, contexts)
    backed = sum(1 for i, text in enumerate(expected) if text == after[changed[i]])
    share = backed / len(changed)
    if backed == len(changed) or share ** len(backing_texts) >= CHANCE:
        return rule, BlastRadius(len(sample), len(changed)), ""
    unbacked = len(changed) - backed
    found = (
        f"{unbacked} of the {len(changed)} logged outputs it changed have no {feature}, which all "
        f"{len(backing_texts)} of its pairs have"
    )
    if safe_on_pairs(narrowest):
        final = sum(
            1
            for a, b in zip(before, _apply(narrowest, before, sample.contexts), strict=False)
            if a != b
        )
        return narrowest, BlastRadius(len(sample), final), f"narrowed on the logs: {found}"
    return None, BlastRadius(len(sample), len(changed), unbacked), (
        f"kept inactive: {found}, and narrowing it to that breaks its replay on the pairs")


def _evidence(
    rule: Rule, backing_texts: Sequence[str], changed_texts: Sequence[str]
) -> tuple[Rule | None, str]:
    """(the rule restricted to all its evidence, that evidence in words), or (None, "") when it has
    none to add."""
    if rule.kind in FIRES_ON_ANY_TEXT:
        phrases = discriminating_ngrams(backing_texts, [], changed_texts)
        if not phrases:
            return None, ""
        return replace(
            rule, text_condition=[*rule.text_condition, ngram_pattern(phrases[0])]
        ), f"phrase {phrases[0]!r}"
    if len(backing_texts) < 2:  # one pair says nothing about which of its surroundings matter
        return None, ""
    # the misspelt word is its own evidence
    if is_spelling_fix(rule.kind, rule.pattern, rule.replacement):
        return None, ""
    context = shared_context(rule, backing_texts)
    if context is None or context.empty:
        return None, ""
    narrowest = narrowed(rule, context)
    return (narrowest, f"match {context.describe()}") if narrowest is not None else (None, "")


def _apply(rule: Rule, texts: Sequence[str], contexts: Sequence[Mapping[str, object]]) -> list[str]:
    """What the hook's ``intercept_output`` makes of each logged output (prompt rules leave them
    alone)."""
    compiled, _ = interpreter.load_rules(rules_document([rule]))
    return [
        interpreter.apply_rules(compiled, text, dict(context), "output")
        for text, context in zip(texts, contexts, strict=False)
    ]

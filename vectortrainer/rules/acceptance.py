"""Accepting rules one at a time: scoped on the pairs, checked on the logs, and what each leaves for the next.

Synthesis, a person's conflict decisions and LLM proposals all add rules through one
:class:`Acceptance`: it scopes a rule on the feedback pairs (:func:`~vectortrainer.rules.scoping.scope`),
measures its blast radius on the sampled logs and narrows it there
(:func:`~vectortrainer.rules.blast_radius.check_on_logs`), writes its explanation, and
then applies it to the pairs' residuals and the log sample, as the hook will, so the
next rule is judged on what this one leaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules import interpreter
from vectortrainer.rules.blast_radius import BlastRadius, LogSample, check_on_logs
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.rules.replay import residuals_after
from vectortrainer.rules.scoping import Evaluation, RejectedRule, evaluate, explain, scope, with_support


class Acceptance:
    """The rules accepted so far, the residual of every pair, and the log sample as they leave it."""

    def __init__(self, pairs: Sequence[FeedbackPair], logs: LogSample | None, accepted: Sequence[Rule] = ()) -> None:
        self.pairs = list(pairs)
        self.accepted: list[Rule] = []
        self.inactive: list[RejectedRule] = []
        self.residuals = [p.bad_output for p in self.pairs]
        self.logs = logs
        self.cache: dict[int, int] = {}
        for rule in accepted:
            self._apply(rule)

    def scope(self, rule: Rule, exempt: frozenset[int] = frozenset(), forbidden: frozenset[int] = frozenset()
              ) -> tuple[Rule | None, Evaluation, str]:
        """The rule scoped on the pairs as they stand (see :func:`~vectortrainer.rules.scoping.scope`)."""
        elsewhere = self.logs.texts if self.logs is not None else []
        return scope(rule, self.residuals, self.pairs, self.cache, exempt, forbidden, elsewhere)

    def accept(self, rule: Rule, evaluation: Evaluation, note: str = "", *, exempt: frozenset[int] = frozenset(),
               forbidden: frozenset[int] = frozenset(), narrow_on_logs: bool = True) -> Rule | None:
        """Add a rule that passed :meth:`scope`, after its blast radius; None when the logs keep it inactive.

        With ``narrow_on_logs`` off (a person's explicit decision) the blast radius is only measured.
        """
        backing = [self.residuals[i] for i in evaluation.supporters]
        radius: BlastRadius | None = None
        if self.logs is not None and len(self.logs):
            def safe_on_pairs(candidate: Rule) -> bool:
                result = evaluate(candidate, self.residuals, self.pairs, self.cache, exempt, forbidden)
                return not result.violations and set(result.supporters) >= set(evaluation.supporters)

            checked, radius, log_note = check_on_logs(rule, backing, self.logs, safe_on_pairs, narrow=narrow_on_logs)
            if checked is None:
                held = self._explained(rule, evaluation, note, radius)
                self.inactive.append(RejectedRule(held, log_note))
                return None
            if checked is not rule:
                rule = checked
                evaluation = evaluate(rule, self.residuals, self.pairs, self.cache, exempt, forbidden)
            note = "; ".join(part for part in (note, log_note) if part)
        final = self._explained(rule, evaluation, note, radius)
        self._apply(final)
        return final

    def _explained(self, rule: Rule, evaluation: Evaluation, note: str, radius: BlastRadius | None) -> Rule:
        final = with_support(rule, evaluation)
        final.evidence.why = explain(final, note)
        if radius is not None:
            final.evidence.logs_sampled = radius.sampled
            final.evidence.logs_changed = radius.changed
            final.evidence.logs_unbacked = radius.unbacked
        return final

    def _apply(self, rule: Rule) -> None:
        compiled, _ = interpreter.load_rules(rules_document([rule]))
        self.residuals = [interpreter.apply_rules(compiled, text, dict(p.context), "output")
                          for text, p in zip(self.residuals, self.pairs)]
        if self.logs is not None:
            self.logs = self.logs.after(rule)
        self.accepted.append(rule)
        self.cache.clear()

    def finish(self) -> list[Rule]:
        """The accepted rules, each with how many of its own pairs the whole set fixes exactly."""
        final = residuals_after(self.accepted, self.pairs)
        exact = {i for i, (text, pair) in enumerate(zip(final, self.pairs)) if text == pair.fixed_output}
        rules = []
        for rule in self.accepted:
            evidence = replace(rule.evidence, exact=sum(1 for i in rule.sources if i in exact))
            rules.append(replace(rule, evidence=evidence))
        return rules

"""Accepting rules one at a time: scoped on the pairs, checked on the logs, and what each leaves for
the next.

Synthesis, a person's conflict decisions and LLM proposals all add rules through one
:class:`Acceptance`: it scopes a rule on the feedback pairs
(:func:`~vectortrainer.rules.scoping.scope`), measures its blast radius on the sampled logs and
narrows it there (:func:`~vectortrainer.rules.blast_radius.check_on_logs`), writes its explanation,
and then applies it to the pairs' residuals and the log sample, as the hook will, so the
next rule is judged on what this one leaves. A :class:`~vectortrainer.rules.text_index.PairIndex`
says which pairs a rule could change, so checking and applying it looks at those only.

:meth:`Acceptance.scope_each_function` is how a candidate enters: once per function whose pairs
it helps, each copy kept to that function (VT-18), with no condition on an identifier or on a
value only one pair has (:class:`~vectortrainer.rules.conditions.ContextConditions`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import NamedTuple

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules import interpreter
from vectortrainer.rules.blast_radius import BlastRadius, LogSample, check_on_logs
from vectortrainer.rules.conditions import ContextConditions
from vectortrainer.rules.lexicon import (
    american_form,
    is_british_spelling,
    is_inflection,
    is_known_word,
    is_regional_variant,
    reads_as_english,
)
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.rules.scoping import (
    Evaluation,
    RejectedRule,
    Trial,
    backing_functions,
    explain,
    in_function,
    scope,
    with_support,
)
from vectortrainer.rules.text_index import PairIndex

_WORD = re.compile(r"\w+")


class FunctionScope(NamedTuple):
    """A candidate rule kept to one function and scoped on the pairs (see
    :meth:`Acceptance.scope_each_function`): the scoped rule or None, its evaluation, how it was
    scoped or why not, and ``elsewhere``: the pairs of other functions the candidate helps (how
    often the correction itself was seen beyond this function)."""

    function: str | None
    rule: Rule | None
    evaluation: Evaluation
    why: str
    elsewhere: int

    @property
    def seen(self) -> int:
        """The pairs that show the correction: this copy's own, and the other functions'."""
        return self.evaluation.confirmed + self.elsewhere


class Acceptance:
    """The rules accepted so far, the residual of every pair, and the log sample as they leave
    it."""

    def __init__(
        self, pairs: Sequence[FeedbackPair], logs: LogSample | None, accepted: Sequence[Rule] = ()
    ) -> None:
        self.pairs = list(pairs)
        self.accepted: list[Rule] = []
        self.inactive: list[RejectedRule] = []
        self.residuals = [p.bad_output for p in self.pairs]
        self.logs = logs
        self.cache: dict[int, int] = {}
        self.changed: set[int] = set()  # pairs whose residual a rule changed since `take_changed`
        self.index = PairIndex(self.pairs, self.residuals)
        self.conditions = ContextConditions([p.context for p in self.pairs])
        self._words: tuple[Counter[str], Counter[str]] | None = None  # see _word_counts
        self._english: bool | None = None  # whether the fixed outputs read as English
        self._british: list[tuple[int, str]] | None = None  # see _british_words
        self._accented: list[tuple[int, str]] | None = None  # see _accented_words
        self._log_text: tuple[LogSample | None, str] = (None, "")  # the sample, joined
        for rule in accepted:
            self._apply(rule)

    def scope(
        self,
        rule: Rule,
        exempt: frozenset[int] = frozenset(),
        forbidden: frozenset[int] = frozenset(),
    ) -> tuple[Rule | None, Evaluation, str]:
        """The rule scoped on the pairs as they stand (see
        :func:`~vectortrainer.rules.scoping.scope`)."""
        elsewhere = self.logs.texts if self.logs is not None else []
        return self._word_choice(*scope(rule, self._trial(rule, exempt, forbidden), elsewhere))

    def scope_each_function(
        self,
        rule: Rule,
        exempt: frozenset[int] = frozenset(),
        forbidden: frozenset[int] = frozenset(),
    ) -> Iterator[FunctionScope]:
        """The rule kept to each function whose pairs it helps, each copy scoped there as
        :meth:`scope` does (:func:`~vectortrainer.rules.scoping.backing_functions`; None: the
        untagged pairs).

        The rule's own conditions lose what no rule may test (identifiers, values one pair has).
        Each copy is scoped when it is reached: accept one before taking the next, so the next
        sees the pairs as it leaves them.
        """
        rule = replace(rule, condition=self.conditions.restrict(rule.condition))
        trial = self._trial(rule, exempt, forbidden)
        whole, judged_after = trial.evaluate(rule), len(self.accepted)
        backing = backing_functions(rule, trial, whole)
        total = sum(backing.values())
        elsewhere = self.logs.texts if self.logs is not None else []
        for function, helped in backing.items():
            kept = in_function(rule, function)
            if kept is rule and len(self.accepted) == judged_after:
                # nothing accepted since the rule was judged: that judgement holds
                scoped, evaluation, why = scope(rule, trial, elsewhere, whole)
            else:
                scoped, evaluation, why = self.scope(kept, exempt, forbidden)
            scoped, evaluation, why = self._word_choice(scoped, evaluation, why)
            yield FunctionScope(function, scoped, evaluation, why, total - helped)

    def accept(
        self,
        rule: Rule,
        evaluation: Evaluation,
        note: str = "",
        *,
        exempt: frozenset[int] = frozenset(),
        forbidden: frozenset[int] = frozenset(),
        narrow_on_logs: bool = True,
    ) -> Rule | None:
        """Add a rule that passed :meth:`scope`, after its blast radius; None when the logs keep it
        inactive.

        With ``narrow_on_logs`` off (a person's explicit decision) the blast radius is only
        measured.
        """
        backing = [self.residuals[i] for i in evaluation.supporters]
        trial = self._trial(rule, exempt, forbidden)
        radius: BlastRadius | None = None
        if self.logs is not None and len(self.logs):
            def safe_on_pairs(candidate: Rule) -> bool:
                return trial.safe(candidate, evaluation.supporters) is not None

            checked, radius, log_note = check_on_logs(
                rule, backing, self.logs, safe_on_pairs, narrow=narrow_on_logs
            )
            if checked is None:
                held = self._explained(rule, evaluation, note, radius)
                self.inactive.append(RejectedRule(held, log_note))
                return None
            if checked is not rule:
                rule = checked
                evaluation = trial.evaluate(rule)
            note = "; ".join(part for part in (note, log_note) if part)
        final = self._explained(rule, evaluation, note, radius)
        self._apply(final)
        return final

    def attests_spelling(self, wrong: str, right: str) -> bool:
        """Whether a correction of one word, seen once, is a spelling fix the texts attest: the
        word it replaces is no dictionary word and no fixed output holds it, and the word it writes
        is a dictionary word or one that other outputs hold. Grammar ("ship" -> "ships") is not,
        nor is a regional spelling ("armoured" -> "armored"). Logged outputs may hold the same
        misspelling (nobody corrected them), so they attest only the word written. The word list
        is English: in texts it cannot read (German, Chinese) no word is a misspelling."""
        if is_known_word(wrong) or is_regional_variant(wrong, right):
            return False
        fixed, logged = self._word_counts()
        if self._english is None:
            self._english = reads_as_english(fixed)
        return self._english and fixed[wrong] == 0 and (
            is_known_word(right) or fixed[right] + logged[right] >= 2)

    def _word_choice(
        self, rule: Rule | None, evaluation: Evaluation, why: str
    ) -> tuple[Rule | None, Evaluation, str]:
        """A scoped rule refused when it swaps a word for another form of it that is right
        elsewhere: an inflection with nothing around it, or a regional spelling or accents the
        good texts do not keep to.

        "fortification" -> "fortifications" is grammar its sentence decides: a rule of that word
        alone fires where the singular is right. "criticised" -> "criticized" in every pair that
        shows it is one word of an American house style; the style holds only if no fixed output
        where the rule applies keeps a British spelling ("organised", "metres" left as they are):
        post-editors who keep some show no style, and such a rule would rewrite correct text."""
        if rule is None:
            return rule, evaluation, why
        if (rule.kind == "replace" and not rule.text_condition
                and is_inflection(rule.pattern, rule.replacement)):
            return None, evaluation, (
                f"a change of inflection ({rule.pattern!r} -> {rule.replacement!r}) with no words "
                "around it: which form is right depends on the sentence")
        if _strips_accents(rule) and any(
                self._applies_to(rule, i) for i, _ in self._accented_words()):
            return None, evaluation, (
                f"drops accents ({rule.pattern!r} -> {rule.replacement!r}) that good outputs keep "
                "in other words: these corrections show no house style")
        if not _writes_american_spelling(rule):
            return rule, evaluation, why
        kept = sorted({word for i, word in self._british_words() if self._applies_to(rule, i)})
        if not kept:
            return rule, evaluation, why
        shown = ", ".join(repr(word) for word in kept[:3])
        return None, evaluation, (
            f"a regional spelling ({rule.pattern!r} -> {rule.replacement!r}) of a house style the "
            f"good outputs do not keep: they hold {shown}{' and more' if len(kept) > 3 else ''} "
            "in British spelling")

    def _applies_to(self, rule: Rule, index: int) -> bool:
        """Whether the rule's context condition holds for pair ``index``."""
        context = self.pairs[index].context
        return all(str(context.get(key)) == value for key, value in rule.condition.items())

    def _accented_words(self) -> list[tuple[int, str]]:
        """(pair, word) for every word with a letter beyond ASCII that a fixed output holds."""
        if self._accented is None:
            self._accented = [
                (i, word)
                for i, pair in enumerate(self.pairs)
                if not pair.fixed_output.isascii()
                for word in set(_WORD.findall(pair.fixed_output))
                if not word.isascii()
            ]
        return self._accented

    def _british_words(self) -> list[tuple[int, str]]:
        """(pair, word) for every British spelling a fixed output holds."""
        if self._british is None:
            self._british = [
                (i, word)
                for i, pair in enumerate(self.pairs)
                for word in set(_WORD.findall(pair.fixed_output))
                if is_british_spelling(word)
            ]
        return self._british

    def _word_counts(self) -> tuple[Counter[str], Counter[str]]:
        """In how many fixed outputs, and in how many logged outputs, each word is."""
        if self._words is None:
            logs = self.logs.texts if self.logs is not None else []
            self._words = (_texts_holding([p.fixed_output for p in self.pairs]),
                           _texts_holding(logs))
        return self._words

    def changes(self, rule: Rule, indices: Iterable[int]) -> int:
        """How many of the pairs ``indices`` the rule would change, as they stand."""
        compiled, _ = interpreter.load_rules(rules_document([rule]))
        return sum(
            1 for i in indices
            if interpreter.apply_rules(compiled, self.residuals[i], dict(self.pairs[i].context),
                                       "output") != self.residuals[i]
        )

    @property
    def measures_on_logs(self) -> bool:
        """Whether a log sample measures where a rule fires."""
        return self.logs is not None and len(self.logs) > 0

    def recurs_in_logs(self, rule: Rule) -> bool:
        """Whether the rule would change any sampled logged output (False with no log sample): a
        one-off correction becomes a rule only where its words come back."""
        if self.logs is None or not len(self.logs):
            return False
        # A literal's words in no log at all: one scan of the whole sample rules it out (one
        # check per one-off pair, so thousands of pairs against thousands of logs stay cheap).
        if self._log_text[0] is not self.logs:
            self._log_text = (self.logs, "\n".join(self.logs.texts))
        if rule.kind in ("replace", "remove") and rule.pattern not in self._log_text[1]:
            return False
        compiled, _ = interpreter.load_rules(rules_document([rule]))
        return any(
            interpreter.apply_rules(compiled, text, dict(context), "output") != text
            for text, context in zip(self.logs.texts, self.logs.contexts, strict=True)
        )

    def _trial(self, rule: Rule, exempt: frozenset[int], forbidden: frozenset[int]) -> Trial:
        """The pairs as they stand, judged where ``rule`` (and every narrower form of it) could
        change them."""
        return Trial(self.residuals, self.pairs, self.cache, exempt, forbidden,
                     self.index.candidates(rule), self.conditions)

    def _explained(
        self, rule: Rule, evaluation: Evaluation, note: str, radius: BlastRadius | None
    ) -> Rule:
        final = with_support(rule, evaluation)
        final.evidence.why = explain(final, note)
        if radius is not None:
            final.evidence.logs_sampled = radius.sampled
            final.evidence.logs_changed = radius.changed
            final.evidence.logs_unbacked = radius.unbacked
        return final

    def _apply(self, rule: Rule) -> None:
        compiled, _ = interpreter.load_rules(rules_document([rule]))
        where = self.index.candidates(rule)
        # the residuals list is updated in place
        for i in range(len(self.pairs)) if where is None else where:
            after = interpreter.apply_rules(
                compiled, self.residuals[i], dict(self.pairs[i].context), "output"
            )
            if after != self.residuals[i]:
                self.residuals[i] = after
                self.index.update(i, after)
                self.cache.pop(i, None)  # its distance to the fix changed
                self.changed.add(i)
        if self.logs is not None:
            self.logs = self.logs.after(rule)
        self.accepted.append(rule)

    def take_changed(self) -> list[int]:
        """The pairs whose residual changed since the last call, in order (and forget them)."""
        changed, self.changed = sorted(self.changed), set()
        return changed

    def finish(self) -> list[Rule]:
        """The accepted rules, each with how many of its own pairs the whole set fixes exactly."""
        final = self.residuals  # every accepted rule applied in order, as the hook applies them
        exact = {
            i
            for i, (text, pair) in enumerate(zip(final, self.pairs, strict=True))
            if text == pair.fixed_output
        }
        rules = []
        for rule in self.accepted:
            evidence = replace(rule.evidence, exact=sum(1 for i in rule.sources if i in exact))
            rules.append(replace(rule, evidence=evidence))
        return rules


def _strips_accents(rule: Rule) -> bool:
    """Whether a literal rule only takes accents off ("Timişoara" -> "Timisoara")."""
    return (rule.kind == "replace" and rule.pattern != rule.replacement
            and rule.replacement.isascii() and _without_accents(rule.pattern) == rule.replacement)


def _without_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _writes_american_spelling(rule: Rule) -> bool:
    """Whether a literal rule turns a word of British spelling American, word by word ("at the
    centre" -> "in the center")."""
    if rule.kind != "replace":
        return False
    before, after = _WORD.findall(rule.pattern), _WORD.findall(rule.replacement)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    return any(
        wrong.lower() != right.lower() and american_form(wrong) == right.lower()
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag == "replace" and i2 - i1 == j2 - j1
        for wrong, right in zip(before[i1:i2], after[j1:j2], strict=True)
    )


def _texts_holding(texts: Sequence[str]) -> Counter[str]:
    return Counter(word for text in texts for word in set(_WORD.findall(text)))

"""Checking a rule against every feedback pair, as the hook would apply it, and scoping it until it
is safe.

A rule never crosses functions (VT-18): learned from pairs tagged with a function
(``context["function"]``) it is scoped to that function before anything else, whatever the
pairs or a log sample show; when the pairs of several functions back one candidate, each function
gets its own rule, judged on its own pairs (:func:`backing_functions`, :func:`in_function`).
Untagged pairs scope nothing: a rule only they back applies wherever the hook runs.

A rule is accepted only if it never changes a fixed (good) output and never moves a
bad output away from its fix. A rule that fails is narrowed, in this order, by:

1. a context key that really separates (every backing pair shares its value, no harmed pair has it);
2. its local context: the text every match in the backing pairs has around it ("ticket " before
   "#"), or the start / end of the text (:mod:`vectortrainer.rules.anchors`);
3. a text condition: a phrase every backing text contains and no harmed text does
   (:mod:`vectortrainer.rules.conditions`);
4. context conditions added one key at a time, the key that spares the most harmed pairs first.

If none makes it safe it is rejected, with why. On success the note says how it was scoped.
Context conditions (1 and 4) come only from what
:class:`~vectortrainer.rules.conditions.ContextConditions` offers: never an identifier, never a
value only one pair has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from vectortrainer.feedback.diffing import (
    edit_distance,
    on_the_way,
    toward_reordered,
    word_distance,
)
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.rules import interpreter
from vectortrainer.rules.anchors import narrowed, shared_context
from vectortrainer.rules.conditions import (
    FUNCTION_KEY,
    ContextConditions,
    discriminating_ngrams,
    ngram_pattern,
    separating_key,
)
from vectortrainer.rules.evidence import precise_enough
from vectortrainer.rules.lexicon import is_known_word, is_regional_variant
from vectortrainer.rules.model import FIRES_ON_ANY_TEXT, Evidence, Rule, rule_id_for, rules_document

_PHRASES_TRIED = 3


@dataclass
class RejectedRule:
    """A candidate that was not accepted (or kept inactive), and why."""

    rule: Rule
    reason: str


@dataclass
class Evaluation:
    supporters: list[int]
    violations: list[int]
    gain: int
    # the text of each violation the rule changed
    harmed_texts: list[str] = field(default_factory=list)
    # pairs it changes towards a fix that also moved words (see toward_reordered): they neither
    # show the correction nor contradict it, so they count against its precision, not as harm
    unconfirmed: list[int] = field(default_factory=list)
    # supporters where a change of wording (see _rewords) makes less than half of what is left to
    # correct: part of a sentence the person rewrote, not a preference shown on purpose; they
    # count as unconfirmed
    unfocused: list[int] = field(default_factory=list)

    @property
    def confirmed(self) -> int:
        """The supporters that show the correction on purpose."""
        return len(self.supporters) - len(self.unfocused)

    @property
    def unsure(self) -> int:
        """The places it fires that neither back it nor are harmed: they count against it."""
        return len(self.unconfirmed) + len(self.unfocused)


@dataclass(frozen=True)
class Trial:
    """What a rule is judged on: the pairs, their residuals as the accepted rules leave them, and
    the cache of each residual's distance to its fix (shared, filled as pairs are measured).

    ``exempt`` pairs are overruled by a conflict decision on the rule's trigger (not looked at);
    ``forbidden`` pairs belong to another rule kept alongside it (it may not change them);
    ``where`` (from :class:`~vectortrainer.rules.text_index.PairIndex`) lists the only pairs the
    rule could change (every scoped form of it changes fewer); None: all of them. ``conditions``
    are the context conditions the pairs offer (computed from them when not given).
    """

    residuals: Sequence[str]
    pairs: Sequence[FeedbackPair]
    cache: dict[int, int]
    exempt: frozenset[int] = frozenset()
    forbidden: frozenset[int] = frozenset()
    where: Sequence[int] | None = None
    conditions: ContextConditions | None = None

    @property
    def usable_contexts(self) -> Sequence[Mapping[str, str]]:
        """What each pair's context offers as a rule condition (see
        :class:`~vectortrainer.rules.conditions.ContextConditions`)."""
        conditions = self.conditions or ContextConditions([p.context for p in self.pairs])
        return conditions.usable

    def evaluate(self, rule: Rule) -> Evaluation:
        """Which pairs the rule helps and which it harms."""
        return evaluate(rule, self)

    def safe(self, rule: Rule | None, backing: Sequence[int]) -> Evaluation | None:
        """The rule's evaluation when it harms no pair and still helps every pair in ``backing``;
        None otherwise (or for no rule)."""
        if rule is None:
            return None
        result = self.evaluate(rule)
        return result if not result.violations and set(result.supporters) >= set(backing) else None


def evaluate(rule: Rule, trial: Trial) -> Evaluation:
    """Which pairs the rule helps and which it harms; it may not change ``trial.forbidden`` pairs
    at all, and only ``trial.where`` is looked at (see :class:`Trial`)."""
    compiled, skipped = interpreter.load_rules(rules_document([rule]))
    pairs, residuals, cache = trial.pairs, trial.residuals, trial.cache
    if skipped or not compiled["rules"]:
        return Evaluation([], list(range(len(pairs))), 0)
    supporters, violations, harmed, unconfirmed, unfocused, gain = [], [], [], [], [], 0
    wording = _rewords(rule)
    for index in range(len(pairs)) if trial.where is None else trial.where:
        residual, pair = residuals[index], pairs[index]
        if index in trial.exempt:  # overruled by a conflict decision on this rule's trigger
            continue
        context = dict(pair.context)
        if (
            interpreter.apply_rules(compiled, pair.fixed_output, context, rule.target)
            != pair.fixed_output
        ):
            violations.append(index)
            harmed.append(pair.fixed_output)
            continue
        after = interpreter.apply_rules(compiled, residual, context, rule.target)
        if after == residual:
            continue
        if index in trial.forbidden:  # another rule kept alongside this one owns that pair
            violations.append(index)
            harmed.append(residual)
            continue
        before_distance = cache.get(index)
        if before_distance is None:
            before_distance = cache[index] = edit_distance(residual, pair.fixed_output)
        after_distance = edit_distance(after, pair.fixed_output)
        # It helps only by making part of the person's correction: a step on a shortest way
        # from the text to its fix, touching nothing the person left as it was.
        if after_distance < before_distance and on_the_way(residual, after, pair.fixed_output):
            supporters.append(index)
            gain += before_distance - after_distance
            if wording and 2 * word_distance(residual, after) < word_distance(
                    residual, pair.fixed_output):
                unfocused.append(index)
        elif toward_reordered(residual, after, pair.fixed_output):
            unconfirmed.append(index)
        else:
            violations.append(index)
            harmed.append(residual)
    return Evaluation(supporters, violations, gain, harmed, unconfirmed, unfocused)


def scope(
    rule: Rule, trial: Trial, elsewhere: Iterable[str] = (), evaluation: Evaluation | None = None
) -> tuple[Rule | None, Evaluation, str]:
    """(the rule scoped until it is safe, its evaluation, how it was scoped) or (None, evaluation,
    why not).

    ``elsewhere`` are texts beyond the pairs (logged outputs) a text condition should rarely match;
    ``evaluation`` is the rule's on this trial when it was just made.
    """
    evaluation = evaluation if evaluation is not None else trial.evaluate(rule)
    if not evaluation.supporters:
        return None, evaluation, "helps no pair"
    if not evaluation.violations:
        return rule, evaluation, ""
    bare = "unscoped" if FUNCTION_KEY not in rule.condition else "kept only to its function,"
    harmed = (f"{bare} it changed {len(evaluation.violations)} good or partly fixed output(s) "
              f"(pairs {first_indices(evaluation.violations)})")
    supporters = evaluation.supporters
    pairs, residuals = trial.pairs, trial.residuals

    key = separating_key(trial.usable_contexts, supporters, evaluation.violations)
    if key is not None:
        candidate = replace(rule, condition={**rule.condition, key[0]: key[1]})
        result = trial.safe(candidate, supporters)
        if result is not None:
            return (
                candidate,
                result,
                f"context {key[0]}={key[1]} separates its pairs from the rest; {harmed}",
            )

    if _regional_spelling(rule):
        # Both spellings are words: consistent corrections show a house style (one context may
        # have its own, found above), and a good output that keeps the other spelling shows there
        # is none; a phrase or neighbouring words cannot find one.
        return None, evaluation, (
            f"a regional spelling ({rule.pattern!r} -> {rule.replacement!r}) that good outputs "
            f"keep as it is: {harmed}; both are words, so these corrections show no house style")

    if (rule.kind in ("replace", "remove") and _rewords(rule)
            and not precise_enough(len(supporters), len(evaluation.violations))):
        # Good texts keep the wording more often than the pairs change it: words that happen to
        # stand around it in the pairs would be chosen after the fact, as a phrase would.
        return None, evaluation, (
            f"a change of wording ({rule.pattern!r} -> {rule.replacement!r}) that good outputs "
            f"keep more often than the pairs make it: {harmed}")

    context = shared_context(rule, [residuals[i] for i in supporters])
    for part in context.parts() if context is not None else []:
        narrow = narrowed(rule, part)
        result = trial.safe(narrow, supporters)
        if narrow is not None and result is not None:
            return (
                narrow,
                result,
                f"narrowed to matches {part.describe()}, as in every pair that backs it; {harmed}",
            )

    backing = set(supporters)
    others = [residuals[i] for i in range(len(pairs)) if i not in backing]
    # A phrase found by looking for what spares the harmed texts earns a triggered rule no
    # precision (real corrections: "to" -> "for" when the text has "do some"); only where the
    # pairs outweigh the texts it harms may a phrase keep it. Appends have no other trigger.
    dredged = rule.kind not in FIRES_ON_ANY_TEXT and not precise_enough(
        len(supporters), len(evaluation.violations))
    phrases = [] if dredged else discriminating_ngrams(
        [residuals[i] for i in supporters], evaluation.harmed_texts, [*others, *elsewhere]
    )
    for phrase in phrases[:_PHRASES_TRIED]:
        candidate = replace(rule, text_condition=[*rule.text_condition, ngram_pattern(phrase)])
        result = trial.safe(candidate, supporters)
        if result is not None:
            return (
                candidate,
                result,
                (
                    f"applies only when the text contains {phrase!r}: every pair that backs it "
                    f"does, none it would harm; {harmed}"
                ),
            )

    return _scope_by_context(rule, evaluation, trial, harmed)


def _rewords(rule: Rule) -> bool:
    """Whether ``rule`` swaps correct lower-case words for others ("has become" -> "became"),
    drops or capitalises them: a choice of wording, not the fix of an error (a misspelling, a
    name, an abbreviation)."""
    if rule.kind in ("case_fix", "remove"):  # "allied" -> "Allied", " levels" -> ""
        words = rule.pattern.split()
    elif rule.kind == "replace":
        words = [*rule.pattern.split(), *rule.replacement.split()]
    else:
        return False
    return bool(words) and all(w.isalpha() and w.islower() and is_known_word(w) for w in words)


def _regional_spelling(rule: Rule) -> bool:
    """Whether ``rule`` swaps one word for its other regional spelling ("metres" -> "meters")."""
    return (rule.kind == "replace" and rule.pattern.isalpha()
            and rule.replacement.isalpha() and is_regional_variant(rule.pattern, rule.replacement))


def _scope_by_context(
    rule: Rule, evaluation: Evaluation, trial: Trial, harmed: str
) -> tuple[Rule | None, Evaluation, str]:
    """Context conditions added one key at a time (the key that spares the most harmed pairs
    first)."""
    pairs = trial.pairs
    shared = shared_pair_context(trial.usable_contexts, evaluation.supporters)
    condition = dict(rule.condition)
    while evaluation.violations:
        options = {k: v for k, v in shared.items() if k not in condition}
        if not options:
            return (
                None,
                evaluation,
                (
                    f"would change {len(evaluation.violations)} good or partly fixed "
                    f"output(s) (pairs {first_indices(evaluation.violations)}) "
                    "and no shared context, local context or phrase scopes it"
                ),
            )
        key = max(
            sorted(options),
            key=lambda k: sum(
                1 for i in evaluation.violations if str(pairs[i].context.get(k)) != options[k]
            ),
        )
        condition[key] = options[key]
        rule = replace(rule, condition=dict(condition))
        evaluation = trial.evaluate(rule)
    if not evaluation.supporters:
        return None, evaluation, "helps no pair once scoped"
    shown = ", ".join(f"{k}={v}" for k, v in sorted(condition.items()))
    return rule, evaluation, f"context {shown} shared by the pairs that back it; {harmed}"


def shared_pair_context(
    contexts: Sequence[Mapping[str, str]], indices: Sequence[int]
) -> dict[str, str]:
    """The context values every pair in ``indices`` has, of those ``contexts`` offer as conditions
    (:attr:`~vectortrainer.rules.conditions.ContextConditions.usable`)."""
    first = contexts[indices[0]]
    return {k: v for k, v in first.items() if all(contexts[i].get(k) == v for i in indices[1:])}


def function_of(pair: FeedbackPair) -> str | None:
    """The function a pair corrects (its ``context["function"]``), None for an untagged pair."""
    function = pair.context.get(FUNCTION_KEY)
    return str(function) if function not in (None, "") else None


def in_function(rule: Rule, function: str | None) -> Rule:
    """``rule`` scoped to ``function`` (unchanged for None: an untagged pair scopes nothing)."""
    if function is None or rule.condition.get(FUNCTION_KEY) == function:
        return rule
    return replace(rule, condition={**rule.condition, FUNCTION_KEY: function})


def backing_functions(
    rule: Rule, trial: Trial, evaluation: Evaluation | None = None
) -> dict[str | None, int]:
    """How many pairs of each function ``rule`` helps, the most helped function first; None stands
    for the untagged pairs it helps, and comes last (its rule is judged after the functions' own).

    Each function gets its own copy of the rule (:func:`in_function`), so no rule crosses
    functions. A rule that already names a function stays in it; one that helps no pair gives
    ``{None: 0}`` (it is then rejected as it is).
    """
    named = rule.condition.get(FUNCTION_KEY)
    evaluation = evaluation if evaluation is not None else trial.evaluate(rule)
    helped = Counter(function_of(trial.pairs[i]) for i in evaluation.supporters)
    if named is not None:
        return {named: helped[named]}
    tagged = sorted((f for f in helped if f is not None), key=lambda f: (-helped[f], f))
    backing: dict[str | None, int] = {f: helped[f] for f in tagged}
    if None in helped or not tagged:
        backing[None] = helped[None]
    return backing


def first_indices(indices: Sequence[int], n: int = 5) -> str:
    shown = ", ".join(str(i) for i in indices[:n])
    return shown + (", ..." if len(indices) > n else "")


def with_support(rule: Rule, evaluation: Evaluation) -> Rule:
    """The accepted rule with its backing pairs, its replay figures and why it is scoped as it
    is."""
    evidence = Evidence(
        why=rule.evidence.why, repaired=len(evaluation.supporters), gain=evaluation.gain
    )
    rule = replace(
        rule,
        support=len(evaluation.supporters),
        sources=list(evaluation.supporters),
        evidence=evidence,
    )
    rule.rule_id = rule_id_for(rule)
    return rule


def explain(rule: Rule, note: str) -> str:
    """The rule's ``why``: what it generalises over (set when it was a candidate), the function it
    is kept to, and how it was scoped."""
    function = rule.condition.get(FUNCTION_KEY)
    scoped = ""
    if function is not None:
        scoped = f"kept to function {function}: learned from that function's corrections"
        scoped = "" if scoped in rule.evidence.why else scoped
    return "; ".join(part for part in (rule.evidence.why, scoped, note) if part)

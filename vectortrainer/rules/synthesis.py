"""Feedback pairs -> a discrete, generalising rule set with visible conflicts (FR-2.3, FR-2.4, VT-5,
VT-12).

How rules are found (heuristics; an LLM may propose rules first, see `LLMRuleProposer`):

1. Each pair's bad output is diffed against its fix in word tokens (`diffing.edit_hunks`).
   Every edit becomes a candidate rule of a kind that fits where it sits: a deletion at
   the start is a prefix strip, an insertion at the end an append, a change of letter
   case a case fix, whitespace-only edits a whitespace normalisation, anything else a
   whole-word replacement (insertions carry one word of context on each side).
2. Candidates that differ only in numbers or in names kept on both sides ("order 4411"
   -> "order #4411", "order 97" -> "order #97") are generalised into one regex rule whose
   variable parts are captured (`(\\d+)`, `([A-Z]\\w*)`) and written back (`\\g<1>`), also
   with numbers of the widths seen (`\\d{2}/\\d{2}/\\d{4}`, preferred when it covers as much);
   several edits of one span become one rule with reordered groups (US -> ISO dates); a
   removal that re-cases the next letter becomes a rule with a case transform. Literal
   parts are always `re.escape`d, so patterns stay linear-time.
3. Rules are accepted greedily, the most repair first, each checked on every pair as the
   hook would apply it: it must never change a fixed (good) output and never move a bad
   output away from its fix. A rule that fails is scoped (:mod:`~vectortrainer.rules.scoping`):
   by a context key that really separates, by its local context or an anchor, by a phrase
   in the text, or by context keys together; if nothing makes it safe it is rejected (and
   listed). Every rule is kept to the function whose pairs back it (VT-18): a candidate the
   pairs of several functions back becomes one rule per function, each judged on its own
   function's pairs (and needing two of them, as any rule does); no rule is ever conditioned
   on an identifier (a log uuid, a timestamp) or a value only one pair has. With logs, each
   accepted rule's blast radius is measured on them and a rule
   that fires there unlike its pairs is narrowed or kept inactive
   (:mod:`~vectortrainer.rules.blast_radius`). After each acceptance the remaining
   differences are recomputed, so corrections that compose (a suffix rewrite plus an
   append) become separate rules.
4. Corrections seen only once: a spelling fix ("recieve" -> "receive") holds wherever the
   word appears in its function's outputs; anything else becomes a narrow rule: literal, with
   a word of context, and conditioned on the pair's context, all of it that may be a
   condition (its function, and values other pairs share too: never its log's uuid, so a
   correction made in the app generalises as one recorded from the CLI does).

Conflicts between candidates are found and settled by :mod:`vectortrainer.rules.conflicts`.
With a semantic scorer, pairs whose fix rewrites the meaning teach no rule
(:mod:`~vectortrainer.rules.rewrites`): before a rule is kept, its pairs are screened, and any
that rewrite are dropped from the pool and the candidates ranked again without them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from vectortrainer.errors import RuleSynthesisError
from vectortrainer.feedback.diffing import bounded_pair, word_distance
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.semantic import SemanticScorer
from vectortrainer.json_types import JSONObject
from vectortrainer.rules.acceptance import Acceptance
from vectortrainer.rules.blast_radius import LogSample
from vectortrainer.rules.candidates import Candidate, CandidatePool, collect_candidates, specificity
from vectortrainer.rules.conflicts import (
    Conflict,
    Resolution,
    find_conflicts,
    resolution_for,
    rule_letter,
)
from vectortrainer.rules.evidence import describe, enough_evidence
from vectortrainer.rules.llm import LLMRuleProposer, accept_llm_rules
from vectortrainer.rules.model import Rule
from vectortrainer.rules.replay import apply_rules
from vectortrainer.rules.rewrites import REWRITE_SIMILARITY, RewriteScreen
from vectortrainer.rules.scoping import RejectedRule, first_indices, function_of, in_function

if TYPE_CHECKING:
    from vectortrainer.feedback.from_logs import LoggedOutput

# A correction one pair shows, with no sign it will be needed again, is no rule: real people's
# one-off edits ("give up" -> "give it up") made correct text worse wherever their words recur.
NOT_GENERALISABLE = (
    "not generalisable: seen in one pair only, and its words recur in no logged output"
)
# A correction seen once that is only a part of what its pair rewrote is no correction to repeat.
PART_OF_A_REWRITE = (
    "not generalisable: seen in one pair only, as one edit of a sentence the person rewrote"
)
_MAX_ROUNDS = 200


@dataclass
class RuleSet:
    """The synthesised rules (in the order the hook applies them) and everything a person may
    review."""

    rules: list[Rule]
    conflicts: list[Conflict] = field(default_factory=list)
    rejected: list[RejectedRule] = field(default_factory=list)
    # passed the pairs, held back by the logs
    inactive: list[RejectedRule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # pairs found to rewrite the meaning, of those the screen was asked about (see rules.rewrites)
    rewrites: list[int] = field(default_factory=list)
    pairs: list[FeedbackPair] = field(default_factory=list, repr=False)
    overrides: dict[str, Resolution] = field(default_factory=dict)
    # kept so a re-synthesis screens the same way
    scorer: SemanticScorer | None = field(default=None, repr=False)
    # the logged outputs the blast radius was measured on
    logs: list[LoggedOutput] | None = field(default=None, repr=False)

    def resolve(
        self, conflict_id: str, choice: int | str | Resolution, order: Sequence[int] | None = None
    ) -> RuleSet:
        """A new rule set with the person's decision on conflict ``conflict_id`` (this one is
        unchanged).

        ``choice`` is a rule index (that rule wins), ``"both"`` with ``order`` (default
        ``[0, 1]``: both kept, applied in that order), or a `Resolution`. Raises
        `RuleSynthesisError` if the conflict is unknown, the choice is out of range, or
        both rules cannot be kept safely in that order.
        """
        conflict = next((c for c in self.conflicts if c.conflict_id == conflict_id), None)
        if conflict is None:
            known = ", ".join(c.conflict_id for c in self.conflicts) or "none"
            raise RuleSynthesisError(f"no conflict {conflict_id!r} (known conflicts: {known})")
        resolution = resolution_for(conflict, choice, order)
        return synthesize_rules(
            self.pairs,
            scorer=self.scorer,
            overrides={**self.overrides, conflict_id: resolution},
            logs=self.logs,
        )

    def to_dict(self) -> JSONObject:
        return {
            "rules": [r.to_dict() for r in self.rules],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "rejected": [{"rule": r.rule.to_dict(), "reason": r.reason} for r in self.rejected],
            "inactive": [{"rule": r.rule.to_dict(), "reason": r.reason} for r in self.inactive],
            "logs_sampled": len(self.logs) if self.logs is not None else None,
            "notes": list(self.notes),
            "rewrites": list(self.rewrites),
            "overrides": {cid: r.to_json() for cid, r in self.overrides.items()},
        }


def synthesize_rules(
    pairs: Sequence[FeedbackPair],
    *,
    scorer: SemanticScorer | None = None,
    llm: LLMRuleProposer | None = None,
    overrides: Mapping[str, int | Sequence[int] | Resolution] | None = None,
    logs: Sequence[LoggedOutput] | None = None,
    progress: Progress | None = None,
) -> RuleSet:
    """Turn feedback pairs into a rule set (see the module docstring for the method and policy).

    ``overrides`` maps conflict ids to a person's decision (an index, an order of indices
    to keep both, or a `Resolution`). ``logs`` are uncorrected logged outputs of the
    function (see
    :func:`vectortrainer.feedback.from_logs.uncorrected_outputs`): every rule's blast
    radius is measured on them and a rule that changes logs unlike its pairs is narrowed
    or kept inactive. Raises `RuleSynthesisError` when a "keep both" decision cannot be
    applied safely. ``progress(done, total, what)`` hears how far it got (``total`` None
    while rules are being accepted).

    Volume: each pair is diffed once, and again only when a rule changed it; a pair over
    :data:`~vectortrainer.feedback.diffing.MAX_DIFF_CHARS` is learned from its changed middle,
    or skipped if that is still too long (both listed in the notes); a rule is checked only
    on the pairs it could change (:mod:`~vectortrainer.rules.text_index`). Lone surrogates in
    the pairs' text become U+FFFD (counted in the notes).
    """
    report = progress or _silent
    pairs, replaced = _without_lone_surrogates(
        [p if isinstance(p, FeedbackPair) else FeedbackPair.from_dict(p) for p in pairs])
    resolutions = {cid: Resolution.coerce(value) for cid, value in (overrides or {}).items()}
    log_outputs = list(logs) if logs is not None else None
    notes: list[str] = []
    rejected: list[RejectedRule] = []
    if replaced:
        notes.append(
            f"{len(replaced)} pair(s) held lone surrogates (not valid Unicode), read as U+FFFD: "
            f"pairs {first_indices(replaced)}"
        )
    learn_pairs, bounded_notes, skipped = _bounded(pairs)
    notes.extend(bounded_notes)
    screen = RewriteScreen(pairs, scorer, lambda what: report(0, None, what))
    active = [i for i in range(len(pairs)) if i not in skipped]
    sample = LogSample.of(log_outputs) if log_outputs is not None else None
    learner = Acceptance(learn_pairs, sample)
    if llm is not None:  # the LLM is shown every pair, so every pair is screened first
        shown = set(screen.rewrites(active))
        active = [i for i in active if i not in shown]
        accept_llm_rules(llm, learner, active, notes, rejected)

    pool = CandidatePool(learn_pairs, active)
    pool.update(
        learner.residuals, lambda done, total: report(done, total, "diffing feedback pairs")
    )
    learner.take_changed()  # every pair was just diffed as it stands
    first_literal = pool.literal_groups()
    conflicts, banned, exempt = find_conflicts(first_literal, resolutions)
    tried: set[Candidate] = set(banned)
    # A person's choice is accepted first, whatever its support; the pairs it overrules are exempt.
    for conflict in conflicts:
        if conflict.resolved_by != "person":
            continue
        if conflict.order is not None:
            _keep_both(conflict, learner)
            tried.update(Candidate(r.kind, r.pattern, r.replacement) for r in conflict.rules)
            continue
        chosen = conflict.rules[conflict.chosen]
        candidate = Candidate(chosen.kind, chosen.pattern, chosen.replacement)
        overruled = frozenset(exempt.get(candidate, set()))
        tried.add(candidate)
        for scoped in learner.scope_each_function(candidate.as_rule(), overruled):
            if scoped.rule is None:
                rejected.append(
                    RejectedRule(
                        in_function(chosen, scoped.function),
                        f"chosen in conflict {conflict.conflict_id} but {scoped.why}",
                    )
                )
                continue
            learner.accept(
                scoped.rule,
                scoped.evaluation,
                f"chosen by a person in conflict {conflict.conflict_id}; {scoped.why}".rstrip("; "),
                exempt=overruled,
                narrow_on_logs=False,
            )

    for round_number in range(_MAX_ROUNDS):
        pool.update(learner.residuals, only=learner.take_changed())
        report(
            round_number + 1, None, f"ranking candidates: {len(learner.accepted)} rule(s) so far"
        )
        ranked = [
            g for g in pool.groups() if g.candidate not in tried and not (g.literals & banned)
        ]
        # Most repair first (a whole "Best regards, Support"
        # rewrite before its "Best" -> "Kind" part).
        # Between equal candidates the narrower first (fixed-width numbers: dates, not URL paths).
        ranked.sort(
            key=lambda g: (
                -g.gain,
                -g.support,
                -specificity(g.candidate),
                g.candidate.pattern,
                g.candidate.replacement,
                min(g.sources),
                g.candidate.kind,
                g.candidate.group_case,
            )
        )
        advanced = False
        for group in ranked:
            tried.add(group.candidate)
            overruled = frozenset().union(
                *(exempt.get(c, set()) for c in group.literals | {group.candidate})
            )
            # One rule per function that backs the candidate, each judged on its own pairs; the
            # correction itself must be seen in two pairs (of any function).
            for scoped in learner.scope_each_function(group.candidate.as_rule(), overruled):
                if scoped.rule is None or scoped.seen < 2:
                    sources = sorted(
                        i for i in set(group.sources)
                        if function_of(learner.pairs[i]) == scoped.function
                    )
                    rejected.append(
                        RejectedRule(
                            in_function(
                                group.candidate.as_rule(support=len(sources), sources=sources),
                                scoped.function,
                            ),
                            scoped.why or "backed by one pair once checked",
                        )
                    )
                    continue
                rule, evaluation, why = scoped.rule, scoped.evaluation, scoped.why
                spared = overruled
                # Evidence (:mod:`~vectortrainer.rules.evidence`): the pairs a conflict decision
                # overruled are places it fires where a person wrote something else. Where they
                # outweigh it, it is scoped off them as off any pair it harms ("Hello" kept to
                # the free tier when the VIP pairs say "Hey"), or refused.
                against = learner.changes(rule, overruled)
                if against and not enough_evidence(scoped.seen, against, logs_measured=True):
                    narrowed, evaluation, why = learner.scope(scoped.rule)
                    spared, against = frozenset(), 0
                    if narrowed is None:
                        rejected.append(RejectedRule(scoped.rule, f"{why}, the pairs of its "
                                                     "conflict's other side included"))
                        continue
                    rule = narrowed
                # A misspelt word is its own evidence of where the fix holds; logs measure the rest.
                measured = learner.measures_on_logs or (
                    group.candidate.is_spelling_fix and learner.attests_spelling(
                        group.candidate.pattern, group.candidate.replacement))
                backers = evaluation.confirmed + scoped.elsewhere
                against += evaluation.unsure
                if not enough_evidence(backers, against, logs_measured=measured):
                    rejected.append(RejectedRule(rule, "too little evidence: " + describe(
                        backers, against, logs_measured=measured)))
                    continue
                rewrites = screen.rewrites(group.sources)
                if rewrites:  # learn on as if those pairs had never been given
                    pool.drop(rewrites)
                    tried.discard(group.candidate)
                    advanced = True
                    break
                kept = learner.accept(rule, evaluation, why, exempt=spared)
                advanced = advanced or kept is not None
            if advanced:
                break
        if not advanced:
            break

    left = [
        index for index in pool.active
        if learner.residuals[index] != learn_pairs[index].fixed_output
    ]
    undo = _UndoIndex()
    step = max(1, len(left) // 100)
    for done, index in enumerate(left, start=1):
        if learner.residuals[index] != learn_pairs[index].fixed_output:
            _learn_one_off(index, learner, banned, rejected, undo, screen)
        if done % step == 0 or done == len(left):
            report(done, len(left), "one-off corrections")
    rewritten = {i for r in rejected if r.reason == PART_OF_A_REWRITE for i in r.rule.sources}
    one_offs = sorted({i for r in rejected if r.reason == NOT_GENERALISABLE
                       for i in r.rule.sources} - rewritten)
    if one_offs:
        notes.append(f"{len(one_offs)} pair(s) hold corrections made no rule: too rare to "
                     f"generalise, and their words recur in no logged output (pairs "
                     f"{first_indices(one_offs)})")
    if rewritten:
        notes.append(f"{len(rewritten)} pair(s) rewrite a sentence of one output: no part of it "
                     f"is learned as a rule (pairs {first_indices(sorted(rewritten))})")
    if screen.found:
        notes.append(
            f"{len(screen.found)} of the {screen.screened} pair(s) screened rewrite the meaning "
            f"(semantic similarity < {REWRITE_SIMILARITY}); no rule is learned from them: pairs "
            f"{first_indices(screen.found)}"
        )
    unproven = sum(1 for r in rejected if r.reason.startswith("too little evidence"))
    if unproven:
        notes.append(f"{unproven} candidate rule(s) refused for too little evidence (see "
                     "rejected)")
    if llm is None:
        notes.append("rules synthesised by heuristics (no LLM configured)")
    if sample is None:
        notes.append("blast radius not measured: no store of the function's logs")
    elif not len(sample):
        notes.append(
            "blast radius not measured: the store holds no "
            "uncorrected successful output of the function"
        )
    else:
        held = f"; {len(learner.inactive)} rule(s) kept inactive" if learner.inactive else ""
        notes.append(f"blast radius measured on {len(sample)} uncorrected logged output(s){held}")
    accepted = learner.finish()
    _check_kept_both(conflicts, accepted, learn_pairs)
    return RuleSet(
        rules=accepted,
        conflicts=conflicts,
        rejected=rejected,
        inactive=learner.inactive,
        notes=notes,
        rewrites=screen.found,
        pairs=list(pairs),
        overrides=resolutions,
        scorer=scorer,
        logs=log_outputs,
    )


def _learn_one_off(
    index: int,
    learner: Acceptance,
    banned: set[Candidate],
    rejected: list[RejectedRule],
    undo: _UndoIndex | None = None,
    screen: RewriteScreen | None = None,
) -> None:
    """A correction seen once: a spelling fix holds anywhere in its function's outputs (where logs
    measure it); anything else stays literal, with a word of context and the pair's context (what
    of it may be a condition) as its condition."""
    pairs = learner.pairs
    function = function_of(pairs[index])
    bare, _ = collect_candidates(learner.residuals, pairs, [index], literal_only=True)
    # Real post-editors left misspellings that one pair had fixed ("discipoles"): with no logs to
    # measure where else a one-off fires, a spelling fix needs two pairs like any rule.
    for candidate in bare if learner.measures_on_logs else ():
        if (
            candidate.is_spelling_fix
            and candidate.pattern[:1].islower()  # seen once, "Platon" -> "Plato" is a name
            and learner.attests_spelling(candidate.pattern, candidate.replacement)
            and candidate not in banned
            and _undone(candidate, learner, undo) is None
        ):
            spelling = in_function(candidate.as_rule(), function)
            rule, evaluation, why = learner.scope(spelling)
            kept_as_is = rule is not None and rule.condition == spelling.condition
            if rule is not None and kept_as_is and not rule.text_condition:
                if screen is not None and screen.rewrites([index]):
                    return
                learner.accept(
                    rule, evaluation, "a spelling fix: it holds wherever the misspelt word appears"
                )
    if learner.residuals[index] == pairs[index].fixed_output:
        return
    literal, _ = collect_candidates(learner.residuals, pairs, [index], context_words=1,
                                    literal_only=True)
    for candidate in literal:
        if candidate in banned:
            continue
        undone = _undone(candidate, learner, undo)
        if undone is not None:
            rejected.append(
                RejectedRule(
                    replace(candidate.as_rule(), sources=[index]),
                    f"would undo rule {undone.rule_id}",
                )
            )
            continue
        narrow = replace(candidate.as_rule(), condition=dict(learner.conditions.usable[index]))
        if not learner.recurs_in_logs(narrow):
            rejected.append(RejectedRule(replace(narrow, sources=[index]), NOT_GENERALISABLE))
            continue
        rule, evaluation, why = learner.scope(narrow)
        if rule is None:
            rejected.append(RejectedRule(replace(narrow, sources=[index]), why))
            continue
        if _part_of_a_rewrite(rule, learner.residuals[index], pairs[index]):
            rejected.append(RejectedRule(replace(rule, sources=[index]), PART_OF_A_REWRITE))
            continue
        if screen is not None and screen.rewrites([index]):
            return
        learner.accept(rule, evaluation, "seen once: kept to its words and its pair's context")


def _part_of_a_rewrite(rule: Rule, residual: str, pair: FeedbackPair) -> bool:
    """Whether ``rule`` makes less than half of what is left to correct in the one pair behind it
    (in words): one edit of a sentence the person rewrote, a fact of that reply ("We have asked
    the courier for an update" -> "The courier confirmed delivery for tomorrow"), which every
    logged reply with its words would get."""
    after = apply_rules([rule], residual, dict(pair.context))
    return 2 * word_distance(residual, after) < word_distance(residual, pair.fixed_output)


def _keep_both(conflict: Conflict, learner: Acceptance) -> None:
    """The conflict's rules in the person's order, each scoped off the others' pairs; or a
    refusal."""
    assert conflict.order is not None
    shown = " then ".join(rule_letter(i) for i in conflict.order)
    for index in conflict.order:
        contender = conflict.rules[index]
        others = frozenset(s for i, r in enumerate(conflict.rules) if i != index for s in r.sources)
        candidate = Candidate(contender.kind, contender.pattern, contender.replacement)
        learner.cache.clear()  # each rule sees what the ones before it left
        for scoped in learner.scope_each_function(candidate.as_rule(), forbidden=others):
            if scoped.rule is None:
                raise RuleSynthesisError(
                    f"conflict {conflict.conflict_id}: cannot keep both ({shown}): rule "
                    f"{rule_letter(index)} ({contender.pattern!r} -> {contender.replacement!r}) "
                    f"{scoped.why} (the other rules' pairs: {first_indices(sorted(others))}); "
                    "keep one rule instead"
                )
            note = f"kept with the other rules of conflict {conflict.conflict_id} ({shown})"
            learner.accept(scoped.rule, scoped.evaluation, f"{note}; {scoped.why}".rstrip("; "),
                           forbidden=others, narrow_on_logs=False)


def _check_kept_both(
    conflicts: Sequence[Conflict], accepted: Sequence[Rule], pairs: Sequence[FeedbackPair]
) -> None:
    """With rules kept both, the whole set must still leave every fixed output as it is."""
    both = [c for c in conflicts if c.order is not None]
    if not both:
        return
    changed = [
        i
        for i, p in enumerate(pairs)
        if apply_rules(accepted, p.fixed_output, p.context) != p.fixed_output
    ]
    if changed:
        ids = ", ".join(c.conflict_id for c in both)
        raise RuleSynthesisError(
            f"keeping both rules of {ids} would change the fixed output "
            f"of pair(s) {first_indices(changed)}; keep one rule instead"
        )


Progress = Callable[[int, "int | None", str], None]


def _silent(done: int, total: int | None, what: str) -> None:
    return None


def _without_lone_surrogates(pairs: list[FeedbackPair]) -> tuple[list[FeedbackPair], list[int]]:
    """The pairs with lone surrogates as U+FFFD (the text policy of `vectortrainer.feedback.pair`),
    and which held any."""
    cleaned, replaced = [], []
    for index, pair in enumerate(pairs):
        pair, count = pair.without_lone_surrogates()
        cleaned.append(pair)
        if count:
            replaced.append(index)
    return cleaned, replaced


def _bounded(pairs: list[FeedbackPair]) -> tuple[list[FeedbackPair], list[str], set[int]]:
    """The pairs rule learning diffs (a huge pair cut to its changed middle), notes on those cut,
    and the skipped."""
    learn: list[FeedbackPair] = []
    notes: list[str] = []
    skipped: set[int] = set()
    for index, pair in enumerate(pairs):
        bounded = bounded_pair(pair.bad_output, pair.fixed_output)
        if bounded.status == "whole":
            learn.append(pair)
            continue
        notes.append(f"pair {index} {bounded.status}: {bounded.reason}")
        if bounded.status == "skipped":
            skipped.add(index)
            learn.append(pair)  # kept in place (indices stay), never diffed
        else:
            learn.append(replace(pair, bad_output=bounded.bad, fixed_output=bounded.fixed))
    return learn, notes, skipped


class _UndoIndex:
    """The text each accepted replace or case fix produced, to find one a new candidate would take
    back."""

    def __init__(self) -> None:
        self.seen = 0
        self.first: dict[str, tuple[int, Rule]] = {}
        self.lengths: set[int] = set()

    def refresh(self, accepted: Sequence[Rule]) -> None:
        for position in range(self.seen, len(accepted)):
            rule = accepted[position]
            produced = rule.replacement.strip()
            if rule.kind in ("replace", "case_fix") and produced:
                self.first.setdefault(produced, (position, rule))
                self.lengths.add(len(produced))
        self.seen = len(accepted)

    def undone(self, candidate: Candidate) -> Rule | None:
        """The first accepted rule whose produced text lies inside the candidate's pattern (as
        `_undoes`)."""
        if candidate.kind not in ("replace", "remove", "case_fix"):
            return None
        text = candidate.pattern
        found: tuple[int, Rule] | None = None
        for length in self.lengths:
            for start in range(len(text) - length + 1):
                hit = self.first.get(text[start : start + length])
                if hit is not None and (found is None or hit[0] < found[0]):
                    found = hit
        return found[1] if found is not None else None


def _undone(candidate: Candidate, learner: Acceptance, undo: _UndoIndex | None) -> Rule | None:
    if undo is None or len(candidate.pattern) > 200:
        return _undoes(candidate, learner.accepted)
    undo.refresh(learner.accepted)
    return undo.undone(candidate)


def _undoes(candidate: Candidate, accepted: Sequence[Rule]) -> Rule | None:
    """An accepted rule whose output this candidate would take back, if any."""
    if candidate.kind not in ("replace", "remove", "case_fix"):
        return None
    for rule in accepted:
        produced = rule.replacement.strip()
        if rule.kind in ("replace", "case_fix") and produced and produced in candidate.pattern:
            return rule
    return None

"""Rule learning as one use case: which pairs, how they are screened, and the decisions a person
made.

The CLI (``vectortrainer rules synthesize``), the TUI's rules screen and the
pipeline's synthesize stage all call :func:`learn_rules`, so the same feedback
gives the same rules whichever face asks. Pairs tagged with another function
(``context["function"]``) are left out; with ``semantic_screen`` (the config's
``feedback.semantic_screen``) no rule is learned from pairs whose fix rewrites the meaning,
as the MiniLM model (:func:`vectortrainer.feedback.semantic.shared_scorer`) judges the pairs
behind each rule before it is kept (:mod:`vectortrainer.rules.rewrites`). With a log ``source`` (a
:class:`~vectortrainer.store.source.LogReader`) every rule's blast radius is measured
on the uncorrected successful outputs of the pairs' functions before a hook is made
from it (:func:`vectortrainer.feedback.from_logs.uncorrected_outputs`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from vectortrainer.errors import RuleSynthesisError
from vectortrainer.feedback.from_logs import LoggedOutput, uncorrected_outputs
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.semantic import shared_scorer
from vectortrainer.feedback.store import FeedbackRead, FeedbackStore, read_feedback
from vectortrainer.rules.conflicts import Resolution, resolution_for
from vectortrainer.rules.synthesis import RuleSet, synthesize_rules
from vectortrainer.store.source import LogReader

Choice = int | str | tuple[str, Sequence[int]]
SynthesisProgress = Callable[[int, int | None, str], None]


def pairs_for_function(pairs: Iterable[FeedbackPair], function: str | None) -> list[FeedbackPair]:
    """The pairs of ``function`` and the untagged ones (all of them when ``function`` is None)."""
    return [p for p in pairs if teaches(p, function)]


def teaches(pair: FeedbackPair, function: str | None) -> bool:
    """Whether ``function``'s rules learn from ``pair``: it is tagged with ``function`` or with
    none (any pair when ``function`` is None)."""
    return function is None or pair.context.get("function") in (None, function)


def functions_of(pairs: Iterable[FeedbackPair], function: str | None = None) -> list[str]:
    """The functions whose logs the rules will meet: ``function``, or every one the pairs are tagged
    with."""
    if function is not None:
        return [function]
    return sorted({str(p.context["function"]) for p in pairs if p.context.get("function")})


def logged_outputs(
    source: LogReader, pairs: Sequence[FeedbackPair], function: str | None = None
) -> list[LoggedOutput]:
    """The blast-radius sample: uncorrected successful outputs of the pairs' functions in
    ``source``.

    Pairs tagged with no function could meet any function's outputs: then every function is sampled.
    """
    functions = functions_of(pairs, function) or [
        summary.name for summary in source.list_functions()
    ]
    return uncorrected_outputs(source, functions, pairs)


def learn_rules(
    pairs: Iterable[FeedbackPair],
    *,
    semantic_screen: bool = True,
    function: str | None = None,
    choices: Mapping[str, Choice] | None = None,
    source: LogReader | None = None,
    progress: SynthesisProgress | None = None,
) -> RuleSet:
    """Rules from feedback ``pairs``, with a person's ``choices`` on conflicts applied.

    ``choices`` maps a conflict id to a rule index, ``"both"``, or ``("both", order)``;
    each is checked against its conflict's rules first. With ``source`` (a log source)
    each rule's blast radius is measured on the function's uncorrected logs; ``progress(done,
    total, what)`` hears how synthesis advances (every face shows it). Raises
    :class:`~vectortrainer.errors.RuleSynthesisError` for an unknown conflict or a
    choice that cannot be applied.
    """
    selected = pairs_for_function(pairs, function)
    scorer = shared_scorer() if semantic_screen else None
    logs = logged_outputs(source, selected, function) if source is not None else None
    rule_set = synthesize_rules(selected, scorer=scorer, logs=logs, progress=progress)
    if not choices:
        return rule_set
    conflicts = {c.conflict_id: c for c in rule_set.conflicts}
    unknown = sorted(set(choices) - set(conflicts))
    if unknown:
        raise RuleSynthesisError(f"no conflict {', '.join(unknown)} (known conflicts: "
                                 f"{', '.join(conflicts) or 'none'})")
    overrides: dict[str, Resolution] = {}
    for conflict_id, choice in choices.items():
        if isinstance(choice, tuple):
            overrides[conflict_id] = resolution_for(
                conflicts[conflict_id], choice[0], list(choice[1])
            )
        else:
            overrides[conflict_id] = resolution_for(conflicts[conflict_id], choice, None)
    return synthesize_rules(
        selected, scorer=scorer, overrides=overrides, logs=logs, progress=progress
    )


@dataclass(frozen=True)
class LearnedRules:
    """Rules learned from a feedback file, and what reading it found (malformed lines, U+FFFD)."""

    rule_set: RuleSet
    read: FeedbackRead
    notices: list[str]  # one line per thing a person should know about the file


def learn_from_feedback(
    feedback_path: str | os.PathLike[str],
    *,
    semantic_screen: bool = True,
    function: str | None = None,
    choices: Mapping[str, Choice] | None = None,
    source: LogReader | None = None,
    progress: SynthesisProgress | None = None,
    must_exist: bool = False,
) -> LearnedRules:
    """Read the feedback file and learn its rules: what every face and the pipeline call.

    Malformed lines are skipped and named in ``notices``, never silently. A missing file reads
    as no pairs, or, with ``must_exist``, is an error naming it. See :func:`learn_rules` for
    the rest.
    """
    read = read_feedback(feedback_path) if must_exist else FeedbackStore(feedback_path).read()
    rule_set = learn_rules(read.pairs, semantic_screen=semantic_screen, function=function,
                           choices=choices, source=source, progress=progress)
    return LearnedRules(rule_set, read, read.notices(feedback_path))


def rules_counts(rule_set: RuleSet) -> dict[str, int | None]:
    """The summary's ``rules`` figures: rules, conflicts, conflicts settled into one rule (FR-2.4),
    pairs, rules kept inactive by their blast radius and the logs it was measured on."""
    return {
        "count": len(rule_set.rules),
        "conflicts": len(rule_set.conflicts),
        "merged": sum(1 for conflict in rule_set.conflicts if conflict.chosen is not None),
        "feedback_pairs": len(rule_set.pairs),
        "inactive": len(rule_set.inactive),
        "logs_sampled": len(rule_set.logs) if rule_set.logs is not None else None,
    }

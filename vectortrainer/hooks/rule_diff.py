"""What changed between two rule lists, rule by rule (VT-18): the diff every face shows for hooks.

Two hook versions (or two ``rules.json`` documents, or two lists of :class:`Rule`) are
compared as rules, never as text: a :class:`RuleDiff` lists the rules added, the rules
removed and the rules changed (with each changed field before and after: pattern,
replacement, scope, case transforms, support, supporting pairs, figures, and the order
the hook applies them in), plus how many rules did not change. Nothing here ever shows
JSON: :meth:`RuleDiff.lines` is plain text a face can print as it is, and the entries
are plain data for tables.

Which rule is which
    Rules carry a ``rule_id``, but it is a hash of what the rule does (kind, target,
    pattern, replacement, conditions), so it identifies an *unchanged* rule only. Rules
    are paired in three passes: (1) the same non-empty ``rule_id`` (only figures,
    support or order can differ); (2) the same kind, target and pattern (the appended
    text for ``append``/``prepend``): a new replacement, scope or case makes it changed;
    when several rules share that key, the ones with the same scope, then the same
    replacement, pair first; (3) for ``replace``/``case_fix``/``regex_replace``: the same
    kind, target, scope and non-empty replacement, so a new pattern is a change too.
    Whatever is left is added or removed.

Order
    The hook applies rules in list order. Of the paired rules, the longest run that kept
    its relative order stands still; every other one *moved* (a ``order`` change):
    rules that only shifted because others were added or removed did not move.

Supporting pairs
    A rule's ``sources`` index the feedback pairs it was learned from (``RuleSet.pairs``).
    Given those pairs (``before_pairs`` / ``after_pairs``), each entry keeps its pairs so
    a face can show them on demand; a ``rules.json`` document says how many pairs it was
    learned from, and pairs of another count are not attached (a note says why).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vectortrainer.errors import DataFormatError, HookVersionError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.template import read_rules_document
from vectortrainer.json_types import JSONObject
from vectortrainer.rules.model import Rule

__all__ = [
    "ChangedRule",
    "FieldChange",
    "RuleDiff",
    "RuleEntry",
    "SupportingPair",
    "diff_hook_sources",
    "diff_rules",
    "diff_rules_documents",
]

# Kinds whose identity is the text they add (their pattern is unused).
_TEXT_KINDS = ("append", "prepend")
# Kinds whose pattern may change while the rule stays the same rule (pass 3).
_REWRITE_KINDS = ("replace", "case_fix", "regex_replace")
ALWAYS = "always"  # the scope of a rule without conditions, as every face shows it


@dataclass(frozen=True)
class SupportingPair:
    """One feedback pair that backs a rule: what the model said and what it was fixed to."""

    index: int  # the index in the rule's ``sources`` (0-based, into the pairs it was learned from)
    bad_output: str
    fixed_output: str
    input_prompt: str = ""
    context: str = ""  # ``function=f; tier=gold``; "" without context

    @property
    def number(self) -> int:
        """The pair's number as people read it (``pair 3``): 1-based, like the rules screen."""
        return self.index + 1

    def line(self) -> str:
        """``pair 3: 'Summary: late' -> 'late' (function=f)``."""
        context = f" ({self.context})" if self.context else ""
        return f"pair {self.number}: {self.bad_output!r} -> {self.fixed_output!r}{context}"


@dataclass(frozen=True)
class RuleEntry:
    """One rule as the diff shows it: where the hook applies it, what it does, and its evidence."""

    position: int  # 1-based place in its hook's rule list (the hook applies rules in this order)
    rule_id: str
    kind: str
    target: str
    pattern: str
    replacement: str
    scope: str  # ``Rule.describe_scope()``; "" when the rule applies everywhere
    case: str  # the case transforms of a regex template (``upper \1``); "" when none
    priority: int
    support: int
    sources: tuple[int, ...]  # indices of the supporting feedback pairs (0-based)
    origin: str
    why: str
    repaired: int
    gain: int
    exact: int | None
    blast_radius: str  # ``3 of 120 logs`` or ``not measured``
    logs_unbacked: int | None
    # The supporting pairs themselves, when the pairs the rules were learned from were given;
    # None when they were not (a face then shows the pair numbers only).
    pairs: tuple[SupportingPair, ...] | None = None

    @property
    def scope_text(self) -> str:
        """The scope as people read it: ``function=f; text has 'refund'`` or ``always``."""
        return self.scope or ALWAYS

    @property
    def action(self) -> str:
        """What the rule does, without scope or figures: ``replace '#' -> 'VT-'``."""
        return _action(self.kind, self.pattern, self.replacement)

    @property
    def pattern_text(self) -> str:
        """The pattern as shown (``'#'``, ``/ticket (\\d+)/``; ``(none)`` for kinds without one)."""
        if self.kind in _TEXT_KINDS + ("normalize_whitespace",) and not self.pattern:
            return "(none)"
        return _regex(self.pattern) if self.kind == "regex_replace" else repr(self.pattern)

    @property
    def replacement_text(self) -> str:
        """The replacement as shown (``'VT-'``; a regex template keeps its ``\\1`` as written)."""
        return _template(self.replacement) if self.kind == "regex_replace" else repr(
            self.replacement)

    @property
    def figures(self) -> tuple[tuple[str, str], ...]:
        """The evidence figures, labelled: repaired, exact, gain, blast radius (and logs unlike
        its pairs when measured)."""
        shown = [("repaired", f"{self.repaired} pairs"),
                 ("exact", "not measured" if self.exact is None else f"{self.exact} pairs"),
                 ("gain", f"{self.gain} chars"), ("blast radius", self.blast_radius)]
        if self.logs_unbacked is not None:
            shown.append(("unlike its pairs", f"{self.logs_unbacked} logs"))
        return tuple(shown)

    @property
    def pair_numbers(self) -> str:
        """The supporting pairs' numbers as people read them (``1, 2, 5``), ``none`` without."""
        return ", ".join(str(i + 1) for i in self.sources) or "none"

    @property
    def missing_sources(self) -> tuple[int, ...]:
        """Source indices the given pairs do not hold (empty when no pairs were given)."""
        if self.pairs is None:
            return ()
        held = {pair.index for pair in self.pairs}
        return tuple(i for i in self.sources if i not in held)

    def describe(self) -> str:
        """The rule on one line: ``replace '#' -> 'VT-' (if function=f) support 3``."""
        details = []
        if self.target != "output":
            details.append(f"on the {self.target}")
        if self.case:
            details.append(self.case)
        if self.scope:
            details.append(f"if {self.scope}")
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{self.action}{suffix} support {self.support}"

    def pair_lines(self) -> list[str]:
        """The supporting pairs, one line each (what the faces print under the rule on demand)."""
        if self.pairs is None:
            return [f"supporting pairs: {self.pair_numbers} (the feedback pairs were not given)"]
        lines = [pair.line() for pair in self.pairs]
        if self.missing_sources:
            numbers = ", ".join(str(i + 1) for i in self.missing_sources)
            lines.append(f"pairs {numbers}: not in the feedback given")
        return lines or ["no supporting pairs recorded"]


@dataclass(frozen=True)
class FieldChange:
    """One field of a rule that changed: its label, the values before and after as shown."""

    field: str  # pattern, replacement, scope, case, order, priority, support, supporting pairs, ...
    before: str
    after: str
    behaviour: bool  # True when it changes what the hook does (pattern, replacement, scope, order)

    def line(self) -> str:
        """``replacement: 'a' -> 'b'``."""
        return f"{self.field}: {self.before} -> {self.after}"


@dataclass(frozen=True)
class ChangedRule:
    """A rule in both lists that changed; ``moved`` when its place among the others changed."""

    before: RuleEntry
    after: RuleEntry
    changes: tuple[FieldChange, ...]
    moved: bool = False

    @property
    def behaviour_changed(self) -> bool:
        """True when the hook now does something else (not only new figures or support)."""
        return any(change.behaviour for change in self.changes)

    def heading(self) -> str:
        """``rule 2 (was rule 4): replace '#' -> 'VT-'``: the rule as it is now."""
        was = (f" (was rule {self.before.position})"
               if self.before.position != self.after.position else "")
        return f"rule {self.after.position}{was}: {self.after.action}"


@dataclass(frozen=True)
class RuleDiff:
    """Rules added, removed and changed from ``before_label`` to ``after_label``, in hook order."""

    added: tuple[RuleEntry, ...] = ()
    removed: tuple[RuleEntry, ...] = ()
    changed: tuple[ChangedRule, ...] = ()
    unchanged: int = 0
    before_label: str = "before"
    after_label: str = "after"
    notes: tuple[str, ...] = ()  # what could not be shown (pairs of another feedback file, ...)

    @property
    def empty(self) -> bool:
        """True when no rule was added, removed or changed."""
        return not (self.added or self.removed or self.changed)

    @property
    def moved(self) -> tuple[ChangedRule, ...]:
        """The changed rules whose place in the order changed."""
        return tuple(change for change in self.changed if change.moved)

    def summary(self) -> str:
        """``v003 -> v004: 1 added, 0 removed, 2 changed (1 moved), 5 unchanged``."""
        moved = f" ({len(self.moved)} moved)" if self.moved else ""
        return (f"{self.before_label} -> {self.after_label}: {len(self.added)} added, "
                f"{len(self.removed)} removed, {len(self.changed)} changed{moved}, "
                f"{self.unchanged} unchanged")

    def entries(self) -> list[tuple[str, RuleEntry]]:
        """Every rule the diff lists, as (mark, rule): ``+`` added, ``-`` removed, ``~`` changed
        (its rule as it is now); the order :meth:`lines` uses, for a face's selectable list."""
        return ([("+", entry) for entry in self.added] + [("-", entry) for entry in self.removed]
                + [("~", change.after) for change in self.changed])

    def lines(self, *, pairs: bool = False) -> list[str]:
        """The diff as plain text lines (``no rule changed`` when nothing did); with ``pairs``
        each rule's supporting pairs follow it, indented."""
        lines = [self.summary()]
        if self.empty:
            lines.append("no rule changed")
        for mark, entries in (("+", self.added), ("-", self.removed)):
            for entry in entries:
                lines.append(f"{mark} rule {entry.position}: {entry.describe()}")
                if pairs:
                    lines += [f"    {line}" for line in entry.pair_lines()]
        for change in self.changed:
            lines.append(f"~ {change.heading()}")
            lines += [f"    {field.line()}" for field in change.changes]
            if pairs:
                lines += [f"    {line}" for line in change.after.pair_lines()]
        lines += [f"note: {note}" for note in self.notes]
        return lines

    def rows(self) -> list[dict[str, str]]:
        """One row per added or removed rule and per changed field (change, rule, field, before,
        after): the plain table the web page shows."""
        rows = [{"change": "added", "rule": f"{entry.position}", "what": entry.describe(),
                 "before": "", "after": ""} for entry in self.added]
        rows += [{"change": "removed", "rule": f"{entry.position}", "what": entry.describe(),
                  "before": "", "after": ""} for entry in self.removed]
        for change in self.changed:
            for field in change.changes:
                rows.append({"change": "changed", "rule": f"{change.after.position}",
                             "what": f"{change.after.action}: {field.field}",
                             "before": field.before, "after": field.after})
        return rows

    def to_dict(self) -> JSONObject:
        """The diff as plain data (for ``--json`` output)."""
        return dataclasses.asdict(self)


# -- building the diff ----------------------------------------------------------------------


def diff_rules(
    before_rules: Sequence[Rule | Mapping[str, Any]],
    after_rules: Sequence[Rule | Mapping[str, Any]],
    *,
    before_pairs: Sequence[FeedbackPair] | None = None,
    after_pairs: Sequence[FeedbackPair] | None = None,
    before_label: str = "before",
    after_label: str = "after",
) -> RuleDiff:
    """The rule-level diff of two rule lists (rules or their dicts, in hook order).

    ``before_pairs`` / ``after_pairs`` are the feedback pairs each list was learned from
    (``RuleSet.pairs``): given, every entry keeps its supporting pairs. Raises
    :class:`DataFormatError` for a rule dict that is not a rule.
    """
    return _diff(_rules(before_rules, before_label), _rules(after_rules, after_label),
                 before_pairs, after_pairs, before_label, after_label, ())


def diff_hook_sources(
    before_source: str,
    after_source: str,
    *,
    before_pairs: Sequence[FeedbackPair] | None = None,
    after_pairs: Sequence[FeedbackPair] | None = None,
    before_label: str = "before",
    after_label: str = "after",
) -> RuleDiff:
    """The rule-level diff of two hooks' sources (read, never run).

    Raises :class:`HookVersionError` when either hook's rules cannot be read (a hook not
    made by VectorTrainer's generator, or edited by hand): such versions cannot be
    compared rule by rule.
    """
    rules = []
    for source, label in ((before_source, before_label), (after_source, after_label)):
        document = read_rules_document(source)
        if document is None:
            raise HookVersionError(
                f"hook {label} cannot be compared rule by rule: its rules cannot be read (it was "
                f"not made by VectorTrainer's hook generator, or was edited by hand); compare "
                f"its source instead, or make a new hook from the rules")
        try:
            rules.append(_rules(document["rules"], label))
        except DataFormatError as exc:
            raise HookVersionError(f"hook {label} cannot be compared rule by rule: {exc}") from exc
    return _diff(rules[0], rules[1], before_pairs, after_pairs, before_label, after_label, ())


def diff_rules_documents(
    before_document: Mapping[str, Any],
    after_document: Mapping[str, Any],
    *,
    before_pairs: Sequence[FeedbackPair] | None = None,
    after_pairs: Sequence[FeedbackPair] | None = None,
    before_label: str = "before",
    after_label: str = "after",
) -> RuleDiff:
    """The rule-level diff of two rules documents: ``rules.json`` reports, or the document a hook
    embeds (both hold ``rules``).

    A ``rules.json`` records how many feedback pairs its rules were learned from
    (``feedback_pairs``); pairs of another count would show the wrong pairs, so they are
    not attached and a note says so. Rules a ``rules.json`` lists as ``skipped_rules`` (left
    out of its hook) are not compared, and a note says how many. Raises
    :class:`DataFormatError` for a document without a rules list or with a rule that is not one.
    """
    notes: list[str] = []
    checked: list[Sequence[FeedbackPair] | None] = []
    rules = []
    for document, pairs, label in ((before_document, before_pairs, before_label),
                                   (after_document, after_pairs, after_label)):
        listed = document.get("rules") if isinstance(document, Mapping) else None
        if not isinstance(listed, list):
            raise DataFormatError(f"rules of {label} cannot be compared: the document holds no "
                                  f"rules list (not a rules.json or a hook's rules)")
        kept = _without_skipped(listed, document.get("skipped_rules"))
        if len(kept) < len(listed):
            left_out = len(listed) - len(kept)
            notes.append(f"{left_out} rule{'s' if left_out != 1 else ''} of {label} "
                         f"{'were' if left_out != 1 else 'was'} left out of its hook and "
                         f"{'are' if left_out != 1 else 'is'} not compared")
        rules.append(_rules(kept, label))
        expected = document.get("feedback_pairs")
        if pairs is not None and isinstance(expected, int) and expected != len(pairs):
            notes.append(f"the supporting pairs of {label} are not shown: its rules were learned "
                         f"from {expected} feedback pairs, {len(pairs)} were given")
            pairs = None
        checked.append(pairs)
    return _diff(rules[0], rules[1], checked[0], checked[1], before_label, after_label,
                 tuple(notes))


def _without_skipped(listed: list[Any], skipped: object) -> list[Any]:
    """The rules a ``rules.json`` lists, less those the generator left out of the hook (its
    ``skipped_rules``): the diff compares what the hooks do."""
    left_out = [entry.get("rule") for entry in skipped if isinstance(entry, Mapping)] if (
        isinstance(skipped, list)) else []
    kept = []
    for rule in listed:
        if rule in left_out:
            left_out.remove(rule)
        else:
            kept.append(rule)
    return kept


def _rules(items: Iterable[Rule | Mapping[str, Any]], label: str) -> list[Rule]:
    rules = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, Rule):
            rules.append(item)
            continue
        try:
            if not isinstance(item, Mapping):
                raise TypeError("not an object")
            rules.append(Rule.from_dict(dict(item)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
            raise DataFormatError(f"rule {number} of {label} is not a rule ({reason})") from exc
    return rules


def _diff(
    before: list[Rule],
    after: list[Rule],
    before_pairs: Sequence[FeedbackPair] | None,
    after_pairs: Sequence[FeedbackPair] | None,
    before_label: str,
    after_label: str,
    notes: tuple[str, ...],
) -> RuleDiff:
    matches = _match(before, after)
    moved = _moved(matches)
    matched_before = {b for b, _ in matches}
    matched_after = {a for _, a in matches}
    changed: list[ChangedRule] = []
    unchanged = 0
    for b, a in sorted(matches, key=lambda match: match[1]):
        old = _entry(before[b], b + 1, before_pairs)
        new = _entry(after[a], a + 1, after_pairs)
        changes = _changes(before[b], after[a], old, new, (b, a) in moved)
        if changes:
            changed.append(ChangedRule(old, new, changes, (b, a) in moved))
        else:
            unchanged += 1
    return RuleDiff(
        added=tuple(_entry(rule, i + 1, after_pairs) for i, rule in enumerate(after)
                    if i not in matched_after),
        removed=tuple(_entry(rule, i + 1, before_pairs) for i, rule in enumerate(before)
                      if i not in matched_before),
        changed=tuple(changed),
        unchanged=unchanged,
        before_label=before_label,
        after_label=after_label,
        notes=notes,
    )


def _scope_key(rule: Rule) -> tuple[object, ...]:
    return (tuple(sorted(rule.condition.items())), tuple(rule.text_condition))


def _match(before: list[Rule], after: list[Rule]) -> list[tuple[int, int]]:
    """Pairs (before index, after index) of the same rule, by the three passes of the module."""
    matches: list[tuple[int, int]] = []
    free_before = list(range(len(before)))
    free_after = list(range(len(after)))

    def pair_by(key: Any, score: Any = None) -> None:
        groups: dict[object, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for i in free_before:
            k = key(before[i])
            if k is not None:
                groups[k][0].append(i)
        for j in free_after:
            k = key(after[j])
            if k is not None:
                groups[k][1].append(j)
        for olds, news in groups.values():
            candidates = [(-(score(before[i], after[j]) if score else 0), i, j)
                          for i in olds for j in news]
            for _, i, j in sorted(candidates):
                if i in free_before and j in free_after:
                    matches.append((i, j))
                    free_before.remove(i)
                    free_after.remove(j)

    pair_by(lambda r: r.rule_id or None)
    pair_by(lambda r: (r.kind, r.target, r.replacement if r.kind in _TEXT_KINDS else r.pattern),
            lambda b, a: 2 * (_scope_key(b) == _scope_key(a)) + (b.replacement == a.replacement))
    pair_by(lambda r: (r.kind, r.target, r.replacement, _scope_key(r))
            if r.kind in _REWRITE_KINDS and r.replacement else None)
    return matches


def _moved(matches: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """The matches outside the longest run that kept its relative order (those moved)."""
    ordered = sorted(matches)
    if not ordered:
        return set()
    # longest increasing subsequence of the after positions, O(n^2) (hooks hold few rules)
    best = [1] * len(ordered)
    previous = [-1] * len(ordered)
    for k in range(len(ordered)):
        for m in range(k):
            if ordered[m][1] < ordered[k][1] and best[m] + 1 > best[k]:
                best[k], previous[k] = best[m] + 1, m
    k = max(range(len(ordered)), key=lambda n: best[n])
    kept = set()
    while k != -1:
        kept.add(ordered[k])
        k = previous[k]
    return set(ordered) - kept


def _entry(rule: Rule, position: int, pairs: Sequence[FeedbackPair] | None) -> RuleEntry:
    evidence = rule.evidence
    return RuleEntry(
        position=position,
        rule_id=rule.rule_id,
        kind=rule.kind,
        target=rule.target,
        pattern=rule.pattern,
        replacement=rule.replacement,
        scope=rule.describe_scope(),
        case=", ".join(f"{case} \\{group}" for group, case in sorted(rule.group_case.items())),
        priority=rule.priority,
        support=rule.support,
        sources=tuple(rule.sources),
        origin=rule.origin,
        why=evidence.why,
        repaired=evidence.repaired,
        gain=evidence.gain,
        exact=evidence.exact,
        blast_radius=evidence.blast_radius,
        logs_unbacked=evidence.logs_unbacked,
        pairs=None if pairs is None else tuple(
            _supporting(i, pairs[i]) for i in rule.sources if 0 <= i < len(pairs)),
    )


def _supporting(index: int, pair: FeedbackPair) -> SupportingPair:
    context = "; ".join(f"{key}={value}" for key, value in sorted(pair.context.items())
                        if isinstance(value, (str, int, float, bool)))
    return SupportingPair(index, pair.bad_output, pair.fixed_output, pair.input_prompt, context)


def _changes(
    old_rule: Rule, new_rule: Rule, old: RuleEntry, new: RuleEntry, moved: bool
) -> tuple[FieldChange, ...]:
    changes: list[FieldChange] = []

    def note(field: str, before: str, after: str, behaviour: bool,
             differs: bool | None = None) -> None:
        # ``differs`` compares the data where the shown values could coincide (two scopes)
        if (before != after) if differs is None else differs:
            changes.append(FieldChange(field, before, after, behaviour))

    if moved:
        note("order", f"rule {old.position}", f"rule {new.position}", True)
    note("pattern", old.pattern_text, new.pattern_text, True, old.pattern != new.pattern)
    note("replacement", old.replacement_text, new.replacement_text, True,
         old.replacement != new.replacement)
    note("scope", old.scope_text, new.scope_text, True,
         _scope_key(old_rule) != _scope_key(new_rule))
    note("case", old.case or "none", new.case or "none", True,
         old_rule.group_case != new_rule.group_case)
    note("priority", str(old.priority), str(new.priority), False)
    note("support", str(old.support), str(new.support), False)
    note("supporting pairs", old.pair_numbers, new.pair_numbers, False)
    old_figures, new_figures = dict(old.figures), dict(new.figures)
    for label in dict.fromkeys([*old_figures, *new_figures]):
        note(label, old_figures.get(label, "not measured"), new_figures.get(label, "not measured"),
             False)
    note("why", repr(old.why) if old.why else "(not recorded)",
         repr(new.why) if new.why else "(not recorded)", False)
    note("origin", old.origin, new.origin, False)
    return tuple(changes)


# -- how rules read ----------------------------------------------------------------------


def _escaped(text: str) -> str:
    """``text`` on one line: control characters as escapes, everything else as written."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)


def _regex(pattern: str) -> str:
    return f"/{_escaped(pattern)}/"


def _template(template: str) -> str:
    return f"'{_escaped(template)}'"


def _action(kind: str, pattern: str, replacement: str) -> str:
    if kind == "normalize_whitespace":
        return "normalize_whitespace"
    if kind in ("strip_prefix", "strip_suffix", "remove"):
        return f"{kind} {pattern!r}"
    if kind in _TEXT_KINDS:
        return f"{kind} {replacement!r}"
    if kind == "regex_replace":
        return f"{kind} {_regex(pattern)} -> {_template(replacement)}"
    return f"{kind} {pattern!r} -> {replacement!r}"

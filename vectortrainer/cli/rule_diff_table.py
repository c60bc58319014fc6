"""The CLI's view of a rule-level hook diff (VT-18): tables of the rules added, removed and changed.

The diff comes from the engine (``vectortrainer.hooks.rule_diff.RuleDiff``, reached
through the workspace); this module only lays it out. Every cell is plain text (never
markup) and folds at the column's width: at 80 columns nothing a person must read is
cut off.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from vectortrainer.workspace.types import ChangedRule, RuleDiff, RuleEntry

__all__ = ["rule_diff_tables", "supporting_pairs_table"]


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _cell(text: str, style: str = "") -> Text:
    return Text(text, style=style, overflow="fold")  # plain text: a '[' in a rule is no markup


def _rules_table(title: str, entries: Sequence[RuleEntry], style: str) -> Table:
    table = _table(title, "#", "rule", "scope", "support", "blast radius")
    for entry in entries:
        table.add_row(_cell(str(entry.position)), _cell(entry.action, style),
                      _cell(entry.scope_text), _cell(str(entry.support)),
                      _cell(entry.blast_radius))
    return table


def _changed_table(changed: Sequence[ChangedRule]) -> Table:
    table = _table(f"changed ({len(changed)})", "#", "rule", "changed", "before", "after")
    for change in changed:
        for n, field in enumerate(change.changes):
            style = "bold" if field.behaviour else ""
            table.add_row(_cell(str(change.after.position) if n == 0 else ""),
                          _cell(change.after.action if n == 0 else "", "yellow"),
                          _cell(field.field, style), _cell(field.before, "red"),
                          _cell(field.after, "green"))
    return table


def supporting_pairs_table(entry: RuleEntry, title: str | None = None) -> RenderableType:
    """The supporting pairs of one rule (what the model said, what it was fixed to); a line
    naming the pair numbers when the pairs themselves were not given."""
    title = title or f"supporting pairs of rule {entry.position}: {entry.action}"
    if entry.pairs is None:
        return _cell(f"{title}: pairs {entry.pair_numbers} (the feedback pairs were not given)",
                     "dim")
    table = _table(title, "pair", "model said", "fixed to", "context")
    for pair in entry.pairs:
        table.add_row(_cell(str(pair.number)), _cell(pair.bad_output, "red"),
                      _cell(pair.fixed_output, "green"), _cell(pair.context))
    if entry.missing_sources:
        numbers = ", ".join(str(i + 1) for i in entry.missing_sources)
        table.caption = f"pairs {numbers}: not in the feedback given"
        table.caption_justify = "left"
    if not entry.pairs and not entry.missing_sources:
        return _cell(f"{title}: no supporting pairs recorded", "dim")
    return table


def rule_diff_tables(diff: RuleDiff, *, pairs: bool = False) -> Group:
    """The diff as the CLI prints it: its summary, then tables of the rules added, removed and
    changed (one row per changed field, before and after); with ``pairs``, each rule's
    supporting pairs after the tables. ``no rule changed`` when nothing did."""
    parts: list[RenderableType] = [_cell(diff.summary(), "bold")]
    if diff.empty:
        parts.append(_cell("no rule changed"))
    if diff.added:
        parts.append(_rules_table(f"added ({len(diff.added)})", diff.added, "green"))
    if diff.removed:
        parts.append(_rules_table(f"removed ({len(diff.removed)})", diff.removed, "red"))
    if diff.changed:
        parts.append(_changed_table(diff.changed))
    if pairs:
        for mark, entry in ([("added", e) for e in diff.added]
                            + [("removed", e) for e in diff.removed]
                            + [("changed", c.after) for c in diff.changed]):
            parts.append(supporting_pairs_table(
                entry, f"supporting pairs of rule {entry.position} ({mark}): {entry.action}"))
    parts += [_cell(f"note: {note}", "yellow") for note in diff.notes]
    return Group(*parts)

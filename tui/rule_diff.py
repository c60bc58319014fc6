"""The terminal app's view of a rule-level hook diff (VT-18): styled lines for a RichLog or Static.

The diff comes from the engine (``vectortrainer.hooks.rule_diff.RuleDiff``, reached
through the workspace); this module only lays it out. Lines are plain Rich Text
(never markup), indented lines keep their indent when they wrap, and long words
fold: at 80 columns nothing is cut off. Show it
from the top (``RichLog(wrap=True, auto_scroll=False)`` or a ``Static``): the summary
comes first.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from vectortrainer.workspace.types import RuleDiff, RuleEntry

__all__ = ["rule_diff_text", "supporting_pairs_text"]

_INDENT = 4
_MARKS = {"+": "green", "-": "red", "~": "yellow"}


def _line(text: str | Text, style: str = "", indent: int = 0) -> RenderableType:
    line = Text(text, style=style, overflow="fold") if isinstance(text, str) else text
    line.overflow = "fold"
    return Padding(line, (0, 0, 0, indent)) if indent else line


def supporting_pairs_text(entry: RuleEntry, indent: int = 0) -> Group:
    """The supporting pairs of one rule, for a panel beside the diff: each pair's number and
    context, what the model said (red) and what it was fixed to (green)."""
    if entry.pairs is None:
        return Group(_line(f"supporting pairs: {entry.pair_numbers} (the feedback pairs were not "
                           f"given)", "dim", indent))
    parts: list[RenderableType] = []
    for pair in entry.pairs:
        heading = f"pair {pair.number}" + (f" ({pair.context})" if pair.context else "")
        parts.append(_line(heading + ":", "dim", indent))
        parts.append(_line(Text.assemble(("said:  ", "dim"), (pair.bad_output, "red")),
                           indent=indent + 2))
        parts.append(_line(Text.assemble(("fixed: ", "dim"), (pair.fixed_output, "green")),
                           indent=indent + 2))
    if entry.missing_sources:
        numbers = ", ".join(str(i + 1) for i in entry.missing_sources)
        parts.append(_line(f"pairs {numbers}: not in the feedback given", "dim", indent))
    return Group(*(parts or [_line("no supporting pairs recorded", "dim", indent)]))


def rule_diff_text(diff: RuleDiff, *, pairs: bool = False) -> Group:
    """The diff as the terminal app shows it: the summary, then ``+`` added, ``-`` removed and
    ``~`` changed rules, each changed field indented with its value before (red) and after
    (green); with ``pairs``, every rule's supporting pairs under it."""
    parts: list[RenderableType] = [_line(diff.summary(), "bold")]
    if diff.empty:
        parts.append(_line("no rule changed"))
    for mark, entries in (("+", diff.added), ("-", diff.removed)):
        for entry in entries:
            parts.append(_line(Text.assemble((f"{mark} rule {entry.position}: ", _MARKS[mark]),
                                             entry.describe())))
            if pairs:
                parts.append(supporting_pairs_text(entry, _INDENT))
    for change in diff.changed:
        parts.append(_line(Text.assemble(("~ ", _MARKS["~"]), change.heading())))
        for field in change.changes:
            parts.append(_line(Text.assemble((f"{field.field}: ",
                                              "bold" if field.behaviour else "dim"),
                                             (field.before, "red"), " -> ",
                                             (field.after, "green")), indent=_INDENT))
        if pairs:
            parts.append(supporting_pairs_text(change.after, _INDENT))
    parts += [_line(f"note: {note}", "yellow") for note in diff.notes]
    return Group(*parts)

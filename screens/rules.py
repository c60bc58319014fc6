"""Rule review and merge conflicts: rules, the diffs behind them, a choice per conflict, replay,
generate hook."""

from __future__ import annotations

import json
from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label, RichLog, Static

from screens.base import ModeScreen
from screens.detail import DetailScreen, Section, word_diff
from tui.widgets import WideTable, cell, cursor_key, key_value_table
from tui.workers import in_background
from vectortrainer.errors import VectorTrainerError
from vectortrainer.workspace.types import (
    Choice,
    Conflict,
    DiffSegment,
    FeedbackPair,
    HookGateOutcome,
    ReplayReport,
    Rule,
    RuleSet,
)

# Shown above the conflicts table (the footer has room for key 3 only; help lists all four).
CONFLICT_KEYS = "1 keep A · 2 keep B · 3 both A→B · 4 both B→A"


def rule_text(rule: Rule, *, kind_last: bool = False) -> str:
    """The rule in one line; ``kind_last`` puts the change first (a narrow column shows it)."""
    condition = rule.describe_scope()
    arrow = f"{rule.pattern!r} → {rule.replacement!r}"
    cases = ", ".join(f"{case} \\{group}" for group, case in sorted(rule.group_case.items()))
    change = arrow + (f" ({cases})" if cases else "") + (f" if {condition}" if condition else "")
    return f"{change} · {rule.kind}" if kind_last else f"{rule.kind}: {change}"


def logs_cell(rule: Rule) -> str:
    """The blast radius as the table shows it (before the long columns, so it stays in view):
    ``3/120`` logged outputs changed, or ``–`` when it was not measured."""
    evidence = rule.evidence
    if evidence.logs_sampled is None or evidence.logs_changed is None:
        return "–"
    return f"{evidence.logs_changed}/{evidence.logs_sampled}"


def evidence_lines(rule: Rule, pairs: int) -> list[str]:
    """Why the rule exists and how it measured, for the panel beside the table."""
    evidence = rule.evidence
    exact = f", {evidence.exact} fixed exactly by the hook" if evidence.exact is not None else ""
    lines = [f"why: {evidence.why}" if evidence.why else "why: (not recorded)",
             f"replay: moves {evidence.repaired} of {pairs} pairs closer to their fix{exact}; "
             f"repairs {evidence.gain} characters; changes no good output",
             f"blast radius: {evidence.blast_radius}" + (
                 f", {evidence.logs_unbacked} unlike its pairs" if evidence.logs_unbacked else "")]
    return lines


def rule_sections(
    rule: Rule,
    pairs: list[FeedbackPair],
    diff: Callable[[str, str], list[DiffSegment]],
    *,
    name: str = "",
    inactive: str | None = None,
    with_pairs: bool = True,
) -> list[Section]:
    """A rule in full: what it changes, where, on what evidence, and (``with_pairs``) every pair
    behind it.

    ``name`` ("rule A") heads each section when a detail shows several rules."""
    of = f"{name} · " if name else ""
    evidence = [line.removeprefix("why: ") if i == 0 else line
                for i, line in enumerate(evidence_lines(rule, len(pairs)))]
    sections: list[Section] = [
        (name or "rule", rule_text(rule)),
        (f"{of}pattern", rule.pattern or "(none)"),
        (f"{of}replacement", rule.replacement or "(empty: the match is removed)"),
        (f"{of}scope", rule.describe_scope() or "everywhere (no condition)"),
        (f"{of}support", f"{rule.support} pair(s) · priority {rule.priority} · "
                         f"learned by {rule.origin} · id {rule.rule_id or '–'}"),
        (f"{of}why, replay and blast radius", "\n".join(evidence)),
    ]
    if inactive is not None:
        sections.insert(1, (f"{of}inactive", inactive))
    return sections + (pair_sections(rule, pairs, diff, name=name) if with_pairs else [])


def pair_sections(
    rule: Rule, pairs: list[FeedbackPair], diff: Callable[[str, str], list[DiffSegment]], *,
    name: str = "",
) -> list[Section]:
    """The pairs behind a rule, each as its word diff with its input and context."""
    of = f"{name} · " if name else ""
    sections: list[Section] = []
    for source in rule.sources:
        if 0 <= source < len(pairs):
            pair = pairs[source]
            body = word_diff(diff(pair.bad_output, pair.fixed_output))
            if pair.input_prompt:
                body.append(f"\ninput: {pair.input_prompt}", style="dim")
            if pair.context:
                context = json.dumps(pair.context, ensure_ascii=False, default=str)
                body.append(f"\ncontext: {context}", style="dim")
            sections.append((f"{of}supporting pair {source + 1}", body))
    return sections


def _kept_label(conflict: Conflict) -> str:
    """ "A" or "B" for one kept rule; "A→B" when both are kept, in the order the hook applies
    them."""
    letters = [
        chr(ord("A") + i) if i < 26 else str(i) for i in (conflict.order or [conflict.chosen])
    ]
    return "→".join(letters)


class RulesScreen(ModeScreen):
    """Review what the feedback teaches, settle conflicts, and write the hook."""

    MODE_NAME = "Rules"
    BINDINGS = [
        Binding("s", "synthesize", "Synthesise", id="rules.synthesize"),
        Binding("1", "choose(0)", "Keep A", id="rules.keep_a"),
        Binding("2", "choose(1)", "Keep B", id="rules.keep_b"),
        Binding("3", "choose_both(0, 1)", "Both A→B", id="rules.keep_both_ab"),
        Binding("4", "choose_both(1, 0)", "Both B→A", id="rules.keep_both_ba", show=False),
        Binding("g", "generate", "Make hook", id="rules.generate"),
        Binding("o", "open_detail", "Open", id="rules.open", tooltip="Open the row in full"),
    ]
    ENTER_OPENS = frozenset({"rules", "conflicts"})
    DETAIL_TABLE = "rules"
    FOOTER_KEEP = ("synthesize", "open_detail")

    def __init__(self) -> None:
        super().__init__()
        self.rule_set: RuleSet | None = None
        self.replay_report: ReplayReport | None = None
        self.feedback_notices: list[str] = []  # from the last read of the feedback file
        self.choices: dict[str, Choice] = {}  # the person's decisions on conflicts, by conflict id

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="rules-body"):
            with Vertical(id="rules-left", classes="panel"):
                yield Label(
                    "Rules (applied in this order)", classes="panel-title", id="rules-title"
                )
                yield WideTable(id="rules", flex={"rule": 1}, min_width=16,
                                cursor_type="row", zebra_stripes=True)
                yield Label(
                    f"Conflicts — {CONFLICT_KEYS}", classes="panel-title", id="conflicts-title"
                )
                yield WideTable(id="conflicts", flex={"A": 1, "B": 1},
                                cursor_type="row", zebra_stripes=True)
            with Vertical(id="rules-right", classes="panel"):
                yield Label("Feedback behind the selected rule", classes="panel-title")
                yield RichLog(id="rule-diffs", wrap=True, markup=False, min_width=20)
                yield Label("Replay on the feedback pairs", classes="panel-title")
                yield Static("Press s to synthesise rules from the feedback pairs.", id="replay")
        yield self.footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#rules", WideTable).add_named_columns(
            "#", "logs", "rule", "pairs", "prio"
        )
        self.query_one("#conflicts", WideTable).add_named_columns("id", "kept", "by", "A", "B")

    def on_resize(self) -> None:
        # A RichLog keeps the width its lines were wrapped at: write them again at the new one.
        self.call_after_refresh(self._show_rule_diffs)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("choose", "choose_both"):
            return (self.rule_set is not None and bool(self.rule_set.conflicts)) or None
        if action == "generate":
            return (self.rule_set is not None and bool(self.rule_set.rules)) or None
        return True

    # -- synthesis ----------------------------------------------------------------------
    def action_synthesize(self) -> None:
        self.query_one("#replay", Static).update("Synthesising rules and replaying the pairs…")
        self._synthesize(None)

    @in_background("rules", "rule synthesis")
    def _synthesize(self, resolve: tuple[str, int | str, list[int] | None] | None) -> None:
        if resolve is None:
            self.choices = {}
            learned = self.workspace.rules.synthesize(function=self._function(),
                                                      progress=self._progress_from_thread)
            rule_set, self.feedback_notices = learned.rule_set, learned.notices
        elif self.rule_set is not None:
            try:
                rule_set = self.workspace.rules.resolve_conflict(self.rule_set, *resolve)
                key, choice, order = resolve
                self.choices[key] = choice if order is None else ("both", order)
            # e.g. both rules cannot be kept safely: nothing changes
            except VectorTrainerError as exc:
                self.app.call_from_thread(self._refused, str(exc))
                return
        else:
            return
        report = self.workspace.rules.replay(rule_set) if rule_set.rules else None
        self.app.call_from_thread(self._show_rule_set, rule_set, report)

    def _progress_from_thread(self, done: int, total: int | None, what: str) -> None:
        """Synthesis progress (from the worker thread), shown where the replay will be."""
        # a stage with no count of its own (screening a few pairs) shows its words alone
        shown = f": {done:,} of {total:,}" if total else f": step {done:,}" if done else ""
        self.app.call_from_thread(
            self.query_one("#replay", Static).update, f"Synthesising rules… {what}{shown}"
        )

    def _show_rule_set(self, rule_set: RuleSet, report: ReplayReport | None) -> None:
        self.rule_set, self.replay_report = rule_set, report
        rules = self.query_one("#rules", DataTable)
        rules.clear()
        for index, (rule, reason) in enumerate(self._listed()):
            number = str(index + 1) if reason is None else "off"
            # The whole rule (kind, change, scope), cut at the column's edge; o opens it.
            rules.add_row(number, logs_cell(rule), cell(rule_text(rule, kind_last=True)),
                          rule.support, rule.priority, key=str(index))
        inactive = f", {len(rule_set.inactive)} kept inactive" if rule_set.inactive else ""
        self.query_one("#rules-title", Label).update(
            f"Rules (applied in this order): {len(rule_set.rules)} "
            f"from {len(rule_set.pairs)} pairs{inactive}"
        )
        conflicts = self.query_one("#conflicts", DataTable)
        conflicts.clear()
        for conflict in rule_set.conflicts:
            a, b = (conflict.rules + [None, None])[:2]
            kept = _kept_label(conflict)
            conflicts.add_row(  # the decision first: the rule texts may run past the panel's edge
                conflict.conflict_id,
                Text(kept, style="bold"),
                conflict.resolved_by,
                cell(rule_text(a, kind_last=True) if a else ""),
                cell(rule_text(b, kind_last=True) if b else ""),
                key=conflict.conflict_id,
            )
        self.query_one("#conflicts-title", Label).update(
            f"Conflicts: {len(rule_set.conflicts)} — {CONFLICT_KEYS}" if rule_set.conflicts
            else "Conflicts: none"
        )
        self._show_replay()
        self._show_rule_diffs()
        self.refresh_bindings()

    def _show_replay(self) -> None:
        report, rule_set = self.replay_report, self.rule_set
        feedback = "\n".join(self.feedback_notices)
        if report is None or rule_set is None:
            self.query_one("#replay", Static).update(
                "No rules yet: record feedback pairs on the feedback screen (F3)."
                + (f"\n{feedback}" if feedback else "")
            )
            return
        rows = [
            ("pairs replayed", str(report.pairs)),
            (
                "bad outputs fixed exactly",
                f"{report.exact_fixes} of {report.pairs} ({report.exact_fix_rate:.0%})",
            ),
            ("edit distance", f"{report.distance_before} → {report.distance_after}"),
            (
                "good outputs changed",
                "none" if not report.good_changed else ", ".join(map(str, report.good_changed)),
            ),
            ("rejected rules", str(len(rule_set.rejected))),
        ]
        notes = "\n".join(rule_set.notes[:3])
        self.query_one("#replay", Static).update(
            key_value_table(
                rows
                + ([("feedback file", feedback)] if feedback else [])
                + ([("notes", notes)] if notes else [])
            )
        )

    def _listed(self) -> list[tuple[Rule, str | None]]:
        """The table's rows: the hook's rules in order, then those kept inactive (with why)."""
        if self.rule_set is None:
            return []
        return [(r, None) for r in self.rule_set.rules] + [
            (h.rule, h.reason) for h in self.rule_set.inactive
        ]

    @on(DataTable.RowHighlighted, "#rules")
    def _show_rule_diffs(self) -> None:
        log = self.query_one("#rule-diffs", RichLog)
        log.clear()
        listed, rule_set = self._listed(), self.rule_set
        if not listed or rule_set is None:
            return
        table = self.query_one("#rules", DataTable)
        rule, reason = listed[min(table.cursor_row, len(listed) - 1)]
        log.write(Text(rule_text(rule), style="bold"))
        if reason is not None:
            log.write(Text(f"inactive: {reason}", style="bold yellow"))
        for line in evidence_lines(rule, len(rule_set.pairs)):
            log.write(Text(line, style="dim"))
        for source in rule.sources[:8]:
            if 0 <= source < len(rule_set.pairs):
                pair = rule_set.pairs[source]
                log.write(Text(f"pair {source + 1}:", style="dim"))
                segments = self.workspace.feedback.diff(pair.bad_output, pair.fixed_output)
                log.write(word_diff(segments))

    # -- conflicts ----------------------------------------------------------------------
    def action_choose(self, choice: int) -> None:
        self._resolve_selected(choice, None)

    def action_choose_both(self, first: int, second: int) -> None:
        """Keep both rules; ``first`` is applied first, scoped by the engine to its own pairs'
        context."""
        self._resolve_selected("both", [first, second])

    def _resolve_selected(self, choice: int | str, order: list[int] | None) -> None:
        if self.rule_set is None or not self.rule_set.conflicts:
            return
        key = cursor_key(self.query_one("#conflicts", DataTable))
        if key is None:
            return
        self.query_one("#replay", Static).update(f"Re-synthesising with your choice for {key}…")
        self._synthesize((key, choice, order))

    def _refused(self, message: str) -> None:
        self._show_replay()
        self.notify(message, title="Choice refused", severity="warning", timeout=10, markup=False)

    # -- hook ---------------------------------------------------------------------------
    def action_generate(self) -> None:
        if self.rule_set is None or not self.rule_set.rules:
            self.notify("Synthesise rules first (s).", severity="warning")
            return
        self._generate(self.rule_set)

    @in_background("hook", "hook generation")
    def _generate(self, rule_set: RuleSet) -> None:
        function = self._function()
        if function is None:
            self.app.call_from_thread(self.notify, "Choose a function on the Dataset screen "
                                      "(F2): a hook is made for one function.", severity="warning")
            return
        outcome = self.workspace.rules.publish(
            function, choices=self.choices, note=f"{len(rule_set.rules)} rules from the app"
        )
        self.app.call_from_thread(self._generated, function, outcome)

    def _generated(self, function: str, outcome: HookGateOutcome | None) -> None:
        if outcome is None:
            self.notify(f"No rule of {function} could be learned from the pairs not held out "
                        "for the gate: nothing was saved.", severity="warning")
            return
        decision, version = outcome.decision, outcome.version_id or "no new version"
        passed = "passed the hook gate" if decision.passed else "was refused by the hook gate"
        self.notify(f"{version} {passed}: {decision.reason}. {outcome.live_words}. "
                    "F6 shows the versions.", title=f"Hook of {function}", markup=False,
                    severity="information" if decision.passed else "warning", timeout=10)

    def _function(self) -> str | None:
        return self.vt_app.current_function or self.workspace.config.selection.function

    # -- rows in full ---------------------------------------------------------------------
    def row_detail(self, table: DataTable) -> DetailScreen | None:
        rule_set, key = self.rule_set, cursor_key(table)
        if rule_set is None or key is None:
            return None
        diff = self.workspace.feedback.diff
        if table.id == "rules":
            listed = self._listed()
            rule, reason = listed[int(key)]
            number = f"rule {int(key) + 1}" if reason is None else "inactive rule"
            return DetailScreen(
                f"{number.capitalize()} of {len(rule_set.rules)} (from {len(rule_set.pairs)} "
                "pairs)", rule_sections(rule, rule_set.pairs, diff, inactive=reason)
            )
        conflict = next((c for c in rule_set.conflicts if c.conflict_id == key), None)
        if conflict is None:
            return None
        sections: list[Section] = [
            ("conflict", f"{conflict.kind}: kept {_kept_label(conflict)} "
                         f"(by {conflict.resolved_by}); {conflict.reason}"),
            ("your choice", CONFLICT_KEYS + " (on the conflicts table, after escape)"),
        ]
        names = [f"rule {chr(ord('A') + i)}" if i < 26 else f"rule {i}"
                 for i in range(len(conflict.rules))]
        # Both rules first, then the pairs behind each (A's can be many: B stays in reach).
        for name, rule in zip(names, conflict.rules, strict=True):
            sections += rule_sections(rule, rule_set.pairs, diff, name=name, with_pairs=False)
        for name, rule in zip(names, conflict.rules, strict=True):
            sections += pair_sections(rule, rule_set.pairs, diff, name=name)
        return DetailScreen(f"Conflict {conflict.conflict_id}", sections)

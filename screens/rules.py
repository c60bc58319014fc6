"""Rule review and merge conflicts: rules, the diffs behind them, a choice per conflict, replay,
generate hook."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Label, RichLog, Static

from screens.base import ModeScreen
from tui.widgets import cursor_key, key_value_table
from tui.workers import in_background
from vectortrainer.display import preview
from vectortrainer.errors import VectorTrainerError
from vectortrainer.workspace.types import (
    Choice,
    Conflict,
    DiffSegment,
    HookGateOutcome,
    ReplayReport,
    Rule,
    RuleSet,
)

# Shown above the conflicts table (the footer has room for key 3 only; help lists all four).
CONFLICT_KEYS = "1 keep A · 2 keep B · 3 both A→B · 4 both B→A"


def word_diff(segments: list[DiffSegment]) -> Text:
    """A pair's token diff: removed text in red (struck through), added text in green."""
    text = Text()
    for segment in segments:
        if segment.op == "equal":
            text.append(segment.bad)
            continue
        if segment.bad:
            text.append(segment.bad, style="bold red strike")
        if segment.fixed:
            text.append(segment.fixed, style="bold green")
    return text


def rule_text(rule: Rule) -> str:
    condition = rule.describe_scope()
    arrow = f"{rule.pattern!r} → {rule.replacement!r}"
    cases = ", ".join(f"{case} \\{group}" for group, case in sorted(rule.group_case.items()))
    return (
        f"{rule.kind}: {arrow}"
        + (f" ({cases})" if cases else "")
        + (f" if {condition}" if condition else "")
    )


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
    ]

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
                yield DataTable(id="rules", cursor_type="row", zebra_stripes=True)
                yield Label(
                    f"Conflicts — {CONFLICT_KEYS}", classes="panel-title", id="conflicts-title"
                )
                yield DataTable(id="conflicts", cursor_type="row", zebra_stripes=True)
            with Vertical(id="rules-right", classes="panel"):
                yield Label("Feedback behind the selected rule", classes="panel-title")
                yield RichLog(id="rule-diffs", wrap=True, markup=False, min_width=20)
                yield Label("Replay on the feedback pairs", classes="panel-title")
                yield Static("Press s to synthesise rules from the feedback pairs.", id="replay")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#rules", DataTable).add_columns(
            "#", "logs", "kind", "pattern → replacement", "support", "prio"
        )
        self.query_one("#conflicts", DataTable).add_columns("id", "kept", "by", "A", "B")

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
        shown = f"{done:,} of {total:,}" if total else f"step {done:,}"
        self.app.call_from_thread(
            self.query_one("#replay", Static).update, f"Synthesising rules… {what}: {shown}"
        )

    def _show_rule_set(self, rule_set: RuleSet, report: ReplayReport | None) -> None:
        self.rule_set, self.replay_report = rule_set, report
        rules = self.query_one("#rules", DataTable)
        rules.clear()
        for index, (rule, reason) in enumerate(self._listed()):
            condition = rule.describe_scope()
            change = f"{preview(rule.pattern, 16)} → {preview(rule.replacement, 16)}"
            number = str(index + 1) if reason is None else "off"
            rules.add_row(number, logs_cell(rule), rule.kind,
                          Text(change + (f" [{preview(condition, 18)}]" if condition else "")),
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
                Text(preview(rule_text(a), 28) if a else ""),
                Text(preview(rule_text(b), 28) if b else ""),
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

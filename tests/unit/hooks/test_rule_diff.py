"""Rule-level hook diffs (VT-18): added, removed, changed and moved rules, their supporting pairs,
the error for a hook not made by the generator, and the CLI and TUI renderers at 80 columns."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from rich.console import Console

from tui.rule_diff import rule_diff_text, supporting_pairs_text
from vectortrainer.cli.rule_diff_table import rule_diff_tables, supporting_pairs_table
from vectortrainer.errors import DataFormatError, HookVersionError
from vectortrainer.feedback.from_logs import LoggedOutput
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.report import rules_report
from vectortrainer.hooks.rule_diff import (
    RuleDiff,
    diff_hook_sources,
    diff_rules,
    diff_rules_documents,
)
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.rules.synthesis import synthesize_rules
from vectortrainer.rules.model import Evidence, Rule, rule_id_for

TICKETS = [FeedbackPair(f"Summary: see ticket #{n} now", f"see ticket VT-{n} now", "p",
                        {"function": "f"}) for n in (11, 2345, 7)]
THANKS = FeedbackPair("Summary: call me, Thanks", "call me", "p", {"function": "f"})


def _hook(rules) -> str:
    return HookScriptGenerator(check_in_subprocess=False).render(rules)[0]


def _rule(kind: str, pattern: str = "", replacement: str = "", **fields) -> Rule:
    rule = Rule(kind, pattern, replacement, **fields)
    return dataclasses.replace(rule, rule_id=rule_id_for(rule))


def _changed_fields(diff: RuleDiff) -> dict[str, tuple[str, str]]:
    return {f.field: (f.before, f.after) for change in diff.changed for f in change.changes}


def _render(renderable) -> str:
    console = Console(record=True, width=80, color_system=None)
    console.print(renderable)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text  # folded, never cut off
    return text


def _assert_no_json(lines: list[str]) -> None:
    for line in lines:
        assert not re.search(r"[{\[]\s*\"", line), line  # no JSON object or list of strings
        for start in (i for i, ch in enumerate(line) if ch in "{["):
            try:
                json.loads(line[start:])
            except ValueError:
                continue
            pytest.fail(f"raw JSON in {line!r}")


# A log of f where the words of the one-off THANKS correction come back: so it is a rule (issue 23).
LOGS = [LoggedOutput("Summary: text me, Thanks", {"function": "f"})]


@pytest.fixture(scope="module")
def learned():
    before = synthesize_rules(TICKETS, logs=LOGS)
    after = synthesize_rules([*TICKETS, THANKS], logs=LOGS)
    return before, after


def test_learned_rules_added_and_changed_with_their_pairs(learned):
    before, after = learned
    diff = diff_hook_sources(_hook(before), _hook(after), before_pairs=before.pairs,
                             after_pairs=after.pairs, before_label="v001", after_label="v002")
    assert [e.action for e in diff.added] == ["replace 'me, Thanks' -> 'me'"]
    added = diff.added[0]
    assert added.scope == "function=f" and added.support == 1 and added.position == 3
    assert [(p.number, p.bad_output, p.fixed_output) for p in added.pairs] == [
        (4, THANKS.bad_output, THANKS.fixed_output)]
    assert diff.removed == () and diff.unchanged == 1 and diff.moved == ()
    [change] = diff.changed
    assert change.after.action == "strip_prefix 'Summary: '" and not change.behaviour_changed
    fields = _changed_fields(diff)
    assert fields["support"] == ("3", "4")
    assert fields["supporting pairs"] == ("1, 2, 3", "1, 2, 3, 4")
    assert fields["repaired"] == ("3 pairs", "4 pairs")
    assert fields["exact"] == ("3 pairs", "4 pairs")
    assert len(change.after.pairs) == 4
    assert change.before.pairs[0].bad_output == TICKETS[0].bad_output
    lines = diff.lines(pairs=True)
    assert lines[0] == "v001 -> v002: 1 added, 0 removed, 1 changed, 1 unchanged"
    assert "+ rule 3: replace 'me, Thanks' -> 'me' (if function=f) support 1" in lines
    assert "~ rule 1: strip_prefix 'Summary: '" in lines and "    support: 3 -> 4" in lines
    assert "    pair 4: 'Summary: call me, Thanks' -> 'call me' (function=f)" in lines
    _assert_no_json(lines)


def test_the_other_way_the_rule_is_removed(learned):
    before, after = learned
    diff = diff_hook_sources(_hook(after), _hook(before))
    assert [e.describe() for e in diff.removed] == [
        "replace 'me, Thanks' -> 'me' (if function=f) support 1"]
    assert diff.added == () and diff.removed[0].pairs is None  # no pairs given: numbers only
    assert diff.removed[0].pair_lines() == [
        "supporting pairs: 4 (the feedback pairs were not given)"]
    assert any(line.startswith("- rule 3: replace") for line in diff.lines())


def test_identical_hooks_change_no_rule(learned):
    before, _ = learned
    diff = diff_hook_sources(_hook(before), _hook(before))
    assert diff.empty and diff.unchanged == 2
    assert diff.lines() == ["before -> after: 0 added, 0 removed, 0 changed, 2 unchanged",
                            "no rule changed"]


def test_replacement_scope_case_and_pattern_changes_are_listed():
    before = [_rule("replace", "ticket #", "ticket VT-"),
              _rule("strip_prefix", "Summary: "),
              _rule("regex_replace", r"id (\w+)", r"ID \g<1>", group_case={1: "upper"}),
              _rule("case_fix", "vectortrainer", "VectorTrainer")]
    after = [_rule("replace", "ticket #", "ticket TKT-"),  # new replacement
             _rule("strip_prefix", "Summary: ", condition={"function": "f"},
                   text_condition=[r"ticket(?<!\wticket)(?!\w)"]),  # narrowed
             _rule("regex_replace", r"id (\w+)", r"ID \g<1>", group_case={1: "lower"}),
             _rule("case_fix", "vector trainer", "VectorTrainer")]  # new pattern, same fix
    diff = diff_rules(before, after)
    assert diff.added == () and diff.removed == () and diff.unchanged == 0 and diff.moved == ()
    fields = _changed_fields(diff)
    assert fields["replacement"] == ("'ticket VT-'", "'ticket TKT-'")
    assert fields["scope"] == ("always", "function=f; text has 'ticket'")
    assert fields["case"] == ("upper \\1", "lower \\1")
    assert fields["pattern"] == ("'vectortrainer'", "'vector trainer'")
    assert all(change.behaviour_changed for change in diff.changed)
    lines = diff.lines()
    assert "~ rule 1: replace 'ticket #' -> 'ticket TKT-'" in lines
    assert "    replacement: 'ticket VT-' -> 'ticket TKT-'" in lines
    assert r"~ rule 3: regex_replace /id (\w+)/ -> 'ID \g<1>'" in lines
    _assert_no_json(lines)


def test_different_rules_of_one_kind_are_added_and_removed_not_changed():
    before = [_rule("strip_prefix", "Summary: "), _rule("append", "", "Thanks!")]
    after = [_rule("strip_prefix", "Note: "), _rule("append", "", "Regards")]
    diff = diff_rules(before, after)
    assert [e.action for e in diff.removed] == ["strip_prefix 'Summary: '", "append 'Thanks!'"]
    assert [e.action for e in diff.added] == ["strip_prefix 'Note: '", "append 'Regards'"]
    assert diff.changed == ()


def test_same_pattern_in_two_scopes_pairs_by_scope():
    gold = _rule("replace", "refund", "credit", condition={"tier": "gold"})
    free = _rule("replace", "refund", "voucher", condition={"tier": "free"})
    diff = diff_rules([gold, free], [dataclasses.replace(free, replacement="nothing", rule_id=""),
                                     gold])
    assert diff.unchanged == 1 and len(diff.changed) == 1
    [change] = diff.changed
    assert change.after.scope == "tier=free"
    assert _changed_fields(diff)["replacement"] == ("'voucher'", "'nothing'")


def test_a_moved_rule_is_a_change_and_a_shifted_one_is_not():
    a, b, c = (_rule("strip_prefix", p) for p in ("A: ", "B: ", "C: "))
    diff = diff_rules([a, b, c], [c, a, b])
    assert diff.unchanged == 2 and [m.after.action for m in diff.moved] == ["strip_prefix 'C: '"]
    assert _changed_fields(diff) == {"order": ("rule 3", "rule 1")}
    assert "~ rule 1 (was rule 3): strip_prefix 'C: '" in diff.lines()
    assert diff.summary().endswith("1 changed (1 moved), 2 unchanged")
    shifted = diff_rules([a, b], [c, a, b])  # a and b shift down: an insertion, not a move
    assert shifted.moved == () and shifted.changed == () and len(shifted.added) == 1


def test_figures_only_changes_are_changes_but_not_of_behaviour():
    rule = _rule("remove", "basically")
    measured = dataclasses.replace(rule, evidence=Evidence(why="seen twice", logs_sampled=120,
                                                           logs_changed=3, logs_unbacked=1))
    diff = diff_rules([rule], [measured])
    fields = _changed_fields(diff)
    assert fields["blast radius"] == ("not measured", "3 of 120 logs")
    assert fields["unlike its pairs"] == ("not measured", "1 logs")
    assert fields["why"] == ("(not recorded)", "'seen twice'")
    assert not diff.changed[0].behaviour_changed


def test_a_foreign_hook_cannot_be_compared_rule_by_rule(learned):
    ours = _hook(learned[0])
    foreign = "def intercept_output(text, context=None):\n    return text\n"
    with pytest.raises(HookVersionError, match="v002 cannot be compared rule by rule"):
        diff_hook_sources(ours, foreign, after_label="v002")
    with pytest.raises(HookVersionError, match="cannot be compared rule by rule"):
        diff_hook_sources(render_hook("not json"), ours)
    broken = render_hook(json.dumps({"version": 1, "rules": [{"pattern": "no kind"}]}))
    with pytest.raises(HookVersionError, match="rule 1 of before is not a rule"):
        diff_hook_sources(broken, ours)
    with pytest.raises(DataFormatError, match="rule 2 of after is not a rule"):
        diff_rules([], [{"kind": "remove", "pattern": "x"}, "not a rule"])


def test_saved_versions_compare_by_their_sources(tmp_path, learned):
    before, after = learned
    generator = HookScriptGenerator(check_in_subprocess=False)
    first = generator.generate(before, tmp_path).version_id
    second = generator.generate(after, tmp_path).version_id
    manager = HookVersionManager(tmp_path)
    diff = diff_hook_sources(manager.read_version(first), manager.read_version(second),
                             before_label=first, after_label=second)
    assert diff.summary() == "v001 -> v002: 1 added, 0 removed, 1 changed, 1 unchanged"


def test_rules_documents_attach_pairs_only_of_the_right_feedback(learned):
    before, after = learned
    old = rules_report(before, feedback_path=None)
    new = rules_report(after, feedback_path=None)
    diff = diff_rules_documents(old, new, before_pairs=before.pairs, after_pairs=after.pairs)
    assert diff.notes == () and diff.added[0].pairs[0].fixed_output == "call me"
    wrong = diff_rules_documents(old, new, before_pairs=after.pairs, after_pairs=after.pairs)
    assert wrong.changed[0].before.pairs is None and wrong.changed[0].after.pairs is not None
    assert wrong.notes == ("the supporting pairs of before are not shown: its rules were learned "
                           "from 3 feedback pairs, 4 were given",)
    assert wrong.lines()[-1].startswith("note: the supporting pairs of before")
    short = diff_rules([], after.rules, after_pairs=after.pairs[:2])  # pairs 3, 4 missing
    assert short.added[0].missing_sources == (2, 3)
    assert short.added[0].pair_lines()[-1] == "pairs 3, 4: not in the feedback given"
    skipping = {**new, "skipped_rules": [{"rule": new["rules"][2], "reason": "unsafe regex"}]}
    hooked = diff_rules_documents(old, skipping)
    assert hooked.added == () and hooked.unchanged == 1 and len(hooked.changed) == 1
    assert hooked.notes == ("1 rule of after was left out of its hook and is not compared",)
    with pytest.raises(DataFormatError, match="holds no rules list"):
        diff_rules_documents({"format": 1}, new)


def test_the_diff_as_plain_data_and_rows(learned):
    before, after = learned
    diff = diff_rules(before.rules, after.rules, before_pairs=before.pairs,
                      after_pairs=after.pairs)
    data = json.loads(json.dumps(diff.to_dict()))
    assert data["added"][0]["pattern"] == "me, Thanks" and data["unchanged"] == 1
    rows = diff.rows()
    assert rows[0]["change"] == "added"
    assert {"change": "changed", "rule": "1", "what": "strip_prefix 'Summary: ': support",
            "before": "3", "after": "4"} in rows
    assert [mark for mark, _ in diff.entries()] == ["+", "~"]


def _long_diff() -> RuleDiff:
    long_pattern = "Z" * 90
    before = [_rule("replace", long_pattern, "short", sources=[0], support=1),
              _rule("strip_prefix", "A: "), _rule("remove", "[bold]gone[/bold]")]
    after = [_rule("strip_prefix", "A: ", condition={"function": "summarise"}),
             _rule("replace", long_pattern, "shorter", sources=[0], support=1),
             _rule("append", "", "Thanks for asking!")]
    pairs = [FeedbackPair("Z" * 90 + " is long", "shorter is long", context={"function": "f"})]
    return diff_rules(before, after, before_pairs=pairs, after_pairs=pairs)


def test_the_cli_tables_show_every_field_at_80_columns():
    diff = _long_diff()
    text = _render(rule_diff_tables(diff))
    for expected in ("added (1)", "removed (1)", "changed (2)", "append 'Thanks for asking!'",
                     "[bold]gone[/bold]", "replacement", "'short'", "'shorter'", "scope",
                     "function=summarise", "order", "rule 1", "rule 2", "always"):
        assert expected in text, expected
    assert text.count("Z") == 90  # the long pattern folded over lines, never cut
    assert "model said" not in text
    with_pairs = _render(rule_diff_tables(diff, pairs=True))
    assert "supporting pairs of rule 2 (changed)" in with_pairs and "shorter is long" in with_pairs
    assert "pairs none (the feedback pairs were not given)" not in with_pairs
    assert "no rule changed" in _render(rule_diff_tables(diff_rules([], [])))
    one = _render(supporting_pairs_table(diff.changed[1].after))
    assert "model said" in one and "function=f" in one


def test_the_tui_text_shows_every_field_at_80_columns():
    diff = _long_diff()
    text = _render(rule_diff_text(diff))
    for expected in ("+ rule 3: append 'Thanks for asking!' support 1",
                     "- rule 3: remove '[bold]gone[/bold]' support 1",
                     "    replacement: 'short' -> 'shorter'",
                     "    scope: always -> function=summarise", "    order: rule 2 -> rule 1"):
        assert expected in text, expected
    assert text.count("Z") == 90
    assert all(line.startswith("    ") for line in text.splitlines() if "replacement:" in line)
    with_pairs = _render(rule_diff_text(diff, pairs=True))
    assert "shorter is long" in with_pairs and "pair 1 (function=f):" in with_pairs
    assert "no rule changed" in _render(rule_diff_text(diff_rules([], [])))
    pairs = _render(supporting_pairs_text(diff.changed[0].after))
    assert "supporting pairs: none (the feedback pairs were not given)" not in pairs
    assert "no supporting pairs recorded" in pairs

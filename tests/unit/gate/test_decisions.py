"""The gates' decisions: a model is promoted only when it beats the incumbent and no slice regresses;
a hook goes live only when it repairs held-out pairs and spares every good output."""

from __future__ import annotations

import pytest

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.gate.hook_gate import judge_hook, publish_gated_hook
from vectortrainer.gate.holdout import HeldOutCase, split_pairs
from vectortrainer.gate.model_gate import GateSettings, decide
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.rules.model import Rule, rules_document

SETTINGS = GateSettings(margin=0.02, tolerance=0.05, semantic=False)


def _cases():
    return [HeldOutCase("steady", [{"role": "user", "content": f"q{i}"}], f"answer number {i}") for i in range(3)] + \
        [HeldOutCase("anomaly", [{"role": "user", "content": "rare"}], "a rare answer")]


def test_a_candidate_better_everywhere_is_promoted_with_its_figures():
    cases = _cases()
    decision = decide(cases, "ft:new", "gpt-base", None, [c.reference for c in cases], ["no idea"] * 4, SETTINGS, None)
    assert decision.passed and "beats the base model gpt-base" in decision.reason
    assert decision.candidate_score == 1.0 and decision.incumbent_score < 0.3
    assert decision.slices["steady"]["candidate"].cases == 3 and decision.slices["anomaly"]["candidate"].edit == 1.0
    assert decision.figures()["candidate"] == {"overall": 1.0, "anomaly": 1.0, "steady": 1.0}
    assert decision.examples[0] == {"slice": "steady", "prompt": "q0", "reference": "answer number 0",
                                    "candidate": "answer number 0", "incumbent": "no idea"}


def _anomaly_regresses():
    cases = _cases()
    candidate = [c.reference for c in cases[:3]] + ["nothing like it"]
    incumbent = ["unrelated"] * 3 + [cases[3].reference]
    return cases, candidate, incumbent


def test_a_slice_that_regresses_past_the_tolerance_blocks_promotion_even_when_the_total_is_better():
    cases, candidate, incumbent = _anomaly_regresses()
    settings = GateSettings(margin=0.02, tolerance=0.05, semantic=False, min_slice_cases=1)
    decision = decide(cases, "ft:new", "ft:old", "m001", candidate, incumbent, settings, None)
    assert decision.candidate_score > decision.incumbent_score
    assert not decision.passed and "anomaly 1.000 ->" in decision.reason and "promoted m001 (ft:old)" in decision.reason


def test_a_slice_too_small_to_veto_counts_in_the_score_and_is_named():
    cases, candidate, incumbent = _anomaly_regresses()  # the anomaly slice holds one case; the default needs 3
    decision = decide(cases, "ft:new", "ft:old", "m001", candidate, incumbent, SETTINGS, None)
    assert decision.passed
    assert "anomaly 1.000 ->" in decision.reason and "1 case(s), fewer than 3 to veto alone" in decision.reason
    steady_falls = [c.reference for c in cases[:3]], ["unrelated"] * 3  # the same slice with 3 cases does veto
    decision = decide(cases, "ft:new", "ft:old", "m001", ["unrelated"] * 3 + [cases[3].reference],
                      steady_falls[0] + ["x"], SETTINGS, None)
    assert not decision.passed and "steady 1.000 ->" in decision.reason


def test_a_candidate_no_better_than_the_margin_is_kept_out():
    cases = _cases()
    same = [c.reference for c in cases]
    decision = decide(cases, "ft:new", "ft:old", "m001", same, same, SETTINGS, None)
    assert not decision.passed and "does not beat" in decision.reason and "by the margin 0.02" in decision.reason


def test_no_cases_is_no_promotion_with_what_to_do():
    decision = decide([], "ft:new", "gpt-base", None, [], [], SETTINGS, None)
    assert not decision.passed and "gate.enabled: false" in decision.reason


# ------------------------------------------------------------------------------ hooks
def _pairs(n=20):
    return [FeedbackPair(f"Summary: order {i} is late.", f"order #{i} is late.", f"ticket {i}") for i in range(n)]


def _source(*rules):
    return render_hook(rules_document(list(rules)))


def test_a_hook_that_repairs_held_out_pairs_and_spares_good_outputs_passes():
    pairs = _pairs()
    good = _source(Rule("strip_prefix", "Summary: "), Rule("regex_replace", r"order (\d+)", r"order #\g<1>"))
    decision = judge_hook(good, pairs[:4], pairs)
    assert decision.passed and decision.exact_fixes == 4 and decision.mean_repair == 1.0 and decision.good_changed == []


@pytest.mark.parametrize("rules, reason", [
    ((Rule("replace", "late", "delayed"),), "changes 20 of 20 fixed (good) outputs"),
    ((Rule("replace", "nothing", "matches"),), "repairs none of the 4 held-out"),
])
def test_a_hook_that_harms_good_outputs_or_repairs_nothing_fails(rules, reason):
    pairs = _pairs()
    decision = judge_hook(_source(*rules), pairs[:4], pairs)
    assert not decision.passed and reason in decision.reason


def test_a_hook_must_beat_the_active_one():
    pairs = _pairs()
    partial = _source(Rule("strip_prefix", "Summary: "))
    full = _source(Rule("strip_prefix", "Summary: "), Rule("regex_replace", r"order (\d+)", r"order #\g<1>"))
    decision = judge_hook(partial, pairs[:4], pairs, active_source=full, active_version="v001")
    assert not decision.passed and "does not beat the active hook v001" in decision.reason


def test_publish_gated_hook_saves_a_passing_hook_active_and_a_failing_one_inactive(tmp_path):
    pairs = _pairs(30)
    assert split_pairs(pairs, 5)[1]  # some pairs are held out
    first = publish_gated_hook(pairs, tmp_path, holdout_every=5, semantic_screen=False, function="f",
                               note="run 1", origin="run 1")
    assert first.decision.passed and first.version_id == "v001"
    assert (first.live_before, first.live_now) == (None, "v001")
    again = publish_gated_hook(pairs, tmp_path, holdout_every=5, semantic_screen=False, function="f")
    assert again.version_id is None and "same hook as the active version v001" in again.decision.reason
    # New feedback whose fixes the rules would undo: the learned hook no longer spares good outputs.
    manager = HookVersionManager.for_function(tmp_path, "f")
    assert len(manager.list_versions()) == 1 and manager.list_versions()[0].origin == "run 1"
    decision = judge_hook(_source(Rule("replace", "late", "delayed")), pairs[:3], pairs,
                          active_source=manager.read_version("v001"), active_version="v001")
    version = manager.save_version(_source(Rule("replace", "late", "delayed")), 1, activate=decision.passed,
                                   gate=decision.to_dict())
    versions = manager.list_versions()
    assert [v.active for v in versions] == [True, False] and versions[1].version_id == version
    assert versions[1].gate["passed"] is False and versions[1].gate["good_changed"]
    # A rollback to "the previous one" never lands on the version the gate refused.
    manager.save_version(_source(Rule("strip_prefix", "Summary: ")), 1, note="a person's hook")
    assert manager.rollback().version_id == "v001"

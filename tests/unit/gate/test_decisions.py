"""The gates' decisions: a model is promoted only when it beats the incumbent with confidence, on
enough cases, and no slice regresses; a hook goes live only when it repairs held-out pairs and spares
every good output."""

from __future__ import annotations

import pytest

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.gate.hook_gate import judge_hook, publish_gated_hook
from vectortrainer.gate.holdout import HeldOutCase, split_pairs
from vectortrainer.errors import SettingError
from vectortrainer.gate.evidence import paired_gain
from vectortrainer.gate.model_gate import GateSettings, decide, evaluate_candidate
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.training.base import Completion
from vectortrainer.workspace.service import ModelRow

SETTINGS = GateSettings(margin=0.02, tolerance=0.05, semantic=False)


STEADY = 9  # with the anomaly case, 10 held-out cases: more than gate.min_cases (8)


def _cases():
    return [HeldOutCase("steady", [{"role": "user", "content": f"q{i}"}], f"answer number {i}") for i in range(STEADY)] + \
        [HeldOutCase("anomaly", [{"role": "user", "content": "rare"}], "a rare answer")]


def test_a_candidate_better_everywhere_is_promoted_with_its_figures():
    cases = _cases()
    decision = decide(cases, "ft:new", "gpt-base", None, [c.reference for c in cases], ["no idea"] * len(cases),
                      SETTINGS, None)
    assert decision.passed and decision.outcome == "promote" and "beats the base model gpt-base" in decision.reason
    assert decision.candidate_score == 1.0 and decision.incumbent_score < 0.3
    assert decision.slices["steady"]["candidate"].cases == STEADY and decision.slices["anomaly"]["candidate"].edit == 1.0
    assert decision.figures()["candidate"] == {"overall": 1.0, "anomaly": 1.0, "steady": 1.0}
    assert decision.figures()["slice_cases"] == {"anomaly": 1, "steady": STEADY}
    gain = decision.figures()["gain"]
    assert gain["low"] <= gain["mean"] <= gain["high"] and gain["low"] > 0.5
    assert gain["confidence"] == 0.95 and gain["cases"] == len(cases)
    assert decision.examples[0] == {"slice": "steady", "prompt": "q0", "reference": "answer number 0",
                                    "candidate": "answer number 0", "incumbent": "no idea"}


def _anomaly_regresses():
    cases = _cases()
    candidate = [c.reference for c in cases[:STEADY]] + ["nothing like it"]
    incumbent = ["unrelated"] * STEADY + [cases[-1].reference]
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
    steady = [c.reference for c in cases[:STEADY]]  # the same fall on the steady slice (9 cases) does veto
    decision = decide(cases, "ft:new", "ft:old", "m001", ["unrelated"] * STEADY + [cases[-1].reference],
                      steady + ["x"], SETTINGS, None)
    assert not decision.passed and decision.outcome == "keep" and "steady 1.000 ->" in decision.reason


def test_a_candidate_no_better_than_the_margin_is_kept_out():
    cases = _cases()
    same = [c.reference for c in cases]
    decision = decide(cases, "ft:new", "ft:old", "m001", same, same, SETTINGS, None)
    assert not decision.passed and "does not beat" in decision.reason and "by the margin 0.02" in decision.reason


def test_no_cases_is_no_promotion_with_what_to_do():
    decision = decide([], "ft:new", "gpt-base", None, [], [], SETTINGS, None)
    assert not decision.passed and "gate.enabled: false" in decision.reason
    assert decision.outcome == "not_enough_evidence" and decision.reason.startswith("not enough evidence")


# ------------------------------------------------------------------------------ evidence
def _similar(wrong: int) -> str:
    """A reply whose edit similarity to REFERENCE is 1 - wrong / 100."""
    return "y" * wrong + "x" * (100 - wrong)


REFERENCE = _similar(0)


def _decide(candidate_wrong, incumbent_wrong, settings=SETTINGS):
    cases = [HeldOutCase("steady", [{"role": "user", "content": f"q{i}"}], REFERENCE) for i in range(len(candidate_wrong))]
    return decide(cases, "ft:new", "gpt-base", None, [_similar(w) for w in candidate_wrong],
                  [_similar(w) for w in incumbent_wrong], settings, None)


def test_three_held_out_cases_are_not_enough_evidence_even_for_a_large_gain():
    decision = _decide([0, 0, 0], [90, 90, 90])
    assert not decision.passed and decision.outcome == "not_enough_evidence"
    assert decision.reason.startswith("not enough evidence: 3 held-out case(s), fewer than gate.min_cases 8")
    assert "record more feedback" in decision.reason and "selection.top_k or gate.max_cases" in decision.reason
    assert decision.gain == 0.9 and decision.candidate_score == 1.0  # measured all the same, for the faces


def test_a_gain_above_the_margin_by_noise_alone_is_not_promoted():
    # 12 paired differences symmetric around +0.03: the mean beats the margin 0.02, its lower bound does not.
    noise = [5, 10, 15, 20, 25, 30]
    decision = _decide([47 - n for n in noise] + [47 + n for n in noise], [50] * 12)
    assert decision.gain == 0.03 and decision.candidate_score - decision.incumbent_score >= 0.02  # the old rule's promotion
    assert decision.gain_low < 0.02 < decision.gain_high
    assert not decision.passed and decision.outcome == "keep"
    assert "does not beat the base model gpt-base (0.500) by the margin 0.02 at 95% confidence" in decision.reason
    assert decision.to_dict()["gain_low"] == decision.gain_low and decision.to_dict()["confidence"] == 0.95


def test_a_consistent_gain_over_many_cases_is_promoted():
    decision = _decide([30 + (i * 7) % 11 - 5 for i in range(24)], [50] * 24)  # every case gains 0.15-0.25
    assert decision.passed and decision.outcome == "promote"
    assert 0.02 < decision.gain_low <= decision.gain <= decision.gain_high < 0.25
    assert "at least +0.19" in decision.reason and "95% confidence over 24 cases" in decision.reason


@pytest.mark.parametrize("candidate, incumbent, failed", [
    ([_similar(0)] * 9 + [None], [_similar(90)] * 10, 1),  # a reply that errored
    ([_similar(0)] * 10, [_similar(90)] * 8, 2),  # two replies missing
])
def test_a_failed_reply_is_not_enough_evidence(candidate, incumbent, failed):
    cases = [HeldOutCase("steady", [{"role": "user", "content": f"q{i}"}], REFERENCE) for i in range(10)]
    decision = decide(cases, "ft:new", "gpt-base", None, candidate, incumbent, SETTINGS, None)
    assert not decision.passed and decision.outcome == "not_enough_evidence" and decision.failed_replies == failed
    assert decision.reason.startswith(f"not enough evidence: {failed} of 20 replies failed")
    assert decision.candidate_score is None and decision.gain is None


class _OneReplyFails:
    """A trainer whose provider answered the candidate's first prompt with no reply."""

    name = "local"

    def complete_many(self, model, conversations, *, max_tokens):
        return [Completion(REFERENCE, failed=model == "ft:new" and i == 0) for i in range(len(conversations))]


def test_a_reply_the_provider_did_not_give_is_not_enough_evidence():
    cases = [HeldOutCase("steady", [{"role": "user", "content": f"q{i}"}], REFERENCE) for i in range(10)]
    decision = evaluate_candidate(_OneReplyFails(), cases, candidate="ft:new", incumbent="gpt-base",
                                  incumbent_version=None, settings=SETTINGS, scorer=None)
    assert decision.outcome == "not_enough_evidence" and decision.failed_replies == 1
    assert decision.inference["requests"] == 20


def test_the_confidence_and_the_case_floor_are_settings():
    noise = [5, 10, 15, 20, 25, 30]
    noisy = ([47 - n for n in noise] + [47 + n for n in noise], [50] * 12)
    assert _decide(*noisy, GateSettings(semantic=False, margin=0.0, confidence=0.6)).passed
    assert _decide([0, 0, 0], [90, 90, 90], GateSettings(semantic=False, min_cases=3)).passed
    for bad in ({"confidence": 1.0}, {"confidence": 0.5}, {"confidence": float("nan")}, {"min_cases": 0},
                {"min_cases": 2.5}):
        with pytest.raises(SettingError):
            GateSettings(**bad)


def test_the_interval_is_deterministic_and_a_point_when_every_difference_is_the_same():
    differences = [0.1, -0.05, 0.2, 0.0, 0.15, 0.3, -0.1, 0.05]
    assert paired_gain(differences, 0.95) == paired_gain(differences, 0.95)
    wide, narrow = paired_gain(differences, 0.99), paired_gain(differences, 0.8)
    assert wide.low < narrow.low < narrow.mean < narrow.high < wide.high
    same = paired_gain([0.2] * 5, 0.95)
    assert (same.low, same.mean, same.high) == (0.2, 0.2, 0.2)


def test_the_registry_and_the_faces_rows_carry_the_outcome_the_interval_and_the_slices(tmp_path):
    cases = _cases()
    decision = decide(cases, "ft:new", "gpt-base", None, [c.reference for c in cases], ["no idea"] * len(cases),
                      SETTINGS, None)
    few = _decide([0, 0, 0], [90, 90, 90])
    registry = ModelRegistry(tmp_path, "f")
    for d, run in ((decision, "run-1"), (few, "run-2")):
        registry.register(provider="openai", model=d.candidate, run_id=run, evaluation=d.figures(),
                          gate={"passed": d.passed, "reason": d.reason, "outcome": d.outcome}, promote=d.passed)
    promoted, kept = (ModelRow.of(e) for e in registry.list())
    assert promoted.gate == "passed" and kept.gate == "not enough evidence"
    assert promoted.gain.startswith(f"{decision.gain:+.3f} (95% one-sided bounds ") and "10 cases" in promoted.gain
    assert promoted.slices == "steady 1.000/0.200 (9), anomaly 1.000/0.154 (1)"
    assert kept.gain == "+0.900 (95% one-sided bounds +0.900 to +0.900, 3 cases)"


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


def test_a_refusal_on_one_held_out_pair_says_how_little_it_rests_on():
    """The demo's classify_intent holds out one pair of 16, a correction made once: its hook was
    refused with no hint that one pair is little to judge on."""
    pairs = _pairs()
    nothing = _source(Rule("replace", "nothing", "matches"))
    one = judge_hook(nothing, pairs[:1], pairs)
    assert not one.passed
    assert one.reason.startswith("it repairs none of the 1 held-out bad outputs; 1 held-out pair is")
    assert "record more corrections, or roll back to this version" in one.reason
    four = judge_hook(nothing, pairs[:4], pairs)
    assert not four.passed and "little to judge on" not in four.reason


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

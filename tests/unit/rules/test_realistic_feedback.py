"""The quality bar on realistic feedback (VT-12), held-out: repair >= 0.9, exact >= 0.85, no good output changed.

The families (tests/support/feedback_families.py) carry look-alikes of each defect in good
outputs, context that says nothing, and uncorrected logs; `bench/rules_quality.py` prints
the same figures per family and seed.
"""

from __future__ import annotations

import statistics

import pytest

from tests.support.feedback_families import FAMILIES, Split, split
from vectortrainer.feedback.diffing import edit_distance
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.validation import validate_hook_source
from vectortrainer.rules.replay import apply_rules
from vectortrainer.rules.safety import check_rule_safety
from vectortrainer.rules.synthesis import RuleSet, synthesize_rules

SEEDS = (13, 1, 2)


def _figures(rule_set: RuleSet, part: Split) -> tuple[float, float, list[str]]:
    repairs, exact = [], 0
    for pair in part.held_out:
        after = apply_rules(rule_set.rules, pair.bad_output, pair.context)
        before_d, after_d = edit_distance(pair.bad_output, pair.fixed_output), edit_distance(after, pair.fixed_output)
        repairs.append((before_d - after_d) / before_d)
        exact += after == pair.fixed_output
    harmed = [text for text, context in part.good_outputs() if apply_rules(rule_set.rules, text, context) != text]
    return statistics.mean(repairs), exact / len(part.held_out), harmed


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_held_out_quality_on_realistic_feedback(name, seed):
    part = split(FAMILIES[name](), seed)
    rule_set = synthesize_rules(part.train, logs=part.sample_outputs())
    repair, exact, harmed = _figures(rule_set, part)
    assert harmed == []
    assert repair >= 0.9 and exact >= 0.85, (repair, exact)
    # Every pattern and condition the learner emits is one the hook may run, and the hook validates.
    for rule in rule_set.rules:
        check_rule_safety(rule.to_dict())
    source, kept, skipped = HookScriptGenerator().render(rule_set)
    assert not skipped and len(kept) == len(rule_set.rules) and validate_hook_source(source) == len(kept)


@pytest.mark.parametrize("name", ["refund_only", "json_keys"])
def test_the_logs_keep_rules_off_good_outputs_the_pairs_never_showed(name):
    part = split(FAMILIES[name](), 13)
    _, _, harmed_without_logs = _figures(synthesize_rules(part.train), part)
    assert harmed_without_logs  # learned from the pairs alone, the rule fires on good outputs
    rule_set = synthesize_rules(part.train, logs=part.sample_outputs())
    assert _figures(rule_set, part)[2] == []
    assert any("narrowed on the logs" in rule.evidence.why for rule in rule_set.rules)

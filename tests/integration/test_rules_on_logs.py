"""The blast radius on a real store (VT-12): rules learned from the demo feedback are measured on the seeded
VectorWave Lite store's uncorrected logs, through the CLI as a user runs it."""

from __future__ import annotations

import json

from vectortrainer.cli import main
from vectortrainer.demo.feedback import demo_feedback_pairs, write_demo_feedback
from vectortrainer.feedback.from_logs import uncorrected_outputs
from vectortrainer.rules.learning import learn_rules
from vectortrainer.rules.replay import apply_rules
from vectortrainer.store.source import LogSource


def test_demo_rules_are_measured_on_the_stores_uncorrected_logs(seeded_store):
    source = LogSource.open(seeded_store)
    pairs = demo_feedback_pairs()
    sample = uncorrected_outputs(source, ["draft_reply", "summarize_ticket", "no_such_function"], pairs,
                                 per_function=50)
    assert len(sample) == 100 and {o.context["function"] for o in sample} == {"draft_reply", "summarize_ticket"}
    assert all("tier" in o.context for o in sample)  # captured arguments become the context the rules see
    rule_set = learn_rules(pairs, semantic_screen=False, source=source)
    functions = ["classify_intent", "draft_reply", "summarize_ticket"]
    assert len(rule_set.logs) == len(uncorrected_outputs(source, functions, pairs)) > 300
    for rule in rule_set.rules:
        assert rule.evidence.logs_sampled == len(rule_set.logs) and rule.evidence.logs_changed is not None
    # The demo functions make the very defects the feedback corrects: the rules fire on their logs too.
    assert sum(rule.evidence.logs_changed for rule in rule_set.rules) > 0
    for pair in pairs:
        assert apply_rules(rule_set.rules, pair.fixed_output, pair.context) == pair.fixed_output


def test_rules_synthesize_reports_each_rules_blast_radius(seeded_store, tmp_path, capsys):
    feedback, hooks = tmp_path / "fb.jsonl", tmp_path / "hooks"
    write_demo_feedback(feedback)
    args = ["rules", "synthesize", "--feedback", str(feedback), "--hooks-dir", str(hooks), "--no-semantic",
            "--store", str(seeded_store)]
    assert main(args + ["--json"]) == 0
    # One summary per function of the feedback, each with its own rules, each only looked at.
    summaries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [s["function"] for s in summaries] == ["classify_intent", "draft_reply", "summarize_ticket"]
    assert all(s["version"] is None and s["live_now"] is None for s in summaries) and not hooks.exists()
    for summary in summaries:
        assert summary["logs_sampled"] > 0 and summary["replay"]["good_changed"] == []
        assert all(rule["evidence"]["logs_sampled"] == summary["logs_sampled"] for rule in summary["rules"])
    summary = summaries[-1]
    assert main(args + ["--function", "summarize_ticket"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the tables wrap at the terminal's width
    assert "blast radius" in out and "why 1:" in out and "nothing was made live" in out
    assert f"blast radius measured on {summary['logs_sampled']} uncorrected logged output(s)" in out

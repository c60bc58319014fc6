"""Rule synthesis at volume and failure order (issue 16 items 2 and 5).

* a huge pair is diffed on its changed middle, or skipped, and the notes say which and why;
* checking rules only on the pairs they could change learns exactly the rules a full check learns;
* progress is reported while pairs are diffed and one-off corrections learned;
* a lone surrogate in the feedback is read as U+FFFD (counted), and every artefact is
  written before a new hook version becomes active;
* ``--batch`` reports malformed feedback lines in its events and its summary.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.support.feedback_families import FAMILIES, split
from tests.support.pipelines import placeholder_key
from tests.support.tui_fixtures import greetings_by_tier, write_chatml
from vectortrainer.cli import main
from vectortrainer.config import Config
from vectortrainer.feedback.diffing import MAX_DIFF_CHARS, bounded_pair
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore, write_feedback_file
from vectortrainer.hooks import versions as hook_versions
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.rules import acceptance
from vectortrainer.rules.synthesis import synthesize_rules
from vectortrainer.rules.text_index import PairIndex
from vectortrainer.runs.directory import RunDirectory


def _log(lines: int, fix_every: int) -> FeedbackPair:
    rows = [f"12:00:{n % 60:02d} worker-{n % 7} batch {n} recieved {n % 97} items\n" for n in range(lines)]
    fixed = [r.replace("recieved", "received") if i % fix_every == 0 else r for i, r in enumerate(rows)]
    return FeedbackPair("".join(rows), "".join(fixed))


def test_a_huge_pair_with_one_edit_is_learned_from_its_middle() -> None:
    body = "".join(f"line {n} is fine and nothing here changes at all\n" for n in range(20000))  # ~1 MB
    pair = FeedbackPair(body + "Thanks, you will recieve it soon.", body + "Thanks, you will receive it soon.")
    started = time.perf_counter()
    others = [FeedbackPair("We recieve mail daily.", "We receive mail daily."),
              FeedbackPair("Did you recieve it?", "Did you receive it?")]
    rule_set = synthesize_rules([pair, *others])
    assert time.perf_counter() - started < 20
    assert any(note.startswith("pair 0 trimmed:") for note in rule_set.notes)
    assert [(r.pattern, r.replacement) for r in rule_set.rules] == [("recieve", "receive")]


def test_a_huge_pair_with_edits_everywhere_is_skipped_and_said_so() -> None:
    pair = _log(8000, 50)
    assert len(pair.bad_output) + len(pair.fixed_output) > MAX_DIFF_CHARS
    assert bounded_pair(pair.bad_output, pair.fixed_output).status == "skipped"
    rule_set = synthesize_rules([pair])
    skipped = [note for note in rule_set.notes if note.startswith("pair 0 skipped:")]
    assert skipped and "over the 50,000 a pair is diffed on" in skipped[0]
    assert rule_set.rules == []


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_checking_rules_only_where_they_could_fire_learns_the_same_rules(name: str, monkeypatch) -> None:
    part = split(FAMILIES[name](), 13)
    pairs = part.train + [FeedbackPair("Your order 4411 ships", "Your order #4411 ships"),
                          FeedbackPair("Your order 97 ships", "Your order #97 ships")]
    indexed = synthesize_rules(pairs, logs=part.sample_outputs()).to_dict()
    monkeypatch.setattr(acceptance.PairIndex, "candidates", lambda self, rule: None)  # check every pair
    everywhere = synthesize_rules(pairs, logs=part.sample_outputs()).to_dict()
    assert indexed == everywhere
    assert indexed["rules"]


def test_the_pair_index_never_misses_a_pair_a_rule_changes() -> None:
    pairs = [p for name in sorted(FAMILIES) for p in FAMILIES[name]().pairs]
    rules = [r for name in sorted(FAMILIES) for r in synthesize_rules(split(FAMILIES[name](), 13).train).rules]
    assert len(rules) >= len(FAMILIES)
    index = PairIndex(pairs, [p.bad_output for p in pairs])
    from vectortrainer.rules import interpreter
    from vectortrainer.rules.model import rules_document
    for rule in rules:
        compiled, _ = interpreter.load_rules(rules_document([rule]))
        changed = {i for i, p in enumerate(pairs)
                   if interpreter.apply_rules(compiled, p.bad_output, dict(p.context), "output") != p.bad_output
                   or interpreter.apply_rules(compiled, p.fixed_output, dict(p.context), "output") != p.fixed_output}
        where = index.candidates(rule)
        assert where is None or changed <= set(where), rule.pattern


def test_synthesis_reports_progress_with_totals() -> None:
    pairs = [p for name in sorted(FAMILIES) for p in FAMILIES[name]().pairs]
    pairs.append(FeedbackPair("the zorbel is ready", "the quxan is ready", context={"log_uuid": "once"}))
    seen: list[tuple[int, int | None, str]] = []
    synthesize_rules(pairs, progress=lambda done, total, what: seen.append((done, total, what)))
    diffing = [s for s in seen if s[2] == "diffing feedback pairs"]
    assert diffing and diffing[-1][0] == diffing[-1][1] == len(pairs)
    assert any(s[2] == "one-off corrections" and s[0] == s[1] for s in seen)
    assert any(s[1] is None and s[2].startswith("ranking candidates") for s in seen)


def _surrogate_feedback(tmp_path):
    path = tmp_path / "feedback.jsonl"
    pairs = [FeedbackPair("Order 12 ships", "Order #12 ships"), FeedbackPair("Order 7 ships", "Order #7 ships")]
    write_feedback_file(path, pairs)
    bad = json.dumps({"id": "s1", "bad_output": "It costs 5 \ud800 today", "fixed_output": "It costs 5 EUR today"})
    with path.open("a", encoding="utf-8") as handle:
        handle.write(bad + "\n")  # json.dumps escapes it: "\\ud800", a lone surrogate once decoded
        # more orders: without logs a rule needs three pairs, also among those the gate learns from
        for number in (45, 301, 88):
            handle.write(json.dumps({"id": f"o{number}", "bad_output": f"Order {number} ships",
                                     "fixed_output": f"Order #{number} ships"}) + "\n")
    return path


def test_a_lone_surrogate_is_read_as_replacement_character_and_counted(tmp_path) -> None:
    read = FeedbackStore(_surrogate_feedback(tmp_path)).read()
    assert read.surrogate_lines == [3]
    assert read.pairs[2].bad_output == "It costs 5 \ufffd today"
    assert any("U+FFFD" in notice and "line(s) 3" in notice for notice in read.notices("feedback.jsonl"))


def test_rules_synthesize_with_a_lone_surrogate_reports_it_and_puts_the_rules_through_the_gate(
        tmp_path, capsys) -> None:
    feedback = _surrogate_feedback(tmp_path)
    hooks = tmp_path / "hooks"
    assert main(["rules", "synthesize", "--feedback", str(feedback), "--hooks-dir", str(hooks),
                 "--function", "ship_notice", "--no-semantic", "--activate", "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["function"] == "ship_notice" and summary["rules"]
    manager = HookVersionManager.for_function(hooks, "ship_notice")
    (version,) = manager.list_versions()
    assert summary["version"] == version.version_id == "v001"
    # Judged on the held-out pairs, and in service only if it passed.
    assert version.active == summary["gate"]["passed"]
    assert summary["live_now"] == (version.version_id if version.active else None)
    assert "U+FFFD" in captured.err and "line(s) 3" in captured.err


def test_a_failed_rules_json_leaves_the_active_hook_as_it_was(tmp_path, monkeypatch) -> None:
    manager = HookVersionManager.for_function(tmp_path / "hooks", "ship_notice")
    generator = HookScriptGenerator()
    first = synthesize_rules([FeedbackPair("Order 12 ships", "Order #12 ships"),
                              FeedbackPair("Order 7 ships", "Order #7 ships")])
    second = synthesize_rules([FeedbackPair("Hello there", "Hi there"),
                               FeedbackPair("Hello you", "Hi you")])
    manager.save_version(generator.prepare(first).source, 1, rules_document={"rules": []})
    active_before = manager.active_path.read_text(encoding="utf-8")

    def refuse(path, document):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(hook_versions, "write_rules_document", refuse)
    with pytest.raises(OSError):
        manager.save_version(generator.prepare(second).source, 1)
    assert manager.get_active_version().version_id == "v001"
    assert manager.active_path.read_text(encoding="utf-8") == active_before
    assert [v.version_id for v in manager.list_versions()] == ["v001", "v002"]  # saved, never live


def test_batch_reports_malformed_feedback_lines_in_events_and_summary(tmp_path) -> None:
    feedback = tmp_path / "feedback.jsonl"
    write_feedback_file(feedback, greetings_by_tier())
    lines = feedback.read_text(encoding="utf-8").splitlines()
    lines.insert(1, "{not json")
    lines.insert(4, '["a list"]')
    feedback.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with feedback.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"bad_output": "It costs 5 \ud800 today", "fixed_output": "It costs 5 EUR today"}) + "\n")
    config = Config().with_overrides(**{
        "feedback.path": feedback, "feedback.semantic_screen": False, "hooks.dir": tmp_path / "hooks",
        "output_dir": tmp_path / "out", "selection.function": "greet"})
    with placeholder_key():  # the run stops at the cost confirmation, before any request
        outcome = TrainingPipeline(config, confirm=lambda estimate: False).run(
            golden_path=write_chatml(tmp_path / "golden.jsonl", 12))
    run = RunDirectory.open(config.output_dir, outcome.run_id)
    rules = run.state.stages["synthesize"].detail["rules"]
    assert rules["malformed_lines"] == 2 and rules["malformed_line_numbers"] == [2, 5]
    assert rules["surrogate_lines"] == [len(lines) + 1]
    events = [json.loads(line) for line in (run.path / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    progress = [e for e in events if e.get("event", e.get("type")) == "progress" and e.get("stage") == "synthesize"]
    assert any(e["message"] == "diffing feedback pairs" and e["completed"] == e["total"] for e in progress)
    warnings = [e for e in events if e.get("level") == "warning" and "malformed" in str(e.get("message"))]
    assert warnings and "line 2" in warnings[0]["message"] and "line 5" in warnings[0]["message"]
    summary = json.loads(run.summary_path.read_text(encoding="utf-8")) if run.summary_path.exists() else None
    if summary is not None:
        assert summary["rules"]["malformed_lines"] == 2
    assert json.loads(run.rules_path.read_text(encoding="utf-8"))["rules"] is not None

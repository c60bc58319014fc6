"""A run's held-out split is made once, read back ever after, and never reaches the training files."""

from __future__ import annotations

import json

from vectortrainer.config import GateConfig
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.gate.holdout import GATE_TRAIN_FILE, HOLDOUT_FILE, prepare_holdout, split_pairs
from vectortrainer.runs.directory import GOLDEN_PICKS_FILE, RunDirectory
from vectortrainer.training.data import training_files


def _run(tmp_path, n=12):
    run = RunDirectory.create(tmp_path / "out", {}, run_id="run-1", function="draft_reply")
    lines = [json.dumps({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": f"in {i}"},
                                      {"role": "assistant", "content": f"out {i}"}]}) for i in range(n)]
    run.golden_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    picks = [{"uuid": f"u{i}", "strategy": "steady" if i < 8 else "anomaly"} for i in range(n)]
    run.write_json(GOLDEN_PICKS_FILE, picks)
    return run


def _feedback(tmp_path, n=20):
    path = tmp_path / "feedback.jsonl"
    FeedbackStore(path).add_many(FeedbackPair(f"Hi {i}", f"Hello {i}", f"ticket {i}", context={"function": "draft_reply"})
                                 for i in range(n))
    return path


def _references(path):
    return {json.loads(line)["messages"][-1]["content"] for line in path.read_text().splitlines() if line.strip()}


def test_the_split_is_made_once_and_read_back_unchanged(tmp_path):
    run, feedback = _run(tmp_path), _feedback(tmp_path)
    gate = GateConfig(holdout_every=4)
    first = prepare_holdout(run, gate, method="supervised", feedback_path=feedback)
    written = {name: (run.path / name).read_bytes() for name in (HOLDOUT_FILE, GATE_TRAIN_FILE)}
    FeedbackStore(feedback).add(FeedbackPair("Hi late", "Hello late", "ticket late", context={"function": "draft_reply"}))
    again = prepare_holdout(run, gate, method="supervised", feedback_path=feedback)
    assert again == first  # the pair recorded since does not move the goalposts of a resumed run
    assert {name: (run.path / name).read_bytes() for name in written} == written
    assert first.train_path == run.path / GATE_TRAIN_FILE
    assert [c.reference for c in first.cases if c.slice != "feedback"] == ["out 3", "out 7", "out 11"]
    assert len([c for c in first.cases if c.slice == "feedback"]) == 20  # SFT trains on no pair: all judge


def _split_of_20(tmp_path):
    """The held-out split of 20 golden examples and the feedback, and the training files it leaves
    (a quarter of them for validation)."""
    run = _run(tmp_path, n=20)
    held_out = prepare_holdout(run, GateConfig(holdout_every=4), method="supervised",
                               feedback_path=_feedback(tmp_path))
    files = training_files(run, method="supervised", golden=held_out.train_path, pairs=list, system_prompts=None,
                           validation_split=0.25)
    return held_out, files


def test_no_held_out_case_reaches_the_training_or_validation_file(tmp_path):
    held_out, files = _split_of_20(tmp_path)
    held = {c.reference for c in held_out.cases}
    trained = _references(files.train) | _references(files.validation)
    assert held and not held & trained
    assert trained | {c.reference for c in held_out.cases if c.slice != "feedback"} == {f"out {i}" for i in range(20)}


def test_the_split_says_what_it_holds_out_and_what_training_sees(tmp_path):
    held_out, files = _split_of_20(tmp_path)
    golden = sum(c.slice != "feedback" for c in held_out.cases)
    feedback = len(held_out.cases) - golden
    train, validation = len(_references(files.train)), len(_references(files.validation))
    assert golden and feedback and train + validation + golden == 20

    assert held_out.describe(20, train, validation) == (
        f"the gate holds out {golden} of 20 golden examples and {feedback} feedback pairs to judge on; "
        f"training sees {train} examples (+{validation} to validate on)")
    assert held_out.describe(20, 1).endswith("training sees 1 example")


def test_a_dpo_run_trains_on_the_pairs_the_gate_does_not_judge(tmp_path):
    run, feedback = _run(tmp_path), _feedback(tmp_path, n=40)
    held_out = prepare_holdout(run, GateConfig(holdout_every=5), method="dpo", feedback_path=feedback)
    files = training_files(run, method="dpo", golden=held_out.train_path,
                           pairs=lambda: held_out.trainable(FeedbackStore(feedback).pairs()), system_prompts=None,
                           validation_split=0.0)
    judged = {c.reference for c in held_out.cases if c.slice == "feedback"}
    preferred = {json.loads(line)["preferred_output"][0]["content"] for line in files.train.read_text().splitlines()}
    learn, held = split_pairs(FeedbackStore(feedback).pairs(), 5)
    assert judged == {p.fixed_output for p in held} and preferred == {p.fixed_output for p in learn}
    assert judged and not judged & preferred
    assert files.export is not None and files.export.written == len(learn)
    again = training_files(run, method="dpo", golden=held_out.train_path, pairs=list, system_prompts=None,
                           validation_split=0.0)
    assert again.train == files.train and again.export is None  # written once


def test_with_the_gate_off_nothing_is_held_out_and_nothing_is_written(tmp_path):
    run = _run(tmp_path)
    held_out = prepare_holdout(run, GateConfig(enabled=False), method="dpo", feedback_path=_feedback(tmp_path))
    assert held_out.cases == [] and held_out.train_path == run.golden_path
    assert not (run.path / HOLDOUT_FILE).exists() and not (run.path / GATE_TRAIN_FILE).exists()
    pairs = FeedbackStore(tmp_path / "feedback.jsonl").pairs()
    assert held_out.trainable(pairs) == pairs

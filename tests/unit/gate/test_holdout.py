"""The held-out split: per strategy for golden data, by a stable hash for feedback, written once."""

from __future__ import annotations

import json

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.gate.holdout import (
    feedback_cases,
    pair_is_held_out,
    read_cases,
    split_golden,
    split_pairs,
    write_cases,
)


def _golden(path, n):
    lines = [json.dumps({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": f"in {i}"},
                                      {"role": "assistant", "content": f"out {i}"}]}) for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_nth_example_of_each_strategy_is_held_out_and_the_rest_trained_on(tmp_path):
    golden = _golden(tmp_path / "golden.jsonl", 12)
    strategies = ["steady"] * 8 + ["anomaly"] * 4
    cases = split_golden(golden, strategies, 4, tmp_path / "train.jsonl", limit=10)
    assert [(c.slice, c.reference) for c in cases] == [("steady", "out 3"), ("steady", "out 7"), ("anomaly", "out 11")]
    assert cases[0].messages == [{"role": "system", "content": "S"}, {"role": "user", "content": "in 3"}]
    trained = [json.loads(line)["messages"][2]["content"] for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(trained) == 9 and not {"out 3", "out 7", "out 11"} & set(trained)


def test_a_slice_smaller_than_every_still_gives_up_one_case_but_a_single_example_is_kept(tmp_path):
    golden = _golden(tmp_path / "golden.jsonl", 9)
    strategies = ["steady"] * 6 + ["anomaly"] * 2 + ["novel"]
    cases = split_golden(golden, strategies, 5, tmp_path / "train.jsonl", limit=10)
    assert [(c.slice, c.reference) for c in cases] == [("steady", "out 4"), ("anomaly", "out 7")]
    assert len((tmp_path / "train.jsonl").read_text().splitlines()) == 7


def test_without_picks_the_file_is_one_slice_and_the_limit_holds(tmp_path):
    golden = _golden(tmp_path / "golden.jsonl", 12)
    cases = split_golden(golden, ["steady"] * 3, 2, tmp_path / "train.jsonl", limit=2)  # picks disagree with the file
    assert [c.slice for c in cases] == ["golden", "golden"]
    assert len((tmp_path / "train.jsonl").read_text().splitlines()) == 10


def test_a_feedback_pair_is_held_out_in_every_run_or_in_none():
    pairs = [FeedbackPair(f"bad {i}", f"fixed {i}", f"prompt {i}") for i in range(200)]
    learn, held = split_pairs(pairs, 5)
    assert 25 <= len(held) <= 55 and len(learn) + len(held) == 200
    assert [pair_is_held_out(p, 5) for p in pairs] == [pair_is_held_out(FeedbackPair(**p.to_dict()), 5) for p in pairs]
    assert split_pairs(pairs, 1) == (pairs, [])


def test_feedback_cases_ask_like_the_training_data_and_skip_pairs_without_an_input(tmp_path):
    pairs = [FeedbackPair("Hi Ann", "Hello Ann", "ticket A"), FeedbackPair("x", "y", ""),
             FeedbackPair("Hi Bo", "Hello Bo", "ticket B")]
    cases = feedback_cases(pairs, "You are draft_reply.", limit=5)
    assert [(c.slice, c.reference) for c in cases] == [("feedback", "Hello Ann"), ("feedback", "Hello Bo")]
    assert cases[0].messages == [{"role": "system", "content": "You are draft_reply."},
                                 {"role": "user", "content": "ticket A"}]
    write_cases(tmp_path / "holdout.jsonl", cases)
    assert read_cases(tmp_path / "holdout.jsonl") == cases


def test_content_given_as_text_parts_is_replayed_and_judged_as_its_text(tmp_path):
    record = {"messages": [{"role": "system", "content": [{"type": "text", "text": "S"}]},
                           {"role": "user", "content": [{"type": "text", "text": "in "}, {"type": "text", "text": "0"}]},
                           {"role": "assistant", "content": [{"type": "text", "text": "out 0"}]}]}
    golden = tmp_path / "golden.jsonl"
    golden.write_text("\n".join(json.dumps(record) for _ in range(2)) + "\n", encoding="utf-8")
    cases = split_golden(golden, ["steady", "steady"], 5, tmp_path / "train.jsonl", limit=10)
    assert [(c.messages, c.reference) for c in cases] == [
        ([{"role": "system", "content": "S"}, {"role": "user", "content": "in 0"}], "out 0")]

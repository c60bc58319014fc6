"""Preference (DPO) export of feedback pairs: OpenAI and TRL shapes, skipped pairs, reading back."""

from __future__ import annotations

import json

import pytest

from vectortrainer.errors import DataFormatError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.preference import (
    export_preference_jsonl,
    export_run_preferences,
    parse_preference_record,
    read_preference_jsonl,
)

PAIRS = [
    FeedbackPair(bad_output="ok", fixed_output="Printer jammed on floor two.",
                 input_prompt="The printer on floor two is jammed.", context={"function_name": "summarize"}),
    FeedbackPair(bad_output="Sure! Here is a summary: login broken", fixed_output="Login fails after reset.",
                 input_prompt="Customer cannot log in after reset.", context={"function_name": "other"}),
]


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_openai_shape_carries_fixed_as_preferred_and_bad_as_non_preferred(tmp_path):
    target = tmp_path / "dpo.jsonl"
    export = export_preference_jsonl(PAIRS, target, fmt="openai", system_prompts={"summarize": "Summarise tickets."})
    assert export.written == 2 and export.skipped == {}
    first, second = _lines(target)
    assert first == {
        "input": {"messages": [{"role": "system", "content": "Summarise tickets."},
                               {"role": "user", "content": "The printer on floor two is jammed."}]},
        "preferred_output": [{"role": "assistant", "content": "Printer jammed on floor two."}],
        "non_preferred_output": [{"role": "assistant", "content": "ok"}],
    }
    # No system prompt configured for "other": the conversation is the user turn alone.
    assert second["input"]["messages"] == [{"role": "user", "content": "Customer cannot log in after reset."}]


def test_trl_shape_is_conversational_with_explicit_prompt(tmp_path):
    target = tmp_path / "dpo_trl.jsonl"
    export_preference_jsonl(PAIRS, target, fmt="trl", default_system_prompt="Be brief.")
    first = _lines(target)[0]
    assert set(first) == {"prompt", "chosen", "rejected"}
    assert first["prompt"][0] == {"role": "system", "content": "Be brief."}
    assert first["prompt"][-1]["role"] == "user"
    assert first["chosen"] == [{"role": "assistant", "content": "Printer jammed on floor two."}]
    assert first["rejected"] == [{"role": "assistant", "content": "ok"}]


def test_both_shapes_read_back_to_the_same_examples(tmp_path):
    export_preference_jsonl(PAIRS, tmp_path / "a.jsonl", fmt="openai")
    export_preference_jsonl(PAIRS, tmp_path / "b.jsonl", fmt="trl")
    assert read_preference_jsonl(tmp_path / "a.jsonl") == read_preference_jsonl(tmp_path / "b.jsonl")


def test_unusable_pairs_are_counted_by_reason_not_dropped_silently(tmp_path):
    pairs = [
        *PAIRS,
        FeedbackPair(bad_output="x", fixed_output="x", input_prompt="same"),
        FeedbackPair(bad_output="bad", fixed_output="good", input_prompt=""),
        FeedbackPair(bad_output="bad", fixed_output="  ", input_prompt="q"),
    ]
    export = export_preference_jsonl(pairs, tmp_path / "dpo.jsonl")
    assert export.written == 2
    assert export.skipped == {
        "with identical bad and fixed outputs": 1,
        "without an input prompt": 1,
        "with an empty output": 1,
    }


def test_no_usable_pair_is_an_error_and_writes_nothing(tmp_path):
    target = tmp_path / "dpo.jsonl"
    with pytest.raises(DataFormatError, match="no feedback pair is usable"):
        export_preference_jsonl([FeedbackPair(bad_output="a", fixed_output="a", input_prompt="q")], target)
    assert not target.exists()


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"messages": []}, "not a preference record"),
        ({"input": {"messages": [{"role": "user", "content": "q"}]},
          "preferred_output": [{"role": "user", "content": "a"}],
          "non_preferred_output": [{"role": "assistant", "content": "b"}]}, "expected 'assistant'"),
        ({"prompt": [{"role": "assistant", "content": "q"}],
          "chosen": [{"role": "assistant", "content": "a"}],
          "rejected": [{"role": "assistant", "content": "b"}]}, "must end with a user message"),
        ({"prompt": [{"role": "user", "content": "q"}],
          "chosen": [{"role": "assistant", "content": "a"}, {"role": "assistant", "content": "c"}],
          "rejected": [{"role": "assistant", "content": "b"}]}, "exactly one assistant message"),
    ],
)
def test_malformed_records_name_the_place_and_the_problem(record, message):
    with pytest.raises(DataFormatError, match=message) as info:
        parse_preference_record(record, "pref.jsonl:7")
    assert str(info.value).startswith("pref.jsonl:7")


def test_reading_reports_file_and_line_of_bad_json(tmp_path):
    path = tmp_path / "dpo.jsonl"
    export_preference_jsonl(PAIRS, path)
    path.write_text(path.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"dpo.jsonl:3: not valid JSON"):
        read_preference_jsonl(path)


def test_run_export_keeps_the_runs_function_and_the_golden_system_prompt(tmp_path):
    golden = tmp_path / "golden.jsonl"
    golden.write_text(json.dumps({"messages": [{"role": "system", "content": "Golden prompt."},
                                               {"role": "user", "content": "u"},
                                               {"role": "assistant", "content": "a"}]}) + "\n")
    untagged = FeedbackPair(bad_output="b", fixed_output="f", input_prompt="q")
    export = export_run_preferences([*PAIRS, untagged], tmp_path / "dpo.jsonl", function="summarize",
                                    golden_path=golden)
    assert export.written == 2  # "summarize" and the untagged pair; "other" belongs to another function
    records = _lines(tmp_path / "dpo.jsonl")
    assert {r["input"]["messages"][0]["content"] for r in records} == {"Golden prompt."}
    assert [r["input"]["messages"][1]["content"] for r in records] == [PAIRS[0].input_prompt, "q"]

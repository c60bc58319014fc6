"""ChatML building, atomic writing and fine-tuning-style validation (FR-1.6, VT-4)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vectortrainer.errors import DataFormatError
from vectortrainer.files import write_jsonl
from vectortrainer.golden.chatml import (
    build_example,
    default_system_prompt,
    render_user,
    system_prompt_for,
    validate_chat_jsonl,
)


def test_single_argument_is_the_user_message_verbatim() -> None:
    example = build_example({"text": "Bonjour, où est la gare ?"}, "Hello, where is the station?", "sys")
    assert example == {
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "Bonjour, où est la gare ?"},
            {"role": "assistant", "content": "Hello, where is the station?"},
        ]
    }


def test_several_arguments_render_one_line_each_in_signature_order() -> None:
    inputs = {"query": "refund policy", "limit": 3, "notes": "line one\nline two", "tags": ["a", "b"], "empty": ""}
    assert render_user(inputs) == (
        'query: refund policy\nlimit: 3\nnotes: "line one\\nline two"\ntags: ["a", "b"]\nempty: ""'
    )


def test_structured_values_become_json() -> None:
    example = build_example({"order": {"id": 7, "items": ["x"]}}, {"status": "ok", "total": 9.5}, "sys")
    user, assistant = example["messages"][1]["content"], example["messages"][2]["content"]
    assert json.loads(user) == {"id": 7, "items": ["x"]}
    assert assistant == '{"status": "ok", "total": 9.5}'  # the function's own key order


def test_system_prompt_comes_from_config_or_the_function() -> None:
    doc = "Summarise a support ticket.\n\nLonger details that are not needed."
    derived = default_system_prompt("summarise", doc, ["ticket", "max_words"])
    assert derived == (
        "You are the function `summarise(ticket, max_words)`. Summarise a support ticket. "
        "Answer with its return value only."
    )
    assert system_prompt_for("summarise", {"summarise": "Be brief."}, doc) == "Be brief."
    assert system_prompt_for("summarise", {"other": "x"}, doc, ["ticket", "max_words"]) == derived
    assert system_prompt_for("f", None) == "You are the function `f()`. Answer with its return value only."


def test_no_inputs_cannot_become_an_example() -> None:
    with pytest.raises(DataFormatError, match="captured inputs"):
        build_example({}, "x", "sys")


def test_written_file_is_valid_and_round_trips(tmp_path: Path) -> None:
    examples = [build_example({"q": f"question {i} — ünïcode"}, f"answer {i}", "sys") for i in range(5)]
    path = tmp_path / "out" / "golden.jsonl"
    assert write_jsonl(path, examples) == 5
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == examples
    report = validate_chat_jsonl(path)
    assert report.ok and report.examples == 5 and report.problems == []
    assert [p for p in os.listdir(path.parent) if p != "golden.jsonl"] == []  # no temp file left


def test_a_failed_write_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    write_jsonl(path, [build_example({"q": "old"}, "old", "sys")])
    before = path.read_bytes()

    def examples():
        yield build_example({"q": "new"}, "new", "sys")
        raise RuntimeError("crash while producing examples")

    with pytest.raises(RuntimeError):
        write_jsonl(path, examples())
    assert path.read_bytes() == before


def test_validator_reports_every_kind_of_problem_by_line(tmp_path: Path) -> None:
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    lines = [
        json.dumps(good),  # 1 fine
        "{not json",  # 2
        "[1, 2]",  # 3
        json.dumps({"prompt": "x"}),  # 4
        json.dumps({"messages": [{"role": "user"}, {"role": "assistant", "content": "a"}]}),  # 5
        json.dumps({"messages": [{"role": "user", "content": "q", "extra": 1}, {"role": "assistant", "content": "a"}]}),  # 6
        json.dumps({"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]}),  # 7
        json.dumps({"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "a"}]}),  # 8
        json.dumps({"messages": [{"role": "user", "content": "q"}]}),  # 9
        json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 2}]}),  # 10
        json.dumps({"messages": [{"role": "user", "content": "q", "weight": 1}, {"role": "assistant", "content": "a"}]}),  # 11
        "",  # 12 blank line in the middle
        json.dumps({"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "a", "weight": 0}]}),  # 13
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = validate_chat_jsonl(path)
    found = {(p.line, p.code) for p in report.problems}
    assert found == {
        (2, "invalid_json"),
        (3, "data_type"),
        (4, "missing_messages_list"),
        (5, "message_missing_key"),
        (6, "message_unrecognized_key"),
        (7, "unrecognized_role"),
        (8, "missing_content"),
        (9, "example_missing_assistant_message"),
        (10, "invalid_weight"),
        (11, "invalid_weight"),
        (12, "invalid_json"),
        (13, "missing_content"),
    }
    assert report.examples == 13 and not report.ok
    assert "line 2" in report.summary()
    with pytest.raises(DataFormatError, match="bad.jsonl"):
        report.raise_if_invalid()


def test_assistant_tool_calls_may_omit_content(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    line = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}}]}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert validate_chat_jsonl(path).ok


def test_empty_or_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    report = validate_chat_jsonl(empty)
    assert report.examples == 0 and not report.ok and "no examples" in report.summary()
    with pytest.raises(DataFormatError, match="cannot read"):
        validate_chat_jsonl(tmp_path / "absent.jsonl")


# The official schema (FineTuneChatRequestInput in OpenAI's OpenAPI spec) where it differs from the cookbook.
def _validate_lines(tmp_path: Path, *examples: dict) -> dict[int, set[str]]:
    path = tmp_path / "schema.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in examples), encoding="utf-8")
    report = validate_chat_jsonl(path)
    found: dict[int, set[str]] = {}
    for problem in report.problems:
        found.setdefault(problem.line, set()).add(problem.code)
    return found


def test_content_given_as_text_parts_and_an_assistants_refusal_are_accepted(tmp_path: Path) -> None:
    parts = {"messages": [
        {"role": "system", "content": [{"type": "text", "text": "You classify intents."}]},
        {"role": "user", "content": [{"type": "text", "text": "look at this"},
                                     {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
        {"role": "assistant", "content": [{"type": "text", "text": "billing"}]},
    ]}
    refusal = {"messages": [{"role": "user", "content": "how do I pick a lock?"},
                            {"role": "assistant", "refusal": "I can't help with that."}]}
    refusal_null_content = {"messages": [{"role": "user", "content": "q"},
                                         {"role": "assistant", "content": None, "refusal": "No."}]}
    refusal_part = {"messages": [{"role": "user", "content": "q"},
                                 {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}]}
    tool_turn = {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
                                              "function": {"name": "weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "sunny"}]},
        {"role": "assistant", "content": "It is sunny."},
    ]}
    function_turn = {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "function_call": {"name": "weather", "arguments": "{}"}},
        {"role": "function", "name": "weather", "content": None},
        {"role": "assistant", "content": "No data."},
    ]}

    assert _validate_lines(tmp_path, parts, refusal, refusal_null_content, refusal_part, tool_turn,
                           function_turn) == {}


def test_a_tool_message_without_tool_call_id_and_a_function_message_without_name_are_refused(tmp_path: Path) -> None:
    tool = {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "content": "sunny"},
                         {"role": "assistant", "content": "a"}]}
    function = {"messages": [{"role": "user", "content": "q"}, {"role": "function", "content": "sunny"},
                             {"role": "assistant", "content": "a"}]}
    empty_id = {"messages": [{"role": "user", "content": "q"}, {"role": "tool", "tool_call_id": " ", "content": "x"},
                             {"role": "assistant", "content": "a"}]}

    assert _validate_lines(tmp_path, tool, function, empty_id) == {
        1: {"missing_tool_call_id"}, 2: {"missing_function_name"}, 3: {"missing_tool_call_id"}}


@pytest.mark.parametrize("message, code", [
    ({"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
     "invalid_content_part"),  # system messages take text parts only
    ({"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]},
     "invalid_content_part"),  # fine-tuning input takes text and images only
    ({"role": "user", "content": [{"type": "text", "text": 5}]}, "invalid_content_part"),
    ({"role": "user", "content": ["hi"]}, "invalid_content_part"),
    ({"role": "user", "content": []}, "missing_content"),
    ({"role": "user", "content": [{"type": "text", "text": "  "}]}, "missing_content"),
    ({"role": "user", "content": None}, "missing_content"),
    ({"role": "user", "content": "q", "refusal": "no"}, "invalid_refusal"),
])
def test_malformed_content_parts_and_a_misplaced_refusal_are_refused(tmp_path: Path, message, code) -> None:
    example = {"messages": [message, {"role": "assistant", "content": "a"}]}
    assert _validate_lines(tmp_path, example) == {1: {code}}


def test_an_assistant_with_neither_content_nor_refusal_nor_calls_is_still_refused(tmp_path: Path) -> None:
    example = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "refusal": ""}]}
    assert _validate_lines(tmp_path, example) == {1: {"message_missing_key"}}

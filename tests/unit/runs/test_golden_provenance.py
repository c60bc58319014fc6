"""VT-18 "every function its own loop": a golden file is checked to hold the run's function's data before a
run adopts it, by the record its export left beside it, else by its system prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vectortrainer.errors import ConfigError
from vectortrainer.files import sha256_file
from vectortrainer.golden.chatml import build_example, default_system_prompt
from vectortrainer.runs.golden import check_golden_file, export_record_path, write_export_record


def chatml(path: Path, system: str, n: int = 4) -> Path:
    path.write_text("".join(json.dumps(build_example({"message": f"message {i}"}, f"reply {i}", system)) + "\n"
                            for i in range(n)), encoding="utf-8")
    return path


def derived(function: str) -> str:
    return default_system_prompt(function, "Does what it does.", ("message",))


def test_an_export_of_another_function_is_refused_by_its_record(tmp_path):
    golden = chatml(tmp_path / "golden-classify_intent.jsonl", "You are a helpful assistant.")
    write_export_record(golden, "classify_intent")

    with pytest.raises(ConfigError, match=r"golden-classify_intent.jsonl is golden data of classify_intent .*"
                                          r"this run trains summarize_ticket"):
        check_golden_file(golden, "summarize_ticket")

    mine = check_golden_file(golden, "classify_intent")
    assert mine.provenance["function"] == "classify_intent" and mine.provenance["origin"] == "export"
    assert mine.provenance["sha256"] == sha256_file(golden) and str(golden) in mine.provenance["source"]
    assert mine.data == golden.read_bytes()


def test_the_record_sits_beside_the_file_and_names_its_hash(tmp_path):
    golden = chatml(tmp_path / "picked.jsonl", derived("draft_reply"))
    record = write_export_record(golden, "draft_reply", source="export of draft_reply")
    assert export_record_path(golden) == tmp_path / "picked.jsonl.provenance.json"
    assert json.loads(export_record_path(golden).read_text()) == record
    assert record["function"] == "draft_reply" and record["sha256"] == sha256_file(golden)


def test_a_file_without_a_record_is_judged_by_its_system_prompt(tmp_path):
    other = chatml(tmp_path / "elsewhere.jsonl", derived("classify_intent"))
    with pytest.raises(ConfigError, match="its system prompt names it.*this run trains summarize_ticket"):
        check_golden_file(other, "summarize_ticket")
    assert check_golden_file(other, "classify_intent").provenance["origin"] == "file"

    configured = chatml(tmp_path / "configured.jsonl", "Classify the intent of a message.")
    prompts = {"classify_intent": "Classify the intent of a message.", "summarize_ticket": "Summarise a ticket."}
    with pytest.raises(ConfigError, match="golden data of classify_intent"):
        check_golden_file(configured, "summarize_ticket", system_prompts=prompts)

    hand_written = chatml(tmp_path / "hand.jsonl", "You summarise support tickets in one line.")
    taken = check_golden_file(hand_written, "summarize_ticket", system_prompts=prompts)
    assert taken.provenance["origin"] == "file" and "no export record" in taken.provenance["source"]
    assert taken.provenance["function"] == "summarize_ticket"


def test_a_file_changed_since_its_export_is_no_longer_vouched_for_by_the_record(tmp_path):
    golden = chatml(tmp_path / "golden.jsonl", "You are a helpful assistant.")
    write_export_record(golden, "classify_intent")
    chatml(golden, "You are a helpful assistant.", n=6)  # rewritten by hand afterwards

    taken = check_golden_file(golden, "summarize_ticket")
    assert taken.provenance["origin"] == "file" and "changed since its export" in taken.provenance["source"]

    chatml(golden, derived("classify_intent"))  # still judged by its prompt
    with pytest.raises(ConfigError, match="classify_intent"):
        check_golden_file(golden, "summarize_ticket")


def test_a_missing_file_is_one_clear_line(tmp_path):
    with pytest.raises(ConfigError, match="golden data file not found"):
        check_golden_file(tmp_path / "nope.jsonl", "f")

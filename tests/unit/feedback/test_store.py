"""FeedbackStore: JSONL add/edit/delete/list, malformed lines reported and kept, atomic writes (FR-2.1)."""

from __future__ import annotations

import json
import os

import pytest

from vectortrainer.errors import DataFormatError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackNotFoundError, FeedbackStore, read_feedback, write_feedback_file


def _pair(n: int) -> FeedbackPair:
    return FeedbackPair(f"bad {n}", f"fixed {n}", f"prompt {n}", {"function": "f", "tier": "pro"})


def test_add_list_edit_delete_round_trip(tmp_path):
    store = FeedbackStore(tmp_path / "fb.jsonl")
    first, second = store.add(_pair(1)), store.add(_pair(2))
    assert [e.pair for e in store.list()] == [_pair(1), _pair(2)]
    store.edit(first, FeedbackPair("b", "f", "p", {"tier": "free"}))
    assert store.get(first).pair.context == {"tier": "free"}
    store.delete(second)
    assert [e.entry_id for e in store.list()] == [first]
    with pytest.raises(FeedbackNotFoundError, match="no feedback entry"):
        store.delete(second)


def test_malformed_lines_are_reported_by_number_and_kept_on_rewrite(tmp_path):
    path = tmp_path / "fb.jsonl"
    good = json.dumps({"bad_output": "a", "fixed_output": "b"})
    path.write_text(f"{good}\n{{not json\n[1, 2]\n" + json.dumps({"bad_output": "x"}) + "\n", encoding="utf-8")
    store = FeedbackStore(path)
    problems = store.problems()
    assert [p.line for p in problems] == [2, 3, 4]
    assert "not valid JSON" in problems[0].reason and "missing fixed_output" in problems[2].reason
    assert store.list()[0].entry_id == "line-1"  # a hand-written line without an id is addressable
    store.add(_pair(3))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "{not json" and lines[2] == "[1, 2]"  # never silently dropped or overwritten
    assert len(store.list()) == 2
    with pytest.raises(DataFormatError, match="line 2: not valid JSON"):
        store.pairs(strict=True)


def test_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "fb.jsonl"
    store = FeedbackStore(path)
    store.add(_pair(1))
    before = path.read_bytes()

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        store.add(_pair(2))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_write_feedback_file_and_load(tmp_path):
    path = tmp_path / "fb.jsonl"
    write_feedback_file(path, [_pair(1), _pair(2)], id_prefix="demo-")
    read = read_feedback(path)
    assert read.pairs == [_pair(1), _pair(2)] and read.problems == []
    assert [e.entry_id for e in FeedbackStore(path).list()] == ["demo-001", "demo-002"]
    with pytest.raises(DataFormatError, match="not found"):
        read_feedback(tmp_path / "missing.jsonl")


def test_demo_feedback_is_deterministic_and_large_enough(tmp_path):
    from vectortrainer.demo.feedback import demo_feedback_pairs, write_demo_feedback

    pairs = demo_feedback_pairs()
    assert len(pairs) >= 60 and pairs == demo_feedback_pairs()
    assert {p.context["function"] for p in pairs} == {"summarize_ticket", "classify_intent", "draft_reply"}
    assert write_demo_feedback(tmp_path / "fb.jsonl") == len(pairs)
    assert FeedbackStore(tmp_path / "fb.jsonl").pairs(strict=True) == pairs

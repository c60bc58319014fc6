"""Diff analysis: rapidfuzz edit distance and segments, edit hunks, MiniLM similarity (FR-2.2)."""

from __future__ import annotations

import pytest

from vectortrainer.feedback.diffing import (
    diff_segments,
    edit_distance,
    edit_hunks,
    normalized_distance,
    tokenize,
)
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.semantic import SemanticScorer


def test_edit_distance_and_normalised():
    assert edit_distance("kitten", "sitting") == 3
    assert normalized_distance("abc", "abc") == 0.0
    assert normalized_distance("abc", "xyz") == 1.0


@pytest.mark.parametrize("granularity", ["token", "char"])
def test_segments_rebuild_both_texts(granularity):
    bad, fixed = "Hi Anna, your order 4411 ships.", "Hello Anna, your order #4411 ships!"
    segments = diff_segments(bad, fixed, granularity=granularity)
    assert "".join(s.bad for s in segments) == bad
    assert "".join(s.fixed for s in segments) == fixed
    for s in segments:
        assert bad[s.bad_start : s.bad_end] == s.bad and fixed[s.fixed_start : s.fixed_end] == s.fixed
    assert any(s.op != "equal" for s in segments)


def test_tokenize_round_trips():
    text = 'Summary:  {"intent": "refund"} 4411.\n'
    assert "".join(tokenize(text)) == text


def test_hunks_merge_nearby_edits_but_not_prefix_or_whitespace():
    hunks = edit_hunks(
        "Summary: we can not  help. Best regards, Support",
        "we cannot help. Kind regards, the Support Team",
    )
    pairs = [(h.deleted, h.inserted) for h in hunks]
    assert ("Summary: ", "") == pairs[0] and hunks[0].at_start
    assert ("Best regards, Support", "Kind regards, the Support Team") == pairs[-1] and hunks[-1].at_end


def test_a_one_character_fix_is_one_edit_and_one_inserted_segment():
    assert edit_distance("order 1", "order #1") == 1
    assert [s.op for s in diff_segments("order 1", "order #1") if s.op != "equal"] == ["insert"]


@pytest.fixture(scope="session")
def scorer():
    return SemanticScorer()


@pytest.mark.slow
def test_semantic_similarity_separates_fixes_from_rewrites(scorer):
    pairs = [
        FeedbackPair("We can not refund order 4411.", "We cannot refund order #4411."),
        FeedbackPair("We can not refund order 4411.", "The weather in Lisbon is sunny today."),
    ]
    similarity = list(scorer.similarities([p.bad_output for p in pairs], [p.fixed_output for p in pairs]))
    assert similarity[0] > 0.9 > 0.5 > similarity[1]
    assert scorer.embed(["a", "b", "c"]).shape == (3, 384)

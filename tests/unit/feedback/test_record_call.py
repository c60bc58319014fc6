"""`vectortrainer.feedback.record`: one call from the user's code stores a correction the app, the CLI and the
pipeline read as their own, from many threads and processes at once, with nothing torn or lost (VT-24)."""

from __future__ import annotations

import json
import multiprocessing
import threading

import pytest

from tests.support.fresh_python import printed_words
from vectortrainer.feedback import record
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.golden.chatml import render_user
from vectortrainer.rules.learning import pairs_for_function


def test_a_recorded_correction_is_a_pair_every_face_reads(tmp_path):
    path = tmp_path / "feedback.jsonl"
    inputs = {"ticket": "Order 4411 is late.", "tier": "pro", "attempt": 2, "history": ["a", "b"]}
    entry_id = record("summarize_ticket", "Summary: order 4411 is late.", "Order #4411 is late.",
                      inputs=inputs, trace_id="4bf92f3577b34da6", path=path)

    [entry] = FeedbackStore(path).list()
    assert entry.entry_id == entry_id
    pair = entry.pair
    assert (pair.bad_output, pair.fixed_output) == ("Summary: order 4411 is late.", "Order #4411 is late.")
    assert pair.input_prompt == render_user(inputs)  # as the log's ChatML example holds it
    assert pair.context == {"function": "summarize_ticket", "ticket": "Order 4411 is late.", "tier": "pro",
                            "attempt": 2, "trace_id": "4bf92f3577b34da6"}
    assert pairs_for_function(FeedbackStore(path).pairs(), "summarize_ticket") == [pair]


def test_it_appends_beside_what_the_app_wrote_and_the_app_keeps_it(tmp_path):
    path = tmp_path / "feedback.jsonl"
    store = FeedbackStore(path)
    first = store.add_many([])  # an empty file the app made
    assert first == []
    app_id = store.add(FeedbackPair("Hi Ann", "Hello Ann", "", {"function": "greet"}))
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")  # a hand edit's last line
    mine = record("greet", "Hi Bo\u2028", "Hello Bo\u2028", path=path)  # a line separator pasted from a PDF
    store.delete(app_id)  # the app rewrites the file: the recorded pair survives
    assert [e.entry_id for e in store.list()] == [mine] and store.problems() == []
    assert "\u2028" not in path.read_text(encoding="utf-8")  # written escaped


@pytest.mark.parametrize(("bad", "fixed"), [("same", "same"), ("text", "  "), ("", "")])
def test_a_pair_that_teaches_nothing_is_refused(tmp_path, bad, fixed):
    with pytest.raises(ValueError, match="record:"):
        record("greet", bad, fixed, path=tmp_path / "f.jsonl")
    assert not (tmp_path / "f.jsonl").exists()


def _record_many(path, worker, count):
    for i in range(count):
        record("greet", f"Hi {worker}-{i}", f"Hello {worker}-{i}", inputs={"name": f"{worker}-{i}"}, path=path)


def test_threads_and_processes_at_once_lose_and_tear_nothing(tmp_path):
    path = tmp_path / "feedback.jsonl"
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_record_many, args=(path, f"p{n}", 40)) for n in range(3)]
    threads = [threading.Thread(target=_record_many, args=(path, f"t{n}", 40)) for n in range(4)]
    for worker in [*processes, *threads]:
        worker.start()
    store = FeedbackStore(path)
    store.add(FeedbackPair("Hi app", "Hello app", "", {"function": "greet"}))  # the app writes (a full rewrite) meanwhile
    for worker in [*processes, *threads]:
        worker.join(timeout=120)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line) for line in lines)  # no torn line
    names = {p.context.get("name") for p in store.pairs()}
    assert len(store.pairs()) == 7 * 40 + 1 and store.problems() == []
    assert {"p2-39", "t3-39"} <= names


def test_importing_it_loads_no_third_party_package():
    loaded = printed_words(
        "import sys; from vectortrainer.feedback import record; "
        "print(*[m for m in ('numpy', 'filelock', 'yaml', 'rapidfuzz', 'rich', 'vectorwave') if m in sys.modules])")
    assert loaded == []

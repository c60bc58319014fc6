"""The log source on a real seeded Lite store: every log, bulk vectors, decoded values, counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.fresh_python import printed_words
from vectortrainer.demo.functions import demo_calls
from vectortrainer.errors import StoreError
from vectortrainer.store.environment import open_dataset_manager
from vectortrainer.store.source import SKIP_NO_INPUTS, SKIP_NO_VECTOR, LogSource, decode_return_value

pytestmark = pytest.mark.slow


def test_lists_every_demo_function_with_counts(seeded_store: Path) -> None:
    calls = demo_calls()
    summaries = {s.name: s for s in LogSource.open(seeded_store).list_functions()}
    assert set(summaries) == {"summarize_ticket", "classify_intent", "draft_reply"}
    for name, summary in summaries.items():
        made = [c for c in calls if c.function == name]
        assert summary.total == len(made)
        assert summary.success + summary.failed + summary.anomaly == summary.total
        assert summary.failed >= 2
        assert summary.with_vector == summary.total
        assert summary.with_inputs == summary.total


def test_reads_real_inputs_outputs_and_vectors(seeded_store: Path) -> None:
    from vectortrainer.demo.functions import classify_intent

    logs = LogSource.open(seeded_store).read_function("classify_intent")
    assert logs.total == len([c for c in demo_calls() if c.function == "classify_intent"])
    assert len(logs.records) == logs.vectors.shape[0] == logs.total
    assert logs.vectors.dtype == np.float32 and logs.vectors.shape[1] == 384
    norms = np.linalg.norm(logs.vectors, axis=1)
    assert np.all(norms > 0.5)
    for record in logs.records:
        assert list(record.inputs) == ["message"]
        if record.status == "SUCCESS":
            # the decoded return value equals what the function returns for the captured input
            assert record.output == classify_intent(**record.inputs)
        else:
            assert record.status == "ERROR" and record.output is None and "ValueError" in (record.error_message or "")


def test_function_info_gives_parameter_order_and_docstring(seeded_store: Path) -> None:
    info = LogSource.open(seeded_store).function_info("draft_reply")
    assert info.parameters == ("ticket", "customer_name", "tier")
    assert info.docstring.startswith("Draft a reply")


def test_unknown_function_and_missing_store_are_clear_errors(seeded_store: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no logs of function 'nope'.*summarize_ticket"):
        LogSource.open(seeded_store).read_function("nope")
    with pytest.raises(StoreError, match="demo seed"):
        LogSource.open(tmp_path / "missing")


def test_logs_without_vector_or_inputs_are_counted_not_dropped(seeded_store_copy: Path) -> None:
    manager = open_dataset_manager(seeded_store_copy)
    collection = manager.settings.EXECUTION_COLLECTION_NAME
    base = {"function_name": "classify_intent", "status": "SUCCESS", "return_value": json.dumps({"intent": "x"})}
    manager.store.insert_many(collection, [
        {"properties": {**base, "message": "no vector here"}, "vector": None},
        {"properties": dict(base), "vector": [0.1] * 384},
    ])
    source = LogSource(manager)
    logs = source.read_function("classify_intent")
    assert logs.skipped == {SKIP_NO_VECTOR: 1, SKIP_NO_INPUTS: 1}
    assert logs.total == len(logs.records) + 2
    summary = {s.name: s for s in source.list_functions()}["classify_intent"]
    assert summary.total - summary.with_vector == 1
    assert summary.total - summary.with_inputs == 1


def test_reads_more_than_any_fixed_limit(tmp_path: Path) -> None:
    """Streaming crosses record-batch boundaries and never stops at a page size."""
    manager = open_dataset_manager(tmp_path / "big")
    collection = manager.settings.EXECUTION_COLLECTION_NAME
    rng = np.random.default_rng(0)
    n = 12_000
    vectors = rng.normal(size=(n, 384)).astype(np.float32)
    manager.store.insert_many(collection, [
        {"properties": {"function_name": "f", "status": "SUCCESS", "q": f"q{i}", "return_value": json.dumps(i)},
         "vector": vectors[i].tolist()}
        for i in range(n)
    ])
    seen = []
    logs = LogSource(manager).read_function("f", progress=lambda done, total: seen.append((done, total)))
    assert logs.total == len(logs.records) == n
    assert sorted(r.output for r in logs.records) == list(range(n))
    assert seen and seen[-1] == (n, n)
    by_output = {r.output: i for i, r in enumerate(logs.records)}
    assert np.allclose(logs.vectors[by_output[7]], vectors[7])


@pytest.mark.parametrize(("encoded", "decoded"), [
    ('"text"', "text"), ('{"a": 1}', {"a": 1}), ("[1, 2]", [1, 2]), ("not json", "not json"), (None, None),
])
def test_return_values_are_decoded_from_vectorwave_json(encoded, decoded) -> None:
    assert decode_return_value(encoded) == decoded


def test_reading_needs_no_vectorwave_import_and_matches_the_injected_manager(seeded_store: Path) -> None:
    """`LogSource.open` reads the Lite tables directly; the result equals reading through VectorWave's manager."""
    script = (
        "import sys; from vectortrainer.store.source import LogSource;"
        f"s = LogSource.open({str(seeded_store)!r}); logs = s.read_function('draft_reply');"
        "print(logs.total, len(s.list_functions()), 'vectorwave' in sys.modules, 'torch' in sys.modules)"
    )
    out = printed_words(script)
    assert out[2:] == ["False", "False"]

    fast = LogSource.open(seeded_store)
    through = LogSource.open(seeded_store, through_vectorwave=True)
    assert int(out[0]) == through.read_function("draft_reply").total and int(out[1]) == 3
    assert fast.list_functions() == through.list_functions()
    assert fast.function_info("draft_reply") == through.function_info("draft_reply")
    a, b = fast.read_function("summarize_ticket"), through.read_function("summarize_ticket")
    assert a.records == b.records and np.array_equal(a.vectors, b.vectors) and a.skipped == b.skipped

"""The Lite reader over real Lance tables: null vectors are skipped and counted, every kept log keeps its own
vector, and a folder that is not a Lance table is one clear line (issue 16 item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vectortrainer.cli import main
from vectortrainer.errors import StoreError
from vectortrainer.store import lite
from vectortrainer.store.environment import EXECUTION_COLLECTION, lance_directory
from vectortrainer.store.source import SKIP_NO_VECTOR, LogSource

DIM = 8
NULL_ROWS = {1, 4, 5, 11, 20}  # in the middle, adjacent, and across the batch boundaries used below


def _vector(i: int) -> list[float]:
    """Row i's vector: its first component is i + 1, so a vector says which log it belongs to."""
    rng = np.random.default_rng(i)
    return [float(i + 1), *rng.normal(size=DIM - 1).tolist()]


def _write_store(root: Path, rows: int = 30) -> Path:
    import lancedb

    data = []
    for i in range(rows):
        payload = {"function_name": "reply", "status": "SUCCESS", "timestamp_utc": f"2026-01-01T00:00:{i:02d}Z",
                   "ticket": f"ticket number {i}", "return_value": json.dumps(f"answer {i}")}
        vector = [float("nan")] * DIM if i in NULL_ROWS else _vector(i)  # LanceDB turns these into nulls
        data.append({"uuid": f"log-{i:03d}", "vector": vector, "payload": json.dumps(payload)})
    db = lancedb.connect(str(lance_directory(root)))
    table = db.create_table(EXECUTION_COLLECTION, data=data, on_bad_vectors="null")
    assert table.to_arrow().column("vector").null_count == len(NULL_ROWS)  # the store really holds nulls
    return root


@pytest.mark.parametrize("batch", [7, 8192])
def test_null_vectors_are_skipped_and_every_log_keeps_its_own_vector(tmp_path, monkeypatch, batch):
    monkeypatch.setattr(lite, "STREAM_BATCH", batch)
    source = LogSource.open(_write_store(tmp_path / "store"))
    [summary] = source.list_functions()
    assert (summary.total, summary.with_vector) == (30, 30 - len(NULL_ROWS))
    logs = source.read_function("reply")
    assert logs.total == 30 and logs.skipped == {SKIP_NO_VECTOR: len(NULL_ROWS)}
    assert len(logs.records) == logs.vectors.shape[0] == 30 - len(NULL_ROWS)
    for record, vector in zip(logs.records, logs.vectors):
        i = int(record.uuid.split("-")[1])
        assert i not in NULL_ROWS
        np.testing.assert_allclose(vector, _vector(i), rtol=1e-6)
        assert record.inputs == {"ticket": f"ticket number {i}"}


def test_functions_and_select_run_on_a_store_with_null_vectors(tmp_path, capsys):
    store = _write_store(tmp_path / "store")
    assert main(["functions", "--store", str(store)]) == 0
    [row] = [line for line in capsys.readouterr().out.splitlines() if "reply" in line]
    assert row.split("│")[1:-1][-2].strip() == str(30 - len(NULL_ROWS))  # the "with vector" column
    out = tmp_path / "golden.jsonl"
    code = main(["select", "--store", str(store), "--function", "reply", "--out", str(out), "--top-k", "5"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "IndexError" not in captured.err and out.exists()


def test_a_folder_that_is_not_a_lance_table_is_one_clear_line(tmp_path, capsys):
    table_dir = lance_directory(tmp_path / "store") / f"{EXECUTION_COLLECTION}.lance"
    (table_dir / "_versions").mkdir(parents=True)
    (table_dir / "_versions" / "1.manifest").write_text("not a manifest\n")
    with pytest.raises(StoreError, match="not a readable Lance table"):
        LogSource.open(tmp_path / "store").list_functions()
    assert main(["functions", "--store", str(tmp_path / "store")]) == 1
    err = capsys.readouterr().err
    assert "not a readable Lance table" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 3


def test_an_empty_table_folder_is_not_an_empty_store(tmp_path, capsys):
    table_dir = lance_directory(tmp_path / "store") / f"{EXECUTION_COLLECTION}.lance"
    table_dir.mkdir(parents=True)
    (table_dir / "notes.txt").write_text("hello\n")
    with pytest.raises(StoreError, match="not a readable Lance table"):
        LogSource.open(tmp_path / "store").read_function("reply")


def test_records_are_kept_as_their_stored_text_and_decode_to_the_same_logs(tmp_path: Path) -> None:
    from vectortrainer.store.source import StoredRecords

    logs = LogSource.open(_write_store(tmp_path)).read_function("reply")
    records = logs.records
    assert isinstance(records, StoredRecords)  # the Lance reader keeps JSON text, not decoded dicts
    assert len(records) == 30 - len(NULL_ROWS)
    first = records[0]
    assert (first.uuid, first.status, first.inputs, first.output) == ("log-000", "SUCCESS",
                                                                      {"ticket": "ticket number 0"}, "answer 0")
    assert records[-1].uuid == "log-029" and records[1].uuid == "log-002"
    assert records[1:3] == [records[1], records[2]]
    assert list(records) == records and records == list(records)
    assert logs.statuses == ["SUCCESS"] * len(records)
    assert all(s is logs.statuses[0] for s in records.statuses)  # one string per status, not one per log

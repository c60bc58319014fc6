"""`vectortrainer.quickstart.flush` waits for the batch writer's real writes, not for a guess at
their time: a slow first write (a busy machine opening the store) is awaited, a batch the writer
never settles is named after the cap, and a process that logged nothing does not wait."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import vectortrainer.quickstart as quickstart
from tests.support import REPO_ROOT


class SlowBatchWriter:
    """Stands in for VectorWave's batch manager: ``add_object`` queues, a worker thread hands each
    batch to ``self._flush_via_store`` (looked up on the instance, as VectorWave's worker does)
    after ``flush_interval``, and the write itself takes ``write_s``. While the store is not open
    the worker retries ``self._connect_client`` before a batch and drops the batch when the store
    stays down, as VectorWave does."""

    made: list["SlowBatchWriter"] = []

    def __init__(self, flush_interval: float, write_s: float, store_opens: bool = True) -> None:
        SlowBatchWriter.made.append(self)
        self.flush_interval, self.write_s, self.store_opens = flush_interval, write_s, store_opens
        self._initialized = store_opens
        self.written: list[Any] = []
        self._pending: list[Any] = []
        self._lock = threading.Lock()
        self.closed = threading.Event()
        self.worker = threading.Thread(target=self._worker, daemon=True)
        self.worker.start()

    def add_object(self, collection: str, properties: dict, uuid: str | None = None,
                   vector: Any = None) -> None:
        with self._lock:
            self._pending.append(properties)

    def _worker(self) -> None:
        while not self.closed.wait(self.flush_interval):
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                continue
            if not self._initialized:
                self._connect_client()
                if not self._initialized:
                    continue  # dropped unwritten
            self._flush_via_store(batch)

    def _connect_client(self) -> None:
        self._initialized = self.store_opens

    def _flush_via_store(self, items: list[Any]) -> None:
        self.closed.wait(self.write_s)  # a write cut short when its test ends, so no thread outlives it
        self.written.extend(items)


@pytest.fixture
def fresh_counter(monkeypatch):
    monkeypatch.setattr(quickstart, "_counter", quickstart._WriteCounter())
    monkeypatch.setattr(quickstart, "_hooked_manager", None)
    monkeypatch.setattr(quickstart, "_run_before_interpreter_shutdown", lambda function: None)
    yield
    for writer in SlowBatchWriter.made:
        writer.closed.set()
    # A write cut short still settles its batch: it must land in this test's counter, not the next's.
    for writer in SlowBatchWriter.made:
        writer.worker.join(timeout=10)
    SlowBatchWriter.made.clear()


def test_flush_waits_for_a_write_slower_than_the_flush_interval(fresh_counter) -> None:
    writer = SlowBatchWriter(flush_interval=0.1, write_s=1.5)
    quickstart.watch_batch_writer(writer)
    for i in range(5):
        writer.add_object("logs", {"i": i})

    assert quickstart.flush(timeout_s=20) is True
    assert [item["i"] for item in writer.written] == [0, 1, 2, 3, 4]


def test_a_write_that_does_not_end_is_named_after_the_cap(fresh_counter, caplog) -> None:
    writer = SlowBatchWriter(flush_interval=0.05, write_s=60.0)
    quickstart.watch_batch_writer(writer)
    writer.add_object("logs", {"i": 0})
    writer.add_object("logs", {"i": 1})

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="vectortrainer.quickstart"):
        assert quickstart.flush(timeout_s=0.5) is False
    assert 0.4 < time.monotonic() - started < 5
    assert "2 log(s) were not written to the store within 0.5 s" in caplog.text


def test_a_store_that_cannot_be_opened_ends_the_wait_when_its_batch_is_dropped(
        fresh_counter, caplog, monkeypatch) -> None:
    monkeypatch.setattr(quickstart, "_why_the_store_is_down", lambda: "PermissionError: denied")
    writer = SlowBatchWriter(flush_interval=0.05, write_s=0.0, store_opens=False)
    quickstart.watch_batch_writer(writer)
    writer.add_object("logs", {"i": 0})
    writer.add_object("logs", {"i": 1})

    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="vectortrainer.quickstart"):
        assert quickstart.flush(timeout_s=20) is False
    assert time.monotonic() - started < 5  # not the cap: the batch is gone
    assert "2 log(s) were not written: VectorWave could not open the store" in caplog.text
    assert "(PermissionError: denied)" in caplog.text
    assert writer.written == []


def test_a_store_that_opens_on_the_retry_is_waited_for(fresh_counter) -> None:
    writer = SlowBatchWriter(flush_interval=0.05, write_s=0.2)
    writer._initialized = False  # it failed to open at start; the retry before the batch opens it
    quickstart.watch_batch_writer(writer)
    for i in range(3):
        writer.add_object("logs", {"i": i})
    assert quickstart.flush(timeout_s=20) is True
    assert [item["i"] for item in writer.written] == [0, 1, 2]


def test_a_process_that_logged_nothing_does_not_wait(fresh_counter) -> None:
    writer = SlowBatchWriter(flush_interval=5.0, write_s=5.0)
    quickstart.watch_batch_writer(writer)
    started = time.monotonic()
    assert quickstart.flush(timeout_s=20) is True
    assert time.monotonic() - started < 1
    assert writer.written == []


def test_watching_the_same_writer_twice_counts_each_log_once(fresh_counter) -> None:
    writer = SlowBatchWriter(flush_interval=0.05, write_s=0.0)
    quickstart.watch_batch_writer(writer)
    quickstart.watch_batch_writer(writer)
    writer.add_object("logs", {"i": 0})
    assert quickstart.flush(timeout_s=10) is True
    assert quickstart._counter.handed == quickstart._counter.settled == 1


# A process that logs and ends at once, whose writer (as LanceDB's from 0.41) writes through a
# concurrent.futures pool: the pool refuses new work once the interpreter shuts down, so the
# wait must run before that, not in an atexit handler.
POOLED_WRITER_APP = textwrap.dedent("""
    import sys, threading, concurrent.futures
    import vectortrainer.quickstart as quickstart

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    class PooledBatchWriter:
        def __init__(self):
            self._pending, self._lock = [], threading.Lock()
            threading.Thread(target=self._worker, daemon=True).start()

        def add_object(self, collection, properties, uuid=None, vector=None):
            with self._lock:
                self._pending.append(properties)

        def _worker(self):
            while not threading.Event().wait(0.3):
                with self._lock:
                    batch, self._pending = self._pending, []
                if batch:
                    self._flush_via_store(batch)

        def _flush_via_store(self, items):
            try:
                pool.submit(self._write, items).result()
            except RuntimeError as error:
                print(error, file=sys.stderr)

        def _write(self, items):
            with open(sys.argv[1], "a", encoding="utf-8") as out:
                out.writelines(f"{item['i']}\\n" for item in items)

    writer = PooledBatchWriter()
    quickstart.watch_batch_writer(writer)
    for i in range(7):
        writer.add_object("logs", {"i": i})
""")


def test_a_process_that_ends_at_once_writes_its_last_batch_through_a_pooled_writer(tmp_path: Path) -> None:
    written, script = tmp_path / "written.txt", tmp_path / "app.py"
    script.write_text(POOLED_WRITER_APP, encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), str(written)], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "cannot schedule new futures" not in run.stderr
    assert written.read_text(encoding="utf-8").split() == [str(i) for i in range(7)], run.stderr

"""Leftovers and costs (issue 29, finding 9).

- the two causes of the fuzzed configs' tracebacks (a list or a mapping as a key; a base URL ``urllib`` cannot
  split, read at start-up), and a NUL in a path: one ``ConfigError`` line each (the fuzzing itself is
  tests/unit/test_fuzz.py);
- a symlink loop as the store path: one clear line, not a ``RuntimeError``;
- a FIFO (or a device) inside a Lance table: refused in one line instead of a reader that waits forever;
- the temp files of killed writes: removed by the next write to the same file once older than a minute,
  never a file of another name, never a write in progress;
- adding one pair to a large feedback file: an append under the store's lock, not a rewrite (no reading, no
  memory that grows with the file), and the malformed-line guarantees kept.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from tests.unit.store.test_lance_reader import _write_store
from vectortrainer.cli import main
from vectortrainer.config import load_config
from vectortrainer.errors import ConfigError, StoreError
from vectortrainer.feedback import record
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.files import STALE_TEMP_S, atomic_write_text
from vectortrainer.store.environment import EXECUTION_COLLECTION, lance_directory
from vectortrainer.store.source import LogSource

ROOT = Path(__file__).resolve().parents[2]


# ----- configs ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, says", [
    ("? [a, b]\n: 1\n", "the file: a key must be a name, not a list"),
    ("training:\n  ? {a: 1}\n  : 2\n", "training: a key must be a name, not a mapping"),
    ("openai:\n  base_url: 'http://[::1'\n", "openai.base_url: not a URL (Invalid IPv6 URL)"),
    ("azure:\n  endpoint: 'https://user:secret-pw@res.example:99999'\n", "azure.endpoint: not a URL"),
    ("together:\n  base_url: 'ftp://files.example'\n", "together.base_url: expected an http(s) URL"),
    ("store:\n  path: \"a\\0b\"\n", "store.path: a path cannot hold a NUL character"),
])
def test_what_gave_tracebacks_is_one_config_error(tmp_path, text, says):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert says in str(info.value) and "\n" not in str(info.value)
    assert "secret-pw" not in str(info.value)  # a URL may hold a password: never repeated


def test_a_config_with_a_bad_url_is_one_line_for_every_command(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("openai:\n  base_url: 'http://[::1'\n", encoding="utf-8")
    assert main(["--config", str(path), "runs"]) == 2
    err = capsys.readouterr().err
    assert "openai.base_url: not a URL" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# ----- the store ------------------------------------------------------------------------------
def test_a_symlink_loop_as_the_store_is_one_clear_line(tmp_path, capsys):
    loop = tmp_path / "store"
    os.symlink(tmp_path / "other", loop)
    os.symlink(loop, tmp_path / "other")
    with pytest.raises(StoreError, match="symlink loop"):
        LogSource.open(loop)
    assert main(["functions", "--store", str(loop)]) == 1
    err = capsys.readouterr().err
    assert "symlink loop" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("where", ["data", "_versions", "extra"])
def test_a_fifo_inside_a_lance_table_is_refused_not_waited_on(tmp_path, where):
    store = _write_store(tmp_path / "store")
    table = lance_directory(store) / f"{EXECUTION_COLLECTION}.lance"
    if where == "extra":
        fifo = table / "extra.bin"
    else:  # in place of the file the reader opens
        fifo = next(p for p in (table / where).iterdir() if p.suffix in (".lance", ".manifest"))
        fifo.unlink()
    os.mkfifo(fifo)
    outcome: dict[str, BaseException | object] = {}

    def read() -> None:
        try:
            outcome["read"] = LogSource.open(store).list_functions()
        except BaseException as exc:  # noqa: BLE001 - what the reader raised is the point
            outcome["error"] = exc

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)
    if reader.is_alive():  # it waits on the FIFO: give it a writer that closes at once, so it ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(20)
        pytest.fail("reading the store waited on a FIFO inside its Lance table")
    error = outcome.get("error")
    assert isinstance(error, StoreError), outcome
    assert "a FIFO inside the Lance table" in str(error) and str(fifo) in str(error)


# ----- temp files of killed writes -------------------------------------------------------------
KILLED_WRITE = """
import os, sys
from pathlib import Path
from vectortrainer import files

os.fsync = lambda fd: os._exit(9)  # killed after the temp file is written, before its rename
files.atomic_write_text(Path(sys.argv[1]), "new contents")
"""


def test_the_temp_file_of_a_killed_write_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "run.json"
    target.write_text("old contents", encoding="utf-8")
    for _ in range(2):
        killed = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(target)], cwd=ROOT, timeout=120)
        assert killed.returncode == 9
    left = sorted(tmp_path.glob(".run.json.*.tmp"))
    assert len(left) == 2 and target.read_text(encoding="utf-8") == "old contents"
    long_ago = time.time() - STALE_TEMP_S - 5
    for path in left:
        os.utime(path, (long_ago, long_ago))
    in_progress = tmp_path / ".run.json.abcd1234.tmp"  # another writer's, seconds old: kept
    in_progress.write_text("being written", encoding="utf-8")
    others = [tmp_path / ".summary.json.abcd1234.tmp", tmp_path / ".run.json.backup.tmp",
              tmp_path / ".run.json.abcd1234.tmp.keep"]  # not the temp files of this file's writes
    for path in others:
        path.write_text("not ours to remove", encoding="utf-8")
        os.utime(path, (long_ago, long_ago))

    atomic_write_text(target, "newer contents")

    assert target.read_text(encoding="utf-8") == "newer contents"
    assert not any(path.exists() for path in left)
    assert in_progress.exists() and all(path.exists() for path in others)


# ----- adding to a large feedback file ---------------------------------------------------------
def _large_feedback_file(path: Path, pairs: int) -> None:
    line = json.dumps({"id": "x", "bad_output": "the order shipped late " * 3, "fixed_output": "it shipped on time",
                       "input_prompt": "ticket " * 10, "context": {"function": "f"}}) + "\n"
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(pairs // 1000):
            handle.write(line * 1000)


def test_adding_a_pair_to_a_large_file_appends_and_reads_nothing(tmp_path, monkeypatch):
    path = tmp_path / "feedback.jsonl"
    _large_feedback_file(path, 100_000)  # ~20 MB; the audit's 10^6 took 17 s and 1.7 GB to add one pair
    size = path.stat().st_size
    store = FeedbackStore(path)

    tracemalloc.start()
    started = time.perf_counter()
    entry_id = store.add(FeedbackPair("bad", "good", "prompt", {"function": "f"}))
    took = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert took < 0.5, took
    assert peak < 1_000_000, peak  # bytes: nothing of the file is held
    with path.open("rb") as handle:
        handle.seek(size)
        appended = handle.read().decode("utf-8")
    assert appended.endswith("\n") and appended.count("\n") == 1 and json.loads(appended)["id"] == entry_id


def test_an_append_keeps_every_line_as_it_was(tmp_path):
    path = tmp_path / "feedback.jsonl"
    kept = ['{"id": "a1", "bad_output": "x", "fixed_output": "y"}', "{not json", "[1, 2]",
            '{"id": "a2", "bad_output": "p", "fixed_output": "q"']  # the last: cut off by a killed writer
    path.write_text("\n".join(kept), encoding="utf-8")  # and no newline at the end
    store = FeedbackStore(path)

    first = store.add(FeedbackPair("late", "on time"))
    second = record("f", "wrong", "right", path=path)  # the user's own call, the same lock
    store.add_many([FeedbackPair("one", "two"), FeedbackPair("three", "four")])

    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[:4] == kept  # verbatim, the unfinished line still its own
    read = store.read()
    assert [p.line for p in read.problems] == [2, 3, 4]
    assert [e.entry_id for e in store.list()][:3] == ["a1", first, second] and len(read.pairs) == 5


def test_appends_from_threads_lose_no_pair(tmp_path):
    path = tmp_path / "feedback.jsonl"
    store = FeedbackStore(path)

    def add(worker: int) -> None:
        for i in range(20):
            if i % 2:
                record("f", f"bad {worker}-{i}", f"good {worker}-{i}", path=path)
            else:
                FeedbackStore(path).add(FeedbackPair(f"bad {worker}-{i}", f"good {worker}-{i}"))

    workers = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    read = store.read()
    assert len(read.pairs) == 80 and read.problems == []

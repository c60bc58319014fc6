"""The run's event log: ``events.jsonl``, appended by the pipeline and followed by other processes.

:class:`EventLog` appends one JSON line per monitor callback (thread-safe, secrets
redacted, a line cut short by a crash closed before the next). :class:`EventReader`
reads from a byte offset and never returns a half-written line, which is how the
Streamlit companion and the TUI follow a run that another process is writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from vectortrainer.json_types import JSONObject
from vectortrainer.redaction import to_json

COUNT_SUFFIX = ".count"  # events.jsonl.count: "<events> <bytes>", rewritten after every append


class EventLog:
    """Append-only ``events.jsonl`` writer (thread-safe; one ``write`` per line).

    Opening one reads nothing: the file is scanned (for the last ``seq``, and to close
    a line a crash cut short) only before the first append, so a reader that merely
    opens a run (the run list) neither reads its events nor changes them. After each
    append the event count and the file's size go to a small sidecar
    (:func:`event_count` reads it).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count_path = path.with_name(path.name + COUNT_SUFFIX)
        self._lock = threading.Lock()
        self._seq: int | None = None
        self._count: int | None = None

    def _start(self) -> None:
        """Before the first append: the last seq and the number of events so far (closing a torn
        line)."""
        recorded = _read_count(self.count_path)
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            self._seq, self._count = 0, 0
            return
        self._seq = self._last_seq()
        self._count = (
            recorded[0] if recorded and recorded[1] == size else count_event_lines(self.path)
        )

    def _last_seq(self) -> int:
        if not self.path.exists():
            return 0
        last = 0
        with self.path.open("rb") as handle:
            for raw in handle:
                with contextlib.suppress(ValueError, AttributeError):
                    last = max(last, int(json.loads(raw).get("seq", 0)))
            ends_mid_line = False
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                ends_mid_line = handle.read(1) != b"\n"
        if ends_mid_line:
            # A crash cut the last line short: close it so the next event starts on its own line.
            with self.path.open("ab") as handle:
                handle.write(b"\n")
        return last

    def append(self, event_type: str, **fields: Any) -> JSONObject:
        with self._lock:
            if self._seq is None or self._count is None:
                self._start()
            assert self._seq is not None and self._count is not None
            self._seq += 1
            event = {"seq": self._seq, "ts": round(time.time(), 3), "type": event_type, **fields}
            line = to_json(event) + "\n"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                size = handle.tell()
            self._count += 1
            _write_count(self.count_path, self._count, size)
        stored: JSONObject = json.loads(line)  # as a reader will see it
        return stored


def _write_count(path: Path, count: int, size: int) -> None:
    """Rewrite the sidecar in place (one small write; a reader checks the size it names against the
    log's)."""
    data = f"{count} {size}\n".encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError:
        return  # the count is a convenience; the log itself is the truth
    try:
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_count(path: Path) -> tuple[int, int] | None:
    try:
        parts = path.read_bytes().split()
        count, size = int(parts[0]), int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    return (count, size) if count >= 0 and size >= 0 else None


def count_event_lines(path: str | os.PathLike[str], start: int = 0) -> int:
    """Lines of an event log from byte ``start`` (newlines counted, nothing parsed; a last line
    without its newline counts too)."""
    count = 0
    last = b"\n"
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            for block in iter(lambda: handle.read(1 << 20), b""):
                count += block.count(b"\n")
                last = block[-1:]
    except FileNotFoundError:
        return 0
    return count + (last != b"\n")


def event_count(path: str | os.PathLike[str]) -> int:
    """How many events a run's log holds, without reading them: the sidecar's count when it matches
    the log's size, else the count of lines after the size it recorded (or of every line)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    recorded = _read_count(path.with_name(path.name + COUNT_SUFFIX))
    if recorded is not None and recorded[1] == size:
        return recorded[0]
    if recorded is not None and recorded[1] < size:
        return recorded[0] + count_event_lines(path, recorded[1])
    return count_event_lines(path)


class EventReader:
    """Follows ``events.jsonl`` from another process by byte offset.

    ``read_new()`` returns the complete events written since the last call; a
    line still being written is left for the next call; a damaged line is
    returned as ``{"type": "unreadable", "line": N, "error": ...}`` rather than
    stopping the reader. If the file shrinks (a new run in its place), reading
    starts again from the top.
    """

    def __init__(self, path: str | os.PathLike[str], offset: int = 0) -> None:
        self.path = Path(path)
        self.offset = offset
        self.line_number = 0

    def read_new(self, max_bytes: int | None = 8 * 1024 * 1024) -> list[JSONObject]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:
            self.offset = 0
            self.line_number = 0
        if size == self.offset:
            return []
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read(-1 if max_bytes is None else max_bytes)
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        events: list[JSONObject] = []
        for raw in chunk[: end + 1].splitlines():
            self.line_number += 1
            if not raw.strip():
                continue
            try:
                event = json.loads(raw)
                if not isinstance(event, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                event = {"type": "unreadable", "line": self.line_number, "error": str(exc)}
            events.append(event)
        self.offset += end + 1
        return events



def read_events(path: str | os.PathLike[str]) -> list[JSONObject]:
    """Every complete event of an ``events.jsonl`` file."""
    return EventReader(path).read_new(max_bytes=None)

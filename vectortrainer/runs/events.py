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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vectortrainer.redaction import to_json


class EventLog:
    """Append-only ``events.jsonl`` writer (thread-safe; one ``write`` per line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seq = self._last_seq()

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

    def append(self, event_type: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            event = {"seq": self._seq, "ts": round(time.time(), 3), "type": event_type, **fields}
            line = to_json(event) + "\n"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
        return json.loads(line)


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

    def read_new(self, max_bytes: int | None = 8 * 1024 * 1024) -> list[dict[str, Any]]:
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
        events: list[dict[str, Any]] = []
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

    def follow(self, *, poll_s: float = 0.5, stop: threading.Event | None = None) -> Iterator[dict[str, Any]]:
        """Yield events as they arrive until ``stop`` is set (or forever)."""
        while stop is None or not stop.is_set():
            new = self.read_new()
            yield from new
            if not new:
                if stop is not None:
                    stop.wait(poll_s)
                else:
                    time.sleep(poll_s)


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete event of an ``events.jsonl`` file."""
    return EventReader(path).read_new(max_bytes=None)

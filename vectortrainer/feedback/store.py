"""The feedback store: user corrections (FR-2.1) kept in a JSONL file the TUI and CLI share.

One JSON object per line: ``{"id", "bad_output", "fixed_output", "input_prompt",
"context"}``. Adding appends the new lines under the file lock (one small write, whatever the
file's size, as :func:`vectortrainer.feedback.record` does); editing and deleting rewrite the
file atomically (temp file + fsync + rename) under the same lock. A malformed line is
reported with its line number and kept verbatim in place, by an append and by every
rewrite: it is never silently dropped or overwritten.
Text is read by the policy of :mod:`vectortrainer.feedback.pair`: a lone surrogate
becomes U+FFFD, and the lines where that happened are reported (`surrogate_lines`).
"""

from __future__ import annotations

import builtins
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from vectortrainer.errors import DataFormatError, FeedbackNotFoundError
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.files import atomic_write_text, escape_line_breaks, jsonl_line, jsonl_lines
from vectortrainer.json_types import JSONObject, JSONValue


@dataclass(frozen=True)
class FeedbackEntry:
    """A stored pair with its id and the line it sits on."""

    entry_id: str
    pair: FeedbackPair
    line: int
    replaced: int = 0  # lone surrogates replaced by U+FFFD on reading


@dataclass(frozen=True)
class FeedbackProblem:
    """A line that is not a valid feedback record, and why (kept in the file as it is)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class _Line:
    raw: str
    entry: FeedbackEntry | None


class FeedbackStore:
    """Add, edit, delete and list feedback pairs in a JSONL file.

    (``builtins.list`` in the annotations below: the method ``list`` shadows the type here.)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", timeout=30)

    # reading ---------------------------------------------------------------
    def _read_lines(self) -> tuple[list[_Line], list[FeedbackProblem]]:
        try:
            # bytes, then text: no newline translation, so a lone \r (JSON whitespace) splits no
            # line and line numbers are the file's
            text = self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return [], []
        except UnicodeDecodeError as exc:
            raise DataFormatError(
                f"{self.path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            ) from None
        lines: list[_Line] = []
        problems: list[FeedbackProblem] = []
        for number, raw in enumerate(jsonl_lines(text), start=1):
            if not raw.strip():
                lines.append(_Line(raw, None))
                continue
            entry, reason = _parse_line(raw, number)
            if reason:
                problems.append(FeedbackProblem(number, reason))
            lines.append(_Line(raw, entry))
        return lines, problems

    def list(self) -> list[FeedbackEntry]:
        """Every valid entry, in file order (see `problems()` for the lines that are not)."""
        lines, _ = self._read_lines()
        return [line.entry for line in lines if line.entry is not None]

    def problems(self) -> builtins.list[FeedbackProblem]:
        """The malformed lines, by line number."""
        return self._read_lines()[1]

    def surrogate_lines(self) -> builtins.list[int]:
        """The lines whose text held lone surrogates (read with U+FFFD in their place)."""
        return [entry.line for entry in self.list() if entry.replaced]

    def read(self) -> FeedbackRead:
        """The pairs, the malformed lines and the lines read with U+FFFD, from one read of the
        file."""
        lines, problems = self._read_lines()
        entries = [line.entry for line in lines if line.entry is not None]
        return FeedbackRead(
            [e.pair for e in entries], problems, [e.line for e in entries if e.replaced]
        )

    def pairs(self, *, strict: bool = False) -> builtins.list[FeedbackPair]:
        """The stored pairs; with ``strict`` a malformed line raises `DataFormatError` naming it."""
        lines, problems = self._read_lines()
        if strict and problems:
            shown = "; ".join(str(p) for p in problems[:3])
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise DataFormatError(f"{self.path}: {shown}{more}; fix or delete those lines")
        return [line.entry.pair for line in lines if line.entry is not None]

    def get(self, entry_id: str) -> FeedbackEntry:
        for entry in self.list():
            if entry.entry_id == entry_id:
                return entry
        raise FeedbackNotFoundError(f"{self.path}: no feedback entry with id {entry_id!r}")

    # writing ---------------------------------------------------------------
    def add(self, pair: FeedbackPair) -> str:
        """Store ``pair``; returns its new id."""
        return self.add_many([pair])[0]

    def add_many(self, pairs: Iterable[FeedbackPair]) -> builtins.list[str]:
        """Store ``pairs``; returns their new ids. Appended: the file is neither read nor
        rewritten, so adding to a file of a million pairs costs what adding to an empty one does."""
        ids = []
        lines = []
        for pair in pairs:
            entry_id = uuid.uuid4().hex[:12]
            ids.append(entry_id)
            lines.append(_dump(entry_id, pair))
        if lines:
            with self._lock:
                _append_lines(self.path, lines)
        return ids

    def edit(self, entry_id: str, pair: FeedbackPair) -> None:
        """Replace the pair stored under ``entry_id``."""
        with self._lock:
            lines, _ = self._read_lines()
            line = self._find(lines, entry_id)
            line.raw = _dump(entry_id, pair)
            self._write(lines)

    def delete(self, entry_id: str) -> None:
        with self._lock:
            lines, _ = self._read_lines()
            line = self._find(lines, entry_id)
            lines.remove(line)
            self._write(lines)

    def _find(self, lines: builtins.list[_Line], entry_id: str) -> _Line:
        for line in lines:
            if line.entry is not None and line.entry.entry_id == entry_id:
                return line
        raise FeedbackNotFoundError(f"{self.path}: no feedback entry with id {entry_id!r}")

    def _write(self, lines: builtins.list[_Line]) -> None:
        # A valid line an older version wrote with raw U+2028 and the like is written escaped
        # (the same record); a malformed line stays exactly as it is.
        atomic_write_text(self.path, "".join(
            (line.raw if line.entry is None else escape_line_breaks(line.raw)) + "\n"
            for line in lines
        ))


@dataclass(frozen=True)
class FeedbackRead:
    """One read of a feedback file: its valid pairs, its malformed lines, the lines read with
    U+FFFD."""

    pairs: list[FeedbackPair]
    problems: list[FeedbackProblem]
    surrogate_lines: list[int]

    def notices(self, path: str | os.PathLike[str]) -> list[str]:
        """One line per thing a person should know, naming the file, the lines and the fix."""
        found = []
        if self.problems:
            found.append(f"{path}: {len(self.problems)} malformed line(s) skipped: "
                         f"{'; '.join(str(p) for p in self.problems[:5])}"
                         f"{' (and more)' if len(self.problems) > 5 else ''}; fix or delete them")
        if self.surrogate_lines:
            found.append(
                f"{path}: lone surrogates replaced by U+FFFD on line(s) "
                f"{', '.join(map(str, self.surrogate_lines[:10]))}"
                f"{' (and more)' if len(self.surrogate_lines) > 10 else ''}; "
                "the text is not valid Unicode"
            )
        return found

    def summary(self) -> JSONObject:
        """The counts and line numbers, for run.json, events and ``--json`` summaries."""
        return {
            "malformed_lines": len(self.problems),
            "malformed_line_numbers": [p.line for p in self.problems],
            "surrogate_lines": list(self.surrogate_lines),
        }


def _append_lines(path: Path, lines: builtins.list[str]) -> None:
    """Append ``lines``, each with its newline, after one if the file's last line has none (a hand
    edit, or a line a killed writer left unfinished: it stays its own line, reported malformed);
    then fsync. An append that fails (a full disk) is cut off again: the file is as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        size = os.fstat(fd).st_size
        starts_clean = size == 0 or os.pread(fd, 1, size - 1) == b"\n"
        data = ("" if starts_clean else "\n") + "".join(line + "\n" for line in lines)
        view = memoryview(data.encode("utf-8"))
        try:
            while view:  # a write may take less than all of it
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def _dump(entry_id: str, pair: FeedbackPair) -> str:
    return jsonl_line({"id": entry_id, **pair.to_dict()}, sort_keys=True)


# A correction is a few strings and a flat context; deeper values would only reach the recursive
# code that handles pairs later (copies, redaction, JSON writing) and fail there.
MAX_NESTING = 32


def _parse_line(raw: str, number: int) -> tuple[FeedbackEntry | None, str]:
    try:
        data: JSONValue = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply to read)"
    except ValueError as exc:  # not a JSONDecodeError: an integer past Python's digit limit
        reason = "a number with too many digits" if "digits" in str(exc) else str(exc)
        return None, f"not valid JSON ({reason})"
    if _nesting(data) > MAX_NESTING:
        return None, f"nested more than {MAX_NESTING} levels deep"
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    missing = [key for key in ("bad_output", "fixed_output") if key not in data]
    if missing:
        return None, f"missing {', '.join(missing)}"
    for key in ("bad_output", "fixed_output", "input_prompt"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            return None, f"{key} must be a string"
    if "context" in data and data["context"] is not None and not isinstance(data["context"], dict):
        return None, "context must be a JSON object"
    entry_id = str(data.get("id") or f"line-{number}")
    pair, replaced = FeedbackPair.from_dict(data).without_lone_surrogates()
    return FeedbackEntry(entry_id, pair, number, replaced), ""


def _nesting(value: JSONValue) -> int:
    """How many lists and objects deep ``value`` goes (counted without recursion)."""
    deepest = 0
    stack: list[tuple[JSONValue, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            depth += 1
            if depth > MAX_NESTING:
                return depth  # deep enough to refuse: no need to walk the rest
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in item)
    return deepest


def read_feedback(path: str | os.PathLike[str]) -> FeedbackRead:
    """One read of a feedback file: pairs, malformed lines, lines read with U+FFFD (raises if the
    file is missing)."""
    store = FeedbackStore(path)
    if not store.path.is_file():
        raise DataFormatError(
            f"{store.path}: feedback file not found (write one with `vectortrainer demo seed`)"
        )
    return store.read()


def write_feedback_file(
    path: str | os.PathLike[str], pairs: Iterable[FeedbackPair], *, id_prefix: str = ""
) -> None:
    """Write ``pairs`` as a new feedback file in one atomic step (ids ``<id_prefix>001``, ...)."""
    lines = [
        _dump(f"{id_prefix}{number:03d}", pair) + "\n" for number, pair in enumerate(pairs, start=1)
    ]
    atomic_write_text(Path(path), "".join(lines))

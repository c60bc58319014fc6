"""Files, safely: atomic writes, JSONL and JSON reading with errors that name file and line, hashes,
line counts.

A reader of a file written here sees the old file or the new one, never half of
one (temp file in the same folder, fsync, rename, fsync of the folder). A write killed
before its rename leaves its temp file (``.<name>.<8 random>.tmp``); the next write to the
same file removes those of its own naming older than a minute (``STALE_TEMP_S``), so killed
writes never pile up, and a write still in progress elsewhere is never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vectortrainer.errors import DataFormatError

# A temp file older than this was left by a write that died (one lives for its write's seconds).
STALE_TEMP_S = 60.0
_TEMP_SUFFIX = ".tmp"
_TEMP_RANDOM = re.compile(r"[a-z0-9_]{8}")  # what tempfile.mkstemp puts between prefix and suffix


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8) to ``path`` via a temp file in the same folder, fsync and rename."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` via a temp file in the same folder, fsync and rename.

    The file keeps the permission bits of the file it replaces; a new file gets
    ``0o666`` less the process umask, as ``open()`` would give it. ``mode`` forces
    the bits instead (for a file that must stay private).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path)
    target_mode = mode if mode is not None else _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TEMP_SUFFIX, dir=path.parent)
    try:
        os.fchmod(fd, target_mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(path.parent)


def remove_stale_temp_files(path: Path, *, older_than_s: float = STALE_TEMP_S) -> int:
    """Remove the temp files killed writes to ``path`` left (``.<name>.<8 random>.tmp``, regular
    files older than ``older_than_s``); how many. Never another file's: the name must be exactly
    ours. What cannot be read or removed is left (a later write tries again)."""
    prefix = f".{path.name}."
    cutoff = time.time() - older_than_s
    removed = 0
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX)
                and _TEMP_RANDOM.fullmatch(name[len(prefix):-len(_TEMP_SUFFIX)])):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def _mode_for(path: Path) -> int:
    """The permission bits a rewrite of ``path`` should have: the existing file's, else the
    umask's."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# Characters that str.splitlines() (and JavaScript before ES2019) treat as line breaks but JSON
# lets stand raw inside a string: written escaped, so no reader splits a record at them.
_LINE_BREAKS_IN_STRINGS = str.maketrans(
    {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
)


def escape_line_breaks(json_text: str) -> str:
    """Valid JSON text with U+2028, U+2029 and U+0085 written as ``\\u`` escapes: the same value.

    Outside string literals JSON allows none of them, so every one is inside a string, where
    the escape means the same character.
    """
    return json_text.translate(_LINE_BREAKS_IN_STRINGS)


def jsonl_line(record: Any, **dumps_options: Any) -> str:
    """``record`` as one JSONL line (no newline): non-ASCII kept readable, except the characters
    some readers take for line breaks (U+2028, U+2029, U+0085), which are escaped."""
    return escape_line_breaks(json.dumps(record, ensure_ascii=False, **dumps_options))


def jsonl_lines(text: str) -> list[str]:
    """The lines of a JSONL text, split at line feeds only (never at U+2028 and the like, as
    ``str.splitlines`` does: those may stand raw inside a record's strings)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    return lines


def write_jsonl(path: str | Path, records: Any) -> int:
    """Write one JSON object per line, atomically; returns the line count."""
    lines = [jsonl_line(record) for record in records]
    atomic_write_text(Path(path), "".join(line + "\n" for line in lines))
    return len(lines)


def iter_jsonl_records(path: str | Path, *, what: str = "data file") -> Iterator[tuple[Any, str]]:
    """Yield ``(record, "path:line")`` for every non-blank line of ``path``.

    A missing file or a line that is not JSON raises :class:`DataFormatError` naming
    ``what`` (e.g. "training file") or the line.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: {what} not found") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    f"{where}: not UTF-8 text ({exc.reason}); save the {what} as UTF-8"
                ) from None
            try:
                yield json.loads(line), where
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"{where}: not valid JSON ({exc.msg})") from None


def read_json(
    path: Path, *, expect: type = dict, error: type[DataFormatError] = DataFormatError
) -> Any:
    """Read one JSON document; a missing, empty or damaged file raises ``error`` naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file is missing") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror}") from None
    if not text.strip():
        raise error(f"{path}: file is empty (interrupted while it was written?)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, expect):
        raise error(f"{path}: expected a JSON {expect.__name__}, found {type(data).__name__}")
    return data


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    """Hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def count_lines(path: str | Path) -> int:
    """Non-blank lines of a text file (examples in a JSONL file); 0 when it does not exist."""
    try:
        with Path(path).open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except FileNotFoundError:
        return 0

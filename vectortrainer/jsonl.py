"""Reading JSONL data files line by line, with errors that name the file and the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vectortrainer.errors import DataFormatError


def iter_jsonl_records(path: str | Path, *, what: str = "data file") -> Iterator[tuple[Any, str]]:
    """Yield ``(record, "path:line")`` for every non-blank line of ``path``.

    A missing file or a line that is not JSON raises :class:`DataFormatError` naming
    ``what`` (e.g. "training file") or the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: {what} not found") from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{path}: {what} is not UTF-8 text ({exc.reason})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield json.loads(line), where
        except json.JSONDecodeError as exc:
            raise DataFormatError(f"{where}: not valid JSON ({exc.msg})") from None

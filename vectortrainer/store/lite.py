"""A read-only reader of a Lite store's tables that needs no VectorWave import (milliseconds, not
7-10 s).

:class:`LiteStoreReader` has the two attributes ``LogSource`` uses of a
``VectorWaveDatasetManager`` (``store`` and ``settings``), over the same LanceDB
tables VectorWave Lite writes. :func:`store_signature` changes whenever the
executions table does (a cache key for the faces).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vectortrainer.errors import StoreError
from vectortrainer.json_types import JSONObject
from vectortrainer.store.environment import (
    EXECUTION_COLLECTION,
    FUNCTION_COLLECTION,
    lance_directory,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from lancedb.table import Table

STREAM_BATCH = 8192


@dataclass(frozen=True)
class _LiteCollections:
    EXECUTION_COLLECTION_NAME: str = EXECUTION_COLLECTION
    COLLECTION_NAME: str = FUNCTION_COLLECTION


@dataclass(frozen=True)
class _Row:
    uuid: str
    properties: JSONObject


def open_lance_table(db_path: str | os.PathLike[str], collection: str) -> Table | None:
    """The LanceDB table ``collection`` in ``db_path``; ``None`` when there is none.

    A folder by that name that LanceDB cannot open (not a Lance table, damaged) is a
    :class:`StoreError` naming it, never an empty store or a traceback.
    """
    import lancedb  # 1.8 s to import: only reading a store needs it

    table_dir = Path(db_path) / f"{collection}.lance"
    if not table_dir.exists():
        return None
    refuse_special_files(table_dir)
    try:
        return lancedb.connect(str(db_path)).open_table(collection)
    except Exception as exc:  # noqa: BLE001 - lancedb raises ValueError, RuntimeError or OSError, depending on the damage
        raise not_a_table(table_dir, exc) from None


def refuse_special_files(table_dir: Path) -> None:
    """Refuse a table holding anything but folders and regular files (links followed: what the
    reader would open), in one line: LanceDB opening a FIFO waits for a writer forever, and a
    device (``/dev/zero``) never ends."""
    entries = [table_dir]
    for root, folders, files in os.walk(table_dir):  # a link to a folder is an entry, not walked
        entries.extend(Path(root) / name for name in (*folders, *files))
    for entry in entries:
        try:
            mode = os.stat(entry).st_mode
        except OSError as exc:  # a dangling link, a link loop
            raise StoreError(
                f"{entry}: cannot be read in the Lance table {table_dir.name} ({exc.strerror}); "
                "a store holds only the files VectorWave wrote: remove it or restore the store"
            ) from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or \
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "no regular file"
            raise StoreError(
                f"{entry}: {kind} inside the Lance table {table_dir.name}, which reading would "
                "wait on forever; a store holds only the files VectorWave wrote: remove it or "
                "restore the store"
            )


def not_a_table(table_dir: Path, exc: BaseException) -> StoreError:
    """The one line for a table folder LanceDB cannot read."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    reason = reason.split(", /")[0][:160]  # lance appends the Rust source path
    return StoreError(
        f"{table_dir}: not a readable Lance table ({reason}); point --store at a VectorWave "
        f"Lite store (its lance/ folder holds {table_dir.name}) or seed a new one"
    )


class _LanceTableReader:
    """The read side of VectorWave's Lite ``VectorStore`` (``iterate``) over the same Lance
    tables."""

    backend_name = "lance"

    def __init__(self, db_path: Path) -> None:
        self._db_path = str(db_path)

    def iterate(self, collection: str, batch_size: int = 100) -> Iterator[_Row]:
        table = open_lance_table(self._db_path, collection)
        if table is None:
            return
        for batch in read_batches(
            table, ["uuid", "payload"], Path(self._db_path) / f"{collection}.lance"
        ):
            for uuid, payload in zip(
                batch.column("uuid").to_pylist(), batch.column("payload").to_pylist(), strict=True
            ):
                try:
                    yield _Row(uuid, json.loads(payload) if payload else {})
                except ValueError:
                    yield _Row(uuid, {})


def read_batches(table: Table, columns: list[str], table_dir: Path) -> Iterator[pa.RecordBatch]:
    """The table's rows as Arrow record batches; a damaged data file is a :class:`StoreError`, not a
    traceback."""
    try:
        yield from table.search().select(columns).limit(None).to_batches(STREAM_BATCH)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        raise not_a_table(table_dir, exc) from None


class LiteStoreReader:
    """A read-only stand-in for ``VectorWaveDatasetManager`` over a Lite store (same ``store`` /
    ``settings`` shape), for faces that only read logs and should not wait for VectorWave's
    import."""

    def __init__(self, store_path: str | os.PathLike[str]) -> None:
        self.settings = _LiteCollections()
        self.store = _LanceTableReader(lance_directory(store_path))


def store_signature(store_path: str | os.PathLike[str]) -> str:
    """Changes when the store's executions table changes (a cache key); empty when there is no
    store."""
    table = lance_directory(store_path) / f"{EXECUTION_COLLECTION}.lance"
    try:
        newest = max(
            (entry.stat().st_mtime_ns for entry in table.rglob("*")),
            default=table.stat().st_mtime_ns,
        )
    except OSError:
        return ""
    return f"{table}:{newest}"

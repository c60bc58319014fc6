"""Reading VectorWave execution logs: every log of a function, with vectors, in bulk (FR-1.5, VT-1).

`LogSource` takes a `VectorWaveDatasetManager` by injection and reads through its
`store`. VectorWave's store API has no bulk read *with* vectors (``fetch_by_id``
costs ~3.5 ms a record), so each backend gets a bulk path behind one interface:

* Lite (LanceDB): the executions table streamed as Arrow record batches; vectors
  become one float32 matrix without per-row Python.
* Pro (Weaviate): the client's cursor iterator with vectors.
* Anything else: ``iterate`` plus ``fetch_by_id(include_vector=True)`` per record.

Nothing is truncated: logs without a vector (Lite stores zeros; LanceDB writes a
null for a bad vector) or without captured inputs are counted under
``FunctionLogs.skipped`` and reported, and every kept log keeps its own vector.
Replayed calls (``exec_source: "REPLAY"``, VectorWave's replayer running logged inputs
again) are skipped and counted the same way: golden data, the blast-radius sample and the
loop's count of new logs are the function's real calls only.
"""

from __future__ import annotations

import ast
import json
import os
import textwrap
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast, overload, runtime_checkable

import numpy as np

from vectortrainer.errors import StoreError
from vectortrainer.json_types import JSONObject, JSONValue
from vectortrainer.store.environment import (
    EMBEDDING_DIM,
    lance_directory,
    open_dataset_manager,
    store_exists,
)
from vectortrainer.store.lite import STREAM_BATCH, LiteStoreReader, open_lance_table, read_batches
from vectortrainer.store.records import FAILED_STATUSES, FunctionLogs, FunctionSummary, LogRecord

if TYPE_CHECKING:
    import pyarrow as pa
    from lancedb.table import Table
    from weaviate import WeaviateClient

ProgressCallback = Callable[[int, int], None]

# Properties VectorWave writes about a call itself; every other property of an
# execution log is a captured argument of the decorated function.
VECTORWAVE_PROPERTIES = frozenset(
    {
        "trace_id", "span_id", "parent_span_id", "function_name", "timestamp_utc",
        "duration_ms", "status", "error_message", "error_code", "return_value",
        "exec_source", "function_uuid", "team", "priority", "run_id",
    }
)
SKIP_NO_VECTOR = "no vector"
SKIP_NO_INPUTS = "no captured inputs"
SKIP_NO_OUTPUT = "successful but no captured return value"
SKIP_REPLAYED = "replayed calls"
# ``exec_source`` of a call VectorWave's replayer made (its default is "REALTIME"): the logged
# inputs run again, e.g. for a regression check; no new use of the function.
REPLAY_SOURCE = "REPLAY"


def is_replay(properties: JSONObject) -> bool:
    """Whether a log records a replayed call (``exec_source: "REPLAY"``), not a caller's."""
    return properties.get("exec_source") == REPLAY_SOURCE


@dataclass(frozen=True)
class FunctionInfo:
    """What VectorWave recorded about a decorated function itself."""

    name: str
    docstring: str = ""
    parameters: tuple[str, ...] = ()
    module: str = ""


@runtime_checkable
class LogReader(Protocol):
    """What the engine reads logs through: :class:`LogSource` is one; a test may hand in another.

    Every part of the engine that takes a log source takes this (checked structurally by mypy;
    ``isinstance`` checks only that the three methods are there).
    """

    def list_functions(self) -> list[FunctionSummary]: ...

    def function_info(self, function_name: str) -> FunctionInfo: ...

    def read_function(
        self, function_name: str, progress: ProgressCallback | None = None
    ) -> FunctionLogs: ...


class StoredObject(Protocol):
    """One object as VectorWave's store iterates it: an execution log or a function's record."""

    @property
    def uuid(self) -> str: ...

    @property
    def properties(self) -> JSONObject: ...


class VectorStore(Protocol):
    """What every reader uses of VectorWave's store (a Lite ``VectorStore``, Weaviate's, or
    :class:`~vectortrainer.store.lite.LiteStoreReader`'s): iterating a collection."""

    def iterate(self, collection: str) -> Iterable[StoredObject]: ...


class _WithVector(Protocol):
    @property
    def vector(self) -> Sequence[float] | None: ...


class _RecordStore(VectorStore, Protocol):
    """A store read one record at a time (the fallback): ``fetch_by_id`` returns the vector too."""

    def fetch_by_id(
        self, collection: str, uuid: str, include_vector: bool = ...  # noqa: V107 (vulture)
    ) -> _WithVector | None: ...


class CollectionNames(Protocol):
    """The collection names of VectorWave's settings."""

    @property
    def EXECUTION_COLLECTION_NAME(self) -> str: ...  # noqa: N802 - VectorWave's names

    @property
    def COLLECTION_NAME(self) -> str: ...  # noqa: N802


class DatasetManager(Protocol):
    """What :class:`LogSource` uses of the ``VectorWaveDatasetManager`` it is handed (or of a
    :class:`~vectortrainer.store.lite.LiteStoreReader`)."""

    @property
    def store(self) -> VectorStore: ...

    @property
    def settings(self) -> CollectionNames: ...


@dataclass(frozen=True)
class _RawLog:
    uuid: str
    properties: JSONObject
    payload: str | None = None  # the stored JSON text, where the reader has it (Lance)


class StoredRecords(Sequence[LogRecord]):
    """A function's records, kept as their stored JSON text and decoded on access.

    A decoded record (dicts of inputs and output, a dozen strings) takes 1-2 KB; its
    JSON text a few hundred bytes. Selection needs every status but decodes only the
    picks, so a million logs stay within a few hundred MB. Statuses are kept decoded.
    """

    def __init__(self, parameters: tuple[str, ...]) -> None:
        self.parameters = parameters
        self.uuids: list[str] = []
        self.payloads: list[str] = []
        self.statuses: list[str] = []
        self._status_names: dict[str, str] = {}

    def append(self, uuid: str, payload: str, status: str) -> None:
        self.uuids.append(uuid)
        self.payloads.append(payload)
        self.statuses.append(self._status_names.setdefault(status, status))  # one string per status

    def __len__(self) -> int:
        return len(self.uuids)

    @overload
    def __getitem__(self, index: int) -> LogRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[LogRecord]: ...
    def __getitem__(self, index: int | slice) -> LogRecord | list[LogRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        props = json.loads(self.payloads[index])
        return _to_record(self.uuids[index], props, _captured_inputs(props, self.parameters),
                          decode_return_value(props.get("return_value")), self.statuses[index])

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sequence)
            and len(self) == len(other)
            and all(a == b for a, b in zip(self, other, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]  # mutable while read, like a list


class LogSource:
    """All logs of a function from a VectorWave store (injected dataset manager)."""

    def __init__(self, dataset_manager: DatasetManager) -> None:
        self.store = dataset_manager.store
        settings = dataset_manager.settings
        self.executions = settings.EXECUTION_COLLECTION_NAME
        self.functions = settings.COLLECTION_NAME
        self._reader = _bulk_reader_for(self.store)
        self._info_cache: dict[str, FunctionInfo] = {}

    @classmethod
    def open(
        cls,
        store_path: str | os.PathLike[str],
        *,
        through_vectorwave: bool = False,
        backend: Literal["local", "ray", "gpu"] = "local",
        ray_address: str | None = None,
    ) -> "LogSource":
        """Read the Lite store at ``store_path``; a missing store is a clear error, not an empty
        one.

        Reading needs none of VectorWave's runtime, so by default the store is read
        through :class:`LiteStoreReader` (milliseconds) instead of importing VectorWave
        (7-10 s, torch). ``through_vectorwave`` opens a real ``VectorWaveDatasetManager``.
        ``backend="ray"`` reads the executions table with Ray Data on the cluster at
        ``ray_address`` (see :mod:`vectortrainer.cluster`); the logs are the same, in the same
        order. Every other backend reads here.
        """
        if not store_exists(store_path):
            raise StoreError(
                f"no VectorWave store at {store_path}: point store.path / --store at yours, or "
                f"create the demo store with `vectortrainer demo seed --store {store_path}`"
            )
        if through_vectorwave:
            return cls(open_dataset_manager(store_path))
        source = cls(LiteStoreReader(store_path))
        if backend == "ray":
            source._reader = _RayDataLanceReader(str(lance_directory(store_path)), ray_address)
        return source

    @property
    def backend(self) -> str:
        return self._reader.name

    # ------------------------------------------------------------------ listing
    def list_functions(self) -> list[FunctionSummary]:
        """Every function with logs, with counts (total, success, with vector, with captured
        inputs, replayed)."""
        counts: dict[str, Counter[str]] = {}
        params = {info.name: info.parameters for info in self._all_function_info()}
        for raw, has_vector in self._reader.read(self.executions, None, with_vectors=False):
            props = raw.properties
            name = props.get("function_name") or "?"
            c = counts.setdefault(name, Counter())
            c["total"] += 1
            status = props.get("status")
            c["success"] += status == "SUCCESS"
            c["anomaly"] += status == "ANOMALY"
            c["failed"] += status in FAILED_STATUSES
            c["with_vector"] += bool(has_vector)
            c["with_inputs"] += bool(_captured_inputs(props, params.get(name, ())))
            if is_replay(props):
                c["replayed"] += 1
                c["replayed_success"] += status == "SUCCESS"
        return [
            FunctionSummary(
                name=name, total=c["total"], success=c["success"], with_vector=c["with_vector"],
                with_inputs=c["with_inputs"], failed=c["failed"], anomaly=c["anomaly"],
                replayed=c["replayed"], replayed_success=c["replayed_success"],
            )
            for name, c in sorted(counts.items())
        ]

    def function_info(self, function_name: str) -> FunctionInfo:
        """Docstring and parameter order of a function, from VectorWave's function collection."""
        if function_name not in self._info_cache:
            for info in self._all_function_info():
                self._info_cache.setdefault(info.name, info)
            self._info_cache.setdefault(function_name, FunctionInfo(name=function_name))
        return self._info_cache[function_name]

    # ------------------------------------------------------------------ reading
    def read_function(
        self, function_name: str, progress: ProgressCallback | None = None
    ) -> FunctionLogs:
        """Every log of ``function_name`` with its vector; failed logs included (selection excludes
        them), replayed calls skipped (counted under ``skipped["replayed calls"]``).

        Streamed: the store is read a block (an Arrow record batch on Lite) at a time and each
        kept vector is copied once, straight into one preallocated float32 matrix, so peak
        memory is the vectors plus one block (and the decoded records). ``progress`` is called
        after each block; an exception it raises (a cancel) stops the read there.
        """
        parameters = self.function_info(function_name).parameters
        records: list[LogRecord] = []
        # used instead of ``records`` when the reader keeps the JSON text
        stored = StoredRecords(parameters)
        skipped: Counter[str] = Counter()
        total = 0
        capacity = self._reader.capacity(self.executions)
        matrix: np.ndarray | None = None
        kept = 0
        for raws, block, usable in self._reader.blocks(
            self.executions, function_name, progress=progress
        ):
            rows: list[int] = []
            for i, raw in enumerate(raws):
                total += 1
                props = raw.properties
                if is_replay(props):
                    skipped[SKIP_REPLAYED] += 1
                    continue
                if not usable[i]:
                    skipped[SKIP_NO_VECTOR] += 1
                    continue
                inputs = _captured_inputs(props, parameters)
                if not inputs:
                    skipped[SKIP_NO_INPUTS] += 1
                    continue
                status = str(props.get("status") or "UNKNOWN")
                output = decode_return_value(props.get("return_value"))
                if status not in FAILED_STATUSES and output is None:
                    skipped[SKIP_NO_OUTPUT] += 1
                    continue
                if raw.payload is not None:
                    stored.append(raw.uuid, raw.payload, status)
                else:
                    records.append(_to_record(raw.uuid, props, inputs, output, status))
                rows.append(i)
            if not rows:
                continue
            if matrix is None:
                # Untouched pages of np.empty are never resident: an upper bound costs nothing.
                matrix = np.empty((max(capacity or 0, len(rows), 1024), block.shape[1]), np.float32)
            elif block.shape[1] != matrix.shape[1]:
                raise StoreError(
                    f"function '{function_name}': vectors of {block.shape[1]} and "
                    f"{matrix.shape[1]} dimensions in one store; re-embed its logs with one model"
                )
            if kept + len(rows) > len(matrix):
                matrix.resize(
                    (max(2 * len(matrix), kept + len(rows)), matrix.shape[1]), refcheck=False
                )
            matrix[kept:kept + len(rows)] = block[rows]
            kept += len(rows)
        if total == 0:
            known = ", ".join(s.name for s in self.list_functions()) or "none"
            raise StoreError(
                f"no logs of function '{function_name}' in the store (functions: {known})"
            )
        if matrix is None:
            matrix = np.zeros((0, EMBEDDING_DIM), np.float32)
        else:
            matrix.resize((kept, matrix.shape[1]), refcheck=False)  # shrinks in place: no copy
        kept_records: Sequence[LogRecord] = stored if len(stored) else records
        return FunctionLogs(
            function_name=function_name,
            records=kept_records,
            vectors=matrix,
            skipped=dict(skipped),
            total=total,
        )

    def _all_function_info(self) -> list[FunctionInfo]:
        try:
            # Not `collection_exists`: with lancedb 0.40 it answers False for existing tables.
            rows = list(self.store.iterate(self.functions))
        except Exception:  # the function collection is optional metadata
            return []
        return [_function_info(r.properties) for r in rows if r.properties.get("function_name")]


def decode_return_value(encoded: JSONValue) -> JSONValue:
    """VectorWave stores return values JSON-encoded (``str()`` when not serialisable)."""
    if encoded is None or not isinstance(encoded, str):
        return encoded
    try:
        return json.loads(encoded)
    except ValueError:
        return encoded


def _captured_inputs(props: JSONObject, parameters: tuple[str, ...]) -> JSONObject:
    if parameters:
        return {p: props[p] for p in parameters if p in props and p not in VECTORWAVE_PROPERTIES}
    return {k: v for k, v in props.items() if k not in VECTORWAVE_PROPERTIES}


def _to_record(
    uuid: str, props: JSONObject, inputs: JSONObject, output: JSONValue, status: str
) -> LogRecord:
    duration = props.get("duration_ms")
    return LogRecord(
        uuid=uuid,
        function_name=str(props.get("function_name") or ""),
        status=status,
        inputs=inputs,
        output=output,
        timestamp=str(props.get("timestamp_utc") or ""),
        trace_id=props.get("trace_id"),
        error_message=props.get("error_message"),
        duration_ms=float(duration) if isinstance(duration, (int, float)) else None,
    )


def _function_info(props: JSONObject) -> FunctionInfo:
    return FunctionInfo(
        name=str(props["function_name"]),
        docstring=str(props.get("docstring") or ""),
        parameters=_parameters_from_source(props.get("source_code") or ""),
        module=str(props.get("module_name") or ""),
    )


def _parameters_from_source(source: str) -> tuple[str, ...]:
    """Parameter names of the first function defined in ``source`` (decorators included)."""
    try:
        tree = ast.parse(_dedent(source))
    except SyntaxError:
        return ()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
            return tuple(n for n in names if n not in ("self", "cls"))
    return ()


def _dedent(source: str) -> str:
    return textwrap.dedent(source)


# ---------------------------------------------------------------------- bulk readers
# What a reader yields per log: its vector (None: no usable one), or with ``with_vectors=False``
# only whether it has one.
_VectorSlot = np.ndarray | bool | None


class _BulkReader(ABC):
    name = "generic"

    @abstractmethod
    def read(
        self, collection: str, function_name: str | None, *,
        with_vectors: bool, progress: ProgressCallback | None = None,
    ) -> Iterator[tuple[_RawLog, _VectorSlot]]:
        """Yield (log, vector) pairs; with ``with_vectors=False`` the vector slot is a has-vector
        bool."""

    def capacity(self, collection: str) -> int | None:
        """An upper bound on the logs :meth:`blocks` can yield (``None``: unknown)."""
        return None

    def blocks(
        self, collection: str, function_name: str | None, *,
        progress: ProgressCallback | None = None, size: int = 1024,
    ) -> Iterator[tuple[list[_RawLog], np.ndarray, np.ndarray]]:
        """(logs, their vectors as a float32 matrix, which rows hold a usable vector) a block at a
        time."""
        raws: list[_RawLog] = []
        vectors: list[np.ndarray | None] = []
        for raw, vector in self.read(
            collection, function_name, with_vectors=True, progress=progress
        ):
            raws.append(raw)
            vectors.append(vector if isinstance(vector, np.ndarray) else None)
            if len(raws) == size:
                yield (raws, *_stack(vectors))
                raws, vectors = [], []
        if raws:
            yield (raws, *_stack(vectors))


class _LanceBulkReader(_BulkReader):
    """LanceDB table -> Arrow record batches -> numpy; properties from the JSON payload column."""

    name = "lance"

    def __init__(self, db_path: str) -> None:
        self.db_path = db_path

    def _batches(
        self, collection: str, function_name: str | None, progress: ProgressCallback | None
    ) -> Iterator[pa.RecordBatch]:
        """The table's record batches (prefiltered to ``function_name``), reporting rows read after
        each."""
        import pyarrow.compute as pc

        table = open_lance_table(self.db_path, collection)
        if table is None:
            return
        total = table.count_rows()
        needle = (
            None if function_name is None else json.dumps({"function_name": function_name})[1:-1]
        )
        done = 0
        for batch in self._scan(table, collection):
            done += batch.num_rows
            if needle is not None:
                # Cheap prefilter on the JSON text; the parsed
                # payload is checked again by the caller.
                batch = batch.filter(pc.match_substring(batch.column("payload"), needle))
            if batch.num_rows:
                yield batch
            if progress is not None:
                progress(done, total)

    def _scan(self, table: Table, collection: str) -> Iterator[pa.RecordBatch]:
        """The table's record batches with the three columns a log needs, in table order."""
        return read_batches(
            table, ["uuid", "vector", "payload"], Path(self.db_path) / f"{collection}.lance"
        )

    def read(
        self, collection: str, function_name: str | None, *,
        with_vectors: bool, progress: ProgressCallback | None = None,
    ) -> Iterator[tuple[_RawLog, _VectorSlot]]:
        for batch in self._batches(collection, function_name, progress):
            yield from self._rows(batch, function_name, with_vectors)

    def capacity(self, collection: str) -> int | None:
        table = open_lance_table(self.db_path, collection)
        return None if table is None else table.count_rows()

    def blocks(
        self, collection: str, function_name: str | None, *,
        progress: ProgressCallback | None = None, size: int = 1024,
    ) -> Iterator[tuple[list[_RawLog], np.ndarray, np.ndarray]]:
        """One block per Arrow record batch: its vectors converted once, without per-row Python."""
        for batch in self._batches(collection, function_name, progress):
            matrix, usable = vector_matrix(batch.column("vector"))
            raws: list[_RawLog] = []
            rows: list[int] = []
            texts = batch.column("payload").to_pylist()
            for i, (uuid, props) in enumerate(self._payloads(batch, texts)):
                if function_name is None or props.get("function_name") == function_name:
                    raws.append(_RawLog(uuid, props, texts[i] or "{}"))
                    rows.append(i)
            if len(rows) < batch.num_rows:
                matrix, usable = matrix[rows], usable[rows]
            if raws:
                yield raws, matrix, usable

    @staticmethod
    def _payloads(
        batch: pa.RecordBatch, texts: list[str | None] | None = None
    ) -> Iterator[tuple[str, JSONObject]]:
        texts = batch.column("payload").to_pylist() if texts is None else texts
        for uuid, payload in zip(batch.column("uuid").to_pylist(), texts, strict=True):
            try:
                yield uuid, (json.loads(payload) if payload else {})
            except ValueError:
                yield uuid, {}

    @classmethod
    def _rows(
        cls, batch: pa.RecordBatch, function_name: str | None, with_vectors: bool
    ) -> Iterator[tuple[_RawLog, _VectorSlot]]:
        matrix, has_vector = vector_matrix(batch.column("vector"))
        for i, (uuid, props) in enumerate(cls._payloads(batch)):
            if function_name is not None and props.get("function_name") != function_name:
                continue
            if with_vectors:
                yield _RawLog(uuid, props), (matrix[i] if has_vector[i] else None)
            else:
                yield _RawLog(uuid, props), bool(has_vector[i])


def vector_matrix(vectors: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """An Arrow vector column as one float32 row per log, and which rows hold a usable vector.

    Row ``i`` is always log ``i``'s: a null vector (LanceDB writes one for a bad vector
    with ``on_bad_vectors="null"``) keeps its slot as zeros and is marked unusable,
    as is an all-zero vector (Lite's "no vector") or one with a NaN or infinity.
    Arrow's ``flatten`` drops null slots, so the valid rows are put back in place.
    """
    import pyarrow as pa

    rows = len(vectors)
    if isinstance(vectors, pa.ChunkedArray):
        vectors = vectors.combine_chunks()
    valid = ~np.asarray(vectors.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    dim = getattr(vectors.type, "list_size", None)
    # a variable-size list column: rows one by one (rare, and never the Lite schema)
    if dim is None:
        values = vectors.to_pylist()
        dim = max((len(v) for v in values if v is not None), default=0)
        matrix = np.zeros((rows, dim), np.float32)
        for i, value in enumerate(values):
            if value is not None and len(value) == dim:
                matrix[i] = np.asarray(
                    [np.nan if x is None else x for x in value], dtype=np.float32
                )
            else:
                valid[i] = False
    else:
        matrix = np.zeros((rows, dim), np.float32)
        flat = np.asarray(vectors.flatten().to_numpy(zero_copy_only=False), dtype=np.float32)
        if dim and flat.size == rows * dim:  # null slots kept as placeholders
            matrix[:] = flat.reshape(rows, dim)
        elif dim and flat.size == int(valid.sum()) * dim:  # null slots dropped
            matrix[valid] = flat.reshape(-1, dim)
        elif dim:
            raise StoreError(
                f"vector column holds {flat.size} values for "
                f"{rows} rows of {dim}; the store is damaged"
            )
    usable = valid & np.all(np.isfinite(matrix), axis=1) & np.any(matrix != 0, axis=1)
    matrix[~usable] = 0.0
    return matrix, usable


def _stack(vectors: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Per-row vectors (``None`` where there is none) as one float32 matrix and a usable-row
    mask."""
    dim = next((len(v) for v in vectors if v is not None), EMBEDDING_DIM)
    matrix = np.zeros((len(vectors), dim), np.float32)
    usable = np.zeros(len(vectors), dtype=bool)
    for i, vector in enumerate(vectors):
        if vector is not None and len(vector) == dim:
            matrix[i] = vector
    finite = np.all(np.isfinite(matrix), axis=1)
    usable[:] = finite & np.any(matrix != 0, axis=1)
    matrix[~usable] = 0.0
    return matrix, usable


class _WeaviateBulkReader(_BulkReader):
    """Weaviate's cursor iterator, which returns vectors with the objects."""

    name = "weaviate"

    def __init__(self, client: WeaviateClient) -> None:
        self.client = client

    def read(
        self, collection: str, function_name: str | None, *,
        with_vectors: bool, progress: ProgressCallback | None = None,
    ) -> Iterator[tuple[_RawLog, _VectorSlot]]:
        handle = self.client.collections.get(collection)
        done = 0
        for obj in handle.iterator(include_vector=with_vectors):
            done += 1
            props = dict(obj.properties)
            if function_name is not None and props.get("function_name") != function_name:
                continue
            vector = obj.vector.get("default") if isinstance(obj.vector, dict) else obj.vector
            array = np.asarray(vector, dtype=np.float32) if vector else None
            yield _RawLog(str(obj.uuid), props), (array if with_vectors else array is not None)
            if progress is not None and done % 1000 == 0:
                progress(done, 0)


class _PerRecordReader(_BulkReader):
    """Fallback for unknown backends: ``iterate`` then ``fetch_by_id`` per record (slow)."""

    name = "per-record"

    def __init__(self, store: _RecordStore) -> None:
        self.store = store

    def read(
        self, collection: str, function_name: str | None, *,
        with_vectors: bool, progress: ProgressCallback | None = None,
    ) -> Iterator[tuple[_RawLog, _VectorSlot]]:
        for done, rec in enumerate(self.store.iterate(collection), start=1):
            props = rec.properties
            if function_name is not None and props.get("function_name") != function_name:
                continue
            full = self.store.fetch_by_id(collection, rec.uuid, include_vector=True)
            vector = (
                np.asarray(full.vector, np.float32) if full is not None and full.vector else None
            )
            yield (
                _RawLog(rec.uuid, props),
                (vector if with_vectors else vector is not None and bool(np.any(vector))),
            )
            if progress is not None and done % 100 == 0:
                progress(done, 0)


class _RayDataLanceReader(_LanceBulkReader):
    """The same Lance table read with Ray Data (``ray.data.read_lance``, ``density.backend: ray``).

    Ray tasks read the table's fragments (on any node that sees the store's path);
    batches reach this process in table order (``preserve_order``), so rows are
    numbered exactly as :class:`_LanceBulkReader` numbers them.
    """

    name = "ray"

    def __init__(self, db_path: str, address: str | None = None) -> None:
        super().__init__(db_path)
        self.address = address

    def _scan(self, table: Table, collection: str) -> Iterator[pa.RecordBatch]:
        from vectortrainer.cluster import connect

        ray = connect(self.address)
        dataset = ray.data.read_lance(str(Path(self.db_path) / f"{collection}.lance"),
                                      columns=["uuid", "vector", "payload"])
        dataset.context.execution_options.preserve_order = True
        dataset.context.enable_progress_bars = False  # the caller reports progress
        batches: Iterator[pa.RecordBatch] = dataset.iter_batches(
            batch_format="pyarrow", batch_size=STREAM_BATCH
        )
        return batches


def _bulk_reader_for(store: VectorStore) -> _BulkReader:
    backend = getattr(store, "backend_name", "")
    if backend == "lance":
        # LanceVectorStore keeps its directory privately; the factory configured it from the env.
        db_path = getattr(store, "_db_path", None) or os.environ.get("VECTORWAVE_LITE_PATH")
        if db_path:
            return _LanceBulkReader(str(Path(db_path)))
    if backend == "weaviate":
        client = getattr(store, "client", None) or getattr(store, "_client", None)
        if client is not None:
            return _WeaviateBulkReader(client)
    # every VectorWave store can fetch a record with its vector; Lite's reader never gets here
    return _PerRecordReader(cast(_RecordStore, store))

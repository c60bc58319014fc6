"""The run directory: the one truth a pipeline run leaves on disk, shared by every face.

A run lives in ``<output_dir>/runs/<run_id>/``:

- ``run.json``      config snapshot (redacted), stage states with timings, file and
                    job ids; rewritten atomically (temp file + fsync + rename),
- ``events.jsonl``  append-only event log (stage start/progress/complete, logs, metrics),
- ``golden.jsonl``, ``rules.json``, ``estimate.json``, ``summary.json``: stage outputs.

Other processes (the TUI, the Streamlit companion) follow a live run with
:class:`EventReader`, which reads ``events.jsonl`` from a byte offset and never
returns a half-written line. Nothing secret is ever written here: every record
passes through :func:`redact_secrets` first.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets as _random
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from vectortrainer.atomicio import atomic_write_text
from vectortrainer.errors import DataFormatError, VectorTrainerError

RUN_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
GOLDEN_FILE = "golden.jsonl"
GOLDEN_PICKS_FILE = "golden_picks.json"  # which logs the extract stage picked (absent for an adopted file)
RULES_FILE = "rules.json"
ESTIMATE_FILE = "estimate.json"
SUMMARY_FILE = "summary.json"
LOCK_FILE = ".lock"

STAGES: tuple[str, ...] = ("extract", "synthesize", "estimate", "confirm", "upload", "train", "monitor", "summary")

# Stage states. "complete" and "skipped" stages are not run again on resume.
PENDING, RUNNING, COMPLETE, SKIPPED, FAILED = "pending", "running", "complete", "skipped", "failed"
DONE_STATES = frozenset({COMPLETE, SKIPPED})

_RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SECRET_KEY_PATTERN = re.compile(r"(api[_-]?key|secret|token|password|passwd|authorization|bearer)", re.IGNORECASE)
# Keys that hold counts or names *about* tokens, not credentials.
_NOT_SECRET_KEYS = frozenset({"api_key_env", "tokens", "trained_tokens", "n_tokens", "total_tokens",
                              "train_tokens", "billed_tokens", "max_tokens", "tokens_per_example"})
# Values shaped like credentials: OpenAI keys, bearer headers, GitHub/HF tokens.
_SECRET_VALUE_PATTERN = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]{8,}|gh[pousr]_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{16,})"
)
REDACTED = "***"


class RunDirectoryError(DataFormatError):
    """A run directory is missing or damaged; the message names the file and what is wrong."""


class UnknownRunError(RunDirectoryError):
    """No run with that id (or not a valid id): a usage error."""

    exit_code = 2


class RunInUseError(VectorTrainerError):
    """Another process holds the run (resuming it twice at once could pay for two jobs)."""


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: ``20261125-154137-3fa9c1``."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{_random.token_hex(3)}"


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID_PATTERN.match(run_id or ""):
        raise UnknownRunError(
            f"{run_id!r}: not a valid run id (letters, digits, '.', '_' and '-'; see `vectortrainer runs`)"
        )
    return run_id


def redact_secrets(value: Any) -> Any:
    """A copy of ``value`` with credential-looking keys and values replaced by ``***``."""
    if isinstance(value, dict):
        clean: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if name not in _NOT_SECRET_KEYS and _SECRET_KEY_PATTERN.search(name) and item not in (None, "", {}, []):
                if isinstance(item, (str, bytes)):
                    clean[name] = REDACTED
                    continue
            clean[name] = redact_secrets(item)
        return clean
    if isinstance(value, (list, tuple)):
        return [redact_secrets(item) for item in value]
    if isinstance(value, str):
        return _SECRET_VALUE_PATTERN.sub(REDACTED, value)
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text of ``value`` with secrets redacted (paths, dataclasses, numpy handled)."""
    return json.dumps(redact_secrets(json.loads(json.dumps(value, default=_json_default))),
                      indent=indent, ensure_ascii=False, sort_keys=indent is not None)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old or the new file, never half of one."""
    atomic_write_text(path, text)


def write_json_atomic(path: Path, data: Any) -> None:
    write_atomic(path, to_json(data, indent=2) + "\n")


def read_json_file(path: Path, *, expect: type = dict) -> Any:
    """Read a JSON file of a run; a damaged one raises :class:`RunDirectoryError` naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunDirectoryError(f"{path}: file is missing") from None
    except OSError as exc:
        raise RunDirectoryError(f"{path}: cannot be read: {exc.strerror}") from None
    if not text.strip():
        raise RunDirectoryError(f"{path}: file is empty (the run was interrupted while writing it?)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunDirectoryError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, expect):
        raise RunDirectoryError(f"{path}: expected a JSON {expect.__name__}, found {type(data).__name__}")
    return data


@dataclass
class StageState:
    """One stage of a run: its state, timings, and what it produced (``detail``)."""

    status: str = PENDING
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status in DONE_STATES


@dataclass
class RunState:
    """What ``run.json`` holds."""

    run_id: str
    created_at: float
    updated_at: float
    status: str = "running"
    function: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, StageState] = field(default_factory=lambda: {name: StageState() for name in STAGES})
    train_file_id: str | None = None
    validation_file_id: str | None = None
    job_id: str | None = None
    last_event_id: str | None = None
    fine_tuned_model: str | None = None
    error: str | None = None
    resume_count: int = 0

    def stage(self, name: str) -> StageState:
        return self.stages.setdefault(name, StageState())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = 1
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: Path) -> "RunState":
        missing = [key for key in ("run_id", "created_at", "stages") if key not in data]
        if missing:
            raise RunDirectoryError(f"{source}: missing key(s) {', '.join(missing)} (not a run.json?)")
        if not isinstance(data["stages"], dict):
            raise RunDirectoryError(f"{source}: 'stages' must be a mapping of stage name to state")
        stages: dict[str, StageState] = {name: StageState() for name in STAGES}
        known = set(StageState.__dataclass_fields__)
        for name, raw in data["stages"].items():
            if not isinstance(raw, dict):
                raise RunDirectoryError(f"{source}: stages.{name}: expected a mapping, found {type(raw).__name__}")
            unknown = set(raw) - known
            if unknown:
                raise RunDirectoryError(f"{source}: stages.{name}: unknown key(s) {', '.join(sorted(unknown))}")
            stages[name] = StageState(**raw)
        fields = set(cls.__dataclass_fields__) - {"stages"}
        values = {key: value for key, value in data.items() if key in fields}
        try:
            return cls(stages=stages, **values)
        except TypeError as exc:
            raise RunDirectoryError(f"{source}: {exc}") from None


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


class RunDirectory:
    """One run on disk; create it with :meth:`create`, open an existing one with :meth:`open`."""

    def __init__(self, path: Path, state: RunState) -> None:
        self.path = path
        self.state = state
        self.events = EventLog(path / EVENTS_FILE)
        self._save_lock = threading.Lock()

    @property
    def run_id(self) -> str:
        return self.state.run_id

    @property
    def golden_path(self) -> Path:
        return self.path / GOLDEN_FILE

    @property
    def rules_path(self) -> Path:
        return self.path / RULES_FILE

    @property
    def estimate_path(self) -> Path:
        return self.path / ESTIMATE_FILE

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY_FILE

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE

    @classmethod
    def create(cls, output_dir: str | os.PathLike[str], config_snapshot: dict[str, Any], *,
               run_id: str | None = None, function: str | None = None) -> "RunDirectory":
        run_id = validate_run_id(run_id or new_run_id())
        path = runs_root(output_dir) / run_id
        if (path / RUN_FILE).exists():
            raise RunDirectoryError(f"{path}: a run with id {run_id} already exists (resume it with --resume {run_id})")
        path.mkdir(parents=True, exist_ok=True)
        now = time.time()
        state = RunState(run_id=run_id, created_at=now, updated_at=now, function=function,
                         config=redact_secrets(config_snapshot))
        run = cls(path, state)
        run.save()
        return run

    @classmethod
    def open(cls, output_dir: str | os.PathLike[str], run_id: str) -> "RunDirectory":
        path = runs_root(output_dir) / validate_run_id(run_id)
        if not path.is_dir():
            known = [info.run_id for info in list_runs(output_dir)[:5]]
            hint = f" (recent runs: {', '.join(known)})" if known else " (no runs there yet)"
            raise UnknownRunError(f"{path}: no such run{hint}")
        return cls.open_path(path)

    @classmethod
    def open_path(cls, path: str | os.PathLike[str]) -> "RunDirectory":
        path = Path(path)
        state = RunState.from_dict(read_json_file(path / RUN_FILE), path / RUN_FILE)
        if state.run_id != path.name:
            raise RunDirectoryError(f"{path / RUN_FILE}: run_id {state.run_id!r} does not match its directory {path.name!r}")
        return cls(path, state)

    def save(self) -> None:
        with self._save_lock:
            self.state.updated_at = time.time()
            write_json_atomic(self.path / RUN_FILE, self.state.to_dict())

    def write_json(self, name: str, data: Any) -> Path:
        target = self.path / name
        write_json_atomic(target, data)
        return target

    def read_json(self, name: str) -> Any:
        return read_json_file(self.path / name)

    def is_active(self) -> bool:
        """Whether a process (this one included) is running the run right now."""
        import filelock

        probe = filelock.FileLock(str(self.path / LOCK_FILE), timeout=0)
        try:
            probe.acquire()
        except filelock.Timeout:
            return True
        probe.release()
        return False

    def lock(self) -> Any:
        """An exclusive, non-blocking lock on the run (``with run.lock(): ...``)."""
        import filelock

        lock = filelock.FileLock(str(self.path / LOCK_FILE), timeout=0)

        @contextlib.contextmanager
        def held() -> Iterator[None]:
            try:
                lock.acquire()
            except filelock.Timeout:
                raise RunInUseError(
                    f"run {self.run_id} is in use by another process ({self.path / LOCK_FILE}); wait for it to finish"
                ) from None
            try:
                yield
            finally:
                lock.release()

        return held()


@dataclass(frozen=True)
class RunInfo:
    """A line of the run list; ``error`` is set (and the rest mostly empty) for a damaged run."""

    run_id: str
    path: Path
    status: str = "unknown"
    function: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    job_id: str | None = None
    fine_tuned_model: str | None = None
    error: str | None = None


def runs_root(output_dir: str | os.PathLike[str]) -> Path:
    return Path(output_dir).expanduser() / "runs"


def list_runs(output_dir: str | os.PathLike[str]) -> list[RunInfo]:
    """Every run under ``output_dir``, newest first; damaged runs are listed with their error."""
    root = runs_root(output_dir)
    if not root.is_dir():
        return []
    infos: list[RunInfo] = []
    for path in root.iterdir():
        if not path.is_dir() or path.name.startswith("."):
            continue
        try:
            run = RunDirectory.open_path(path)
        except RunDirectoryError as exc:
            infos.append(RunInfo(run_id=path.name, path=path, status="damaged", error=str(exc)))
            continue
        state = run.state
        if state.status == "running" and not run.is_active():
            # Its process died without a word (kill -9, power loss): resumable like any stop.
            state.status = "interrupted"
        infos.append(RunInfo(run_id=state.run_id, path=path, status=state.status, function=state.function,
                             created_at=state.created_at, updated_at=state.updated_at, job_id=state.job_id,
                             fine_tuned_model=state.fine_tuned_model))
    infos.sort(key=lambda info: (info.created_at or 0.0, info.run_id), reverse=True)
    return infos


def load_run(output_dir: str | os.PathLike[str], run_id: str) -> RunDirectory:
    """Open a run for reading; a damaged one raises :class:`RunDirectoryError` naming the file."""
    return RunDirectory.open(output_dir, run_id)

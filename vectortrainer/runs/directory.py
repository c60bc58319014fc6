"""The run directory: the one truth a pipeline run leaves on disk, shared by every face.

A run lives in ``<output_dir>/runs/<run_id>/``:

- ``run.json``      config snapshot (redacted), the function, where its golden data came
                    from (``provenance``: function, SHA-256, origin), stage states with
                    timings, file and job ids; rewritten atomically (temp file + fsync + rename),
- ``events.jsonl``  append-only event log (stage start/progress/complete, logs, metrics),
- ``events.jsonl.count``  how many events it holds (and its size then), for the run list,
- ``golden.jsonl``, ``rules.json``, ``estimate.json``, ``holdout.jsonl``, ``gate.json``,
  ``summary.json``: stage outputs.

Other processes (the TUI, the Streamlit companion) follow a live run through
:mod:`vectortrainer.runs.events`. Nothing secret is ever written here: every record
passes through :func:`~vectortrainer.redaction.redact_secrets` first.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets as _random
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import filelock

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from vectortrainer.errors import RunDirectoryError, RunInUseError, UnknownRunError
from vectortrainer.files import atomic_write_text, read_json
from vectortrainer.json_types import JSONObject, JSONValue
from vectortrainer.redaction import redact_secrets, to_json
from vectortrainer.runs.events import EventLog, event_count
from vectortrainer.runs.status import STAGES, RunStatus, StageStatus

RUN_FILE = "run.json"
EVENTS_FILE = "events.jsonl"
GOLDEN_FILE = "golden.jsonl"
# which logs the extract stage picked (absent for an adopted file)
GOLDEN_PICKS_FILE = "golden_picks.json"
RULES_FILE = "rules.json"
ESTIMATE_FILE = "estimate.json"
SUMMARY_FILE = "summary.json"
# the evaluation gate's figures and decision (absent when no model was evaluated)
GATE_FILE = "gate.json"
LOCK_FILE = ".lock"
# The stages a run whose job failed or was cancelled goes through again (``RunState.new_job``).
RETRY_STAGES = ("confirm", "train", "monitor", "evaluate", "summary")

_RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id: ``20261125-154137-3fa9c1``."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{_random.token_hex(3)}"


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID_PATTERN.match(run_id or ""):
        raise UnknownRunError(
            f"{run_id!r}: not a valid run id (letters, digits, "
            "'.', '_' and '-'; see `vectortrainer runs`)"
        )
    return run_id


def write_json_atomic(path: Path, data: object) -> None:
    """``data`` as indented JSON (secrets redacted), written atomically."""
    atomic_write_text(path, to_json(data, indent=2) + "\n")


def read_json_file(path: Path, *, expect: type = dict) -> JSONValue:
    """Read a JSON file of a run; a damaged one raises :class:`RunDirectoryError` naming it."""
    return read_json(path, expect=expect, error=RunDirectoryError)


@dataclass
class StageState:
    """One stage of a run: its state, timings, and what it produced (``detail``)."""

    status: StageStatus = StageStatus.PENDING
    started_at: float | None = None
    finished_at: float | None = None
    duration_s: float | None = None
    error: str | None = None
    detail: JSONObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = StageStatus(self.status)

    @property
    def done(self) -> bool:
        return self.status.done

    def begin(self) -> None:
        """The stage starts (again): running, timed from now, no error."""
        self.status, self.started_at, self.finished_at, self.error = (
            StageStatus.RUNNING, time.time(), None, None
        )

    def end(self, status: StageStatus, *, error: str | None = None) -> None:
        """The stage ends with ``status`` (and ``error``); its duration is recorded."""
        self.status, self.error, self.finished_at = status, error, time.time()
        self.duration_s = round(self.finished_at - (self.started_at or self.finished_at), 3)


@dataclass
class RunState:
    """What ``run.json`` holds."""

    run_id: str
    created_at: float
    updated_at: float
    status: RunStatus = RunStatus.RUNNING
    function: str | None = None
    config: JSONObject = field(default_factory=dict)
    stages: dict[str, StageState] = field(
        default_factory=lambda: {name: StageState() for name in STAGES}
    )
    train_file_id: str | None = None
    validation_file_id: str | None = None
    job_id: str | None = None
    last_event_id: str | None = None
    fine_tuned_model: str | None = None
    error: str | None = None
    resume_count: int = 0
    # Where the golden data came from: {"function", "sha256", "origin" ("extract" | "export" |
    # "file"), "source" (in words), "path"}; None until the extract stage ran or a file was adopted.
    provenance: JSONObject | None = None
    # the evaluation gate's deployment while the run owns it (created, not yet torn down or
    # handed to the registry): a resumed run finds it here instead of paying for a second one
    deployment: JSONObject | None = None

    def __post_init__(self) -> None:
        self.status = RunStatus(self.status)

    def stage(self, name: str) -> StageState:
        return self.stages.setdefault(name, StageState())

    def new_job(self) -> None:
        """Forget a job that failed or was cancelled: one new job, its cost confirmed again; the
        golden data, rules and uploaded file stay."""
        for name in RETRY_STAGES:
            self.stages[name] = StageState()
        self.job_id = self.last_event_id = self.fine_tuned_model = None

    def to_dict(self) -> JSONObject:
        data = asdict(self)
        data["format"] = 1
        return data

    @classmethod
    def from_dict(cls, data: JSONObject, source: Path) -> "RunState":
        missing = [key for key in ("run_id", "created_at", "stages") if key not in data]
        if missing:
            raise RunDirectoryError(
                f"{source}: missing key(s) {', '.join(missing)} (not a run.json?)"
            )
        if not isinstance(data["stages"], dict):
            raise RunDirectoryError(f"{source}: 'stages' must be a mapping of stage name to state")
        stages: dict[str, StageState] = {name: StageState() for name in STAGES}
        known = set(StageState.__dataclass_fields__)
        for name, raw in data["stages"].items():
            if not isinstance(raw, dict):
                raise RunDirectoryError(
                    f"{source}: stages.{name}: expected a mapping, found {type(raw).__name__}"
                )
            unknown = set(raw) - known
            if unknown:
                raise RunDirectoryError(
                    f"{source}: stages.{name}: unknown key(s) {', '.join(sorted(unknown))}"
                )
            try:
                stages[name] = StageState(**raw)
            except ValueError:
                raise RunDirectoryError(
                    f"{source}: stages.{name}: unknown status {raw.get('status')!r}"
                ) from None
        fields = set(cls.__dataclass_fields__) - {"stages"}
        values = {key: value for key, value in data.items() if key in fields}
        try:
            return cls(stages=stages, **values)
        except TypeError as exc:
            raise RunDirectoryError(f"{source}: {exc}") from None
        except ValueError:
            raise RunDirectoryError(
                f"{source}: unknown run status {data.get('status')!r}"
            ) from None


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
    def create(cls, output_dir: str | os.PathLike[str], config_snapshot: JSONObject, *,
               run_id: str | None = None, function: str | None = None) -> "RunDirectory":
        run_id = validate_run_id(run_id or new_run_id())
        path = runs_root(output_dir) / run_id
        if (path / RUN_FILE).exists():
            raise RunDirectoryError(
                f"{path}: a run with id {run_id} already exists (resume it with --resume {run_id})"
            )
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
            raise RunDirectoryError(
                f"{path / RUN_FILE}: run_id {state.run_id!r} "
                f"does not match its directory {path.name!r}"
            )
        return cls(path, state)

    def save(self) -> None:
        with self._save_lock:
            self.state.updated_at = time.time()
            write_json_atomic(self.path / RUN_FILE, self.state.to_dict())

    def write_json(self, name: str, data: object) -> Path:
        target = self.path / name
        write_json_atomic(target, data)
        return target

    def read_json(self, name: str) -> JSONValue:
        return read_json_file(self.path / name)

    def is_active(self) -> bool:
        """Whether a process (this one included) is running the run right now.

        Read-only: a holder has ``.lock`` open, so no file means no holder; an existing
        one is probed with a non-blocking ``flock`` (the lock filelock takes) without
        creating or truncating it.
        """
        lock_path = self.path / LOCK_FILE
        if not lock_path.exists():
            return False
        if fcntl is None:  # pragma: no cover - Windows: filelock's own probe
            probe = filelock.FileLock(str(lock_path), timeout=0)
            try:
                probe.acquire()
            except filelock.Timeout:
                return True
            probe.release()
            return False
        try:
            fd = os.open(
                lock_path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
            )
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """An exclusive, non-blocking lock on the run (``with run.lock(): ...``)."""
        lock = filelock.FileLock(str(self.path / LOCK_FILE), timeout=0)

        @contextlib.contextmanager
        def held() -> Iterator[None]:
            try:
                lock.acquire()
            except filelock.Timeout:
                raise RunInUseError(
                    f"run {self.run_id} is in use by another process "
                    f"({self.path / LOCK_FILE}); wait for it to finish"
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
    status: RunStatus
    function: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    job_id: str | None = None
    fine_tuned_model: str | None = None
    error: str | None = None
    events: int = 0  # lines in events.jsonl, from its count sidecar (never by reading the events)
    problem: str | None = None  # why a stopped run stopped (run.json "error"), e.g. no API key

    @property
    def resumable(self) -> bool:
        """Whether ``--resume`` can take this run further (never one live in another process)."""
        return self.status.resumable


def runs_root(output_dir: str | os.PathLike[str]) -> Path:
    """Where the runs of an output directory live."""
    return Path(output_dir).expanduser() / "runs"


def list_runs(output_dir: str | os.PathLike[str]) -> list[RunInfo]:
    """Every run under ``output_dir``, newest first; damaged runs are listed with their error.

    Cheap and read-only: each run's ``run.json`` and its event count (a sidecar of
    ``events.jsonl``), never the events themselves; nothing is created or appended.
    """
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
            infos.append(
                RunInfo(run_id=path.name, path=path, status=RunStatus.DAMAGED, error=str(exc))
            )
            continue
        state = run.state
        if state.status == RunStatus.RUNNING and not run.is_active():
            # Its process died without a word (kill -9, power loss): resumable like any stop.
            state.status = RunStatus.INTERRUPTED
        infos.append(
            RunInfo(
                run_id=state.run_id,
                path=path,
                status=state.status,
                function=state.function,
                created_at=state.created_at,
                updated_at=state.updated_at,
                job_id=state.job_id,
                fine_tuned_model=state.fine_tuned_model,
                events=event_count(path / EVENTS_FILE),
                problem=state.error,
            )
        )
    infos.sort(key=lambda info: (info.created_at or 0.0, info.run_id), reverse=True)
    return infos

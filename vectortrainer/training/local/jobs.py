"""A local training job on disk: its state (``job.json``) and its events (``events.jsonl``).

A job lives in ``<output_dir>/runs/<run_id>/local/<job_id>/``. While its thread
runs, this process holds it as a :class:`LocalJob`; afterwards (or from another
process) it is read back from its files. A job left unfinished by a process that
ended reads as failed: local training costs nothing but time, so it is simply
started again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vectortrainer.errors import LocalTrainingError
from vectortrainer.files import iter_jsonl_records
from vectortrainer.json_types import JSONObject
from vectortrainer.runs.directory import read_json_file, runs_root, write_json_atomic
from vectortrainer.training.base import TrainingEvent, TrainingStatus

LOCAL_DIR = "local"
JOB_FILE = "job.json"
EVENTS_FILE = "events.jsonl"


@dataclass
class LocalJob:
    """A job started in this process: its state, thread, cancel flag and events (kept on disk as
    they come)."""

    job_id: str
    run_id: str
    directory: Path
    state: dict[str, Any]
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    events: list[TrainingEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None

    def emit(self, event: TrainingEvent) -> None:
        """Number ``event``, keep it, and append it to ``events.jsonl``."""
        with self.lock:
            event.id = f"ev-{len(self.events) + 1:06d}"
            event.created_at = event.created_at or time.time()
            self.events.append(event)
            with (self.directory / EVENTS_FILE).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(event)) + "\n")

    def save_state(self) -> None:
        write_json_atomic(self.directory / JOB_FILE, self.state)

    def set_status(self, status: TrainingStatus) -> None:
        self.state["status"] = status.value
        self.save_state()
        self.emit(TrainingEvent(kind="status", message=f"job {self.job_id} {status.value}"))

    def finish(self, status: TrainingStatus, message: str) -> None:
        self.state["finished_at"] = time.time()
        self.emit(TrainingEvent(kind="log", message=message))
        self.set_status(status)


def job_directory(output_dir: str | os.PathLike[str], run_id: str, job_id: str) -> Path:
    """Where a new job of ``run_id`` keeps its files."""
    return runs_root(output_dir) / run_id / LOCAL_DIR / job_id


def find_job_directory(output_dir: str | os.PathLike[str], job_id: str) -> Path:
    """The directory of an existing job; :class:`LocalTrainingError` when there is none."""
    matches = list(runs_root(output_dir).glob(f"*/{LOCAL_DIR}/{job_id}"))
    if not matches:
        raise LocalTrainingError(f"local job {job_id} not found under {runs_root(output_dir)}")
    return matches[0]


def read_job_state(directory: Path) -> JSONObject:
    """A job's ``job.json``; a job whose process ended before it finished reads as failed."""
    state: JSONObject = read_json_file(directory / JOB_FILE)
    if not TrainingStatus(state["status"]).is_terminal:
        state = {
            **state,
            "status": TrainingStatus.FAILED.value,
            "error": "the process running this job ended before it finished; start the run again",
        }
    return state


def read_job_events(directory: Path) -> list[TrainingEvent]:
    """A job's events from ``events.jsonl`` (none when it has not written any)."""
    path = directory / EVENTS_FILE
    if not path.exists():
        return []
    known = set(TrainingEvent.__dataclass_fields__)
    return [TrainingEvent(**{k: v for k, v in record.items() if k in known})
            for record, _ in iter_jsonl_records(path, what="job event log")]


def succeeded_jobs(output_dir: str | os.PathLike[str], run_id: str) -> list[tuple[float, str]]:
    """``(created_at, job_id)`` of the jobs of ``run_id`` that succeeded, as recorded on disk."""
    found = []
    for job_file in (runs_root(output_dir) / run_id / LOCAL_DIR).glob(f"*/{JOB_FILE}"):
        state = read_json_file(job_file)
        if state.get("run_id") == run_id and state.get("status") == TrainingStatus.SUCCEEDED.value:
            found.append((state.get("created_at") or 0, state["job_id"]))
    return found


def event_sequence(event_id: str | None) -> int:
    """The number in an event id ``ev-000012`` (0 for none)."""
    if not event_id or not event_id.startswith("ev-"):
        return 0
    try:
        return int(event_id[3:])
    except ValueError:
        return 0

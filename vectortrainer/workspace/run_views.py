"""A run as every face shows it: what could be read of it, its stage rows, log lines and learning
curve.

Everything here is read so that a damaged run still shows what can be read
(:func:`open_run_view` turns each unreadable file into a problem line), and so
that a run another process is writing can be followed (:class:`EventFeed`).
The Streamlit page and the TUI lay these out; neither reads a run file itself.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.display import format_duration, utc_clock
from vectortrainer.errors import DataFormatError, RunDirectoryError
from vectortrainer.files import count_lines
from vectortrainer.golden.picks import read_golden_picks
from vectortrainer.json_types import JSONObject
from vectortrainer.runs.directory import (
    EVENTS_FILE,
    GOLDEN_FILE,
    GOLDEN_PICKS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    RunDirectory,
    RunInfo,
    RunState,
    read_json_file,
    runs_root,
    validate_run_id,
)
from vectortrainer.runs.events import EventReader
from vectortrainer.runs.metrics import losses
from vectortrainer.runs.status import STAGES, RunStatus, StageStatus
from vectortrainer.runs.summary import RunSummary
from vectortrainer.settings import SelectionSettings
from vectortrainer.workspace.vector_map import PICKS_RECORDED, VectorMap


def run_label(info: RunInfo) -> str:
    """One line naming a run in a picker: id, status, function."""
    parts = [info.run_id, str(info.status)]
    if info.function:
        parts.append(info.function)
    return " · ".join(parts)


@dataclass
class RunView:
    """What could be read of one run; ``problems`` says what could not (a damaged run still shows
    the rest)."""

    run_id: str
    path: Path
    state: RunState | None
    summary: RunSummary | None = None
    golden_examples: int | None = None
    # golden_picks.json; None when the run has none
    golden_picks: list[JSONObject] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> RunStatus:
        return self.state.status if self.state else RunStatus.DAMAGED

    @property
    def live(self) -> bool:
        """Whether the run says it is still going (its events may grow)."""
        return self.state is not None and self.state.status == RunStatus.RUNNING

    @property
    def function(self) -> str | None:
        return self.state.function if self.state else None

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE


def open_run_view(output_dir: str | os.PathLike[str], run_id: str) -> RunView:
    """Read a run for display; every unreadable file becomes a problem line instead of an error."""
    # Only a plain name: a run id never reaches outside the runs directory.
    path = runs_root(output_dir) / Path(run_id).name
    view = RunView(run_id=run_id, path=path, state=None)
    try:
        validate_run_id(run_id)
    except RunDirectoryError as exc:
        view.problems.append(f"{path}: {exc}")
        return view
    if not path.is_dir():
        view.problems.append(f"{path}: no such run directory")
        return view
    try:
        view.state = RunDirectory.open_path(path).state
    except RunDirectoryError as exc:
        view.problems.append(str(exc))
    if (path / SUMMARY_FILE).exists():
        try:
            view.summary = RunSummary.from_dict(read_json_file(path / SUMMARY_FILE))
        except RunDirectoryError as exc:
            view.problems.append(str(exc))
    if (path / GOLDEN_FILE).exists():
        view.golden_examples = count_lines(path / GOLDEN_FILE)
    if (path / GOLDEN_PICKS_FILE).exists():
        try:
            view.golden_picks = read_golden_picks(path / GOLDEN_PICKS_FILE)
        except DataFormatError as exc:
            view.problems.append(f"{exc}; the vector map re-computes the picks instead")
    if not (path / EVENTS_FILE).exists() and not (path / RUN_FILE).exists():
        view.problems.append(
            f"{path}: neither {RUN_FILE} nor {EVENTS_FILE} is there (not a run directory?)"
        )
    return view


class EventFeed:
    """The events of a run, read incrementally by byte offset (another process may be appending)."""

    def __init__(self, events_path: str | os.PathLike[str]) -> None:
        self.reader = EventReader(events_path)
        self.events: list[JSONObject] = []

    def refresh(self) -> int:
        """Read what was appended since the last call; returns how many new events arrived."""
        new = self.reader.read_new()
        self.events.extend(new)
        return len(new)

    @property
    def unreadable(self) -> list[JSONObject]:
        return [event for event in self.events if event.get("type") == "unreadable"]


def stage_rows(
    view: RunView, events: list[JSONObject], *, now: float | None = None
) -> list[JSONObject]:
    """One row per stage: state, start time, duration (elapsed while running), progress and note.

    ``run.json`` gives states and timings; where it could not be read, they are
    rebuilt from the events. The latest ``progress`` event of a running stage adds
    its progress text.
    """
    now = time.time() if now is None else now
    progress = latest_progress(events)
    rows = []
    states = _stage_states_from_events(events) if view.state is None else {}
    for name in _stage_names(view, events):
        if view.state is not None:
            stage = view.state.stage(name)
            status, started, finished, duration = (
                stage.status,
                stage.started_at,
                stage.finished_at,
                stage.duration_s,
            )
            note = stage.error or str(stage.detail.get("note") or "")
        else:
            status, started, finished, duration, note = states.get(
                name, (StageStatus.PENDING, None, None, None, "")
            )
        if status == StageStatus.RUNNING and started is not None and finished is None:
            duration = max(0.0, now - started)
        done, total, message = progress.get(name, (None, None, ""))
        progress_text = ""
        if status == StageStatus.RUNNING and done is not None:
            progress_text = f"{done:g}/{total:g}" if total else f"{done:g}"
            if message:
                progress_text = f"{progress_text} {message}"
        rows.append(
            {
                "stage": name,
                "state": status,
                "started": utc_clock(started),
                "duration": format_duration(duration),
                "progress": progress_text,
                "note": note,
            }
        )
    return rows


def _stage_names(view: RunView, events: list[JSONObject]) -> list[str]:
    names = list(STAGES)
    extra = (
        list(view.state.stages)
        if view.state
        else [e.get("stage") for e in events if e.get("stage")]
    )
    names += [name for name in dict.fromkeys(extra) if name and name not in names]
    return names


def _stage_states_from_events(events: list[JSONObject]) -> dict[str, tuple]:
    states: dict[str, tuple] = {}
    for event in events:
        name, kind, ts = event.get("stage"), event.get("type"), event.get("ts")
        if not name:
            continue
        if kind == "stage_start":
            states[name] = (
                StageStatus.RUNNING,
                ts,
                None,
                None,
                str(event.get("description") or ""),
            )
        elif kind == "stage_complete":
            started = states.get(name, (None, ts))[1]
            status = (
                StageStatus.SKIPPED
                if (event.get("result") or {}).get("skipped")
                else StageStatus.COMPLETE
            )
            note = str((event.get("result") or {}).get("note") or "")
            states[name] = (status, started, ts, event.get("duration_s"), note)
        elif kind == "stage_failed":
            started = states.get(name, (None, ts))[1]
            states[name] = (
                StageStatus.FAILED,
                started,
                ts,
                None if started is None else ts - started,
                str(event.get("error") or ""),
            )
    return states


def latest_progress(
    events: list[JSONObject],
) -> dict[str, tuple[float | None, float | None, str]]:
    """The last ``progress`` event of each stage: (completed, total, message)."""
    latest: dict[str, tuple[float | None, float | None, str]] = {}
    for event in events:
        if event.get("type") == "progress" and event.get("stage"):
            latest[event["stage"]] = (
                event.get("completed"),
                event.get("total"),
                str(event.get("message") or ""),
            )
    return latest


def log_lines(events: list[JSONObject], limit: int = 200) -> list[JSONObject]:
    """The last ``limit`` log lines (and unreadable-line notices) for a log view, oldest first."""
    lines = []
    for event in events:
        kind = event.get("type")
        if kind == "log":
            lines.append(
                {
                    "time": utc_clock(event.get("ts")),
                    "level": event.get("level", "info"),
                    "stage": event.get("stage") or "",
                    "message": str(event.get("message") or ""),
                }
            )
        elif kind == "stage_failed":
            lines.append(
                {
                    "time": utc_clock(event.get("ts")),
                    "level": "error",
                    "stage": event.get("stage") or "",
                    "message": f"stage failed: {event.get('error')}",
                }
            )
        elif kind == "unreadable":
            lines.append(
                {
                    "time": "",
                    "level": "warning",
                    "stage": "",
                    "message": (
                        f"events.jsonl line {event.get('line')} unreadable: {event.get('error')}"
                    ),
                }
            )
    return lines[-limit:]


def learning_curve(events: list[JSONObject]) -> list[JSONObject]:
    """Loss by step from ``metric`` events, long form: ``{"step", "metric", "value"}`` rows.

    A step reported twice (a resumed run replays the vendor's events) keeps its last value.
    """
    points: dict[tuple[str, int], float] = {}
    for event in events:
        if event.get("type") != "metric" or event.get("step") is None:
            continue
        for key, value in losses(event.get("metrics") or {}).items():
            points[(key, int(event["step"]))] = value
    return [
        {"step": step, "metric": key, "value": value}
        for (key, step), value in sorted(points.items(), key=lambda item: (item[0][0], item[0][1]))
    ]


def selection_settings(view: RunView | None, default: SelectionSettings) -> SelectionSettings:
    """The selection settings ``view``'s run used (from its config snapshot; each setting it lacks
    is ``default``'s), else ``default``'s."""
    snapshot = view.state.config if view and view.state else None
    section = snapshot.get("selection") if isinstance(snapshot, dict) else None
    return SelectionSettings.from_snapshot(
        section if isinstance(section, dict) else None, default
    )


def picks_note(vector_map: VectorMap, view: RunView | None) -> str:
    """One line saying where the map's golden picks come from (and which of them the store lost)."""
    if vector_map.picks_source == PICKS_RECORDED:
        text = "golden picks recorded by the run"
        lost = len(vector_map.missing_picks)
        if lost:
            text += (f"; {lost} of them no longer in the store (not drawn): "
                     + ", ".join(str(pick["uuid"]) for pick in vector_map.missing_picks[:5])
                     + (", …" if lost > 5 else ""))
        return text
    if view is None or view.state is None:
        return "golden picks selected with the config's settings on the store as it is now"
    source = view.state.stage("extract").detail.get("source")
    why = (
        f"the run trained on {Path(str(source)).name}, "
        if source
        else "the run recorded no picks, "
    )
    return (
        "golden picks re-computed with the run's settings "
        f"({why}so they may differ from what it trained on)"
    )

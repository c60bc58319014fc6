"""What the Streamlit companion shows, computed without Streamlit (FR-4.3, FR-7.5).

The web script (``vectortrainer/web/app.py``) only lays out what these functions
return, so everything here is tested as plain Python:

* runs: a run's state, summary and problems, read so that a damaged run still
  shows what can be read (:func:`open_run_view`), its stage table
  (:func:`stage_rows`) and its events followed by byte offset while another
  process writes them (:class:`EventFeed`);
* the learning curve from the run's ``metric`` events (:func:`learning_curve`);
* the vector map: the function's logs from the store, projected to 2-D, with the
  golden picks the run recorded (``golden_picks.json``), or, for a run without
  them, the picks its selection settings make on the store as it is now
  (:func:`build_vector_map`);
* hook versions with their checksum state, diff and rollback
  (:func:`hook_versions_view`, :func:`hook_diff`, :func:`rollback_hook`).

This module never imports streamlit (the engine boundary holds here too).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from vectortrainer.runs import (
    EVENTS_FILE,
    GOLDEN_FILE,
    GOLDEN_PICKS_FILE,
    RUN_FILE,
    RUNNING,
    STAGES,
    SUMMARY_FILE,
    EventReader,
    RunDirectory,
    RunDirectoryError,
    RunInfo,
    RunState,
    list_runs,
    read_json_file,
    runs_root,
    validate_run_id,
)
from vectortrainer.types import FunctionLogs

HOW_TO_START = (
    "No run yet in {output_dir}. Start one from a terminal:\n\n"
    "- headless: `vectortrainer --batch --function NAME --config config.yaml` "
    "(add `--max-budget USD --yes` to approve the cost up front)\n"
    "- interactive: `vectortrainer` opens the terminal app; its Training screen starts a run\n"
    "- no logs yet? `vectortrainer demo seed` fills a demo store first\n\n"
    "This page finds the run as soon as its directory appears under `runs/`."
)
MAX_MAP_POINTS = 4000
HOVER_CHARS = 240
LOSS_KEYS = ("train_loss", "valid_loss", "full_valid_loss", "loss")
NOT_PICKED = "not picked"
PICKS_RECORDED = "recorded"
PICKS_RECOMPUTED = "recomputed"


# ------------------------------------------------------------------------------ runs
def run_choices(output_dir: str | os.PathLike[str]) -> list[RunInfo]:
    """The runs under ``output_dir``, newest first (damaged ones included, with their error)."""
    return list_runs(output_dir)


def run_label(info: RunInfo) -> str:
    """One line naming a run in a picker: id, status, function."""
    parts = [info.run_id, info.status]
    if info.function:
        parts.append(info.function)
    return " · ".join(parts)


@dataclass
class RunView:
    """What could be read of one run; ``problems`` says what could not (a damaged run still shows the rest)."""

    run_id: str
    path: Path
    state: RunState | None
    summary: dict[str, Any] | None = None
    golden_examples: int | None = None
    golden_picks: list[dict[str, Any]] | None = None  # golden_picks.json; None when the run has none
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.state.status if self.state else "damaged"

    @property
    def live(self) -> bool:
        """Whether the run says it is still going (its events may grow)."""
        return self.state is not None and self.state.status == RUNNING

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
            view.summary = read_json_file(path / SUMMARY_FILE)
        except RunDirectoryError as exc:
            view.problems.append(str(exc))
    golden = path / GOLDEN_FILE
    if golden.exists():
        with golden.open("rb") as handle:
            view.golden_examples = sum(1 for line in handle if line.strip())
    if (path / GOLDEN_PICKS_FILE).exists():
        try:
            view.golden_picks = read_golden_picks(path / GOLDEN_PICKS_FILE)
        except RunDirectoryError as exc:
            view.problems.append(f"{exc}; the vector map re-computes the picks instead")
    if not (path / EVENTS_FILE).exists() and not (path / RUN_FILE).exists():
        view.problems.append(f"{path}: neither {RUN_FILE} nor {EVENTS_FILE} is there (not a run directory?)")
    return view


def read_golden_picks(path: Path) -> list[dict[str, Any]]:
    """The picks a run's extract stage recorded; a damaged file raises :class:`RunDirectoryError` naming it."""
    picks = read_json_file(path, expect=list)
    for index, pick in enumerate(picks):
        if not isinstance(pick, dict) or not isinstance(pick.get("uuid"), str) or not pick.get("strategy"):
            raise RunDirectoryError(f"{path}: entry {index} is not a pick with a uuid and a strategy")
    return picks


class EventFeed:
    """The events of a run, read incrementally by byte offset (another process may be appending)."""

    def __init__(self, events_path: str | os.PathLike[str]) -> None:
        self.reader = EventReader(events_path)
        self.events: list[dict[str, Any]] = []

    def refresh(self) -> int:
        """Read what was appended since the last call; returns how many new events arrived."""
        new = self.reader.read_new()
        self.events.extend(new)
        return len(new)

    @property
    def unreadable(self) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("type") == "unreadable"]


def _clock(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: float | None) -> str:
    """``0.4 s``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``; empty when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def stage_rows(view: RunView, events: list[dict[str, Any]], *, now: float | None = None) -> list[dict[str, Any]]:
    """One row per stage: state, start time, duration (elapsed while running), progress and note.

    ``run.json`` gives states and timings; where it could not be read, they are
    rebuilt from the events. The latest ``progress`` event of a running stage adds
    its progress text.
    """
    now = time.time() if now is None else now
    progress = latest_progress(events)
    rows = []
    states = _stage_states_from_events(events) if view.state is None else None
    for name in _stage_names(view, events):
        if view.state is not None:
            stage = view.state.stage(name)
            status, started, finished, duration = stage.status, stage.started_at, stage.finished_at, stage.duration_s
            note = stage.error or str(stage.detail.get("note") or "")
        else:
            status, started, finished, duration, note = states.get(name, ("pending", None, None, None, ""))
        if status == RUNNING and started is not None and finished is None:
            duration = max(0.0, now - started)
        done, total, message = progress.get(name, (None, None, ""))
        progress_text = ""
        if status == RUNNING and done is not None:
            progress_text = f"{done:g}/{total:g}" if total else f"{done:g}"
            if message:
                progress_text = f"{progress_text} {message}"
        rows.append({"stage": name, "state": status, "started": _clock(started),
                     "duration": format_duration(duration), "progress": progress_text, "note": note})
    return rows


def _stage_names(view: RunView, events: list[dict[str, Any]]) -> list[str]:
    names = list(STAGES)
    extra = list(view.state.stages) if view.state else [e.get("stage") for e in events if e.get("stage")]
    names += [name for name in dict.fromkeys(extra) if name and name not in names]
    return names


def _stage_states_from_events(events: list[dict[str, Any]]) -> dict[str, tuple]:
    states: dict[str, tuple] = {}
    for event in events:
        name, kind, ts = event.get("stage"), event.get("type"), event.get("ts")
        if not name:
            continue
        if kind == "stage_start":
            states[name] = (RUNNING, ts, None, None, str(event.get("description") or ""))
        elif kind == "stage_complete":
            started = states.get(name, (None, ts))[1]
            status = "skipped" if (event.get("result") or {}).get("skipped") else "complete"
            note = str((event.get("result") or {}).get("note") or "")
            states[name] = (status, started, ts, event.get("duration_s"), note)
        elif kind == "stage_failed":
            started = states.get(name, (None, ts))[1]
            states[name] = ("failed", started, ts, None if started is None else ts - started,
                            str(event.get("error") or ""))
    return states


def latest_progress(events: list[dict[str, Any]]) -> dict[str, tuple[float | None, float | None, str]]:
    """The last ``progress`` event of each stage: (completed, total, message)."""
    latest: dict[str, tuple[float | None, float | None, str]] = {}
    for event in events:
        if event.get("type") == "progress" and event.get("stage"):
            latest[event["stage"]] = (event.get("completed"), event.get("total"), str(event.get("message") or ""))
    return latest


def log_lines(events: list[dict[str, Any]], limit: int = 200) -> list[dict[str, Any]]:
    """The last ``limit`` log lines (and unreadable-line notices) for a log view, oldest first."""
    lines = []
    for event in events:
        kind = event.get("type")
        if kind == "log":
            lines.append({"time": _clock(event.get("ts")), "level": event.get("level", "info"),
                          "stage": event.get("stage") or "", "message": str(event.get("message") or "")})
        elif kind == "stage_failed":
            lines.append({"time": _clock(event.get("ts")), "level": "error", "stage": event.get("stage") or "",
                          "message": f"stage failed: {event.get('error')}"})
        elif kind == "unreadable":
            lines.append({"time": "", "level": "warning", "stage": "",
                          "message": f"events.jsonl line {event.get('line')} unreadable: {event.get('error')}"})
    return lines[-limit:]


def learning_curve(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Loss by step from ``metric`` events, long form: ``{"step", "metric", "value"}`` rows.

    A step reported twice (a resumed run replays the vendor's events) keeps its last value.
    """
    points: dict[tuple[str, int], float] = {}
    for event in events:
        if event.get("type") != "metric" or event.get("step") is None:
            continue
        metrics = event.get("metrics") or {}
        for key in LOSS_KEYS:
            value = metrics.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                points[(key, int(event["step"]))] = float(value)
    return [{"step": step, "metric": key, "value": value}
            for (key, step), value in sorted(points.items(), key=lambda item: (item[0][0], item[0][1]))]


def summary_figures(summary: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The headline numbers of ``summary.json`` (FR-4.4) as (label, value) pairs; evaluation when present."""
    if not summary:
        return []
    figures: list[tuple[str, str]] = []
    golden = summary.get("golden") or {}
    if golden.get("examples") is not None:
        per = golden.get("per_strategy") or {}
        detail = ", ".join(f"{count} {name}" for name, count in per.items())
        figures.append(("golden examples", f"{golden['examples']}" + (f" ({detail})" if detail else "")))
    rules = summary.get("rules") or {}
    if rules.get("count") is not None:
        figures.append(("rules", f"{rules['count']} ({rules.get('conflicts', 0)} conflicts)"))
    cost = summary.get("cost") or {}
    if cost.get("estimated_usd") is not None:
        budget = cost.get("budget_usd")
        figures.append(("estimated cost", f"${cost['estimated_usd']:.4f}"
                        + (f" of ${budget:.2f}" if budget is not None else "")))
    training = summary.get("training") or {}
    for label, key in (("training", "status"), ("fine-tuned model", "fine_tuned_model")):
        if training.get(key):
            figures.append((label, str(training[key])))
    if training.get("final_loss") is not None:
        figures.append(("final loss", f"{training['final_loss']:.4f}"))
    metrics = training.get("metrics") or {}
    if metrics.get("eval_similarity") is not None:
        text = f"{metrics['eval_similarity']:.3f}"
        if metrics.get("base_eval_similarity") is not None:
            text += f" (base model {metrics['base_eval_similarity']:.3f})"
        figures.append(("held-out edit similarity", text))
    if training.get("error"):
        figures.append(("training error", str(training["error"])))
    return figures


# ------------------------------------------------------------------------------ vectors
@dataclass(frozen=True)
class SelectionSettings:
    """The selection knobs a run used (from its config snapshot), so the map shows that run's picks."""

    epsilon: float
    top_k: int
    anomaly_share: float = 0.25


def selection_settings(view: RunView | None, default: Any) -> SelectionSettings:
    """The run's own selection settings when its snapshot has them, else ``default`` (a SelectionConfig)."""
    snapshot = ((view.state.config if view and view.state else {}) or {}).get("selection") or {}

    def pick(key: str, cast: type) -> Any:
        value = snapshot.get(key)
        try:
            return cast(value) if value is not None else cast(getattr(default, key))
        except (TypeError, ValueError):
            return cast(getattr(default, key))

    return SelectionSettings(pick("epsilon", float), pick("top_k", int), pick("anomaly_share", float))


def load_function_logs(store_path: str | os.PathLike[str], function: str) -> FunctionLogs:
    """Every log of ``function`` with its vector, from the Lite store."""
    from vectortrainer.source import LogSource

    return LogSource.open(store_path).read_function(function)


def store_signature(store_path: str | os.PathLike[str]) -> str:
    """Changes when the store's executions table changes (a cache key); empty when there is no store."""
    from vectortrainer.vectorwave_env import EXECUTION_COLLECTION, lance_directory

    table = lance_directory(store_path) / f"{EXECUTION_COLLECTION}.lance"
    try:
        newest = max((entry.stat().st_mtime_ns for entry in table.rglob("*")), default=table.stat().st_mtime_ns)
    except OSError:
        return ""
    return f"{table}:{newest}"


@dataclass
class VectorMap:
    """Everything the vector distribution page draws."""

    function: str
    points: list[dict[str, Any]]  # x, y, status, strategy, golden, rank, density, input, output, uuid
    total: int
    explained: tuple[float, float]
    density_bins: list[dict[str, Any]]
    distance_bins: list[dict[str, Any]]
    settings: SelectionSettings
    steady: int
    anomaly: int
    clusters: int
    skipped: dict[str, int]
    excluded: dict[str, int]
    picks_source: str = PICKS_RECOMPUTED  # PICKS_RECORDED: the run's golden_picks.json
    missing_picks: list[dict[str, Any]] = field(default_factory=list)  # recorded, log gone from the store

    @property
    def shown(self) -> int:
        return len(self.points)

    @property
    def one_neighbour_density(self) -> float:
        """The least density a log with one neighbour within epsilon can have: 1 - epsilon."""
        return 1.0 - self.settings.epsilon


def build_vector_map(logs: FunctionLogs, settings: SelectionSettings, *, max_points: int = MAX_MAP_POINTS,
                     bins: int = 30, recorded_picks: list[dict[str, Any]] | None = None) -> VectorMap:
    """Project every log to 2-D, mark the golden picks, and bin densities and distances.

    With ``recorded_picks`` (a run's ``golden_picks.json``) the marked picks are
    those, matched by log uuid; recorded picks whose log is no longer in ``logs``
    are listed in ``missing_picks``. Without them the picks are selected anew with
    ``settings`` on ``logs`` as they are now. Densities and histograms always
    describe ``logs`` with ``settings``.

    The PCA is fitted on the logs that take part in density (successful, with a
    vector): failed logs embed their error text, so they are projected but do not
    shape the axes. Above ``max_points`` logs the map keeps every golden pick plus
    evenly spaced other rows (deterministic).
    """
    from vectortrainer.projection import nearest_neighbour_distance, pca_2d
    from vectortrainer.selection import select_golden

    n = len(logs.records)
    source = PICKS_RECORDED if recorded_picks is not None else PICKS_RECOMPUTED
    if n == 0:
        return VectorMap(logs.function_name, [], logs.total, (0.0, 0.0), [], [], settings, 0, 0, 0,
                         dict(logs.skipped), {}, source, list(recorded_picks or []))
    selection = select_golden(logs.vectors, logs.statuses, epsilon=settings.epsilon, top_k=settings.top_k,
                              anomaly_share=settings.anomaly_share)
    projection = pca_2d(logs.vectors, selection.participating)
    strategy = np.full(n, NOT_PICKED, dtype=object)
    rank = np.full(n, -1, dtype=np.int64)
    missing: list[dict[str, Any]] = []
    if recorded_picks is None:
        marked = [(pick.row, pick.strategy, pick.rank) for pick in selection.picks]
        steady, anomaly = len(selection.steady), len(selection.anomaly)
    else:
        row_of = {record.uuid: row for row, record in enumerate(logs.records)}
        marked = []
        for pick in recorded_picks:
            if pick["uuid"] in row_of:
                marked.append((row_of[pick["uuid"]], str(pick["strategy"]), int(pick.get("rank") or 0)))
            else:
                missing.append(pick)
        steady = sum(1 for pick in recorded_picks if pick["strategy"] == "steady")
        anomaly = sum(1 for pick in recorded_picks if pick["strategy"] == "anomaly")
    for row, kind, place in marked:
        strategy[row] = kind
        rank[row] = place
    picked_rows = np.asarray([row for row, _, _ in marked], dtype=np.int64)
    shown = _rows_to_show(n, picked_rows, max_points)
    points = []
    for row in shown:
        record = logs.records[row]
        points.append({
            "x": float(projection.points[row, 0]), "y": float(projection.points[row, 1]),
            "status": record.status, "strategy": str(strategy[row]), "golden": bool(rank[row] >= 0),
            "rank": int(rank[row]) if rank[row] >= 0 else None, "density": float(selection.density[row]),
            "input": hover_text(record.inputs), "output": hover_text(record.output if record.succeeded
                                                                     else record.error_message),
            "uuid": record.uuid,
        })
    participating = np.flatnonzero(selection.participating)
    in_cluster = selection.clusters[participating] >= 0
    density = selection.density[participating]
    density_bins = histogram_rows(density, bins, groups=np.where(in_cluster, "dense cluster", "outside clusters"))
    distance = nearest_neighbour_distance(logs.vectors[participating])
    distance_bins = histogram_rows(distance[np.isfinite(distance)], bins)
    return VectorMap(
        function=logs.function_name, points=points, total=n, explained=projection.explained,
        density_bins=density_bins, distance_bins=distance_bins, settings=settings,
        steady=steady, anomaly=anomaly, clusters=len(selection.cluster_sizes),
        skipped=dict(logs.skipped), excluded=dict(selection.excluded), picks_source=source,
        missing_picks=missing,
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
    why = f"the run trained on {Path(str(source)).name}, " if source else "the run recorded no picks, "
    return f"golden picks re-computed with the run's settings ({why}so they may differ from what it trained on)"


def _rows_to_show(n: int, picked: np.ndarray, max_points: int) -> list[int]:
    if n <= max_points:
        return list(range(n))
    keep = set(int(r) for r in picked)
    room = max(0, max_points - len(keep))
    keep.update(int(r) for r in np.linspace(0, n - 1, num=room).round().astype(np.int64))
    return sorted(keep)


def hover_text(value: Any, limit: int = HOVER_CHARS) -> str:
    """A short one-line text of an input mapping or an output for a tooltip."""
    if value is None:
        return ""
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def histogram_rows(values: np.ndarray, bins: int, *, groups: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Histogram bins as rows ``{"start", "end", "count", "group"}`` over shared edges (stackable)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return []
    low, high = float(values.min()), float(values.max())
    if high <= low:
        high = low + 1e-9
    edges = np.linspace(low, high, bins + 1)
    if groups is None:
        groups = np.full(values.shape, "all", dtype=object)
    rows = []
    for group in dict.fromkeys(groups.tolist()):
        counts, _ = np.histogram(values[groups == group], bins=edges)
        rows += [{"start": float(edges[i]), "end": float(edges[i + 1]), "count": int(c), "group": str(group)}
                 for i, c in enumerate(counts)]
    return rows


# ------------------------------------------------------------------------------ hooks
@dataclass
class HookVersionsView:
    """The hook version store as the dashboard shows it."""

    hooks_dir: Path
    rows: list[dict[str, Any]]
    active: str | None
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None


def hook_versions_view(hooks_dir: str | os.PathLike[str]) -> HookVersionsView:
    """Versions oldest first with active flag and checksum state; never creates the store."""
    from vectortrainer.hooks import HookVersionError, HookVersionManager
    from vectortrainer.hooks.versions import VERSIONS_DIRNAME

    hooks_dir = Path(hooks_dir)
    if not (hooks_dir / VERSIONS_DIRNAME).is_dir():
        return HookVersionsView(hooks_dir, [], None, problem=(
            f"no hook versions in {hooks_dir} yet: `vectortrainer rules synthesize` (or a run's "
            f"rules stage followed by hook generation) saves the first one"))
    manager = HookVersionManager(hooks_dir)
    versions = manager.list_versions()
    rows = []
    for version in versions:
        try:
            manager.read_version(version.version_id)
            checksum = "ok"
        except HookVersionError as exc:
            checksum = "FAILED: " + str(exc).split(";")[0]
        rows.append({"version": version.version_id, "active": version.active, "timestamp": version.timestamp,
                     "rules": version.rules_count, "checksum": checksum, "sha256": version.sha256[:12],
                     "note": version.note})
    active = next((v.version_id for v in versions if v.active), None)
    return HookVersionsView(hooks_dir, rows, active, warnings=list(manager.warnings))


def hook_diff(hooks_dir: str | os.PathLike[str], a: str, b: str) -> str:
    """Unified diff of two versions (checksums verified by the version manager)."""
    from vectortrainer.hooks import HookVersionManager

    return HookVersionManager(hooks_dir).diff(a, b)


def rollback_hook(hooks_dir: str | os.PathLike[str], version_id: str) -> Any:
    """Make ``version_id`` the active hook (FR-7.3); returns the restored ``HookVersion``."""
    from vectortrainer.hooks import HookVersionManager

    return HookVersionManager(hooks_dir).rollback(version_id)

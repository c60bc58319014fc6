"""The continuous mode (VT-13): a training cycle whenever enough new logs or feedback arrived.

A cycle looks at the function's successful logs in the store and its feedback
pairs; when at least ``loop.min_new_logs`` logs or ``loop.min_new_feedback`` pairs
arrived since the last cycle (and fewer than ``loop.max_cycles_per_day`` cycles ran
in the last 24 hours) it runs one ordinary pipeline run, gates included. A cycle
whose run was interrupted (the process died) is resumed by the next cycle instead
of starting another. ``<output_dir>/loop/<function>.json`` (the function's
file name: :func:`~vectortrainer.registry.layout.function_dirname`) keeps the counts and the
cycles; ``<output_dir>/loop/.lock`` makes sure two schedulers never train at once.
A cycle that finds nothing to do says so and changes nothing; neither does a cycle whose run
is refused before it begins (a provider, model or key that cannot work, checked before any
work): the error is raised, and what was new stays new for the next cycle. Replayed calls
(``exec_source: "REPLAY"``) are not new logs. A cycle resumes only its own function's runs.

Each cycle also looks at the function's canary, if one runs (issue 26,
:mod:`vectortrainer.canary.watch`): it promotes the candidate fully or rolls it back once the
figures say so, and keeps the last look and every decision in the loop state (``canary``,
``canary_decisions``), which :func:`loop_view` shows. While a canary runs, no new run starts: a
new model would replace the candidate before its figures are in.

The loop records its intent before it acts (issue 29): a cycle is written as ``starting``,
with the counts it took and the ones before them, before its run is created. A process that
dies between the two leaves that record, and the next cycle redoes the run under the same id
instead of finding "nothing to do" (the logs and pairs it took would never be trained
otherwise). The daily limit survives clock jumps: a cycle recorded later than the clock now
reads (the clock was set back) counts as started at the moment that was first seen, and is
kept so; so the limit never blocks for longer than a day of the clock as it now runs, and
never lets more than ``loop.max_cycles_per_day`` cycles start within one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import filelock

from vectortrainer.canary.watch import CanaryCheck, watch_canary
from vectortrainer.config import Config, duration_problem, parse_duration
from vectortrainer.errors import (
    ConfigError,
    DataFormatError,
    LoopInUseError,
    StoreError,
    VectorTrainerError,
)
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.files import atomic_write_text, read_json
from vectortrainer.pipeline import RunOutcome, TrainingPipeline
from vectortrainer.redaction import to_json
from vectortrainer.registry.layout import function_filename
from vectortrainer.rules.learning import pairs_for_function
from vectortrainer.runs.directory import RUN_FILE, list_runs, new_run_id, runs_root
from vectortrainer.runs.status import RunStatus
from vectortrainer.store.opening import open_log_source
from vectortrainer.store.source import LogReader

LOOP_DIRNAME = "loop"
DAY_S = 24 * 3600
PipelineFactory = Callable[[Config], TrainingPipeline]
# A cycle's status while its run may not exist yet: the intent the next cycle redoes after a crash.
STARTING = "starting"


@dataclass
class LoopState:
    """What the loop remembers of one function between cycles."""

    function: str
    logs_seen: int = 0  # successful logs when the last cycle started
    feedback_seen: int = 0
    # {"started_at", "run_id", "status", "message"}
    cycles: list[dict[str, Any]] = field(default_factory=list)
    last_check_at: float | None = None
    # the last look at the function's canary (a CanaryCheck as a dict; None: none ran), and every
    # canary the loop decided, with its figures (issue 26)
    canary: dict[str, Any] | None = None
    canary_decisions: list[dict[str, Any]] = field(default_factory=list)

    def cycles_since(self, moment: float) -> int:
        """Cycles started at ``moment`` or later (one recorded in the future counts: see
        :meth:`settle_clock`)."""
        return sum(1 for c in self.cycles if _started_at(c) >= moment)

    def settle_clock(self, now: float) -> bool:
        """Take every cycle recorded after ``now`` (the clock was set back) as started ``now``, the
        moment that was first seen; whether any was. Kept so, a cycle counts toward the daily limit
        for one day of the clock as it now runs: never for the days the clock jumped."""
        moved = False
        for cycle in self.cycles:
            if _started_at(cycle) > now:
                cycle.setdefault("recorded_started_at", cycle.get("started_at"))
                cycle["started_at"] = now
                moved = True
        return moved

    @property
    def last_cycle(self) -> dict[str, Any] | None:
        return self.cycles[-1] if self.cycles else None


def _started_at(cycle: dict[str, Any]) -> float:
    """When ``cycle`` started (0 for a record without a readable time: it counts for no day)."""
    value = cycle.get("started_at")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0


@dataclass(frozen=True)
class Trigger:
    """Whether a cycle is due now, and why (or why not)."""

    due: bool
    reason: str
    new_logs: int
    new_feedback: int
    cycles_today: int


@dataclass
class CycleOutcome:
    """What one cycle did: nothing (``outcome`` None, with the reason) or one run."""

    function: str
    trigger: Trigger
    outcome: RunOutcome | None = None
    resumed: bool = False
    canary: CanaryCheck | None = None  # the cycle's look at the function's canary

    @property
    def ran(self) -> bool:
        return self.outcome is not None

    @property
    def message(self) -> str:
        decided = f"{self.canary.message}\n" if self.canary and self.canary.decided else ""
        if self.outcome is None:
            return f"{decided}nothing to do for {self.function}: {self.trigger.reason}"
        return decided + self.outcome.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "ran": self.ran,
            "resumed": self.resumed,
            "message": self.message,
            "trigger": asdict(self.trigger),
            "run": self.outcome.to_dict() if self.outcome else None,
            "canary": self.canary.to_dict() if self.canary else None,
        }


def loop_directory(config: Config) -> Path:
    return Path(config.output_dir) / LOOP_DIRNAME


def _state_path(config: Config, function: str) -> Path:
    # the name as every folder of the function has it: never a path, never another function's
    return loop_directory(config) / function_filename(function, ".json")


def read_state(config: Config, function: str) -> LoopState:
    """The loop's memory of ``function`` (empty before the first cycle; a damaged file is an error
    naming it)."""
    path = _state_path(config, function)
    if not path.exists():
        return LoopState(function)
    data = read_json(path)
    try:
        return LoopState(
            function=function,
            logs_seen=int(data.get("logs_seen", 0)),
            feedback_seen=int(data.get("feedback_seen", 0)),
            cycles=list(data.get("cycles") or []),
            last_check_at=data.get("last_check_at"),
            canary=data.get("canary") if isinstance(data.get("canary"), dict) else None,
            canary_decisions=list(data.get("canary_decisions") or []),
        )
    except (TypeError, ValueError) as exc:
        raise DataFormatError(
            f"{path}: damaged loop state ({exc}); delete it to start counting afresh"
        ) from None


def _write_state(config: Config, state: LoopState) -> None:
    atomic_write_text(_state_path(config, state.function), to_json(asdict(state), indent=2) + "\n")


def current_counts(
    config: Config, function: str, source: LogReader | None = None
) -> tuple[int, int]:
    """(successful logs of ``function`` in the store, its feedback pairs) right now.

    Replayed calls (``exec_source: "REPLAY"``) are not counted: a replay is no new use of the
    function, and nothing trains on it.
    """
    if source is None:
        source = open_log_source(config)
    logs = next((f.logged_success for f in source.list_functions() if f.name == function), 0)
    feedback = len(pairs_for_function(FeedbackStore(config.feedback.path).pairs(), function))
    return logs, feedback


def check_trigger(
    config: Config, state: LoopState, counts: tuple[int, int], now: float | None = None
) -> Trigger:
    """Whether ``counts`` make a cycle due, against the thresholds and the daily limit."""
    now = time.time() if now is None else now
    loop = config.loop
    new_logs, new_feedback = (
        max(0, counts[0] - state.logs_seen),
        max(0, counts[1] - state.feedback_seen),
    )
    today = state.cycles_since(now - DAY_S)
    enough = [
        f"{new_logs} new successful logs (threshold {loop.min_new_logs})"
        if new_logs >= loop.min_new_logs and loop.min_new_logs > 0
        else "",
        f"{new_feedback} new feedback pairs (threshold {loop.min_new_feedback})"
        if new_feedback >= loop.min_new_feedback and loop.min_new_feedback > 0
        else "",
    ]
    enough = [e for e in enough if e]
    if not enough:
        return Trigger(
            False,
            f"{new_logs} new successful logs (need {loop.min_new_logs}), {new_feedback} new "
            f"feedback pairs (need {loop.min_new_feedback})",
            new_logs,
            new_feedback,
            today,
        )
    if today >= loop.max_cycles_per_day:
        return Trigger(
            False,
            f"{today} cycles in the last 24 h already (loop.max_cycles_per_day); "
            f"{' and '.join(enough)} wait for the next slot",
            new_logs,
            new_feedback,
            today,
        )
    return Trigger(True, " and ".join(enough), new_logs, new_feedback, today)


@contextlib.contextmanager
def loop_lock(config: Config) -> Iterator[None]:
    """The one lock every scheduler takes for a cycle (non-blocking: a busy loop is an error, not a
    wait)."""
    directory = loop_directory(config)
    directory.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(directory / ".lock"), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise LoopInUseError(
            f"another loop cycle is running ({directory / '.lock'}); two schedulers never "
            "train at once, so this one did nothing"
        ) from None
    try:
        yield
    finally:
        lock.release()


def run_cycle(config: Config, *, pipeline_factory: PipelineFactory | None = None,
              source: LogReader | None = None, now: float | None = None) -> CycleOutcome:
    """One cycle for ``selection.function``: resume an interrupted one, run a new one when due, or
    nothing."""
    function = config.selection.function
    if not function:
        raise ConfigError(
            "selection.function: the loop needs a function; set it in the config or pass --function"
        )
    factory = _loop_pipelines(pipeline_factory or (lambda cfg: TrainingPipeline(cfg)))
    with loop_lock(config):
        state = read_state(config, function)
        source = source if source is not None else open_log_source(config)
        counts = current_counts(config, function, source)
        moment = time.time() if now is None else now
        state.last_check_at = moment
        state.settle_clock(moment)
        _settle_ended_run(config, state)
        canary = _look_at_canary(config, state, source, moment)
        trigger = check_trigger(config, state, counts, moment)
        if canary is not None and canary.running and trigger.due:
            # a new model now would replace the candidate before its figures are in
            trigger = dataclasses.replace(trigger, due=False, reason=(
                f"{trigger.reason}, but {canary.version_id} is in canary: training waits for "
                "its decision"))
        unfinished = _interrupted_run(config, state)
        if unfinished is not None:
            outcome = factory(config).resume(unfinished)
            _record_end(state, outcome)
            _write_state(config, state)
            return CycleOutcome(function, trigger, outcome, resumed=True, canary=canary)
        intended = _intended_run(config, state)
        if intended is not None:
            # The last cycle recorded its intent and the process died before its run existed:
            # what it took was never trained, so its run is done now, under the same id.
            return CycleOutcome(function, trigger, _run(config, state, factory, intended),
                                resumed=True, canary=canary)
        if not trigger.due:
            _write_state(config, state)
            return CycleOutcome(function, trigger, canary=canary)
        run_id = new_run_id()
        state.cycles.append(
            {
                "started_at": moment,
                "run_id": run_id,
                "status": STARTING,
                "trigger": trigger.reason,
                # what to count from again if the run is refused before it begins
                "seen_before": [state.logs_seen, state.feedback_seen],
            }
        )
        state.logs_seen, state.feedback_seen = counts
        _write_state(config, state)  # the intent, before acting: a crash leaves it to be redone
        return CycleOutcome(function, trigger, _run(config, state, factory, run_id),
                            canary=canary)


def _look_at_canary(config: Config, state: LoopState, source: LogReader, moment: float
                    ) -> CanaryCheck | None:
    """The cycle's look at the function's canary (see :mod:`vectortrainer.canary.watch`), kept in
    the state: the last look, and every decision with its figures."""
    check = watch_canary(config, state.function, source, now=moment)
    if check is None:
        if state.canary is not None and state.canary.get("action") in ("wait", "problem"):
            state.canary = {**state.canary, "action": "ended",
                            "reason": "no canary is running now (stopped, or the promoted model "
                                      "was changed by hand)"}
        return None
    state.canary = check.to_dict()
    if check.decided:
        state.canary_decisions.append(check.to_dict())
    return check


def _run(config: Config, state: LoopState, factory: PipelineFactory, run_id: str) -> RunOutcome:
    """Run the last cycle's run ``run_id`` and record how it ended (or that it was refused before
    it began: then the cycle did not happen, and what it took is new again)."""
    try:
        outcome = factory(config).run(run_id=run_id)
    except VectorTrainerError:
        if _run_exists(config, run_id):
            state.cycles[-1]["status"] = str(RunStatus.INTERRUPTED)
        else:
            # Refused before the run began (a check before any work: credentials, model,
            # local model, golden data): nothing was done, so the cycle did not happen and
            # what is new stays new for the cycle after the fix.
            seen = state.cycles.pop().get("seen_before")
            if isinstance(seen, list) and len(seen) == 2:
                state.logs_seen, state.feedback_seen = int(seen[0]), int(seen[1])
        _write_state(config, state)
        raise
    except BaseException:
        state.cycles[-1]["status"] = str(RunStatus.INTERRUPTED)
        _write_state(config, state)
        raise
    _record_end(state, outcome)
    _write_state(config, state)
    return outcome


def _loop_pipelines(factory: PipelineFactory) -> PipelineFactory:
    """``factory`` whose pipelines say that the loop started them (in the hook versions they
    save: ``loop run <id>``)."""

    def make(config: Config) -> TrainingPipeline:
        pipeline = factory(config)
        pipeline.origin = "loop run"
        return pipeline

    return make


def _interrupted_run(config: Config, state: LoopState) -> str | None:
    """The last cycle's run when it was interrupted (or its process died): the next cycle resumes
    it. Only a run of the loop's own function: never another function's run under this config."""
    last = state.last_cycle
    if last is None or not last.get("run_id"):
        return None
    info = next((r for r in list_runs(config.output_dir) if r.run_id == last["run_id"]), None)
    if info is None or info.status != RunStatus.INTERRUPTED:
        return None
    if info.function not in (None, state.function):
        return None
    return info.run_id


def _intended_run(config: Config, state: LoopState) -> str | None:
    """The last cycle's run when the cycle recorded its intent but its run was never created (the
    process died in between): the next cycle runs it."""
    last = state.last_cycle
    if last is None or not last.get("run_id") or last.get("status") not in (
        STARTING, str(RunStatus.RUNNING)  # RUNNING: the intent as earlier loops wrote it
    ):
        return None
    run_id = str(last["run_id"])
    return None if _run_exists(config, run_id) else run_id


def _settle_ended_run(config: Config, state: LoopState) -> None:
    """Record how the last cycle's run ended when the process died after the run, before the
    loop wrote it down."""
    last = state.last_cycle
    if last is None or last.get("status") not in (STARTING, str(RunStatus.RUNNING)):
        return
    info = next((r for r in list_runs(config.output_dir) if r.run_id == last.get("run_id")), None)
    if info is not None and info.status not in (RunStatus.RUNNING, RunStatus.INTERRUPTED):
        last["status"] = str(info.status)


def _run_exists(config: Config, run_id: str) -> bool:
    return (runs_root(config.output_dir) / run_id / RUN_FILE).exists()


def _record_end(state: LoopState, outcome: RunOutcome) -> None:
    if state.cycles and state.cycles[-1].get("run_id") == outcome.run_id:
        state.cycles[-1].update(status=str(outcome.status), message=outcome.message)


def run_loop(config: Config, *, interval_s: float | None = None, once: bool = False,
             pipeline_factory: PipelineFactory | None = None, stop: threading.Event | None = None,
             on_cycle: Callable[[CycleOutcome], None] | None = None) -> list[CycleOutcome]:
    """Cycles every ``interval_s`` (``loop.interval``) until ``stop`` is set; one cycle with
    ``once``."""
    if interval_s is not None and duration_problem(interval_s):
        # the CLI checks --interval the same way; this is for callers of the API (inf, NaN, 0)
        raise ConfigError(f"interval_s: {duration_problem(interval_s)}")
    interval = interval_s if interval_s is not None else parse_duration(config.loop.interval)
    stop = stop or threading.Event()
    outcomes = []
    while True:
        outcome = run_cycle(config, pipeline_factory=pipeline_factory)
        outcomes.append(outcome)
        if on_cycle is not None:
            on_cycle(outcome)
        if once or stop.wait(interval):
            return outcomes


@dataclass(frozen=True)
class LoopView:
    """The loop as the faces show it: the last cycle, what is new, and when it looks next."""

    function: str
    new_logs: int | None
    new_feedback: int | None
    min_new_logs: int
    min_new_feedback: int
    cycles_today: int
    max_cycles_per_day: int
    last_cycle: dict[str, Any] | None
    next_check_at: float | None  # the continuous loop's next look (None: no cycle has looked yet)
    trigger: str
    problem: str | None = None
    canary: dict[str, Any] | None = None  # the last look at the canary (CanaryCheck.to_dict)
    last_canary_decision: dict[str, Any] | None = None


def loop_view(config: Config, function: str, source: LogReader | None = None) -> LoopView:
    """Counts against the thresholds and the last cycle; never takes the lock, never writes."""
    loop = config.loop
    try:
        state = read_state(config, function)
    except DataFormatError as exc:
        return LoopView(
            function,
            None,
            None,
            loop.min_new_logs,
            loop.min_new_feedback,
            0,
            loop.max_cycles_per_day,
            None,
            None,
            "",
            problem=str(exc),
        )
    problem = None
    new_logs: int | None
    new_feedback: int | None
    try:
        trigger = check_trigger(config, state, current_counts(config, function, source))
        new_logs, new_feedback, text = trigger.new_logs, trigger.new_feedback, \
            ("due now: " if trigger.due else "not yet: ") + trigger.reason
    except StoreError as exc:
        new_logs = new_feedback = None
        text, problem = "", str(exc)
    next_check = (
        state.last_check_at + parse_duration(loop.interval) if state.last_check_at else None
    )
    return LoopView(
        function,
        new_logs,
        new_feedback,
        loop.min_new_logs,
        loop.min_new_feedback,
        state.cycles_since(time.time() - DAY_S),
        loop.max_cycles_per_day,
        state.last_cycle,
        next_check,
        text,
        problem,
        state.canary,
        state.canary_decisions[-1] if state.canary_decisions else None,
    )

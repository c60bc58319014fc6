"""A canary's production signals per arm, from the calls VectorWave logged since it started.

Each logged call since ``started_at`` is put on the arm the runtime served it from: the same
hash of the same inputs (:func:`vectortrainer.registry.routing.arm_of`) over the inputs
VectorWave captured. Per arm:

- **calls** and **errors** (``ERROR`` / ``FAILURE`` statuses: the call raised);
- **corrected** calls: a feedback pair tied to the call, by the log's uuid (a correction made
  in the app), by its trace id (``feedback.record(trace_id=...)``), or else by its input (the
  pair's ``input_prompt`` is the call's rendered input, and that input was not logged before
  the canary, so the pair cannot be an older one). Pairs carry no time of their own, so these
  links are what makes a correction new;
- a **semantic score** when no call in the window was corrected: the MiniLM similarity of each
  successful output to a reference output, the output logged for the nearest input (by the
  input vectors VectorWave stored) before the canary began, or the correction of that output
  when one was recorded. Both arms are compared with the same references over inputs the hash
  spread evenly, so the incumbent's arm is the control; at most ``SAMPLE_PER_ARM`` outputs an
  arm are embedded, against the last ``REFERENCE_CAP`` logs, so a look costs seconds.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import numpy as np

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.golden.chatml import render_user, render_value
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.routing import CANDIDATE, CanaryRoute, arm_of
from vectortrainer.store.records import FAILED_STATUSES, FunctionLogs, LogRecord

Similarity = Callable[[Sequence[str], Sequence[str]], np.ndarray]
SAMPLE_PER_ARM = 200
REFERENCE_CAP = 2000


@dataclass(frozen=True)
class ArmFigures:
    """One arm's figures."""

    calls: int = 0
    errors: int = 0
    corrected: int = 0
    scored: int = 0
    score_mean: float | None = None
    score_sd: float | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None

    @property
    def correction_rate(self) -> float | None:
        return self.corrected / self.calls if self.calls else None

    def to_dict(self) -> JSONObject:
        return {**asdict(self), "error_rate": self.error_rate,
                "correction_rate": self.correction_rate}


@dataclass(frozen=True)
class CanarySignals:
    """Both arms of one canary, and how the figures were made."""

    version_id: str
    share: float
    started_at: str
    candidate: ArmFigures
    incumbent: ArmFigures
    # how corrections were tied to calls: {"log_uuid": n, "trace_id": n, "input": n}
    linked_by: dict[str, int] = field(default_factory=dict)
    semantic: str = ""  # why there is no semantic score, or what it was made from

    @property
    def corrections(self) -> int:
        return self.candidate.corrected + self.incumbent.corrected

    def to_dict(self) -> JSONObject:
        return {"version_id": self.version_id, "share": self.share,
                "started_at": self.started_at, "candidate": self.candidate.to_dict(),
                "incumbent": self.incumbent.to_dict(), "linked_by": dict(self.linked_by),
                "semantic": self.semantic}


def parse_time(stamp: str) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (a naive one is taken as UTC); None when it is
    not one."""
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def canary_signals(route: CanaryRoute, logs: FunctionLogs, pairs: Sequence[FeedbackPair], *,
                   similarity: Similarity | None = None) -> CanarySignals:
    """The figures of both arms of ``route`` from ``logs`` (the function's) and ``pairs`` (its
    feedback); ``similarity`` (row-wise cosine of two text lists) makes the semantic score."""
    since = parse_time(route.started_at)
    if since is None:
        raise ValueError(f"the canary's started_at {route.started_at!r} is not a time")
    window: list[tuple[int, LogRecord, str]] = []  # (row in logs, record, arm)
    before: list[tuple[int, LogRecord]] = []
    for row, record in enumerate(logs.records):
        moment = parse_time(record.timestamp)
        if moment is None:
            continue  # a call of unknown time belongs to neither period
        if moment >= since:
            window.append((row, record, arm_of(route.version_id, route.share, record.inputs)))
        else:
            before.append((row, record))
    corrected, linked_by = _corrected(window, before, pairs)
    arms: dict[str, dict[str, int]] = {arm: {"calls": 0, "errors": 0, "corrected": 0}
                                       for arm in ("candidate", "incumbent")}
    for _, record, arm in window:
        arms[arm]["calls"] += 1
        arms[arm]["errors"] += record.status in FAILED_STATUSES
        arms[arm]["corrected"] += record.uuid in corrected
    scores: dict[str, list[float]] = {"candidate": [], "incumbent": []}
    note = "left out: corrections were recorded, they are the stronger signal" \
        if corrected else "left out (canary.semantic: false)"
    if not corrected and similarity is not None:
        scores, note = _semantic(window, before, logs, pairs, similarity)
    return CanarySignals(route.version_id, route.share, route.started_at,
                         _figures(arms["candidate"], scores["candidate"]),
                         _figures(arms["incumbent"], scores["incumbent"]), linked_by, note)


def _figures(counts: dict[str, int], scores: list[float]) -> ArmFigures:
    return ArmFigures(
        counts["calls"], counts["errors"], counts["corrected"], len(scores),
        statistics.fmean(scores) if scores else None,
        statistics.stdev(scores) if len(scores) >= 2 else None,
    )


def _corrected(window: list[tuple[int, LogRecord, str]], before: list[tuple[int, LogRecord]],
               pairs: Sequence[FeedbackPair]) -> tuple[set[str], dict[str, int]]:
    """The uuids of the window's calls a pair corrects, and how many were tied by what."""
    by_uuid = {record.uuid: record for _, record, _ in window}
    by_trace = {record.trace_id: record for _, record, _ in window if record.trace_id}
    by_input: dict[str, list[LogRecord]] = {}
    for _, record, _ in window:
        by_input.setdefault(render_user(record.inputs), []).append(record)
    logged_before = {render_user(record.inputs) for _, record in before}
    corrected: set[str] = set()
    linked = {"log_uuid": 0, "trace_id": 0, "input": 0}
    for pair in pairs:
        log_uuid, trace = pair.context.get("log_uuid"), pair.context.get("trace_id")
        if isinstance(log_uuid, str) and log_uuid in by_uuid:
            corrected.add(log_uuid)
            linked["log_uuid"] += 1
        elif isinstance(trace, str) and trace in by_trace:
            corrected.add(by_trace[trace].uuid)
            linked["trace_id"] += 1
        elif pair.input_prompt and pair.input_prompt in by_input \
                and pair.input_prompt not in logged_before:
            calls = by_input[pair.input_prompt]
            # one call per pair: the first of that input not tied to another pair yet
            record = next((r for r in calls if r.uuid not in corrected), calls[0])
            corrected.add(record.uuid)
            linked["input"] += 1
    return corrected, {k: v for k, v in linked.items() if v}


def _semantic(window: list[tuple[int, LogRecord, str]], before: list[tuple[int, LogRecord]],
              logs: FunctionLogs, pairs: Sequence[FeedbackPair], similarity: Similarity
              ) -> tuple[dict[str, list[float]], str]:
    """Each arm's similarities of sampled outputs to their reference outputs (see the module)."""
    scores: dict[str, list[float]] = {"candidate": [], "incumbent": []}
    vectors = logs.vectors
    usable = np.linalg.norm(vectors, axis=1) > 0 if len(vectors) else np.zeros(0, dtype=bool)
    references = sorted(
        ((row, r) for row, r in before if r.succeeded and r.output is not None and usable[row]),
        key=lambda item: item[1].timestamp,
    )[-REFERENCE_CAP:]
    if not references:
        return scores, "no successful call was logged before the canary to compare outputs with"
    fixes = {str(p.context["log_uuid"]): p.fixed_output for p in pairs
             if isinstance(p.context.get("log_uuid"), str)}
    fixes.update({str(p.context["trace_id"]): p.fixed_output for p in pairs
                  if isinstance(p.context.get("trace_id"), str)})
    reference_texts = [
        fixes.get(r.uuid) or fixes.get(r.trace_id or "") or render_value(r.output)
        for _, r in references
    ]
    reference_matrix = _unit(vectors[[row for row, _ in references]])
    sample: list[tuple[int, LogRecord, str]] = []
    for arm in ("candidate", "incumbent"):
        scored = [item for item in window
                  if item[2] == arm and item[1].succeeded and item[1].output is not None
                  and usable[item[0]]]
        step = max(1.0, len(scored) / SAMPLE_PER_ARM)
        sample += [scored[int(i * step)] for i in range(min(SAMPLE_PER_ARM, len(scored)))]
    if not sample:
        return scores, "no successful output in the canary to score yet"
    nearest = np.argmax(_unit(vectors[[row for row, _, _ in sample]]) @ reference_matrix.T,
                        axis=1)
    values = similarity([render_value(record.output) for _, record, _ in sample],
                        [reference_texts[int(i)] for i in nearest])
    for (_, _, arm), value in zip(sample, np.asarray(values, dtype=float), strict=True):
        scores["candidate" if arm == CANDIDATE else "incumbent"].append(float(value))
    return scores, (f"MiniLM similarity to the output of the nearest input logged before the "
                    f"canary ({len(references)} references)")


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.where(norms > 0, norms, 1.0), dtype=np.float32)

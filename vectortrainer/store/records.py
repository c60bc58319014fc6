"""Decoded VectorWave execution logs: one record per call, a function's logs with their vectors,
counts.

The statuses are VectorWave 1.0's. ``ANOMALY`` marks a *successful* call whose input
drifted far from golden data (a new pattern); ``ERROR`` / ``FAILURE`` are raised calls
whose vector embeds the error text, not the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from vectortrainer.json_types import JSONObject, JSONValue

# VectorWave 1.0 statuses. ANOMALY marks a *successful* call whose input drifted
# far from golden data (a new pattern); ERROR / FAILURE are raised calls whose
# vector embeds the error text, not the input.
SUCCESSFUL_STATUSES: frozenset[str] = frozenset({"SUCCESS", "ANOMALY"})
FAILED_STATUSES: frozenset[str] = frozenset({"ERROR", "FAILURE"})


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One VectorWave execution log of a decorated function, decoded (slots: a million of them stay
    small)."""

    uuid: str
    function_name: str
    status: str
    inputs: JSONObject
    output: JSONValue = None
    timestamp: str = ""
    trace_id: str | None = None
    error_message: str | None = None
    duration_ms: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESSFUL_STATUSES


@dataclass
class FunctionLogs:
    """Every log of one function that can take part in density, plus what was left out.

    ``vectors`` rows are aligned with ``records`` (float32, shape (n, dim)).
    ``skipped`` maps a reason (e.g. "no vector", "no captured inputs") to a count.
    """

    function_name: str
    # a list, or records decoded on access (``store.source.StoredRecords``)
    records: Sequence[LogRecord]
    vectors: np.ndarray
    skipped: dict[str, int] = field(default_factory=dict)
    total: int = 0

    @property
    def statuses(self) -> list[str]:
        statuses = getattr(self.records, "statuses", None)  # stored records keep them decoded
        return list(statuses) if statuses is not None else [r.status for r in self.records]


@dataclass(frozen=True)
class FunctionSummary:
    """Counts per function, as listed by the log source.

    Replayed calls (VectorWave's replayer re-running logged inputs, ``exec_source: "REPLAY"``)
    are in every count as the store holds them, and counted again in ``replayed`` and
    ``replayed_success``: they are no new use of the function, so nothing trains on them and
    the loop does not count them as new logs (:attr:`logged_success`).
    """

    name: str
    total: int
    success: int
    with_vector: int
    with_inputs: int
    failed: int = 0
    anomaly: int = 0
    replayed: int = 0
    replayed_success: int = 0

    @property
    def logged_success(self) -> int:
        """Successful calls made by the function's callers (replays left out)."""
        return self.success - self.replayed_success

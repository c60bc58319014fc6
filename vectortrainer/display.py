"""Plain-text pieces every face shows the same way: one-line previews, histogram bins, durations,
times.

Faces lay these out (a Textual table, a Streamlit chart, a Rich panel); none of
them formats a value its own way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

HOVER_CHARS = 240
SLICE_ORDER = ("steady", "anomaly", "feedback", "golden")  # how faces list the gate's slices
_STAMP_SHAPES = (
    "%Y%m%dT%H%M%S%fZ",
    "%Y%m%dT%H%M%SZ",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%dT%H:%M:%S%z",
)


def preview(value: Any, width: int = 60) -> str:
    """One line of at most ``width`` characters: a string as it is, anything else as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def hover_text(value: Any, limit: int = HOVER_CHARS) -> str:
    """A tooltip's text of an input mapping or an output (empty for ``None``).

    A mapping with one entry (a function's single captured argument) shows its value.
    """
    if value is None:
        return ""
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    return preview(value, limit)


def histogram_counts(values: Sequence[float], bins: int) -> tuple[list[int], float, float]:
    """Counts of ``values`` in ``bins`` equal-width bins, with the range they cover."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return [0] * bins, 0.0, 0.0
    low, high = float(array.min()), float(array.max())
    counts, _ = np.histogram(array, bins=bins, range=(low, high if high > low else low + 1e-9))
    return [int(c) for c in counts], low, high


def histogram_rows(
    values: Sequence[float] | np.ndarray,
    bins: int,
    *,
    groups: Sequence[str] | np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """Histogram bins as rows ``{"start", "end", "count", "group"}`` over shared edges
    (stackable)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return []
    low, high = float(array.min()), float(array.max())
    if high <= low:
        high = low + 1e-9
    edges = np.linspace(low, high, bins + 1)
    labels = (
        np.full(array.shape, "all", dtype=object)
        if groups is None
        else np.asarray(groups, dtype=object)
    )
    rows = []
    for group in dict.fromkeys(labels.tolist()):
        counts, _ = np.histogram(array[labels == group], bins=edges)
        rows += [
            {
                "start": float(edges[i]),
                "end": float(edges[i + 1]),
                "count": int(c),
                "group": str(group),
            }
            for i, c in enumerate(counts)
        ]
    return rows


def format_usd(amount: float) -> str:
    """Dollars with cents, and with enough digits that a small amount never reads as $0.00."""
    if amount == 0 or abs(amount) >= 0.01:
        return f"${amount:,.2f}"
    return f"${amount:.2g}" if abs(amount) >= 1e-6 else f"${amount:.1e}"


def format_gain(mean: float, low: float, high: float, confidence: float, cases: int) -> str:
    """The evaluation gate's paired gain: ``+0.030 (95% one-sided bounds -0.062 to +0.126, 12
    cases)``; each bound alone holds at the confidence (see ``vectortrainer.gate.evidence``)."""
    return (f"{mean:+.3f} ({confidence * 100:g}% one-sided bounds {low:+.3f} to {high:+.3f}, "
            f"{cases} case{'' if cases == 1 else 's'})")


def format_slice_scores(slices: Mapping[str, Mapping[str, float]]) -> str:
    """Per-slice gate scores, ``steady 0.950/0.400 (2), feedback 0.870/0.440 (2)``: candidate /
    incumbent (cases), slices in ``SLICE_ORDER``."""
    order = {name: index for index, name in enumerate(SLICE_ORDER)}
    names = sorted(slices, key=lambda name: (order.get(name, len(order)), name))
    return ", ".join(
        f"{name} {slices[name]['candidate']:.3f}/{slices[name]['incumbent']:.3f} "
        f"({slices[name]['cases']:g})"
        for name in names
    )


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


def utc_clock(ts: float | None) -> str:
    """A Unix time as ``2026-11-25 15:59:16 UTC``; empty when unknown."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def readable_epoch(seconds: float) -> str:
    """Seconds since the epoch as people read them, in UTC (``2026-11-25 15:59:16 UTC``)."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def readable_time(stamp: str) -> str:
    """``20261125T155916030793Z`` -> ``2026-11-25 15:59:16`` (other shapes are returned as they
    are)."""
    for shape in _STAMP_SHAPES:
        try:
            return datetime.strptime(stamp, shape).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    return stamp

"""Choosing epsilon from the data (``epsilon: auto``), so users never have to tune it (VT-11).

The neighbourhood radius of FR-1.2 should separate logs that sit in a crowd from
logs that are alone. Each log's similarity to its ``k``-th nearest neighbour
(``k = min_samples``) says which it is. On real logs that distribution has three
parts: logs alone (one-of-a-kind requests, about 0.3 for MiniLM), logs in a loose
crowd (a topic phrased many ways, and the bridges between topics, 0.55-0.8), and
logs in a tight crowd (near-paraphrases of one template, 0.85 and up). Three-class
Otsu (the two cuts of the histogram that maximise the between-class variance) finds
the two boundaries, and

    epsilon = 1 - lower cut      (a log with k neighbours within epsilon is a *core* log)
    link    = upper cut          (core logs this alike are one micro-cluster; see
                                  :mod:`vectortrainer.golden.clusters`)

with epsilon clamped to [``MIN_EPSILON``, ``MAX_EPSILON``]. The k-th-neighbour
similarities cost one extra pass over the data, made before the density pass. With
too few logs to tell the parts apart (or when nearly all logs are alike), epsilon
falls back to ``FALLBACK_EPSILON`` and the reason says so.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

MIN_EPSILON = 0.05
MAX_EPSILON = 0.6
FALLBACK_EPSILON = 0.2
MIN_LOGS_FOR_AUTO = 20
_BINS = 64


@dataclass(frozen=True)
class EpsilonChoice:
    """The epsilon used, whether it was chosen from the data, and why (shown in every summary)."""

    epsilon: float
    automatic: bool
    reason: str
    dense_share: float | None = None  # share of logs with k neighbours within epsilon
    link_similarity: float | None = None  # core logs at least this alike form one micro-cluster


def otsu_thresholds(
    values: np.ndarray, classes: int = 3, bins: int = _BINS
) -> tuple[float, ...] | None:
    """The ``classes - 1`` cuts that split ``values`` into classes of maximal between-class variance
    (Otsu).

    Exhaustive over histogram bins (64 bins: about 2,000 pairs for three classes); None when there
    is no spread.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < classes or values.max() - values.min() < 1e-6:
        return None
    counts, edges = np.histogram(values, bins=bins)
    weights = counts / counts.sum()
    centres = (edges[:-1] + edges[1:]) / 2
    mass = np.concatenate([[0.0], np.cumsum(weights)])
    moment = np.concatenate([[0.0], np.cumsum(weights * centres)])
    best, cuts = -1.0, None
    for split in itertools.combinations(range(1, bins), classes - 1):
        bounds = (0, *split, bins)
        score = 0.0
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            w = mass[hi] - mass[lo]
            if w <= 0:
                break
            score += (moment[hi] - moment[lo]) ** 2 / w
        else:
            if score > best:
                best, cuts = score, tuple(float(edges[i]) for i in split)
    return cuts


def choose_epsilon(kth_similarity: np.ndarray, k: int) -> EpsilonChoice:
    """Epsilon (and the micro-cluster link) from each log's ``k``-th neighbour similarity (module
    docstring)."""
    values = np.asarray(kth_similarity, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < MIN_LOGS_FOR_AUTO:
        return EpsilonChoice(
            FALLBACK_EPSILON,
            True,
            f"auto: {values.size} logs are too few to read a density "
            f"scale from; using {FALLBACK_EPSILON:g}",
        )
    cuts = otsu_thresholds(values)
    if cuts is None:
        return EpsilonChoice(
            FALLBACK_EPSILON,
            True,
            f"auto: every log's {_ordinal(k)} neighbour is equally close; "
            f"using {FALLBACK_EPSILON:g}",
        )
    lower, upper = cuts
    epsilon = float(np.clip(1.0 - lower, MIN_EPSILON, MAX_EPSILON))
    dense = float(np.mean(values >= 1.0 - epsilon))
    clamp = (
        ""
        if MIN_EPSILON < 1.0 - lower < MAX_EPSILON
        else f" (clamped to [{MIN_EPSILON:g}, {MAX_EPSILON:g}])"
    )
    reason = (
        f"auto: {epsilon:.3f} = 1 - {1.0 - epsilon:.3f}, where logs alone part from logs in "
        f"a crowd by the similarity of their {_ordinal(k)} nearest neighbour (three-class "
        f"Otsu){clamp}; {dense:.0%} of {values.size} logs have {k} neighbours within it"
    )
    return EpsilonChoice(epsilon, True, reason, dense, max(upper, 1.0 - epsilon))


def given_epsilon(epsilon: float) -> EpsilonChoice:
    """An epsilon set in the config or on the command line."""
    return EpsilonChoice(float(epsilon), False, f"set: {float(epsilon):g} (selection.epsilon)")


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"

"""How sure the evaluation gate is of a gain: an interval for the mean paired difference.

The gate replays the same held-out cases through both models, so each case gives one paired
difference (candidate score minus incumbent score); the gain is their mean. Its interval is a
bias-corrected and accelerated (BCa) bootstrap of that mean (``scipy.stats.bootstrap``,
``RESAMPLES`` resamples from a fixed seed, so the same replies always give the same decision).
The interval is equal-tailed at ``2 * confidence - 1``: each end alone is a one-sided bound at
``confidence`` (its low end is the one-sided lower bound the gate compares with its margin).
A bootstrap of a few cases is approximate; the gate's ``min_cases`` keeps it off a handful.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from vectortrainer.errors import SettingError

RESAMPLES = 9999
SEED = 20260  # any fixed seed: the decision must not change between two looks at one evaluation


@dataclass(frozen=True)
class PairedGain:
    """The mean paired difference of ``cases`` held-out cases and its interval at
    ``confidence``."""

    cases: int
    mean: float
    low: float
    high: float
    confidence: float

    def holds_above(self, margin: float) -> bool:
        """Whether the gain is at least ``margin`` at the confidence (a NaN bound never is)."""
        return self.low >= margin


def check_confidence(value: object, key: str = "confidence") -> float:
    """``value`` when it is a confidence the interval can be taken at, in (0.5, 1)."""
    # 0.5 would make the "interval" a single point; 1 would need every possible resample
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0.5 < value < 1):
        raise SettingError(key, value, "must be a finite number in (0.5, 1), e.g. 0.95")
    return float(value)


def paired_gain(differences: Sequence[float], confidence: float) -> PairedGain:
    """The mean of ``differences`` (one per case, at least one) and its bootstrap interval."""
    confidence = check_confidence(confidence)
    values = [float(d) for d in differences]
    mean = statistics.fmean(values)
    if len(set(values)) < 2:
        # Every resample has the same mean (one case, or the same difference on every case):
        # the bootstrap has nothing to vary, and scipy's BCa answers NaN for it.
        return PairedGain(len(values), mean, mean, mean, confidence)
    import numpy as np  # heavy: imported when the gate decides, not when a face imports the engine
    from scipy import stats

    result = stats.bootstrap(
        (np.asarray(values),),
        np.mean,
        confidence_level=2 * confidence - 1,
        n_resamples=RESAMPLES,
        method="BCa",
        vectorized=True,
        rng=np.random.default_rng(SEED),
    )
    interval = result.confidence_interval
    return PairedGain(len(values), mean, float(interval.low), float(interval.high), confidence)

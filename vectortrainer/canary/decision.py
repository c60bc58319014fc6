"""Whether a canary's candidate is worse than the promoted model, and what the loop does about it.

Each signal is a difference, candidate against incumbent, with a one-sided lower bound at
``canary.confidence``:

- error rate and corrections per call: the rise of a proportion, bounded with Newcombe's
  hybrid score interval (Wilson intervals of each arm combined; sound at small counts and at
  0 % or 100 %, where a normal approximation is not);
- semantic score (used only while no call was corrected): the drop of the mean similarity,
  bounded with Welch's t.

The candidate is **worse** when a bound clears its tolerance (``max_error_rise``,
``max_correction_rise``, ``max_score_drop``): the loop rolls it back. Once both arms have
``min_calls`` calls, a candidate that is not worse is promoted fully. Before that the loop
waits, except that a candidate already worse at a stricter confidence (``EARLY_ALPHA_SHARE`` of
the error level, 0.995 for 0.95) is rolled back at once: a broken model should not keep its
share of calls until the count is reached. Those early looks come at every cycle and on few
calls, where the score interval is too generous, so a proportion must also pass Fisher's exact
test at that level (3 errors in 3 calls against 0 in 3 does not; 6 in 6 against 0 in 6
does). After ``max_hours`` a canary still short of calls is rolled back as expired: there is
not enough evidence to promote it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Literal

from vectortrainer.canary.signals import ArmFigures, CanarySignals
from vectortrainer.config import CanaryConfig
from vectortrainer.json_types import JSONObject

Action = Literal["wait", "promote", "rollback", "expire"]
# Before min_calls a rollback needs this share of the error level (1 - confidence): 1/10.
EARLY_ALPHA_SHARE = 0.1
MIN_SCORED = 2  # outputs an arm needs before its mean similarity is compared


@dataclass(frozen=True)
class Bound:
    """One signal, candidate against incumbent: the difference (worse is positive) and its
    one-sided lower bound at ``confidence``."""

    signal: str  # "error rate", "corrections per call", "semantic score"
    candidate: float
    incumbent: float
    difference: float
    lower: float
    confidence: float
    tolerance: float
    # one-sided p-value that the candidate is worse at all (Fisher's exact test for a
    # proportion, Welch's t for the score)
    p_value: float | None = None

    @property
    def worse(self) -> bool:
        return self.lower > self.tolerance

    def worse_early(self) -> bool:
        """Worse on few calls: the bound, and the exact test at the same level."""
        return self.worse and self.p_value is not None and self.p_value < 1 - self.confidence

    def text(self) -> str:
        if self.signal == "semantic score":
            values = f"{self.candidate:.3f} vs {self.incumbent:.3f}"
            change = f"drop {self.difference:+.3f}, at least {self.lower:+.3f}"
        else:
            values = f"{100 * self.candidate:.1f}% vs {100 * self.incumbent:.1f}%"
            change = (f"rise {100 * self.difference:+.1f} points, at least "
                      f"{100 * self.lower:+.1f}")
        return (f"{self.signal} {values} ({change} at {100 * self.confidence:g}% confidence; "
                f"tolerance {self.tolerance:g})")

    def to_dict(self) -> JSONObject:
        return {**asdict(self), "worse": self.worse}


@dataclass(frozen=True)
class CanaryVerdict:
    """What the loop does with a canary now, why, and the figures behind it."""

    action: Action
    reason: str
    figures: JSONObject


def wilson(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of ``successes`` / ``n`` at normal quantile ``z``."""
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_rise(signal: str, x_candidate: int, n_candidate: int, x_incumbent: int,
                    n_incumbent: int, confidence: float, tolerance: float) -> Bound | None:
    """The candidate's rise of a proportion with Newcombe's one-sided lower bound (None without
    a call on an arm)."""
    if not n_candidate or not n_incumbent:
        return None
    z = NormalDist().inv_cdf(confidence)
    p_c, p_i = x_candidate / n_candidate, x_incumbent / n_incumbent
    low_c, _ = wilson(x_candidate, n_candidate, z)
    _, high_i = wilson(x_incumbent, n_incumbent, z)
    lower = (p_c - p_i) - math.sqrt((p_c - low_c) ** 2 + (high_i - p_i) ** 2)
    from scipy import stats  # 0.4 s: the faces import this module, only the loop decides

    table = [[x_candidate, n_candidate - x_candidate], [x_incumbent, n_incumbent - x_incumbent]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return Bound(signal, p_c, p_i, p_c - p_i, lower, confidence, tolerance, p_value)


def score_drop(candidate: ArmFigures, incumbent: ArmFigures, confidence: float,
               tolerance: float) -> Bound | None:
    """The drop of the mean similarity, incumbent minus candidate, with Welch's one-sided lower
    bound (None until each arm has ``MIN_SCORED`` scores)."""
    from scipy import stats  # see proportion_rise
    if candidate.scored < MIN_SCORED or incumbent.scored < MIN_SCORED \
            or candidate.score_mean is None or incumbent.score_mean is None:
        return None
    drop = incumbent.score_mean - candidate.score_mean
    v_c = (candidate.score_sd or 0.0) ** 2 / candidate.scored
    v_i = (incumbent.score_sd or 0.0) ** 2 / incumbent.scored
    error = math.sqrt(v_c + v_i)
    if error == 0:
        lower, p_value = drop, (0.0 if drop > 0 else 1.0)
    else:
        freedom = (v_c + v_i) ** 2 / (v_c ** 2 / (candidate.scored - 1)
                                      + v_i ** 2 / (incumbent.scored - 1))
        lower = drop - float(stats.t.ppf(confidence, freedom)) * error
        p_value = float(stats.t.sf(drop / error, freedom))
    return Bound("semantic score", candidate.score_mean, incumbent.score_mean, drop, lower,
                 confidence, tolerance, p_value)


def bounds(signals: CanarySignals, settings: CanaryConfig, confidence: float) -> list[Bound]:
    """Every signal that can be compared now, at ``confidence``."""
    c, i = signals.candidate, signals.incumbent
    found = [proportion_rise("error rate", c.errors, c.calls, i.errors, i.calls, confidence,
                             settings.max_error_rise)]
    if signals.corrections:
        found.append(proportion_rise("corrections per call", c.corrected, c.calls, i.corrected,
                                     i.calls, confidence, settings.max_correction_rise))
    elif settings.semantic:
        found.append(score_drop(c, i, confidence, settings.max_score_drop))
    return [bound for bound in found if bound is not None]


def decide(signals: CanarySignals, settings: CanaryConfig, *, hours: float) -> CanaryVerdict:
    """The verdict on a canary ``hours`` after it started (see the module)."""
    c, i = signals.candidate, signals.incumbent
    enough = min(c.calls, i.calls) >= settings.min_calls
    early = 1 - (1 - settings.confidence) * EARLY_ALPHA_SHARE
    confidence = settings.confidence if enough else early
    judged = bounds(signals, settings, confidence)
    worse = [bound for bound in judged if (bound.worse if enough else bound.worse_early())]
    figures: JSONObject = {
        **signals.to_dict(),
        "bounds": [bound.to_dict() for bound in judged],
        "confidence": confidence,
        "min_calls": settings.min_calls,
        "hours": round(hours, 3),
        "max_hours": settings.max_hours,
    }
    calls = f"{c.calls} / {i.calls} calls (candidate / promoted)"
    label = signals.version_id
    if worse:
        reason = f"{label} is worse: " + "; ".join(b.text() for b in worse) + f", on {calls}"
        if not enough:
            reason += f", before {settings.min_calls} calls an arm"
        return CanaryVerdict("rollback", reason, figures)
    if enough:
        shown = "; ".join(b.text() for b in judged)
        return CanaryVerdict(
            "promote", f"{label} is not worse at {100 * confidence:g}% confidence on {calls}: "
                       f"{shown}", figures)
    if hours >= settings.max_hours:
        return CanaryVerdict(
            "expire", f"{label} had {calls} after {hours:.1f} h, short of {settings.min_calls} "
                      f"calls an arm within canary.max_hours ({settings.max_hours:g} h): not "
                      "enough evidence to promote it", figures)
    return CanaryVerdict(
        "wait", f"{label} serves {100 * signals.share:g}% of calls: {calls}, deciding at "
                f"{settings.min_calls} calls an arm", figures)

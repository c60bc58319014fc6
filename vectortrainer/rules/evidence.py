"""How much evidence a rule needs: a lower confidence bound on its precision, not a count.

A rule's precision is the share of the places it fires where a person's correction says it should:
the pairs it repairs (successes) against the texts it would change where a person wrote something
else (failures): pairs a conflict decision overruled, good texts a phrase condition was found to
spare. The Wilson score lower bound at one-sided 95% confidence must reach :data:`MIN_PRECISION`:
two pairs and no failure pass (0.42); two pairs against one failure (0.25), or a one-off (0.27), do
not.

Without a log sample nobody has measured where else a rule would fire, so one more pair must show
the correction (:data:`UNMEASURED_MIN_SUPPORT`: three, not two); with logs, their blast radius
(:mod:`~vectortrainer.rules.blast_radius`) measures it. A condition found by looking for what
separates a rule's pairs from the texts it harmed (a phrase the text must contain) earns no
precision: it was chosen after the fact.
"""

from __future__ import annotations

import math

Z_ONE_SIDED_95 = 1.6449
UNMEASURED_MIN_SUPPORT = 3


def precision_lower_bound(successes: int, failures: int, z: float = Z_ONE_SIDED_95) -> float:
    """The Wilson score lower bound on successes / (successes + failures); 0 with no trial."""
    trials = successes + failures
    if trials <= 0:
        return 0.0
    share = successes / trials
    z2 = z * z
    centre = share + z2 / (2 * trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials))
    return max(0.0, (centre - spread) / (1 + z2 / trials))


MIN_PRECISION = precision_lower_bound(2, 0)  # see the module docstring


def precise_enough(successes: int, failures: int) -> bool:
    """Whether the bound reaches :data:`MIN_PRECISION`."""
    return precision_lower_bound(successes, failures) >= MIN_PRECISION


def enough_evidence(successes: int, failures: int, *, logs_measured: bool) -> bool:
    """Whether a rule may exist: :func:`precise_enough`, and without a log sample at least
    :data:`UNMEASURED_MIN_SUPPORT` pairs behind it."""
    return precise_enough(successes, failures) and (
        logs_measured or successes >= UNMEASURED_MIN_SUPPORT)


def describe(successes: int, failures: int, *, logs_measured: bool = True) -> str:
    """The evidence in words, for a refusal."""
    bound = precision_lower_bound(successes, failures)
    words = (f"{successes} pair(s) show it against {failures} where a person wrote something "
             f"else: precision at least {bound:.2f} at 95% confidence")
    if bound < MIN_PRECISION:
        return f"{words}, below the {MIN_PRECISION:.2f} a rule needs"
    if not logs_measured and successes < UNMEASURED_MIN_SUPPORT:
        return (f"{words}, but with no logs to measure where else it fires a rule needs "
                f"{UNMEASURED_MIN_SUPPORT} pairs")
    return words

"""The golden-selection settings, in one frozen object that checks itself (VT-17).

:class:`SelectionSettings` is what the config's ``selection:`` section parses into
(``SelectionConfig`` extends it with the function and its prompts), what
:func:`~vectortrainer.golden.selection.select_golden`, the extractor and the vector map
take whole, and what a screen builds from what a person typed. Its validity rules live
here, once: the config, the API and the faces share them, and the algorithms trust an
object that exists (it cannot be built invalid, nor changed afterwards).

A bad value raises :class:`~vectortrainer.errors.SettingError`, which names the key
(``epsilon=3.0: must be 'auto' or a cosine distance in (0, 2] ...``), so the config
loader can say the file, the line and ``selection.`` in front of it.

This module imports the standard library and ``vectortrainer.errors`` only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, Self, TypeAlias, TypeGuard

from vectortrainer.errors import SettingError

AUTO: Final = "auto"
# The most of top_k that anomaly_share "auto" gives to new patterns.
MAX_AUTO_ANOMALY_SHARE: Final = 0.25
Auto: TypeAlias = Literal["auto"]
DensityMode: TypeAlias = Literal["auto", "exact", "pruned", "probed", "ann"]
DENSITY_MODES: tuple[DensityMode, ...] = ("auto", "exact", "pruned", "probed", "ann")
# Neighbours within epsilon that make a log a core log (also the k of epsilon "auto").
DEFAULT_MIN_SAMPLES = 5


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _within(
    value: object, low: float, high: float | None = None, *, whole: bool = False,
    above_low: bool = False,
) -> bool:
    """Whether ``value`` is a number (a whole one with ``whole``) from ``low`` (excluded with
    ``above_low``) to ``high`` (None: no upper bound); never NaN or infinite."""
    number: float
    if whole:
        if not _is_whole(value):
            return False
        number = value
    elif _is_number(value):
        number = float(value)
    else:
        return False
    if not math.isfinite(number):  # NaN compares false with every bound: refused explicitly
        return False
    if number < low or (above_low and number == low):
        return False
    return high is None or number <= high


def epsilon_problem(value: object) -> str | None:
    """Why ``value`` is not a valid epsilon (None when it is); the one rule config, API and faces
    share."""
    if value == AUTO or _within(value, 0.0, 2.0, above_low=True):
        return None
    return "must be 'auto' or a cosine distance in (0, 2] (e.g. 0.15 means similarity >= 0.85)"


def top_k_problem(value: object) -> str | None:
    """Why ``value`` is not a valid top-k (None when it is)."""
    return None if _within(value, 1, whole=True) else "must be a whole number of at least 1"


def min_samples_problem(value: object) -> str | None:
    """Why ``value`` is not a valid min_samples (None when it is)."""
    return None if _within(value, 1, 100, whole=True) else "must be a whole number from 1 to 100"


def cluster_similarity_problem(value: object) -> str | None:
    """Why ``value`` is not a valid cluster similarity (None when it is)."""
    if value == AUTO or _within(value, -1.0, 1.0):
        return None
    return "must be 'auto' or a cosine similarity in [-1, 1]"


def anomaly_share_problem(value: object) -> str | None:
    """Why ``value`` is not a valid anomaly share (None when it is)."""
    if value == AUTO or _within(value, 0.0, 1.0):
        return None
    return "must be 'auto' or a share in [0, 1]"


def min_cluster_size_problem(value: object) -> str | None:
    """Why ``value`` is not a valid smallest cluster (None when it is)."""
    return None if _within(value, 2, whole=True) else "must be a whole number of at least 2"


def duplicate_epsilon_problem(value: object) -> str | None:
    """Why ``value`` is not a valid near-duplicate distance (None when it is)."""
    if value is None or _within(value, 0.0, 2.0):
        return None
    return "must be null (epsilon / 4) or a cosine distance in [0, 2]"


def density_mode_problem(value: object) -> str | None:
    """Why ``value`` is not a density mode (None when it is)."""
    if value not in DENSITY_MODES:
        return f"must be one of {', '.join(map(repr, DENSITY_MODES))}"
    return None


# Each setting's rule, in field order (the first bad one is the one reported).
PROBLEMS: dict[str, Callable[[object], str | None]] = {
    "epsilon": epsilon_problem,
    "top_k": top_k_problem,
    "anomaly_share": anomaly_share_problem,
    "min_samples": min_samples_problem,
    "cluster_similarity": cluster_similarity_problem,
    "min_cluster_size": min_cluster_size_problem,
    "duplicate_epsilon": duplicate_epsilon_problem,
    "density_mode": density_mode_problem,
}


@dataclass(frozen=True)
class SelectionSettings:
    """How golden data is selected; valid by construction (a bad value raises ``SettingError``).

    The defaults are the ones the config documents; ``"auto"`` means chosen from the data.
    """

    # "auto": chosen from the data (vectortrainer.golden.epsilon); or a cosine distance in (0, 2].
    epsilon: float | Auto = AUTO
    top_k: int = 20  # golden examples to pick in all
    # Share of top_k given to low-density logs (new patterns); "auto": as many as add more to the
    # coverage of the logs than another steady pick would, up to MAX_AUTO_ANOMALY_SHARE.
    anomaly_share: float | Auto = AUTO
    # Neighbours within epsilon that make a log a core log of a dense cluster.
    min_samples: int = DEFAULT_MIN_SAMPLES
    # How alike two groups of logs must be, on average, to form one cluster; "auto": the data's
    # background.
    cluster_similarity: float | Auto = AUTO
    min_cluster_size: int = 3  # logs a dense cluster needs (with its fringe)
    # Picks at most this cosine distance apart are near-duplicates (null: epsilon / 4).
    duplicate_epsilon: float | None = None
    # How density is computed: exact, pruned (exact, fewer pairs), probed (the pieces nearest each
    # log, error measured), ann (approximate), or auto by size and by what pruning saves.
    density_mode: DensityMode = "auto"

    def __post_init__(self) -> None:
        for key, problem_of in PROBLEMS.items():
            value = getattr(self, key)
            problem = problem_of(value)
            if problem:
                raise SettingError(key, value, problem)

    @property
    def cluster_similarity_value(self) -> float | None:
        """``cluster_similarity`` as the clustering takes it (None: chosen from the data)."""
        return None if self.cluster_similarity == AUTO else float(self.cluster_similarity)

    def replace(self, **changes: object) -> Self:
        """A copy with ``changes`` (field names) applied, checked like a new one."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]  # checked on init

    def settings_only(self) -> SelectionSettings:
        """Just the settings (of a ``SelectionConfig``: without its function and prompts)."""
        return SelectionSettings(
            self.epsilon,
            self.top_k,
            self.anomaly_share,
            self.min_samples,
            self.cluster_similarity,
            self.min_cluster_size,
            self.duplicate_epsilon,
            self.density_mode,
        )

    @classmethod
    def from_snapshot(
        cls, snapshot: Mapping[str, object] | None, default: SelectionSettings
    ) -> SelectionSettings:
        """The settings a run's stored ``selection`` section (its config snapshot) holds.

        Lenient, since the snapshot may come from an older version or a damaged file: each
        key that is missing or not valid is ``default``'s.
        """
        section = snapshot or {}
        values: dict[str, object] = {}
        for key, problem_of in PROBLEMS.items():
            value = _from_json(key, section[key]) if key in section else _MISSING
            values[key] = getattr(default, key) if problem_of(value) else value
        return SelectionSettings(**values)  # type: ignore[arg-type]  # each value passed its rule


DEFAULT_SETTINGS = SelectionSettings()


def require_settings(settings: object) -> SelectionSettings:
    """``settings`` if it is a :class:`SelectionSettings`; a clear TypeError for the old keyword
    shapes (``epsilon=..., top_k=...``) passed where the settings object belongs."""
    if not isinstance(settings, SelectionSettings):
        raise TypeError(
            f"expected SelectionSettings (e.g. SelectionSettings(epsilon=0.15, top_k=20)), "
            f"got {settings!r}"
        )
    return settings


_MISSING = object()
_WHOLE = ("top_k", "min_samples", "min_cluster_size")


def _from_json(key: str, value: object) -> object:
    """``value`` as read back from JSON, made the type ``key`` takes where that loses nothing."""
    if value == AUTO or value is None or key == "density_mode":
        return value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if key in _WHOLE and isinstance(value, float) and value.is_integer():
        return int(value)
    if key not in _WHOLE and _is_whole(value):
        return float(value)
    return value

"""The training metrics every trainer reports and every face plots, by one set of names.

Trainers report per-step metrics under OpenAI's names (the local trainer maps
TRL's to them): ``train_loss``, ``valid_loss``, ``full_valid_loss`` and token
accuracies. The learning curve plots :data:`LOSS_METRICS`; the summary's final loss
is :func:`final_loss`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vectortrainer.json_types import JSONValue

TRAIN_LOSS = "train_loss"
LOSS_METRICS: tuple[str, ...] = ("train_loss", "valid_loss", "full_valid_loss")
# Which loss the summary calls "final": the training loss, else the best validation figure.
_FINAL_LOSS_ORDER: tuple[str, ...] = ("train_loss", "full_valid_loss", "valid_loss")


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def train_loss(metrics: Mapping[str, JSONValue]) -> float | None:
    """The step's training loss, if it reported one."""
    return _number(metrics.get(TRAIN_LOSS))


def losses(metrics: Mapping[str, JSONValue]) -> dict[str, float]:
    """The loss metrics of one step that are finite numbers (what a learning curve plots)."""
    found = {key: _number(metrics.get(key)) for key in LOSS_METRICS}
    return {key: value for key, value in found.items() if value is not None}


def final_loss(metrics: Mapping[str, JSONValue]) -> float | None:
    """The loss a summary reports for these metrics (training loss first)."""
    for key in _FINAL_LOSS_ORDER:
        value = _number(metrics.get(key))
        if value is not None:
            return value
    return None

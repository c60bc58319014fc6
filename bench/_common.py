"""Plumbing the benches share (not a bench itself: run as a script, as `make bench` does, it does
nothing). A bench imports it after putting the checkout on ``sys.path``:
``from bench._common import timed``."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(action: Callable[[], object]) -> float:
    """The wall-clock seconds ``action()`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started

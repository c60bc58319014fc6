"""Waiting for a running process to pick up a change written to disk (a new hook version, a promotion)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout_s: float, poll_s: float) -> T:
    """``check()``'s value once it stops raising ``AssertionError``; its last assertion after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(poll_s)

"""Waiting in Pilot tests for what the app does, never for a fixed number of rounds.

Work happens in thread workers, and a finished worker often posts a message whose
handler starts the next one (select -> show -> refresh bindings ...). So "settled"
means: no worker pending or running, several event-loop rounds in a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.worker import WorkerState

QUIET_ROUNDS = 3
BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


async def settle(pilot, timeout_s: float = 30.0) -> None:
    """Return once no worker has been pending or running for a few event-loop rounds."""
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < QUIET_ROUNDS:
        if time.monotonic() > deadline:
            busy = [w.description or w.name for w in pilot.app.workers if w.state in BUSY]
            raise AssertionError(f"the app did not settle within {timeout_s:.0f} s; still running: {busy}")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        quiet = quiet + 1 if not any(w.state in BUSY for w in pilot.app.workers) else 0


async def wait_until(pilot, condition: Callable[[], bool], what: str, timeout_s: float = 30.0, *,
                     then_settle: bool = True) -> None:
    """Pause until ``condition()`` holds (then settle); fail naming ``what`` did not happen."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:.0f} s (screen: {pilot.app.screen})")
        await pilot.pause(0.05)
    if then_settle:
        await settle(pilot, timeout_s)
    else:
        await pilot.pause()


async def wait_for_screen(pilot, kind: type, timeout_s: float = 30.0) -> None:
    """Pause until a screen of ``kind`` is on top and mounted.

    No settling: a modal is often what a worker waits for (the budget confirmation).
    """
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen.is_mounted,
                     f"{kind.__name__} appearing", timeout_s, then_settle=False)

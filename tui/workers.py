"""How the app runs blocking work: one worker thread per job, never on the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work


def in_background(group: str, description: str) -> Callable[[Callable[..., Any]], Any]:
    """Run the decorated method in a worker thread; a newer job of ``group`` replaces an older one.

    Failures are not raised in the app: the screens report them (``Worker.StateChanged``).
    """
    return work(
        thread=True, exclusive=True, exit_on_error=False, group=group, description=description
    )

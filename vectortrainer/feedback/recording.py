"""One call that records a correction from the user's own code (VT-24): :func:`record`.

.. code-block:: python

    from vectortrainer.feedback import record

    record("summarize_ticket", bad_output=reply, fixed_output=edited,
           inputs={"ticket": ticket, "tier": tier})          # or trace_id=...

It appends one pair to the feedback file every face reads (``.vectortrainer/feedback.jsonl``
unless ``path`` or ``VECTORTRAINER_FEEDBACK`` names another), exactly as the app's Feedback
screen stores one: the input rendered as the log's ChatML user message, the function and the
call's scalar arguments as the context (what ``with_hook`` gives the rules), and the trace id,
which is kept but never becomes a rule condition.

Safe from many threads and processes at once: each append holds the same lock file the
feedback store takes (``<file>.lock``, an ``flock``), so no line is torn and no rewrite by the
app loses it. Standard library only (it runs inside production processes, like
:mod:`vectortrainer.runtime`); an append costs one small write, whatever the file's size.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from vectortrainer.files import jsonl_line
from vectortrainer.golden.chatml import render_user
from vectortrainer.json_types import JSONObject, JSONValue
from vectortrainer.registry.layout import DEFAULT_FEEDBACK_PATH

__all__ = ["record", "FEEDBACK_PATH_ENV"]

FEEDBACK_PATH_ENV = "VECTORTRAINER_FEEDBACK"
LOCK_TIMEOUT_S = 30.0
_SCALARS = (str, int, float, bool)
_thread_lock = threading.Lock()  # flock is per open file: threads of one process queue here


def record(
    function: str,
    bad_output: str,
    fixed_output: str,
    *,
    inputs: Mapping[str, JSONValue] | None = None,
    trace_id: str | None = None,
    context: Mapping[str, JSONValue] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> str:
    """Record that ``function`` answered ``bad_output`` where ``fixed_output`` was right; returns
    the pair's id.

    ``inputs`` are the call's arguments (what VectorWave captured); ``trace_id`` ties the pair
    to a logged call when the inputs are not at hand. ``context`` adds keys of your own (a
    customer tier, a locale). Raises ``ValueError`` for a pair that teaches nothing (empty or
    unchanged text) and ``TimeoutError`` when the file stays locked for 30 s.
    """
    if not function or not isinstance(function, str):
        raise ValueError("record: name the function whose output was corrected")
    if not isinstance(bad_output, str) or not isinstance(fixed_output, str):
        raise ValueError("record: bad_output and fixed_output must be text")
    if not fixed_output.strip() or bad_output == fixed_output:
        raise ValueError("record: the fixed output is empty or the same as the bad one")
    pair_context: JSONObject = {"function": function}
    if inputs:
        pair_context.update((k, v) for k, v in inputs.items() if isinstance(v, _SCALARS))
    if context:
        pair_context.update(context)
    if trace_id:
        pair_context["trace_id"] = str(trace_id)
    entry_id = uuid.uuid4().hex[:12]
    line = jsonl_line({
        "id": entry_id,
        "bad_output": bad_output,
        "fixed_output": fixed_output,
        "input_prompt": render_user(dict(inputs)) if inputs else "",
        "context": pair_context,
    }, sort_keys=True, default=str)
    target = Path(path or os.environ.get(FEEDBACK_PATH_ENV) or DEFAULT_FEEDBACK_PATH)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(Path(f"{target}.lock")):
        _append(target, line)
    return entry_id


def _append(path: Path, line: str) -> None:
    """Append ``line`` and a newline, after one if the file's last line has none (a hand edit)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        size = os.fstat(fd).st_size
        starts_clean = size == 0 or os.pread(fd, 1, size - 1) == b"\n"
        data = ("" if starts_clean else "\n") + line + "\n"
        os.write(fd, data.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold ``lock_path`` exclusively (the lock the feedback store's ``FileLock`` takes)."""
    import fcntl  # POSIX: the feedback store's lock is an flock on the same file

    deadline = time.monotonic() + LOCK_TIMEOUT_S
    with _thread_lock:
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{lock_path} stayed locked for {LOCK_TIMEOUT_S:.0f} s; "
                                       "is a process stuck writing feedback?") from None
                time.sleep(0.01)
                continue
            # The holder before us may have removed the file: a lock on a removed file is none.
            if _same_file(fd, lock_path):
                break
            os.close(fd)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)

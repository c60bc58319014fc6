"""The writers' lock of a versions folder: exclusive for writers, shared for readers, says who holds
it.

A writer takes ``flock(LOCK_EX)`` on ``.lock`` and writes who it is into it (pid,
host, since); a reader takes ``LOCK_SH`` on the same file when it exists and
creates nothing, so listing and verifying change no file. Both wait a short,
bounded time, then fail with one line naming the holder. The lock file is opened
with ``O_NOFOLLOW``: a symbolic link there is refused, never followed.

Where ``fcntl`` is missing (Windows) writers fall back to :mod:`filelock` and
readers do not lock (every file is replaced atomically, so a reader still sees
whole files).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from vectortrainer.errors import VersionLockError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
POLL_S = 0.05


class StoreLock:
    """``exclusive()`` for writers, ``shared()`` for readers, on ``path``; ``what`` names the folder
    in messages."""

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float, what: str) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self.what = what

    def _open(self, flags: int) -> int | None:
        nofollow = getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(
                self.path,
                flags | nofollow | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0),
                0o666,
            )
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK) or self.path.is_symlink():
                raise VersionLockError(
                    f"{self.path}: the {self.what} lock is a symbolic link; remove it "
                    f"(vectortrainer makes its own lock file) and try again"
                ) from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise VersionLockError(
                f"{self.path}: the {self.what} lock is not a regular file; remove it and try again"
            )
        return fd

    def _wait(self, fd: int, mode: int) -> None:
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self.holder(fd)
                    os.close(fd)
                    raise VersionLockError(
                        f"{self.what} is being changed by another writer "
                        f"({holder}); waited {self.timeout_s:g} s for its "
                        f"lock {self.path}: try again when it has finished"
                    ) from None
                time.sleep(POLL_S)

    @staticmethod
    def holder(fd: int) -> str:
        """Who wrote themselves into the lock: ``pid 123 on host since 2026-...Z``."""
        try:
            record = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
        except (OSError, ValueError):
            record = {}
        if not isinstance(record, dict) or "pid" not in record:
            return "a process that did not say who it is"
        return (
            f"pid {record.get('pid')} on {record.get('host', '?')} since {record.get('since', '?')}"
        )

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the lock alone (writers); creates ``.lock`` and writes who holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover - Windows
            from filelock import FileLock, Timeout

            try:
                with FileLock(str(self.path), timeout=self.timeout_s):
                    yield
            except Timeout:
                raise VersionLockError(
                    f"{self.what} is being changed by another "
                    "writer; try again when it has finished"
                ) from None
            return
        fd = self._open(os.O_RDWR | os.O_CREAT)
        assert fd is not None
        self._wait(fd, fcntl.LOCK_EX)
        try:
            since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            os.ftruncate(fd, 0)
            os.pwrite(
                fd,
                json.dumps(
                    {"pid": os.getpid(), "host": socket.gethostname(), "since": since}
                ).encode(),
                0,
            )
            yield
        finally:
            try:
                os.ftruncate(fd, 0)
            finally:
                os.close(fd)  # closing releases the flock

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the lock with other readers (no writer meanwhile); creates and writes nothing."""
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        fd = self._open(os.O_RDONLY)
        if fd is None:  # no writer has ever run here
            yield
            return
        self._wait(fd, fcntl.LOCK_SH)
        try:
            yield
        finally:
            os.close(fd)

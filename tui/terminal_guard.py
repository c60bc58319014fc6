"""Keep stray output off the terminal while the full-screen app owns it, and notice when the
terminal goes away.

Textual draws through ``sys.__stderr__`` (file descriptor 2). Native libraries
(LanceDB's Rust core, tokenizers) and Python logging also write to fd 2, which
would tear the screen. While the app runs we move Textual onto a duplicate of
the terminal descriptor and point fd 2 and the logging root at a log file.

A closed terminal window or a dropped SSH session hangs the terminal up. The app is not always
told: under ``make run``, make is the session's leader and takes the SIGHUP, then waits for the
app, which never gets one. Textual's input thread reads end-of-file from a hung-up terminal as
from a pipe and polls on, so the app would stay behind, alone, spending a core.
:func:`terminal_is_gone` is what the app checks for it; :func:`draw_nowhere` lets it quit
without Textual's last writes failing on the dead terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def stderr_to_file(log_path: Path) -> Iterator[Path]:
    """Send fd 2 and Python logging to ``log_path``; Textual keeps the real terminal."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_dunder_stderr, saved_stderr = sys.__stderr__, sys.stderr
    terminal_fd = os.dup(2)
    terminal = os.fdopen(terminal_fd, "w", buffering=1, encoding="utf-8", errors="replace")
    log_file = open(log_path, "a", buffering=1, encoding="utf-8")
    try:
        os.dup2(log_file.fileno(), 2)
        sys.__stderr__ = terminal  # type: ignore[misc]  # Textual's driver writes here
        sys.stderr = log_file
        handler = logging.StreamHandler(log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.handlers = [handler]
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        yield log_path
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        logging.captureWarnings(False)
        with contextlib.suppress(Exception):
            terminal.flush()
        os.dup2(terminal_fd, 2)
        sys.__stderr__ = saved_dunder_stderr  # type: ignore[misc]
        sys.stderr = saved_stderr
        terminal.close()
        log_file.close()


def terminal_is_gone(fd: int) -> bool:
    """Whether the terminal on ``fd`` has been hung up (or closed): it is then no terminal at all,
    and every terminal call on it fails."""
    try:
        return not os.isatty(fd)
    except OSError:  # a closed descriptor
        return True


def draw_nowhere(stream: IO[str]) -> None:
    """Point ``stream`` (where Textual draws) at the null device: once the terminal is hung up,
    a write to it fails, and Textual's writer thread would end on that error."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)

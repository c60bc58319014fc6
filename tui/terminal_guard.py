"""Keep stray output off the terminal while the full-screen app owns it.

Textual draws through ``sys.__stderr__`` (file descriptor 2). Native libraries
(LanceDB's Rust core, tokenizers) and Python logging also write to fd 2, which
would tear the screen. While the app runs we move Textual onto a duplicate of
the terminal descriptor and point fd 2 and the logging root at a log file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path


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

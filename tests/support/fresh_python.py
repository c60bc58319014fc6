"""Running a snippet in a fresh interpreter: what a new process imports and prints."""

from __future__ import annotations

import subprocess
import sys


def printed_words(script: str) -> list[str]:
    """The words ``script`` prints, run as ``python -c`` in a new process (which must succeed)."""
    command = [sys.executable, "-c", script]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()

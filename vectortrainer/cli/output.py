"""Where a command's words go: messages and progress on stderr, data (JSON) on stdout, redacted.

Harlequin's headless mode treats its output as an API; so do we: a script reads stdout, a person
reads stderr.
"""

from __future__ import annotations

import json
import sys
from typing import IO, cast

from rich.console import Console
from rich.markup import escape

from vectortrainer.cli.exit_codes import ExitCode
from vectortrainer.json_types import JSONValue
from vectortrainer.redaction import RedactingStream, known_secret_values, redact_text

# RedactingStream has the text-stream methods Console uses; it is no io.TextIOBase.
stderr_console = Console(file=cast(IO[str], RedactingStream("stderr")), highlight=False)
# What a command was asked for (a table of results) goes to stdout; progress and errors to stderr.
stdout_console = Console(file=cast(IO[str], RedactingStream("stdout")), highlight=False)


def fail(message: str, code: ExitCode = ExitCode.RUN_FAILED) -> int:
    """Print one clear line to stderr and return the exit code."""
    # escaped: a message quotes what others wrote (a provider's answer, a path, a URL's "[/path]"),
    # which is no markup and must neither vanish nor break the print
    stderr_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    return int(code)


def write_stdout(text: str) -> None:
    """One record of data on stdout (a newline added when missing), secrets redacted."""
    text = redact_text(text)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


_WRITE_CHARS = 1 << 16  # encoded text written (and redacted) at a time


def write_json(data: object, *, ensure_ascii: bool = True) -> None:
    """``data`` as one JSON record on stdout, secrets redacted, written as it is encoded: the rules
    document of 10,000 real pairs is 50 MB of text (70,000 refused candidates), never held whole.

    A secret sits inside one JSON string and the encoder hands each string over whole, so text cut
    between the encoder's pieces is redacted as the whole would be."""
    secrets = known_secret_values()
    pending: list[str] = []
    size = 0
    for piece in json.JSONEncoder(ensure_ascii=ensure_ascii).iterencode(data):
        pending.append(piece)
        size += len(piece)
        if size >= _WRITE_CHARS:
            sys.stdout.write(redact_text("".join(pending), secrets))
            pending, size = [], 0
    sys.stdout.write(redact_text("".join(pending), secrets) + "\n")
    sys.stdout.flush()


def answer(as_json: bool, data: JSONValue, message: str) -> int:
    """``data`` as JSON on stdout when asked (``--json``), else ``message`` for a person, also on
    stdout (what the command did is its result; stderr is for progress, warnings and errors);
    exit 0."""
    if as_json:
        write_json(data)
    else:
        stdout_console.print(message, soft_wrap=True)
    return 0

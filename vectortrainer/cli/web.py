"""`vectortrainer web`: start the Streamlit companion (run status, vector map, learning curve,
hooks).

Streamlit runs as a child process (``python -m streamlit run vectortrainer/web/app.py``),
headless, on loopback only (the page can roll back the active hook), with usage
statistics off. The config is validated here first, so a bad flag is one line
and exit code 2 rather than a page full of errors.

Each start makes a fresh access token (:func:`secrets.token_urlsafe`), prints the
address with it (``http://127.0.0.1:8501/?token=…``, the way notebook servers do) and
hands it to the app in its environment (not its command line, which other local users
can read): without it the page is read-only.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

from vectortrainer.cli.common import add_command, config_from_args
from vectortrainer.cli.output import stderr_console
from vectortrainer.errors import ConfigError
from vectortrainer.redaction import redact_text
from vectortrainer.web.access import ACCESS_TOKEN_ENV

APP_SCRIPT = Path(__file__).resolve().parent.parent / "web" / "app.py"
DEFAULT_PORT = 8501
ADDRESS = "127.0.0.1"


def register(subparsers: argparse._SubParsersAction) -> None:
    web = add_command(subparsers, "web", "open the Streamlit dashboard in a browser (loopback "
                      "only)", web_command, "--hooks-dir", "--models-dir")
    web.add_argument("--port", type=int, default=DEFAULT_PORT, metavar="N",
                     help=f"port (default {DEFAULT_PORT})")


def streamlit_command(args: argparse.Namespace) -> list[str]:
    """The command line that starts Streamlit on the app with the resolved settings."""
    port = args.port
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port {port}: must be between 1 and 65535")
    config = config_from_args(args)
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", ADDRESS,
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal",
        # Streamlit's own welcome names the address without the token: ours is the one to copy.
        "--logger.hideWelcomeMessage", "true",
        "--",
        "--output-dir", str(Path(config.output_dir).resolve()),
        "--store", str(Path(config.store.path).resolve()),
        "--hooks-dir", str(Path(config.hooks.dir).resolve()),
        "--models-dir", str(Path(config.models.dir).resolve()),
    ]
    if getattr(args, "config", None):
        command += ["--config", str(Path(args.config).resolve())]
    return command


def new_access_token() -> str:
    """A fresh token for one start of the dashboard (its write actions need it).

    Drawn again in the rare case it looks like a credential (``…sk-…``), which the redacted
    stderr would mask, printing an address that does not work.
    """
    while True:
        token = secrets.token_urlsafe(24)
        if redact_text(token) == token:
            return token


def web_command(args: argparse.Namespace) -> int:
    command = streamlit_command(args)
    token = new_access_token()
    stderr_console.print(
        f"VectorTrainer dashboard on http://{ADDRESS}:{args.port}/?token={token} "
        f"(Ctrl-C stops it; without the token the page is read-only)",
        soft_wrap=True,
    )
    process = subprocess.Popen(command, env={**os.environ, ACCESS_TOKEN_ENV: token})
    # A terminal's Ctrl-C reaches the child by itself; SIGTERM sent to us alone must be passed on,
    # or Streamlit would outlive the command that started it.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: process.send_signal(signum))
    try:
        return process.wait()
    except KeyboardInterrupt:
        _stop(process)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop(process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """Let Streamlit finish after Ctrl-C; kill it if it does not."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

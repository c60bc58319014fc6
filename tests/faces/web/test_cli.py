"""`vectortrainer web`: the Streamlit command line it builds, its one-line errors, and that
stopping it stops Streamlit too."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.web_server import free_port, wait_healthy
from vectortrainer.cli import build_parser, main
from vectortrainer.cli.web import APP_SCRIPT, streamlit_command


def _command(*argv: str) -> list[str]:
    return streamlit_command(build_parser().parse_args(["web", *argv]))


def test_streamlit_runs_headless_on_loopback_with_the_resolved_settings(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"hooks:\n  dir: {tmp_path / 'hooks-from-config'}\nstore:\n  path: {tmp_path / 's'}\n"
                      f"models:\n  dir: {tmp_path / 'models-from-config'}\n", encoding="utf-8")
    command = _command("--port", "9123", "--output-dir", str(tmp_path / "out"), "--config", str(config))
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT)]
    assert APP_SCRIPT.is_file()
    options, app_args = command[5:command.index("--")], command[command.index("--") + 1:]
    pairs = dict(zip(options[::2], options[1::2]))
    assert pairs["--server.headless"] == "true" and pairs["--server.port"] == "9123"
    assert pairs["--server.address"] == "127.0.0.1" and pairs["--browser.gatherUsageStats"] == "false"
    assert pairs["--logger.hideWelcomeMessage"] == "true"  # no token-less address printed after ours
    app = dict(zip(app_args[::2], app_args[1::2]))
    assert app == {"--output-dir": str((tmp_path / "out").resolve()), "--store": str((tmp_path / "s").resolve()),
                   "--hooks-dir": str((tmp_path / "hooks-from-config").resolve()), "--config": str(config.resolve()),
                   "--models-dir": str((tmp_path / "models-from-config").resolve())}
    flag = _command("--hooks-dir", str(tmp_path / "h"))
    assert flag[flag.index("--hooks-dir") + 1] == str((tmp_path / "h").resolve())


def test_the_app_script_reads_the_same_arguments(tmp_path):
    from vectortrainer.web.app import load_settings

    config = load_settings(["--output-dir", str(tmp_path / "o"), "--store", str(tmp_path / "s"),
                            "--hooks-dir", str(tmp_path / "h")])
    assert (Path(config.output_dir), Path(config.store.path), Path(config.hooks.dir)) == (
        tmp_path / "o", tmp_path / "s", tmp_path / "h")


@pytest.mark.parametrize("argv, message", [
    (["web", "--port", "0"], "--port 0: must be between 1 and 65535"),
    (["web", "--config", "no-such-config.yaml"], "config file not found"),
])
def test_bad_input_is_one_line_and_exit_code_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


class _RecordedStart:
    """Stands in for the Streamlit child (the real one is started by the slow tests): what it was given."""

    starts: list[dict] = []

    def __init__(self, command, env=None):
        self.starts.append({"command": command, "env": env})

    def wait(self, timeout=None):
        return 0


def test_each_start_prints_an_address_with_a_fresh_token_and_hands_it_over_off_the_command_line(
        tmp_path, capsys, monkeypatch):
    from vectortrainer.cli import web
    from vectortrainer.web.access import ACCESS_TOKEN_ENV

    monkeypatch.setattr(web.subprocess, "Popen", _RecordedStart)
    _RecordedStart.starts.clear()
    printed = []
    for _ in range(2):
        assert main(["web", "--output-dir", str(tmp_path), "--port", "9123"]) == 0
        printed.append(capsys.readouterr().err)

    tokens = []
    for err, start in zip(printed, _RecordedStart.starts):
        address = next(word for word in err.split() if word.startswith("http://"))
        assert address.startswith("http://127.0.0.1:9123/?token=")
        token = address.partition("?token=")[2]
        assert len(token) >= 32 and start["env"][ACCESS_TOKEN_ENV] == token
        assert token not in " ".join(start["command"])  # not visible in the process list
        tokens.append(token)
    assert tokens[0] != tokens[1]


@pytest.mark.slow
def test_stopping_the_command_stops_streamlit_and_the_only_address_printed_has_the_token(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "vectortrainer", "web", "--output-dir", str(tmp_path),
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        time.sleep(1)  # Streamlit would print its welcome just after it starts serving
        process.send_signal(signal.SIGTERM)  # to the command only, not to its process group
        printed = process.communicate(timeout=30)[0]
        addresses = [word for word in printed.split() if word.startswith("http")]
        assert addresses and all("?token=" in address for address in addresses), printed
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).close()
            except OSError:
                return  # nothing listens any more: Streamlit stopped with the command
            time.sleep(0.3)
        pytest.fail("Streamlit still serves after `vectortrainer web` was stopped")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_token_that_the_redacted_stderr_would_mask_is_drawn_again(monkeypatch):
    from vectortrainer.cli import web

    draws = iter(["abcsk-0123456789abcdef", "a-clean-token-0123456789"])
    monkeypatch.setattr(web.secrets, "token_urlsafe", lambda n: next(draws))
    assert web.new_access_token() == "a-clean-token-0123456789"

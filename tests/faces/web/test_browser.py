"""Smoke test of the real thing: `vectortrainer web` starts Streamlit on loopback and headless
Chromium loads the page (skipped where no Chromium is installed)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.support import web_runs as ws
from tests.support.web_server import free_port, wait_healthy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,900")


@pytest.fixture
def dashboard(tmp_path):
    """`vectortrainer web` on a free loopback port over a finished run and a hook store."""
    run = ws.finished_run(tmp_path / "out")
    ws.hook_store(tmp_path / "hooks")
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "vectortrainer", "web", "--output-dir", str(tmp_path / "out"),
         "--hooks-dir", str(tmp_path / "hooks"), "--store", str(tmp_path / "store"), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield printed_address(tmp_path / "server.log"), run.run_id
    finally:
        # The server runs in its own session: stop it and its Streamlit child together.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def printed_address(log: Path) -> str:
    """The address `vectortrainer web` printed, with this start's access token."""
    words = log.read_text(encoding="utf-8", errors="replace").split()
    address = next(word for word in words if word.startswith("http://127.0.0.1:"))
    assert "/?token=" in address
    return address


class _Browser:
    """Headless Chromium driven over the DevTools protocol (real time, unlike --virtual-time-budget,
    which runs out before Streamlit's first script run answers on a busy machine)."""

    def __init__(self, profile: Path, url: str) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--remote-debugging-port={port}",
             "--remote-allow-origins=*", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.socket = connect(self._page_socket_url(port), max_size=64 * 1024 * 1024)
        self.next_id = 0

    def _page_socket_url(self, port: int, timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                    pages = [t for t in json.loads(response.read()) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError("Chromium's DevTools endpoint did not come up")

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str) -> object:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for_text(self, texts: tuple[str, ...], timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        body = ""
        while time.monotonic() < deadline:
            body = self.evaluate("document.body ? document.body.innerText : ''") or ""
            if all(text in body for text in texts):
                return body
            time.sleep(0.5)
        missing = [text for text in texts if text not in body]
        raise AssertionError(f"{missing} not on the page after {timeout_s:.0f} s; it shows: {body[:500]!r}")

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        self.socket.close()
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium installed (apt-get install chromium)")
def test_dashboard_loads_in_headless_chromium(dashboard, tmp_path):
    url, run_id = dashboard
    browser = _Browser(tmp_path / "chromium-profile", url)
    try:
        # Rendered by the app over Streamlit's websocket, not part of the static page.
        browser.wait_for_text(("VectorTrainer", "Run status", "Stages", run_id, "held-out edit similarity",
                               "0.820 (base model 0.610)"))
        shot = browser.screenshot(tmp_path / "run-status.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        # Open the learning curve the way a person does (click the page's label) and wait for the chart.
        clicked = browser.evaluate(
            "(() => { const l = [...document.querySelectorAll('label')]"
            ".find(e => e.innerText.trim() === 'Learning curve'); if (l) l.click(); return !!l; })()")
        assert clicked
        browser.wait_for_text(("final loss", "0.9000"))
        deadline = time.monotonic() + 60
        while not browser.evaluate("document.querySelectorAll('.vega-embed canvas, .vega-embed svg').length"):
            assert time.monotonic() < deadline, "the learning curve chart was not drawn"
            time.sleep(0.5)
        browser.screenshot(tmp_path / "learning-curve.png")
        # Opened with the printed token, the page offers the rollback (behind its confirmation).
        assert browser.evaluate(
            "(() => { const l = [...document.querySelectorAll('label')]"
            ".find(e => e.innerText.trim() === 'Hook versions'); if (l) l.click(); return !!l; })()")
        browser.wait_for_text(("Roll back", f"Replace {ws.FUNCTION}'s hook (v003) with",
                               "1 added, 1 removed, 0 changed"))
        browser.screenshot(tmp_path / "hook-versions.png")
    finally:
        browser.close()

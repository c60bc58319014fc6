"""A hung-up terminal ends the app (a closed window, a dropped SSH session): under `make run` no
SIGHUP reaches it, and Textual alone would poll the dead terminal on, a core busy, for good."""

from __future__ import annotations

import asyncio
import os

from tests.support.tui_fixtures import FixtureLogSource, fixture_config
from tui.app import TERMINAL_CHECK_SECONDS, TERMINAL_CLOSED, make_app
from tui.terminal_guard import draw_nowhere, terminal_is_gone


def test_a_terminal_is_gone_once_hung_up_or_closed() -> None:
    controller, terminal = os.openpty()
    assert not terminal_is_gone(terminal)
    os.close(controller)  # what closing the window does to the app's side
    assert terminal_is_gone(terminal)
    os.close(terminal)
    assert terminal_is_gone(terminal)


def test_the_app_quits_within_a_second_of_its_terminal_hanging_up(tmp_path, monkeypatch) -> None:
    controller, terminal = os.openpty()
    drawn = (tmp_path / "screen").open("w")

    async def run() -> tuple[bool, int | None]:
        app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
        async with app.run_test(size=(100, 30)) as pilot:
            app.watch_terminal(terminal, drawn)
            await pilot.pause(TERMINAL_CHECK_SECONDS * 1.5)
            running_with_a_terminal = app.is_running and app.return_value is None
            os.close(controller)
            await pilot.pause(TERMINAL_CHECK_SECONDS * 1.5)
        return running_with_a_terminal, app.return_value

    try:
        running_with_a_terminal, status = asyncio.run(run())
        # the stream Textual drew on now writes nowhere, so its last writes cannot fail
        drawn.write("after")
        drawn.flush()
    finally:
        drawn.close()
        os.close(terminal)
    assert running_with_a_terminal
    assert status == TERMINAL_CLOSED
    assert (tmp_path / "screen").read_text() == ""


def test_drawing_nowhere_leaves_a_stream_without_a_descriptor_as_it_was() -> None:
    import io

    stream = io.StringIO("drawn")
    draw_nowhere(stream)  # no fileno: nothing to point elsewhere, and no error
    stream.seek(0, io.SEEK_END)
    stream.write(" still")
    assert stream.getvalue() == "drawn still"

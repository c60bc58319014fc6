"""The Hooks screen's "In service" panel shows a running canary with its share, and `x` stops it after a
confirmation: the promoted model serves every call again (issue 26)."""

from __future__ import annotations

import pytest

from screens.confirm import ConfirmScreen
from tests.support.pilot import settle, wait_for_screen, wait_until
from tests.support.tui_fixtures import FixtureLogSource, fixture_config, two_models
from tui.app import make_app
from vectortrainer.registry.models import ModelRegistry

SIZE = (120, 40)
FUNCTION = "answer_support_ticket"
pytestmark = pytest.mark.anyio


async def test_x_stops_the_canary_after_a_confirmation(tmp_path, monkeypatch):
    config = fixture_config(tmp_path, monkeypatch).with_overrides(**{"selection.function": FUNCTION})
    two_models(config, FUNCTION)
    registry = ModelRegistry(config.models.dir, FUNCTION)
    registry.start_canary("m002", 0.25)
    app = make_app(config, source=FixtureLogSource())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f6")
        await settle(pilot)
        screen = app.screen
        await wait_until(pilot, lambda: screen.service is not None, "the models in service")
        assert "x" in {binding.key for binding in screen.BINDINGS}
        lines = str(screen.query_one("#service-lines").render())
        assert "canary: m002 ft:gpt-4o-mini-2024-07-18:acme:vt:bbb222 serves 25% of calls beside m001" in lines
        await pilot.press("x")
        await wait_for_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.service.canary is None, "the canary stopping")
        assert "last canary: m002 canary stopped by a person" in str(screen.query_one("#service-lines").render())
        await pilot.press("x")  # nothing running now: the key says so
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
    assert registry.canary() is None and registry.promoted().version_id == "m001"
    assert registry.list()[1].canary["decided_by"] == "person"

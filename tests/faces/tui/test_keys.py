"""Keys remapped from the config by binding id (`keys:`), and a clear error for an id that does not exist."""

from __future__ import annotations

import pytest

from tests.support.pilot import settle, wait_until
from tests.support.tui_fixtures import FixtureLogSource, fixture_config
from tui.app import binding_ids, make_app
from tui.keys import check_keymap
from vectortrainer.errors import ConfigError

pytestmark = pytest.mark.anyio


def test_unknown_binding_id_is_refused_with_a_suggestion() -> None:
    assert {"dataset.select", "app.quit", "hooks.rollback"} <= binding_ids()
    with pytest.raises(ConfigError, match=r"keys\.dataset\.selekt: no such binding \(did you mean 'dataset\.select'\?\)"):
        check_keymap({"dataset.selekt": "f8"}, binding_ids())
    with pytest.raises(ConfigError, match="give one or more keys"):
        check_keymap({"dataset.select": " "}, binding_ids())


async def test_a_remapped_key_runs_the_binding_and_the_old_one_does_not(tmp_path, monkeypatch) -> None:
    config = fixture_config(tmp_path, monkeypatch)
    app = make_app(config, source=FixtureLogSource(), keymap=check_keymap({"dataset.select": "f8"}, binding_ids()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.store_state == "ready", "the store opening")
        await pilot.press("s")  # the default key no longer selects
        await settle(pilot)
        assert app.selection is None
        await pilot.press("f8")
        await wait_until(pilot, lambda: app.selection is not None, "the selection")
        assert app.selection.candidates

"""The app paints before anything heavy loads: importing tui/ and screens/ pulls no VectorWave, torch or vendor SDK."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO_ROOT

# Seconds or hundreds of milliseconds each; tiktoken (about 20 ms) and numpy (about 0.1 s) are not on the list.
HEAVY = ("vectorwave", "torch", "sentence_transformers", "transformers", "lancedb", "openai", "faiss", "scipy",
         "numba", "streamlit")


def test_tui_import_is_light():
    code = (
        "import sys, tui.app, screens.dataset, screens.feedback, screens.rules, screens.training, "
        "screens.hooks, tui.help, screens.budget, screens.confirm\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=REPO_ROOT)
    assert result.stdout.strip() == "", f"heavy modules imported at TUI import time: {result.stdout.strip()}"


def test_palette_commands_follow_the_screen(tmp_path, monkeypatch):
    import asyncio

    from tests.support.tui_fixtures import FixtureLogSource, fixture_config
    from tui.app import make_app

    async def titles_per_mode() -> dict[str, list[str]]:
        app = make_app(fixture_config(tmp_path, monkeypatch), source=FixtureLogSource())
        seen = {}
        async with app.run_test(size=(120, 40)) as pilot:
            for key, mode in (("f2", "dataset"), ("f6", "hooks")):
                await pilot.press(key)
                await pilot.pause()
                seen[mode] = [command.title for command in app.get_system_commands(app.screen)]
        return seen

    seen = asyncio.run(titles_per_mode())
    assert "Dataset: Select" in seen["dataset"] and "Hooks: Reload" not in seen["dataset"]
    assert "Hooks: Reload" in seen["hooks"] and "Dataset: Select" not in seen["hooks"]

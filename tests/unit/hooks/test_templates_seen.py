"""A hook version saved before an upgrade stays restorable: validation accepts the exact template
of every earlier version (vectortrainer/hooks/templates_seen.py), and nothing else."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from vectortrainer.errors import HookValidationError, HookVersionError
from vectortrainer.hooks.template import render_hook, template_fingerprint
from vectortrainer.hooks.templates_seen import TEMPLATE_FINGERPRINTS
from vectortrainer.hooks.validation import validate_hook_source
from vectortrainer.hooks.versions import HookVersionManager

EARLIER = Path(__file__).resolve().parents[2] / "data" / "hooks"
EARLIER_HOOKS = sorted(EARLIER.glob("hook-*.py"))


def _today(rules: list[dict]) -> str:
    return render_hook(json.dumps({"version": 1, "rules": rules}))


def test_todays_template_is_listed_so_its_hooks_stay_restorable_after_the_next_change() -> None:
    fingerprint = template_fingerprint(render_hook(""))
    assert fingerprint in TEMPLATE_FINGERPRINTS, (
        f"the hook template changed: add {fingerprint!r} to TEMPLATE_FINGERPRINTS in "
        "vectortrainer/hooks/templates_seen.py (and keep the old ones)")


def test_the_fingerprint_is_the_templates_whatever_the_rules() -> None:
    rule = {"kind": "replace", "pattern": "teh", "replacement": "the"}
    assert template_fingerprint(_today([rule])) == template_fingerprint(_today([])) == \
        template_fingerprint(render_hook(""))


@pytest.mark.parametrize("path", EARLIER_HOOKS, ids=lambda path: path.stem)
def test_a_hook_an_earlier_version_wrote_is_valid_and_can_be_rolled_back_to(path: Path, tmp_path: Path) -> None:
    """Before, every hook version saved before an interpreter change was refused on rollback as
    "edited or tampered with"."""
    earlier = path.read_text(encoding="utf-8")
    assert template_fingerprint(earlier) != template_fingerprint(render_hook(""))
    assert validate_hook_source(earlier) == 2
    manager = HookVersionManager(tmp_path)
    first = manager.save_version(earlier, 2, note="written before the upgrade")
    manager.save_version(_today([{"kind": "replace", "pattern": "colour", "replacement": "color"}]), 1)
    restored = manager.rollback()
    assert restored.version_id == first
    assert manager.active_path.read_text(encoding="utf-8") == earlier
    spec = importlib.util.spec_from_file_location("restored_hook", manager.active_path)
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert hook.intercept_output("You will recieve it", {"channel": "email"}) == \
        "You will receive it Best regards."


@pytest.mark.parametrize("edit", [
    ("MAX_SCAN_CHARS = 1000000", "MAX_SCAN_CHARS = 2000000"),
    ("import re\n", "import re\n\n\n"),  # even a change of layout: the text is the template
])
def test_an_edited_earlier_hook_is_refused_and_not_restored(edit: tuple[str, str], tmp_path: Path) -> None:
    earlier = EARLIER_HOOKS[-1].read_text(encoding="utf-8")
    assert edit[0] in earlier
    edited = earlier.replace(edit[0], edit[1], 1)
    with pytest.raises(HookValidationError, match="edited or tampered with"):
        validate_hook_source(edited)
    manager = HookVersionManager(tmp_path)
    manager.save_version(edited, 2)
    live = _today([])
    manager.save_version(live, 0)
    with pytest.raises(HookVersionError, match="edited or tampered with"):
        manager.rollback()
    assert manager.active_path.read_text(encoding="utf-8") == live

"""Every function its own hook (VT-18): a rollback undoes by the history, `off` runs a function with
no hook and a rollback brings it back, each function runs only its own rules, and a hooks directory
of the older one-hook layout keeps working with one notice."""

from __future__ import annotations

import json
import logging
import time

import pytest

from vectortrainer.errors import HookVersionError
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.runtime import with_hook

INTERVAL = 0.05
REFUSED = {"passed": False, "reason": "it changes 1 of 20 good outputs"}


def _hook(prefix: str) -> str:
    return render_hook(rules_document([Rule("strip_prefix", prefix)]))


def _rules_json(manager: HookVersionManager) -> dict:
    return json.loads(manager.rules_path.read_text(encoding="utf-8"))


def test_rollback_returns_to_what_was_live_before_never_to_a_version_rolled_back_from(tmp_path):
    hooks = HookVersionManager.for_function(tmp_path, "f")
    hooks.save_version(_hook("A: "), 1, origin="cli")  # v001 live
    hooks.save_version(_hook("B: "), 1, origin="app")  # v002 live
    assert hooks.rollback().version_id == "v001"  # the user rejects v002
    for n in range(6):  # v003..v008: refused by the gate, never live
        hooks.save_version(_hook(f"R{n}: "), 1, activate=False, gate=REFUSED, origin=f"run r{n}")
    hooks.save_version(_hook("N: "), 1, origin="loop run r9")  # v009 live

    restored = hooks.rollback()

    assert restored.version_id == "v001"  # what was live just before v009, not v002 nor v008
    assert _rules_json(hooks)["version"] == "v001" and _rules_json(hooks)["hook"] == str(hooks.active_path)
    states = {v.version_id: (v.state, v.origin) for v in hooks.list_versions()}
    assert states["v001"] == ("active", "cli")
    assert states["v002"] == ("rolled back from", "app")
    assert states["v005"] == ("refused by its gate", "run r2")
    assert states["v009"] == ("rolled back from", "loop run r9")
    # Nothing live before v001: a default rollback has nowhere to go and says so.
    with pytest.raises(HookVersionError):
        hooks.rollback()
    assert hooks.get_active_version().version_id == "v001"


def test_a_function_can_run_with_no_hook_and_a_rollback_brings_its_hook_back(tmp_path):
    hooks = HookVersionManager.for_function(tmp_path, "f")
    hooks.save_version(_hook("A: "), 1)
    hooks.save_version(_hook("B: "), 1)

    switched_off = hooks.deactivate()

    assert switched_off.version_id == "v002" and not hooks.active_path.exists()
    assert hooks.get_active_version() is None and _rules_json(hooks)["version"] is None
    assert {v.version_id: v.state for v in hooks.list_versions()}["v002"] == "switched off"
    assert hooks.rollback().version_id == "v002"  # off is undone: not a rejection of v002
    assert _rules_json(hooks)["version"] == "v002" and hooks.active_path.exists()


def _served(hooks_dir, name: str):
    def answer(text: str) -> str:
        return f"Summary: Note: {text}"

    answer.__name__ = name
    return with_hook(hooks_dir, reload_interval=INTERVAL)(answer)


def test_each_function_runs_only_its_own_hook_from_one_hooks_directory(tmp_path):
    summarize, reply = _served(tmp_path, "summarize"), _served(tmp_path, "reply")
    HookVersionManager.for_function(tmp_path, "summarize").save_version(_hook("Summary: "), 1)
    time.sleep(INTERVAL * 2)
    assert summarize("late") == "Note: late" and reply("late") == "Summary: Note: late"

    HookVersionManager.for_function(tmp_path, "reply").save_version(
        render_hook(rules_document([Rule("replace", "Note:", "NB:")])), 1)
    time.sleep(INTERVAL * 2)
    assert summarize("late") == "Note: late" and reply("late") == "Summary: NB: late"

    HookVersionManager.for_function(tmp_path, "reply").deactivate()
    time.sleep(INTERVAL * 2)
    assert summarize("late") == "Note: late" and reply("late") == "Summary: Note: late"


def test_a_one_hook_directory_keeps_working_with_one_notice(tmp_path, caplog):
    legacy = HookVersionManager(tmp_path)  # the older layout: the hook at the directory's top
    legacy.save_version(_hook("Summary: "), 1)
    summarize, reply = _served(tmp_path, "summarize"), _served(tmp_path, "reply")
    with caplog.at_level(logging.WARNING, logger="vectortrainer.runtime"):
        assert [summarize("a"), reply("b"), summarize("c")] == ["Note: a", "Note: b", "Note: c"]
    notices = [r.getMessage() for r in caplog.records if "one-hook layout" in r.getMessage()]
    assert len(notices) == 1 and "generated_prompt_hook.py" in notices[0]

    # A hook made for one function from now on is its own; the other keeps the old one.
    HookVersionManager.for_function(tmp_path, "summarize").save_version(
        render_hook(rules_document([Rule("replace", "Note:", "NB:")])), 1)
    time.sleep(INTERVAL * 2)
    assert summarize("a") == "Summary: NB: a" and reply("b") == "Note: b"

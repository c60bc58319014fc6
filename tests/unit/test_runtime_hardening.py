"""vectortrainer.runtime cannot be taken over or hung by a file (issue 29, findings 2 and 3).

Finding 2: production ran any file in the hooks folder (a planted hook ran code through ``os`` and
patched ``builtins``), ``SystemExit`` and ``KeyboardInterrupt`` from a hook reached the caller,
and ``promoted.json`` was followed through links and served any string. Finding 3: a FIFO, a link
to ``/dev/zero``, a huge file, or a hook that loops at import or per call hung or stalled the
calling thread. Every call here runs in a watched thread, so a regression fails instead of hanging.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import re
import threading
import time

import pytest

from vectortrainer import runtime
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.runtime import promoted_model, with_hook

INTERVAL = 0.05
RAW = "Summary: late order (pro)"
HOOKED = "late order (pro)"  # what the good hook (v001) makes of RAW
MARK = "vt_planted_hook"
INTERCEPTS = ("def intercept_prompt(text, context=None):\n    return text\n\n"
              "def intercept_output(text, context=None):\n    return 'taken over'\n")


@pytest.fixture(autouse=True)
def _undo_what_a_planted_hook_did(monkeypatch):
    """A hook that did run (a regression) must not leak into other tests."""
    monkeypatch.delenv("VT_PLANTED_HOOK", raising=False)
    yield
    for holder in (builtins, re):
        if hasattr(holder, MARK):
            delattr(holder, MARK)
    os.environ.pop("VT_PLANTED_HOOK", None)


def _good_hook() -> str:
    return render_hook(rules_document([Rule("strip_prefix", "Summary: ")]))


def _served(hooks_dir, name: str = "summarize"):
    def summarize(ticket: str, tier: str) -> str:
        return f"Summary: {ticket} ({tier})"

    summarize.__name__ = name
    return with_hook(hooks_dir, reload_interval=INTERVAL)(summarize)


def _within(seconds: float, call):
    """``call()``'s value, from a thread that must finish within ``seconds``; whatever it raises
    (BaseException included) fails the test."""
    box: dict = {}

    def run():
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - the assertion below reports it
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the call was still running after {seconds} s"
    assert "error" not in box, f"{box.get('error')!r} reached the caller"
    return box["value"]


def _after_reload() -> None:
    time.sleep(INTERVAL * 2)


def _messages(caplog, level=logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def _planted_marks() -> list[str]:
    marks = [f"{holder.__name__}.{MARK}" for holder in (builtins, re) if hasattr(holder, MARK)]
    return marks + (["os.environ"] if "VT_PLANTED_HOOK" in os.environ else [])


# ---------------------------------------------------------------------------------- finding 2
def test_a_planted_hook_file_is_refused_and_the_last_good_hook_kept(tmp_path, caplog):
    hooks = HookVersionManager.for_function(tmp_path, "summarize")
    hooks.save_version(_good_hook(), 1)
    running = _served(tmp_path)
    assert _within(5, lambda: running("late order", "pro")) == HOOKED

    # Written in place of the active hook, not by VectorTrainer's writer: no manifest entry.
    hooks.active_path.write_text(
        f"import builtins, os\nbuiltins.{MARK} = True\nos.environ['VT_PLANTED_HOOK'] = 'ran'\n"
        + INTERCEPTS, encoding="utf-8")
    _after_reload()
    starting = _served(tmp_path)  # a process that starts now, with no good hook to keep
    with caplog.at_level(logging.WARNING, logger="vectortrainer.runtime"):
        assert [_within(5, lambda: running("late order", "pro")) for _ in range(3)] == [HOOKED] * 3
        assert _within(5, lambda: starting("late order", "pro")) == RAW

    assert _planted_marks() == []
    assert running.hook_slot.version_id == "v001" and starting.hook_slot.version_id is None
    refused = [m for m in _messages(caplog) if "refused" in m]  # one line for the file
    assert len(refused) == 1 and "no version its manifest names as active" in refused[0]
    assert "keeping hook v001" in refused[0]


@pytest.mark.parametrize("code", [
    "import os\nos.environ['VT_PLANTED_HOOK'] = 'ran'\n",
    f"import re\nre.enum.sys.modules['builtins'].{MARK} = True\n",
    f"import re\nre.{MARK} = True\n",
    f"running = (x for x in [1])\nrunning.gi_frame.f_builtins['{MARK}'] = True\n",
], ids=["import os", "builtins through re.enum.sys", "patch a module", "builtins through a frame"])
def test_code_outside_the_hook_allowlist_is_refused_at_load_even_when_saved_as_a_version(
        tmp_path, code, caplog):
    hooks = HookVersionManager.for_function(tmp_path, "summarize")
    hooks.save_version(code + INTERCEPTS, 0)  # the manifest vouches for these bytes
    summarize = _served(tmp_path)

    with caplog.at_level(logging.WARNING, logger="vectortrainer.runtime"):
        assert [_within(5, lambda: summarize("late order", "pro")) for _ in range(2)] == [RAW] * 2

    assert _planted_marks() == []
    failed = [m for m in _messages(caplog) if "failed to load" in m]
    assert len(failed) == 1 and "HookCodeError" in failed[0], _messages(caplog)


@pytest.mark.parametrize("error", ["SystemExit(3)", "KeyboardInterrupt()"])
@pytest.mark.parametrize("where", ["import", "prompt", "output"])
def test_systemexit_and_keyboardinterrupt_from_a_hook_never_reach_the_function(
        tmp_path, error, where, caplog):
    hooks = HookVersionManager.for_function(tmp_path, "summarize")
    hooks.save_version(_good_hook(), 1)
    summarize = _served(tmp_path)
    assert _within(5, lambda: summarize("late order", "pro")) == HOOKED

    prompt = f"    raise {error}\n" if where == "prompt" else "    return text\n"
    output = f"    raise {error}\n" if where == "output" else "    return 'taken over'\n"
    hooks.save_version((f"raise {error}\n" if where == "import" else "")
                       + "def intercept_prompt(text, context=None):\n" + prompt
                       + "\ndef intercept_output(text, context=None):\n" + output, 0)
    _after_reload()
    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        results = [_within(5, lambda: summarize("late order", "pro")) for _ in range(3)]

    assert results == [HOOKED] * 3  # the error stops at the hook boundary; v001 takes over
    assert len(_messages(caplog, logging.ERROR)) == 1, _messages(caplog)
    assert error.split("(")[0] in _messages(caplog, logging.ERROR)[0]


def test_promoted_json_is_never_followed_through_a_link_and_implausible_models_are_refused(
        tmp_path, caplog):
    models = tmp_path / "models"
    registry = ModelRegistry(models, "classify_intent")
    registry.register(provider="openai", model="ft:good", promote=True)

    def current():
        return promoted_model("classify_intent", models_dir=models, default="base",
                              reload_interval=INTERVAL)

    assert _within(5, current) == "ft:good"
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"model": "ft:planted"}), encoding="utf-8")
    path = registry.promoted_path
    served = []
    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        path.unlink()
        path.symlink_to(elsewhere)
        _after_reload()
        served.append(_within(5, current))
        for model in ("ft:a\x00b", "ft:a\nINFO injected log line", "ft:" + "x" * 300_000,
                      "ft:a\u2028b", "   "):
            path.unlink()
            path.write_text(json.dumps({"model": model}), encoding="utf-8")
            _after_reload()
            served += [_within(5, current), _within(5, current)]

    assert served == ["ft:good"] * 11  # the last good model, every time
    errors = _messages(caplog, logging.ERROR)
    assert len(errors) == 6, errors  # once for the link, once for each bad file
    assert "symbolic link" in errors[0]
    assert all("\x00" not in m and "\n" not in m for m in errors)
    assert promoted_model("classify_intent", models_dir=tmp_path / "none", default="base") == "base"


# ---------------------------------------------------------------------------------- finding 3
def _unblock_reader(fifo) -> None:
    """Let a reader stuck on ``fifo`` (a regression) go: a writer that opens and closes it."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_a_fifo_in_place_of_the_hook_or_promoted_json_never_blocks(tmp_path, caplog):
    hooks = HookVersionManager.for_function(tmp_path / "hooks", "summarize")
    hooks.output_dir.mkdir(parents=True)
    os.mkfifo(hooks.active_path)
    models = tmp_path / "models"
    promoted = models / "classify_intent" / "promoted.json"
    promoted.parent.mkdir(parents=True)
    os.mkfifo(promoted)
    summarize = _served(tmp_path / "hooks")
    try:
        with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
            assert _within(2, lambda: summarize("late order", "pro")) == RAW
            assert _within(2, lambda: promoted_model(
                "classify_intent", models_dir=models, default="base")) == "base"
    finally:
        _unblock_reader(hooks.active_path)
        _unblock_reader(promoted)
    errors = _messages(caplog, logging.ERROR)
    assert len(errors) == 2 and all("not a regular file" in m for m in errors), errors


def test_an_oversized_or_linked_hook_or_promoted_json_is_never_read(tmp_path, caplog):
    # A valid hook padded past 1 MB, saved as a version (so only its size is wrong).
    big = HookVersionManager.for_function(tmp_path / "big", "summarize")
    big.save_version(_good_hook() + "#" * (1 << 20) + "\n", 1)
    # A good hook, saved as a version, then its file replaced by a link to the very same bytes.
    linked = HookVersionManager.for_function(tmp_path / "linked", "summarize")
    linked.save_version(_good_hook(), 1)
    copy = tmp_path / "copy.py"
    copy.write_bytes(linked.active_path.read_bytes())
    linked.active_path.unlink()
    linked.active_path.symlink_to(copy)
    models = tmp_path / "models"
    registry = ModelRegistry(models, "classify_intent")
    registry.register(provider="openai", model="ft:good", promote=True)
    registry.promoted_path.write_text(json.dumps({"model": "ft:big", "pad": "x" * (64 << 10)}),
                                      encoding="utf-8")

    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        started = time.monotonic()
        assert _within(5, lambda: _served(tmp_path / "big")("late order", "pro")) == RAW
        assert _within(5, lambda: _served(tmp_path / "linked")("late order", "pro")) == RAW
        assert _within(5, lambda: promoted_model(
            "classify_intent", models_dir=models, default="base")) == "base"
        assert time.monotonic() - started < 2
        # A link to /dev/zero (read whole, it never ends) is refused the same way, at once.
        zero = HookVersionManager.for_function(tmp_path / "zero", "summarize")
        zero.output_dir.mkdir(parents=True)
        zero.active_path.symlink_to("/dev/zero")
        zero_models = tmp_path / "zero-models"
        (zero_models / "f").mkdir(parents=True)
        (zero_models / "f" / "promoted.json").symlink_to("/dev/zero")
        assert _within(2, lambda: _served(tmp_path / "zero")("late order", "pro")) == RAW
        assert _within(2, lambda: promoted_model("f", models_dir=zero_models, default="base")) == "base"

    errors = _messages(caplog, logging.ERROR)
    assert len(errors) == 5, errors
    assert "over the limit" in errors[0] and "symbolic link" in errors[1], errors
    assert "over the limit" in errors[2] and all("symbolic link" in m for m in errors[3:]), errors


def test_a_hook_that_loops_at_import_is_given_up_while_the_last_good_hook_serves(
        tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(runtime, "LOAD_WAIT_S", 0.05, raising=False)
    monkeypatch.setattr(runtime, "LOAD_LIMIT_S", 0.5, raising=False)
    hooks = HookVersionManager.for_function(tmp_path, "summarize")
    hooks.save_version(_good_hook(), 1)
    summarize = _served(tmp_path)
    assert _within(5, lambda: summarize("late order", "pro")) == HOOKED
    # Passes the allowlist, never ends: the list it walks grows by one at every step (slowly).
    hooks.save_version("import re\nTEXT = 'a b ' + 'a b ' + 'a b '\nSEEN = [1]\n"
                       "for item in SEEN:\n    SEEN.append(len(re.sub('a', 'b', TEXT)))\n"
                       + INTERCEPTS, 0)
    _after_reload()

    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        started = time.monotonic()
        assert _within(2, lambda: summarize("late order", "pro")) == HOOKED  # v001 meanwhile
        assert time.monotonic() - started < 1
        time.sleep(0.6)
        assert _within(2, lambda: summarize("late order", "pro")) == HOOKED
        # The next version reaches the process: nothing stays stuck on the looping one.
        hooks.save_version(render_hook(rules_document([Rule("replace", "late", "delayed")])), 1)
        _after_reload()
        assert _within(2, lambda: summarize("late order", "pro")) == "Summary: delayed order (pro)"

    errors = _messages(caplog, logging.ERROR)
    assert len(errors) == 1 and "did not finish loading" in errors[0], errors
    time.sleep(0.1)  # the loading thread was stopped, not left spinning
    assert not [t for t in threading.enumerate() if t.name.startswith("vectortrainer-hook-load")]


@pytest.mark.parametrize("loop", [
    "    while True:\n        continue\n",
    "    for item in iter(int, 1):\n        continue\n",
    "    return intercept_output(text, context)\n",
], ids=["while", "endless iterator", "recursion"])
def test_a_hook_that_would_loop_in_a_call_is_refused_at_load(tmp_path, loop, caplog):
    hooks = HookVersionManager.for_function(tmp_path, "summarize")
    hooks.save_version(_good_hook(), 1)
    summarize = _served(tmp_path)
    assert _within(5, lambda: summarize("late order", "pro")) == HOOKED
    hooks.save_version("def intercept_prompt(text, context=None):\n    return text\n\n"
                       "def intercept_output(text, context=None):\n" + loop, 0)
    _after_reload()

    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        assert [_within(2, lambda: summarize("late order", "pro")) for _ in range(2)] == [HOOKED] * 2

    errors = _messages(caplog, logging.ERROR)
    assert len(errors) == 1 and "failed to load" in errors[0] and "HookCodeError" in errors[0]


def test_one_call_uses_one_hook_version_for_its_prompt_and_its_output(tmp_path):
    def version(tag: str) -> str:
        return render_hook(rules_document([Rule("replace", "pls", f"please-{tag}", target="prompt"),
                                           Rule("append", replacement=f" [{tag}]")]))

    hooks = HookVersionManager.for_function(tmp_path, "summarize")
    hooks.save_version(version("v1"), 2)

    @with_hook(tmp_path, reload_interval=0)
    def summarize(ticket: str) -> str:
        return ticket

    assert summarize("pls") == "please-v1 [v1]"
    slot, look = summarize.hook_slot, summarize.hook_slot.current
    switched = []

    def look_then_switch():  # a new version lands right after the call took its hook
        hook = look()
        if not switched:
            switched.append(hooks.save_version(version("v2"), 2))
        return hook

    slot.current = look_then_switch
    assert summarize("pls") == "please-v1 [v1]"
    assert summarize("pls") == "please-v2 [v2]"

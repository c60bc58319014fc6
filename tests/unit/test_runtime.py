"""vectortrainer.runtime: the active hook and the promoted model inside a running function (VT-13).

Every test runs the wrapped function in this process and changes the files under it
the way VectorTrainer does (new versions, promotions, rollbacks), or damages them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tests.support import REPO_ROOT
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.runtime import promoted_model, with_hook

INTERVAL = 0.05


def _hook(*rules: Rule) -> str:
    return render_hook(rules_document(list(rules)))


def _after_reload() -> None:
    time.sleep(INTERVAL * 2)


@pytest.fixture
def hooks(tmp_path):
    return HookVersionManager(tmp_path / "hooks")


def _summarize(hooks_dir, **options):
    @with_hook(hooks_dir, reload_interval=INTERVAL, **options)
    def summarize(ticket: str, tier: str) -> str:
        return f"Summary: {ticket} ({tier})"

    return summarize


def test_prompt_and_output_go_through_the_active_hook_with_the_arguments_as_context(hooks):
    hooks.save_version(_hook(Rule("strip_prefix", "Summary: "),
                             Rule("append", replacement=" Escalate.", condition={"tier": "enterprise"}),
                             Rule("replace", "pls", "please", target="prompt")), 3)
    summarize = _summarize(hooks.output_dir)

    assert summarize("refund pls", "free") == "refund please (free)"
    assert summarize("refund pls", tier="enterprise") == "refund please (enterprise) Escalate."
    assert summarize.hook_slot.version_id == "v001"
    assert summarize.__name__ == "summarize"  # still the user's function to VectorWave and to readers


def test_the_prompt_argument_can_be_named_and_non_strings_pass_untouched(hooks):
    hooks.save_version(_hook(Rule("replace", "pls", "please", target="prompt")), 1)

    @with_hook(hooks.output_dir, prompt_arg="question", reload_interval=INTERVAL)
    def answer(system: str, question: str) -> dict:
        return {"system": system, "question": question}

    assert answer("pls be brief", "help pls") == {"system": "pls be brief", "question": "help please"}
    with pytest.raises(ValueError, match="has no argument 'prompt'"):
        with_hook(hooks.output_dir, prompt_arg="prompt")(answer.__wrapped__)


def test_a_new_version_and_a_rollback_reach_the_running_function_without_a_restart(hooks):
    summarize = _summarize(hooks.output_dir)
    assert summarize("late order", "pro") == "Summary: late order (pro)"  # no hook yet: unchanged

    hooks.save_version(_hook(Rule("strip_prefix", "Summary: ")), 1)
    _after_reload()
    assert summarize("late order", "pro") == "late order (pro)"

    hooks.save_version(_hook(Rule("replace", "late", "delayed")), 1)
    _after_reload()
    assert summarize("late order", "pro") == "Summary: delayed order (pro)"
    assert summarize.hook_slot.version_id == "v002"

    hooks.rollback()
    _after_reload()
    assert summarize("late order", "pro") == "late order (pro)"
    assert summarize.hook_slot.version_id == "v001"


def test_a_hook_that_raises_is_logged_once_and_the_last_good_hook_takes_over(hooks, caplog):
    hooks.save_version(_hook(Rule("strip_prefix", "Summary: ")), 1)
    summarize = _summarize(hooks.output_dir)
    assert summarize("x", "free") == "x (free)"
    # A hook whose output step raises (generated hooks never do), saved as a version: the runtime
    # loads only a file the manifest vouches for (a hand-written one is refused, see
    # tests/unit/test_runtime_hardening.py).
    hooks.save_version(
        "def intercept_prompt(text, context=None):\n    return text\n\n"
        "def intercept_output(text, context=None):\n    raise RuntimeError('boom')\n", 0)
    _after_reload()
    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        assert [summarize("x", "free") for _ in range(3)] == ["x (free)"] * 3  # v001 kept working
    raised = [r for r in caplog.records if "raised in intercept_output" in r.getMessage()]
    assert len(raised) == 1 and "boom" in raised[0].getMessage()
    assert summarize.hook_slot.version_id == "v001"


@pytest.mark.parametrize("broken", ["syntax", "no functions", "returns bytes"])
def test_a_hook_that_fails_to_load_or_misbehaves_never_breaks_the_function(hooks, broken, caplog):
    summarize = _summarize(hooks.output_dir)
    text = {"syntax": "def intercept_prompt(:\n",
            "no functions": "VALUE = 1\n",
            "returns bytes": "def intercept_prompt(t, c=None):\n    return b'x'\n\n"
                             "def intercept_output(t, c=None):\n    return b'x'\n"}[broken]
    hooks.save_version(text, 0)  # saved as a version, so the manifest vouches for its bytes
    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        assert summarize("late order", "pro") == "Summary: late order (pro)"
        assert summarize("late order", "pro") == "Summary: late order (pro)"
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


@pytest.mark.parametrize("damage", ["half-written", "missing"])
def test_a_damaged_manifest_never_breaks_the_function(hooks, damage, caplog):
    # The manifest is what vouches for the hook file: a running process keeps the hook it
    # loaded; one starting without a readable manifest runs without a hook, logged once.
    hooks.save_version(_hook(Rule("strip_prefix", "Summary: ")), 1)
    running = _summarize(hooks.output_dir)
    assert running("x", "free") == "x (free)"
    if damage == "missing":
        hooks.manifest_path.unlink()
    else:
        hooks.manifest_path.write_text(hooks.manifest_path.read_text()[:50], encoding="utf-8")
    _after_reload()
    starting = _summarize(hooks.output_dir)
    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        assert [starting("x", "free") for _ in range(3)] == ["Summary: x (free)"] * 3
        assert [running("x", "free") for _ in range(3)] == ["x (free)"] * 3
    assert running.hook_slot.version_id == "v001" and starting.hook_slot.version_id is None
    refused = [r for r in caplog.records if "cannot vouch" in r.getMessage()]
    assert len(refused) == 1, [r.getMessage() for r in caplog.records]


def test_async_functions_are_wrapped_as_coroutines(hooks):
    hooks.save_version(_hook(Rule("strip_prefix", "Summary: ")), 1)

    @with_hook(hooks.output_dir, reload_interval=INTERVAL)
    async def summarize(ticket: str) -> str:
        await asyncio.sleep(0)
        return f"Summary: {ticket}"

    async def main():
        return await asyncio.gather(*(summarize(f"t{i}") for i in range(5)))

    assert asyncio.run(main()) == [f"t{i}" for i in range(5)]


def test_threads_see_one_whole_hook_at_a_time_while_versions_change(hooks):
    hooks.save_version(_hook(Rule("replace", "late", "delayed")), 1)
    summarize = _summarize(hooks.output_dir)
    seen, errors, stop = set(), [], threading.Event()

    def call():
        while not stop.is_set():
            try:
                seen.add(summarize("late order", "pro"))
            except Exception as exc:  # pragma: no cover - the assertion below reports it
                errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(4):
        hooks.save_version(_hook(Rule("replace", "late", "overdue")), 1)
        time.sleep(INTERVAL * 1.5)
        hooks.rollback("v001")
        time.sleep(INTERVAL * 1.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert not errors
    assert seen == {"Summary: delayed order (pro)", "Summary: overdue order (pro)"}


# ------------------------------------------------------------------------------ promoted_model
def test_promoted_model_follows_promotion_and_rollback(tmp_path):
    models = tmp_path / "models"

    def current():
        return promoted_model("summarize_ticket", models_dir=models, default="gpt-4o-mini", reload_interval=INTERVAL)

    assert current() == "gpt-4o-mini"  # nothing registered yet
    registry = ModelRegistry(models, "summarize_ticket")
    registry.register(provider="openai", model="ft:one", promote=True)
    _after_reload()
    assert current() == "ft:one"
    registry.register(provider="openai", model="ft:two", promote=True)
    registry.register(provider="openai", model="ft:kept", promote=False)
    _after_reload()
    assert current() == "ft:two"
    registry.rollback()
    _after_reload()
    assert current() == "ft:one"


def test_a_model_served_through_a_deployment_is_called_by_the_deployments_name(tmp_path):
    models = tmp_path / "models"
    registry = ModelRegistry(models, "summarize_ticket")
    registry.register(provider="azure", model="gpt-4o-mini-2024-07-18.ft-abc", promote=True,
                      serving={"served_as": "vt-1a2b3c4d", "id": "vt-1a2b3c4d", "hourly_usd": 1.7})
    assert promoted_model("summarize_ticket", models_dir=models, default="base") == "vt-1a2b3c4d"
    assert registry.promoted().served_as == "vt-1a2b3c4d"


@pytest.mark.parametrize("damage", ["garbage", "no model", "directory removed"])
def test_a_damaged_or_missing_registry_gives_the_last_good_model_or_the_default(tmp_path, damage, caplog):
    models = tmp_path / "models"
    registry = ModelRegistry(models, "classify_intent")
    registry.register(provider="openai", model="ft:good", promote=True)

    def current():
        return promoted_model("classify_intent", models_dir=models, default="base", reload_interval=INTERVAL)

    assert current() == "ft:good"
    if damage == "directory removed":
        import shutil

        shutil.rmtree(models)
        expected = "base"
    else:
        registry.promoted_path.write_text("{" if damage == "garbage" else json.dumps({"model": ""}), encoding="utf-8")
        expected = "ft:good"
    _after_reload()
    with caplog.at_level(logging.ERROR, logger="vectortrainer.runtime"):
        assert [current() for _ in range(3)] == [expected] * 3
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == (0 if damage == "directory removed" else 1)
    assert promoted_model("", models_dir=tmp_path / "nowhere", default="base") == "base"


def test_the_runtime_imports_only_the_standard_library(tmp_path, hooks):
    hooks.save_version(_hook(Rule("strip_prefix", "Summary: ")), 1)
    ModelRegistry(tmp_path / "models", "f").register(provider="openai", model="ft:x", promote=True)
    code = textwrap.dedent(f"""
        import sys
        before = set(sys.modules)
        from vectortrainer.runtime import with_hook, promoted_model

        @with_hook({str(hooks.output_dir)!r})
        def f(ticket, tier):
            return "Summary: " + promoted_model("f", models_dir={str(tmp_path / "models")!r}, default="base")

        assert f("a", "free") == "ft:x", f("a", "free")
        heavy = ("numpy", "vectorwave", "openai", "torch", "filelock", "yaml", "rapidfuzz", "rich", "lancedb")
        print([m for m in heavy if m in sys.modules])
        outside = sorted({{m.split(".")[0] for m in set(sys.modules) - before}} - set(sys.stdlib_module_names) - {{"vectortrainer"}})
        print(outside)
        print(sorted(m for m in sys.modules if m.startswith("vectortrainer")))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    heavy, outside, engine = result.stdout.strip().splitlines()
    assert heavy == "[]" and outside == "[]", result.stdout
    assert engine == ("['vectortrainer', 'vectortrainer.registry', 'vectortrainer.registry.hook_code', "
                      "'vectortrainer.registry.layout', 'vectortrainer.registry.routing', "
                      "'vectortrainer.runtime']")

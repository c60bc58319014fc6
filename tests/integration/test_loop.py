"""The whole loop, twice, in one process (VT-13's "done when"): a seeded store, the stand-in, and a
wrapped demo function served through `with_hook` and `promoted_model` while cycles run beside it.

Cycle 1 trains, passes the gate and promotes; the running function answers with the promoted model
and the gated hook at once. Cycle 2 (new feedback) is made to regress: not promoted, the function
keeps the promoted model. A person then promotes the refused model and rolls it back, and rolls the
hook back: each reaches the running function within its reload interval, without a restart.
"""

from __future__ import annotations

import importlib.util

import openai
import pytest

from tests.support.eventually import eventually
from tests.support.pipelines import FUNCTION, demo_feedback, make_config
from vectortrainer.cli import main
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.golden.chatml import render_user
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.loop import run_cycle
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.runs.status import RunStatus
from vectortrainer.runtime import promoted_model, with_hook

pytestmark = pytest.mark.slow
RELOAD = 0.2
BASE = "gpt-4o-mini-2024-07-18"
TICKET = ("I returned the headphones from order 4242 two weeks ago and still have no refund.", "pro")


def _active_hook(hooks_dir):
    spec = importlib.util.spec_from_file_location("expected_hook", hooks_dir / FUNCTION / "generated_prompt_hook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _new_feedback(n=10):
    """A correction the first hook never saw: the team calls refund summaries 'Refund delay'."""
    return [FeedbackPair(f"Summary: Refund issue - refund for returned order {4000 + i} has not arrived. "
                         f"Priority: normal.",
                         f"Refund delay - refund for returned order #{4000 + i} has not arrived. Priority: normal.",
                         render_user({"ticket": f"Refund for returned order {4000 + i} has not arrived.",
                                      "tier": "pro"}),
                         {"function": FUNCTION, "tier": "pro"}) for i in range(n)]


def _eventually(check):
    return eventually(check, timeout_s=RELOAD * 50, poll_s=RELOAD / 4)  # returns at the first pass; room for a slow CI


def test_the_whole_loop_twice_with_the_served_function_following_every_change(seeded_store, openai_standin,
                                                                              monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", openai_standin.api_key)
    feedback = demo_feedback(tmp_path)
    config = make_config(tmp_path, seeded_store, openai_standin.base_url, feedback=feedback,
                         loop={"min_new_logs": 50, "min_new_feedback": 5})
    client = openai.OpenAI(base_url=openai_standin.base_url, api_key=openai_standin.api_key, max_retries=0)
    served: list[tuple[str, str]] = []  # (model that answered, its raw reply)

    @with_hook(config.hooks.dir, prompt_arg="ticket", reload_interval=RELOAD)
    def summarize_ticket(ticket: str, tier: str) -> str:
        model = promoted_model(FUNCTION, models_dir=config.models.dir, default=BASE, reload_interval=RELOAD)
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": render_user({"ticket": ticket, "tier": tier})}])
        served.append((model, reply.choices[0].message.content))
        return reply.choices[0].message.content

    def serves(model, hook_version):
        def check():
            output = summarize_ticket(*TICKET)
            assert served[-1][0] == model
            assert summarize_ticket.hook_slot.version_id == hook_version
            expected = served[-1][1] if hook_version is None else \
                _active_hook(config.hooks.dir).intercept_output(served[-1][1], {"function": FUNCTION, "tier": "pro"})
            assert output == expected
            return output
        return _eventually(check)

    serves(BASE, None)  # before any cycle: the base model, no hook

    # ---- cycle 1: trains, passes the gate, promotes; the hook passes its gate too
    first = run_cycle(config)
    assert first.ran and first.outcome.status == RunStatus.SUCCEEDED, first.message
    registry = ModelRegistry(config.models.dir, FUNCTION)
    champion = registry.promoted()
    hooks = HookVersionManager.for_function(config.hooks.dir, FUNCTION)
    assert champion.version_id == "m001" and hooks.get_active_version().version_id == "v001"
    assert hooks.get_active_version().origin == f"loop run {first.outcome.run_id}"
    with_v001 = serves(champion.model, "v001")
    assert not with_v001.startswith("Summary: ")  # the hook's prefix rule reached the running function

    # ---- nothing new: a cycle (from cron) says so and exits 0
    assert main(["loop", "--once", "--config", str(config.source)]) == 0
    assert "nothing to do" in capsys.readouterr().err

    # ---- cycle 2: new feedback arrives, the trained model regresses: kept, not promoted
    FeedbackStore(feedback).add_many(_new_feedback())
    openai_standin.degrade_next_models()
    second = run_cycle(config)
    assert second.ran and second.outcome.status == RunStatus.NOT_PROMOTED, second.message
    assert "10 new feedback pairs" in second.trigger.reason
    assert [(m.version_id, m.promoted) for m in registry.list()] == [("m001", True), ("m002", False)]
    assert hooks.get_active_version().version_id == "v002"  # the new correction passed the hook gate
    with_v002 = serves(champion.model, "v002")
    assert with_v002 != with_v001 and "Refund delay" in with_v002

    # ---- a person overrides the gate, sees the regression, and rolls the model back: no restart
    assert main(["models", "promote", "m002", "--function", FUNCTION, "--models-dir", str(config.models.dir)]) == 0
    serves(registry.list()[1].model, "v002")
    assert served[-1][1] == "I am not sure."
    assert main(["models", "rollback", "--function", FUNCTION, "--models-dir", str(config.models.dir)]) == 0
    serves(champion.model, "v002")

    # ---- and rolls the hook back
    assert main(["hooks", "rollback", "--function", FUNCTION, "--hooks-dir", str(config.hooks.dir)]) == 0
    assert serves(champion.model, "v001") == with_v001


def test_batch_with_a_loop_section_runs_a_cycle_and_says_when_there_is_nothing_to_do(seeded_store, tmp_path, capsys):
    import json

    from tests.support.pipelines import write_config

    config = write_config(tmp_path / "config.yaml", store=seeded_store, output_dir=tmp_path / "out",
                          loop={"enabled": True, "min_new_logs": 100_000, "min_new_feedback": 1_000})
    assert main(["--batch", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ran"] is False and report["exit_code"] == 0
    assert report["message"].startswith(f"nothing to do for {FUNCTION}: 355 new successful logs (need 100000)")

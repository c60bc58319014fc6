"""VT-18's "done when": every function its own loop, in one live process.

Three decorated functions (the demo's names and arguments) are served through `with_hook` from one
hooks directory, over the demo's real VectorWave Lite store. Each function's feedback is synthesized
(`vectortrainer rules synthesize`, which only looks) and cycled by the loop, one function at a time;
the loop's hook stage makes the function's rules live through the hook gate. Each function's outputs
change only by its own rules, the others keep theirs after every cycle, new corrections go live for one
function from the CLI, and a rollback of that function reaches the live process within its reload interval
and touches no other function.

The cycles stop at the budget (a cent's fraction): the hook stage runs before any cost, so the loop is
real and nothing is trained or paid for.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.support.eventually import eventually
from tests.support.pipelines import demo_feedback, make_config, placeholder_key
from vectortrainer.cli import main
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.loop import run_cycle
from vectortrainer.runs.status import RunStatus
from vectortrainer.runtime import with_hook

pytestmark = pytest.mark.slow
RELOAD = 0.2
FUNCTIONS = ("classify_intent", "draft_reply", "summarize_ticket")
# What each function's model answers, fixed: only the hooks change what the callers get. The reply
# mentions billing, a word classify_intent's label rules rename: it must never reach draft_reply.
RAW = {
    "classify_intent": '{"intent": "billing", "confidence": 0.81}',
    "draft_reply": "Hi Anna, thanks for reaching out about your billing address for order 4242. "
                   "We have updated it. Best regards, Support",
    "summarize_ticket": "Summary: Shipping delay - order 4242 is stuck in transit, the courier lost it. "
                        "Priority: medium.",
}
CALLS = {
    "classify_intent": ("Which card was billed for order 4242?",),
    "draft_reply": ("Please change the billing address of order 4242.", "Anna", "pro"),
    "summarize_ticket": ("Order 4242 has not arrived.", "pro"),
}
# The context `with_hook` gives each call's hook: the function and the arguments besides the prompt.
CONTEXTS = {
    "classify_intent": {"function": "classify_intent"},
    "draft_reply": {"function": "draft_reply", "customer_name": "Anna", "tier": "pro"},
    "summarize_ticket": {"function": "summarize_ticket", "tier": "pro"},
}


def _serve(hooks_dir: Path):
    """The user's three functions, decorated as the README says."""

    @with_hook(hooks_dir, reload_interval=RELOAD)
    def classify_intent(message: str) -> str:
        return RAW["classify_intent"]

    @with_hook(hooks_dir, reload_interval=RELOAD)
    def draft_reply(ticket: str, customer_name: str, tier: str) -> str:
        return RAW["draft_reply"]

    @with_hook(hooks_dir, reload_interval=RELOAD)
    def summarize_ticket(ticket: str, tier: str) -> str:
        return RAW["summarize_ticket"]

    return {"classify_intent": classify_intent, "draft_reply": draft_reply,
            "summarize_ticket": summarize_ticket}


def _expected(hooks_dir: Path, function: str) -> str:
    """What ``function``'s own active hook makes of its raw output (the hook file run directly)."""
    path = hooks_dir / function / "generated_prompt_hook.py"
    if not path.exists():
        return RAW[function]
    spec = importlib.util.spec_from_file_location(f"expected_{function}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.intercept_output(RAW[function], CONTEXTS[function])


def _outputs(served) -> dict[str, str]:
    return {name: served[name](*CALLS[name]) for name in FUNCTIONS}


def _eventually(check):
    return eventually(check, timeout_s=RELOAD * 50, poll_s=RELOAD / 4)  # returns at the first pass; room for a slow CI


def _new_intent_labels(n: int = 4) -> list[FeedbackPair]:
    """The team's corrections of the intent labels (the demo's have too few to hold out)."""
    labels = [("billing", "billing_question"), ("shipping", "shipping_delay"), ("refund", "refund_request")]
    return [FeedbackPair(f'{{"intent": "{said}", "confidence": 0.{70 + i}{j}}}',
                         f'{{"intent": "{fixed}", "confidence": 0.{70 + i}{j}}}',
                         f"message {i}-{j}", {"function": "classify_intent"})
            for j in range(n) for i, (said, fixed) in enumerate(labels)]


def test_three_functions_each_change_only_by_their_own_rules_and_roll_back_alone(seeded_store, tmp_path, capsys):
    feedback = demo_feedback(tmp_path)
    FeedbackStore(feedback).add_many(_new_intent_labels())
    config = make_config(tmp_path, seeded_store, feedback=feedback, loop={"min_new_logs": 1, "min_new_feedback": 1},
                         selection={"top_k": 40, "duplicate_epsilon": 0.001},
                         budget={"max_budget_usd": 0.000001})
    hooks_dir = Path(config.hooks.dir)
    served = _serve(hooks_dir)
    assert _outputs(served) == RAW  # no hook yet: every function answers as its model does

    live: dict[str, str] = dict(RAW)
    for function in FUNCTIONS:
        # Synthesized: shown, never made live by looking.
        assert main(["rules", "synthesize", "--function", function, "--feedback", str(feedback),
                     "--hooks-dir", str(hooks_dir), "--store", str(seeded_store), "--no-semantic", "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["function"] == function and shown["rules"] and shown["live_now"] is None
        assert not (hooks_dir / function).exists()

        # Cycled by the loop: the hook stage puts the function's rules through its gate.
        with placeholder_key():  # the cycle stops at the budget, before any request
            cycle = run_cycle(config.with_overrides(**{"selection.function": function}))
        assert cycle.ran and cycle.outcome.status == RunStatus.BUDGET_EXCEEDED, cycle.message
        run = json.loads((cycle.outcome.run_dir / "run.json").read_text())
        detail = run["stages"]["hook"]["detail"]
        assert detail["active"] and detail["live_now"] == "v001" and detail["live_before"] is None, detail
        version = HookVersionManager.for_function(hooks_dir, function).get_active_version()
        assert version.origin == f"loop run {cycle.outcome.run_id}"

        live[function] = _expected(hooks_dir, function)
        assert live[function] != RAW[function]  # its own rules changed its output…
        _eventually(lambda: _check(served, live))  # …and nobody else's

    # classify_intent's label rules never reach draft_reply, whose text says "billing" too.
    assert "billing_question" in live["classify_intent"] and "billing_question" not in live["draft_reply"]
    assert "billing address" in live["draft_reply"]

    # New corrections for one function, made live from the CLI through the same gate.
    FeedbackStore(feedback).add_many([
        FeedbackPair(f"Summary: Shipping delay - order {n} is stuck in transit, the courier lost it. "
                     "Priority: medium.",
                     f"Shipping delay - order #{n} is stuck in transit, the courier has lost the parcel. "
                     "Priority: medium.",
                     f"ticket {n}", {"function": "summarize_ticket", "tier": "pro"})
        for n in range(4100, 4112)])
    before = {f: HookVersionManager.for_function(hooks_dir, f).get_active_version().version_id for f in FUNCTIONS}
    assert main(["rules", "synthesize", "--function", "summarize_ticket", "--activate", "--feedback", str(feedback),
                 "--hooks-dir", str(hooks_dir), "--store", str(seeded_store), "--no-semantic", "--json"]) == 0
    activated = json.loads(capsys.readouterr().out)
    assert activated["gate"]["passed"], activated["gate"]
    assert (activated["live_before"], activated["live_now"]) == ("v001", "v002")
    with_v001 = live["summarize_ticket"]
    live["summarize_ticket"] = _expected(hooks_dir, "summarize_ticket")
    assert "has lost the parcel" in live["summarize_ticket"] and "lost it" in with_v001
    _eventually(lambda: _check(served, live))

    # A rollback of that one function: back to what was live before, in the live process, alone.
    assert main(["hooks", "rollback", "--function", "summarize_ticket", "--hooks-dir", str(hooks_dir)]) == 0
    live["summarize_ticket"] = with_v001
    _eventually(lambda: _check(served, live))
    assert served["summarize_ticket"].hook_slot.version_id == "v001"
    rules_json = json.loads((hooks_dir / "summarize_ticket" / "rules.json").read_text())
    assert rules_json["version"] == "v001"  # rules.json describes the active version
    after = {f: HookVersionManager.for_function(hooks_dir, f).get_active_version().version_id for f in FUNCTIONS}
    assert after == before  # the others were never touched

    # Switched off, the function runs with no hook at all; a rollback brings its hook back.
    assert main(["hooks", "off", "--function", "summarize_ticket", "--hooks-dir", str(hooks_dir)]) == 0
    live["summarize_ticket"] = RAW["summarize_ticket"]
    _eventually(lambda: _check(served, live))
    assert main(["hooks", "rollback", "--function", "summarize_ticket", "--hooks-dir", str(hooks_dir)]) == 0
    live["summarize_ticket"] = with_v001
    _eventually(lambda: _check(served, live))


def _check(served, live: dict[str, str]) -> bool:
    outputs = _outputs(served)
    assert outputs == live, {f: (outputs[f], live[f]) for f in FUNCTIONS if outputs[f] != live[f]}
    return True

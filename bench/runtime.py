"""Benchmark: what ``vectortrainer.runtime`` adds to each call of the user's function (VT-13).

A plain function returning a 1 KB string, the same function under ``with_hook`` with a
generated hook of 20 rules (and the hook's two intercepts called directly, so the
rules' own cost is told apart from the runtime's; and a hook with no rules) (output and prompt rules of every kind the hook has), and one
``promoted_model`` lookup, each timed over many calls (the reload check included: the
hook and ``promoted.json`` are looked at once per ``reload_interval``, 1 s as in
production, so a run of calls crosses it several times). Prints median microseconds
per call over the repeats and the ratios to the plain call. Also the cost of one reload
(a new active version written, first call after it).
Run: ``.venv/bin/python bench/runtime.py [--calls 20000] [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.runtime import promoted_model, with_hook

OUTPUT = ("Summary: Billing issue - customer was charged twice for order 4411 and asks for a refund of the "
          "duplicate charge. Priority: high. ") * 8  # ~1 KB
OUTPUT = OUTPUT[:1024]


def twenty_rules() -> list[Rule]:
    rules = [Rule("strip_prefix", "Summary: "), Rule("normalize_whitespace"),
             Rule("regex_replace", r"order (\d+)", r"order #\g<1>"), Rule("case_fix", "cloudsync", "CloudSync"),
             Rule("append", replacement=" Escalated.", condition={"tier": "enterprise"}),
             Rule("replace", "pls", "please", target="prompt"), Rule("remove", "kindly", target="prompt")]
    rules += [Rule("replace", f"word{i}", f"term{i}") for i in range(20 - len(rules))]
    return rules


def time_calls(call, calls: int, repeats: int) -> float:
    """Median microseconds per call."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        hooks = HookVersionManager(Path(folder) / "hooks")
        hooks.save_version(render_hook(rules_document(twenty_rules())), 20)
        models = Path(folder) / "models"
        ModelRegistry(models, "summarize_ticket").register(provider="openai", model="ft:gpt-4o-mini:acme::x1",
                                                           promote=True)

        def plain(ticket: str, tier: str) -> str:
            return OUTPUT

        hooked = with_hook(hooks.output_dir, reload_interval=1.0)(plain)
        assert hooked("pls refund", "pro") != OUTPUT  # the hook really runs
        empty = HookVersionManager(Path(folder) / "empty-hook")
        empty.save_version(render_hook(rules_document([])), 0)
        bare = with_hook(empty.output_dir, reload_interval=1.0)(plain)
        namespace: dict = {}
        exec(compile(hooks.active_path.read_text(encoding="utf-8"), "hook", "exec"), namespace)
        context = {"function": "plain", "tier": "pro"}

        def rules_alone() -> str:
            return namespace["intercept_output"](namespace["intercept_prompt"]("pls refund", context) and OUTPUT,
                                                 context)

        def lookup() -> str:
            return promoted_model("summarize_ticket", models_dir=models, default="base", reload_interval=1.0)

        assert lookup() == "ft:gpt-4o-mini:acme::x1"
        figures = {
            "plain call": time_calls(lambda: plain("pls refund", "pro"), args.calls, args.repeats),
            "with_hook, 20 rules, 1 KB output": time_calls(lambda: hooked("pls refund", "pro"), args.calls,
                                                            args.repeats),
            "  of which the 20 rules themselves": time_calls(rules_alone, args.calls, args.repeats),
            "with_hook, a hook with no rules": time_calls(lambda: bare("pls refund", "pro"), args.calls,
                                                          args.repeats),
            "promoted_model lookup": time_calls(lookup, args.calls, args.repeats),
        }
        reloads = []
        for index in range(5):
            hooks.save_version(render_hook(rules_document(twenty_rules()[: 19 - index])), 19 - index)
            time.sleep(1.05)
            started = time.perf_counter()
            hooked("pls refund", "pro")
            reloads.append((time.perf_counter() - started) * 1e3)
    base = figures["plain call"]
    print(f"calls per repeat: {args.calls:,}, repeats: {args.repeats} (median per call)")
    for name, micro in figures.items():
        ratio = "" if name == "plain call" else f"  ({micro / base:,.0f}x the plain call, +{micro - base:.1f} us)"
        print(f"{name:36s} {micro:8.2f} us{ratio}")
    print(f"{'first call after a new version':36s} {statistics.median(reloads):8.2f} ms (median of 5 reloads)")


if __name__ == "__main__":
    main()

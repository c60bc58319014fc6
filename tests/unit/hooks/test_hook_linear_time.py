"""Property: whatever feedback teaches it, a written hook's `intercept_output` takes time linear in its input.

Feedback pairs are generated (a number, a word or a unit is removed or changed at the
start, end or middle of a sentence), rules are learned from them and a hook is written
by the generator, then adversarial outputs (runs of digits, word characters, the rule's
own trigger repeated) of 5k and 100k characters go through it. The time per character
at 100k may not exceed that at 5k by more than a generous factor: a quadratic pattern
costs 20x more per character there.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.rules.synthesis import synthesize_rules

_WORDS = st.sampled_from(["Latency", "order", "ticket", "Total", "ms", "ok", "Hi", "Best", "kb", "done"])
_UNITS = st.sampled_from([" ms", " kb", "%", " items", "!", " USD"])


@st.composite
def feedback(draw: st.DrawFn) -> list[FeedbackPair]:
    lead = draw(_WORDS)
    unit = draw(_UNITS)
    where = draw(st.sampled_from(["suffix", "prefix", "middle"]))
    numbers = draw(st.lists(st.integers(0, 99999), min_size=2, max_size=5, unique=True))
    pairs = []
    for n in numbers:
        if where == "suffix":
            pairs.append(FeedbackPair(f"Request served. {lead}:{n}{unit}", f"Request served. {lead}:"))
        elif where == "prefix":
            pairs.append(FeedbackPair(f"{n}{unit} {lead} was fine.", f"{lead} was fine."))
        else:
            pairs.append(FeedbackPair(f"The {lead} {n}{unit} is ready.", f"The {lead} #{n}{unit} is ready."))
    return pairs


def _hook(rules: list, folder: Path):  # type: ignore[no-untyped-def]
    path = HookScriptGenerator(check_in_subprocess=False).generate(rules, folder, enable_versioning=False).path
    spec = importlib.util.spec_from_file_location(f"linear_hook_{id(rules)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _per_char(hook, text: str) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        hook.intercept_output(text, {})
        best = min(best, time.perf_counter() - started)
    return best / len(text)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=feedback(), filler=st.sampled_from(["7", "a", "7 ", "Latency:7", "x7", "1 ms"]))
def test_intercept_output_stays_linear_up_to_100k_characters(tmp_path: Path, pairs: list[FeedbackPair],
                                                             filler: str) -> None:
    rules = synthesize_rules(pairs).rules
    hook = _hook(rules, tmp_path)
    small, large = (
        (filler * (5000 // len(filler) + 1))[:5000], (filler * (100_000 // len(filler) + 1))[:100_000])
    floor = 2e-8  # per character: below timer noise, a small text says nothing
    small_cost = max(_per_char(hook, small), floor)
    large_cost = _per_char(hook, large)
    assert large_cost <= 8 * small_cost, (
        f"rules {[r.pattern for r in rules]}: {large_cost * 1e9:.1f} ns/char at 100k vs {small_cost * 1e9:.1f} at 5k")
    assert large_cost * len(large) < 2.0  # and 100k characters never take seconds

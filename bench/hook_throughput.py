"""Hook throughput (VT-12 item 7): a generated hook with 20 learned rules on 1 KB outputs, and how time grows.

Also: calls/s and MB/s on 100-character outputs, and the adversarial outputs of issue 16
(a 64k-digit output through the rule learned from four ``"Latency:42 ms"`` pairs, and the
hand-written rule ``(\d+)(\d+)x`` on 2,000 digits), each timed through a written hook.

The rules are the ones learned from the realistic feedback families (text conditions,
lookaround anchors, fixed-width numbers, a case transform, spelling fixes); the outputs
are those families' logged outputs joined into texts of the given size, so rules fire.
The hook is written with `HookScriptGenerator` and imported from its file, as users do.

    .venv/bin/python bench/hook_throughput.py [--rules 20] [--kb 1] [--calls 2000] [--repeats 5] [--adversarial-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tests.support.feedback_families import FAMILIES, split  # noqa: E402
from vectortrainer.feedback.pair import FeedbackPair  # noqa: E402
from vectortrainer.hooks.generator import HookScriptGenerator  # noqa: E402
from vectortrainer.rules.model import Rule  # noqa: E402
from vectortrainer.rules.synthesis import synthesize_rules  # noqa: E402


def learned_rules(count: int) -> tuple[list[Any], list[str]]:
    """``count`` rules learned from the families (in family order), and the families' logged texts."""
    rules, texts = [], []
    for build in FAMILIES.values():
        part = split(build(), 13)
        rules.extend(synthesize_rules(part.train, logs=part.sample_outputs()).rules)
        texts.extend(case.text for case in part.family.logs)
    if len(rules) < count:
        raise SystemExit(f"only {len(rules)} rules learned; ask for fewer with --rules")
    return rules[:count], texts


def text_of_size(texts: list[str], size: int, offset: int) -> str:
    parts, total, index = [], 0, offset
    while total < size:
        parts.append(texts[index % len(texts)])
        total += len(parts[-1]) + 1
        index += 1
    return " ".join(parts)[:size]


def written_hook(rules: list[Any]) -> Any:
    """The hook written from ``rules`` by the generator, imported from its file."""
    with tempfile.TemporaryDirectory() as folder:
        path = HookScriptGenerator(check_in_subprocess=False).generate(rules, folder, enable_versioning=False).path
        spec = importlib.util.spec_from_file_location("bench_hook", path)
        hook = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(hook)  # type: ignore[union-attr]
    return hook


def timed(hook: Any, text: str) -> float:
    started = time.perf_counter()
    hook.intercept_output(text, {})
    return time.perf_counter() - started


def adversarial() -> None:
    """The two adversarial outputs of issue 16, through hooks written as users get them."""
    pairs = [FeedbackPair(f"Request served. Latency:{n} ms", "Request served. Latency:") for n in (42, 7, 130, 55)]
    learned = synthesize_rules(pairs).rules
    hook = written_hook(learned)
    print(f"rule learned from four 'Latency:42 ms' pairs: {[r.pattern for r in learned]}, "
          f"{len(hook.SKIPPED_RULES)} skipped by the hook")
    for digits in (16000, 64000):
        print(f"  {digits}-digit output: {timed(hook, '7' * digits):.3f} s")
    hand = Rule(kind="regex_replace", pattern=r"(\d+)(\d+)x", replacement="")
    hook = written_hook([hand])
    state = "skipped by the generator as unsafe" if not hook._RULES else "accepted"
    print(f"rule (\\d+)(\\d+)x: {state}; 2000-digit output: {timed(hook, '1' * 2000):.3f} s")


def short_outputs(hook: Any, texts: list[str], calls: int, repeats: int) -> None:
    inputs = [text_of_size(texts, 100, i * 7) for i in range(64)]
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(calls):
            hook.intercept_output(inputs[i % len(inputs)], {"function": "bench"})
        runs.append(time.perf_counter() - started)
    per_call = statistics.median(runs) / calls
    print(f"100-character outputs: {1 / per_call:,.0f} calls/s, {100 / per_call / 1e6:.2f} MB/s "
          f"(median of {repeats} x {calls})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--kb", type=float, default=1.0)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--adversarial-only", action="store_true", help="only the adversarial outputs")
    args = parser.parse_args()
    adversarial()
    if args.adversarial_only:
        return 0
    rules, texts = learned_rules(args.rules)
    kinds = sorted({r.kind for r in rules})
    print(f"{len(rules)} rules ({', '.join(kinds)}; {sum(bool(r.text_condition) for r in rules)} with a text "
          f"condition, {sum(bool(r.group_case) for r in rules)} with a case transform, "
          f"{sum('(?<=' in r.pattern or '(?=' in r.pattern for r in rules)} anchored by lookarounds)")
    with tempfile.TemporaryDirectory() as folder:
        path = HookScriptGenerator(check_in_subprocess=False).generate(rules, folder, enable_versioning=False).path
        spec = importlib.util.spec_from_file_location("bench_hook", path)
        hook = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(hook)  # type: ignore[union-attr]

    short_outputs(hook, texts, args.calls * 5, args.repeats)
    size = int(args.kb * 1024)
    inputs = [text_of_size(texts, size, i * 7) for i in range(64)]
    changed = sum(hook.intercept_output(t, {}) != t for t in inputs)
    runs = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        for i in range(args.calls):
            hook.intercept_output(inputs[i % len(inputs)], {"function": "bench"})
        runs.append(time.perf_counter() - started)
    per_call = statistics.median(runs) / args.calls
    print(f"{size} B outputs ({changed} of {len(inputs)} changed by the rules): median {per_call * 1e6:.0f} us per call, "
          f"{1 / per_call:,.0f} calls/s, {size / per_call / 2**20:.1f} MiB/s (median of {args.repeats} x {args.calls})")

    print("time per KiB as the output grows (linear when the ratio stays near 1):")
    base = None
    for kib in (1, 16, 256):
        text = text_of_size(texts, kib * 1024, 0)
        calls = max(3, int(256 / kib))
        timings = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            for _ in range(calls):
                hook.intercept_output(text, {})
            timings.append((time.perf_counter() - started) / calls)
        per_kib = statistics.median(timings) / kib
        base = base or per_kib
        print(f"  {kib:4d} KiB: {per_kib * 1e6:7.1f} us/KiB  (x{per_kib / base:.2f} of 1 KiB)")
    print("machine shared with other work: compare ratios, not absolute figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())

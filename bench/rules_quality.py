"""Rule quality on held-out feedback (VT-5): repair rate, exact-fix rate, harm rate.

Splits the demo feedback into train / held-out with a fixed seed, synthesises rules
from train, writes the hook with `HookScriptGenerator`, imports the written file and
applies its `intercept_output` to held-out bad outputs and to known-good outputs
(every fixed output, including replies that already carry the appended sentence).

    .venv/bin/python bench/rules_quality.py [--seed 13] [--held-out 0.3] [--semantic]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from vectortrainer.demo.feedback import ENTERPRISE_SENTENCE, demo_feedback_pairs
from vectortrainer.feedback.diffing import edit_distance
from vectortrainer.hooks.generator import HookScriptGenerator
from vectortrainer.rules.synthesis import synthesize_rules


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--held-out", type=float, default=0.3)
    parser.add_argument("--semantic", action="store_true", help="screen rewrites with the MiniLM model")
    args = parser.parse_args()

    pairs = demo_feedback_pairs()
    order = list(range(len(pairs)))
    random.Random(args.seed).shuffle(order)
    cut = int(round(len(pairs) * (1 - args.held_out)))
    train = [pairs[i] for i in order[:cut]]
    held = [pairs[i] for i in order[cut:]]

    scorer = None
    if args.semantic:
        from vectortrainer.feedback.diffing import SemanticScorer

        scorer = SemanticScorer()
    started = time.perf_counter()
    rule_set = synthesize_rules(train, scorer=scorer)
    synth_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        path = HookScriptGenerator().generate(rule_set, folder)
        generate_s = time.perf_counter() - started
        spec = importlib.util.spec_from_file_location("bench_hook", path)
        hook = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(hook)  # type: ignore[union-attr]

    repairs, exact = [], 0
    for pair in held:
        after = hook.intercept_output(pair.bad_output, pair.context)
        before_d = edit_distance(pair.bad_output, pair.fixed_output)
        after_d = edit_distance(after, pair.fixed_output)
        repairs.append((before_d - after_d) / before_d if before_d else 1.0)
        exact += after == pair.fixed_output
    good = [(p.fixed_output, p.context) for p in pairs]
    carrying = [g for g in good if ENTERPRISE_SENTENCE in g[0]]
    changed = [g for g in good if hook.intercept_output(g[0], g[1]) != g[0]]

    print(f"pairs: {len(pairs)} (train {len(train)}, held-out {len(held)}, seed {args.seed})")
    print(f"rules: {len(rule_set.rules)}  conflicts: {len(rule_set.conflicts)}  rejected: {len(rule_set.rejected)}")
    print(f"repair rate (mean normalised edit-distance reduction, held-out): {statistics.mean(repairs):.1%}")
    print(f"exact-fix rate (held-out): {exact}/{len(held)} = {exact / len(held):.1%}")
    print(f"harm rate (good outputs changed): {len(changed)}/{len(good)} = {len(changed) / len(good):.1%}"
          f"  (of which carry the appended sentence: {len(carrying)})")
    print(f"time: synthesis {synth_s * 1000:.0f} ms, validate+replay+write {generate_s * 1000:.0f} ms")
    ok = statistics.mean(repairs) >= 0.90 and exact / len(held) >= 0.85 and not changed
    print("quality bar (>= 90% repair, >= 85% exact, 0 harm):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

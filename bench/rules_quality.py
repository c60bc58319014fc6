"""Rule quality on held-out feedback (VT-5, VT-12): repair, exact fixes and harm, per family of feedback.

Families: the demo feedback, and the realistic sets of `tests/support/feedback_families.py`
(look-alikes of the defect in good outputs, uninformative context, conditional appends,
reordered date fields, renamed JSON keys, one-off typos). For each family and seed the
pairs are split train / held-out, and so are the family's uncorrected logs (the training
half is the blast-radius sample). Rules are learned from the training pairs, written as
a hook with `HookScriptGenerator`, and the written file's `intercept_output` is applied
with each output's context as it was recorded:

* repair: mean normalised edit-distance reduction on held-out bad outputs;
* exact: held-out bad outputs fixed exactly;
* harm: good outputs changed, among every fixed output and the held-out good logs.

``--no-logs`` learns from the pairs alone (no blast radius), to see what the logs add.

    .venv/bin/python bench/rules_quality.py [--seeds 13] [--held-out 0.3] [--family NAME] [--no-logs] [--semantic]
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tests.support.feedback_families import FAMILIES, Family, Split, split  # noqa: E402
from vectortrainer.demo.feedback import demo_feedback_pairs  # noqa: E402
from vectortrainer.feedback.diffing import edit_distance  # noqa: E402
from vectortrainer.hooks.generator import HookScriptGenerator  # noqa: E402
from vectortrainer.rules.synthesis import synthesize_rules  # noqa: E402

THRESHOLDS = {"repair": 0.90, "exact": 0.85}


@dataclass
class Result:
    family: str
    seed: int
    rules: int
    inactive: int
    repair: float
    exact: int
    held_out: int
    harmed: int
    good: int
    synth_ms: float

    @property
    def exact_rate(self) -> float:
        return self.exact / self.held_out if self.held_out else 1.0

    @property
    def met(self) -> bool:
        return self.repair >= THRESHOLDS["repair"] and self.exact_rate >= THRESHOLDS["exact"] and not self.harmed


def demo_family() -> Family:
    """The demo feedback as a family: no logs (the demo store is seeded separately)."""
    return Family("demo", "the demo functions' feedback", demo_feedback_pairs(), [])


def demo_split(family: Family, seed: int, held_out: float) -> Split:
    order = list(range(len(family.pairs)))
    random.Random(seed).shuffle(order)
    cut = int(round(len(order) * (1 - held_out)))
    return Split(family, [family.pairs[i] for i in order[:cut]], [family.pairs[i] for i in order[cut:]], [], [])


def load_hook(rule_set: Any) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        path = HookScriptGenerator().generate(rule_set, folder).path
        spec = importlib.util.spec_from_file_location("bench_hook", path)
        hook = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(hook)  # type: ignore[union-attr]
    return hook


def evaluate(name: str, part: Split, seed: int, *, use_logs: bool, scorer: Any) -> Result:
    started = time.perf_counter()
    logs = part.sample_outputs() if use_logs and part.family.logs else None
    rule_set = synthesize_rules(part.train, scorer=scorer, logs=logs)
    synth_ms = (time.perf_counter() - started) * 1000
    hook = load_hook(rule_set)
    repairs, exact = [], 0
    for pair in part.held_out:
        after = hook.intercept_output(pair.bad_output, pair.context)
        before_d, after_d = edit_distance(pair.bad_output, pair.fixed_output), edit_distance(after, pair.fixed_output)
        repairs.append((before_d - after_d) / before_d if before_d else 1.0)
        exact += after == pair.fixed_output
    good = part.good_outputs()
    harmed = sum(1 for text, context in good if hook.intercept_output(text, context) != text)
    return Result(name, seed, len(rule_set.rules), len(rule_set.inactive),
                  statistics.mean(repairs) if repairs else 1.0, exact, len(part.held_out), harmed, len(good), synth_ms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="13", help="comma-separated split seeds, or a range A-B (default 13)")
    parser.add_argument("--held-out", type=float, default=0.3)
    parser.add_argument("--family", action="append", help="only this family (repeatable)")
    parser.add_argument("--no-logs", action="store_true", help="learn from the pairs alone (no blast radius)")
    parser.add_argument("--semantic", action="store_true", help="screen rewrites with the MiniLM model")
    args = parser.parse_args()
    if "-" in args.seeds:
        low, high = (int(x) for x in args.seeds.split("-"))
        seeds = list(range(low, high + 1))
    else:
        seeds = [int(x) for x in args.seeds.split(",")]
    builders = {"demo": demo_family, **FAMILIES}
    names = args.family or list(builders)
    scorer = None
    if args.semantic:
        from vectortrainer.feedback.semantic import SemanticScorer  # loads torch: only with --semantic

        scorer = SemanticScorer()

    print(f"held-out share {args.held_out}, seeds {seeds}, blast radius {'off' if args.no_logs else 'on'}")
    print(f"{'family':12} {'pairs':>5} {'logs':>5} {'rules':>5} {'inact':>5} {'repair':>7} {'exact':>11} "
          f"{'harm':>9} {'synth ms':>8}")
    results: list[Result] = []
    for name in names:
        family = builders[name]()
        for seed in seeds:
            part = demo_split(family, seed, args.held_out) if name == "demo" else split(family, seed, args.held_out)
            result = evaluate(name, part, seed, use_logs=not args.no_logs, scorer=scorer)
            results.append(result)
        rows = [r for r in results if r.family == name]
        repair = statistics.mean(r.repair for r in rows)
        exact, held = sum(r.exact for r in rows), sum(r.held_out for r in rows)
        harmed, good = sum(r.harmed for r in rows), sum(r.good for r in rows)
        print(f"{name:12} {len(family.pairs):5d} {len(family.logs):5d} {statistics.median(r.rules for r in rows):5.0f} "
              f"{sum(r.inactive for r in rows):5d} {repair:7.1%} {exact:4d}/{held:<4d}{exact / held:4.0%} "
              f"{harmed:3d}/{good:<5d} {statistics.median(r.synth_ms for r in rows):8.0f}")
    realistic = [r for r in results if r.family != "demo"]
    if realistic:
        exact, held = sum(r.exact for r in realistic), sum(r.held_out for r in realistic)
        print(f"{'realistic':12} {'':5} {'':5} {'':5} {sum(r.inactive for r in realistic):5d} "
              f"{statistics.mean(r.repair for r in realistic):7.1%} {exact:4d}/{held:<4d}{exact / held:4.0%} "
              f"{sum(r.harmed for r in realistic):3d}/{sum(r.good for r in realistic):<5d}")
    failed = [r for r in results if not r.met]
    for r in failed:
        print(f"below the bar: {r.family} seed {r.seed}: repair {r.repair:.1%}, exact {r.exact}/{r.held_out}, "
              f"harm {r.harmed}")
    print(f"quality bar (>= {THRESHOLDS['repair']:.0%} repair, >= {THRESHOLDS['exact']:.0%} exact, 0 harm, "
          f"per family and seed): {'met' if not failed else f'NOT met in {len(failed)} of {len(results)}'}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())

"""Rule synthesis at volume (issue 16 item 2): time and peak memory for many pairs, and for one huge pair.

The pairs are the realistic feedback families of `tests/support/feedback_families.py`,
built again with new seeds until there are ``--pairs`` of them (ticket references, refund
notes, AI preambles, US dates, renamed keys, one-off typos: the mix a store of real
corrections holds), one in ten replaced by a correction nobody else made (a made-up word
changed for another), which only a narrow one-off rule can learn. ``--huge-mb`` instead learns from one pair whose bad output is that
many megabytes (a log pasted as one output) with a typo fixed on every 50th line. Each measure runs
in a fresh interpreter, so its peak RSS is its own.

    .venv/bin/python bench/synthesis_volume.py [--pairs 16000] [--pairs 100000] [--huge-mb 5]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tests.support.feedback_families import CHANNELS, FAMILIES, NAMES  # noqa: E402
from vectortrainer.feedback.pair import FeedbackPair  # noqa: E402


def one_off(rng: random.Random, number: int) -> FeedbackPair:
    """A correction nobody else made: one made-up word of a sentence changed for another."""
    def word() -> str:
        return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))

    wrong, right = word(), word()
    text = f"Hi {rng.choice(NAMES)}, the {wrong} for case {number} is ready. Best, the Support Team"
    context = {"function": "misc_reply", "channel": rng.choice(CHANNELS), "log_uuid": f"misc-{number:06d}"}
    return FeedbackPair(text, text.replace(wrong, right), "", context)


def volume_pairs(count: int, one_offs: float = 0.1) -> list[FeedbackPair]:
    """``count`` pairs: the families rebuilt with seed after seed, and a share of one-off corrections
    (the same list for the same count)."""
    rng = random.Random(count)
    pairs: list[FeedbackPair] = []
    seed = 100
    builders = list(FAMILIES.values())
    while len(pairs) < count:
        for build in builders:
            for pair in build(seed).pairs:
                pairs.append(one_off(rng, len(pairs)) if rng.random() < one_offs else pair)
        seed += 1
    return pairs[:count]


def huge_pair(megabytes: float) -> FeedbackPair:
    """A log pasted as one output: numbered lines, a typo fixed on every 50th line (edits spread end to end)."""
    lines, size, number = [], 0, 0
    while size < megabytes * 2**20:
        line = f"2025-03-14 12:00:{number % 60:02d} INFO worker-{number % 16} batch {number} recieved {number % 97} items\n"
        lines.append(line)
        size += len(line)
        number += 1
    fixed = [line.replace("recieved", "received") if i % 50 == 0 else line for i, line in enumerate(lines)]
    return FeedbackPair("".join(lines), "".join(fixed))


def measure(kind: str, amount: float) -> dict[str, object]:
    from vectortrainer.rules.synthesis import synthesize_rules

    pairs = volume_pairs(int(amount)) if kind == "pairs" else [huge_pair(amount)]
    seen: list[tuple[int, int | None, str]] = []
    started = time.perf_counter()
    try:
        rule_set = synthesize_rules(pairs, progress=lambda done, total, what: seen.append((done, total, what)))
    except TypeError:  # a synthesis without progress reports
        rule_set = synthesize_rules(pairs)
    elapsed = time.perf_counter() - started
    return {
        "kind": kind, "amount": amount, "pairs": len(pairs), "seconds": round(elapsed, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rules": len(rule_set.rules), "progress_reports": len(seen),
        "notes": [n for n in rule_set.notes if "skipped" in n or "truncated" in n],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, action="append", help="pairs to learn from (repeatable)")
    parser.add_argument("--huge-mb", type=float, action="append", help="one pair of this many MB (repeatable)")
    parser.add_argument("--one", nargs=2, metavar=("KIND", "AMOUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], float(args.one[1]))))
        return 0
    jobs = [("pairs", n) for n in args.pairs or []] + [("huge", mb) for mb in args.huge_mb or []]
    if not jobs:
        jobs = [("pairs", 16000)]
    for kind, amount in jobs:
        done = subprocess.run([sys.executable, __file__, "--one", kind, str(amount)], capture_output=True, text=True)
        if done.returncode:
            print(f"{kind} {amount}: failed\n{done.stderr[-2000:]}")
            continue
        result = json.loads(done.stdout.strip().splitlines()[-1])
        what = f"{result['pairs']} pairs" if kind == "pairs" else f"one {amount} MB pair"
        print(f"{what}: {result['seconds']} s, peak RSS {result['peak_rss_mb']} MB, {result['rules']} rules, "
              f"{result['progress_reports']} progress reports{'; ' + '; '.join(result['notes']) if result['notes'] else ''}")
    print("machine shared with other work: compare ratios, not absolute figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())

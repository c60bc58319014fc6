"""Rules learned from real human corrections, judged on real text (VT-5, issue 23).

Each set is real people's corrections of real text (see tests/data/corrections/README.md):
the learner sees the training pairs as `vectortrainer rules synthesize --feedback F` does
(no store, so no log sample), the hook it writes is loaded as production loads it, and then
applied to

* held-out bad outputs: improved / unchanged / worsened (character distance to the human fix),
  and the total distance before -> after;
* texts that are already correct (the held-out human fixes): how many the hook changes (harm).

With several sets, one hook of every rule learned is also timed on 1 KB outputs, growing: the
rules of the sets above, then those learned from all of a post-edit pair's corrections at once
(train, test and dev), to reach the issue's 200 real rules.

Side by side: the identity (no hook) and a word-substitution table (a one-token-for-one-token
replacement of a diff, seen in at least two training pairs and more often than the token is left
as it is). Sets: the committed MLQE-PE post-edits (CC0: Estonian, Romanian, Sinhala, Nepali and
Russian into English, English into German and Chinese); JFLEG grammar fixes (CC BY-NC-SA, not
committed) when ``--jfleg DIR`` points at a checkout of it (its dev set teaches, its test set is
held out, and its four human fixes of each test sentence are the correct texts).

    .venv/bin/python bench/rules_real.py [--set NAME] [--pairs N] [--volume N] [--jfleg DIR]
        [--semantic]
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import importlib.util
import json
import re
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from vectortrainer.feedback.diffing import edit_distance  # noqa: E402
from vectortrainer.feedback.pair import FeedbackPair  # noqa: E402
from vectortrainer.hooks.generator import HookScriptGenerator  # noqa: E402
from vectortrainer.rules.learning import learn_rules  # noqa: E402
from vectortrainer.rules.model import Rule  # noqa: E402
from vectortrainer.rules.synthesis import RuleSet  # noqa: E402

TOKEN = re.compile(r"\S+")
DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "corrections"
# Machine translation into English from five languages, and from English into German and Chinese:
# the learner's English word lists must not make it bold on other languages.
POST_EDIT_SETS = ("et-en", "ro-en", "si-en", "ne-en", "ru-en", "en-de", "en-zh")
HOOK_SIZES = (50, 100, 150, 200)


@dataclass
class CorrectionSet:
    name: str
    train: list[tuple[str, str]]  # (bad, fixed)
    held_out: list[tuple[str, str]]
    correct: list[str]  # texts already correct


@dataclass
class Outcome:
    method: str
    rules: int
    improved: int
    unchanged: int
    worsened: int
    distance_before: int
    distance_after: int
    harmed: int
    correct: int
    seconds: float
    hook_us: float | None = None  # the written hook, per 1 KB output
    learned: list[Rule] = field(default_factory=list)


def _jsonl(path: Path) -> list[tuple[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [(row["bad"], row["fixed"]) for row in map(json.loads, handle)]


def mlqe_set(pair: str, limit: int | None) -> CorrectionSet:
    train = _jsonl(DATA / f"mlqe-pe-{pair}-train.jsonl.gz")[:limit]
    held_out = _jsonl(DATA / f"mlqe-pe-{pair}-dev.jsonl.gz")
    return CorrectionSet(f"post-edits {pair}", train, held_out, [fixed for _, fixed in held_out])


def volume_set(limit: int) -> CorrectionSet:
    """Both post-edit sets as one feedback file (the first ``limit`` corrections), both held out."""
    both = [mlqe_set(pair, None) for pair in ("et-en", "ro-en")]
    train = [pair for data in both for pair in data.train if pair[0] != pair[1]][:limit]
    held_out = [pair for data in both for pair in data.held_out]
    return CorrectionSet(f"post-edits, {len(train):,}", train, held_out,
                         [fixed for _, fixed in held_out])


def jfleg_set(folder: Path) -> CorrectionSet:
    def lines(name: str) -> list[str]:
        return (folder / name).read_text(encoding="utf-8").splitlines()

    dev = list(zip(lines("dev/dev.src"), lines("dev/dev.ref0"), strict=True))
    test_src = lines("test/test.src")
    refs = [lines(f"test/test.ref{i}") for i in range(4)]
    held_out = list(zip(test_src, refs[0], strict=True))
    correct = [ref for column in refs for ref in column]
    return CorrectionSet("grammar (JFLEG)", dev, held_out, correct)


def load_hook(rule_set: object) -> Callable[[str, dict], str]:
    with tempfile.TemporaryDirectory() as folder:
        path = HookScriptGenerator(timeout_s=600).generate(rule_set, folder).path  # type: ignore[arg-type]
        spec = importlib.util.spec_from_file_location("bench_real_hook", path)
        hook = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(hook)  # type: ignore[union-attr]
    return hook.intercept_output


def substitution_table(train: list[tuple[str, str]]) -> dict[str, str]:
    """1:1 token replacements (a diff's one-token-for-one-token edits) seen in >= 2 pairs, kept
    only where the token is replaced more often than the pairs leave it as it is."""
    seen: Counter[tuple[str, str]] = Counter()
    kept: Counter[str] = Counter()
    for bad, fixed in train:
        a, b = bad.split(), fixed.split()
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                kept.update(a[i1:i2])
            elif tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1:
                seen[a[i1], b[j1]] += 1
    table: dict[str, str] = {}
    for (source, target), count in seen.most_common():
        if count >= 2 and count > kept[source] and source not in table:
            table[source] = target
    return table


def score(method: str, fix: Callable[[str], str], data: CorrectionSet, rules: int,
          seconds: float) -> Outcome:
    improved = unchanged = worsened = before_total = after_total = 0
    for bad, fixed in data.held_out:
        before, after = edit_distance(bad, fixed), edit_distance(fix(bad), fixed)
        before_total += before
        after_total += after
        improved += after < before
        worsened += after > before
        unchanged += after == before
    harmed = sum(1 for text in data.correct if fix(text) != text)
    return Outcome(method, rules, improved, unchanged, worsened, before_total, after_total, harmed,
                   len(data.correct), seconds)


def run_learner(data: CorrectionSet, semantic: bool) -> Outcome:
    pairs = [FeedbackPair(input_prompt="", bad_output=bad, fixed_output=fixed)
             for bad, fixed in data.train if bad != fixed]
    started = time.perf_counter()
    rule_set = learn_rules(pairs, semantic_screen=semantic)
    seconds = time.perf_counter() - started
    hook = load_hook(rule_set)
    outcome = score("vectortrainer", lambda text: hook(text, {}), data, len(rule_set.rules),
                    seconds)
    outcome.hook_us = hook_microseconds(hook, data)
    outcome.learned = list(rule_set.rules)
    return outcome


def hook_microseconds(hook: Callable[[str, dict], str], data: CorrectionSet, calls: int = 2000,
                      repeats: int = 5) -> float:
    """Median microseconds per call of the written hook on 1 KB outputs (held-out texts joined)."""
    texts, chunk = [], ""
    for bad, _ in data.held_out:
        chunk = f"{chunk} {bad}".strip()
        if len(chunk) >= 1024:
            texts.append(chunk[:1024])
            chunk = ""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(calls):
            hook(texts[i % len(texts)], {})
        runs.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(runs)


def run_table(data: CorrectionSet) -> Outcome:
    started = time.perf_counter()
    table = substitution_table(data.train)
    seconds = time.perf_counter() - started
    return score("word table", lambda text: TOKEN.sub(lambda m: table.get(m[0], m[0]), text),
                 data, len(table), seconds)


def time_growing_hook(learned: dict[str, Rule], sets: list[CorrectionSet],
                      names: tuple[str, ...] | list[str], semantic: bool) -> None:
    """Time one hook of the first 50, 100, ... of the real rules learned. To reach 200, rules are
    also learned from all of a post-edit pair's corrections at once (training, test and dev
    splits: more support for each edit), pair after pair; timing only, the table above never
    sees them."""
    for name in names:
        if len(learned) >= HOOK_SIZES[-1]:
            break
        rows = [row for split in ("train", "test", "dev")
                for row in _jsonl(DATA / f"mlqe-pe-{name}-{split}.jsonl.gz")]
        pairs = [FeedbackPair(input_prompt="", bad_output=bad, fixed_output=fixed)
                 for bad, fixed in rows if bad != fixed]
        learned.update((rule.rule_id, rule)
                       for rule in learn_rules(pairs, semantic_screen=semantic).rules)
    rules = list(learned.values())
    for size in [*(n for n in HOOK_SIZES if n < len(rules)), len(rules)]:
        hook = load_hook(RuleSet(rules=rules[:size]))
        runs = [hook_microseconds(hook, sets[-1]) for _ in range(3)]
        print(f"one hook of {size} real rules: {statistics.median(runs):.0f} us per 1 KB output "
              "(median of 3 runs of 2,000 calls)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", choices=list(POST_EDIT_SETS),
                        help="an MLQE-PE post-edit set (repeatable; default all)")
    parser.add_argument("--pairs", type=int, default=None, help="use the first N training pairs")
    parser.add_argument("--volume", type=int, default=None,
                        help="also learn from this many corrections of both post-edit sets at once")
    parser.add_argument("--jfleg", type=Path, default=None, help="a JFLEG checkout (dev/, test/)")
    parser.add_argument("--semantic", action="store_true",
                        help="screen rewrites with the MiniLM model (the config's default)")
    args = parser.parse_args()
    sets = [mlqe_set(name, args.pairs) for name in args.set or POST_EDIT_SETS]
    if args.volume:
        sets.append(volume_set(args.volume))
    if args.jfleg is not None:
        sets.insert(0, jfleg_set(args.jfleg))
    print(f"{'set':22} {'method':14} {'pairs':>5} {'rules':>5} {'improved':>8} {'same':>5} "
          f"{'worse':>5} {'distance':>15} {'harm':>16} {'time s':>7} {'hook us/KB':>10}")
    learned: dict[str, Rule] = {}  # every set's rules, for one hook of them all
    for data in sets:
        outcomes = [score("identity", lambda text: text, data, 0, 0.0), run_table(data),
                    run_learner(data, args.semantic)]
        learned.update((rule.rule_id, rule) for rule in outcomes[-1].learned)
        for o in outcomes:
            print(f"{data.name:22} {o.method:14} {len(data.train):5d} {o.rules:5d} {o.improved:8d} "
                  f"{o.unchanged:5d} {o.worsened:5d} "
                  f"{o.distance_before:7d}->{o.distance_after:<7d} "
                  f"{o.harmed:4d}/{o.correct:<5d} {o.harmed / o.correct:5.1%} {o.seconds:7.1f} "
                  f"{'' if o.hook_us is None else f'{o.hook_us:10.0f}'}")
    if len(sets) > 1:  # a hook of many real rules: what each 1 KB output costs with all of them
        time_growing_hook(learned, sets, args.set or POST_EDIT_SETS, args.semantic)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Does fine-tuning SmolLM2 help, and does golden data train a better model than random logs?
(``bench/local_train.py --smollm2``; plumbing, not a bench of its own.)

One demo function's calls are made for real (its return values are the replies to learn), their
inputs embedded with MiniLM as VectorWave embeds them. Every 5th successful call is held out (the
gate's split); from the rest, the golden selection picks ``top_k`` examples and a seeded draw takes
as many random ones. Each set trains a LoRA adapter on the packaged SmolLM2-135M-Instruct for the
same steps; the base model and both adapters then answer the held-out cases, scored with the
gate's edit similarity (and exact match). Time, steps and the process's peak RSS come with them.
``route_request`` is no demo function: 400 real assistant requests (HWU64) routed to 16 intents,
the realistic function of a few hundred logs.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.demo.functions import DEMO_FUNCTIONS, demo_calls
from vectortrainer.feedback.semantic import SemanticScorer
from vectortrainer.golden.chatml import build_example, default_system_prompt
from vectortrainer.golden.selection import select_golden
from vectortrainer.settings import SelectionSettings
from vectortrainer.training.base import TrainingStatus
from vectortrainer.training.local.evaluation import edit_similarity
from vectortrainer.training.local.trainer import LocalTrainer

HOLDOUT_EVERY = 5  # the gate's default split


@dataclass(frozen=True)
class Arm:
    name: str
    examples: int
    steps: int
    train_s: float
    similarity: float
    exact: float
    peak_rss_mb: float


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def demo_examples(function: str) -> tuple[list[dict], list[str]]:
    """Every call of ``function``: ChatML examples and their statuses (failed calls keep a
    placeholder reply and are never picked)."""
    call = DEMO_FUNCTIONS[function]
    system = default_system_prompt(function, call.__doc__ or "")
    examples, statuses = [], []
    for demo in (c for c in demo_calls() if c.function == function):
        try:
            output, status = call(**demo.kwargs), "SUCCESS"
        except Exception:  # the demo's failing inputs raise on purpose
            output, status = "error", "ERROR"
        examples.append(build_example(demo.kwargs, output, system))
        statuses.append(status)
    return examples, statuses


REALISTIC = "route_request"  # not a demo function: real requests (HWU64, CC BY 4.0)
INTENTS = Path(__file__).resolve().parents[1] / "tests" / "data" / "intents" / "hwu64.jsonl.gz"


def realistic_examples(logs: int = 400, intents: int = 16, seed: int = 0) -> tuple[list[dict],
                                                                                 list[str]]:
    """``route_request(text) -> intent``: ``logs`` real assistant requests of ``intents`` HWU64
    intents, the busiest intents most often (weights 1/rank), as a function's logs would be."""
    import gzip

    with gzip.open(INTENTS, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    pool = [r for r in rows if r["split"] == "pool"]
    rng = random.Random(seed)
    labels = sorted({r["label"] for r in pool})
    chosen = rng.sample(labels, intents)
    weights = [1 / (rank + 1) for rank in range(intents)]
    by_label = {label: [r for r in pool if r["label"] == label] for label in chosen}
    system = ("Route the assistant request to one intent. Answer with the intent name only, one "
              "of: " + ", ".join(sorted(chosen)) + ".")
    examples = []
    for label in rng.choices(chosen, weights=weights, k=logs):
        request = rng.choice(by_label[label])
        examples.append(build_example({"text": request["text"]}, label, system))
    return examples, ["SUCCESS"] * len(examples)


def score(replies: Sequence[str], expected: Sequence[str]) -> tuple[float, float]:
    pairs = list(zip(replies, expected, strict=True))
    similarity = statistics.fmean(edit_similarity(r, e) for r, e in pairs)
    exact = statistics.fmean(float(r.strip() == e.strip()) for r, e in pairs)
    return similarity, exact


def run(function: str, *, top_k: int, steps: int, batch_size: int, n_eval: int,
        max_tokens: int, out: Path, lr_multiplier: float = 1.0, seed: int = 0) -> list[Arm]:
    examples, statuses = realistic_examples() if function == REALISTIC else demo_examples(function)
    ok = [i for i, s in enumerate(statuses) if s == "SUCCESS"]
    held = ok[::HOLDOUT_EVERY]
    pool = [i for i in range(len(examples)) if i not in set(held)]
    rng = random.Random(seed)
    cases = [examples[i] for i in rng.sample(held, min(n_eval, len(held)))]
    vectors = SemanticScorer().embed([render_user_of(examples[i]) for i in pool])
    picked = select_golden(vectors, [statuses[i] for i in pool], SelectionSettings(top_k=top_k))
    golden = [examples[pool[int(r)]] for r in picked.rows]
    candidates = [i for i in pool if statuses[i] == "SUCCESS"]
    random_set = [examples[i] for i in rng.sample(candidates, len(golden))]
    conversations = [c["messages"][:-1] for c in cases]
    expected = [c["messages"][-1]["content"] for c in cases]

    trainer = LocalTrainer("smollm2", output_dir=out, max_steps=steps, batch_size=batch_size,
                           learning_rate_multiplier=lr_multiplier, evaluate=False, calibrate=False)
    arms = []
    say(f"{len(golden)} golden picks, {len(random_set)} random logs, {len(cases)} held-out cases; "
        "the base model answers")
    base = [c.text for c in trainer.complete_many(trainer.base_model, conversations,
                                                  max_tokens=max_tokens)]
    say(f"  e.g. expected {expected[0]!r}, base said {base[0]!r}")
    arms.append(Arm("base (no training)", 0, 0, 0.0, *score(base, expected), peak_rss_mb()))
    for name, chosen in (("golden picks", golden), ("random logs", random_set)):
        data = out / f"{name.split()[0]}.jsonl"
        data.write_text("".join(json.dumps(e) + "\n" for e in chosen), encoding="utf-8")
        say(f"training on the {name} ({steps} steps), then answering")
        started = time.perf_counter()
        job = trainer.start_training(trainer.prepare_data(data), run_id=name.split()[0])
        result = trainer.wait(job)
        if result.status is not TrainingStatus.SUCCEEDED:
            raise SystemExit(f"{name}: training failed: {result.error}")
        train_s = time.perf_counter() - started
        replies = [c.text for c in trainer.complete_many(str(result.model_name), conversations,
                                                         max_tokens=max_tokens)]
        say(f"  e.g. expected {expected[0]!r}, {name} said {replies[0]!r}; "
            f"last loss {result.metrics.get('train_loss')}")
        info = json.loads((Path(str(result.model_name)) / "training_info.json").read_text())
        arms.append(Arm(name, len(chosen), int(info["steps"]), train_s, *score(replies, expected),
                        peak_rss_mb()))
    return arms


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # progress; the table goes to stdout


def render_user_of(example: dict) -> str:
    return example["messages"][1]["content"]


def print_table(function: str, arms: Sequence[Arm], n_cases: int, device: str) -> None:
    print(f"SmolLM2-135M-Instruct on {device}; function {function}; {n_cases} held-out cases; "
          "score = the gate's edit similarity (1.0 = identical), exact = identical replies")
    print(f"{'trained on':<20}{'examples':>9}{'steps':>7}{'train s':>9}{'score':>8}{'exact':>7}"
          f"{'peak RSS MB':>13}")
    for arm in arms:
        print(f"{arm.name:<20}{arm.examples:>9}{arm.steps:>7}{arm.train_s:>9.1f}"
              f"{arm.similarity:>8.3f}{arm.exact:>7.2f}{arm.peak_rss_mb:>13.0f}")


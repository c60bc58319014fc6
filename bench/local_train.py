"""Benchmark: local LoRA training throughput (tokens/s), SFT and DPO, through ``LocalTrainer``.

Without ``--model`` it builds the tiny random test model (tests/support/tiny_model.py) in a
temp dir, so it runs anywhere on the CPU; with ``--model PATH`` it measures a real
small model you own (a save_pretrained directory; nothing is downloaded). For each
method it prints the calibration throughput (what the time budget uses) and the
throughput of a real run of ``--steps`` optimiser steps (tokens TRL counted /
train runtime), medians over ``--repeats``, and the ratio of the two, which says
how well the calibration predicts a run.
Run: ``.venv/bin/python bench/local_train.py [--model PATH] [--steps 20] [--repeats 3]``.

``--smollm2`` measures quality instead, on the packaged SmolLM2-135M-Instruct (see
``bench/_local_quality.py``): on held-out cases of a demo function, the base model's score against
adapters trained on the golden picks and on as many random logs (the gate's edit similarity),
with training time, steps and peak memory. Run:
``.venv/bin/python bench/local_train.py --smollm2 --steps 20 --cases 10`` (~10 min on two busy
cores; ``--function summarize_ticket``, ``--lr-multiplier 1`` for the default LoRA rate).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.preference import export_preference_jsonl
from vectortrainer.training.base import TrainingStatus
from vectortrainer.training.local.trainer import LocalTrainer

WORDS = ("printer jammed floor invoice refund login password reset customer duplicate charge "
         "March email expired blocked support ticket summary short sentence").split()


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def write_data(directory: Path, n_examples: int, seed: int = 0) -> tuple[Path, Path]:
    rng = random.Random(seed)
    golden, pairs = [], []
    for _ in range(n_examples):
        user, reply = _sentence(rng, rng.randint(20, 40)), _sentence(rng, rng.randint(8, 16))
        golden.append({"messages": [{"role": "system", "content": "Summarise the ticket in one sentence."},
                                    {"role": "user", "content": user},
                                    {"role": "assistant", "content": reply}]})
        pairs.append(FeedbackPair(bad_output=_sentence(rng, rng.randint(8, 16)), fixed_output=reply, input_prompt=user))
    sft = directory / "golden.jsonl"
    sft.write_text("".join(json.dumps(g) + "\n" for g in golden), encoding="utf-8")
    dpo = export_preference_jsonl(pairs, directory / "preference.jsonl",
                                  default_system_prompt="Summarise the ticket in one sentence.").path
    return sft, dpo


def measure(model: Path, data: Path, method: str, steps: int, batch_size: int, out: Path, run: str) -> tuple[float, float, str]:
    trainer = LocalTrainer(model, output_dir=out, method=method, max_steps=steps, batch_size=batch_size,
                           evaluate=False)
    prepared = trainer.prepare_data(data)
    job_id = trainer.start_training(prepared, run_id=run)
    result = trainer.wait(job_id)
    if result.status is not TrainingStatus.SUCCEEDED:
        raise SystemExit(f"{method} run failed: {result.error}")
    run_tps = (result.trained_tokens or 0) / result.metrics["train_runtime_s"]
    return prepared.estimate.tokens_per_second, run_tps, prepared.estimate.device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a local model directory (default: the tiny test model)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smollm2", action="store_true",
                        help="quality on SmolLM2: base vs golden-trained vs random-trained")
    parser.add_argument("--function", default="classify_intent",
                        help="--smollm2: a demo function, or route_request (400 real requests)")
    parser.add_argument("--top-k", type=int, default=24, help="--smollm2: golden picks")
    parser.add_argument("--cases", type=int, default=12, help="--smollm2: held-out cases")
    parser.add_argument("--max-tokens", type=int, default=24, help="--smollm2: reply tokens")
    parser.add_argument("--lr-multiplier", type=float, default=5.0,
                        help="--smollm2: times the LoRA learning rate 2e-4 (5: the demo's)")
    args = parser.parse_args()
    if args.smollm2:
        smollm2_quality(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.model is None:
            from tests.support.tiny_model import build_tiny_model

            model = build_tiny_model(root / "tiny-model")
            label = "tiny random Llama (tests/support/tiny_model.py)"
        else:
            model, label = args.model, str(args.model)
        sft, dpo = write_data(root, args.examples)
        print(f"model: {label}; {args.steps} steps x batch {args.batch_size}, {args.examples} examples, "
              f"median of {args.repeats}")
        for method, data in (("supervised", sft), ("dpo", dpo)):
            calibrated, runs = [], []
            device = ""
            started = time.perf_counter()
            for repeat in range(args.repeats):
                cal, run, device = measure(model, data, method, args.steps, args.batch_size, root / "out",
                                           f"{method}-{repeat}")
                calibrated.append(cal)
                runs.append(run)
            cal_median, run_median = statistics.median(calibrated), statistics.median(runs)
            print(f"{method:>10} on {device}: calibration {cal_median:,.0f} tokens/s, run {run_median:,.0f} tokens/s "
                  f"(run/calibration {run_median / cal_median:.2f}; {time.perf_counter() - started:.1f} s wall)")


def smollm2_quality(args: argparse.Namespace) -> None:
    from bench._local_quality import print_table, run
    from vectortrainer.training.local.model import pick_device

    with tempfile.TemporaryDirectory() as tmp:
        arms = run(args.function, top_k=args.top_k, steps=args.steps, batch_size=args.batch_size,
                   n_eval=args.cases, max_tokens=args.max_tokens, out=Path(tmp),
                   lr_multiplier=args.lr_multiplier)
    print_table(args.function, arms, args.cases, pick_device().description)


if __name__ == "__main__":
    main()

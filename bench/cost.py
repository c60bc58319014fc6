"""Benchmark: tokens/s of ``count_tokens_in_jsonl`` on a ~50 MB ChatML JSONL (FR-6.1).

Writes a synthetic file of varied English/Korean/code examples to a temp dir,
counts it three times for gpt-4o-mini (o200k_base) and prints the median.
Run: ``.venv/bin/python bench/cost.py [--mb 50] [--repeats 3]``.
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

from vectortrainer.budget.encodings import get_encoding
from vectortrainer.budget.guards import check_budget
from vectortrainer.budget.tokens import count_tokens_in_jsonl

WORDS = (
    "invoice refund shipping order delayed account password reset customer premium plan upgrade "
    "cancel subscription billing address warehouse tracking number express delivery damaged item "
    "주문 배송 환불 계정 비밀번호 요금제 결제 주소 def return for while class import None True"
).split()


def synthetic_example(rng: random.Random, index: int) -> dict:
    def sentence(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n)) + rng.choice([".", "?", "!", "\n"])

    user = " ".join(sentence(rng.randint(5, 25)) for _ in range(rng.randint(1, 6)))
    assistant = " ".join(sentence(rng.randint(5, 30)) for _ in range(rng.randint(1, 8)))
    return {
        "messages": [
            {"role": "system", "content": f"You are support agent #{index % 17}. Answer briefly."},
            {"role": "user", "content": f"[{index}] {user}"},
            {"role": "assistant", "content": assistant},
        ]
    }


def write_file(path: Path, megabytes: float, seed: int = 7) -> int:
    rng = random.Random(seed)
    target = int(megabytes * 1024 * 1024)
    written = examples = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            line = json.dumps(synthetic_example(rng, examples), ensure_ascii=False) + "\n"
            handle.write(line)
            written += len(line.encode("utf-8"))
            examples += 1
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="gpt-4o-mini-2024-07-18")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        started = time.perf_counter()
        n_examples = write_file(path, args.mb)
        size_mb = path.stat().st_size / 1024 / 1024
        print(f"wrote {size_mb:.1f} MB, {n_examples:,} examples in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        get_encoding("o200k_base")
        print(f"encoding load (offline, seeded cache): {time.perf_counter() - started:.2f} s")

        timings = []
        tokens = 0
        for _ in range(args.repeats):
            started = time.perf_counter()
            tokens = count_tokens_in_jsonl(path, args.model).total_tokens
            timings.append(time.perf_counter() - started)
        median = statistics.median(timings)
        print(f"count_tokens_in_jsonl: {tokens:,} tokens, median {median:.2f} s of {args.repeats} "
              f"({', '.join(f'{t:.2f}' for t in timings)})")
        print(f"throughput: {tokens / median:,.0f} tokens/s, {size_mb / median:.1f} MB/s")

        estimate = check_budget(path, args.model, None, "auto")
        print(f"estimate: {estimate.n_epochs} epochs x {estimate.tokens_per_epoch:,} tokens "
              f"= ${estimate.estimated_usd:,.2f} on {estimate.base_model}")


if __name__ == "__main__":
    main()

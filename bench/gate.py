"""The gates' figures on the demo store: two loop cycles against the OpenAI stand-in (VT-13).

Cycle 1 trains on the demo store's golden data and is judged against the base model;
cycle 2 gets ten new feedback pairs (a correction the first hook never saw) and a
degraded model from the stand-in, and is judged against the promoted one. Prints,
per cycle, the trigger, the model gate's decision with its per-slice figures (edit
and MiniLM similarity), the replies' tokens and dollars, the estimate's share for the
gate, and the hook gate's decision. Figures, not assertions.
Run: ``.venv/bin/python bench/gate.py [--store .vectortrainer/store]`` (the demo store is seeded when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from tests.support.openai_standin import OpenAIStandIn
from tests.support.pipelines import FUNCTION, demo_feedback, make_config
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.golden.chatml import render_user
from vectortrainer.demo.seed import seed_demo_store
from vectortrainer.loop import run_cycle
from vectortrainer.store.environment import store_exists


def new_feedback(n: int = 10) -> list[FeedbackPair]:
    return [FeedbackPair(f"Summary: Refund issue - refund for returned order {4000 + i} has not arrived. "
                         "Priority: normal.",
                         f"Refund delay - refund for returned order #{4000 + i} has not arrived. Priority: normal.",
                         render_user({"ticket": f"Refund for returned order {4000 + i} has not arrived.",
                                      "tier": "pro"}), {"function": FUNCTION, "tier": "pro"}) for i in range(n)]


def report(cycle: int, outcome, seconds: float) -> None:
    run_dir = outcome.outcome.run_dir
    gate = json.loads((run_dir / "gate.json").read_text())
    estimate = json.loads((run_dir / "estimate.json").read_text())
    hook = json.loads((run_dir / "run.json").read_text())["stages"]["hook"]["detail"]
    print(f"cycle {cycle}: {outcome.outcome.status} in {seconds:.1f} s; trigger: {outcome.trigger.reason}")
    print(f"  model gate: {gate['reason']}")
    for name, figures in gate["slices"].items():
        c, i = figures["candidate"], figures["incumbent"]
        print(f"    {name:9s} n={c['cases']:2d}  candidate edit {c['edit']:.3f} minilm {c['semantic']:.3f} "
              f"score {c['score']:.3f} | incumbent edit {i['edit']:.3f} minilm {i['semantic']:.3f} score {i['score']:.3f}")
    print(f"  replies: {gate['inference']}")
    print(f"  estimate: training ${estimate['estimated_usd'] - estimate['evaluation_usd']:.4f} + gate at most "
          f"${estimate['evaluation_usd']:.4f} ({estimate['evaluation_requests']} replies)")
    print(f"  hook gate: {hook.get('version_id')} active={hook.get('active')}: {hook.get('reason')}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, default=Path(".vectortrainer/store"))
    args = parser.parse_args()
    if not store_exists(args.store):  # as `make run` does: the demo store, seeded by really calling the functions
        seed_demo_store(args.store)
    standin = OpenAIStandIn().start()
    os.environ["OPENAI_API_KEY"] = standin.api_key
    try:
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder)
            config = make_config(scratch, args.store, standin.base_url, feedback=demo_feedback(scratch))
            for cycle in (1, 2):
                if cycle == 2:
                    FeedbackStore(config.feedback.path).add_many(new_feedback())
                    standin.degrade_next_models()
                started = time.perf_counter()
                outcome = run_cycle(config)
                report(cycle, outcome, time.perf_counter() - started)
    finally:
        standin.stop()


if __name__ == "__main__":
    main()

"""Are the picks at scale as good with the density mode ``auto`` chooses as with exact density?
(issue 27)

Run: .venv/bin/python bench/scale_quality.py [--logs 100000] [--budgets 0.002,0.01]

The logs are ``bench/scale_realistic.py``'s realistic geometry (real MiniLM embeddings of the
CLINC150 and HWU64 pools, interpolated within an intent, noise 0.25; 0.5% out-of-scope requests,
2% failed calls), whose intents are known. Selection runs at default settings but for ``top_k``
(the budget's share of the logs), once with density mode ``auto`` (``probed`` beyond 60,000
logs, where the bound prunes nothing) and once with ``exact``. The frozen learner of
``bench/real_selection_quality.py`` (logistic regression, C=10, on the picks' embeddings and
intents) is scored on both sets' own test splits. Printed per budget and mode: accuracy, intents
with a pick, the share of picks both modes made, the selection's time and the mode's error on D.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale_realistic import CACHE, DATA, realistic_logs_with_intents  # noqa: E402

from tests.support.realistic_tickets import embed  # noqa: E402
from vectortrainer.golden.selection import select_golden  # noqa: E402
from vectortrainer.settings import SelectionSettings  # noqa: E402


def test_split() -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings and intent ids (``bench/scale_realistic.py``'s numbering) of both test
    splits."""
    pool_labels, vectors, labels = [], [], []
    for name in ("clinc150", "hwu64"):
        rows = [json.loads(line) for line in gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8")]
        pool_labels += [f"{name}:{r['label']}" for r in rows if r["split"] == "pool"]
        test = [r for r in rows if r["split"] == "test"]
        vectors.append(embed([r["text"] for r in test], CACHE))
        labels += [f"{name}:{r['label']}" for r in test]
    names = {label: i for i, label in enumerate(sorted(set(pool_labels)))}
    known = [i for i, label in enumerate(labels) if label in names]
    x = np.vstack(vectors).astype(np.float32)[known]
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.array([names[labels[i]] for i in known])


def accuracy(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression

    if len(set(y.tolist())) < 2:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(LogisticRegression(max_iter=1000, C=10.0).fit(x, y).score(x_test, y_test))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--budgets", default="0.002,0.01")
    args = parser.parse_args()
    x_test, y_test = test_split()
    x, statuses, intents = realistic_logs_with_intents(args.logs, seed=args.logs)
    print(f"{args.logs} realistic logs; test: {len(y_test)} requests of {len(set(y_test.tolist()))} intents")
    print(f"{'budget':>7} {'mode':>7} {'accuracy':>9} {'intents':>8} {'same picks':>11} {'time s':>7}  D error")
    for budget in (float(b) for b in args.budgets.split(",")):
        top_k = round(budget * args.logs)
        picks = {}
        for mode in ("auto", "exact"):
            started = time.perf_counter()
            selection = select_golden(x, statuses, SelectionSettings(top_k=top_k, density_mode=mode))  # type: ignore[arg-type]
            seconds = time.perf_counter() - started
            rows = np.asarray(selection.rows, dtype=np.int64)
            rows = rows[intents[rows] >= 0]  # the learner learns intents: new requests have none
            picks[mode] = set(rows.tolist())
            unit = x[rows] / np.linalg.norm(x[rows], axis=1, keepdims=True)
            score = accuracy(unit, intents[rows], x_test, y_test)
            same = len(picks[mode] & picks["auto"]) / max(1, len(picks[mode]))
            error = selection.density_error
            print(f"{budget:>7.1%} {selection.density_mode:>7} {score:>9.3f} {len(set(intents[rows].tolist())):>8} "
                  f"{same:>11.0%} {seconds:>7.1f}  {error.describe() if error else 'exact'}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

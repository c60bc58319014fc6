"""Selection at default settings on a realistic geometry, as it grows (issue 27, item 5).

Run: .venv/bin/python bench/scale_realistic.py [--sizes 20000,50000,100000] [--mode auto]

The rows are real MiniLM embeddings (the product's offline model) of real user requests: the
pools of CLINC150 and HWU64 in ``tests/data/intents`` (214 intents), embedded once and cached
under ``.vectortrainer/bench-embeddings``. A log is a request of an intent drawn with Pareto
weights, placed between two real requests of that intent (uniform t) with Gaussian noise of
relative norm 0.25, and normalised; 0.5% are CLINC150's real out-of-scope requests (with the
same noise) and 2% are failed calls. Selection runs at its defaults (``epsilon: auto``, density
mode ``auto``), each size in a fresh process so its peak RSS is its own.

Printed per size: the time of the density pass and of the rest of selection, the mode chosen,
the error of D on 500 sampled rows when the mode is approximate, peak RSS; then the growth
exponent of the total time between consecutive sizes (1 = linear).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import multiprocessing
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.realistic_tickets import embed  # noqa: E402

DATA = ROOT / "tests" / "data" / "intents"
CACHE = Path(".vectortrainer/bench-embeddings")
NOISE = 0.25
NOVEL_SHARE = 0.005
FAILED_SHARE = 0.02


def requests() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit embeddings of every pool request, their intent ids, out-of-scope embeddings)."""
    vectors, labels, novel = [], [], []
    for name in ("clinc150", "hwu64"):
        rows = [json.loads(line) for line in gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8")]
        pool = [r for r in rows if r["split"] == "pool"]
        vectors.append(embed([r["text"] for r in pool], CACHE))
        labels += [f"{name}:{r['label']}" for r in pool]
        oos = [r["text"] for r in rows if r["split"] == "oos"]
        if oos:
            novel.append(embed(oos, CACHE))
    names = {label: i for i, label in enumerate(sorted(set(labels)))}
    return (np.vstack(vectors).astype(np.float32), np.array([names[x] for x in labels]),
            np.vstack(novel).astype(np.float32))


def realistic_logs(n: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """``n`` log vectors of the realistic geometry (see the module docstring) and their statuses."""
    x, statuses, _ = realistic_logs_with_intents(n, seed)
    return x, statuses


def realistic_logs_with_intents(n: int, seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray]:
    """:func:`realistic_logs`, with each log's intent (an index into the sorted
    ``set:label`` names; -1 for out-of-scope requests and failed calls)."""
    rng = np.random.default_rng(seed)
    pool, intents, oos = requests()
    members = [np.flatnonzero(intents == i) for i in range(intents.max() + 1)]
    weights = rng.pareto(1.5, len(members)) + 1
    n_novel, n_failed = round(n * NOVEL_SHARE), round(n * FAILED_SHARE)
    n_steady = n - n_novel - n_failed
    chosen = rng.choice(len(members), size=n_steady, p=weights / weights.sum())
    first = np.array([members[i][rng.integers(len(members[i]))] for i in chosen])
    second = np.array([members[i][rng.integers(len(members[i]))] for i in chosen])
    t = rng.random((n_steady, 1), dtype=np.float32)
    steady = pool[first] + t * (pool[second] - pool[first])
    novel = oos[rng.integers(len(oos), size=n_novel)]
    failed = pool[rng.integers(len(pool), size=n_failed)]  # their vectors take no part
    x = np.vstack([steady, novel, failed]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x += (NOISE / math.sqrt(x.shape[1])) * rng.standard_normal(x.shape, dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    statuses = ["SUCCESS"] * (n_steady + n_novel) + ["ERROR"] * n_failed
    intents = np.concatenate([chosen, np.full(n_novel + n_failed, -1)])
    order = rng.permutation(n)
    return np.ascontiguousarray(x[order]), [statuses[i] for i in order], intents[order]


def _one(n: int, mode: str, out: "multiprocessing.Queue[dict[str, object]]") -> None:
    from vectortrainer.golden.selection import select_golden
    from vectortrainer.settings import SelectionSettings

    x, statuses = realistic_logs(n, seed=n)
    started = time.perf_counter()
    selection = select_golden(x, statuses, SelectionSettings(density_mode=mode))  # type: ignore[arg-type]
    total = time.perf_counter() - started
    error = selection.density_error
    out.put({"n": n, "total": total, "density": selection.density_seconds,
             "selection": selection.selection_seconds, "mode": selection.density_mode,
             "epsilon": selection.epsilon, "error": None if error is None else error.mean_relative_error,
             "picks": len(selection.rows),
             "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,50000,100000")
    parser.add_argument("--mode", default="auto", choices=["auto", "exact", "pruned", "probed", "ann"],
                        help="the density mode (default: auto, the product's)")
    args = parser.parse_args()
    requests()  # embeds and caches once, before the timed children
    print(f"{'logs':>8} {'total s':>8} {'density s':>9} {'rest s':>7} {'mode':>7} {'epsilon':>8} "
          f"{'D error':>8} {'peak RSS':>9}")
    rows = []
    context = multiprocessing.get_context("spawn")
    for n in (int(s) for s in args.sizes.split(",")):
        queue = context.Queue()
        child = context.Process(target=_one, args=(n, args.mode, queue))
        child.start()
        row = queue.get()
        child.join()
        rows.append(row)
        error = "exact" if row["error"] is None else f"{row['error']:.2%}"
        print(f"{n:>8} {row['total']:>8.1f} {row['density']:>9.1f} {row['selection']:>7.1f} {row['mode']:>7} "
              f"{row['epsilon']:>8.3f} {error:>8} {row['rss_gb']:>7.2f} GB", flush=True)
    for a, b in zip(rows, rows[1:]):
        exponent = math.log(b["total"] / a["total"]) / math.log(b["n"] / a["n"])
        print(f"growth {a['n']} -> {b['n']}: time x{b['total'] / a['total']:.1f} for x{b['n'] / a['n']:.1f} logs "
              f"(exponent {exponent:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

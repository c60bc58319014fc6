"""How good are the golden picks, against what users would pick instead? (VT-11, DataPerf-style)

Run: .venv/bin/python bench/selection_quality.py [--sets base,small] [--budgets 0.01,0.02,0.05,0.1]

Data: the labelled ticket sets of tests/support/realistic_tickets.py (eight intents of
300..15 tickets, bridges, a burst of identical tickets, one-of-a-kind requests, failed
calls), embedded by the offline MiniLM model (cached under .vectortrainer/bench-embeddings).
Every method chooses among the successful logs only, as a user would.

Frozen learner: scikit-learn logistic regression on the embeddings, trained on the
picked subset (the picks that carry an intent label; bridges and one-of-a-kind
requests have none) and scored by macro-F1 over the eight intents on every intent log.
Budgets are shares of the successful logs. Methods:

- ours steady          select_golden with SelectionSettings(top_k, anomaly_share=0)
- ours steady+anomaly  select_golden with SelectionSettings(top_k) at its defaults (a quarter for new
                       patterns)
- random               uniform sample, mean of 10 seeds
- k-means medoids      KMeans(k) on the unit vectors, the log nearest each centre
- SemDeDup + random    drop logs within cosine 0.95 of an earlier kept log of the same
                       k-means cluster (SemDeDup), then a uniform sample; mean of 10 seeds

Also printed: intent coverage (intents of >= 15 logs with a pick) and novel recall
(the share of one-of-a-kind requests picked).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.realistic_tickets import INTENTS, NOVEL, VARIANTS, LabelledSet, embedded_set  # noqa: E402
from vectortrainer.golden.selection import select_golden  # noqa: E402
from vectortrainer.settings import SelectionSettings  # noqa: E402

SEEDS = 10
DEDUP_SIMILARITY = 0.95
CACHE = Path(".vectortrainer/bench-embeddings")


@dataclass(frozen=True)
class Score:
    macro_f1: float
    intents_covered: int
    novel_recall: float


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def frozen_learner_f1(labelled: LabelledSet, picks: np.ndarray) -> float:
    """Macro-F1 over the intents, on every intent log, of a logistic regression trained on ``picks``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    labels = np.array(labelled.labels)
    intents = list(INTENTS)
    train = [int(r) for r in picks if labels[r] in INTENTS]
    test = np.flatnonzero(np.isin(labels, intents))
    x = _unit(labelled.vectors)
    if not train:
        return 0.0
    if len(set(labels[train])) == 1:
        predicted = np.full(len(test), labels[train[0]])
    else:
        learner = LogisticRegression(max_iter=2000, C=10.0)
        learner.fit(x[train], labels[train])
        predicted = learner.predict(x[test])
    return float(f1_score(labels[test], predicted, labels=intents, average="macro", zero_division=0))


def score(labelled: LabelledSet, picks: np.ndarray) -> Score:
    labels = np.array(labelled.labels)
    sizes = labelled.intent_sizes
    picked = set(labels[picks].tolist())
    covered = sum(1 for intent, size in sizes.items() if size >= 15 and intent in picked)
    novel_total = int((labels == NOVEL).sum())
    novel_recall = float((labels[picks] == NOVEL).sum() / novel_total) if novel_total else 0.0
    return Score(frozen_learner_f1(labelled, picks), covered, novel_recall)


def ours(labelled: LabelledSet, k: int, anomaly_share: float) -> np.ndarray:
    settings = SelectionSettings(top_k=k, anomaly_share=anomaly_share)
    selection = select_golden(labelled.vectors, labelled.statuses, settings)
    return selection.rows


def random_picks(successful: np.ndarray, k: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).choice(successful, size=min(k, len(successful)), replace=False)


def kmeans_medoids(labelled: LabelledSet, successful: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    x = _unit(labelled.vectors[successful])
    model = KMeans(n_clusters=k, n_init=3, random_state=0).fit(x)
    picks = []
    for centre in range(k):
        members = np.flatnonzero(model.labels_ == centre)
        if len(members):
            picks.append(successful[members[np.argmax(x[members] @ model.cluster_centers_[centre])]])
    return np.array(picks, dtype=np.int64)


def semdedup_keep(labelled: LabelledSet, successful: np.ndarray) -> np.ndarray:
    """SemDeDup: within each k-means cluster, keep a log only if no kept log is more alike than DEDUP_SIMILARITY."""
    from sklearn.cluster import KMeans

    x = _unit(labelled.vectors[successful])
    clusters = max(2, int(np.sqrt(len(x))))
    assignment = KMeans(n_clusters=clusters, n_init=3, random_state=0).fit_predict(x)
    kept = []
    for cluster in range(clusters):
        members = np.flatnonzero(assignment == cluster)
        sims = x[members] @ x[members].T
        keep: list[int] = []
        for i in range(len(members)):
            if not keep or sims[i, keep].max() < DEDUP_SIMILARITY:
                keep.append(i)
        kept.extend(successful[members[keep]].tolist())
    return np.array(sorted(kept), dtype=np.int64)


def mean_score(scores: list[Score]) -> Score:
    return Score(statistics.mean(s.macro_f1 for s in scores), round(statistics.mean(s.intents_covered for s in scores)),
                 statistics.mean(s.novel_recall for s in scores))


def evaluate(labelled: LabelledSet, budget: float) -> dict[str, Score]:
    successful = np.flatnonzero(np.array(labelled.statuses) == "SUCCESS")
    k = max(2, round(budget * len(successful)))
    deduped = semdedup_keep(labelled, successful)
    return {
        "ours steady": score(labelled, ours(labelled, k, 0.0)),
        "ours steady+anomaly": score(labelled, ours(labelled, k, 0.25)),
        "random (10 seeds)": mean_score([score(labelled, random_picks(successful, k, s)) for s in range(SEEDS)]),
        "k-means medoids": score(labelled, kmeans_medoids(labelled, successful, k)),
        "SemDeDup + random": mean_score([score(labelled, random_picks(deduped, k, s)) for s in range(SEEDS)]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(v.name for v in VARIANTS))
    parser.add_argument("--budgets", default="0.01,0.02,0.05,0.1")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    budgets = [float(b) for b in args.budgets.split(",")]
    chosen = [v for v in VARIANTS if v.name in args.sets.split(",")]
    started = time.perf_counter()
    results: dict[tuple[str, float], dict[str, Score]] = {}
    for variant in chosen:
        labelled = embedded_set(variant, CACHE)
        successful = sum(1 for s in labelled.statuses if s == "SUCCESS")
        print(f"\nset {variant.name}: {successful} successful logs, intents {dict(labelled.intent_sizes)}")
        print(f"{'budget':>7} {'k':>4}  {'method':<20} {'macro-F1':>8} {'intents':>7} {'novel recall':>12}")
        for budget in budgets:
            k = max(2, round(budget * successful))
            scores = evaluate(labelled, budget)
            results[(variant.name, budget)] = scores
            for method, s in scores.items():
                print(f"{budget:>7.0%} {k:>4}  {method:<20} {s.macro_f1:>8.3f} {s.intents_covered:>5}/8 {s.novel_recall:>12.2f}")
    methods = list(next(iter(results.values())))
    print(f"\nmean macro-F1 over {len(chosen)} sets")
    print(f"{'method':<20} " + " ".join(f"{b:>7.0%}" for b in budgets))
    for method in methods:
        row = [statistics.mean(results[(v.name, b)][method].macro_f1 for v in chosen) for b in budgets]
        print(f"{method:<20} " + " ".join(f"{value:>7.3f}" for value in row))
    wins = sum(results[key]["ours steady"].macro_f1 > results[key]["random (10 seeds)"].macro_f1 for key in results)
    print(f"\nours steady beats random on {wins} of {len(results)} (set, budget) cases; "
          f"{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()

"""Golden data on real labelled requests against the trivial baselines (VT-20).

Run: .venv/bin/python bench/real_selection_quality.py [--sets clinc150,hwu64,banking77,snips] [--budgets 0.01,0.02,0.05,0.1]
     [--data DIR]   (your own labelled sets: DIR/<set>.jsonl.gz, one {"split", "text", "label"} per line)

Data: public sets of real user requests in small form (tests/data/intents/, sources and
licences in its README), embedded by the product's offline MiniLM (cached under
.vectortrainer/bench-embeddings). Each pool is 6,000 logs; the budget is the share picked.

Frozen learner: scikit-learn logistic regression (C=10) on the embeddings of the picks,
scored by accuracy on the set's own test split. Methods:

- ours (default)     select_golden at the default settings (anomaly_share auto: new patterns take
                     what they add to the coverage, at most a quarter); the pool, and 4 pools that
                     each leave out another 1% of its logs, mean ± std (ours gives the same picks
                     in any row order, so orders give no spread; checked once per set)
- ours (steady only) select_golden with anomaly_share=0, the same 5 pools
- random             uniform sample, 10 seeds, mean ± std
- k-means medoids    KMeans(k) on the unit vectors, the log nearest each centre; 5 seeds, mean ± std
                     (one seed's figure moves by about 0.01, as much as the methods differ at 1%)
- stratified oracle  a label-stratified uniform sample (it reads the labels: a reference only)

Also printed: intent coverage (intents with a pick) and each method's wall time. Novelty (CLINC150
only): the out-of-scope requests mixed into the pool at 2% and 5%, with 2% failed calls, five
draws; precision at k = the number of novel requests, and AUROC, for our anomaly ranking (outside every dense
cluster, farthest from every prototype of the logs first, as select_golden orders it), the 5th-neighbour distance, LOF and
IsolationForest. Failed calls picked by ours are counted (must be 0). Then the default pick's
split at budgets of 5% and 10%: its anomaly picks with no out-of-scope request in the logs and
with each mix, and how many of them are out of scope.

New intents (every set): a third of the intents held out of the pool (seeded), their requests
mixed back in at 2% and 5%, three draws: how many of the new intents the default pick reaches at
budgets of 5% and 10% (all its picks, and its anomaly picks alone) against random and k-means
medoids. A new intent with a dozen requests is a small dense pattern, not an isolated request,
so it is mostly the steady picks that must reach it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.realistic_tickets import embed  # noqa: E402
from vectortrainer.golden.selection import select_golden  # noqa: E402
from vectortrainer.settings import SelectionSettings  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "intents"
CACHE = Path(".vectortrainer/bench-embeddings")
SEEDS = 10
KMEANS_SEEDS = 5
POOLS = 5  # ours runs on the pool and on pools that each leave out LEFT_OUT of its logs
LEFT_OUT = 0.01
DRAWS = 5  # draws of out-of-scope requests (and failed calls) mixed into the pool


def _load(name: str) -> dict[str, tuple[list[str], np.ndarray, np.ndarray]]:
    """split -> (labels, unit embeddings, texts) of one set."""
    rows = [json.loads(line) for line in gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8")]
    splits: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
    for split in ("pool", "test", "oos"):
        chosen = [r for r in rows if r["split"] == split]
        texts = [r["text"] for r in chosen]
        vectors = embed(texts, CACHE) if texts else np.zeros((0, 384), np.float32)
        splits[split] = ([r["label"] for r in chosen], vectors.astype(np.float32), np.array(texts))
    return splits


def _accuracy(x: np.ndarray, y: np.ndarray, picks: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression

    picks = np.asarray(picks, dtype=np.int64)
    if len(set(y[picks].tolist())) < 2:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(max_iter=1000, C=10.0).fit(x[picks], y[picks])
    return float(model.score(x_test, y_test))


def _kmeans_medoids(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    from sklearn.cluster import KMeans

    centres = KMeans(k, n_init=1, random_state=seed).fit(x).cluster_centers_
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    return np.unique(np.argmax(x @ centres.T, axis=0))


def new_intents(name: str, shares: list[float], budgets: tuple[float, ...] = (0.05, 0.1)) -> None:
    splits = _load(name)
    y, x = np.array(splits["pool"][0]), splits["pool"][1]
    intents = np.unique(y)
    held = np.random.default_rng(7).choice(intents, len(intents) // 3, replace=False)
    new = np.isin(y, held)
    known_x, new_x, new_y = x[~new], x[new], y[new]
    print(f"\n{name}: new intents ({len(held)} of {len(intents)} held out of the pool of {len(known_x)}, their "
          f"requests mixed in; new intents with a pick, mean over 3 draws)")
    print(f"{'novel':>6} {'budget':>7}  {'present':>8}  {'ours (default)':>15} {'its anomaly picks':>18} "
          f"{'random':>7} {'k-means':>8}")
    for share in shares:
        for budget in budgets:
            reached: dict[str, list[int]] = {"ours": [], "anomaly": [], "random": [], "kmeans": [], "present": []}
            for draw in range(3):
                rng = np.random.default_rng(draw)
                count = round(len(known_x) * share / (1 - share))
                chosen = rng.choice(len(new_x), count, replace=False)
                mixed = np.vstack([known_x, new_x[chosen]])
                labels = np.r_[np.full(len(known_x), ""), new_y[chosen]]
                k = round(len(known_x) * budget)

                def count_new(picks: np.ndarray, labels: np.ndarray = labels) -> int:
                    return len(set(labels[np.asarray(picks, dtype=np.int64)].tolist()) - {""})

                selection = select_golden(mixed.copy(), ["SUCCESS"] * len(mixed), SelectionSettings(top_k=k))
                reached["ours"].append(count_new(selection.rows))
                reached["anomaly"].append(count_new(selection.anomaly))
                reached["random"].append(count_new(rng.choice(len(mixed), k, replace=False)))
                reached["kmeans"].append(count_new(_kmeans_medoids(mixed, k, draw)))
                reached["present"].append(len(set(new_y[chosen].tolist())))
            mean = {key: statistics.mean(values) for key, values in reached.items()}
            print(f"{share:>6.0%} {budget:>7.0%}  {mean['present']:>8.1f}  {mean['ours']:>15.1f} "
                  f"{mean['anomaly']:>18.1f} {mean['random']:>7.1f} {mean['kmeans']:>8.1f}")


def _stratified(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    labels, counts = np.unique(y, return_counts=True)
    quota = np.maximum(1, np.round(counts / counts.sum() * k)).astype(int)
    picks = [rng.choice(np.flatnonzero(y == label), min(q, c), replace=False)
             for label, q, c in zip(labels, quota, counts, strict=True)]
    chosen = np.concatenate(picks)
    return rng.choice(chosen, min(k, len(chosen)), replace=False)


def quality(name: str, budgets: list[float]) -> None:
    splits = _load(name)
    y = np.array(splits["pool"][0])
    x = splits["pool"][1]
    y_test, x_test = np.array(splits["test"][0]), splits["test"][1]
    print(f"\n{name}: pool {len(x)} logs, {len(set(y.tolist()))} intents; test {len(x_test)}")
    print(f"{'budget':>7} {'k':>4}  {'method':<20} {'accuracy':>14} {'intents':>9} {'seconds':>8}")
    # Ours gives the same picks for the same logs in any order; a few logs more or less move its
    # picks as a seed moves the baselines', so pools that each lack another 1% give its spread.
    leave = np.random.default_rng(1)
    pools = [np.arange(len(x))] + [
        np.sort(leave.choice(len(x), len(x) - round(len(x) * LEFT_OUT), replace=False))
        for _ in range(POOLS - 1)]
    _check_order_free(name, x, max(1, round(len(x) * budgets[0])))
    for share in budgets:
        k = max(1, round(len(x) * share))
        rows: list[tuple[str, str, str, float]] = []
        for label, settings in (("ours (default)", SelectionSettings(top_k=k)),
                                ("ours (steady only)", SelectionSettings(top_k=k, anomaly_share=0.0))):
            scores, intents, seconds = [], [], []
            for pool in pools:
                started = time.perf_counter()
                picks = pool[select_golden(x[pool], ["SUCCESS"] * len(pool), settings).rows]
                seconds.append(time.perf_counter() - started)
                scores.append(_accuracy(x, y, picks, x_test, y_test))
                intents.append(len(set(y[picks].tolist())))
            rows.append((f"{label}", f"{statistics.mean(scores):.3f} ± {statistics.pstdev(scores):.3f}",
                         f"{statistics.mean(intents):.0f}", statistics.median(seconds)))
        rng = np.random.default_rng(0)
        started = time.perf_counter()
        scores = [_accuracy(x, y, rng.choice(len(x), k, replace=False), x_test, y_test) for _ in range(SEEDS)]
        rows.append(("random (10 seeds)", f"{statistics.mean(scores):.3f} ± {statistics.pstdev(scores):.3f}", "",
                     (time.perf_counter() - started) / SEEDS))
        started = time.perf_counter()
        kmeans = [_kmeans_medoids(x, k, seed) for seed in range(KMEANS_SEEDS)]
        scores = [_accuracy(x, y, picks, x_test, y_test) for picks in kmeans]
        rows.append(("k-means medoids", f"{statistics.mean(scores):.3f} ± {statistics.pstdev(scores):.3f}",
                     f"{statistics.mean(len(set(y[p].tolist())) for p in kmeans):.0f}",
                     (time.perf_counter() - started) / KMEANS_SEEDS))
        scores = [_accuracy(x, y, _stratified(y, k, rng), x_test, y_test) for _ in range(SEEDS)]
        rows.append(("stratified oracle", f"{statistics.mean(scores):.3f} ± {statistics.pstdev(scores):.3f}", "", 0.0))
        for label, accuracy, intents, seconds in rows:
            print(f"{share:>7.0%} {k:>4}  {label:<20} {accuracy:>14} {intents:>9} {seconds:>8.2f}")


def _check_order_free(name: str, x: np.ndarray, k: int) -> None:
    """Prints whether ours picks the same logs, in the same ranks, from the pool shuffled (of
    byte-identical requests, which copy is taken follows the row order)."""
    shuffle = np.random.default_rng(2).permutation(len(x))
    given = select_golden(x.copy(), ["SUCCESS"] * len(x), SelectionSettings(top_k=k))
    shuffled = select_golden(x[shuffle], ["SUCCESS"] * len(x), SelectionSettings(top_k=k))
    pairs = [(given.steady, shuffle[shuffled.steady]), (given.anomaly, shuffle[shuffled.anomaly])]
    same = all(len(a) == len(b) and np.array_equal(x[a], x[b]) for a, b in pairs)
    copies = sum(int((a != b).sum()) for a, b in pairs if len(a) == len(b))
    print(f"{name}: ours picks the same {len(given.rows)} logs in the same ranks from the pool "
          f"shuffled: {'yes' if same else 'NO'}"
          + (f" ({copies} of them another copy of the same request)" if same and copies else ""))


def novelty(name: str, shares: list[float]) -> None:
    from sklearn.ensemble import IsolationForest
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import LocalOutlierFactor

    splits = _load(name)
    x, oos = splits["pool"][1], splits["oos"][1]
    if not len(oos):
        return
    print(f"\n{name}: novelty (out-of-scope requests mixed in; precision at k = their count, AUROC; "
          f"mean ± std over {DRAWS} draws)")
    print(f"{'novel':>6}  {'method':<24} {'precision':>15} {'AUROC':>15}")
    splits_seen: list[tuple[float, np.ndarray, list[str], np.ndarray]] = []
    for share in shares:
        figures: dict[str, tuple[list[float], list[float]]] = {}
        picked_failed = 0
        for draw in range(DRAWS):
            rng = np.random.default_rng(draw)
            novel = round(len(x) * share / (1 - share))
            failed = round(len(x) * 0.02)
            mixed = np.vstack([x, oos[rng.choice(len(oos), novel, replace=False)], x[rng.choice(len(x), failed)]])
            is_novel = np.r_[np.zeros(len(x), bool), np.ones(novel, bool), np.zeros(failed, bool)]
            statuses = ["SUCCESS"] * (len(x) + novel) + ["ERROR"] * failed
            ok = np.arange(len(x) + novel)  # baselines rank the successful logs, as ours does
            selection = select_golden(mixed.copy(), statuses, SelectionSettings(top_k=novel, anomaly_share=1.0))
            picked_failed += int(sum(statuses[r] != "SUCCESS" for r in selection.rows))
            truth = is_novel[ok]
            # our ranking: novelty outside every dense cluster; the clusters' logs tie below
            ours_score = np.nan_to_num(selection.novelty[ok], nan=-1.0) if selection.novelty is not None \
                else np.zeros(len(ok))
            ours = np.array([r for r in selection.anomaly[:novel] if r < len(ok)], dtype=np.int64)
            scores: dict[str, np.ndarray] = {}
            sims = mixed[ok] @ mixed[ok].T
            np.fill_diagonal(sims, -np.inf)
            scores["5th-neighbour distance"] = 1 - -np.sort(-sims, axis=1)[:, 4]
            scores["LOF"] = -LocalOutlierFactor(n_neighbors=20, metric="cosine").fit(mixed[ok]).negative_outlier_factor_
            scores["IsolationForest"] = -IsolationForest(random_state=0).fit(mixed[ok]).score_samples(mixed[ok])
            precision, auroc = figures.setdefault("ours (anomaly picks)", ([], []))
            precision.append(float(truth[ours].mean()))
            auroc.append(float(roc_auc_score(truth, ours_score)))
            for label, score in scores.items():
                precision, auroc = figures.setdefault(label, ([], []))
                precision.append(float(truth[np.argsort(-score)[:novel]].mean()))
                auroc.append(float(roc_auc_score(truth, score)))
            if draw == 0:
                splits_seen.append((share, mixed, statuses, is_novel))
        for label, (precision, auroc) in figures.items():
            extra = f"   failed calls picked: {picked_failed}" if label.startswith("ours") else ""
            print(f"{share:>6.0%}  {label:<24} {statistics.mean(precision):>6.3f} ± {statistics.pstdev(precision):.3f} "
                  f"{statistics.mean(auroc):>6.3f} ± {statistics.pstdev(auroc):.3f}{extra}")
    _split(x, splits_seen)


def _split(x: np.ndarray, mixes: list[tuple[float, np.ndarray, list[str], np.ndarray]]) -> None:
    """How the default pick (anomaly_share auto) splits its budget as the logs hold more new
    requests: its anomaly picks, and how many of them are out of scope."""
    print(f"\n{'novel':>6}  {'budget':>6}  {'anomaly picks (default)':>24}  {'out of scope among them':>24}")
    plain = (0.0, x, ["SUCCESS"] * len(x), np.zeros(len(x), bool))
    for share, mixed, statuses, is_novel in [plain, *mixes]:
        for budget in (0.05, 0.1):
            top_k = round(len(x) * budget)
            anomaly = select_golden(mixed.copy(), statuses, SelectionSettings(top_k=top_k)).anomaly
            print(f"{share:>6.0%}  {budget:>6.0%}  {len(anomaly):>24}  {int(is_novel[anomaly].sum()):>24}")


def _use_data(folder: Path) -> None:
    global DATA
    DATA = folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="clinc150,hwu64,banking77,snips")
    parser.add_argument("--budgets", default="0.01,0.02,0.05,0.1")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of <set>.jsonl.gz files")
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    _use_data(args.data)
    started = time.perf_counter()
    for name in args.sets.split(","):
        quality(name, budgets)
        novelty(name, [0.02, 0.05])
        new_intents(name, [0.02, 0.05])
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()

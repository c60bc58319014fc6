"""New patterns on real requests: CLINC150's out-of-scope requests mixed into its in-scope ones.

Real MiniLM embeddings (the product's own model; cached in pytest's cache directory by content)
of 20 requests of each of the 150 intents, with out-of-scope requests mixed in at 2% and 5% and
failed calls beside them. Ranked outside every dense cluster by the distance to the nearest
prototype of the logs, the anomaly picks find at least as many of the out-of-scope requests as
the 5th-neighbour distance does, and clearly more than the same candidates ranked lowest density
first (measured: 33 + 106 of 61 + 158, against 28 + 97 and 26 + 84).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.realistic_tickets import embed
from vectortrainer.golden.coverage import coverage
from vectortrainer.golden.selection import select_golden
from vectortrainer.settings import SelectionSettings

pytestmark = pytest.mark.slow

DATA = Path(__file__).resolve().parents[1] / "data" / "intents" / "clinc150.jsonl.gz"
PER_INTENT = 20


@pytest.fixture(scope="module")
def requests(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    """(in-scope vectors, out-of-scope vectors)."""
    rows = [json.loads(line) for line in gzip.open(DATA, "rt", encoding="utf-8")]
    taken: dict[str, int] = {}
    in_scope = []
    for row in rows:
        if row["split"] == "pool" and taken.get(row["label"], 0) < PER_INTENT:
            taken[row["label"]] = taken.get(row["label"], 0) + 1
            in_scope.append(row["text"])
    out_of_scope = [row["text"] for row in rows if row["split"] == "oos"][:200]
    cache = getattr(request.config, "cache", None)
    cache_dir = Path(cache.mkdir("vectortrainer-realistic-embeddings")) if cache else None
    vectors = embed(in_scope + out_of_scope, cache_dir)
    return vectors[: len(in_scope)], vectors[len(in_scope) :]


def fifth_neighbour_distance(unit: np.ndarray) -> np.ndarray:
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    return 1 - -np.sort(-sims, axis=1)[:, 4]


def test_new_patterns_are_found_better_than_by_density_or_the_fifth_neighbour_distance(
    requests,
) -> None:
    in_scope, out_of_scope = requests
    ours = baseline = by_density = novel_total = 0
    for share in (0.02, 0.05):
        novel = round(len(in_scope) * share / (1 - share))
        failed = in_scope[: round(len(in_scope) * 0.02)]  # failed calls embed like real requests
        vectors = np.vstack([in_scope, out_of_scope[:novel], failed]).astype(np.float32)
        statuses = ["SUCCESS"] * (len(in_scope) + novel) + ["ERROR"] * len(failed)
        is_novel = np.r_[np.zeros(len(in_scope), bool), np.ones(novel, bool), np.zeros(len(failed), bool)]
        selection = select_golden(vectors.copy(), statuses, SelectionSettings(top_k=novel, anomaly_share=1.0))

        assert all(statuses[row] == "SUCCESS" for row in selection.rows)
        assert len(selection.anomaly) == novel
        ok = slice(0, len(in_scope) + novel)  # the baseline ranks the successful logs, as ours does
        unit = vectors[ok] / np.linalg.norm(vectors[ok], axis=1, keepdims=True)
        ours += int(is_novel[selection.anomaly].sum())
        fifth = fifth_neighbour_distance(unit)
        baseline += int(is_novel[ok][np.argsort(-fifth)[:novel]].sum())
        # the same candidates (outside every dense cluster) lowest density first, then the more
        # isolated: the order new patterns had before prototypes
        outside = np.flatnonzero(selection.clusters[ok] < 0)
        densest_last = outside[np.lexsort((-fifth[outside], selection.density[ok][outside]))]
        by_density += int(is_novel[ok][densest_last[:novel]].sum())
        novel_total += novel
    assert ours >= baseline, (ours, baseline, novel_total)
    assert ours >= by_density + 0.05 * novel_total, (ours, by_density, novel_total)


def test_sparse_patterns_stand_for_the_steady_state_and_new_requests_do_not(requests) -> None:
    """Intents phrased many ways (CLINC150's "definition", "calculator") fall outside every dense
    cluster; they are patterns all the same, so steady picks may stand for them, while the
    out-of-scope requests stay new."""
    in_scope, out_of_scope = requests
    novel = round(len(in_scope) * 0.05 / 0.95)
    vectors = np.vstack([in_scope, out_of_scope[:novel]]).astype(np.float32)
    is_novel = np.r_[np.zeros(len(in_scope), bool), np.ones(novel, bool)]
    top_k = len(vectors) // 10
    selection = select_golden(vectors.copy(), ["SUCCESS"] * len(vectors),
                              SelectionSettings(top_k=top_k, anomaly_share=0.0))

    assert len(selection.steady) == top_k and len(selection.anomaly) == 0
    outside = selection.steady[selection.clusters[selection.steady] < 0]
    # measured: 14 steady picks outside the clusters, none of them out of scope (none before
    # sparse patterns counted: only cluster members were candidates)
    assert len(outside) >= 5
    assert is_novel[outside].mean() <= 0.1, (int(is_novel[outside].sum()), len(outside))
    # in the coverage report such a pick stands for itself and the outside logs near it
    report = coverage(selection, vectors)
    assert all(report.stands_for[i] >= 1 for i, pick in enumerate(selection.picks) if pick.cluster < 0)


def test_the_default_split_follows_how_much_real_novelty_the_logs_hold(requests) -> None:
    """With no out-of-scope request, the default pick spends almost nothing on new logs (they are
    the sparse tail of known intents); with 5% mixed in it spends more, and mostly on them.
    Measured at a 10% budget: 6 anomaly picks without them, 14 (12 out of scope) with them;
    18 and 27 (16) when a new log counted for itself in full, however barely new."""
    in_scope, out_of_scope = requests
    picked: dict[float, tuple[int, int]] = {}
    for share in (0.0, 0.05):
        novel = round(len(in_scope) * share / (1 - share))
        vectors = np.vstack([in_scope, out_of_scope[:novel]]).astype(np.float32)
        is_novel = np.r_[np.zeros(len(in_scope), bool), np.ones(novel, bool)]
        selection = select_golden(vectors.copy(), ["SUCCESS"] * len(vectors),
                                  SelectionSettings(top_k=len(vectors) // 10))
        picked[share] = (len(selection.anomaly), int(is_novel[selection.anomaly].sum()))

    (plain, _), (mixed, out_of_scope_picked) = picked[0.0], picked[0.05]
    assert plain <= 10, picked
    assert mixed >= plain + 5, picked
    assert out_of_scope_picked >= 0.7 * mixed, picked

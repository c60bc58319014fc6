"""How new a log is: its distance to the nearest prototype of where the logs are (FR-1.4, VT-20).

Density D counts neighbours within epsilon, so a log at the sparse edge of a large pattern and a
request unlike any pattern both have a low D, and ranking new patterns by D (or by the k-th
neighbour distance) mixes the two. A pattern's prototype sits inside it: an edge log is still near
its pattern's prototype, a new request is far from every prototype. The prototypes come from
spherical k-means (faiss) with about :data:`LOGS_PER_PROTOTYPE` logs per centre, fitted on a
fixed-size sample, so the cost does not grow with the store. Each prototype is the plain mean of
the logs nearest its centre, not the centre's direction: its length says how tight the pattern
is. Measured by the Euclidean distance to it (k-means' own measure), the logs of a pattern phrased
many ways stand less far behind a tight pattern's than by the cosine to its direction (a typical
log of a pattern of mean length 0.5 is 1.4 times as far as one of length 0.8, not 2.5 times), so
they are told from new requests better. Only prototypes of a pattern count: one that few logs are
nearest to is where new requests gather (:data:`MIN_PROTOTYPE_LOGS`).

The same distance tells which logs outside the dense clusters still belong to a pattern
(:func:`pattern_limit`): those are candidates for the steady state, the rest are new.

Measured on real requests (CLINC150 pool of 6,000 with its out-of-scope requests mixed in at 2%
and 5%, ``bench/real_selection_quality.py``): precision at k = the number of new requests went
from 0.48 / 0.59 (lowest D first) to 0.59 / 0.63 with the cosine distance to the centres'
directions, against 0.45 / 0.61 for the 5th-neighbour distance. On eight other draws the cosine
distance to the centres gave 0.61 / 0.66, the Euclidean distance to the logs' means 0.64 / 0.68,
the 5th-neighbour distance 0.47 / 0.59; on the bench's own five draws 0.638 / 0.701 against
0.430 / 0.598. Measuring each log against its prototype's mean without itself in it moved those
eight draws by +0.004 / +0.007 and the bench's five by -0.008 / +0.001: not kept.
"""

from __future__ import annotations

import numpy as np

# About one prototype per pattern of a few dozen requests. With the Euclidean distance to the
# logs' means, over eight draws of the bench's pool (precision at 2% / 5% new requests): 30 logs
# per centre and at least 15 nearest gave 0.64 / 0.69; 40 and 15 gave 0.63 / 0.68, 40 and 20
# 0.63 / 0.70, 30 and 20 0.61 / 0.70; 60 logs per centre and 15, 0.59 / 0.68 (four draws).
LOGS_PER_PROTOTYPE = 30
# A prototype that fewer fitted logs than this are nearest to marks no pattern of the logs: it is
# where a few new requests gather, and they stay new (every prototype, 40 logs per centre:
# 0.59 / 0.63 over four draws).
MIN_PROTOTYPE_LOGS = 15
MAX_FIT_ROWS = 8192  # the prototypes are fitted on a uniform sample of at most this many logs
# A log outside the dense clusters at most as far from a prototype as this share of the clusters'
# own logs belongs to a pattern that is sparse, not new (a request type phrased many ways): it may
# stand for the steady state. On the bench's pools with 2% / 5% out-of-scope requests mixed in
# (three draws each), 0.95 let 0-6 of 106-265 new requests through and 150-260 of 760-815 logs;
# 0.99 let through 7-37 new requests.
PATTERN_SHARE = 0.95
# How new a log past that limit is: 0 at the limit, 1 from this many times the limit on. On
# CLINC150 with 5% out-of-scope requests the median new in-scope log lies at 1.07x the limit and
# the median out-of-scope request at 1.17x (1.06-1.11x for the new logs of HWU64, BANKING77 and
# SNIPS, which hold none).
FULLY_NEW_AT = 1.2
# One k-means run puts its centres by chance; the distance averaged over a few runs is steadier
# (precision 0.54 / 0.63 for one run, 0.60 / 0.64 for six, over four row orders of the bench's
# pool). Fixed seeds, and selection hands the logs over in content order: the same logs give the
# same ranking.
_SEEDS = (0, 1, 2, 3)
_ITERATIONS = 20
_CHUNK = 16384  # rows scored per matrix product


def prototypes(unit: np.ndarray) -> list[np.ndarray] | None:
    """Prototypes of the unit rows ``unit`` (each the mean of the logs nearest one k-means centre,
    so inside the unit ball), one set per k-means seed; None when there are too few logs to form
    two prototypes (ranking by density is all there is then)."""
    rows = len(unit)
    fit = unit
    if rows > MAX_FIT_ROWS:
        sample = np.random.default_rng(_SEEDS[0]).choice(rows, MAX_FIT_ROWS, replace=False)
        fit = unit[np.sort(sample)]
    count = len(fit) // LOGS_PER_PROTOTYPE
    if count < 2:
        return None
    import faiss  # imported here: selection on a few logs never needs it

    fit = np.ascontiguousarray(fit, dtype=np.float32)
    sets = []
    for seed in _SEEDS:
        kmeans = faiss.Kmeans(fit.shape[1], count, niter=_ITERATIONS, seed=seed, spherical=True,
                              verbose=False, min_points_per_centroid=1,
                              max_points_per_centroid=LOGS_PER_PROTOTYPE * 4)
        kmeans.train(fit)
        centres = np.asarray(kmeans.centroids, dtype=np.float32)  # set by train()
        centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
        sets.append(_means_of_patterns(fit, centres))
    return sets


def _means_of_patterns(fit: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """The mean of the fitted rows nearest each centre that at least :data:`MIN_PROTOTYPE_LOGS`
    of them are nearest to (of every centre some row is nearest to, if none is)."""
    nearest = np.concatenate([(fit[start : start + _CHUNK] @ centres.T).argmax(axis=1)
                              for start in range(0, len(fit), _CHUNK)])
    counts = np.bincount(nearest, minlength=len(centres))
    from scipy import sparse  # one sparse product sums each centre's rows (np.add.at: 40x slower)

    ones = np.ones(len(fit), dtype=np.float32)
    assignment = sparse.csr_matrix((ones, (nearest, np.arange(len(fit)))),
                                   shape=(len(centres), len(fit)))
    sums = np.asarray(assignment @ fit)
    kept = counts >= MIN_PROTOTYPE_LOGS
    if not kept.any():
        kept = counts > 0
    return (sums[kept] / counts[kept, None]).astype(np.float32)


def pattern_limit(unit: np.ndarray, members: np.ndarray, prototype_sets: list[np.ndarray]) -> float:
    """The distance to a prototype within which a log belongs to a pattern: the
    :data:`PATTERN_SHARE` quantile of the dense clusters' logs ``members`` (rows of ``unit``),
    measured on a uniform sample of at most :data:`MAX_FIT_ROWS` of them; -inf without members."""
    members = np.asarray(members, dtype=np.int64)
    if not len(members):
        return float("-inf")
    if len(members) > MAX_FIT_ROWS:
        members = np.sort(np.random.default_rng(_SEEDS[0]).choice(members, MAX_FIT_ROWS,
                                                                   replace=False))
    return float(np.quantile(prototype_distance(unit, members, prototype_sets), PATTERN_SHARE))


def newness(distance: np.ndarray, limit: float) -> np.ndarray:
    """How new each log at ``distance`` from the prototypes is, from 0 (at the sparse-pattern
    ``limit`` or nearer) to 1 (at :data:`FULLY_NEW_AT` times it or farther)."""
    if not np.isfinite(limit) or limit <= 0:
        return np.ones(len(distance))
    return np.clip((np.asarray(distance, dtype=np.float64) / limit - 1.0) / (FULLY_NEW_AT - 1.0),
                   0.0, 1.0)


def prototype_distance(
    unit: np.ndarray, rows: np.ndarray, prototype_sets: list[np.ndarray]
) -> np.ndarray:
    """The Euclidean distance of each of ``rows`` (unit rows of ``unit``) to its nearest
    prototype, averaged over the prototype sets: smallest for a log in the middle of a tight
    pattern (1 - the prototype's length), larger the newer the log."""
    rows = np.asarray(rows, dtype=np.int64)
    distance = np.zeros(len(rows), dtype=np.float32)
    for start in range(0, len(rows), _CHUNK):
        part = unit[rows[start : start + _CHUNK]]
        for seed_prototypes in prototype_sets:
            # |x - p|^2 = 1 + |p|^2 - 2 x.p for a unit row x
            squared = 1.0 + (seed_prototypes**2).sum(axis=1) - 2.0 * (part @ seed_prototypes.T)
            distance[start : start + len(part)] += np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    return distance / len(prototype_sets)

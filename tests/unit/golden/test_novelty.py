"""How new a log is (FR-1.4, VT-20): its distance to the nearest prototype of a pattern."""

from __future__ import annotations

import numpy as np
import pytest

from vectortrainer.golden import novelty


def _patterns_and_a_few_new_requests(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """25 patterns of 80 logs and 12 new requests gathered in a direction of their own."""
    dim = 32
    centres = rng.normal(size=(25, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    logs = np.vstack([c + 0.35 * rng.normal(size=(80, dim)) / np.sqrt(dim) for c in centres])
    direction = rng.normal(size=dim)
    new = direction / np.linalg.norm(direction) + 0.2 * rng.normal(size=(12, dim)) / np.sqrt(dim)
    unit = np.vstack([logs, new]).astype(np.float32)
    return unit / np.linalg.norm(unit, axis=1, keepdims=True), len(new)


@pytest.mark.parametrize("seed", [0, 1])
def test_new_requests_that_gather_stay_farther_than_any_log_of_a_pattern(seed: int, monkeypatch) -> None:
    unit, new = _patterns_and_a_few_new_requests(np.random.default_rng(seed))
    sets = novelty.prototypes(unit)
    assert sets is not None
    distance = novelty.prototype_distance(unit, np.arange(len(unit)), sets)
    assert distance[-new:].min() > distance[:-new].max()
    # every k-means centre counted, one settles among the new requests and they look old
    monkeypatch.setattr(novelty, "MIN_PROTOTYPE_LOGS", 0)
    every = novelty.prototypes(unit)
    assert every is not None
    assert novelty.prototype_distance(unit, np.arange(len(unit)), every)[-new:].min() < distance[:-new].max()


def test_too_few_logs_for_two_prototypes_leave_the_ranking_to_density() -> None:
    unit, _ = _patterns_and_a_few_new_requests(np.random.default_rng(0))
    assert novelty.prototypes(unit[: 2 * novelty.LOGS_PER_PROTOTYPE - 1]) is None


def _tight_patterns_one_loose_pattern_and_new_requests(
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """19 tight patterns of 60 logs, one pattern of 60 phrased many ways (its logs far from its
    direction), and 15 new requests only loosely like some tight pattern; which rows are new."""
    dim = 48
    centres = rng.normal(size=(20, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    tight = np.vstack([c + 0.4 * rng.normal(size=(60, dim)) / np.sqrt(dim) for c in centres[1:]])
    loose = centres[0] + 1.3 * rng.normal(size=(60, dim)) / np.sqrt(dim)
    directions = rng.normal(size=(15, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    new = 0.6 * centres[1 + rng.integers(0, 19, 15)] + directions
    unit = np.vstack([tight, loose, new]).astype(np.float32)
    is_new = np.r_[np.zeros(len(tight) + len(loose), bool), np.ones(len(new), bool)]
    return unit / np.linalg.norm(unit, axis=1, keepdims=True), is_new


@pytest.mark.parametrize("seed", [0, 3, 5])
def test_a_pattern_phrased_many_ways_is_not_taken_for_new_requests(seed: int) -> None:
    unit, is_new = _tight_patterns_one_loose_pattern_and_new_requests(np.random.default_rng(seed))
    sets = novelty.prototypes(unit)
    assert sets is not None
    distance = novelty.prototype_distance(unit, np.arange(len(unit)), sets)
    newest = np.argsort(-distance)[: is_new.sum()]
    # measured: 10-12 of the 15 farthest logs are the new requests; by the cosine to the
    # prototypes' directions the loose pattern's logs take more of those places (5-8 left)
    assert is_new[newest].sum() >= 9
    directions = [p / np.linalg.norm(p, axis=1, keepdims=True) for p in sets]
    cosine = np.mean([1 - (unit @ d.T).max(axis=1) for d in directions], axis=0)
    assert is_new[newest].sum() > is_new[np.argsort(-cosine)[: is_new.sum()]].sum()


def test_newness_runs_from_the_pattern_limit_to_fully_new() -> None:
    limit = 0.8
    distance = np.array([0.5, 0.8, 0.88, 0.96, 1.3])
    assert novelty.newness(distance, limit).tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])
    # With no limit (no dense cluster to measure it on) every log counts as new.
    assert novelty.newness(distance, float("-inf")).tolist() == [1.0] * 5

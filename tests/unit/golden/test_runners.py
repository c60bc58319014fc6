"""Runners of the density tasks: chunks of pairs keep their order; every runner merges the same results."""

from __future__ import annotations

import numpy as np

from vectortrainer.golden.density import epsilon_graph_stats
from vectortrainer.golden.ray_runner import chunk_pairs
from vectortrainer.golden.backends import runner_for
from vectortrainer.golden.runners import ThreadRunner


def test_chunks_hold_consecutive_pairs_in_order_and_about_the_work_asked_for() -> None:
    pairs = [(slice(0, 100), None), (slice(0, 100), slice(100, 300)), (slice(100, 200), np.arange(300, 350)),
             (slice(200, 300), None), (slice(300, 400), slice(400, 500))]
    chunks = chunk_pairs(pairs, work=20_000)
    assert [pair for chunk in chunks for pair in chunk] == pairs
    # 100*50, 100*200 -> 25,000: the first chunk closes; 100*50 + 100*50 + 100*100 -> 20,000: the second.
    assert [len(chunk) for chunk in chunks] == [2, 3]
    assert chunk_pairs([], work=10) == []


class _RecordingRunner:
    """Runs tasks in reverse and hands results back in order, as a cluster finishing out of order would."""

    name = "recording"

    def __init__(self) -> None:
        self.pairs = 0
        self.tasks: set[str] = set()

    def map(self, task, shared, pairs):
        pairs = list(pairs)
        results = {i: task(*shared, pair) for i, pair in reversed(list(enumerate(pairs)))}
        self.pairs += len(pairs)
        self.tasks.add(task.__name__)
        return (results[i] for i in range(len(pairs)))


def test_a_runner_that_computes_out_of_order_gives_bit_identical_density() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1500, 12)).astype(np.float32)
    reference = epsilon_graph_stats(x, "auto", mode="exact", block_size=128, runner=ThreadRunner(workers=2))
    recording = _RecordingRunner()
    stats = epsilon_graph_stats(x, "auto", mode="exact", block_size=128, runner=recording)
    assert recording.pairs > 0
    np.testing.assert_array_equal(stats.density, reference.density)
    np.testing.assert_array_equal(stats.kth_similarity, reference.kth_similarity)
    np.testing.assert_array_equal(stats.components, reference.components)


def test_the_local_backend_is_threads_of_this_process() -> None:
    runner = runner_for("local", workers=3)
    assert isinstance(runner, ThreadRunner) and runner.workers == 3


def test_probed_density_and_its_ring_merge_the_same_out_of_order(monkeypatch) -> None:
    from tests.unit.golden.test_density import clustered
    from vectortrainer.golden import probing

    monkeypatch.setattr(probing, "PROBE_STEPS", (1,))  # one probe: the ring's sampled sums join in
    x = clustered(20000, 16, centres=40, spread=0.6, seed=5)
    reference = epsilon_graph_stats(x, 0.2, mode="probed", min_samples=5, runner=ThreadRunner(workers=2))
    recording = _RecordingRunner()
    stats = epsilon_graph_stats(x, 0.2, mode="probed", min_samples=5, runner=recording)
    assert stats.mode == "probed" and recording.pairs > 0
    # the pieces, the probe's products and the error sample are tasks too: on a cluster the driver only
    # trains the first k-means level, plans and merges
    assert {"nearest_task", "piece_task", "angle_task", "score_task", "sampled_sums",
            "exact_density_task"} <= recording.tasks
    np.testing.assert_array_equal(stats.density, reference.density)
    np.testing.assert_array_equal(stats.neighbour_counts, reference.neighbour_counts)
    np.testing.assert_array_equal(stats.components, reference.components)
    assert stats.density_error == reference.density_error  # the error sample, scored out of order too

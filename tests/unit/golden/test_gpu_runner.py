"""The GPU backend (``density.backend: gpu``), run here on torch's CPU device: the products come from
torch, the epilogues and the merge are the threads' own, so results match the local runner."""

from __future__ import annotations

import numpy as np
import pytest

from vectortrainer.errors import ConfigError
from vectortrainer.golden.density import epsilon_graph_stats
from vectortrainer.golden.gpu_runner import GpuRunner
from vectortrainer.golden.backends import runner_for
from vectortrainer.golden.runners import ThreadRunner, graph_pair, topk_pair


def _exact_rows(n: int, dim: int, seed: int) -> np.ndarray:
    """Rows of quarter steps: every product and partial sum is exact in float32, in any order."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-4, 5, size=(n, dim)) / 4).astype(np.float32)


def _pairs(n: int) -> list:
    rng = np.random.default_rng(1)
    return [(slice(0, 40), None), (slice(0, 40), slice(40, 100)),
            (np.sort(rng.choice(n, 30, replace=False)), np.arange(100, 160)), (slice(100, 160), None)]


def test_device_products_give_the_threads_results_bit_for_bit() -> None:
    rows = _exact_rows(160, 12, seed=3)
    ids = np.arange(160, dtype=np.int64)[::-1].copy()
    core = np.random.default_rng(2).random(160) < 0.6
    device = GpuRunner("cpu", workers=2)
    shared = (rows, ids, core, 2.0, 3.0)  # threshold and link hit many exact ties
    for ours, theirs in zip(device.map(graph_pair, shared, _pairs(160)),
                            ThreadRunner(2).map(graph_pair, shared, _pairs(160)), strict=True):
        for field in ("dens_a", "cnt_a", "near_sim_a", "near_a", "dens_b", "cnt_b", "near_b", "edges"):
            mine, other = getattr(ours, field), getattr(theirs, field)
            assert (mine is None) == (other is None)
            if mine is not None:
                np.testing.assert_array_equal(mine, other)
    floors = np.full(160, -np.inf)
    for (top_a, top_b), (ref_a, ref_b) in zip(device.map(topk_pair, (rows, 5, floors), _pairs(160)),
                                              ThreadRunner(2).map(topk_pair, (rows, 5, floors), _pairs(160)),
                                              strict=True):
        np.testing.assert_array_equal(top_a, ref_a)
        assert (top_b is None) == (ref_b is None)
        if top_b is not None:
            np.testing.assert_array_equal(top_b, ref_b)
    assert device.products == 8


def test_a_whole_density_on_the_device_matches_the_threads_to_float32_rounding(monkeypatch) -> None:
    from tests.unit.golden.test_density import clustered
    from vectortrainer.golden import probing

    monkeypatch.setattr(probing, "PROBE_STEPS", (1,))
    x = clustered(6000, 16, centres=30, spread=0.6, seed=5)
    for mode in ("exact", "pruned", "probed"):
        device = GpuRunner("cpu", workers=2)
        ours = epsilon_graph_stats(x, 0.2, mode=mode, min_samples=5, runner=device)
        theirs = epsilon_graph_stats(x, 0.2, mode=mode, min_samples=5, runner=ThreadRunner(2))
        assert ours.mode == theirs.mode == mode and device.products > 0
        np.testing.assert_allclose(ours.density, theirs.density, rtol=1e-4, atol=1e-4)
        # a similarity within float32 rounding of the threshold may fall on the other side
        assert np.mean(ours.neighbour_counts != theirs.neighbour_counts) < 0.01
        np.testing.assert_allclose(ours.kth_similarity, theirs.kth_similarity, atol=1e-5)


def test_without_a_gpu_the_backend_is_one_clear_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(ConfigError, match="density.backend: gpu needs a CUDA GPU.*set density.backend: local"):
        runner_for("gpu")


def test_the_config_names_the_gpu_backend_and_a_typo_lists_the_three(tmp_path) -> None:
    from vectortrainer.config import load_config

    path = tmp_path / "config.yaml"
    path.write_text("density:\n  backend: gpu\n", encoding="utf-8")
    assert load_config(path).density.backend == "gpu"
    path.write_text("density:\n  backend: cuda\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"density.backend: expected one of 'local', 'ray', 'gpu'"):
        load_config(path)

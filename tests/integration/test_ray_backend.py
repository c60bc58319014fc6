"""``density.backend: ray`` on a local Ray cluster (2 CPUs): Ray Data reads the same logs in the same order,
Ray tasks over partition pairs give the same densities and picks as one machine, at 50,000 logs (VT-15)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from vectortrainer.cli import main
from vectortrainer.errors import ConfigError
from vectortrainer.golden.ray_runner import RayRunner
from vectortrainer.golden.runners import topk_pair
from vectortrainer.golden.selection import select_golden
from vectortrainer.settings import SelectionSettings
from vectortrainer.store.source import LogSource

LOGS = 50_000
# As bench/extract.py: on these synthetic clusters "auto" picks a tight epsilon and leaves >16k
# micro-clusters (past clusters.MATRIX_LIMIT, the linkage runs on a graph of micro-clusters).
EPSILON = 0.15

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def large_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vectortrainer.demo.synthetic import fill_store

    store = tmp_path_factory.mktemp("scale") / "store"
    fill_store(store, LOGS)
    return store


def test_ray_data_reads_the_same_logs_in_the_same_order(ray_cluster, large_store: Path) -> None:
    local = LogSource.open(large_store).read_function("route_ticket")
    distributed = LogSource.open(large_store, backend="ray").read_function("route_ticket")
    assert local.total == distributed.total == LOGS
    assert [r.uuid for r in local.records] == [r.uuid for r in distributed.records]
    assert local.statuses == distributed.statuses and local.skipped == distributed.skipped
    np.testing.assert_array_equal(local.vectors, distributed.vectors)


@pytest.mark.parametrize("mode", ["auto", "pruned"])
def test_ray_tasks_give_the_same_densities_and_picks_as_one_machine(ray_cluster, large_store: Path,
                                                                    mode: str) -> None:
    logs = LogSource.open(large_store).read_function("route_ticket")
    settings = SelectionSettings(epsilon=EPSILON, top_k=20, density_mode=mode)
    alone = select_golden(logs.vectors, logs.statuses, settings)
    runner = RayRunner()
    spread = select_golden(logs.vectors, logs.statuses, settings, runner=runner)
    assert runner.tasks_run > 1  # the work really went out as Ray tasks
    assert spread.density_mode == alone.density_mode == ("exact" if mode == "auto" else "pruned")
    assert spread.epsilon == alone.epsilon
    np.testing.assert_array_equal(spread.density, alone.density)
    np.testing.assert_array_equal(spread.neighbour_counts, alone.neighbour_counts)
    np.testing.assert_array_equal(spread.clusters, alone.clusters)
    np.testing.assert_array_equal(spread.steady, alone.steady)
    np.testing.assert_array_equal(spread.anomaly, alone.anomaly)


def test_select_with_the_ray_backend_in_the_config_writes_the_same_golden_file(ray_cluster, large_store: Path,
                                                                               tmp_path: Path, capsys) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("density:\n  backend: ray\n")
    outputs = {}
    for name, extra in (("local", []), ("ray", ["--config", str(config)])):
        outputs[name] = tmp_path / f"golden-{name}.jsonl"
        code = main(["select", "--store", str(large_store), "--function", "route_ticket", "--top-k", "12",
                     "--epsilon", str(EPSILON), "--out", str(outputs[name]), *extra])
        assert code == 0, capsys.readouterr().err
    assert outputs["ray"].read_bytes() == outputs["local"].read_bytes()
    assert len(outputs["ray"].read_text().splitlines()) == 12


def test_a_cancel_stops_the_ray_pass_and_puts_the_rows_back(ray_cluster) -> None:
    from vectortrainer.golden.density import epsilon_graph_stats, unit_rows

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4000, 16)).astype(np.float32)
    work = x.copy()

    def cancel(done: int, total: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        epsilon_graph_stats(work, 0.3, mode="pruned", block_size=64, runner=RayRunner(chunk_work=64 * 64),
                            overwrite=True, progress=cancel)
    np.testing.assert_array_equal(work, unit_rows(x)[0])


def test_without_ray_installed_the_backend_is_one_clear_error(monkeypatch) -> None:
    from vectortrainer.cluster import connect

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ConfigError, match=r"pip install 'vectortrainer\[distributed\]'"):
        connect()


def test_the_probe_runs_on_ray_tasks_and_gives_what_one_machine_gives(ray_cluster, monkeypatch) -> None:
    from tests.unit.golden.test_density import clustered
    from vectortrainer.golden import probing
    from vectortrainer.golden.density import epsilon_graph_stats

    monkeypatch.setattr(probing, "PROBE_STEPS", (1,))  # one probe: the ring's sampled sums join in
    x = clustered(20000, 16, centres=40, spread=0.6, seed=5)
    alone = epsilon_graph_stats(x, "auto", mode="probed", min_samples=5)
    runner = RayRunner()
    spread = epsilon_graph_stats(x, "auto", mode="probed", min_samples=5, runner=runner)
    assert spread.mode == alone.mode == "probed" and runner.tasks_run > 1
    assert spread.epsilon == alone.epsilon and spread.density_error == alone.density_error
    np.testing.assert_array_equal(spread.density, alone.density)
    np.testing.assert_array_equal(spread.components, alone.components)


def test_rows_stay_in_the_object_store_while_their_content_is_the_same(ray_cluster) -> None:
    rows = np.random.default_rng(4).standard_normal((2000, 256)).astype(np.float32)
    runner = RayRunner()
    pairs = [(slice(0, 1000), None), (slice(0, 1000), slice(1000, 2000)), (slice(1000, 2000), None)]
    floors = np.full(2000, -np.inf)
    first = [top for top, _ in runner.map(topk_pair, (rows, 5, floors), pairs)]
    puts = runner.puts
    again = [top for top, _ in runner.map(topk_pair, (rows, 5, floors), pairs)]
    assert runner.puts == puts + 1  # the floors (small) again, not the rows
    rows[[0, 1]] = rows[[1, 0]]  # reordered in place, as density does: a new put
    swapped = [top for top, _ in runner.map(topk_pair, (rows, 5, floors), pairs)]
    assert runner.puts == puts + 3
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(swapped[0][[0, 1]], first[0][[1, 0]])

"""Density's exact products on a GPU (``density.backend: gpu``): torch, where CUDA is there.

Per pass the shared rows go to the GPU once; each pair's similarity block is multiplied there
(float32, full precision: torch leaves TF32 off for matrix products unless the process turns it
on) and comes back to a thread of this process, which runs the same compiled epilogue as
:class:`vectortrainer.golden.runners.ThreadRunner` (:func:`~vectortrainer.golden.kernel.
graph_from_sims`, :func:`~vectortrainer.golden.kernel.topk_from_sims`). Results are yielded
in pair order and merged as every runner's are. The GPU rounds its sums in its own order, so
densities match the CPU's to float32 rounding, not bit for bit; a similarity within that
rounding of epsilon may fall on the other side.

The probe's tasks, the ring and the error sample run on this process's threads. Nothing depends
on a GPU: without one, asking for this backend is one clear error.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from vectortrainer.errors import ConfigError
from vectortrainer.golden.kernel import graph_from_sims, topk_from_sims
from vectortrainer.golden.runners import Pair, ThreadRunner, graph_pair, run_tasks, topk_pair


class GpuRunner:
    """The exact passes' products on ``device`` (default: the first CUDA GPU), their epilogues on
    ``workers`` threads (default: every CPU this process may use)."""

    name = "gpu"

    def __init__(self, device: str | None = None, workers: int | None = None) -> None:
        import torch  # only when this backend is asked for

        if device is None:
            if not torch.cuda.is_available():
                raise ConfigError(
                    "density.backend: gpu needs a CUDA GPU that torch can see, and there is none "
                    f"(torch {torch.__version__}); set density.backend: local"
                )
            device = "cuda"
        self.torch = torch
        self.device = torch.device(device)
        self.workers = workers
        self.threads = ThreadRunner(workers)
        self.products = 0  # similarity blocks multiplied on the device, for reports and tests
        self.flops = 0  # their floating-point operations (2 per multiply-add)
        self._counting = threading.Lock()  # the blocks are multiplied on several threads

    def map(
        self, task: Callable[..., Any], shared: tuple[Any, ...], pairs: Iterable[Pair]
    ) -> Iterator[Any]:
        if task is graph_pair:
            rows, ids, core, threshold, link = shared

            def finish(sims: np.ndarray, same: bool, pair: Pair) -> Any:
                pa, pb = pair
                return graph_from_sims(sims, same, ids[pa], None if pb is None else ids[pb],
                                       threshold, link, None if core is None else core[pa],
                                       None if core is None or pb is None else core[pb])
        elif task is topk_pair:
            rows, k, floors = shared

            def finish(sims: np.ndarray, same: bool, pair: Pair) -> Any:
                pa, pb = pair
                return topk_from_sims(sims, same, k, floors[pa],
                                      None if pb is None else floors[pb])
        else:  # the probe, the ring, the error sample: this process's threads
            return self.threads.map(task, shared, pairs)
        on_device = self.torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)).to(
            self.device)
        return run_tasks((functools.partial(self._run, on_device, finish, pair) for pair in pairs),
                         workers=self.workers)

    def _run(self, rows: Any, finish: Callable[[np.ndarray, bool, Pair], Any], pair: Pair) -> Any:
        pa, pb = pair
        a = self._rows(rows, pa)
        b = a if pb is None else self._rows(rows, pb)
        sims = (a @ b.T).cpu().numpy()
        with self._counting:
            self.products += 1
            self.flops += 2 * a.shape[0] * b.shape[0] * a.shape[1]
        return finish(sims, pb is None, pair)

    def _rows(self, rows: Any, positions: slice | np.ndarray) -> Any:
        if isinstance(positions, slice):
            return rows[positions]
        return rows[self.torch.from_numpy(np.asarray(positions, dtype=np.int64)).to(self.device)]

"""The runner of density's tasks that ``density.backend`` names (:mod:`vectortrainer.golden.runners`
has the protocol and the threads; Ray and torch are imported only when asked for)."""

from __future__ import annotations

from vectortrainer.golden.runners import TaskRunner, ThreadRunner


def runner_for(
    backend: str = "local", ray_address: str | None = None, workers: int | None = None
) -> TaskRunner:
    """The runner ``density.backend`` names: ``"local"`` (threads), ``"ray"`` (a Ray cluster) or
    ``"gpu"`` (the products on a CUDA GPU)."""
    if backend == "ray":
        from vectortrainer.golden.ray_runner import RayRunner  # Ray: only when asked for

        return RayRunner(ray_address)
    if backend == "gpu":
        from vectortrainer.golden.gpu_runner import GpuRunner  # torch: only when asked for

        return GpuRunner(workers=workers)
    return ThreadRunner(workers)

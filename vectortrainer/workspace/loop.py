"""The continuous loop as the faces drive it: cycles for the configured function, how it stands.

VT-13.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from vectortrainer.config import Config
from vectortrainer.loop import CycleOutcome, LoopView, loop_view, run_loop
from vectortrainer.pipeline import ConfirmCallback, TrainingPipeline
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.workspace.base import UseCases


class Loop(UseCases):
    """Training cycles whenever enough new logs or feedback arrived."""

    def cycles(
        self,
        *,
        once: bool,
        interval_s: float,
        confirm: ConfirmCallback,
        monitor: Callable[[], PipelineMonitor] | None = None,
        on_cycle: Callable[[CycleOutcome], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[CycleOutcome]:
        """One cycle (``once``), or one every ``interval_s`` seconds until ``stop`` is set.

        Each cycle's run is approved by ``confirm`` and watched by a fresh ``monitor()``.
        """

        def pipeline(config: Config) -> TrainingPipeline:
            return TrainingPipeline(config, monitor=monitor() if monitor else None, confirm=confirm)

        return run_loop(
            self._workspace.config,
            interval_s=interval_s,
            once=once,
            pipeline_factory=pipeline,
            stop=stop or threading.Event(),
            on_cycle=on_cycle,
        )

    def view(self, function: str) -> LoopView:
        """The loop for ``function``: its last cycle, what is new against the thresholds."""
        return loop_view(self._workspace.config, function, self._workspace.source)

"""Golden data for one function: read its logs, select by density, write validated ChatML (FR-1,
FR-1.5).

``DensityBasedExtractor`` takes a ``VectorWaveDatasetManager`` by injection (or a
ready log source) and reads through :class:`~vectortrainer.store.source.LogSource`;
selection is :func:`~vectortrainer.golden.selection.select_golden`; examples and
validation come from :mod:`vectortrainer.golden.chatml`. Each stage is timed (read, density,
selection, write, validate) and everything left out is counted with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vectortrainer.errors import StoreError
from vectortrainer.files import write_jsonl
from vectortrainer.golden.approximate import DensityError
from vectortrainer.golden.chatml import (
    ValidationReport,
    build_example,
    system_prompt_for,
    validate_chat_jsonl,
)
from vectortrainer.golden.coverage import Coverage, coverage
from vectortrainer.golden.selection import GoldenSelection, select_golden
from vectortrainer.settings import DEFAULT_SETTINGS, SelectionSettings, require_settings
from vectortrainer.store.records import FunctionLogs
from vectortrainer.store.source import (
    SKIP_NO_INPUTS,
    SKIP_NO_OUTPUT,
    SKIP_NO_VECTOR,
    DatasetManager,
    LogReader,
    LogSource,
)

if TYPE_CHECKING:
    from vectortrainer.config import DensityConfig, SelectionConfig
    from vectortrainer.golden.runners import TaskRunner

StageProgress = Callable[[str, int, int], None]
"""``progress(stage, done, total)`` with stage one of read, density, selection, write, validate.

An exception the callback raises (a cancel) stops the extraction there; the output
file is written atomically, so a cancel never leaves one behind."""

PERCENTILES = (0, 5, 25, 50, 75, 95, 100)


@dataclass(frozen=True)
class PickedLog:
    """One exported example's origin, for summaries and UIs."""

    uuid: str
    strategy: str
    rank: int
    status: str
    density: float
    neighbours: int
    cluster: int
    cluster_size: int


@dataclass
class ExtractionReport:
    """Everything a face shows after an extraction."""

    function_name: str
    output_path: Path
    total_logs: int
    usable_logs: int
    skipped: dict[str, int]
    excluded: dict[str, int]
    steady: int
    anomaly: int
    clusters: int
    density_percentiles: dict[str, float]
    density_mode: str
    density_error: DensityError | None  # approximate density only: its error on a sample
    epsilon: float  # the one used (chosen from the data with "auto")
    top_k: int
    picks: list[PickedLog]
    validation: ValidationReport
    timings: dict[str, float] = field(default_factory=dict)
    epsilon_reason: str = ""
    coverage: Coverage | None = None
    steady_outside: int = 0  # steady picks of sparse patterns, outside every dense cluster

    @property
    def examples(self) -> int:
        return self.steady + self.anomaly


class DensityBasedExtractor:
    """Picks golden logs of a function by epsilon-graph density and writes them as ChatML JSONL.

    ``settings`` say how (a config's ``selection`` section will do); ``system_prompts`` give
    a function's system prompt (else one is derived from the function).
    """

    def __init__(
        self,
        dataset_manager: DatasetManager | None = None,
        settings: SelectionSettings = DEFAULT_SETTINGS,
        *,
        system_prompts: Mapping[str, str] | None = None,
        source: LogReader | None = None,
        progress: StageProgress | None = None,
        runner: TaskRunner | None = None,
    ) -> None:
        if source is None:
            if dataset_manager is None:
                raise StoreError(
                    "DensityBasedExtractor needs a VectorWaveDatasetManager (or a log source)"
                )
            source = LogSource(dataset_manager)
        self.source = source
        self.settings = require_settings(settings)
        self.system_prompts = dict(system_prompts or {})
        self.progress = progress
        self.runner = runner  # None: threads of this process

    @classmethod
    def from_config(
        cls,
        selection: SelectionConfig,
        *,
        source: LogReader,
        density: DensityConfig | None = None,
        progress: StageProgress | None = None,
    ) -> DensityBasedExtractor:
        """The extractor the ``selection`` (and ``density``) sections of a config describe, over
        ``source``."""
        runner = None
        if density is not None and density.backend != "local":
            # the kernel (numba): only when it runs
            from vectortrainer.golden.backends import runner_for

            runner = runner_for(density.backend, density.ray_address)
        return cls(
            settings=selection,
            system_prompts=selection.system_prompts,
            source=source,
            progress=progress,
            runner=runner,
        )

    def extract_golden_data(self, function_name: str, output_path: str | Path) -> ExtractionReport:
        """Select golden logs of ``function_name`` and write them to ``output_path``
        (atomically)."""
        output_path = Path(output_path)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        logs = self.source.read_function(function_name, progress=self._stage("read"))
        timings["read"] = time.perf_counter() - started

        selection = self.select(logs)
        self._report_stage("selection", 1, 1)
        timings["density"] = selection.density_seconds
        timings["selection"] = selection.selection_seconds
        if not len(selection.rows):
            reasons = {**logs.skipped, **selection.excluded}
            why = (
                ", ".join(f"{count} {reason}" for reason, count in reasons.items())
                or "no usable logs"
            )
            raise StoreError(
                f"function '{function_name}': no successful log with a vector and captured inputs "
                f"among {logs.total} logs ({why}); {_fix_for(reasons)}"
            )

        started = time.perf_counter()
        self._report_stage("write", 0, len(selection.rows))
        info = self.source.function_info(function_name)
        prompt = system_prompt_for(
            function_name,
            self.system_prompts,
            getattr(info, "docstring", "") or "",
            getattr(info, "parameters", ()) or tuple(logs.records[int(selection.rows[0])].inputs),
        )
        examples = [
            build_example(logs.records[row].inputs, logs.records[row].output, prompt)
            for row in selection.rows
        ]
        self._report_stage("write", len(examples), len(selection.rows))
        write_jsonl(output_path, examples)
        timings["write"] = time.perf_counter() - started

        started = time.perf_counter()
        self._report_stage("validate", 0, len(examples))
        validation = validate_chat_jsonl(output_path)
        self._report_stage("validate", len(examples), len(examples))
        timings["validate"] = time.perf_counter() - started
        return self._report(function_name, output_path, logs, selection, validation, timings)

    def select(self, logs: FunctionLogs) -> GoldenSelection:
        """The golden selection over ``logs`` with this extractor's settings.

        Works in ``logs.vectors`` itself (no copy of the matrix): afterwards its
        participating rows are normalised to unit length, each still in its place.
        """
        return select_golden(
            logs.vectors,
            logs.statuses,
            self.settings,
            progress=self._stage("density"),
            runner=self.runner,
            overwrite=True,
        )

    def _report_stage(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _stage(self, stage: str) -> Callable[[int, int], None] | None:
        if self.progress is None:
            return None
        report = self.progress
        return lambda done, total: report(stage, done, total)

    def _report(
        self,
        function_name: str,
        output_path: Path,
        logs: FunctionLogs,
        selection: GoldenSelection,
        validation: ValidationReport,
        timings: dict[str, float],
    ) -> ExtractionReport:
        participating = selection.density[selection.participating]
        percentiles = (
            {
                f"p{p}": float(v)
                for p, v in zip(PERCENTILES, np.percentile(participating, PERCENTILES), strict=True)
            }
            if len(participating)
            else {}
        )
        picks = [
            PickedLog(
                uuid=logs.records[p.row].uuid,
                strategy=p.strategy,
                rank=p.rank,
                status=p.status,
                density=p.density,
                neighbours=p.neighbours,
                cluster=p.cluster,
                cluster_size=p.cluster_size,
            )
            for p in selection.picks
        ]
        return ExtractionReport(
            function_name=function_name,
            output_path=output_path,
            total_logs=logs.total,
            usable_logs=int(selection.participating.sum()),
            skipped=dict(logs.skipped),
            excluded=dict(selection.excluded),
            steady=len(selection.steady),
            steady_outside=int((selection.clusters[selection.steady] < 0).sum()),
            anomaly=len(selection.anomaly),
            clusters=len(selection.cluster_sizes),
            density_percentiles=percentiles,
            density_mode=selection.density_mode,
            density_error=selection.density_error,
            epsilon=float(selection.epsilon),
            epsilon_reason=selection.epsilon_reason,
            coverage=coverage(selection, logs.vectors),
            top_k=self.settings.top_k,
            picks=picks,
            validation=validation,
            timings=timings,
        )


def _fix_for(reasons: dict[str, int]) -> str:
    """What makes the next calls usable, for the commonest reason the logs were not."""
    cause = max(reasons, key=lambda reason: reasons[reason]) if reasons else ""
    if cause == SKIP_NO_VECTOR:
        return ("VectorWave stored them without vectors because it had no vectorizer set: call "
                "vectortrainer.quickstart.log_to(STORE) before the first call (or set VECTORIZER "
                "and HF_MODEL_NAME), then call the function again")
    if cause in (SKIP_NO_INPUTS, SKIP_NO_OUTPUT):
        return ("decorate it with @vectorize(capture_inputs=True, capture_return_value=True), "
                "then call it again")
    return "call it successfully a few times first"

"""Golden data as the faces ask for it: settings a person typed, picks with every density, export.

:meth:`Golden.select` picks without writing (the dataset screen shows the picks, the
density histogram and the coverage), :meth:`Golden.export` writes the validated ChatML
JSONL (FR-1.6) with the same settings. Both read the store the workspace opened and run
the density where ``density.backend`` says.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.display import preview
from vectortrainer.golden.coverage import Coverage, coverage
from vectortrainer.golden.extractor import DensityBasedExtractor, ExtractionReport, StageProgress
from vectortrainer.golden.selection import GoldenSelection
from vectortrainer.json_types import JSONObject
from vectortrainer.registry.layout import function_filename
from vectortrainer.runs.golden import write_export_record
from vectortrainer.settings import DEFAULT_SETTINGS, SelectionSettings
from vectortrainer.store.lite import store_signature
from vectortrainer.store.records import FunctionLogs
from vectortrainer.workspace.base import UseCases
from vectortrainer.workspace.vector_map import VectorMap, build_vector_map


@dataclass(frozen=True)
class Candidate:
    """One picked log, as the dataset screen shows it."""

    strategy: str  # "steady" | "anomaly"
    density: float
    input_preview: str
    output_preview: str
    uuid: str


# Compared by identity: the app's reactive compares old and new, and the logs hold arrays.
@dataclass(eq=False)
class SelectionView:
    """The outcome of golden-data selection for one function."""

    function: str
    candidates: list[Candidate]
    densities: list[float]
    skipped: dict[str, int]
    total: int
    logs: FunctionLogs
    selection: GoldenSelection | None = None
    # as asked for (epsilon "auto" or a number); the selection holds the epsilon used
    settings: SelectionSettings = DEFAULT_SETTINGS
    coverage: Coverage | None = None


class Golden(UseCases):
    """Select and export golden data of the workspace's store (FR-1)."""

    def settings(self, epsilon: str, top_k: str) -> SelectionSettings:
        """The config's selection settings with what was typed on a screen ("auto" or a number,
        and top-k; blank keeps the config's), checked like the config."""
        checked = self._workspace.config.with_overrides(
            "dataset screen",
            **{
                "selection.epsilon": epsilon.strip() or None,
                "selection.top_k": top_k.strip() or None,
            },
        )
        return checked.selection.settings_only()

    def select(
        self,
        function: str,
        settings: SelectionSettings,
        *,
        on_stage: StageProgress | None = None,
    ) -> SelectionView:
        """Golden picks of ``function`` with every log's density (the histogram); writes nothing.

        ``on_stage(stage, done, total)`` hears the read and the density stages; an exception it
        raises (a cancel) stops the work at the next batch.
        """
        extractor = self._extractor(settings, on_stage)
        logs = self._workspace.open_store().read_function(
            function, progress=_stage(on_stage, "read")
        )
        selection = extractor.select(logs)
        candidates = [
            Candidate(
                strategy=pick.strategy,
                density=float(pick.density),
                input_preview=preview(logs.records[pick.row].inputs, 34),
                output_preview=preview(logs.records[pick.row].output, 40),
                uuid=logs.records[pick.row].uuid,
            )
            for pick in selection.picks
        ]
        return SelectionView(
            function=function,
            candidates=candidates,
            densities=[float(d) for d in selection.density[selection.participating]],
            skipped={**logs.skipped, **selection.excluded},
            total=logs.total or len(logs.records),
            logs=logs,
            selection=selection,
            settings=settings,
            coverage=coverage(selection, logs.vectors),
        )

    def export(
        self,
        function: str,
        path: str | os.PathLike[str] | None = None,
        *,
        settings: SelectionSettings | None = None,
        on_stage: StageProgress | None = None,
    ) -> ExtractionReport:
        """Write the golden set of ``function`` as validated ChatML JSONL (FR-1.6), with its export
        record beside it (``<file>.provenance.json``: the function and the file's SHA-256), so
        a run of another function refuses the file (:mod:`vectortrainer.runs.golden`).

        ``path`` defaults to ``<output_dir>/golden-<function>.jsonl``; ``settings`` to the
        config's.
        """
        target = Path(path) if path else self.default_export_path(function)
        extractor = self._extractor(settings, on_stage)
        report = extractor.extract_golden_data(function, target)
        write_export_record(
            target, function,
            source=f"export of {function} from the store at {self._workspace.store_path}",
        )
        return report

    def vector_map(
        self,
        function: str,
        settings: SelectionSettings,
        recorded_picks: list[JSONObject] | None = None,
    ) -> VectorMap:
        """The map of ``function``'s logs the web page draws: projection, picks, histograms.

        With ``recorded_picks`` (a run's ``golden_picks.json``) those picks are marked;
        otherwise they are picked anew with ``settings`` on the store as it is now.
        """
        logs = self._workspace.read_function(function)
        return build_vector_map(logs, settings, recorded_picks=recorded_picks)

    def store_signature(self) -> str:
        """Changes whenever the store's logs change (a cache key); empty when there is no store."""
        return store_signature(self._workspace.store_path)

    def default_export_path(self, function: str) -> Path:
        """Where an export of ``function`` goes unless told otherwise."""
        # a logged function name may hold "/" or "..": the file name is the function's safe one
        name = function_filename(function, ".jsonl")
        return Path(self._workspace.config.output_dir) / f"golden-{name}"

    def _extractor(
        self, settings: SelectionSettings | None, on_stage: StageProgress | None
    ) -> DensityBasedExtractor:
        """The config's extractor (its prompts, its density backend), with ``settings`` if given."""
        config = self._workspace.config
        selection = config.selection
        if settings is not None:
            selection = selection.with_settings(settings)
        return DensityBasedExtractor.from_config(
            selection,
            source=self._workspace.open_store(),
            density=config.density,
            progress=on_stage,
        )


def _stage(on_stage: StageProgress | None, name: str) -> Callable[[int, int], None] | None:
    if on_stage is None:
        return None
    return lambda done, total: on_stage(name, done, total)

"""The app's single doorway to the engine: what the screens may ask, as plain calls.

Each method is one engine call (or a short composition of engine calls), blocking,
meant to run in a worker thread; the screens hold no business rule of their own.
The engine modules imported here are light (no VectorWave, torch or vendor SDK at
import time), so the app still paints at once. Results come back as the engine's
own types or as small read-only views for display. Tests build a ``Workspace``
over a tmp directory and, where no store is wanted, hand it a ready log source
(``source=``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vectortrainer.budget.estimates import Estimate
from vectortrainer.budget.guards import check_budget
from vectortrainer.budget.view import BudgetView, budget_view
from vectortrainer.config import Config
from vectortrainer.demo.seed import SeedReport, seed_demo_store
from vectortrainer.display import format_usd, preview
from vectortrainer.feedback.diffing import DiffSegment, diff_segments
from vectortrainer.feedback.from_logs import editable_output, pair_from_log
from vectortrainer.feedback.pair import FeedbackPair
from vectortrainer.feedback.store import FeedbackEntry, FeedbackStore
from vectortrainer.golden.coverage import Coverage, coverage
from vectortrainer.golden.extractor import DensityBasedExtractor, ExtractionReport
from vectortrainer.golden.selection import GoldenSelection, select_golden
from vectortrainer.hooks.generator import GenerationReport, HookScriptGenerator
from vectortrainer.hooks.report import publish_hook
from vectortrainer.hooks.validation import replay_in_subprocess
from vectortrainer.hooks.versions import HookVersion, HookVersionManager
from vectortrainer.hooks.views import HookVersionRow, hook_versions_view, rollback_diff
from vectortrainer.pipeline import ConfirmCallback, RunOutcome, TrainingPipeline
from vectortrainer.registry.models import ModelEntry
from vectortrainer.rules.learning import learn_rules
from vectortrainer.rules.replay import ReplayReport
from vectortrainer.rules.synthesis import RuleSet
from vectortrainer.runs.directory import RunInfo
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.runs.resume import resumable_runs
from vectortrainer.serving import ModelRow as ModelRow  # for the screens
from vectortrainer.serving import ServiceView, rollback_model, service_view
from vectortrainer.store.environment import store_exists
from vectortrainer.store.records import FunctionLogs, FunctionSummary, LogRecord
from vectortrainer.store.source import LogSource
from vectortrainer.training.base import BaseTrainer

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Candidate:
    """One picked log, as the dataset screen shows it."""

    strategy: str  # "steady" | "anomaly"
    density: float
    input_preview: str
    output_preview: str
    uuid: str


# compared by identity: the app's reactive compares old and new, and the logs hold arrays
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
    # as asked for ("auto" or a number); the selection holds the one used
    epsilon: float | str = "auto"
    top_k: int = 20
    coverage: Coverage | None = None


@dataclass
class Workspace:
    """The configured store, feedback file, hooks directory and output directory."""

    config: Config
    source: Any = None  # a LogSource (or any object with its two read methods)
    pipeline: TrainingPipeline | None = None  # the run going now, so the UI can cancel it
    # from the last synthesis's read of the feedback
    feedback_notices: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- store ---------------------------------------------------------------
    @property
    def store_path(self) -> Path:
        return Path(self.config.store.path)

    def store_exists(self) -> bool:
        return self.source is not None or store_exists(self.store_path)

    def open_store(self) -> Any:
        """Open the log source (reads the Lite tables directly: no VectorWave import)."""
        with self._lock:
            if self.source is None:
                self.source = LogSource.open(self.store_path)
            return self.source

    def seed_demo(self, progress: Callable[[int, int, str], None] | None = None) -> SeedReport:
        """Fill the demo store by calling the demo functions (and write the demo feedback pairs)."""
        return seed_demo_store(
            self.store_path, feedback_path=Path(self.config.feedback.path), progress=progress
        )

    def list_functions(self) -> list[FunctionSummary]:
        return list(self.open_store().list_functions())

    def read_function(self, name: str, progress: Progress | None = None) -> FunctionLogs:
        return self.open_store().read_function(name, progress=progress)

    # -- golden data -----------------------------------------------------------
    def selection_settings(self, epsilon: str, top_k: str) -> tuple[float | str, int]:
        """The settings typed on the dataset screen ("auto" or a number, and top-k), checked as the
        config checks them."""
        checked = self.config.with_overrides(
            "dataset screen",
            **{
                "selection.epsilon": epsilon.strip() or None,
                "selection.top_k": top_k.strip() or None,
            },
        )
        return checked.selection.epsilon, checked.selection.top_k

    def select(
        self,
        name: str,
        epsilon: float | str,
        top_k: int,
        progress: Progress | None = None,
        *,
        on_stage: Callable[[str, int, int], None] | None = None,
    ) -> SelectionView:
        """Golden candidates of ``name`` with every log's density (for the histogram); writes
        nothing.

        ``on_stage(stage, done, total)`` hears the read and the density stages; an exception it
        raises (a cancel) stops the work at the next batch.
        """
        def stage(name_: str) -> Progress | None:
            return None if on_stage is None else (lambda done, total: on_stage(name_, done, total))

        logs = self.read_function(name, progress=progress or stage("read"))
        settings = self.config.selection
        selection = select_golden(
            logs.vectors,
            logs.statuses,
            epsilon=epsilon,
            top_k=top_k,
            anomaly_share=settings.anomaly_share,
            min_samples=settings.min_samples,
            cluster_similarity=settings.cluster_similarity_value,
            progress=stage("density"),
        )
        candidates = []
        for pick in selection.picks:
            record = logs.records[pick.row]
            candidates.append(
                Candidate(
                    strategy=pick.strategy,
                    density=float(pick.density),
                    input_preview=preview(record.inputs, 34),
                    output_preview=preview(record.output, 40),
                    uuid=record.uuid,
                )
            )
        densities = [float(d) for d in selection.density[selection.participating]]
        return SelectionView(
            function=name, candidates=candidates, densities=densities,
            skipped={**logs.skipped, **selection.excluded}, total=logs.total or len(logs.records),
            logs=logs, selection=selection, epsilon=epsilon, top_k=top_k,
            coverage=coverage(selection, logs.vectors),
        )

    def export(self, view: SelectionView, path: Path | None = None) -> ExtractionReport:
        """Write the golden set as validated ChatML JSONL (FR-1.6)."""
        target = (
            Path(path) if path else Path(self.config.output_dir) / f"golden-{view.function}.jsonl"
        )
        settings = self.config.selection
        extractor = DensityBasedExtractor(
            source=self.open_store(),
            epsilon=view.epsilon,
            top_k=view.top_k,
            anomaly_share=settings.anomaly_share,
            system_prompts=settings.system_prompts,
            min_samples=settings.min_samples,
            cluster_similarity=settings.cluster_similarity_value,
        )
        return extractor.extract_golden_data(view.function, target)

    # -- feedback --------------------------------------------------------------
    def feedback_store(self) -> FeedbackStore:
        return FeedbackStore(Path(self.config.feedback.path))

    def feedback_entries(self) -> list[FeedbackEntry]:
        """The recorded pairs (``entry_id``, ``pair``, ``line``), in file order."""
        return self.feedback_store().list()

    @staticmethod
    def editable_output(record: LogRecord) -> str:
        """A log's output as the text a person corrects."""
        return editable_output(record)

    @staticmethod
    def correction(record: LogRecord, edited: str) -> FeedbackPair:
        """The pair a correction of ``record`` makes (rendered exactly as its ChatML example)."""
        return pair_from_log(record, edited)

    def record_correction(self, pair: FeedbackPair) -> str:
        """Store a new feedback pair; returns its id."""
        return self.feedback_store().add(pair)

    def edit_correction(self, entry: FeedbackEntry, fixed_output: str) -> None:
        """Replace the fixed output of a stored pair (its bad output, input and context stay)."""
        pair = entry.pair
        self.feedback_store().edit(
            entry.entry_id,
            FeedbackPair(pair.bad_output, fixed_output, pair.input_prompt, pair.context),
        )

    def delete_correction(self, entry_id: str) -> None:
        self.feedback_store().delete(entry_id)

    # -- rules -------------------------------------------------------------------
    def synthesize(self, progress: Callable[[int, int | None, str], None] | None = None) -> RuleSet:
        """Rules from every recorded feedback pair, as the CLI and the pipeline learn them, each
        with its blast radius on the store's uncorrected logs when there is a store.
        ``feedback_notices`` then names the malformed lines skipped and the lines read with
        U+FFFD."""
        source = self.open_store() if self.store_exists() else None
        read = self.feedback_store().read()
        self.feedback_notices = read.notices(self.config.feedback.path)
        return learn_rules(
            read.pairs,
            semantic_screen=self.config.feedback.semantic_screen,
            source=source,
            progress=progress,
        )

    @staticmethod
    def resolve_conflict(rule_set: RuleSet, conflict_id: str, choice: int | str,
                         order: list[int] | None = None) -> RuleSet:
        """The rules re-learned with a person's decision on one conflict (``RuleSynthesisError`` if
        unsafe)."""
        return rule_set.resolve(conflict_id, choice, order)

    @staticmethod
    def diff(bad: str, fixed: str) -> list[DiffSegment]:
        """The token diff of a correction, for display."""
        return diff_segments(bad, fixed)

    @staticmethod
    def replay(rule_set: RuleSet) -> ReplayReport:
        """How the hook these rules make does on the feedback pairs, without saving it."""
        source, _, _ = HookScriptGenerator().render(rule_set)
        return replay_in_subprocess(source, list(rule_set.pairs))

    def generate_hook(self, rule_set: RuleSet, note: str = "") -> GenerationReport:
        """Validate, replay and save the rules as a new active hook version, with ``rules.json``
        beside it."""
        generation, _ = publish_hook(
            rule_set,
            Path(self.config.hooks.dir),
            feedback_path=self.config.feedback.path,
            note=note,
        )
        return generation

    # -- hooks -------------------------------------------------------------------
    def hook_versions(self) -> list[HookVersionRow]:
        """Every saved hook version, newest first, with its checksum verified."""
        return list(reversed(hook_versions_view(Path(self.config.hooks.dir)).rows))

    def hook_diff(self, version_id: str) -> str:
        """What rolling back to ``version_id`` would change in the active hook (unified diff)."""
        return rollback_diff(Path(self.config.hooks.dir), version_id)

    def rollback(self, version_id: str | None) -> HookVersion:
        return HookVersionManager(Path(self.config.hooks.dir)).rollback(version_id)

    # -- in service --------------------------------------------------------------
    def service(self, function: str) -> ServiceView:
        """The promoted model, the active hook, the gates' last decisions and the loop, for
        ``function``."""
        return service_view(self.config, function, source=self.source)

    def rollback_model(self, function: str, version_id: str | None) -> ModelEntry:
        """Promote ``version_id`` (or the model promoted before) for ``function``; running processes
        follow."""
        return rollback_model(self.config, function, version_id)

    # -- cost and runs -------------------------------------------------------------
    def estimate_budget(self, train_path: Path) -> BudgetView:
        """Count tokens offline and price the fine-tune against the configured budget (FR-6)."""
        training, budget = self.config.training, self.config.budget
        estimate = check_budget(
            train_path,
            training.model,
            None,
            training.n_epochs,
            prices=budget.prices or None,
            provider=training.provider,
            schedule=self.config.schedule,
        )
        return budget_view(estimate.with_budget(budget.max_budget_usd))

    def training_target(self) -> str:
        """The model a run would train: the vendor's model, or the local model directory."""
        training = self.config.training
        return (
            str(training.local_model or "(training.local_model not set)")
            if training.provider == "local"
            else training.model
        )

    def budget_limit_text(self) -> str:
        """The limit a run is held to: dollars for a vendor, minutes for a local run ("off" when
        none)."""
        budget = self.config.budget
        if self.config.training.provider == "local":
            return f"{budget.max_minutes:g} min" if budget.max_minutes is not None else "off"
        return format_usd(budget.max_budget_usd) if budget.max_budget_usd is not None else "off"

    @staticmethod
    def budget_view(estimate: Estimate) -> BudgetView:
        """What the budget modal shows of the pipeline's estimate (dollars or minutes)."""
        return budget_view(estimate)

    def latest_resumable_run(self) -> RunInfo | None:
        """The newest run ``r`` can resume (never one live in another process)."""
        runs = resumable_runs(self.config.output_dir)
        return runs[0] if runs else None

    def start_or_resume_run(
        self,
        *,
        monitor: PipelineMonitor,
        confirm: ConfirmCallback,
        resume_id: str | None = None,
        golden_path: Path | None = None,
        trainer: BaseTrainer | None = None,
    ) -> RunOutcome:
        """Run the training pipeline (blocking; call from a worker) and return its outcome.

        With ``golden_path`` (the dataset screen's export) the run trains on that file
        instead of reading the store again; otherwise it reads the app's own log source.
        """
        pipeline = TrainingPipeline(
            self.config, source=self.source, trainer=trainer, monitor=monitor, confirm=confirm
        )
        self.pipeline = pipeline
        if resume_id is not None:
            return pipeline.resume(resume_id)
        return pipeline.run(golden_path=golden_path)

"""The app's single doorway to the engine: what the screens may ask, as plain calls.

Each method is one engine call (or a short composition of public engine names),
blocking, meant to run in a worker thread. Engine modules are imported inside
the methods so the app paints before anything heavy is loaded. Results come
back as the engine's own types or as small read-only views for display.
Tests build a ``Workspace`` over a tmp directory and, where VectorWave is not
wanted, hand it a ready log source (``source=``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vectortrainer.config import Config
from vectortrainer.types import FeedbackPair, FunctionLogs, FunctionSummary

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Candidate:
    """One picked log, as the dataset screen shows it."""

    strategy: str  # "steady" | "anomaly"
    density: float
    input_preview: str
    output_preview: str
    uuid: str


@dataclass
class SelectionView:
    """The outcome of golden-data selection for one function."""

    function: str
    candidates: list[Candidate]
    densities: list[float]
    skipped: dict[str, int]
    total: int
    logs: FunctionLogs
    selection: Any = None  # vectortrainer.selection.GoldenSelection


@dataclass(frozen=True)
class HookVersionRow:
    """One hook version, as the hooks screen shows it."""

    version_id: str
    created: str
    rules: int
    active: bool
    checksum_ok: bool


@dataclass(frozen=True)
class BudgetView:
    """What the budget modal shows (built from the engine's cost estimate)."""

    examples: int
    tokens: int
    model: str
    epochs: int
    price_per_million: float
    estimate_usd: float
    budget_usd: float | None
    advice: str = ""

    @property
    def over_budget(self) -> bool:
        return self.budget_usd is not None and self.estimate_usd > self.budget_usd


def preview(value: Any, width: int = 60) -> str:
    """One line of at most ``width`` characters for a table cell."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class Workspace:
    """The configured store, feedback file, hooks directory and output directory."""

    config: Config
    source: Any = None  # vectortrainer.source.LogSource (or any object with the same two methods)
    pipeline: Any = None  # the TrainingPipeline running now, so the UI can cancel it
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- store ---------------------------------------------------------------
    @property
    def store_path(self) -> Path:
        return Path(self.config.store.path)

    def store_exists(self) -> bool:
        if self.source is not None:
            return True
        from vectortrainer.vectorwave_env import store_exists

        return store_exists(self.store_path)

    def open_store(self) -> Any:
        """Open the log source (imports VectorWave the first time: seconds)."""
        with self._lock:
            if self.source is None:
                from vectortrainer.source import LogSource

                self.source = LogSource.open(self.store_path)
            return self.source

    def seed_demo(self, progress: Progress | None = None) -> Any:
        from vectortrainer.demo.seed import seed_demo_store

        return seed_demo_store(self.store_path, progress=progress)

    def list_functions(self) -> list[FunctionSummary]:
        return list(self.open_store().list_functions())

    def read_function(self, name: str, progress: Progress | None = None) -> FunctionLogs:
        return self.open_store().read_function(name, progress=progress)

    # -- golden data -----------------------------------------------------------
    def select(self, name: str, epsilon: float, top_k: int, progress: Progress | None = None) -> SelectionView:
        from vectortrainer.selection import select_golden

        logs = self.read_function(name, progress=progress)
        selection = select_golden(
            logs.vectors,
            logs.statuses,
            epsilon=epsilon,
            top_k=top_k,
            anomaly_share=self.config.selection.anomaly_share,
        )
        densities = [float(d) for d in getattr(selection, "density", [])]
        candidates = []
        for strategy, rows in (("steady", selection.steady), ("anomaly", selection.anomaly)):
            for row in rows:
                record = logs.records[int(row)]
                candidates.append(
                    Candidate(
                        strategy=strategy,
                        density=densities[int(row)] if densities else 0.0,
                        input_preview=preview(record.inputs),
                        output_preview=preview(record.output),
                        uuid=record.uuid,
                    )
                )
        return SelectionView(
            function=name,
            candidates=candidates,
            densities=densities,
            skipped=dict(logs.skipped),
            total=logs.total or len(logs.records),
            logs=logs,
            selection=selection,
        )

    def export(self, view: SelectionView, path: Path | None = None) -> Path:
        """Write the picked logs as ChatML JSONL (FR-1.6); returns the file written."""
        from vectortrainer import chatml

        target = Path(path) if path else Path(self.config.output_dir) / f"golden-{view.function}.jsonl"
        system_prompt = self.config.selection.system_prompts.get(view.function)
        records = [view.logs.records[int(r)] for r in list(view.selection.steady) + list(view.selection.anomaly)]
        chatml.write_chatml_jsonl(records, target, system_prompt=system_prompt)
        return target

    # -- feedback and rules ------------------------------------------------------
    def feedback_store(self) -> Any:
        from vectortrainer.feedback import FeedbackStore

        return FeedbackStore(Path(self.config.feedback.path))

    def synthesize(self) -> Any:
        from vectortrainer.rules import synthesize_rules

        pairs = [entry.pair if hasattr(entry, "pair") else entry for entry in self.feedback_store().list()]
        return synthesize_rules(pairs)

    # -- hooks -------------------------------------------------------------------
    def hook_manager(self) -> Any:
        from vectortrainer.hooks import HookVersionManager

        return HookVersionManager(Path(self.config.hooks.dir))

    def hook_versions(self) -> list[HookVersionRow]:
        manager = self.hook_manager()
        rows = []
        for version in manager.list_versions():
            rows.append(
                HookVersionRow(
                    version_id=str(version.version_id),
                    created=str(getattr(version, "timestamp", "")),
                    rules=int(getattr(version, "rule_count", 0)),
                    active=bool(getattr(version, "active", False)),
                    checksum_ok=bool(manager.verify(version.version_id)),
                )
            )
        return rows

    def hook_diff(self, version_id: str) -> str:
        return str(self.hook_manager().diff(version_id))

    def rollback(self, version_id: str | None) -> Any:
        return self.hook_manager().rollback(version_id)

    # -- cost ----------------------------------------------------------------------
    def estimate_budget(self, train_path: Path) -> BudgetView:
        """Count tokens offline and price the fine-tune against the configured budget (FR-6)."""
        from vectortrainer.cost import check_budget

        training, budget = self.config.training, self.config.budget
        estimate = check_budget(
            train_path, training.model, None, training.n_epochs, prices=budget.prices or None
        )
        return budget_view(estimate, budget.max_budget_usd)


def budget_view(estimate: Any, budget_usd: float | None) -> BudgetView:
    """The modal's view of a ``vectortrainer.cost.CostEstimate``, with advice when over budget."""
    advice = ""
    over = budget_usd is not None and estimate.estimated_usd > budget_usd
    if over and estimate.estimated_usd > 0:
        fitting = int(estimate.n_examples * budget_usd / estimate.estimated_usd)
        most = f"at most about {fitting} example{'s' if fitting != 1 else ''}" if fitting >= 1 else "far fewer examples"
        advice = (
            f"To get under ${budget_usd:.2f}: select {most} "
            f"(a smaller top-k on the dataset screen, F2), use fewer epochs or a cheaper model "
            f"(training.n_epochs / training.model), or raise budget.max_budget_usd in the config."
        )
    return BudgetView(
        examples=estimate.n_examples,
        tokens=estimate.tokens_per_epoch,
        model=estimate.model,
        epochs=estimate.n_epochs,
        price_per_million=estimate.price_per_million,
        estimate_usd=estimate.estimated_usd,
        budget_usd=budget_usd,
        advice=advice,
    )


def start_or_resume_run(
    workspace: Workspace,
    *,
    monitor: Any,
    confirm: Callable[[Any], bool],
    resume_id: str | None = None,
    golden_path: Path | None = None,
    trainer: Any = None,
) -> Any:
    """Run the training pipeline (blocking; call from a worker) and return its ``RunOutcome``.

    With ``golden_path`` (the dataset screen's export) the run starts from that file:
    the extract stage is recorded as done instead of reading the store again.
    """
    from vectortrainer.pipeline import TrainingPipeline
    from vectortrainer.runs import COMPLETE, RunDirectory

    config = workspace.config
    pipeline = TrainingPipeline(config, trainer=trainer, monitor=monitor, confirm=confirm)
    workspace.pipeline = pipeline
    if resume_id is not None:
        return pipeline.resume(resume_id)
    if golden_path is None:
        if workspace.source is not None and hasattr(workspace.source, "store"):
            from vectortrainer.vectorwave_env import open_dataset_manager

            pipeline.dataset_manager = open_dataset_manager(workspace.store_path)
        return pipeline.run()
    run = RunDirectory.create(config.output_dir, config.redacted(), function=config.selection.function)
    examples = sum(1 for line in Path(golden_path).read_text(encoding="utf-8").splitlines() if line.strip())
    run.golden_path.write_bytes(Path(golden_path).read_bytes())
    stage = run.state.stage("extract")
    stage.status = COMPLETE
    stage.detail.update({"function": config.selection.function, "golden": {"examples": examples},
                         "source": str(golden_path), "note": f"{examples} examples (dataset screen)"})
    run.save()
    return pipeline.resume(run.run_id)

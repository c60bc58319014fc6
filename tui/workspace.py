"""The app's single doorway to the engine: what the screens may ask, as plain calls.

Each method is one engine call (or a short composition of public engine names),
blocking, meant to run in a worker thread. Engine modules are imported inside
the methods so the app paints before anything heavy is loaded. Results come
back as the engine's own types or as small read-only views for display.
Tests build a ``Workspace`` over a tmp directory and, where VectorWave is not
wanted, hand it a ready log source (``source=``).
"""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vectortrainer.config import Config
from vectortrainer.types import FunctionLogs, FunctionSummary

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
    epsilon: float = 0.15
    top_k: int = 20


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


def readable_time(stamp: str) -> str:
    """``20261125T155916030793Z`` -> ``2026-11-25 15:59:16`` (other shapes are returned as they are)."""
    from datetime import datetime

    for shape in ("%Y%m%dT%H%M%S%fZ", "%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(stamp, shape).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    return stamp


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
        """Open the log source (reads the Lite tables directly: no VectorWave import)."""
        with self._lock:
            if self.source is None:
                from vectortrainer.source import LogSource

                self.source = LogSource.open(self.store_path)
            return self.source

    def seed_demo(self, progress: Callable[[int, int, str], None] | None = None) -> Any:
        """Fill the demo store by calling the demo functions (and write the demo feedback pairs)."""
        from vectortrainer.demo.seed import seed_demo_store

        return seed_demo_store(self.store_path, feedback_path=Path(self.config.feedback.path), progress=progress)

    def list_functions(self) -> list[FunctionSummary]:
        return list(self.open_store().list_functions())

    def read_function(self, name: str, progress: Progress | None = None) -> FunctionLogs:
        return self.open_store().read_function(name, progress=progress)

    # -- golden data -----------------------------------------------------------
    def select(self, name: str, epsilon: float, top_k: int, progress: Progress | None = None) -> SelectionView:
        """Golden candidates of ``name`` with every log's density (for the histogram); writes nothing."""
        from vectortrainer.selection import select_golden

        logs = self.read_function(name, progress=progress)
        selection = select_golden(
            logs.vectors, logs.statuses, epsilon=epsilon, top_k=top_k,
            anomaly_share=self.config.selection.anomaly_share,
        )
        candidates = []
        for pick in selection.picks:
            record = logs.records[pick.row]
            candidates.append(Candidate(strategy=pick.strategy, density=float(pick.density),
                                        input_preview=preview(record.inputs, 34), output_preview=preview(record.output, 40),
                                        uuid=record.uuid))
        densities = [float(d) for d in selection.density[selection.participating]]
        return SelectionView(
            function=name, candidates=candidates, densities=densities,
            skipped={**logs.skipped, **selection.excluded}, total=logs.total or len(logs.records),
            logs=logs, selection=selection, epsilon=epsilon, top_k=top_k,
        )

    def export(self, view: SelectionView, path: Path | None = None) -> Any:
        """Write the golden set as validated ChatML JSONL (FR-1.6); returns the ``ExtractionReport``."""
        from vectortrainer.extractor import DensityBasedExtractor

        target = Path(path) if path else Path(self.config.output_dir) / f"golden-{view.function}.jsonl"
        extractor = DensityBasedExtractor(
            source=self.open_store(), epsilon=view.epsilon, top_k=view.top_k,
            anomaly_share=self.config.selection.anomaly_share,
            system_prompts=self.config.selection.system_prompts,
        )
        return extractor.extract_golden_data(view.function, target)

    # -- feedback and rules ------------------------------------------------------
    def feedback_store(self) -> Any:
        from vectortrainer.feedback import FeedbackStore

        return FeedbackStore(Path(self.config.feedback.path))

    def feedback_entries(self) -> list[Any]:
        """The recorded pairs (``FeedbackEntry``: ``entry_id``, ``pair``, ``line``)."""
        return self.feedback_store().list()

    def synthesize(self) -> Any:
        """Rules from every recorded feedback pair (``vectortrainer.rules.RuleSet``)."""
        from vectortrainer.rules import synthesize_rules

        return synthesize_rules(self.feedback_store().pairs())

    def replay(self, rule_set: Any) -> Any:
        """How the hook these rules make does on the feedback pairs (``ReplayReport``), without saving it."""
        from vectortrainer.hooks import HookScriptGenerator
        from vectortrainer.hooks.validation import replay_in_subprocess

        source, _, _ = HookScriptGenerator().render(rule_set)
        return replay_in_subprocess(source, list(rule_set.pairs))

    # -- hooks -------------------------------------------------------------------
    def hook_manager(self) -> Any:
        from vectortrainer.hooks import HookVersionManager

        return HookVersionManager(Path(self.config.hooks.dir))

    def hook_versions(self) -> list[HookVersionRow]:
        """Every saved hook version, newest first, with its checksum verified."""
        from vectortrainer.hooks import HookVersionError

        manager = self.hook_manager()
        rows = []
        for version in manager.list_versions():
            try:
                manager.read_version(version.version_id)
                checksum_ok = True
            except HookVersionError:
                checksum_ok = False
            rows.append(HookVersionRow(version_id=version.version_id, created=readable_time(version.timestamp),
                                       rules=version.rules_count, active=version.active, checksum_ok=checksum_ok))
        return list(reversed(rows))

    def hook_diff(self, version_id: str) -> str:
        """What rolling back to ``version_id`` would change in the active hook (unified diff)."""
        manager = self.hook_manager()
        active = manager.get_active_version()
        if active is None or active.version_id == version_id:
            return ""
        before = _rules_listing(manager.read_version(active.version_id))
        after = _rules_listing(manager.read_version(version_id))
        if before is None or after is None:  # not a hook we generated: show the source diff
            return str(manager.diff(active.version_id, version_id))
        return "".join(difflib.unified_diff(before, after, fromfile=active.version_id, tofile=version_id, n=2))

    def rollback(self, version_id: str | None) -> Any:
        return self.hook_manager().rollback(version_id)

    def generate_hook(self, rule_set: Any, note: str = "") -> Any:
        """Validate, replay and save the rules as a new active hook version; returns the report."""
        from vectortrainer.hooks import HookScriptGenerator

        generator = HookScriptGenerator()
        generator.generate(rule_set, Path(self.config.hooks.dir), enable_versioning=True, note=note)
        return generator.last_report

    # -- cost ----------------------------------------------------------------------
    def estimate_budget(self, train_path: Path) -> BudgetView:
        """Count tokens offline and price the fine-tune against the configured budget (FR-6)."""
        from vectortrainer.cost import check_budget

        training, budget = self.config.training, self.config.budget
        estimate = check_budget(
            train_path, training.model, None, training.n_epochs, prices=budget.prices or None
        )
        return budget_view(estimate, budget.max_budget_usd)


def _rules_listing(source: str) -> list[str] | None:
    """The rules a generated hook embeds (its ``RULES_JSON`` constant), one key per line, for diffs."""
    import ast

    try:
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "RULES_JSON" for t in node.targets):
                document = json.loads(ast.literal_eval(node.value))
                return json.dumps(document.get("rules", document), indent=1, sort_keys=True,
                                  ensure_ascii=False).splitlines(keepends=True)
    except (SyntaxError, ValueError, TypeError):
        return None
    return None


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

    With ``golden_path`` (the dataset screen's export) the run trains on that file
    instead of reading the store again.
    """
    from vectortrainer.pipeline import TrainingPipeline

    pipeline = TrainingPipeline(workspace.config, trainer=trainer, monitor=monitor, confirm=confirm)
    workspace.pipeline = pipeline
    if resume_id is not None:
        return pipeline.resume(resume_id)
    if golden_path is None and workspace.source is not None and hasattr(workspace.source, "store"):
        from vectortrainer.vectorwave_env import open_dataset_manager

        pipeline.dataset_manager = open_dataset_manager(workspace.store_path)
    return pipeline.run(golden_path=golden_path)

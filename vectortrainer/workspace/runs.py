"""Training runs as faces drive them: what a run would train, its limit, start, resume, cancel.

A run is one :class:`~vectortrainer.pipeline.TrainingPipeline` over the workspace's
config and store. Its cost is approved by the caller's ``confirm`` (a person in the app's
budget modal) or, headless, by :func:`~vectortrainer.budget.approval.unattended_approval`
(the one policy, see :meth:`Runs.unattended`). The run in progress can be cancelled
from another thread; it stops at the next safe point and can be resumed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.budget.approval import ApprovalPolicy, unattended_approval
from vectortrainer.budget.guards import check_budget
from vectortrainer.display import format_usd
from vectortrainer.errors import VectorTrainerError
from vectortrainer.pipeline import ConfirmCallback, RunOutcome, TrainingPipeline, resume_line
from vectortrainer.runs.directory import RunDirectory, RunInfo, list_runs
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.runs.resume import resumable_runs
from vectortrainer.training.factory import trains_locally
from vectortrainer.training.local.packaged import describe_local_model
from vectortrainer.workspace.base import UseCases
from vectortrainer.workspace.budget_view import BudgetView, budget_view


@dataclass(frozen=True)
class RunPlan:
    """What a run would train, and the limit it is held to, in words for the training screen."""

    target: str  # the vendor's model, or the local model directory
    limit: str  # "$5.00", "30 min" or "off"


class Runs(UseCases):
    """The runs of the workspace's output directory."""

    current: TrainingPipeline | None = None  # the run going now, so a face can cancel it

    def plan(self) -> RunPlan:
        """The model a run would train and its limit (dollars, or minutes for a local run)."""
        config = self._workspace.config
        training, budget = config.training, config.budget
        if trains_locally(training.provider):
            target = describe_local_model(training.local_model, training.max_steps)
            limit = f"{budget.max_minutes:g} min" if budget.max_minutes is not None else "off"
        else:
            target = training.model
            limit = (
                format_usd(budget.max_budget_usd) if budget.max_budget_usd is not None else "off"
            )
        return RunPlan(target, limit)

    def estimate(self, train_path: str | os.PathLike[str]) -> BudgetView:
        """What fine-tuning on ``train_path`` would cost, held to the configured budget (FR-6).

        Tokens are counted offline; nothing is uploaded.
        """
        config = self._workspace.config
        training, budget = config.training, config.budget
        estimate = check_budget(
            Path(train_path),
            training.model,
            None,
            training.n_epochs,
            prices=budget.prices or None,
            provider=training.provider,
            schedule=config.schedule,
        )
        return budget_view(estimate.with_budget(budget.max_budget_usd))

    def list(self) -> list[RunInfo]:
        """Every run in the output directory, newest first."""
        return list_runs(self._workspace.config.output_dir)

    def latest_resumable(self, function: str | None = None) -> RunInfo | None:
        """The newest run that can be resumed (never one live in another process); of
        ``function`` only when given (a run resumes only under its own function)."""
        runs = [
            info for info in resumable_runs(self._workspace.config.output_dir)
            if function is None or info.function in (None, function)
        ]
        return runs[0] if runs else None

    def resume_command(self, run_id: str) -> str:
        """The command line that resumes ``run_id`` (with ``--function`` when the config file
        selects another function than the run's)."""
        config = self._workspace.config
        try:
            function = RunDirectory.open(config.output_dir, run_id).state.function
        except VectorTrainerError:
            function = None
        return resume_line(run_id, function, config)

    def unattended(self, *, yes: bool = False) -> ApprovalPolicy:
        """The approval of a run nobody watches: the budget approves, else ``yes`` (``--yes``)."""
        budget = self._workspace.config.budget.max_budget_usd
        return unattended_approval(max_budget_usd=budget, yes=yes)

    def start(
        self,
        *,
        monitor: PipelineMonitor | None = None,
        confirm: ConfirmCallback | None = None,
        golden_path: str | os.PathLike[str] | None = None,
    ) -> RunOutcome:
        """Run the pipeline for the configured function (blocking; call it from a worker).

        With ``golden_path`` (an export of the same function) the run trains on that file
        instead of reading the store again; a file of another function is refused, as is a run
        that cannot work (see :meth:`preflight`), before anything is written.
        """
        return self._pipeline(monitor, confirm).run(golden_path=golden_path)

    def resume(
        self,
        run_id: str,
        *,
        monitor: PipelineMonitor | None = None,
        confirm: ConfirmCallback | None = None,
    ) -> RunOutcome:
        """Continue ``run_id`` from its first stage not complete (never a second upload or job)."""
        return self._pipeline(monitor, confirm).resume(run_id)

    def cancel(self) -> bool:
        """Ask the run in progress to stop at its next safe point; False when none is going."""
        if self.current is None:
            return False
        self.current.cancel()
        return True

    @property
    def current_run(self) -> RunDirectory | None:
        """The directory of the run in progress (or the last one started here)."""
        return self.current.run_dir if self.current is not None else None

    @property
    def output_dir(self) -> Path:
        return Path(self._workspace.config.output_dir)

    def _pipeline(
        self, monitor: PipelineMonitor | None, confirm: ConfirmCallback | None
    ) -> TrainingPipeline:
        workspace = self._workspace
        self.current = TrainingPipeline(workspace.config, source=workspace.source, monitor=monitor,
                                        confirm=confirm)
        return self.current

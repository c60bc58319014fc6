"""The resumable training pipeline (FR-3.3, VT-9): logs -> golden data -> rules -> budgeted
fine-tune.

``TrainingPipeline`` runs the stages extract -> synthesize -> hook -> estimate ->
confirm -> upload -> train -> monitor -> evaluate -> summary and keeps everything
in a run directory (see :mod:`vectortrainer.runs`). Every face (TUI, ``--batch``,
web, the loop) drives this one class.

The gates (:mod:`vectortrainer.gate`, ``gate`` in the config): the hook stage
saves the hook learned from the feedback as a new version, active only when it
repairs held-out pairs and changes no good output; the evaluate stage replays the
held-out cases through the trained model and the one in service, keeps the model
in the registry (``models.dir``) and promotes it only when it is better. A run
that trained a model the gate kept out of service ends ``NOT_PROMOTED``.

Resuming a run (``resume(run_id)``) skips stages already complete, reuses the
uploaded file ids saved in ``run.json``, and finds a job already created —
even one created just before a crash, whose id was never saved — through
``trainer.find_job(run_id)`` (the job carries the run id in its metadata), so
a run never pays for two jobs. Resuming a run whose job failed or was
cancelled starts one new job after the cost is confirmed again.

Expected stops (budget exceeded, cost not approved, no API key, a failed job,
cancellation) come back as a :class:`RunOutcome`; unexpected errors are
recorded in ``run.json`` and raised. Ctrl-C (``KeyboardInterrupt``) is
recorded, logged with the command that resumes the run, and re-raised.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectortrainer.budget.approval import Approval, unattended_approval
from vectortrainer.budget.estimates import Estimate, estimate_from_dict
from vectortrainer.budget.guards import check_time_budget, hold_to_budget
from vectortrainer.budget.inference import InferenceEstimate, estimate_replies, with_evaluation
from vectortrainer.config import Config
from vectortrainer.errors import (
    BudgetExceededError,
    ConfigError,
    PipelineCancelled,
    TimeBudgetExceededError,
    VectorTrainerError,
    describe,
)
from vectortrainer.feedback.semantic import shared_scorer
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.files import atomic_write_text, sha256_file
from vectortrainer.gate.holdout import (
    GATE_TRAIN_FILE,
    HOLDOUT_FILE,
    HeldOutCase,
    feedback_cases,
    golden_system_prompt,
    read_cases,
    split_golden,
    split_pairs,
    write_cases,
)
from vectortrainer.gate.hook_gate import publish_gated_hook
from vectortrainer.gate.model_gate import GateSettings, evaluate_candidate
from vectortrainer.golden.extractor import DensityBasedExtractor
from vectortrainer.golden.picks import adopted_stats, golden_picks, golden_stats, read_golden_picks
from vectortrainer.hooks.report import rules_report, write_rules_report
from vectortrainer.redaction import redact_secrets
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.rules.learning import learn_from_feedback, pairs_for_function, rules_counts
from vectortrainer.runs.directory import GATE_FILE, GOLDEN_PICKS_FILE, RunDirectory, StageState
from vectortrainer.runs.monitor import CompositeMonitor, JsonlEventSink, PipelineMonitor
from vectortrainer.runs.resume import resume_command
from vectortrainer.runs.status import RunStatus, StageStatus
from vectortrainer.runs.summary import RunSummary, build_summary, read_summary
from vectortrainer.store.environment import store_exists
from vectortrainer.store.golden import publish_golden_picks
from vectortrainer.store.opening import open_log_source
from vectortrainer.store.source import LogReader, LogSource
from vectortrainer.training.base import BaseTrainer, PreparedData, TrainingEvent, TrainingStatus
from vectortrainer.training.data import preference_file, split_for_validation
from vectortrainer.training.factory import make_trainer

# Receives the estimate; returns the answer (a person's yes / no) or a policy's Approval.
ConfirmCallback = Callable[[Estimate], bool | Approval]


@dataclass
class RunOutcome:
    """How a run (or one attempt of it) ended; ``summary`` is set once the summary stage ran."""

    run_id: str
    run_dir: Path
    status: RunStatus
    message: str = ""
    summary: RunSummary | None = None
    estimate: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCEEDED

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "status": str(self.status),
            "message": self.message,
            "summary": self.summary.to_dict() if self.summary else None,
            "estimate": self.estimate,
        }


class _Stop(VectorTrainerError):
    """An expected end of the run before the summary (budget, approval, credentials): the user's to
    act on."""

    def __init__(self, status: RunStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class TrainingPipeline:
    """Runs (or resumes) one training run; see the module docstring.

    The logs come from ``source`` (a ready :class:`~vectortrainer.store.source.LogSource`),
    else from ``dataset_manager`` (a ``VectorWaveDatasetManager``, FR-1.5), else from
    the configured store (``store.path``, read the way ``density`` says) when the extract
    stage needs it. ``trainer`` defaults to the one
    ``config.training.provider`` names, created only when a stage needs it (``today``: the
    date its provider's schedule is checked on). ``confirm``
    receives the :class:`~vectortrainer.budget.estimates.Estimate` and returns True (or an
    approving :class:`~vectortrainer.budget.approval.Approval`) to spend the money (or the
    time); without it :func:`~vectortrainer.budget.approval.unattended_approval` decides.
    """

    def __init__(
        self,
        config: Config,
        *,
        dataset_manager: Any = None,
        source: LogReader | None = None,
        trainer: BaseTrainer | None = None,
        monitor: PipelineMonitor | None = None,
        confirm: ConfirmCallback | None = None,
        today: datetime.date | None = None,
    ) -> None:
        self.config = config
        config.register_secrets()  # what this run writes never shows the config's secrets
        self.today = today  # the date the provider's schedule is checked on (default: today)
        self.dataset_manager = dataset_manager
        self.source = source
        self.trainer = trainer
        self.user_monitor = monitor
        self.confirm = confirm
        self.run_dir: RunDirectory | None = None
        self.monitor: PipelineMonitor = monitor or PipelineMonitor()
        self._cancel = threading.Event()
        self._estimate: Estimate | None = None
        self._last_step = 0
        self._total_steps: int | None = None

    # -- public ----------------------------------------------------------------------
    def run(
        self, *, run_id: str | None = None, golden_path: str | os.PathLike[str] | None = None
    ) -> RunOutcome:
        """Start a new run (``run_id`` is generated unless given).

        With ``golden_path`` (a ChatML JSONL made earlier, e.g. on the dataset
        screen) the run trains on that file and the store is not read.
        """
        function = self.config.selection.function
        if not function:
            raise ConfigError(
                "selection.function: no function chosen; set "
                "it in the config or pass --function NAME"
            )
        source = Path(golden_path) if golden_path is not None else None
        if source is not None and not source.is_file():
            raise ConfigError(f"{source}: golden data file not found")
        run = RunDirectory.create(
            self.config.output_dir, self.config.redacted(), run_id=run_id, function=function
        )
        if source is not None:
            _adopt_golden(run, source, function)
        return self._execute(run, resumed=False)

    def resume(self, run_id: str, *, retry_failed_training: bool = True) -> RunOutcome:
        """Continue the run ``run_id`` from its first stage not complete.

        A run whose training job failed or was cancelled gets a new job (after the
        cost is confirmed again) unless ``retry_failed_training`` is False; the
        golden data, rules and uploaded file are reused.
        """
        run = RunDirectory.open(self.config.output_dir, run_id)
        if run.state.status in (RunStatus.SUCCEEDED, RunStatus.NOT_PROMOTED):
            return RunOutcome(
                run.run_id,
                run.path,
                run.state.status,
                f"the run had already ended ({run.state.status})",
                summary=read_summary(run),
            )
        retry = retry_failed_training and run.state.status in (RunStatus.TRAINING_FAILED,
                                                               RunStatus.TRAINING_CANCELLED)
        previous_job = run.state.job_id
        if retry:
            for name in ("confirm", "train", "monitor", "evaluate", "summary"):
                run.state.stages[name] = StageState()
            run.state.job_id = run.state.last_event_id = run.state.fine_tuned_model = None
        run.state.resume_count += 1
        if retry:
            run.save()
        outcome_hint = (
            f"job {previous_job} ended without a model; starting a new job" if retry else ""
        )
        return self._execute(run, resumed=True, note=outcome_hint)

    def cancel(self) -> None:
        """Ask the run to stop at the next safe point (thread-safe); it can be resumed later."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- driver ----------------------------------------------------------------------
    def _execute(self, run: RunDirectory, *, resumed: bool, note: str = "") -> RunOutcome:
        self.run_dir = run
        self.monitor = CompositeMonitor([JsonlEventSink(run.events), self.user_monitor])
        with run.lock():
            run.state.status = RunStatus.RUNNING
            run.state.error = None
            run.save()
            self.monitor.on_run_start(run.run_id, resumed=resumed, run_dir=run.path)
            if resumed:
                self.monitor.on_log(
                    f"resuming run {run.run_id} (attempt {run.state.resume_count + 1})"
                )
            if note:
                self.monitor.on_log(note, level="warning")
            try:
                outcome = self._run_stages(run)
            except _Stop as stop:
                outcome = self._finish(run, stop.status, stop.message)
            except (KeyboardInterrupt, PipelineCancelled):
                self._finish(run, RunStatus.INTERRUPTED, self._interrupted_message(run))
                if self._cancel.is_set():
                    return RunOutcome(
                        run.run_id, run.path, RunStatus.INTERRUPTED, self._interrupted_message(run)
                    )
                raise
            except BaseException as exc:
                self._finish(run, RunStatus.FAILED, describe(exc))
                raise
            return outcome

    def _run_stages(self, run: RunDirectory) -> RunOutcome:
        self._stage(
            run,
            "extract",
            lambda: self._extract_stage(run),
            description="density-based golden data",
        )
        self._stage(
            run,
            "synthesize",
            lambda: self._synthesize_stage(run),
            description="rules from feedback",
        )
        self._stage(
            run, "hook", lambda: self._hook_stage(run), description="gate and save the hook"
        )
        self._stage(
            run, "estimate", lambda: self._estimate_stage(run), description="tokens and cost"
        )
        self._stage(
            run, "confirm", lambda: self._confirm_stage(run), description="approve the cost"
        )
        self._stage(
            run, "upload", lambda: self._upload_stage(run), description="validate and upload"
        )
        self._stage(run, "train", lambda: self._train_stage(run), description="create the job")
        self._stage(run, "monitor", lambda: self._monitor_stage(run), description="follow the job")
        status = run.state.stage("monitor").detail.get("status", "")
        self._stage(
            run,
            "evaluate",
            lambda: self._evaluate_stage(run),
            description="held-out replay, promotion",
        )
        self._stage(run, "summary", lambda: self._summary_stage(run), description="final summary")
        summary = read_summary(run)
        evaluation = run.state.stage("evaluate").detail
        if status == TrainingStatus.SUCCEEDED and evaluation.get("promoted"):
            outcome_status = RunStatus.SUCCEEDED
            message = (
                f"run {run.run_id} succeeded: {run.state.fine_tuned_model} is the promoted model "
                f"({evaluation.get('model_version')}): {evaluation.get('reason')}"
            )
        elif status == TrainingStatus.SUCCEEDED:
            outcome_status = RunStatus.NOT_PROMOTED
            version = evaluation.get("model_version")
            message = (
                f"run {run.run_id} trained {run.state.fine_tuned_model} but it was not promoted: "
                f"{evaluation.get('reason')}. It is kept as {version}; promote it anyway with: "
                f"vectortrainer models promote {version} --function {run.state.function}"
            )
        elif status == TrainingStatus.CANCELLED:
            outcome_status = RunStatus.TRAINING_CANCELLED
            message = (f"training job {run.state.job_id} was cancelled; "
                       f"start a new job with: {resume_command(run.run_id, self.config)}")
        else:
            error = run.state.stage("monitor").detail.get("error") or "no reason given"
            outcome_status = RunStatus.TRAINING_FAILED
            message = (
                f"training job {run.state.job_id} failed: {error}; after fixing the "
                f"cause, start a new job with: {resume_command(run.run_id, self.config)}"
            )
        outcome = self._finish(run, outcome_status, message)
        outcome.summary = summary
        return outcome

    def _stage(self, run: RunDirectory, name: str, body: Callable[[], dict[str, Any] | None], *,
               description: str = "") -> dict[str, Any]:
        state = run.state.stage(name)
        if state.done:
            self.monitor.on_stage_complete(
                name, result=state.detail, duration_s=state.duration_s, skipped=True
            )
            return state.detail
        self._check_cancelled()
        state.status, state.started_at, state.finished_at, state.error = (
            StageStatus.RUNNING,
            time.time(),
            None,
            None,
        )
        run.save()
        self.monitor.on_stage_start(name, total=None, description=description)
        try:
            detail = body() or {}
        except BaseException as exc:
            state.status = StageStatus.FAILED
            state.error = describe(exc) if not isinstance(exc, KeyboardInterrupt) else "interrupted"
            state.finished_at = time.time()
            state.duration_s = round(state.finished_at - (state.started_at or state.finished_at), 3)
            run.save()
            self.monitor.on_stage_failed(name, state.error)
            raise
        state.detail.update(redact_secrets(detail))
        state.status = StageStatus.SKIPPED if detail.get("skipped") else StageStatus.COMPLETE
        state.finished_at = time.time()
        state.duration_s = round(state.finished_at - (state.started_at or state.finished_at), 3)
        run.save()
        self.monitor.on_stage_complete(name, result=state.detail, duration_s=state.duration_s)
        return state.detail

    def _finish(self, run: RunDirectory, status: RunStatus, message: str) -> RunOutcome:
        run.state.status = status
        run.state.error = (
            None if status in (RunStatus.SUCCEEDED, RunStatus.NOT_PROMOTED) else message
        )
        run.save()
        self.monitor.on_run_end(status, message=message)
        estimate = run.read_json(run.estimate_path.name) if run.estimate_path.exists() else None
        return RunOutcome(run.run_id, run.path, status, message, estimate=estimate)

    def _interrupted_message(self, run: RunDirectory) -> str:
        job = (
            f"; training job {run.state.job_id} keeps running at the vendor"
            if run.state.job_id
            else ""
        )
        return (
            f"run {run.run_id} interrupted{job}. Resume "
            f"with: {resume_command(run.run_id, self.config)}"
        )

    def _check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise PipelineCancelled("cancelled")

    # -- stages ----------------------------------------------------------------------
    def _extract_stage(self, run: RunDirectory) -> dict[str, Any]:
        function = run.state.function or self.config.selection.function
        if not function:
            raise ConfigError(
                "selection.function: no function chosen; set "
                "it in the config or pass --function NAME"
            )
        self.monitor.on_progress("extract", 0, None, "opening the VectorWave store")
        source = self._log_source()

        def progress(step: str, done: int, total: int) -> None:
            self._check_cancelled()
            self.monitor.on_progress("extract", done, total, f"{step} {function}")

        extractor = DensityBasedExtractor.from_config(
            self.config.selection, source=source, density=self.config.density, progress=progress
        )
        report = extractor.extract_golden_data(function, run.golden_path)
        # Recorded so the web map shows what this run trained on, even after the store changes.
        run.write_json(GOLDEN_PICKS_FILE, golden_picks(report))
        golden = golden_stats(report, run.golden_path)
        self.monitor.on_log(
            f"{golden['examples']} golden examples of {function} -> {run.golden_path.name}",
            stage="extract",
        )
        return {"function": function, "golden": golden, "note": f"{golden['examples']} examples"}

    def _synthesize_stage(self, run: RunDirectory) -> dict[str, Any]:
        feedback = self.config.feedback
        # The blast radius needs the function's logs; without
        # a store (a golden file given) it is not measured.
        has_logs = (
            self.source is not None
            or self.dataset_manager is not None
            or store_exists(self.config.store.path)
        )
        learned = learn_from_feedback(
            feedback.path,
            semantic_screen=feedback.semantic_screen,
            function=run.state.function,
            source=self._log_source() if has_logs else None,
            progress=lambda done, total, what: self.monitor.on_progress(
                "synthesize", done, total, what
            ),
        )
        for notice in learned.notices:  # malformed lines are skipped, never silently
            self.monitor.on_log(notice, stage="synthesize", level="warning")
        rule_set, read = learned.rule_set, learned.read
        write_rules_report(run.rules_path, rules_report(rule_set, feedback_path=feedback.path))
        rules = {**rules_counts(rule_set), **read.summary()}
        self.monitor.on_log(
            f"{rules['count']} rules, {rules['conflicts']} conflicts, {rules['merged']} merged",
            stage="synthesize",
        )
        skipped = (
            f"; {len(read.problems)} malformed feedback line(s) skipped" if read.problems else ""
        )
        return {"rules": rules, "note": f"{rules['count']} rules{skipped}"}

    def _hook_stage(self, run: RunDirectory) -> dict[str, Any]:
        """The hook gate (see :mod:`vectortrainer.gate.hook_gate`): a new version, active only when
        it passed."""
        gate = self.config.gate
        if not gate.enabled:
            return {
                "skipped": True,
                "note": (
                    "gate off: the pipeline writes no hook (`vectortrainer rules synthesize` does)"
                ),
            }
        feedback = self.config.feedback
        outcome = publish_gated_hook(
            FeedbackStore(feedback.path).pairs(),
            self.config.hooks.dir,
            holdout_every=gate.holdout_every,
            semantic_screen=feedback.semantic_screen,
            function=run.state.function,
            margin=gate.hook_margin,
            note=f"run {run.run_id}",
        )
        if outcome is None:
            return {"skipped": True, "note": "no rule learned from the feedback"}
        decision = outcome.decision
        if outcome.version_id is None:
            note = decision.reason
        elif decision.passed:
            note = f"{outcome.version_id} active"
        else:
            note = f"{outcome.version_id} kept inactive"
        self.monitor.on_log(
            f"hook {outcome.version_id or '(unchanged)'}: "
            f"{'active' if decision.passed else 'inactive'} ({decision.reason})",
            stage="hook",
            level="info" if decision.passed else "warning",
        )
        return {
            "version_id": outcome.version_id,
            "active": decision.passed,
            "reason": decision.reason,
            "gate": decision.to_dict(),
            "note": note,
        }

    def _estimate_stage(self, run: RunDirectory) -> dict[str, Any]:
        if self.config.training.provider == "local":
            return self._local_estimate_stage(run)

        budget = self.config.budget.max_budget_usd
        train_path, validation_path = self._training_files(run)
        trainer = self._trainer(run)
        # The trainer's estimate checks the schedule, the
        # job's settings and the data first: no request.
        estimate = trainer.estimate(train_path, validation_path)  # type: ignore[attr-defined]
        for warning in estimate.warnings:  # shown whether or not the estimate fits the budget
            self.monitor.on_log(warning, level="warning", stage="estimate")
        if self.config.gate.enabled and not trainer.serves_models:
            raise trainer.inference_not_available()  # before anything is uploaded or paid for
        try:
            estimate = hold_to_budget(estimate, budget)
            replies = self._gate_replies_estimate(run)
            estimate = with_evaluation(estimate, replies, budget) if replies else estimate
        except BudgetExceededError as exc:
            run.write_json(run.estimate_path.name, exc.cost.to_dict())
            raise _Stop(RunStatus.BUDGET_EXCEEDED, str(exc)) from None
        self._estimate = estimate
        run.write_json(run.estimate_path.name, estimate.to_dict())
        budget_text = f"${budget:.2f}" if budget is not None else "off"
        note = f"${estimate.estimated_usd:.4f} (budget {budget_text})"
        self.monitor.on_log(f"{estimate.billed_tokens:,} billed tokens on {estimate.model} "
                            f"({trainer.facts.title}): {note}", stage="estimate")  # type: ignore[attr-defined]
        if estimate.evaluation_requests:
            self.monitor.on_log(
                f"evaluation gate: {estimate.evaluation_requests} held-out replies, at most "
                f"${estimate.evaluation_usd:.4f} (included)",
                stage="estimate",
            )
        if estimate.too_long:
            self.monitor.on_log(
                f"{len(estimate.too_long)} example(s) exceed the per-example limit and will be "
                f"truncated (lines {estimate.too_long[:5]})",
                level="warning",
                stage="estimate",
            )
        return {
            "estimated_usd": estimate.estimated_usd,
            "budget_usd": budget,
            "provider": estimate.provider,
            "note": note,
        }

    def _local_estimate_stage(self, run: RunDirectory) -> dict[str, Any]:
        """A local run costs time: tokens x epochs, minutes measured here,
        ``budget.max_minutes``."""
        train_path, validation_path = self._training_files(run)
        estimate = self._trainer(run).estimate(train_path, validation_path)  # type: ignore[attr-defined]
        run.write_json(run.estimate_path.name, estimate.to_dict())
        try:
            check_time_budget(estimate, self.config.budget.max_minutes)
        except TimeBudgetExceededError as exc:
            raise _Stop(RunStatus.BUDGET_EXCEEDED, str(exc)) from None
        self._estimate = estimate
        minutes = (
            "not measured"
            if estimate.estimated_minutes is None
            else f"~{estimate.estimated_minutes:.1f} min"
        )
        note = f"{minutes} on {estimate.device}"
        self.monitor.on_log(
            f"{estimate.total_tokens:,} tokens ({estimate.tokens_per_epoch:,} x "
            f"{estimate.n_epochs_trained:g} epochs) on {estimate.model}: {note}",
            stage="estimate",
        )
        return {"estimated_usd": 0.0, "estimated_minutes": estimate.estimated_minutes,
                "max_minutes": self.config.budget.max_minutes, "note": note}

    def _confirm_stage(self, run: RunDirectory) -> dict[str, Any]:
        estimate = self._estimate or self._load_estimate(run)
        decision = self.confirm(estimate) if self.confirm is not None else None
        if not isinstance(decision, Approval):  # a plain answer, or nobody asked
            decision = (
                Approval(bool(decision), "the confirm callback")
                if self.confirm is not None
                else unattended_approval(max_budget_usd=self.config.budget.max_budget_usd)(estimate)
            )
        if not decision.approved:
            raise _Stop(
                RunStatus.NOT_APPROVED,
                f"training cost ${estimate.estimated_usd:.4f} not approved ({decision.by}); "
                f"nothing was uploaded. Resume with: {resume_command(run.run_id, self.config)} "
                "--yes",
            )
        return {
            "approved": True,
            "by": decision.by,
            "estimated_usd": estimate.estimated_usd,
            "note": f"approved: {decision.by}",
        }

    def _upload_stage(self, run: RunDirectory) -> dict[str, Any]:
        train_path, validation_path = self._training_files(run)
        if run.state.train_file_id:
            # Saved by an earlier attempt: not one request, let alone a second upload.
            self.monitor.on_log(f"reusing uploaded file {run.state.train_file_id}", stage="upload")
            n_examples = int(run.state.stage("upload").detail.get("n_examples") or 0)
        else:
            trainer = self._trainer(run)
            try:
                prepared = trainer.prepare_data(train_path, validation_path, run_id=run.run_id)
            except VectorTrainerError as exc:
                if getattr(trainer, "has_api_key", True) is False:
                    raise _Stop(
                        RunStatus.NEEDS_CREDENTIALS,
                        f"{exc}; everything up to the upload is done. "
                        f"Then resume with: {resume_command(run.run_id, self.config)}",
                    ) from None
                raise
            # Saved before anything else happens: a resume must never upload it again.
            run.state.train_file_id = prepared.train_file_id
            run.state.validation_file_id = prepared.validation_file_id
            run.state.stage("upload").detail["n_examples"] = prepared.n_examples
            run.save()
            n_examples = prepared.n_examples
            if prepared.train_file_id:
                self.monitor.on_log(
                    f"uploaded {train_path.name} as {prepared.train_file_id}", stage="upload"
                )
        return {
            "train_file_id": run.state.train_file_id,
            "validation_file_id": run.state.validation_file_id,
            "n_examples": n_examples,
            "note": run.state.train_file_id or "",
        }

    def _train_stage(self, run: RunDirectory) -> dict[str, Any]:
        trainer = self._trainer(run)
        if run.state.job_id:
            return {"job_id": run.state.job_id, "note": run.state.job_id}
        job_id = trainer.find_job(run.run_id)
        if job_id:
            self.monitor.on_log(
                f"found job {job_id} created for this run before the interruption", stage="train"
            )
        else:
            job_id = trainer.start_training(self._prepared(run), run_id=run.run_id)
            self.monitor.on_log(f"created training job {job_id}", stage="train")
        run.state.job_id = job_id
        run.save()
        return {"job_id": job_id, "note": job_id}

    def _monitor_stage(self, run: RunDirectory) -> dict[str, Any]:
        trainer = self._trainer(run)
        job_id = run.state.job_id
        assert job_id, "the train stage saves the job id"
        interval = self.config.training.poll_interval_s
        max_minutes = self.config.budget.max_minutes
        started = run.state.stage("train").started_at or time.time()
        while True:
            self._drain_events(run, trainer, job_id)
            status = trainer.get_status(job_id)
            self.monitor.on_progress("monitor", self._last_step, self._total_steps, status.value)
            if status.is_terminal:
                break
            if max_minutes is not None and time.time() - started > max_minutes * 60:
                self.monitor.on_log(
                    f"budget.max_minutes ({max_minutes}) reached: cancelling job {job_id}",
                    level="warning",
                    stage="monitor",
                )
                trainer.cancel(job_id)
            if self._cancel.wait(interval):
                raise PipelineCancelled("cancelled")
        self._drain_events(run, trainer, job_id)
        result = trainer.get_result(job_id)
        run.state.fine_tuned_model = result.model_name
        run.save()
        return {
            "status": result.status.value,
            "fine_tuned_model": result.model_name,
            "trained_tokens": result.trained_tokens,
            "metrics": dict(result.metrics),
            "checkpoints": list(result.checkpoints),
            "error": result.error,
            "note": result.status.value,
        }

    def _drain_events(self, run: RunDirectory, trainer: BaseTrainer, job_id: str) -> None:
        # Saved after each event: a crash replays at most the event it interrupted (at-least-once).
        for event in trainer.events(job_id, after=run.state.last_event_id):
            self._forward_event(event)
            if event.id:
                run.state.last_event_id = event.id
                run.save()

    def _forward_event(self, event: TrainingEvent) -> None:
        if event.kind == "metric" and (event.metrics or event.step is not None):
            # a provider with progress but no loss stream (Fireworks) sends steps only
            if event.metrics:
                self.monitor.on_metric(event.metrics, step=event.step, stage="monitor")
            if event.total_steps:
                self._total_steps = event.total_steps
            if event.step is not None:
                self._last_step = event.step
                self.monitor.on_progress("monitor", event.step, self._total_steps, event.message)
        elif event.message:
            self.monitor.on_log(event.message, stage="monitor")

    def _evaluate_stage(self, run: RunDirectory) -> dict[str, Any]:
        """The evaluation gate: replay the held-out cases, keep the model in the registry, promote
        it if better."""
        monitor = run.state.stage("monitor").detail
        model = run.state.fine_tuned_model
        if monitor.get("status") != TrainingStatus.SUCCEEDED or not model:
            return {"skipped": True, "note": "no trained model to evaluate"}
        function = run.state.function or self.config.selection.function or ""
        registry = ModelRegistry(self.config.models.dir, function)
        entry = registry.find_run(run.run_id)
        if entry is not None:  # registered before an interruption: never twice, never re-judged
            self.monitor.on_log(
                f"{model} was registered as {entry.version_id} before the interruption",
                stage="evaluate",
            )
            return self._evaluate_detail(
                run,
                entry.version_id,
                bool(entry.passed_gate and entry.promoted),
                str(entry.gate.get("reason") or ""),
            )
        trainer = self._trainer(run)
        train_path, _ = self._training_files(run)
        gate = self.config.gate
        registration: dict[str, Any] = dict(
            provider=trainer.name,
            model=model,
            base_model=trainer.base_model,
            run_id=run.run_id,
            data_sha256=sha256_file(train_path),
            note=f"run {run.run_id}",
        )
        if not gate.enabled:
            reason = "gate off (gate.enabled: false): promoted without evaluation"
            entry = registry.register(
                **registration, gate={"passed": True, "reason": reason}, promote=True
            )
            return self._evaluate_detail(run, entry.version_id, True, reason)
        promoted = registry.promoted()
        incumbent, incumbent_version = trainer.base_model or "", None
        if promoted is not None and promoted.provider == trainer.name:
            incumbent, incumbent_version = promoted.model, promoted.version_id
        cases = self._holdout_cases(run)
        scorer = shared_scorer() if gate.semantic and cases else None
        decision = evaluate_candidate(
            trainer,
            cases,
            candidate=model,
            incumbent=incumbent,
            incumbent_version=incumbent_version,
            settings=GateSettings(
                margin=gate.margin,
                tolerance=gate.tolerance,
                semantic=gate.semantic,
                max_reply_tokens=gate.max_reply_tokens,
                min_slice_cases=gate.min_slice_cases,
            ),
            scorer=scorer,
            progress=lambda done, total, what: self.monitor.on_progress(
                "evaluate", done, total, what
            ),
        )
        run.write_json(GATE_FILE, decision.to_dict())
        entry = registry.register(
            **registration,
            evaluation=decision.figures(),
            gate={"passed": decision.passed, "reason": decision.reason},
            promote=decision.passed,
        )
        self.monitor.on_log(
            f"{model} -> {entry.version_id}: {'promoted' if decision.passed else 'not promoted'} "
            f"({decision.reason})",
            stage="evaluate",
            level="info" if decision.passed else "warning",
        )
        detail = self._evaluate_detail(run, entry.version_id, decision.passed, decision.reason)
        detail.update(
            candidate_score=decision.candidate_score,
            incumbent_score=decision.incumbent_score,
            incumbent=decision.incumbent_label,
            inference=decision.inference,
        )
        return detail

    def _evaluate_detail(
        self, run: RunDirectory, version_id: str, promoted: bool, reason: str
    ) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "promoted": promoted,
            "model_version": version_id,
            "reason": reason,
            "note": f"{version_id} {'promoted' if promoted else 'kept, not promoted'}",
        }
        if promoted and self.config.golden.publish_to_vectorwave:
            detail["published_golden"] = self._publish_golden(run)
        return detail

    def _publish_golden(self, run: RunDirectory) -> dict[str, Any]:
        """A promoted run's picks become VectorWave golden data (its replayer's first regression
        cases)."""
        picks_path = run.path / GOLDEN_PICKS_FILE
        if not picks_path.exists():
            return {
                "registered": 0,
                "failed": [],
                "note": "no recorded picks (golden data adopted from a file)",
            }
        uuids = [pick["uuid"] for pick in read_golden_picks(picks_path)]
        report = publish_golden_picks(
            uuids,
            store_path=self.config.store.path,
            dataset_manager=self.dataset_manager,
            note=f"VectorTrainer run {run.run_id}",
            tags=["vectortrainer", run.run_id],
        )
        self.monitor.on_log(
            f"{report['registered']} golden picks registered in VectorWave's golden dataset"
            + (f" ({len(report['failed'])} failed)" if report["failed"] else ""),
            stage="evaluate",
        )
        return report

    def _summary_stage(self, run: RunDirectory) -> dict[str, Any]:
        summary = build_summary(run)
        run.write_json(run.summary_path.name, summary.to_dict())
        self.monitor.on_summary(summary)
        return {"note": run.summary_path.name}

    # -- helpers ---------------------------------------------------------------------
    def _log_source(self) -> LogReader:
        """The logs to read: the injected source or manager, else the configured store."""
        if self.source is None:
            if self.dataset_manager is not None:
                self.source = LogSource(self.dataset_manager)
            else:
                self.source = open_log_source(self.config)
        return self.source

    def _training_files(self, run: RunDirectory) -> tuple[Path, Path | None]:
        """golden.jsonl (or the DPO file) less the held-out cases, split into train / validation
        when asked."""
        self._holdout_cases(run)
        if self.config.training.method == "dpo":
            source = self._preference_path(run)
        else:
            source = run.path / GATE_TRAIN_FILE if self.config.gate.enabled else run.golden_path
        return split_for_validation(source, run.path, self.config.training.validation_split)

    def _holdout_cases(self, run: RunDirectory) -> list[HeldOutCase]:
        """The cases the evaluation gate judges on, split off once per run (``holdout.jsonl``)."""
        gate = self.config.gate
        path = run.path / HOLDOUT_FILE
        if not gate.enabled:
            return []
        if path.exists() and (run.path / GATE_TRAIN_FILE).exists():
            return read_cases(path)
        picks_path = run.path / GOLDEN_PICKS_FILE
        strategies = (
            [p["strategy"] for p in read_golden_picks(picks_path)] if picks_path.exists() else None
        )
        cases = split_golden(
            run.golden_path,
            strategies,
            gate.holdout_every,
            run.path / GATE_TRAIN_FILE,
            limit=gate.max_cases,
        )
        pairs = pairs_for_function(
            FeedbackStore(self.config.feedback.path).pairs(), run.state.function
        )
        if self.config.training.method == "dpo":
            pairs = split_pairs(pairs, gate.holdout_every)[1]  # a DPO run trains on the others
        cases += feedback_cases(pairs, golden_system_prompt(run.golden_path), limit=gate.max_cases)
        write_cases(path, cases)
        return cases

    def _gate_replies_estimate(self, run: RunDirectory) -> list[InferenceEstimate]:
        """What the evaluation gate's replies will cost at most: the candidate's and the
        incumbent's."""
        cases = self._holdout_cases(run)
        if not cases:
            return []
        model, tokens = self.config.training.model, self.config.gate.max_reply_tokens
        conversations = [c.messages for c in cases]
        promoted = ModelRegistry(self.config.models.dir, run.state.function or "").promoted() \
            if run.state.function else None
        return [
            estimate_replies(model, conversations, max_tokens=tokens, fine_tuned=True),
            estimate_replies(
                model, conversations, max_tokens=tokens, fine_tuned=promoted is not None
            ),
        ]

    def _preference_path(self, run: RunDirectory) -> Path:
        """``training.method: dpo``: the feedback pairs as preference JSONL (written once per
        run)."""
        pairs = FeedbackStore(self.config.feedback.path).pairs()
        if self.config.gate.enabled:  # the held-out pairs are the gate's feedback slice
            pairs = split_pairs(pairs, self.config.gate.holdout_every)[0]
        path, export = preference_file(pairs, run.path,
                                       function=run.state.function, golden_path=run.golden_path,
                                       system_prompts=self.config.selection.system_prompts)
        if export is not None:
            skipped = ", ".join(f"{n} {why}" for why, n in export.skipped.items())
            self.monitor.on_log(f"{export.written} preference pairs from feedback"
                                + (f" (skipped {skipped})" if skipped else ""), stage="estimate")
        return path

    def _load_estimate(self, run: RunDirectory) -> Estimate:
        return estimate_from_dict(run.read_json(run.estimate_path.name))

    def _trainer(self, run: RunDirectory) -> BaseTrainer:
        if self.trainer is None:
            self.trainer = make_trainer(self.config, today=self.today)
        return self.trainer

    def _prepared(self, run: RunDirectory) -> PreparedData:
        train_path, validation_path = self._training_files(run)
        detail = run.state.stage("upload").detail
        return PreparedData(train_path=train_path, n_examples=int(detail.get("n_examples") or 0),
                            validation_path=validation_path, train_file_id=run.state.train_file_id,
                            validation_file_id=run.state.validation_file_id,
                            estimate=self._estimate or self._load_estimate(run))


def _adopt_golden(run: RunDirectory, source: Path, function: str) -> None:
    """Record ``source`` as the run's golden data: the extract stage is done, by someone else."""
    atomic_write_text(run.golden_path, source.read_text(encoding="utf-8"))
    golden = adopted_stats(run.golden_path)
    stage = run.state.stage("extract")
    stage.status = StageStatus.SKIPPED
    stage.finished_at = time.time()
    stage.detail.update({"function": function, "source": str(source), "golden": golden,
                         "note": f"{golden['examples']} examples from {source.name}"})
    run.save()

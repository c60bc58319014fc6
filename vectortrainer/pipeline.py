"""The resumable training pipeline (FR-3.3, VT-9): logs -> golden data -> rules -> budgeted
fine-tune.

``TrainingPipeline`` runs the stages extract -> synthesize -> hook -> estimate ->
confirm -> upload -> train -> monitor -> evaluate -> summary and keeps everything
in a run directory (see :mod:`vectortrainer.runs`). Every face (TUI, ``--batch``,
web, the loop) drives this one class. It is the driver only: each stage is a few
calls of the modules that do the work.

- The held-out split is made once, where a run first needs its training data (the
  estimate stage): :func:`~vectortrainer.gate.holdout.prepare_holdout` writes
  ``holdout.jsonl`` and ``gate_train.jsonl``, and
  :func:`~vectortrainer.training.data.training_files` builds what the run trains on
  from what it leaves (golden examples or DPO preference pairs, split for validation).
- The estimate is the trainer's (dollars at a vendor, minutes for a local run; see
  :class:`~vectortrainer.training.base.BaseTrainer`), held to the budget in its own unit
  by the one guard, :func:`~vectortrainer.budget.guards.hold_to_its_budget` (dollars with
  the evaluation gate's replies included), before anything is uploaded; the confirm stage
  asks the one approval policy (:mod:`vectortrainer.budget.approval`).
- The gates (:mod:`vectortrainer.gate`, ``gate`` in the config): the hook stage saves the
  hook learned from the feedback as a new version, active only when it repairs held-out
  pairs and changes no good output; the evaluate stage replays the held-out cases through
  the trained model and the one in service, keeps the model in the registry
  (``models.dir``) and promotes it only when it is better
  (:mod:`vectortrainer.gate.promotion`). A run that trained a model the gate kept out of
  service ends ``NOT_PROMOTED``. A promoted run's picks can go back to VectorWave
  (:mod:`vectortrainer.runs.golden`, which also adopts a golden file made elsewhere).

Resuming a run (``resume(run_id)``) skips stages already complete, reuses the
uploaded file ids saved in ``run.json``, and finds a job already created —
even one created just before a crash, whose id was never saved — through
``trainer.find_job(run_id)`` (the job carries the run id in its metadata), so
a run never pays for two jobs. Resuming a run whose job failed or was
cancelled starts one new job after the cost is confirmed again.

Checks before work (VT-18): a new run is refused before its directory is created, with one
line, when it cannot work: no function, a golden file of another function, or what
:meth:`TrainingPipeline.preflight` finds without a request (no API key, a model the provider
does not train or no longer does, settings it would refuse, no local model directory, a gate
the trainer cannot serve). A resumed run is checked the same way until its job exists; a
missing key then stops it resumable (``needs_credentials``). A run resumes only under its own
function. ``run.json`` records where the golden data came from (``provenance``: the
function, the file's SHA-256, its origin; see :mod:`vectortrainer.runs.golden`).

Expected stops (budget exceeded, cost not approved, no API key on resume, a failed job,
cancellation) come back as a :class:`RunOutcome`; unexpected errors are
recorded in ``run.json`` and raised. Ctrl-C (``KeyboardInterrupt``) is
recorded, logged with the command that resumes the run, and re-raised.
"""

from __future__ import annotations

import datetime
import os
import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vectortrainer.budget.approval import Approval, unattended_approval
from vectortrainer.budget.estimates import Estimate, estimate_from_dict
from vectortrainer.budget.guards import hold_to_its_budget
from vectortrainer.budget.notes import estimate_notes
from vectortrainer.config import Config, load_config
from vectortrainer.errors import (
    ConfigError,
    MissingAPIKeyError,
    PipelineCancelled,
    VectorTrainerError,
    describe,
)
from vectortrainer.feedback.semantic import shared_scorer
from vectortrainer.feedback.store import FeedbackStore
from vectortrainer.files import count_lines, sha256_file
from vectortrainer.gate.holdout import HeldOut, prepare_holdout
from vectortrainer.gate.hook_gate import publish_gated_hook
from vectortrainer.gate.model_gate import ActiveHook, estimate_gate_replies
from vectortrainer.gate.promotion import SHUT_DOWN, gate_settings, judge_and_keep
from vectortrainer.golden.extractor import DensityBasedExtractor
from vectortrainer.golden.picks import golden_picks, golden_stats
from vectortrainer.hooks.report import rules_report, write_rules_report
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.json_types import JSONObject
from vectortrainer.redaction import redact_secrets
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.rules.learning import learn_from_feedback, rules_counts
from vectortrainer.runs.directory import GATE_FILE, GOLDEN_PICKS_FILE, RunDirectory
from vectortrainer.runs.golden import (
    adopt_golden,
    check_golden_file,
    publish_picks,
    record_extracted,
)
from vectortrainer.runs.monitor import CompositeMonitor, JsonlEventSink, PipelineMonitor
from vectortrainer.runs.resume import resume_command
from vectortrainer.runs.status import STAGES, RunStatus, StageStatus
from vectortrainer.runs.summary import RunSummary, build_summary, read_summary
from vectortrainer.store.environment import store_exists
from vectortrainer.store.golden import VectorWaveManager
from vectortrainer.store.opening import open_log_source
from vectortrainer.store.source import LogReader, LogSource
from vectortrainer.training.base import BaseTrainer, PreparedData, TrainingStatus
from vectortrainer.training.data import TrainingFiles, training_files
from vectortrainer.training.deployments import Deployment
from vectortrainer.training.factory import make_trainer
from vectortrainer.training.following import JobFollower

# Receives the estimate; returns the answer (a person's yes / no) or a policy's Approval.
ConfirmCallback = Callable[[Estimate], bool | Approval]

# What each stage does, as the faces show it while it runs.
STAGE_DESCRIPTIONS = {
    "extract": "density-based golden data",
    "synthesize": "rules from feedback",
    "hook": "gate and save the hook",
    "estimate": "tokens and cost",
    "confirm": "approve the cost",
    "upload": "validate and upload",
    "train": "create the job",
    "monitor": "follow the job",
    "evaluate": "held-out replay, promotion",
    "summary": "final summary",
}


@dataclass
class RunOutcome:
    """How a run (or one attempt of it) ended; ``summary`` is set once the summary stage ran."""

    run_id: str
    run_dir: Path
    status: RunStatus
    message: str = ""
    summary: RunSummary | None = None
    estimate: JSONObject | None = None

    @property
    def ok(self) -> bool:
        return self.status == RunStatus.SUCCEEDED

    def to_dict(self) -> JSONObject:
        return {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "status": str(self.status),
            "message": self.message,
            "summary": self.summary.to_dict() if self.summary else None,
            "estimate": self.estimate,
        }


def resume_line(run_id: str, function: str | None, config: Config) -> str:
    """The command line that resumes ``run_id``, a run of ``function``: with ``--function`` when
    the config file it names selects another function (which the resume would refuse)."""
    command = resume_command(run_id, config)
    if function and config.source is not None and _file_function(config.source) != function:
        command += f" --function {shlex.quote(function)}"
    return command


def _file_function(path: Path) -> str | None:
    """The function the config file at ``path`` selects (``None``: none, or it cannot be read)."""
    try:
        return load_config(path).selection.function
    except (VectorTrainerError, OSError):
        return None


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
        dataset_manager: VectorWaveManager | None = None,
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
        # Who started the run, for the hook versions it saves ("run", or "loop run" for a cycle).
        self.origin = "run"

    # -- public ----------------------------------------------------------------------
    def run(
        self, *, run_id: str | None = None, golden_path: str | os.PathLike[str] | None = None
    ) -> RunOutcome:
        """Start a new run (``run_id`` is generated unless given).

        With ``golden_path`` (a ChatML JSONL made earlier, e.g. on the dataset
        screen) the run trains on that file and the store is not read; a file of another
        function is refused (:func:`~vectortrainer.runs.golden.check_golden_file`). What cannot
        work (:meth:`preflight`) is refused before the run directory is created: nothing is read,
        written or paid for.
        """
        function = self.config.selection.function
        if not function:
            raise ConfigError(
                "selection.function: no function chosen; set "
                "it in the config or pass --function NAME"
            )
        golden = (
            check_golden_file(golden_path, function,
                              system_prompts=self.config.selection.system_prompts)
            if golden_path is not None
            else None
        )
        self.preflight()
        run = RunDirectory.create(
            self.config.output_dir, self.config.redacted(), run_id=run_id, function=function
        )
        if golden is not None:
            adopt_golden(run, golden, function)
        return self._execute(run, resumed=False)

    def resume(self, run_id: str, *, retry_failed_training: bool = True) -> RunOutcome:
        """Continue the run ``run_id`` from its first stage not complete.

        A run whose training job failed or was cancelled gets a new job (after the
        cost is confirmed again) unless ``retry_failed_training`` is False; the
        golden data, rules and uploaded file are reused. A run of another function than the
        selected one (``selection.function`` / ``--function``) is refused: it would train under
        another function's settings.
        """
        run = RunDirectory.open(self.config.output_dir, run_id)
        selected = self.config.selection.function
        if run.state.function and selected and selected != run.state.function:
            raise ConfigError(
                f"run {run.run_id} trains {run.state.function}, but {selected} is selected "
                f"(--function / selection.function); resume it with --function "
                f"{run.state.function}, or start a new run for {selected}"
            )
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
        note = f"job {run.state.job_id} ended without a model; starting a new job" if retry else ""
        if retry:
            run.state.new_job()
        run.state.resume_count += 1
        if retry:
            run.save()
        return self._execute(run, resumed=True, note=note)

    def preflight(self) -> None:
        """Refuse what cannot work before any work, without a request: the trainer's own checks
        (:meth:`~vectortrainer.training.base.BaseTrainer.preflight`: credentials, the model known
        and open, job settings, a local model directory) and an evaluation gate the trainer
        cannot serve. Raises the error (a ``ConfigError``, exit code 2) in one line."""
        trainer = self._trainer()  # a local trainer checks its model directory as it is made
        trainer.preflight()
        if self.config.gate.enabled and not trainer.serves_models:
            raise trainer.inference_not_available()

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
                self._preflight(run)
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

    def _preflight(self, run: RunDirectory) -> None:
        """:meth:`preflight` for a run that still has to create its job (a job already created is
        followed whatever the checks say now); missing credentials stop it resumable."""
        if run.state.stage("train").done:
            return
        try:
            self.preflight()
        except MissingAPIKeyError as exc:
            raise _Stop(
                RunStatus.NEEDS_CREDENTIALS,
                f"{describe(exc)}; checked before the run went on, nothing was sent. Then "
                f"resume with: {self._resume_command(run)}",
            ) from None

    def _run_stages(self, run: RunDirectory) -> RunOutcome:
        bodies: dict[str, Callable[[RunDirectory], JSONObject]] = {
            "extract": self._extract_stage,
            "synthesize": self._synthesize_stage,
            "hook": self._hook_stage,
            "estimate": self._estimate_stage,
            "confirm": self._confirm_stage,
            "upload": self._upload_stage,
            "train": self._train_stage,
            "monitor": self._monitor_stage,
            "evaluate": self._evaluate_stage,
            "summary": self._summary_stage,
        }
        for name in STAGES:
            self._stage(run, name, bodies[name])
        outcome = self._finish(run, *self._ending(run))
        outcome.summary = read_summary(run)
        return outcome

    def _ending(self, run: RunDirectory) -> tuple[RunStatus, str]:
        """How a run that went through every stage ended, and what to tell."""
        status = run.state.stage("monitor").detail.get("status", "")
        evaluation = run.state.stage("evaluate").detail
        if status == TrainingStatus.SUCCEEDED and evaluation.get("promoted"):
            return RunStatus.SUCCEEDED, (
                f"run {run.run_id} succeeded: {run.state.fine_tuned_model} is the promoted model "
                f"({evaluation.get('model_version')}): {evaluation.get('reason')}"
            )
        if status == TrainingStatus.SUCCEEDED and evaluation.get("outcome") == SHUT_DOWN:
            return RunStatus.NOT_PROMOTED, (  # no "promote it anyway": it would be refused
                f"run {run.run_id} trained {run.state.fine_tuned_model} but it was not promoted: "
                f"{evaluation.get('reason')}. It is kept as {evaluation.get('model_version')}"
            )
        if status == TrainingStatus.SUCCEEDED:
            version = evaluation.get("model_version")
            return RunStatus.NOT_PROMOTED, (
                f"run {run.run_id} trained {run.state.fine_tuned_model} but it was not promoted: "
                f"{evaluation.get('reason')}. It is kept as {version}; promote it anyway with: "
                f"vectortrainer models promote {version} --function {run.state.function}"
            )
        if status == TrainingStatus.CANCELLED:
            return RunStatus.TRAINING_CANCELLED, (
                f"training job {run.state.job_id} was cancelled; "
                f"start a new job with: {self._resume_command(run)}"
            )
        error = run.state.stage("monitor").detail.get("error") or "no reason given"
        return RunStatus.TRAINING_FAILED, (
            f"training job {run.state.job_id} failed: {error}; after fixing the "
            f"cause, start a new job with: {self._resume_command(run)}"
        )

    def _stage(
        self, run: RunDirectory, name: str, body: Callable[[RunDirectory], JSONObject]
    ) -> None:
        state = run.state.stage(name)
        if state.done:
            self.monitor.on_stage_complete(
                name, result=state.detail, duration_s=state.duration_s, skipped=True
            )
            return
        self._check_cancelled()
        state.begin()
        run.save()
        self.monitor.on_stage_start(name, total=None, description=STAGE_DESCRIPTIONS[name])
        try:
            detail = body(run)
        except BaseException as exc:
            error = describe(exc) if not isinstance(exc, KeyboardInterrupt) else "interrupted"
            state.end(StageStatus.FAILED, error=error)
            run.save()
            self.monitor.on_stage_failed(name, error)
            raise
        state.detail.update(redact_secrets(detail))
        state.end(StageStatus.SKIPPED if detail.get("skipped") else StageStatus.COMPLETE)
        run.save()
        self.monitor.on_stage_complete(name, result=state.detail, duration_s=state.duration_s)

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
            f"with: {self._resume_command(run)}"
        )

    def _check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise PipelineCancelled("cancelled")

    # -- stages ----------------------------------------------------------------------
    def _function(self, run: RunDirectory) -> str:
        """The function the run trains (its own; the config's for a run that recorded none)."""
        function = run.state.function or self.config.selection.function
        if not function:
            raise ConfigError(
                "selection.function: no function chosen; set "
                "it in the config or pass --function NAME"
            )
        return function

    def _extract_stage(self, run: RunDirectory) -> JSONObject:
        function = self._function(run)
        self.monitor.on_progress("extract", 0, None, "opening the VectorWave store")
        where = (
            f"extracted by the run from the logs of {function} in the store at "
            f"{self.config.store.path}"
            if self.source is None and self.dataset_manager is None
            else f"extracted by the run from the logs of {function} in the log source it was given"
        )
        source = self._log_source()

        def progress(step: str, done: int, total: int) -> None:
            self._check_cancelled()
            self.monitor.on_progress("extract", done, total, f"{step} {function}")

        extractor = DensityBasedExtractor.from_config(
            self.config.selection, source=source, density=self.config.density, progress=progress
        )
        report = extractor.extract_golden_data(function, run.golden_path)
        record_extracted(run, function, where)
        # Recorded so the web map shows what this run trained on, even after the store changes.
        run.write_json(GOLDEN_PICKS_FILE, golden_picks(report))
        golden = golden_stats(report, run.golden_path)
        self.monitor.on_log(
            f"{golden['examples']} golden examples of {function} -> {run.golden_path.name}",
            stage="extract",
        )
        return {"function": function, "golden": golden, "note": f"{golden['examples']} examples"}

    def _synthesize_stage(self, run: RunDirectory) -> JSONObject:
        feedback = self.config.feedback
        learned = learn_from_feedback(
            feedback.path,
            semantic_screen=feedback.semantic_screen,
            function=run.state.function,
            source=self._logs_if_any(),
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

    def _hook_stage(self, run: RunDirectory) -> JSONObject:
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
            function=self._function(run),
            margin=gate.hook_margin,
            note=f"run {run.run_id}",
            origin=f"{self.origin} {run.run_id}",
            logs=self._logs_if_any(),
        )
        if outcome is None:
            return {"skipped": True, "note": "no rule learned from the feedback"}
        self.monitor.on_log(outcome.news, stage="hook", level=outcome.level)
        return outcome.detail()

    def _estimate_stage(self, run: RunDirectory) -> JSONObject:
        """The trainer's estimate (dollars or minutes), held to the budget in its unit before
        anything is uploaded."""
        held_out = self._held_out(run)  # the held-out split, made here once: training never sees it
        data = self._training_data(run, held_out)
        if held_out.cases:  # why training sees fewer examples than were picked
            self.monitor.on_log(held_out.describe(
                count_lines(run.golden_path), count_lines(data.train),
                count_lines(data.validation) if data.validation else 0), stage="estimate")
        trainer = self._trainer()
        # The trainer checks the schedule, the job's settings and the data first: no request.
        estimate = trainer.estimate(data.train, data.validation)
        for warning in estimate.warnings:  # shown whether or not the estimate fits the budget
            self.monitor.on_log(warning, level="warning", stage="estimate")
        if self.config.gate.enabled and not trainer.serves_models:
            raise trainer.inference_not_available()  # before anything is uploaded or paid for
        budget, gate = self.config.budget, self.config.gate
        check = hold_to_its_budget(
            estimate,
            max_budget_usd=budget.max_budget_usd,
            max_minutes=budget.max_minutes,
            evaluation=lambda: estimate_gate_replies(
                held_out.cases,
                model=self.config.training.model,
                max_reply_tokens=gate.max_reply_tokens,
                models_dir=self.config.models.dir,
                function=run.state.function,
                provider=trainer.name,
                hosting=trainer.hosting(),
            ),
        )
        run.write_json(run.estimate_path.name, check.estimate.to_dict())  # refused ones too
        if check.refusal:
            raise _Stop(RunStatus.BUDGET_EXCEEDED, check.refusal)
        self._estimate = check.estimate
        notes = estimate_notes(check.estimate, where=trainer.title)
        for line in notes.lines:
            self.monitor.on_log(line.text, level=line.level, stage="estimate")
        return notes.detail

    def _confirm_stage(self, run: RunDirectory) -> JSONObject:
        estimate = self._loaded_estimate(run)
        decision = self.confirm(estimate) if self.confirm is not None else None
        if not isinstance(decision, Approval):  # a plain answer, or nobody asked
            decision = (
                Approval(bool(decision), "accepted when the cost was shown"
                         if decision else "declined when the cost was shown")
                if self.confirm is not None
                else unattended_approval(max_budget_usd=self.config.budget.max_budget_usd)(estimate)
            )
        if not decision.approved:
            raise _Stop(
                RunStatus.NOT_APPROVED,
                f"training cost ${estimate.estimated_usd:.4f} not approved ({decision.by}); "
                f"nothing was uploaded. Resume with: {self._resume_command(run)} "
                "--yes",
            )
        return {
            "approved": True,
            "by": decision.by,
            "estimated_usd": estimate.estimated_usd,
            "note": f"approved: {decision.by}",
        }

    def _upload_stage(self, run: RunDirectory) -> JSONObject:
        if run.state.train_file_id:
            # Saved by an earlier attempt: not one request, let alone a second upload.
            self.monitor.on_log(f"reusing uploaded file {run.state.train_file_id}", stage="upload")
        else:
            self._upload(run)
        return {
            "train_file_id": run.state.train_file_id,
            "validation_file_id": run.state.validation_file_id,
            "n_examples": int(run.state.stage("upload").detail.get("n_examples") or 0),
            "note": run.state.train_file_id or "",
        }

    def _upload(self, run: RunDirectory) -> None:
        """Validate the training data, hold it to the budget again and upload it, once."""
        data, trainer = self._training_data(run), self._trainer()
        try:
            prepared = trainer.prepare_data(data.train, data.validation, run_id=run.run_id)
        except VectorTrainerError as exc:
            if not trainer.has_api_key:  # gone since the check before the run went on
                raise _Stop(
                    RunStatus.NEEDS_CREDENTIALS,
                    f"{exc}; nothing was uploaded. "
                    f"Then resume with: {self._resume_command(run)}",
                ) from None
            raise
        # Saved before anything else happens: a resume must never upload it again.
        run.state.train_file_id = prepared.train_file_id
        run.state.validation_file_id = prepared.validation_file_id
        run.state.stage("upload").detail["n_examples"] = prepared.n_examples
        run.save()
        if prepared.train_file_id:
            self.monitor.on_log(
                f"uploaded {data.train.name} as {prepared.train_file_id}", stage="upload"
            )
        reported = trainer.reported_shutdown()  # read before the upload: no second request
        if reported is not None:
            self.monitor.on_log(reported.news, stage="upload")

    def _train_stage(self, run: RunDirectory) -> JSONObject:
        trainer = self._trainer()
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

    def _monitor_stage(self, run: RunDirectory) -> JSONObject:
        job_id = run.state.job_id
        assert job_id, "the train stage saves the job id"

        def saved(event_id: str) -> None:
            run.state.last_event_id = event_id
            run.save()

        follower = JobFollower(self._trainer(), self.monitor,
                               poll_interval_s=self.config.training.poll_interval_s,
                               max_minutes=self.config.budget.max_minutes, cancelled=self._cancel)
        result = follower.follow(job_id, started=run.state.stage("train").started_at or time.time(),
                                 after=run.state.last_event_id, save_event_id=saved)
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

    def _evaluate_stage(self, run: RunDirectory) -> JSONObject:
        """The evaluation gate: the model is kept in the registry, promoted only when it is
        better (:mod:`vectortrainer.gate.promotion`)."""
        model = run.state.fine_tuned_model
        if run.state.stage("monitor").detail.get("status") != TrainingStatus.SUCCEEDED or not model:
            return {"skipped": True, "note": "no trained model to evaluate"}
        function = run.state.function or self.config.selection.function or ""

        def save_deployment(deployment: Deployment | None) -> None:
            run.state.deployment = deployment.to_dict() if deployment is not None else None
            run.save()

        saved = run.state.deployment
        promotion = judge_and_keep(
            ModelRegistry(self.config.models.dir, function),
            self._trainer(),
            model=model,
            run_id=run.run_id,
            data_sha256=sha256_file(self._training_data(run).train),
            cases=self._held_out(run).cases,
            settings=gate_settings(self.config.gate),
            scorer=shared_scorer,
            decision_path=run.path / GATE_FILE,
            progress=lambda done, total, what: self.monitor.on_progress(
                "evaluate", done, total, what
            ),
            schedule=self.config.schedule,
            today=self.today,
            saved_deployment=Deployment.from_dict(saved) if saved else None,
            save_deployment=save_deployment,
            hook=self._active_hook(function),
            canary_share=self.config.canary.share,
        )
        if promotion.serving is not None and promotion.serving.news:
            self.monitor.on_log(promotion.serving.news, stage="evaluate")
        if promotion.news:
            self.monitor.on_log(promotion.news, stage="evaluate", level=promotion.level)
        detail = promotion.detail()
        if promotion.promoted and self.config.golden.publish_to_vectorwave:
            detail["published_golden"] = self._publish_golden(run)
        return detail

    def _summary_stage(self, run: RunDirectory) -> JSONObject:
        summary = build_summary(run)
        run.write_json(run.summary_path.name, summary.to_dict())
        self.monitor.on_summary(summary)
        return {"note": run.summary_path.name}

    # -- helpers ---------------------------------------------------------------------
    def _active_hook(self, function: str) -> ActiveHook | None:
        """``function``'s live hook (what production applies to every reply), if it has one."""
        if not function:
            return None
        manager = HookVersionManager.for_function(self.config.hooks.dir, function)
        active = manager.get_active_version()
        if active is None:
            return None
        return ActiveHook(active.version_id, manager.read_version(active.version_id))

    def _log_source(self) -> LogReader:
        """The logs to read: the injected source or manager, else the configured store."""
        if self.source is None:
            if self.dataset_manager is not None:
                self.source = LogSource(self.dataset_manager)
            else:
                self.source = open_log_source(self.config)
        return self.source

    def _held_out(self, run: RunDirectory) -> HeldOut:
        """The run's held-out split (made once: ``holdout.jsonl``, ``gate_train.jsonl``)."""
        return prepare_holdout(
            run,
            self.config.gate,
            method=self.config.training.method,
            feedback_path=self.config.feedback.path,
        )

    def _training_data(self, run: RunDirectory, held_out: HeldOut | None = None) -> TrainingFiles:
        """What the run trains on: what the held-out split leaves (written once)."""
        held_out = held_out if held_out is not None else self._held_out(run)
        training = self.config.training
        files = training_files(
            run,
            method=training.method,
            golden=held_out.train_path,
            pairs=lambda: held_out.trainable(FeedbackStore(self.config.feedback.path).pairs()),
            system_prompts=self.config.selection.system_prompts,
            validation_split=training.validation_split,
        )
        if files.export is not None:
            skipped = ", ".join(f"{n} {why}" for why, n in files.export.skipped.items())
            self.monitor.on_log(f"{files.export.written} preference pairs from feedback"
                                + (f" (skipped {skipped})" if skipped else ""), stage="estimate")
        return files

    def _publish_golden(self, run: RunDirectory) -> JSONObject:
        """A promoted run's picks become VectorWave golden data (its replayer's first regression
        cases)."""
        report = publish_picks(
            run, store_path=self.config.store.path, dataset_manager=self.dataset_manager
        )
        if "note" not in report:
            failed = f" ({len(report['failed'])} failed)" if report["failed"] else ""
            self.monitor.on_log(
                f"{report['registered']} golden picks registered in VectorWave's golden dataset"
                + failed,
                stage="evaluate",
            )
        return report

    def _loaded_estimate(self, run: RunDirectory) -> Estimate:
        """The estimate the estimate stage held to the budget (read back on resume)."""
        return self._estimate or estimate_from_dict(run.read_json(run.estimate_path.name))

    def _logs_if_any(self) -> LogReader | None:
        """The log source when there is one: each rule's blast radius needs the function's logs;
        without a store (a golden file given) it is not measured."""
        has_logs = (
            self.source is not None
            or self.dataset_manager is not None
            or store_exists(self.config.store.path)
        )
        return self._log_source() if has_logs else None

    def _resume_command(self, run: RunDirectory) -> str:
        return resume_line(run.run_id, run.state.function, self.config)

    def _trainer(self) -> BaseTrainer:
        if self.trainer is None:
            self.trainer = make_trainer(self.config, today=self.today)
        return self.trainer

    def _prepared(self, run: RunDirectory) -> PreparedData:
        data = self._training_data(run)
        detail = run.state.stage("upload").detail
        return PreparedData(train_path=data.train, n_examples=int(detail.get("n_examples") or 0),
                            validation_path=data.validation, train_file_id=run.state.train_file_id,
                            validation_file_id=run.state.validation_file_id,
                            estimate=self._loaded_estimate(run))

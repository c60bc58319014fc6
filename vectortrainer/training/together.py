"""``TogetherTrainer``: fine-tuning on Together AI through the official ``together`` SDK (VT-14).

- Data: our format check, then the SDK's own file check (``together.lib.utils.files.check_file``,
  local), both before the budget and before any request. The upload goes through
  ``client.files.upload(check=True)`` under a name that carries the run id and the content
  hash; the same content is found again by that name (and Together itself answers a second
  upload of the same checksum with the first file).
- Jobs: ``POST /fine-tunes`` with ``training_method`` sft or dpo and LoRA or full training
  (``together.training_type``). The suffix carries a tag of the run id, so a job whose id was
  never saved is found again by its suffix. Before the job, Together's own price estimate
  (exact: its tokenizer) is held to the budget too; ours (before the upload) is approximate.
- Progress: ``/fine-tunes/{id}/events`` (log lines; the step total) and ``/fine-tunes/{id}/metrics``
  (``train/loss`` -> ``train_loss``, ``eval/loss`` -> ``valid_loss``), merged in time order.
- The gate's replies (issue 26): ``POST /v1/chat/completions`` at temperature 0. A LoRA fine-tune
  of a listed base answers there at once, billed per token like its base; a full fine-tune only
  on a dedicated endpoint, billed per minute, which
  :class:`~vectortrainer.training.together_endpoints.TogetherEndpoints` creates, watches and
  deletes.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from vectortrainer.budget.estimates import CostEstimate, resolve_epochs
from vectortrainer.budget.guards import hold_to_budget
from vectortrainer.budget.serving import Hosting, hosting_for
from vectortrainer.config import Config
from vectortrainer.errors import DataFormatError, HyperparameterError, QuotaExhaustedError
from vectortrainer.json_types import JSONObject
from vectortrainer.training.answers import field_of, is_object, newest
from vectortrainer.training.base import (
    Completion,
    Messages,
    PreparedData,
    TrainingEvent,
    TrainingResult,
    TrainingStatus,
)
from vectortrainer.training.deployments import Deployment, DeploymentStatus
from vectortrainer.training.hosted import RUN_TAG_LENGTH, HostedTrainer, api_settings, run_tag
from vectortrainer.training.together_endpoints import TogetherEndpoints

if TYPE_CHECKING:
    import together  # 0.7 s to import: only a call to the vendor needs it

_STATUS = {
    "pending": TrainingStatus.QUEUED,
    "queued": TrainingStatus.QUEUED,
    "running": TrainingStatus.RUNNING,
    "compressing": TrainingStatus.RUNNING,
    "uploading": TrainingStatus.RUNNING,
    "cancel_requested": TrainingStatus.RUNNING,
    "cancelled": TrainingStatus.CANCELLED,
    "error": TrainingStatus.FAILED,
    "completed": TrainingStatus.SUCCEEDED,
}
_UNUSABLE = ("error", "cancelled", "cancel_requested")
# Together's metric keys -> the names every trainer reports.
_METRIC_NAMES = {"train/loss": "train_loss", "eval/loss": "valid_loss"}


class TogetherTrainer(HostedTrainer):
    """Fine-tunes an open model on Together AI."""

    name = "together"
    config_section = "together"
    sdk_module = "together"
    suffix_reserved = 1 + RUN_TAG_LENGTH  # "-<run tag>"
    file_id_pattern = re.compile(r"file-[A-Za-z0-9-]{1,200}")
    job_id_pattern = re.compile(r"ft-[A-Za-z0-9-]{1,200}")
    job_id_shape = "a job id (ft-...)"

    def __init__(
        self,
        model: str = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
        *,
        training_type: str = "lora",
        api_key_env: str = "TOGETHER_API_KEY",
        **settings: Any,
    ) -> None:
        super().__init__(model, api_key_env=api_key_env, **settings)
        if training_type not in ("lora", "full"):
            raise HyperparameterError(
                f"together.training_type: expected lora or full, got {training_type!r}"
            )
        self.training_type = training_type
        self.endpoints = TogetherEndpoints(self)

    @classmethod
    def connection_settings(cls, config: Config) -> dict[str, Any]:
        return {
            **api_settings(config.together, "TOGETHER_BASE_URL"),
            "training_type": config.together.training_type,
        }

    def make_client(self) -> "together.Together":
        import together  # 0.7 s to import: only a call to the vendor needs it

        return together.Together(api_key=self.api_key(), base_url=self.base_url, max_retries=0,
                                 timeout=self.timeout, http_client=self.http_client())

    # ----- data -----------------------------------------------------------------------
    def validate_file(self, path: Path) -> int:
        """Our format rules, then the SDK's own file check (local: no request)."""
        n_examples = super().validate_file(path)
        # 0.7 s to import (the SDK): only Together runs need it
        from together.lib.utils.files import check_file

        report = check_file(path, purpose="fine-tune")
        if not report.get("is_check_passed"):
            raise DataFormatError(f"{path}: Together's file check failed: {report.get('message')}")
        return n_examples

    def send_file(self, path: Path, filename: str) -> Any:
        with tempfile.TemporaryDirectory(prefix="vectortrainer-upload-") as scratch:
            named = Path(scratch) / filename  # the SDK names the upload after the file
            shutil.copyfile(path, named)
            return self.client.files.upload(named, purpose="fine-tune", check=True)

    def find_uploaded_file(self, filename: str, *, size: int | None = None) -> str | None:
        files = self.calls.call("listing uploaded files", lambda: self.answers.listing(
            self.client.files.list(),
            action="the listing of uploaded files", wanted="a list of files"))
        for item in files:
            if item.filename == filename and (size is None or item.bytes == size) and \
                    item.processing_status not in ("FAILED", "INVALID_FORMAT"):
                return self.file_id(item, "the listing of uploaded files")
        return None

    # ----- jobs -----------------------------------------------------------------------
    def job_suffix(self, run_id: str) -> str:
        return f"{self.job.suffix}-{run_tag(run_id)}" if self.job.suffix else run_tag(run_id)

    def create_job(self, prepared: PreparedData, run_id: str) -> str:
        """Hold Together's own estimate to the budget, then create the job (its suffix carries the
        run's tag, so ``find_job`` finds it again)."""
        epochs = resolve_epochs(
            self.job.n_epochs, prepared.n_examples, self.facts.limits.default_epochs
        )
        self._check_vendor_estimate(prepared, epochs)
        limits = self.calls.call(
            "reading the model's limits",
            lambda: self.client.fine_tuning.model_limits(model_name=self.model),
        )
        request = self.job_request(prepared, run_id, epochs)

        def create() -> str:
            try:
                job = self.client.fine_tuning.create(**request, model_limits=limits)
            # the SDK's own checks against the model's limits; no job was made
            except ValueError as exc:
                raise HyperparameterError(
                    f"Together would refuse this job for {self.model}: {exc}. "
                    f"Fix the config and resume (the upload is reused)"
                ) from None
            return self.job_id(job, "the creation of the fine-tuning job")

        return self.calls.create_once(
            "creating the fine-tuning job", create, lambda: self.find_job(run_id)
        )

    def job_request(self, prepared: PreparedData, run_id: str, epochs: int) -> JSONObject:
        request: JSONObject = {
            "training_file": prepared.train_file_id,
            "validation_file": prepared.validation_file_id or "",
            "n_evals": 1 if prepared.validation_file_id else 0,
            "model": self.model,
            "n_epochs": epochs,
            "batch_size": "max" if self.job.batch_size == "auto" else self.job.batch_size,
            "learning_rate": None if self.job.learning_rate == "auto" else self.job.learning_rate,
            "lora": self.training_type == "lora",
            "suffix": self.job_suffix(run_id),
            "random_seed": self.job.seed,
            "training_method": "dpo" if self.job.method == "dpo" else "sft",
        }
        if self.job.method == "dpo":
            request["dpo_beta"] = None if self.job.beta == "auto" else self.job.beta
        else:
            request["train_on_inputs"] = "auto"
        return request

    def _check_vendor_estimate(self, prepared: PreparedData, epochs: int) -> None:
        """Together's exact estimate against the budget and the account's credit, before the job."""
        method = (
            {"method": "dpo"}
            if self.job.method == "dpo"
            else {"method": "sft", "train_on_inputs": "auto"}
        )
        params: JSONObject = dict(
            training_file=prepared.train_file_id,
            model=self.model,
            n_epochs=epochs,
            n_evals=1 if prepared.validation_file_id else 0,
            training_method=method,
        )
        if prepared.validation_file_id:
            params["validation_file"] = prepared.validation_file_id
        answer = self.calls.call("asking Together for its price estimate",
                                 lambda: self.client.fine_tuning.estimate_price(**params))
        if not getattr(answer, "estimation_available", False):
            # e.g. the file is still being validated: our estimate (before the upload) stands
            return
        if isinstance(prepared.estimate, CostEstimate) and answer.estimated_total_price is not None:
            vendor = replace(
                prepared.estimate,
                estimated_usd=float(answer.estimated_total_price),
                price_source="Together's own estimate (POST /fine-tunes/estimate-price)",
            )
            hold_to_budget(vendor, self.max_budget_usd)
        if answer.allowed_to_proceed is False:
            raise QuotaExhaustedError(
                f"Together estimates ${answer.estimated_total_price or 0:.4f} "
                "for this job and says it exceeds the account's credit limit "
                f"(${answer.user_limit or 0:.2f}); add credit, then resume. No job was created"
            )

    def find_job(self, run_id: str) -> str | None:
        """The newest usable job whose suffix carries ``run_id``'s tag (resume, VT-9)."""
        tag = f"-{run_tag(run_id)}" if self.job.suffix else run_tag(run_id)
        jobs = self.calls.call("listing fine-tuning jobs", lambda: self.answers.listing(
            self.client.fine_tuning.list(),
            action="the listing of fine-tuning jobs", wanted="a list of jobs"))
        usable = [j for j in jobs if (j.suffix or "").endswith(tag) and j.status not in _UNUSABLE]
        if not usable:
            return None
        job = newest(usable, check=self.answers, action=f"run {run_id}")
        return self.job_id(job, "the listing of fine-tuning jobs")

    def get_status(self, job_id: str) -> TrainingStatus:
        job = self.calls.call(
            "reading the job status", lambda: self.client.fine_tuning.retrieve(job_id)
        )
        return self.noted_status(job, _status(field_of(job, "status")))

    def get_result(self, job_id: str) -> TrainingResult:
        job = self.calls.call(
            "reading the job result", lambda: self.client.fine_tuning.retrieve(job_id)
        )
        if not is_object(job):
            raise self.answers.refuse(job, action="the request for the job's result",
                                      wanted="a fine-tuning job")
        checkpoints = self.calls.call("reading the job's checkpoints", lambda: self.answers.listing(
            self.client.fine_tuning.list_checkpoints(job_id),
            action="the listing of the job's checkpoints", wanted="a list of checkpoints"))
        events = self._raw_events(job_id)
        metrics: dict[str, float] = {}
        for event in self._metric_events(job_id):
            metrics.update(event.metrics)
        status = _status(job.status)
        errors = [e.message for e in events if e.type == "job_error"]
        output = job.x_model_output_name if status is TrainingStatus.SUCCEEDED else None
        return TrainingResult(
            job_id=job_id,
            status=status,
            model_name=self.answers.model_name(job, output,
                                               action="the request for the job's result"),
            trained_tokens=job.token_count,
            metrics=metrics,
            checkpoints=[
                c.object_name or c.path for c in sorted(checkpoints, key=lambda c: c.step or 0)
            ],
            error=errors[-1] if errors and status is TrainingStatus.FAILED else None,
        )

    def cancel(self, job_id: str) -> None:
        if self.get_status(job_id).is_terminal:
            return
        self.calls.call("cancelling the job", lambda: self.client.fine_tuning.cancel(job_id))

    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        """Log events and metrics in time order, newer than the event id ``after``."""
        raw = self._raw_events(job_id)
        total = next((e.total_steps for e in reversed(raw) if e.total_steps), None)
        logs = [
            TrainingEvent(
                kind="log",
                message=e.message,
                created_at=_epoch(e.created_at),
                id=f"event-{i}",
                step=e.step,
                total_steps=e.total_steps or total,
            )
            for i, e in enumerate(raw)
        ]
        merged = sorted(
            [*logs, *self._metric_events(job_id, total)], key=lambda e: e.created_at or 0.0
        )
        ids = [e.id for e in merged]
        start = ids.index(after) + 1 if after in ids else 0
        yield from merged[start:]

    def _raw_events(self, job_id: str) -> list[Any]:
        """The job's events as listed; an answer that is no listing holds none (events only
        inform: the status decides, and an unreadable one is waited out)."""
        answer = self.calls.call(
            "reading job events", lambda: self.client.fine_tuning.list_events(job_id)
        )
        listed = field_of(answer, "data")
        return [e for e in listed if is_object(e)] if isinstance(listed, list) else []

    def _metric_events(self, job_id: str, total: int | None = None) -> list[TrainingEvent]:
        answer = self.calls.call(
            "reading job metrics", lambda: self.client.fine_tuning.list_metrics(job_id)
        )
        records = field_of(answer, "metrics")
        events = []
        for i, record in enumerate(records if isinstance(records, list) else []):
            if not isinstance(record, dict):
                continue
            metrics = {
                name: float(record[key]) for key, name in _METRIC_NAMES.items()
                if _is_number(record.get(key))
            }
            if not metrics:
                continue
            step = record.get("train/global_step", record.get("eval/global_step"))
            stamp = record.get("timestamp")
            events.append(
                TrainingEvent(
                    kind="metric",
                    message=", ".join(f"{k}={v:.4f}" for k, v in metrics.items()),
                    step=int(step) if _is_number(step) else None,
                    metrics=metrics,
                    created_at=float(stamp) / 1e9 if _is_number(stamp) else 0.0,
                    id=f"metric-{i}",
                    total_steps=total,
                )
            )
        return events

    # ----- the gate's replies (issue 26) ---------------------------------------------------
    def complete(self, model: str, messages: Messages, *, max_tokens: int) -> Completion:
        """One chat completion of ``model`` (a base, a LoRA fine-tune, or a deployment's name) at
        temperature 0; usage as Together billed it."""
        request: JSONObject = {"model": model, "messages": messages, "max_tokens": max_tokens,
                               "temperature": 0}
        if self.job.seed is not None:
            request["seed"] = self.job.seed
        return self.chat_reply(model, request)

    def hosting(self) -> Hosting:
        """A LoRA fine-tune answers serverless; a full one on a dedicated endpoint."""
        return hosting_for(self.name, self.model, training_type=self.training_type,
                           hourly_usd=self.hosting_usd_per_hour)

    def deploy(self, model: str, *, run_id: str) -> Deployment:
        return self.endpoints.deploy(model, run_id=run_id)

    def find_deployment(self, model: str, *, run_id: str) -> Deployment | None:
        return self.endpoints.find(model, run_id=run_id)

    def deployment_status(self, deployment: Deployment) -> DeploymentStatus:
        return self.endpoints.status(deployment)

    def tear_down(self, deployment: Deployment) -> None:
        self.endpoints.tear_down(deployment)


def _status(value: Any) -> TrainingStatus:
    """Together's status; one it does not document (or none) is UNKNOWN, which the follower waits
    out for a bounded number of polls, never forever."""
    return _STATUS.get(value, TrainingStatus.UNKNOWN) if isinstance(value, str) else \
        TrainingStatus.UNKNOWN


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _epoch(value: Any) -> float:
    """Together's ISO timestamps (or datetimes) as seconds since the epoch."""
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    try:
        return _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


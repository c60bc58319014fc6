"""``FireworksTrainer``: fine-tuning on Fireworks AI through the official ``fireworks-ai`` SDK (1.x)
(VT-14).

Fireworks lets the caller name its resources, so this trainer names them after the run
and a resumed run finds them by name, never by a listing:

- a dataset ``vt-<run tag>-<role>-<content hash>`` is created, then filled with
  ``datasets/{id}:upload`` (at most 150 MB; at least 3 examples, checked before);
- a job ``vt-<run tag>-<n>`` (``supervisedFineTuningJobs`` or ``dpoJobs``); a creation
  answered with a 5xx is looked up by that id before it is tried again, and a retry
  that meets the job already created (409) takes it.

The job object has a state and a progress percent but no event or loss stream, so
:meth:`FireworksTrainer.events` reports state changes as log lines and the percent as
progress (``step`` of ``total_steps`` 100), with no loss metrics.

The evaluation gate replays its cases through chat completions (:meth:`FireworksTrainer.complete`):
the base model answers serverless, billed per token; the LoRA only on a dedicated deployment
billed by the hour, which :mod:`vectortrainer.training.fireworks_serving` creates, loads it onto
and tears down.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vectortrainer.budget.estimates import resolve_epochs
from vectortrainer.budget.serving import Hosting, hosting_for
from vectortrainer.config import Config
from vectortrainer.errors import MissingAPIKeyError, VectorTrainerError
from vectortrainer.files import count_lines, sha256_file
from vectortrainer.json_types import JSONObject
from vectortrainer.training.answers import field_of, is_object
from vectortrainer.training.base import (
    Completion,
    Messages,
    PreparedData,
    TrainingEvent,
    TrainingResult,
    TrainingStatus,
)
from vectortrainer.training.deployments import Deployment, DeploymentStatus
from vectortrainer.training.fireworks_serving import FireworksServing
from vectortrainer.training.hosted import (
    UPLOAD_FLOOR_BYTES_PER_S,
    HostedTrainer,
    api_settings,
    run_tag,
)

if TYPE_CHECKING:
    import fireworks  # 0.6 s to import: only a call to the vendor needs it

ACCOUNT_ENV = "FIREWORKS_ACCOUNT_ID"
MAX_JOBS_PER_RUN = 20  # a run that failed this often needs a person, not another paid job
MAX_ID_LENGTH = 63  # AIP-122 resource ids: lowercase letters, digits, hyphens
_QUEUED = {
    "JOB_STATE_UNSPECIFIED",
    "JOB_STATE_CREATING",
    "JOB_STATE_VALIDATING",
    "JOB_STATE_PENDING",
    "JOB_STATE_RE_QUEUEING",
    "JOB_STATE_CREATING_INPUT_DATASET",
    "JOB_STATE_IDLE",
}
_RUNNING = {"JOB_STATE_RUNNING", "JOB_STATE_WRITING_RESULTS", "JOB_STATE_CANCELLING",
            "JOB_STATE_PAUSED"}
_SUCCEEDED = {"JOB_STATE_COMPLETED", "JOB_STATE_EARLY_STOPPED"}
_FAILED = {"JOB_STATE_FAILED", "JOB_STATE_EXPIRED"}
_CANCELLED = {"JOB_STATE_CANCELLED", "JOB_STATE_DELETING", "JOB_STATE_DELETING_CLEANING_UP"}


class FireworksTrainer(HostedTrainer):
    """Fine-tunes an open model on Fireworks AI (supervised or DPO)."""

    name = "fireworks"
    config_section = "fireworks"
    sdk_module = "fireworks"

    def __init__(
        self,
        model: str = "accounts/fireworks/models/llama-v3p1-8b-instruct",
        *,
        account_id: str | None = None,
        api_key_env: str = "FIREWORKS_API_KEY",
        **settings: Any,
    ) -> None:
        super().__init__(model, api_key_env=api_key_env, **settings)
        self.account_id = account_id

    @classmethod
    def connection_settings(cls, config: Config) -> dict[str, Any]:
        return {
            **api_settings(config.fireworks, "FIREWORKS_BASE_URL"),
            "account_id": config.fireworks.account_id or os.environ.get(ACCOUNT_ENV),
        }

    @property
    def has_api_key(self) -> bool:
        return super().has_api_key and (self._client is not None or bool(self.account_id))

    def make_client(self) -> "fireworks.Fireworks":
        import fireworks  # 0.6 s to import: only a call to the vendor needs it

        key = self.api_key()
        if not self.account_id:
            raise MissingAPIKeyError(
                f"no Fireworks account id: set the {ACCOUNT_ENV} environment variable "
                f"(or fireworks.account_id in the config)"
            )
        return fireworks.Fireworks(api_key=key, account_id=self.account_id, base_url=self.base_url,
                                   max_retries=0, timeout=self.timeout,
                                   http_client=self.http_client())

    # ----- datasets -------------------------------------------------------------------
    def dataset_id(self, path: Path, *, role: str, run_id: str | None) -> str:
        return resource_id(
            "vt", run_tag(run_id) if run_id else "norun", role, sha256_file(path)[:12]
        )

    def upload_file(self, path: Path, *, role: str = "train", run_id: str | None = None) -> str:
        """Create the run's dataset (once) and upload into it unless it is ready; return its
        name."""
        dataset_id = self.dataset_id(path, role=role, run_id=run_id)
        dataset = self._dataset(dataset_id)
        if dataset is None:
            n_examples = count_lines(path)  # lines end at "\n" only, as the JSONL they are
            body = {"example_count": str(n_examples), "format": "CHAT", "user_uploaded": {}}
            dataset = self.calls.create_once(
                "creating the dataset",
                lambda: self._named(self.client.datasets.create(dataset_id=dataset_id,
                                                                dataset=body),
                                    dataset_id, "the creation of the dataset"),
                lambda: self._dataset(dataset_id))
        if dataset.state != "READY":
            # The answer names the dataset it filled; anything else (a page, {}) is refused, or
            # an empty dataset's name would be saved and every resume's job would be refused.
            self.calls.call("uploading the training file", lambda: self.answers.id(
                self.client.datasets.upload(
                    dataset_id, file=(path.name, path.read_bytes(), "application/jsonl")),
                re.compile(re.escape(dataset_id)), action="the upload of the training file",
                wanted=f"the dataset it filled ({dataset_id})"),
                extra_s=path.stat().st_size / UPLOAD_FLOOR_BYTES_PER_S)
        return self.dataset_name(dataset_id)

    def _dataset(self, dataset_id: str) -> Any:
        """The dataset ``dataset_id`` (None when there is none), as the provider answered it."""
        import fireworks  # 0.6 s to import: only a call to the vendor needs it

        def get() -> Any:
            try:
                answer = self.client.datasets.get(dataset_id)
            except fireworks.NotFoundError:
                return None
            return self._named(answer, dataset_id, "the request for the dataset")

        return self.calls.call("reading the dataset", get)

    def _named(self, answer: Any, short_id: str, action: str) -> Any:
        """``answer`` when it is the resource ``short_id`` (its ``name`` ends so); else the
        one-line refusal."""
        self.answers.id(answer, re.compile(rf"accounts/[^/]+/[A-Za-z]+/{re.escape(short_id)}"),
                        field="name", action=action, wanted=f"the resource {short_id}")
        return answer

    def dataset_name(self, dataset_id: str) -> str:
        return f"accounts/{self.account_id}/datasets/{dataset_id}"

    # ----- jobs -----------------------------------------------------------------------
    @property
    def jobs(self) -> Any:
        """The job resource of the method: ``supervised_fine_tuning_jobs`` or ``dpo_jobs``."""
        return (
            self.client.dpo_jobs
            if self.job.method == "dpo"
            else self.client.supervised_fine_tuning_jobs
        )

    def job_ids(self, run_id: str) -> Iterator[str]:
        tag = run_tag(run_id)
        return (resource_id("vt", tag, str(n)) for n in range(1, MAX_JOBS_PER_RUN + 1))

    def start_training(
        self, prepared: PreparedData, *, run_id: str, reuse_existing: bool = True
    ) -> str:
        """Create the run's next job (or return the usable one it has, see ``find_job``)."""
        import fireworks  # 0.6 s to import: only a call to the vendor needs it

        self.require_upload(prepared)
        existing = self._run_jobs(run_id)
        usable = [job_id for job_id, job in existing if _status(job) not in (TrainingStatus.FAILED,
                                                                             TrainingStatus.CANCELLED)]
        if reuse_existing and usable:
            return usable[-1]
        if len(existing) >= MAX_JOBS_PER_RUN:
            raise VectorTrainerError(
                f"run {run_id} already has {len(existing)} Fireworks jobs; start a new run"
            )
        job_id = resource_id("vt", run_tag(run_id), str(len(existing) + 1))
        request = self.job_request(prepared, run_id, job_id)

        def create() -> str:
            try:
                answer = self._create(job_id, request)
            except fireworks.ConflictError:  # a retry met the job the failed answer had created
                return job_id
            self._named(answer, job_id, "the creation of the fine-tuning job")
            return job_id

        return self.calls.create_once("creating the fine-tuning job", create,
                                      lambda: job_id if self._job(job_id) is not None else None)

    def _create(self, job_id: str, request: JSONObject) -> Any:
        if self.job.method == "dpo":
            return self.client.dpo_jobs.create(dpo_job_id=job_id, **request)
        return self.client.supervised_fine_tuning_jobs.create(
            supervised_fine_tuning_job_id=job_id, **request
        )

    def job_request(self, prepared: PreparedData, run_id: str, job_id: str) -> JSONObject:
        epochs = resolve_epochs(
            self.job.n_epochs, prepared.n_examples, self.facts.limits.default_epochs
        )
        output = resource_id(self.job.suffix or "vectortrainer", job_id)
        training: JSONObject = {
            "base_model": self.model,
            "epochs": epochs,
            "output_model": output,
        }
        if self.job.learning_rate != "auto":
            training["learning_rate"] = self.job.learning_rate
        if self.job.batch_size != "auto":
            training["batch_size_samples"] = self.job.batch_size
        display = f"vectortrainer {run_id}"
        if self.job.method == "dpo":
            loss: JSONObject = {"method": "DPO"}
            if self.job.beta != "auto":
                loss["dpo"] = {"beta": self.job.beta}
            return {
                "dataset": prepared.train_file_id,
                "display_name": display,
                "training_config": training,
                "loss_config": loss,
            }
        request = {"dataset": prepared.train_file_id, "display_name": display, **training}
        if prepared.validation_file_id:
            request["evaluation_dataset"] = prepared.validation_file_id
        return request

    def _job(self, job_id: str, *, strict: bool = True) -> Any:
        """The job ``job_id`` (None when there is none); with ``strict`` an answer that is not that
        job is refused in one line (it decides whether to pay for one), else returned as it is."""
        import fireworks  # 0.6 s to import: only a call to the vendor needs it

        def get() -> Any:
            try:
                answer = self.jobs.get(job_id)
            except fireworks.NotFoundError:
                return None
            return self._named(answer, job_id, "the request for the job") if strict else answer

        return self.calls.call("reading the job", get)

    def _run_jobs(self, run_id: str) -> list[tuple[str, Any]]:
        """The jobs created for ``run_id`` so far, oldest first (ids are numbered, so no listing is
        needed)."""
        found = []
        for job_id in self.job_ids(run_id):
            job = self._job(job_id)
            if job is None:
                break
            found.append((job_id, job))
        return found

    def find_job(self, run_id: str) -> str | None:
        """The newest job of ``run_id`` that is not failed or cancelled (resume, VT-9)."""
        usable = [job_id for job_id, job in self._run_jobs(run_id)
                  if _status(job) not in (TrainingStatus.FAILED, TrainingStatus.CANCELLED)]
        return usable[-1] if usable else None

    def _existing_job(self, job_id: str, *, strict: bool = True) -> Any:
        job = self._job(job_id, strict=strict)
        if job is None:
            raise VectorTrainerError(
                f"Fireworks has no job {job_id} (for this account and training.method)"
            )
        return job

    def get_status(self, job_id: str) -> TrainingStatus:
        job = self._existing_job(job_id, strict=False)
        return self.noted_status(job, _status(job), field="state")

    def get_result(self, job_id: str) -> TrainingResult:
        job = self._existing_job(job_id)
        status = _status(job)
        training = getattr(job, "training_config", None) if self.job.method == "dpo" else job
        output = getattr(training, "output_model", None)
        error = field_of(job.status, "message") if status is TrainingStatus.FAILED else None
        model = output if status is TrainingStatus.SUCCEEDED else None
        if isinstance(model, str):
            model = _model_name(model, self.account_id)
        return TrainingResult(
            job_id=job_id,
            status=status,
            model_name=self.answers.model_name(job, model,
                                               action="the request for the job's result"),
            error=error,
        )

    def cancel(self, job_id: str) -> None:
        if self.get_status(job_id).is_terminal:
            return
        self.calls.call("cancelling the job", lambda: self.jobs.cancel(job_id, body={}))

    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        """The job's state change and progress since ``after`` (see the module docstring)."""
        job = self._existing_job(job_id, strict=False)
        if not is_object(job):  # events only inform: the status decides, and is waited out
            return
        state = str(job.state or "JOB_STATE_UNSPECIFIED")
        progress = getattr(job, "job_progress", None)
        percent = field_of(progress, "percent")
        if not isinstance(percent, int) or isinstance(percent, bool):
            percent = None
        seen_state, seen_percent = _parse_event_id(after)
        if (state, percent) == (seen_state, seen_percent):
            return
        if state != seen_state:
            yield TrainingEvent(
                kind="log",
                message=f"Fireworks job {job_id}: {state.removeprefix('JOB_STATE_')}",
                id=_event_id(state, percent, "state"),
            )
        if percent is not None:
            yield TrainingEvent(
                kind="metric",
                message=f"{percent}% ({state.removeprefix('JOB_STATE_').lower()})",
                step=int(percent),
                total_steps=100,
                id=_event_id(state, percent, "progress"),
            )

    # ----- the gate's replies and deployments ------------------------------------------
    def complete(self, model: str, messages: Messages, *, max_tokens: int) -> Completion:
        """One chat completion of ``model`` at temperature 0 (the gate's replay): a base model
        serverless, a LoRA as its deployment serves it (``model#deployment``)."""
        return self.chat_reply(model, {"model": model, "messages": messages,
                                       "max_tokens": max_tokens, "temperature": 0})

    def hosting(self) -> Hosting:
        return hosting_for("fireworks", self.model, hourly_usd=self.hosting_usd_per_hour)

    @cached_property
    def serving(self) -> FireworksServing:
        return FireworksServing(self)

    def deploy(self, model: str, *, run_id: str) -> Deployment:
        return self.serving.deploy(model, run_id=run_id)

    def find_deployment(self, model: str, *, run_id: str) -> Deployment | None:
        return self.serving.find(model, run_id=run_id)

    def deployment_status(self, deployment: Deployment) -> DeploymentStatus:
        return self.serving.status(deployment)

    def tear_down(self, deployment: Deployment) -> None:
        self.serving.tear_down(deployment)


def resource_id(*parts: str) -> str:
    """Parts joined into an AIP-122 resource id: lowercase letters, digits and hyphens, at most
    63."""
    text = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return re.sub(r"-{2,}", "-", text)[:MAX_ID_LENGTH].rstrip("-")


def _status(job: Any) -> TrainingStatus:
    """The job's state; one Fireworks does not document (or none, or an answer that is no job) is
    UNKNOWN, which the follower waits out for a bounded number of polls, never forever."""
    state = field_of(job, "state")
    if not isinstance(state, str):
        return TrainingStatus.UNKNOWN
    for states, status in ((_QUEUED, TrainingStatus.QUEUED), (_RUNNING, TrainingStatus.RUNNING),
                           (_SUCCEEDED, TrainingStatus.SUCCEEDED), (_FAILED, TrainingStatus.FAILED),
                           (_CANCELLED, TrainingStatus.CANCELLED)):
        if state in states:
            return status
    return TrainingStatus.UNKNOWN


def _model_name(output: str | None, account_id: str | None) -> str | None:
    if not output:
        return None
    return output if output.startswith("accounts/") else f"accounts/{account_id}/models/{output}"


def _event_id(state: str, percent: int | None, kind: str) -> str:
    return f"fw|{state}|{'' if percent is None else percent}|{kind}"


def _parse_event_id(event_id: str | None) -> tuple[str | None, int | None]:
    if not event_id or not event_id.startswith("fw|"):
        return None, None
    _, state, percent, _ = (event_id.split("|") + ["", "", ""])[:4]
    return state or None, int(percent) if percent.isdigit() else None

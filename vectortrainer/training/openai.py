"""``OpenAITrainer``: fine-tuning through the real ``openai`` SDK (FR-3.2, FR-6.4, VT-9).

The checks before any upload (schedule, ranges, data, budget) are
:class:`~vectortrainer.training.hosted.HostedTrainer`'s. An upload is named after the
run id and the content hash, so after a crash the same file is found again instead of
being uploaded twice. Jobs carry ``metadata={"vectortrainer_run_id": ...}`` so
``find_job`` finds a job whose id was never saved, and a creation that failed with a
5xx or a dropped connection is looked for before it is tried again
(:mod:`vectortrainer.training.calls`). :class:`~vectortrainer.training.azure.AzureOpenAITrainer`
is this trainer with Azure's client and job lookup.

With a key set, the model's ``shutdown_date`` is read from the models endpoint
(``GET /v1/models/{model}``) just before the first upload, and refuses a model OpenAI
says is shut down; when the endpoint gives no date or fails, the catalogue's date stands
(:meth:`OpenAITrainer.read_shutdown`).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vectortrainer.budget.schedule import ReportedShutdown
from vectortrainer.config import Config
from vectortrainer.json_types import JSONObject, JSONValue
from vectortrainer.training.answers import field_of, is_object, newest
from vectortrainer.training.base import (
    Completion,
    Messages,
    PreparedData,
    TrainingEvent,
    TrainingResult,
    TrainingStatus,
)
from vectortrainer.training.deadline import within
from vectortrainer.training.hosted import HostedTrainer, api_settings

if TYPE_CHECKING:
    import openai  # 0.9 s to import: only a call to the vendor needs it

RUN_ID_METADATA_KEY = "vectortrainer_run_id"
# The job's step count gives the progress bar its total and ETA: metric events carry it as
# ``total_steps``, and their message reads "Step 12/30: ..." (used when the field is absent).
_STEP_OF_TOTAL = re.compile(r"\bstep\s+(\d+)\s*/\s*(\d+)", re.IGNORECASE)
# What the API documents beside TrainingStatus' own values: a paused job is not over.
_RUNNING_ALIASES = frozenset({"pausing", "paused"})
# No OpenAI model shut down before this day: an earlier "shutdown_date" is read as no date.
EARLIEST_SHUTDOWN = _dt.date(2020, 1, 1)
METRIC_KEYS = ("train_loss", "valid_loss", "train_mean_token_accuracy", "valid_mean_token_accuracy",
               "full_valid_loss", "full_valid_mean_token_accuracy")


class OpenAITrainer(HostedTrainer):
    """Fine-tunes on OpenAI (or any server speaking its files / fine-tuning API)."""

    name = "openai"
    config_section = "openai"

    def __init__(
        self,
        model: str = "gpt-4o-mini-2024-07-18",
        *,
        api_key_env: str = "OPENAI_API_KEY",
        **settings: Any,
    ) -> None:
        super().__init__(model, api_key_env=api_key_env, **settings)

    @classmethod
    def connection_settings(cls, config: Config) -> dict[str, Any]:
        return api_settings(config.openai, "OPENAI_BASE_URL")

    # ----- the client ---------------------------------------------------------
    def make_client(self) -> "openai.OpenAI":
        import openai  # 0.9 s to import: only a call to the vendor needs it

        return openai.OpenAI(api_key=self.api_key(), base_url=self.base_url, max_retries=0,
                             timeout=self.timeout, http_client=self.http_client())

    # ----- the model's shutdown date --------------------------------------------
    def read_shutdown(self) -> ReportedShutdown | None:
        """``shutdown_date`` of the job's model from the models endpoint, one attempt: any
        failure, or an answer with no readable date, leaves the catalogue's date in force (the
        source says why), so the run never fails on this read."""
        endpoint = f"OpenAI's models endpoint (GET /v1/models/{self.model})"
        try:
            with within(self.timeout):  # a slow endpoint may not hold the run either
                answer = self.client.models.retrieve(self.model)
        except Exception as exc:  # advisory only: the catalogue answers instead
            status = getattr(exc, "status_code", None)
            said = f"HTTP {status}" if status else type(exc).__name__
            return ReportedShutdown(self.model, None,
                                    f"from the catalogue; {endpoint} failed ({said})")
        value = field_of(answer, "shutdown_date")
        on = shutdown_date_in(value)
        if on is not None:
            return ReportedShutdown(self.model, on, f"{endpoint}: shutdown_date")
        gave = ("no shutdown_date" if value is None
                else f"shutdown_date={str(value)[:40]!r}, not a date")
        return ReportedShutdown(self.model, None, f"from the catalogue; {endpoint} gave {gave}")

    # ----- files --------------------------------------------------------------
    def send_file(self, path: Path, filename: str) -> Any:
        with path.open("rb") as handle:
            return self.client.files.create(file=(filename, handle), purpose="fine-tune")

    def find_uploaded_file(self, filename: str, *, size: int | None = None) -> str | None:
        """The id of an uploaded fine-tune file named ``filename`` (and of ``size`` bytes), if
        any."""

        def find() -> str | None:
            listed = self.answers.listing(self.client.files.list(purpose="fine-tune"),
                                          action="the listing of uploaded files",
                                          wanted="a list of files")
            for item in listed:
                if (
                    item.filename == filename
                    and (size is None or item.bytes == size)
                    and item.status != "error"
                ):
                    return self.file_id(item, "the listing of uploaded files")
            return None

        return self.calls.call("listing uploaded files", find)

    # ----- jobs ---------------------------------------------------------------
    def hyperparameters(self) -> JSONObject:
        values: JSONObject = {
            "n_epochs": self.job.n_epochs,
            "batch_size": self.job.batch_size,
            "learning_rate_multiplier": self.job.learning_rate_multiplier,
        }
        if self.job.method == "dpo":
            values["beta"] = self.job.beta
        return values

    def job_request(self, prepared: PreparedData, run_id: str) -> JSONObject:
        request: JSONObject = {
            "model": self.model,
            "training_file": prepared.train_file_id,
            "method": {
                "type": self.job.method,
                self.job.method: {"hyperparameters": self.hyperparameters()},
            },
            "metadata": {RUN_ID_METADATA_KEY: run_id},
        }
        if prepared.validation_file_id:
            request["validation_file"] = prepared.validation_file_id
        if self.job.suffix:
            request["suffix"] = self.job.suffix
        if self.job.seed is not None:
            request["seed"] = self.job.seed
        return request

    def create_job(self, prepared: PreparedData, run_id: str) -> str:
        """Create the job, with the run id in its metadata (so ``find_job`` finds it again)."""
        request = self.job_request(prepared, run_id)
        return self.calls.create_once(
            "creating the fine-tuning job",
            lambda: self.job_id(self.client.fine_tuning.jobs.create(**request),
                                "the creation of the fine-tuning job"),
            lambda: self.find_job(run_id))

    def list_jobs(self, run_id: str) -> list[Any]:
        """The jobs the API lists for ``run_id`` (OpenAI filters by metadata on the server)."""
        return self.calls.call("listing fine-tuning jobs", lambda: self.answers.listing(
            self.client.fine_tuning.jobs.list(metadata={RUN_ID_METADATA_KEY: run_id}, limit=100),
            action="the listing of fine-tuning jobs", wanted="a list of jobs"))

    def find_job(self, run_id: str) -> str | None:
        """The newest job created for ``run_id`` that is not failed or cancelled (resume, VT-9)."""
        mine = [
            j
            for j in self.list_jobs(run_id)
            if (field_of(j, "metadata") or {}).get(RUN_ID_METADATA_KEY) == run_id
        ]
        usable = [j for j in mine if j.status not in ("failed", "cancelled")]
        if not usable:
            return None
        job = newest(usable, check=self.answers, action=f"run {run_id}")
        return self.job_id(job, "the listing of fine-tuning jobs")

    def get_status(self, job_id: str) -> TrainingStatus:
        job = self.calls.call(
            "reading the job status", lambda: self.client.fine_tuning.jobs.retrieve(job_id)
        )
        return self.noted_status(job, _status(field_of(job, "status")))

    def get_result(self, job_id: str) -> TrainingResult:
        job = self.calls.call(
            "reading the job result", lambda: self.client.fine_tuning.jobs.retrieve(job_id)
        )
        if not is_object(job):
            raise self.answers.refuse(job, action="the request for the job's result",
                                      wanted="a fine-tuning job")
        checkpoints = self.calls.call("reading the job's checkpoints", lambda: self.answers.listing(
            self.client.fine_tuning.jobs.checkpoints.list(job_id, limit=100),
            action="the listing of the job's checkpoints", wanted="a list of checkpoints"))
        checkpoints.sort(key=lambda c: c.step_number or 0)
        # Checkpoints add full-validation numbers; the last metrics event is the newest step.
        metrics: dict[str, float] = {}
        if checkpoints and checkpoints[-1].metrics is not None:
            metrics.update(_numeric(checkpoints[-1].metrics.model_dump(exclude={"step"})))
        last_metric = self._last_metric_event(job_id)
        if last_metric is not None:
            metrics.update(last_metric.metrics)
        error = None
        if job.error is not None and (job.error.message or job.error.code):
            error = job.error.message or job.error.code
        return TrainingResult(
            job_id=job_id,
            status=_status(job.status),
            model_name=self.answers.model_name(job, job.fine_tuned_model,
                                               action="the request for the job's result"),
            trained_tokens=job.trained_tokens,
            metrics=metrics,
            checkpoints=[c.fine_tuned_model_checkpoint for c in checkpoints],
            error=error,
        )

    def _last_metric_event(self, job_id: str) -> TrainingEvent | None:
        def newest_metric() -> TrainingEvent | None:
            # newest first
            for event in _events(self.client.fine_tuning.jobs.list_events(job_id, limit=100)):
                if event.type == "metrics":
                    return _event(event)
            return None

        return self.calls.call("reading job events", newest_metric)

    def cancel(self, job_id: str) -> None:
        job = self.calls.call(
            "cancelling the job", lambda: self.client.fine_tuning.jobs.retrieve(job_id)
        )
        if _status(field_of(job, "status")).is_terminal:
            return
        self.calls.call("cancelling the job", lambda: self.client.fine_tuning.jobs.cancel(job_id))

    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        """Events newer than the event id ``after``, oldest first.

        The API lists newest first and pages towards older events, so we read
        back until ``after`` (or the beginning) and hand them out reversed.
        """
        def newer_events() -> list[TrainingEvent]:
            newer: list[TrainingEvent] = []
            for event in _events(self.client.fine_tuning.jobs.list_events(job_id, limit=100)):
                if after is not None and event.id == after:
                    break
                newer.append(_event(event))
            return newer

        yield from reversed(self.calls.call("reading job events", newer_events))

    # ----- inference (the evaluation gate) ---------------------------------------
    def complete(self, model: str, messages: Messages, *, max_tokens: int) -> Completion:
        """One chat completion of ``model`` at temperature 0 (the gate's replay); usage as the API
        billed it."""
        request: JSONObject = {
            "model": model,
            "messages": messages,
            "max_completion_tokens": max_tokens,
            "temperature": 0,
        }
        if self.job.seed is not None:
            request["seed"] = self.job.seed
        return self.chat_reply(model, request)


# ----- helpers ----------------------------------------------------------------
def shutdown_date_in(value: object) -> _dt.date | None:
    """The models endpoint's ``shutdown_date`` as a date: an ISO date (what the API reference
    documents), an ISO date-time or a unix timestamp in seconds (as a number or as text; read in
    UTC). None for an absent or null field and for anything else, a date before
    ``EARLIEST_SHUTDOWN`` included."""
    day = _date_in(value)
    # 0 or 1970-01-01 is a serialiser's empty value, not a shutdown: it must not refuse every model
    return day if day is not None and day >= EARLIEST_SHUTDOWN else None


def _date_in(value: object) -> _dt.date | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        value = float(value)
    if isinstance(value, (int, float)):
        try:
            return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc).date()
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc)
    return moment.date()


def _status(value: Any) -> TrainingStatus:
    """The API's status; one it does not document (or none) is UNKNOWN, which the follower waits
    out for a bounded number of polls, never forever."""
    if not isinstance(value, str):
        return TrainingStatus.UNKNOWN
    if value in _RUNNING_ALIASES:
        return TrainingStatus.RUNNING
    try:
        status = TrainingStatus(value)
    except ValueError:
        return TrainingStatus.UNKNOWN
    return status


def _events(page: Any) -> list[Any]:
    """The events of a listing; an answer that is none holds no events (events only inform: the
    status decides, and an unreadable one is waited out)."""
    if not is_object(page):
        return []
    try:
        return [event for event in page if is_object(event)]
    except (TypeError, AttributeError):  # ``{}`` read as a page
        return []


def _timestamp(value: Any) -> float | None:
    """An event's ``created_at`` as seconds (None when the answer has none)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _numeric(values: Mapping[str, JSONValue]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in values.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _event(event: Any) -> TrainingEvent:
    """An SDK event -> ``TrainingEvent``; ``metrics`` events carry the step and the numbers."""
    data = event.data if isinstance(event.data, Mapping) else {}
    if event.type == "metrics":
        step = data.get("step")
        metrics = {k: float(data[k]) for k in METRIC_KEYS if isinstance(data.get(k), (int, float))}
        total = data.get("total_steps")
        if not isinstance(total, int) or isinstance(total, bool) or total < 1:
            match = _STEP_OF_TOTAL.search(event.message or "")
            total = int(match.group(2)) if match else None
        return TrainingEvent(
            kind="metric",
            message=event.message,
            step=int(step) if isinstance(step, (int, float)) else None,
            metrics=metrics,
            created_at=_timestamp(event.created_at),
            id=event.id,
            total_steps=total,
        )
    return TrainingEvent(
        kind="log", message=event.message, created_at=_timestamp(event.created_at), id=event.id
    )

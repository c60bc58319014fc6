"""The vendor-neutral trainer contract (FR-3.1, FR-3.4).

A trainer estimates what training on a ChatML (or preference) JSONL file would take
(dollars or minutes), takes the validated file, starts a job, and reports status,
events and per-step metrics until a result. The pipeline,
the monitors, the TUI training screen and the web learning curve only ever
speak this interface, so OpenAI and local trainers are interchangeable.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vectortrainer.budget.estimates import Estimate
from vectortrainer.budget.schedule import ReportedShutdown
from vectortrainer.budget.serving import SERVERLESS, Hosting
from vectortrainer.errors import InferenceNotAvailableError
from vectortrainer.training.deployments import Deployment, DeploymentStatus

Messages = list[dict[str, str]]


class TrainingStatus(enum.StrEnum):
    VALIDATING_FILES = "validating_files"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The provider answered no status it documents (null, a new word, a page that is no job):
    # not over, and not to be polled forever either (the follower gives up after a bounded time).
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self in (TrainingStatus.SUCCEEDED, TrainingStatus.FAILED, TrainingStatus.CANCELLED)


@dataclass
class PreparedData:
    """Training data that passed validation (and the budget guard), ready for a job.

    ``train_file_id`` / ``validation_file_id`` are the vendor's ids once uploaded
    (a local trainer keeps paths instead).
    """

    train_path: Path
    n_examples: int
    validation_path: Path | None = None
    train_file_id: str | None = None
    validation_file_id: str | None = None
    estimate: Estimate | None = None  # set when the budget guard ran


@dataclass
class TrainingEvent:
    """One thing a job reported: a log line, a status change or per-step metrics."""

    kind: str  # "log" | "status" | "metric"
    message: str = ""
    step: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    created_at: float | None = None
    id: str | None = None
    # the job's step count when known: the progress bar's total and ETA
    total_steps: int | None = None


@dataclass
class TrainingResult:
    job_id: str
    status: TrainingStatus
    model_name: str | None = None  # fine-tuned model id, or the adapter directory of a local run
    trained_tokens: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    checkpoints: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class Completion:
    """One reply of a model, and the tokens the provider counted (billed) for it."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # The provider answered without a reply (no choice, no text): the gate cannot score it.
    failed: bool = False


class BaseTrainer(ABC):
    """What every trainer does; see the module docstring."""

    name: str = "base"
    # What the provider said when ``get_status`` last read UNKNOWN (for the follower's message).
    unknown_status: str | None = None

    @abstractmethod
    def prepare_data(
        self, train_path: Path, validation_path: Path | None = None, *, run_id: str | None = None
    ) -> PreparedData:
        """Validate the data and run the budget guard before anything is paid for or uploaded.

        ``run_id`` names what is uploaded, so a resumed run finds it again instead of uploading
        twice.
        """

    @abstractmethod
    def estimate(self, train_path: Path, validation_path: Path | None = None) -> Estimate:
        """What training on these files would take, before anything is uploaded or paid for.

        Dollars at a vendor (:class:`~vectortrainer.budget.estimates.CostEstimate`), minutes
        for a local run (:class:`~vectortrainer.budget.estimates.TimeEstimate`). The data and the
        job's settings are checked first; the estimate is not held to a budget here: the caller's
        guard does that, in the estimate's own unit.
        """

    @abstractmethod
    def start_training(self, prepared: PreparedData, *, run_id: str) -> str:
        """Start a job and return its id. ``run_id`` is recorded with the job so it can be found
        again."""

    @abstractmethod
    def get_status(self, job_id: str) -> TrainingStatus: ...

    @abstractmethod
    def get_result(self, job_id: str) -> TrainingResult: ...

    @abstractmethod
    def cancel(self, job_id: str) -> None: ...

    @abstractmethod
    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        """Events of the job newer than the event id ``after``, oldest first."""

    def preflight(self) -> None:
        """Refuse, before any work and without a request, what cannot work: credentials that are
        not set, a model the provider does not train (or no longer does), job settings it would
        refuse, a local model that is not a model directory.

        The pipeline asks this before the extract stage of a run that still has to create its job,
        so a run never reads the store, synthesises rules or estimates for nothing. Raises a
        :class:`~vectortrainer.errors.ConfigError` (``MissingAPIKeyError`` for credentials) with
        one line saying what to set; a trainer with nothing to check keeps this default.
        """
        return None

    def find_job(self, run_id: str) -> str | None:
        """The id of a job already created for ``run_id`` (resume after a crash), if any."""
        return None

    @property
    def title(self) -> str:
        """The trainer as a run's log names it (a vendor's trainer: the provider's title)."""
        return self.name

    @property
    def has_api_key(self) -> bool:
        """Whether the credentials this trainer needs are set (a trainer that needs none: True)."""
        return True

    @property
    def base_model(self) -> str | None:
        """The model this trainer fine-tunes: what the evaluation gate compares with when none is
        promoted."""
        model = getattr(self, "model", None)
        return str(model) if model else None

    def reported_shutdown(self) -> ReportedShutdown | None:
        """The trained model's shutdown date as its provider's API reports it (None: it reports
        none, e.g. a local model; the catalogue's date, if any, stands)."""
        return None

    @property
    def serves_models(self) -> bool:
        """Whether this trainer answers prompts with its models (what the evaluation gate needs)."""
        return type(self).complete is not BaseTrainer.complete

    def inference_not_available(self) -> InferenceNotAvailableError:
        return InferenceNotAvailableError(
            f"the {self.name} trainer cannot answer prompts, so the evaluation gate "
            "cannot judge its models; set gate.enabled: false in the config to promote "
            "without a gate, or use a trainer that serves its models (openai, local)"
        )

    def complete(self, model: str, messages: Messages, *, max_tokens: int) -> Completion:
        """``model``'s reply to ``messages`` (a base model, or one this trainer trained), decoded
        greedily.

        The evaluation gate replays held-out inputs through this. A trainer that cannot
        answer prompts keeps this default, which refuses with what to do instead.
        """
        raise self.inference_not_available()

    def complete_many(
        self, model: str, conversations: Sequence[Messages], *, max_tokens: int
    ) -> list[Completion]:
        """Replies to several conversations (a trainer that loads a model overrides this to load it
        once)."""
        return [self.complete(model, messages, max_tokens=max_tokens) for messages in conversations]

    # ----- serving a fine-tune (the gate's deployments) ---------------------------------
    def hosting(self) -> Hosting:
        """How this trainer's fine-tunes answer: at once (the default), or after a deployment
        billed by the hour (:mod:`vectortrainer.budget.serving`)."""
        return SERVERLESS

    def base_served_as(self) -> str | None:
        """What a request names to reach the base model (Azure: its deployment), None when no
        base model is known."""
        return self.base_model

    def deploy(self, model: str, *, run_id: str) -> Deployment:
        """Create (or find again, by the run's name) a deployment that serves ``model``; it may
        not be ready yet. Only a trainer whose :meth:`hosting` is ``deployed`` is asked."""
        raise NotImplementedError(f"{type(self).__name__} serves its models without a deployment")

    def find_deployment(self, model: str, *, run_id: str) -> Deployment | None:
        """The deployment already created for ``run_id`` (a resumed run), if any."""
        return None

    def deployment_status(self, deployment: Deployment) -> DeploymentStatus:
        """The state of ``deployment`` as its provider answers now."""
        raise NotImplementedError(f"{type(self).__name__} has no deployments")

    def tear_down(self, deployment: Deployment) -> None:
        """Delete ``deployment`` (already gone: nothing to do), so it bills no more."""
        raise NotImplementedError(f"{type(self).__name__} has no deployments")

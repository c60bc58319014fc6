"""``OpenAITrainer``: fine-tuning through the real ``openai`` SDK (FR-3.2, FR-6.4, VT-9).

``prepare_data`` validates the JSONL, runs the budget guard and only then
uploads; an upload is named after the run id and the content hash, so after a
crash the same file is found again instead of being uploaded twice. Jobs carry
``metadata={"vectortrainer_run_id": ...}`` so ``find_job`` can find a job whose
id was never saved. 429 / 5xx are retried by the SDK itself (``max_retries``).
Vendor answers that are the user's to fix become one clear ``VectorTrainerError``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vectortrainer.budget.estimates import Epochs
from vectortrainer.budget.guards import check_budget
from vectortrainer.config import Config
from vectortrainer.errors import (
    ConfigError,
    DataFormatError,
    MissingAPIKeyError,
    TrainerAPIError,
    TrainingNotAvailableError,
    VectorTrainerError,
)
from vectortrainer.feedback.preference import read_preference_jsonl
from vectortrainer.files import sha256_file
from vectortrainer.golden.chatml import validate_chat_jsonl
from vectortrainer.training.base import (
    BaseTrainer,
    Completion,
    Messages,
    PreparedData,
    TrainingEvent,
    TrainingResult,
    TrainingStatus,
)

if TYPE_CHECKING:
    import openai  # 0.7 s to import: only a call to the vendor needs it

RUN_ID_METADATA_KEY = "vectortrainer_run_id"
MIN_TRAINING_EXAMPLES = 10  # the API refuses fewer
MAX_SUFFIX_LENGTH = 64
UPLOAD_NAME_PREFIX = "vectortrainer"
# The job's step count gives the progress bar its total and ETA: metric events carry it as
# ``total_steps``, and their message reads "Step 12/30: ..." (used when the field is absent).
_STEP_OF_TOTAL = re.compile(r"\bstep\s+(\d+)\s*/\s*(\d+)", re.IGNORECASE)


class OpenAITrainer(BaseTrainer):
    """Fine-tunes on OpenAI (or any server speaking its files / fine-tuning API)."""

    name = "openai"

    def __init__(
        self,
        model: str = "gpt-4o-mini-2024-07-18",
        *,
        n_epochs: Epochs = "auto",
        batch_size: int | Literal["auto"] = "auto",
        learning_rate_multiplier: float | Literal["auto"] = "auto",
        beta: float | Literal["auto"] = "auto",
        method: Literal["supervised", "dpo"] = "supervised",
        suffix: str | None = "vectortrainer",
        seed: int | None = None,
        max_budget_usd: float | None = None,
        prices: Mapping[str, float] | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_retries: int = 3,
        timeout: float = 60.0,
        client: "openai.OpenAI | None" = None,
    ) -> None:
        if method not in ("supervised", "dpo"):
            raise ConfigError(f"training.method: expected 'supervised' or 'dpo', got {method!r}")
        if suffix is not None and len(suffix) > MAX_SUFFIX_LENGTH:
            raise ConfigError(f"training.suffix: at most {MAX_SUFFIX_LENGTH} characters, got {len(suffix)}")
        self.model = model
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate_multiplier = learning_rate_multiplier
        self.beta = beta
        self.method = method
        self.suffix = suffix
        self.seed = seed
        self.max_budget_usd = max_budget_usd
        self.prices = dict(prices or {})
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.max_retries = max_retries
        self.timeout = timeout
        self._api_key = api_key  # never stored in config, run state or logs
        self._client = client

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> "OpenAITrainer":
        """A trainer from ``training``, ``budget`` and ``openai`` sections of the config."""
        training, budget, api = config.training, config.budget, config.openai
        settings: dict[str, Any] = dict(
            model=training.model,
            n_epochs=training.n_epochs,
            batch_size=training.batch_size,
            learning_rate_multiplier=training.learning_rate_multiplier,
            beta=training.beta,
            method=training.method,
            suffix=training.suffix,
            seed=training.seed,
            max_budget_usd=budget.max_budget_usd,
            prices=budget.prices,
            base_url=api.base_url or os.environ.get("OPENAI_BASE_URL"),
            api_key_env=api.api_key_env,
            max_retries=api.max_retries,
            timeout=api.timeout_s,
        )
        settings.update(overrides)
        return cls(**settings)

    # ----- the client ---------------------------------------------------------
    @property
    def has_api_key(self) -> bool:
        return self._client is not None or bool(self._api_key or os.environ.get(self.api_key_env))

    @property
    def client(self) -> "openai.OpenAI":
        """The SDK client, created at first use (so validation and the budget need no key)."""
        if self._client is None:
            api_key = self._api_key or os.environ.get(self.api_key_env)
            if not api_key:
                raise MissingAPIKeyError(
                    f"no OpenAI API key: set the {self.api_key_env} environment variable "
                    f"(or openai.api_key_env in the config to name another variable)"
                )
            import openai  # 0.7 s to import: only a call to the vendor needs it

            self._client = openai.OpenAI(
                api_key=api_key,
                base_url=self.base_url,
                max_retries=self.max_retries,
                timeout=self.timeout,
            )
        return self._client

    # ----- data ---------------------------------------------------------------
    def prepare_data(
        self,
        train_path: Path,
        validation_path: Path | None = None,
        *,
        run_id: str | None = None,
    ) -> PreparedData:
        """Validate, check the budget (FR-6.4), then upload each file once."""
        train_path, validation_path = Path(train_path), Path(validation_path) if validation_path else None
        n_examples = validate_training_file(train_path, method=self.method)
        if n_examples < MIN_TRAINING_EXAMPLES:
            raise DataFormatError(
                f"{train_path}: {n_examples} training examples; fine-tuning needs at least "
                f"{MIN_TRAINING_EXAMPLES} (select more golden data, e.g. raise selection.top_k)"
            )
        if validation_path is not None:
            validate_training_file(validation_path, method=self.method)
        estimate = check_budget(
            train_path,
            self.model,
            self.max_budget_usd,
            self.n_epochs,
            validation_path=validation_path,
            prices=self.prices,
        )
        prepared = PreparedData(
            train_path=train_path, n_examples=n_examples, validation_path=validation_path, estimate=estimate
        )
        prepared.train_file_id = self.upload_file(train_path, role="train", run_id=run_id)
        if validation_path is not None:
            prepared.validation_file_id = self.upload_file(validation_path, role="validation", run_id=run_id)
        return prepared

    def upload_file(self, path: Path, *, role: str = "train", run_id: str | None = None) -> str:
        """Upload ``path`` for fine-tuning unless the same content was uploaded already; return its id."""
        filename = upload_filename(path, role=role, run_id=run_id)
        existing = self.find_uploaded_file(filename, size=path.stat().st_size)
        if existing is not None:
            return existing
        with _translate_api_errors("uploading the training file"), path.open("rb") as handle:
            uploaded = self.client.files.create(file=(filename, handle), purpose="fine-tune")
        return uploaded.id

    def find_uploaded_file(self, filename: str, *, size: int | None = None) -> str | None:
        """The id of an uploaded fine-tune file named ``filename`` (and of ``size`` bytes), if any."""
        with _translate_api_errors("listing uploaded files"):
            for item in self.client.files.list(purpose="fine-tune"):
                if item.filename == filename and (size is None or item.bytes == size) and item.status != "error":
                    return item.id
        return None

    # ----- jobs ---------------------------------------------------------------
    def hyperparameters(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "n_epochs": self.n_epochs,
            "batch_size": self.batch_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
        }
        if self.method == "dpo":
            values["beta"] = self.beta
        return values

    def start_training(self, prepared: PreparedData, *, run_id: str, reuse_existing: bool = True) -> str:
        """Create the job (or return the one already created for ``run_id``, see ``find_job``)."""
        if not prepared.train_file_id:
            raise VectorTrainerError("no uploaded training file: run prepare_data() before start_training()")
        if reuse_existing:
            existing = self.find_job(run_id)
            if existing is not None:
                return existing
        request: dict[str, Any] = {
            "model": self.model,
            "training_file": prepared.train_file_id,
            "method": {"type": self.method, self.method: {"hyperparameters": self.hyperparameters()}},
            "metadata": {RUN_ID_METADATA_KEY: run_id},
        }
        if prepared.validation_file_id:
            request["validation_file"] = prepared.validation_file_id
        if self.suffix:
            request["suffix"] = self.suffix
        if self.seed is not None:
            request["seed"] = self.seed
        with _translate_api_errors("creating the fine-tuning job"):
            job = self.client.fine_tuning.jobs.create(**request)
        return job.id

    def find_job(self, run_id: str) -> str | None:
        """The newest job created for ``run_id`` that is not failed or cancelled (resume, VT-9)."""
        with _translate_api_errors("listing fine-tuning jobs"):
            jobs = list(self.client.fine_tuning.jobs.list(metadata={RUN_ID_METADATA_KEY: run_id}, limit=100))
        mine = [j for j in jobs if (j.metadata or {}).get(RUN_ID_METADATA_KEY) == run_id]
        usable = [j for j in mine if j.status not in ("failed", "cancelled")]
        if not usable:
            return None
        return max(usable, key=lambda j: j.created_at).id

    def get_status(self, job_id: str) -> TrainingStatus:
        with _translate_api_errors("reading the job status"):
            job = self.client.fine_tuning.jobs.retrieve(job_id)
        return _status(job.status)

    def get_result(self, job_id: str) -> TrainingResult:
        with _translate_api_errors("reading the job result"):
            job = self.client.fine_tuning.jobs.retrieve(job_id)
            checkpoints = list(self.client.fine_tuning.jobs.checkpoints.list(job_id, limit=100))
        checkpoints.sort(key=lambda c: c.step_number)
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
            job_id=job.id,
            status=_status(job.status),
            model_name=job.fine_tuned_model,
            trained_tokens=job.trained_tokens,
            metrics=metrics,
            checkpoints=[c.fine_tuned_model_checkpoint for c in checkpoints],
            error=error,
        )

    def _last_metric_event(self, job_id: str) -> TrainingEvent | None:
        with _translate_api_errors("reading job events"):
            for event in self.client.fine_tuning.jobs.list_events(job_id, limit=100):  # newest first
                if event.type == "metrics":
                    return _event(event)
        return None

    def cancel(self, job_id: str) -> None:
        with _translate_api_errors("cancelling the job"):
            job = self.client.fine_tuning.jobs.retrieve(job_id)
            if _status(job.status).is_terminal:
                return
            self.client.fine_tuning.jobs.cancel(job_id)

    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        """Events newer than the event id ``after``, oldest first.

        The API lists newest first and pages towards older events, so we read
        back until ``after`` (or the beginning) and hand them out reversed.
        """
        newer: list[TrainingEvent] = []
        with _translate_api_errors("reading job events"):
            for event in self.client.fine_tuning.jobs.list_events(job_id, limit=100):
                if after is not None and event.id == after:
                    break
                newer.append(_event(event))
        yield from reversed(newer)


    # ----- inference (the evaluation gate) ---------------------------------------
    def complete(self, model: str, messages: Messages, *, max_tokens: int) -> Completion:
        """One chat completion of ``model`` at temperature 0 (the gate's replay); usage as the API billed it."""
        request: dict[str, Any] = {"model": model, "messages": messages, "max_completion_tokens": max_tokens,
                                   "temperature": 0}
        if self.seed is not None:
            request["seed"] = self.seed
        with _translate_api_errors(f"asking {model} for a reply"):
            response = self.client.chat.completions.create(**request)
        text = response.choices[0].message.content if response.choices else None
        usage = response.usage
        return Completion(text=text or "", prompt_tokens=usage.prompt_tokens if usage else 0,
                          completion_tokens=usage.completion_tokens if usage else 0)


# ----- helpers ----------------------------------------------------------------
def upload_filename(path: Path, *, role: str, run_id: str | None) -> str:
    """``vectortrainer-<run id>-<role>-<sha256 prefix>.jsonl``: stable for the same run and content."""
    digest = sha256_file(path)[:16]
    parts = [UPLOAD_NAME_PREFIX, *( [run_id] if run_id else []), role, digest]
    return "-".join(parts) + ".jsonl"


def _status(value: str) -> TrainingStatus:
    try:
        return TrainingStatus(value)
    except ValueError:  # e.g. "pausing" / "paused": not terminal, treat as running
        return TrainingStatus.RUNNING


def _numeric(values: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


METRIC_KEYS = ("train_loss", "valid_loss", "train_mean_token_accuracy", "valid_mean_token_accuracy",
               "full_valid_loss", "full_valid_mean_token_accuracy")


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
            created_at=float(event.created_at),
            id=event.id,
            total_steps=total,
        )
    return TrainingEvent(kind="log", message=event.message, created_at=float(event.created_at), id=event.id)


def _api_error_message(exc: Any) -> tuple[str | None, str]:
    body = getattr(exc, "body", None)
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            code = inner.get("code") or code
            message = inner.get("message") or message
    return code, str(message)


@contextlib.contextmanager
def _translate_api_errors(action: str) -> Iterator[None]:
    """SDK exceptions (after its own retries) -> one clear ``VectorTrainerError``."""
    import openai  # 0.7 s to import: only a call to the vendor needs it

    try:
        yield
    except openai.PermissionDeniedError as exc:
        code, message = _api_error_message(exc)
        if code == "training_not_available":
            raise TrainingNotAvailableError(
                "OpenAI does not offer fine-tuning to this organisation any more (403 training_not_available). "
                "Train locally instead (training.trainer: local in the config), or point openai.base_url "
                "at another provider that speaks the fine-tuning API"
            ) from None
        raise TrainerAPIError(f"{action}: permission denied (403): {message}") from None
    except openai.AuthenticationError as exc:
        raise TrainerAPIError(
            f"{action}: the API key was rejected (401): {_api_error_message(exc)[1]}; check the key you set"
        ) from None
    except openai.RateLimitError as exc:
        raise TrainerAPIError(
            f"{action}: still rate limited after retries (429): {_api_error_message(exc)[1]}; try again later "
            f"or raise openai.max_retries"
        ) from None
    except openai.APIStatusError as exc:
        raise TrainerAPIError(f"{action}: the API answered {exc.status_code}: {_api_error_message(exc)[1]}") from None
    except openai.APIConnectionError as exc:
        raise TrainerAPIError(f"{action}: cannot reach the API ({exc}); check openai.base_url and the network") from None


# ----- validation ---------------------------------------------------------------
def validate_training_file(path: Path, *, method: str = "supervised") -> int:
    """Check ``path`` the way the fine-tuning API does; return the number of examples.

    Chat data goes through ``vectortrainer.golden.chatml.validate_chat_jsonl`` and preference
    (DPO) data through ``vectortrainer.feedback.preference.read_preference_jsonl``: one set of
    format rules for every trainer. Raises ``DataFormatError``.
    """
    if method == "dpo":
        return len(read_preference_jsonl(path))
    report = validate_chat_jsonl(path)
    report.raise_if_invalid()
    return report.examples

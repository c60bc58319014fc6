"""What every hosted trainer shares: the settings, the checks before any upload, the budget guard,
the SDK calls.

:class:`HostedTrainer` is the :class:`~vectortrainer.training.base.BaseTrainer` of a
vendor. Its :meth:`~HostedTrainer.estimate` and :meth:`~HostedTrainer.prepare_data`
run the same steps for OpenAI, Azure OpenAI, Together and Fireworks, in this order,
and make no request until all of them passed:

1. the provider's schedule (no job past a cutoff or a model's shutdown);
2. the job's settings against the provider's ranges and the model's methods;
3. the data, the way the provider validates it (format, minimum examples, size);
4. the cost against ``budget.max_budget_usd``;
5. the model's shutdown date as the provider reports it (:meth:`~HostedTrainer.reported_shutdown`:
   one read, when a key is set and the provider's API has one), so a model the provider
   says is shut down is refused before anything is uploaded. Steps 1-4 send no request;
   this one comes last so that a refusal by them still sends none.

Only then does a subclass upload (once per content, found again by name on resume)
and create the job (once per run, found again by the run's tag): :meth:`~HostedTrainer.upload_file`
and :meth:`~HostedTrainer.start_training` hold those steps for a provider with a files API
(its request is :meth:`~HostedTrainer.send_file`, its job :meth:`~HostedTrainer.create_job`);
a provider that names its resources itself (Fireworks) overrides them. A subclass holds
the provider's API: its client, upload, job creation, status, events and result.

Every id a provider answers is checked against the shape of that provider's ids
(``file_id_pattern``, ``job_id_pattern``) before it is returned, so nothing a proxy's page or
an empty object said is ever saved (:mod:`vectortrainer.training.answers`); every call ends
within ``timeout_s`` (:mod:`vectortrainer.training.deadline`).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib
import os
import re
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from vectortrainer.budget.catalog import DPO, provider_facts
from vectortrainer.budget.estimates import CostEstimate, Epochs
from vectortrainer.budget.guards import check_budget, hold_to_budget
from vectortrainer.budget.pricing import resolve_model
from vectortrainer.budget.schedule import ReportedShutdown, ScheduleOverrides, check_open
from vectortrainer.config import Config
from vectortrainer.errors import (
    ConfigError,
    DataFormatError,
    MissingAPIKeyError,
    VectorTrainerError,
)
from vectortrainer.feedback.preference import read_preference_jsonl
from vectortrainer.files import sha256_file
from vectortrainer.golden.chatml import validate_chat_jsonl
from vectortrainer.json_types import JSONObject
from vectortrainer.redaction import register_secret, register_secret_env
from vectortrainer.training.answers import AnswerCheck, describe_answer, field_of, is_object
from vectortrainer.training.base import BaseTrainer, Completion, PreparedData, TrainingStatus
from vectortrainer.training.calls import CallPolicy
from vectortrainer.training.deadline import deadline_http_client
from vectortrainer.training.limits import JobSettings, check_job_settings

UPLOAD_NAME_PREFIX = "vectortrainer"
RUN_TAG_LENGTH = 8
# An upload's attempt gets timeout_s plus its bytes at this rate (2 Mbit/s): a large training
# file on a slow link is still sent, and a server that stops reading is still given up on.
UPLOAD_FLOOR_BYTES_PER_S = 256 * 1024
ROLE_NAMES = {"train": "training", "validation": "validation"}


class HostedTrainer(BaseTrainer):
    """A vendor's trainer; see the module docstring. Subclasses set ``name`` (the provider) and its
    API."""

    name = "hosted"
    suffix_reserved = 0  # characters the trainer appends to ``suffix`` (its run tag)
    config_section = "openai"  # the config section of the provider's connection settings
    url_setting = "base_url"  # the key of that section that says where its API is
    # the provider's SDK, imported at the first call (seconds: only a call to the vendor needs it)
    sdk_module: ClassVar[str] = "openai"
    # The shapes of the provider's file and job ids, and how a message names them: an answer
    # that holds no such id is refused before anything of it is kept.
    file_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"file-[A-Za-z0-9_-]{1,200}")
    file_id_shape: ClassVar[str] = "a file id (file-...)"
    job_id_pattern: ClassVar[re.Pattern[str]] = re.compile(r"ftjob-[A-Za-z0-9_-]{1,200}")
    job_id_shape: ClassVar[str] = "a job id (ftjob-...)"

    def __init__(
        self,
        model: str,
        *,
        method: Literal["supervised", "dpo"] = "supervised",
        n_epochs: Epochs = "auto",
        batch_size: int | Literal["auto"] = "auto",
        learning_rate_multiplier: float | Literal["auto"] = "auto",
        learning_rate: float | Literal["auto"] = "auto",
        beta: float | Literal["auto"] = "auto",
        suffix: str | None = "vectortrainer",
        seed: int | None = None,
        max_budget_usd: float | None = None,
        prices: Mapping[str, float] | None = None,
        hosting_usd_per_hour: float | None = None,
        schedule: ScheduleOverrides | None = None,
        today: _dt.date | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str = "",
        max_retries: int = 3,
        timeout: float = 60.0,
        client: Any = None,
    ) -> None:
        if method not in ("supervised", "dpo"):
            raise ConfigError(f"training.method: expected 'supervised' or 'dpo', got {method!r}")
        # the job's settings: checked against the provider's ranges, then sent in its request
        self.job = JobSettings(
            model=model,
            method=method,
            n_epochs=n_epochs,
            batch_size=batch_size,
            learning_rate_multiplier=learning_rate_multiplier,
            learning_rate=learning_rate,
            beta=beta,
            seed=seed,
            suffix=suffix,
        )
        self.max_budget_usd = max_budget_usd
        self.prices = dict(prices or {})
        self.hosting_usd_per_hour = hosting_usd_per_hour  # over the recorded price of a deployment
        self.schedule = dict(schedule or {})
        self.today = today
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.max_retries = max_retries
        self.timeout = timeout
        self._api_key = api_key  # never stored in config, run state or logs
        register_secret(api_key)  # and redacted by value wherever text is written
        register_secret_env(api_key_env)
        self._client = client
        self.facts = provider_facts(self.name)
        # accepted but not sent (e.g. a seed where the provider takes none)
        self.notes: list[str] = []
        self._reported_shutdown: ReportedShutdown | None = None
        self._shutdown_read = False  # read once per trainer: the answer does not change mid-run

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> "HostedTrainer":
        """A trainer from ``training``, ``budget``, ``schedule`` and the provider's own section of
        the config."""
        return cls(**{**training_settings(config), **cls.connection_settings(config), **overrides})

    @classmethod
    @abstractmethod
    def connection_settings(cls, config: Config) -> dict[str, Any]:
        """The constructor arguments from the provider's config section (base URL, key variable,
        retries)."""

    @property
    def model(self) -> str:
        """The base model the job fine-tunes."""
        return self.job.model

    @property
    def title(self) -> str:
        return self.facts.title

    # -- the client --------------------------------------------------------------------
    @property
    def has_api_key(self) -> bool:
        return self._client is not None or bool(self._api_key or os.environ.get(self.api_key_env))

    def api_key(self) -> str:
        """The key from the constructor or ``api_key_env``; ``MissingAPIKeyError`` names the
        variable."""
        key = self._api_key or os.environ.get(self.api_key_env)
        if not key:
            raise MissingAPIKeyError(
                f"no {self.facts.title} API key: set the {self.api_key_env} environment variable "
                f"(or {self.config_section}.api_key_env in the config to name another variable)"
            )
        return key

    @property
    def client(self) -> Any:
        """The SDK client, created at first use (so validation and the budget need no key)."""
        if self._client is None:
            self._client = self.make_client()
        return self._client

    @abstractmethod
    def make_client(self) -> Any:
        """The provider's SDK client, with ``max_retries=0`` (``calls`` retries, see there)."""

    @property
    def calls(self) -> CallPolicy:
        """How this trainer calls its SDK (retries, a spent quota, creation that never pays
        twice)."""
        return CallPolicy(
            importlib.import_module(self.sdk_module),
            self.facts.title,
            retries=self.max_retries,
            config_section=self.config_section,
            timeout_s=self.timeout,
            url_setting=f"{self.config_section}.{self.url_setting}",
        )

    @property
    def answers(self) -> AnswerCheck:
        """How this trainer checks what its provider answered (ids, listings, model names)."""
        return AnswerCheck(self.facts.title, f"{self.config_section}.{self.url_setting}")

    def http_client(self) -> Any:
        """The HTTP client the SDK's client is built with: its calls end within ``timeout_s``."""
        return deadline_http_client(importlib.import_module(self.sdk_module))

    def file_id(self, answer: Any, action: str) -> str:
        """The file id in ``answer`` to ``action``; the one-line refusal when it holds none."""
        return self.answers.id(answer, self.file_id_pattern, action=action,
                               wanted=self.file_id_shape)

    def noted_status(self, answer: Any, status: TrainingStatus,
                     field: str = "status") -> TrainingStatus:
        """``status`` (read from ``answer``), noting what the provider said when it is UNKNOWN."""
        self.unknown_status = None
        if status is TrainingStatus.UNKNOWN:
            said = field_of(answer, field)
            self.unknown_status = (
                describe_answer(answer) if not is_object(answer)
                else "null" if said is None
                else repr(said)[:80]
            )
        return status

    def chat_reply(self, model: str, request: JSONObject) -> Completion:
        """One chat completion (the gate's replay) sent as ``request`` through the SDK's
        ``chat.completions.create``: the reply and the tokens the provider billed; ``failed`` when
        it answered without a reply, and a one-line refusal for what is no chat completion."""
        response = self.calls.call(f"asking {model} for a reply",
                                   lambda: self.client.chat.completions.create(**request))
        choices = field_of(response, "choices")
        if not isinstance(choices, list):  # a page of text, {}: no reply to judge, one line
            raise self.answers.refuse(response, action=f"the request for {model}'s reply",
                                      wanted="a chat completion")
        text = field_of(field_of(choices[0], "message"), "content") if choices else None
        usage = field_of(response, "usage")
        return Completion(text=text if isinstance(text, str) else "",
                          prompt_tokens=_billed(field_of(usage, "prompt_tokens")),
                          completion_tokens=_billed(field_of(usage, "completion_tokens")),
                          failed=not isinstance(text, str))

    def job_id(self, answer: Any, action: str) -> str:
        """The job id in ``answer`` to ``action``; the one-line refusal when it holds none."""
        return self.answers.id(answer, self.job_id_pattern, action=action,
                               wanted=self.job_id_shape)

    # -- before any request ------------------------------------------------------------
    def preflight(self) -> None:
        """What can be checked before any work and without a request (see
        :meth:`BaseTrainer.preflight`): the job's settings, the model (known, with a price, open
        at the provider today) and the connection (key, and what else the provider's client needs:
        an account id, an endpoint). Making the client sends nothing."""
        check_job_settings(self.name, self.job, suffix_reserved=self.suffix_reserved)
        resolve_model(self.model, self.prices, today=self.today, provider=self.name,
                      schedule=self.schedule)
        if self._client is None:
            self.api_key()  # the missing key named first, before the client's other settings
            self._client = self.make_client()

    def estimate(self, train_path: Path, validation_path: Path | None = None) -> CostEstimate:
        """Steps 1-3 of the module docstring and the cost, without the guard and without a
        request."""
        train_path = Path(train_path)
        self.notes = check_job_settings(self.name, self.job, suffix_reserved=self.suffix_reserved)
        n_examples = self.validate_file(train_path)
        if n_examples < self.facts.limits.min_examples:
            raise DataFormatError(
                f"{train_path}: {n_examples} training examples; fine-tuning on "
                f"{self.facts.title} needs at least {self.facts.limits.min_examples} "
                "(select more golden data, e.g. raise selection.top_k)"
            )
        if validation_path is not None:
            self.validate_file(Path(validation_path))
        estimate = check_budget(
            train_path,
            self.model,
            None,
            self.job.n_epochs,
            validation_path=validation_path,
            prices=self.prices,
            today=self.today,
            provider=self.name,
            schedule=self.schedule,
        )
        estimate.warnings.extend(self.notes)
        return estimate

    def reported_shutdown(self) -> ReportedShutdown | None:
        """The job's model's shutdown date as the provider reports it, read once and only when a
        key is set (None: no key, or the provider's API reports none)."""
        if not self.has_api_key:
            return None
        if not self._shutdown_read:
            self._reported_shutdown = self.read_shutdown()
            self._shutdown_read = True
        return self._reported_shutdown

    def read_shutdown(self) -> ReportedShutdown | None:
        """One read of the job's model's shutdown date from the provider's API; never raises (an
        error leaves the catalogue's date in force, and says so). None: the API has no such
        date, the default."""
        return None

    def check_reported_shutdown(self, spared: str = "Nothing was uploaded") -> None:
        """Step 5: refuse a model the provider itself says is shut down (``RetiredModelError``;
        ``spared`` says what the refusal kept from happening)."""
        reported = self.reported_shutdown()
        if reported is not None and reported.on is not None:
            check_open(self.name, self.model, today=self.today, overrides=self.schedule,
                       reported=reported, spared=spared)

    def validate_file(self, path: Path) -> int:
        """Check ``path`` the way the provider does; return the number of examples.

        Chat data goes through :func:`~vectortrainer.golden.chatml.validate_chat_jsonl` and
        preference (DPO) data through
        :func:`~vectortrainer.feedback.preference.read_preference_jsonl`: one set of format rules
        for every trainer. A provider adds its own checks (size limits, its SDK's check).
        """
        limit = self.facts.limits.max_file_bytes
        if limit is not None and path.stat().st_size > limit:
            raise DataFormatError(
                f"{path}: {path.stat().st_size:,} bytes; {self.facts.title} takes at most "
                f"{limit:,} per upload (select fewer examples)"
            )
        if self.job.method == DPO:
            return len(read_preference_jsonl(path))
        report = validate_chat_jsonl(path)
        report.raise_if_invalid()
        return report.examples

    def prepare_data(self, train_path: Path, validation_path: Path | None = None, *,
                     run_id: str | None = None) -> PreparedData:
        """Check everything and hold the cost to the budget (FR-6.4), then upload each file once."""
        train_path, validation_path = (
            Path(train_path),
            Path(validation_path) if validation_path else None,
        )
        estimate = hold_to_budget(self.estimate(train_path, validation_path), self.max_budget_usd)
        self.check_reported_shutdown()
        prepared = PreparedData(train_path=train_path, n_examples=estimate.n_examples,
                                validation_path=validation_path, estimate=estimate)
        prepared.train_file_id = self.upload_file(train_path, role="train", run_id=run_id)
        if validation_path is not None:
            prepared.validation_file_id = self.upload_file(
                validation_path, role="validation", run_id=run_id
            )
        return prepared

    # -- uploads and jobs: once per content, once per run --------------------------------
    def upload_file(self, path: Path, *, role: str = "train", run_id: str | None = None) -> str:
        """Upload ``path`` unless the same content was uploaded for this run already; return its
        id.

        The upload is named after the run and the content hash (:func:`upload_filename`), so a
        file of that name and size is found again (``find_uploaded_file``) instead of being sent
        twice, even when the answer to the upload was lost.
        """
        filename = upload_filename(path, role=role, run_id=run_id)
        size = path.stat().st_size
        existing = self.find_uploaded_file(filename, size=size)
        if existing is not None:
            return existing
        return self.calls.create_once(
            "uploading the training file",
            lambda: self.file_id(self.send_file(path, filename),
                                 f"the upload of the {ROLE_NAMES.get(role, role)} file"),
            lambda: self.find_uploaded_file(filename, size=size),
            extra_s=size / UPLOAD_FLOOR_BYTES_PER_S,
        )

    def find_uploaded_file(self, filename: str, *, size: int | None = None) -> str | None:
        """The id of an uploaded file named ``filename`` (and of ``size`` bytes), if any."""
        raise NotImplementedError(f"{type(self).__name__} finds its uploads its own way")

    def send_file(self, path: Path, filename: str) -> Any:
        """One upload of ``path`` under ``filename``: the SDK's answer (it has an ``id``)."""
        raise NotImplementedError(f"{type(self).__name__} uploads its own way")

    def start_training(
        self, prepared: PreparedData, *, run_id: str, reuse_existing: bool = True
    ) -> str:
        """Create the run's job once: the one already created for ``run_id`` (``find_job``) is
        returned unless ``reuse_existing`` is False."""
        self.require_upload(prepared)
        if reuse_existing:
            existing = self.find_job(run_id)
            if existing is not None:
                return existing
        # a resumed run may have uploaded in an earlier process, before the provider's date
        self.check_reported_shutdown("No job was created (the uploaded training file stays)")
        return self.create_job(prepared, run_id)

    def create_job(self, prepared: PreparedData, run_id: str) -> str:
        """Create a new job for ``run_id`` (never twice, even when the answer was lost); its id."""
        raise NotImplementedError(f"{type(self).__name__} starts its jobs its own way")

    def require_upload(self, prepared: PreparedData) -> str:
        """The uploaded training file's id: a job cannot start before ``prepare_data``."""
        if not prepared.train_file_id:
            raise VectorTrainerError(
                f"no training file was uploaded to {self.facts.title} for this run, so no job "
                "was created; resume the run to upload it"
            )
        return prepared.train_file_id


class ApiSection(Protocol):
    """The connection settings every vendor's config section holds (``openai:``, ``together:``,
    ...)."""

    @property
    def base_url(self) -> str | None: ...

    @property
    def api_key_env(self) -> str: ...

    @property
    def max_retries(self) -> int: ...

    @property
    def timeout_s(self) -> float: ...


def api_settings(api: ApiSection, base_url_env: str) -> dict[str, Any]:
    """A trainer's connection arguments from its config section: the base URL (else the
    ``base_url_env`` variable), the key's variable, retries and timeout."""
    return dict(
        base_url=api.base_url or os.environ.get(base_url_env),
        api_key_env=api.api_key_env,
        max_retries=api.max_retries,
        timeout=api.timeout_s,
    )


def training_settings(config: Config) -> dict[str, Any]:
    """The provider-neutral settings of a hosted trainer: the job's (the ``training`` keys
    :class:`~vectortrainer.training.limits.JobSettings` is named after), ``budget`` and
    ``schedule``."""
    training, budget = config.training, config.budget
    return dict(
        {setting.name: getattr(training, setting.name) for setting in fields(JobSettings)},
        max_budget_usd=budget.max_budget_usd,
        prices=budget.prices,
        hosting_usd_per_hour=budget.hosting_usd_per_hour,
        schedule=config.schedule,
    )


def _billed(value: Any) -> int:
    """A token count the API billed (0 when it gives none)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


# ----- names that find a run's uploads and jobs again ------------------------------------
def upload_filename(path: Path, *, role: str, run_id: str | None) -> str:
    """``vectortrainer-<run id>-<role>-<sha256 prefix>.jsonl``: stable for the same run and
    content."""
    digest = sha256_file(path)[:16]
    parts = [UPLOAD_NAME_PREFIX, *([run_id] if run_id else []), role, digest]
    return "-".join(parts) + ".jsonl"


def run_tag(run_id: str) -> str:
    """A short, stable tag of ``run_id`` for names with little room (suffixes, resource ids)."""
    return hashlib.sha256(run_id.encode("utf-8")).hexdigest()[:RUN_TAG_LENGTH]

"""Every error VectorTrainer raises on purpose, in one tree; the faces turn each into one clear
line.

::

    VectorTrainerError                 the user's to fix; the message names the thing and the fix
    ├── ConfigError                    a config file, flag or setting is invalid
    │   ├── SettingError               one selection setting is invalid (names its key)
    │   ├── UnknownModelError          a model with no known training price
    │   ├── FineTuningClosedError      the provider takes no new jobs (past its cutoff) for this
    │   │                              model
    │   │   └── RetiredModelError      a model whose fine-tuning was retired (past its shutdown)
    │   ├── HyperparameterError        a job setting the provider would refuse (range, method, data
    │   │                              size)
    │   └── MissingAPIKeyError         no API key (or other credential) in the environment
    ├── StoreError                     the VectorWave store is missing, empty or lacks what was
    │                                  asked
    ├── DataFormatError                a data file (JSONL, manifest, ...) is malformed
    │   └── RunDirectoryError          a run directory is missing or damaged
    │       └── UnknownRunError        no run with that id (a usage error)
    ├── RunInUseError                  another process holds the run
    ├── BudgetExceededError            the dollar estimate is over the budget; nothing was uploaded
    ├── TimeBudgetExceededError        the minutes estimate is over the budget; nothing was trained
    ├── TokenizerDataError             tiktoken's offline data failed its hash check
    ├── FeedbackNotFoundError          no feedback entry with that id
    ├── RuleSynthesisError             rule synthesis was asked for what it cannot do
    ├── HookValidationError            a hook script failed validation; nothing was written
    ├── HookVersionError               a hook version is missing, unknown or damaged
    ├── VersionLockError               another writer holds a versions lock, or the lock file is
    │                                  unsafe
    ├── ModelRegistryError             a model entry is missing, unknown or damaged, none is
    │                                  promoted, or its base model is past its shutdown
    ├── TrainerAPIError                the vendor API answered with an error to act on
    │   ├── TrainingNotAvailableError  the vendor refuses new fine-tuning jobs
    │   └── QuotaExhaustedError        the account's quota or credit is spent (never retried)
    ├── LocalTrainingError             a local training job could not be found or read
    ├── InferenceNotAvailableError     a trainer cannot answer prompts, so its models cannot be
    │                                  evaluated
    ├── LoopInUseError                 another scheduler is running a loop cycle
    └── PipelineCancelled              the run was cancelled; it can be resumed

Exit codes are not attributes of these errors: the CLI maps error types to codes
(``vectortrainer.cli.common``). :func:`describe` is the one-line text every face shows.
"""

from __future__ import annotations

from typing import Any

from vectortrainer.redaction import redact_secrets


class VectorTrainerError(Exception):
    """Base of every error that is the user's to fix; its message names the thing and the fix."""


class ConfigError(VectorTrainerError):
    """A configuration file, flag or setting is invalid."""


class SettingError(ConfigError):
    """One selection setting is invalid: ``key`` and ``problem`` say which and why, so a caller can
    put the file, line or screen in front (``config.yaml:4: selection.epsilon: must be ...``)."""

    def __init__(self, key: str, value: object, problem: str) -> None:
        super().__init__(f"{key}={value!r}: {problem}")
        self.key = key
        self.value = value
        self.problem = problem

    def __reduce__(self) -> tuple[type[SettingError], tuple[str, object, str]]:
        return (SettingError, (self.key, self.value, self.problem))  # picklable, like the others


class UnknownModelError(ConfigError):
    """A model that has no training price; the message lists the known ones."""


class FineTuningClosedError(ConfigError):
    """The provider creates no new fine-tuning jobs (for this model) after a published date.

    Raised before anything is uploaded; the message says when, why, and names the alternatives.
    """


class RetiredModelError(FineTuningClosedError):
    """A model whose fine-tuning was retired (it shut down); the message names the date."""


class HyperparameterError(ConfigError):
    """A job setting (range, method, data size) the provider would refuse; raised before any
    upload."""


class MissingAPIKeyError(ConfigError):
    """No API key in the environment; the message names the variable to set."""


class StoreError(VectorTrainerError):
    """The VectorWave store is missing, empty, or does not hold what was asked for."""


class DataFormatError(VectorTrainerError):
    """A data file (JSONL, manifest, ...) is malformed; the message names file and line."""


class RunDirectoryError(DataFormatError):
    """A run directory is missing or damaged; the message names the file and what is wrong."""


class UnknownRunError(RunDirectoryError):
    """No run with that id (or not a valid id): a usage error."""


class RunInUseError(VectorTrainerError):
    """Another process holds the run (resuming it twice at once could pay for two jobs)."""


class BudgetExceededError(VectorTrainerError):
    """The estimated training cost is over ``max_budget_usd``; nothing was uploaded (FR-6.3).

    ``estimate`` is the estimated cost in USD, ``budget`` the limit, ``tokens`` the
    billed training tokens (all epochs); ``cost`` holds the whole ``CostEstimate``.
    """

    def __init__(self, message: str, *, cost: Any, budget: float) -> None:
        super().__init__(message)
        self.cost = cost
        self.estimate = cost.estimated_usd
        self.budget = budget
        self.tokens = cost.billed_tokens


class TimeBudgetExceededError(VectorTrainerError):
    """The estimated local training time is over ``budget.max_minutes``; nothing was trained."""

    def __init__(self, message: str, *, estimate: Any, max_minutes: float) -> None:
        super().__init__(message)
        self.estimate = estimate
        self.max_minutes = max_minutes


class TokenizerDataError(VectorTrainerError):
    """The bundled BPE data does not match the hash tiktoken expects."""


class FeedbackNotFoundError(VectorTrainerError):
    """No feedback entry has the id that was asked for."""


class RuleSynthesisError(VectorTrainerError):
    """Rule synthesis was asked for something it cannot do (e.g. an unknown conflict id)."""


class HookValidationError(VectorTrainerError):
    """A hook script failed validation; nothing was written."""


class HookVersionError(VectorTrainerError):
    """A version is missing, unknown or failed its checksum; the active hook was left as it was."""


class VersionLockError(VectorTrainerError):
    """Another writer holds a versions folder's lock (the message says who), or the lock is a
    symbolic link."""


class ModelRegistryError(VectorTrainerError):
    """A model entry is missing, unknown or failed its checksum, no model is promoted, or the model
    asked for may not be promoted (its base model is past its shutdown); nothing was changed."""


class TrainerAPIError(VectorTrainerError):
    """The vendor API answered with an error the user has to act on."""


class TrainingNotAvailableError(TrainerAPIError):
    """The vendor refuses new fine-tuning jobs for this organisation (HTTP 403
    training_not_available)."""


class QuotaExhaustedError(TrainerAPIError):
    """The vendor says the account's quota or credit is spent (a 429 that waiting does not fix)."""


class ProviderAnswerError(TrainerAPIError):
    """The vendor answered what its API never does (an HTML page with status 200, ``{}``, an id of
    another shape, a status it does not document for too long, an answer past ``timeout_s``);
    nothing of the answer was kept."""


class LocalTrainingError(VectorTrainerError):
    """A local job could not be found or read."""


class InferenceNotAvailableError(VectorTrainerError):
    """The trainer has no way to answer prompts, so the evaluation gate cannot judge its models."""


class LoopInUseError(VectorTrainerError):
    """Another scheduler holds the loop's lock: two cycles never train at once."""


class PipelineCancelled(VectorTrainerError):
    """The run was cancelled (``TrainingPipeline.cancel()``); it can be resumed."""


def describe(error: BaseException) -> str:
    """One line for a face: the first line of the message, secrets redacted.

    A :class:`VectorTrainerError` reads as written; anything else is named by its
    type (``OSError: ...``), because its message alone rarely says what broke.
    """
    text = str(error).strip()
    line = redact_secrets(text.splitlines()[0]) if text else ""
    if isinstance(error, VectorTrainerError):
        return line or type(error).__name__
    return f"{type(error).__name__}: {line}" if line else type(error).__name__

"""LocalTrainer: LoRA fine-tuning of a model the user owns, behind the ``BaseTrainer`` contract
(FR-3.4).

Supervised runs use TRL's ``SFTTrainer`` on prompt/completion pairs (loss on the
reply only); ``method="dpo"`` runs TRL's ``DPOTrainer`` on preference pairs
(feedback ``bad -> fixed``). ``prepare_data`` validates the golden ChatML (or DPO)
JSONL, renders it with the model's own chat template, counts tokens and measures
this machine's throughput, and refuses a run above ``budget.max_minutes``
(``TimeBudgetExceededError``, exit code 3). ``start_training`` runs the job in a
background thread with its own job id; status, events and per-step metrics
(``train_loss``, ``valid_loss`` when there is a validation file) look like the
OpenAI trainer's, so the pipeline, monitors and dashboards work unchanged.

A job lives in ``<output_dir>/runs/<run_id>/local/<job_id>/``: ``job.json`` (state,
written atomically), ``events.jsonl``, and on success ``adapter/`` (the LoRA
adapter, the tokenizer and ``training_info.json`` with base model, data hash and
hyperparameters), optionally ``merged/``, and ``evaluation.json`` when held-out
examples were replayed. Nothing is downloaded: the model is a local directory.
"""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from vectortrainer.budget.estimates import TimeEstimate, estimate_local_training
from vectortrainer.budget.guards import check_time_budget
from vectortrainer.config import Config
from vectortrainer.errors import ConfigError, LocalTrainingError
from vectortrainer.files import sha256_file, write_jsonl
from vectortrainer.training.base import (
    BaseTrainer,
    Completion,
    Messages,
    PreparedData,
    TrainingEvent,
    TrainingResult,
    TrainingStatus,
)
from vectortrainer.training.local.calibration import calibrate_throughput
from vectortrainer.training.local.evaluation import (
    HeldOutExample,
    generate_counted,
    load_for_replies,
)
from vectortrainer.training.local.jobs import (
    LocalJob,
    event_sequence,
    find_job_directory,
    job_directory,
    read_job_events,
    read_job_state,
    succeeded_jobs,
)
from vectortrainer.training.local.model import (
    LoraSettings,
    check_model_dir,
    load_tokenizer,
    pick_device,
)
from vectortrainer.training.local.packaged import is_packaged_name
from vectortrainer.training.local.rendering import held_out_examples, render_file, training_texts
from vectortrainer.training.local.run import RunSettings, run_job

Method = Literal["supervised", "dpo"]

DEFAULT_EPOCHS = 3
DEFAULT_BATCH_SIZE = 4
# LoRA learning rates (``learning_rate_multiplier`` scales them, like the vendor's).
BASE_LEARNING_RATE = {"supervised": 2e-4, "dpo": 5e-5}
DEFAULT_BETA = 0.1
CALIBRATION_STEPS = 3  # timed steps (after one warm-up step) that measure this machine
# What a local run imports (the ``local`` extra and torch under it), checked before any work.
LOCAL_PACKAGES = ("torch", "transformers", "peft", "trl", "datasets", "accelerate")


class LocalTrainer(BaseTrainer):
    """Fine-tunes a local causal LM with LoRA (SFT or DPO); see the module docstring."""

    name = "local"

    def __init__(
        self,
        model_path: str | Path | None,
        *,
        output_dir: str | Path,
        method: Method = "supervised",
        n_epochs: int | Literal["auto"] = "auto",
        batch_size: int | Literal["auto"] = "auto",
        learning_rate_multiplier: float | Literal["auto"] = "auto",
        beta: float | Literal["auto"] = "auto",
        seed: int | None = 42,
        max_steps: int | None = None,
        max_minutes: float | None = None,
        lora: LoraSettings | None = None,
        max_length: int = 1024,
        merge: bool = False,
        calibrate: bool = True,
        evaluate: bool = True,
        eval_max_new_tokens: int = 64,
    ) -> None:
        if method not in ("supervised", "dpo"):
            raise ConfigError(f"training.method: expected 'supervised' or 'dpo', got {method!r}")
        if max_steps is not None and max_steps < 1:
            raise ConfigError("training.max_steps: must be at least 1 or null")
        self.model_path = check_model_dir(model_path)
        self.model_name = str(model_path)  # as configured: a packaged model's name or a path
        self.output_dir = Path(output_dir)
        self.method: Method = method
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate_multiplier = learning_rate_multiplier
        self.beta = beta
        self.seed = seed
        self.max_steps = max_steps
        self.max_minutes = max_minutes
        self.lora = lora or LoraSettings()
        self.max_length = max_length
        self.merge = merge
        self.calibrate = calibrate
        self.evaluate = evaluate
        self.eval_max_new_tokens = eval_max_new_tokens
        self._jobs: dict[str, LocalJob] = {}
        self._tokenizer: Any = None
        self._estimates: dict[str, TimeEstimate] = {}

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> "LocalTrainer":
        """A trainer from the ``training`` and ``budget`` sections (``training.local_model`` is the
        model)."""
        training = config.training
        settings: dict[str, Any] = dict(
            model_path=training.local_model,
            output_dir=config.output_dir,
            method=training.method,
            n_epochs=training.n_epochs,
            batch_size=training.batch_size,
            learning_rate_multiplier=training.learning_rate_multiplier,
            beta=training.beta,
            seed=training.seed,
            max_steps=training.max_steps,
            max_minutes=config.budget.max_minutes,
        )
        settings.update(overrides)
        return cls(**settings)

    # ----- before any work --------------------------------------------------------
    def preflight(self) -> None:
        """The model directory is still there and the local stack is installed (nothing is
        imported: finding the packages takes milliseconds, importing them seconds)."""
        check_model_dir(self.model_path)
        missing = [name for name in LOCAL_PACKAGES if importlib.util.find_spec(name) is None]
        if missing:
            raise ConfigError(
                f"training.provider: local needs {', '.join(missing)}, not installed here; "
                "install them with pip install 'vectortrainer[local]' (or pick a hosted provider)"
            )

    # ----- hyperparameters ------------------------------------------------------
    def hyperparameters(self, n_examples: int) -> dict[str, Any]:
        """The resolved values this trainer uses for ``n_examples`` examples ("auto" filled in)."""
        multiplier = (
            1.0 if self.learning_rate_multiplier == "auto" else float(self.learning_rate_multiplier)
        )
        batch = DEFAULT_BATCH_SIZE if self.batch_size == "auto" else int(self.batch_size)
        values: dict[str, Any] = {
            "method": self.method,
            "n_epochs": DEFAULT_EPOCHS if self.n_epochs == "auto" else int(self.n_epochs),
            "batch_size": max(1, min(batch, n_examples)),
            "learning_rate": BASE_LEARNING_RATE[self.method] * multiplier,
            "max_steps": self.max_steps,
            "max_length": self.max_length,
            "seed": self.seed,
            "lora": self.lora.to_dict(),
        }
        if self.method == "dpo":
            values["beta"] = DEFAULT_BETA if self.beta == "auto" else float(self.beta)
        return values

    # ----- data -----------------------------------------------------------------
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.model_path)
        return self._tokenizer

    def convert_file(self, path: Path) -> list[dict[str, str]]:
        """Validate ``path`` and render every example with the model's chat template (see
        ``rendering``)."""
        return render_file(Path(path), self.tokenizer(), self.method)

    def count_tokens(self, rows: list[dict[str, str]]) -> int:
        """Tokens one epoch trains on (DPO: the prompt with each of the two replies)."""
        tokenizer = self.tokenizer()

        def n(text: str) -> int:
            return min(len(tokenizer(text, add_special_tokens=False)["input_ids"]), self.max_length)

        if self.method == "supervised":
            return sum(n(r["prompt"] + r["completion"]) for r in rows)
        return sum(n(r["prompt"] + r["chosen"]) + n(r["prompt"] + r["rejected"]) for r in rows)

    def estimate(self, train_path: Path, validation_path: Path | None = None) -> TimeEstimate:
        """Tokens x epochs and the minutes they take here (a short calibration run); never raises
        for budget."""
        rows = self.convert_file(train_path)
        if validation_path is not None:
            self.convert_file(validation_path)  # fail now, not after training
        key = sha256_file(train_path)
        cached = self._estimates.get(key)
        if cached is not None:
            return cached
        hyper = self.hyperparameters(len(rows))
        calibration = None
        if self.calibrate:
            texts = training_texts(rows, self.method)
            calibration = calibrate_throughput(
                self.model_path,
                self.tokenizer(),
                texts,
                device=pick_device(),
                batch_size=hyper["batch_size"],
                lora=self.lora,
                max_length=self.max_length,
                # never more steps than the run it estimates (a 2-step run, a 2-step calibration)
                steps=min(CALIBRATION_STEPS, self.max_steps or CALIBRATION_STEPS),
            )
        estimate = estimate_local_training(
            model=self.base_model,  # a packaged model by its name: no machine path to cut short
            method=self.method,
            n_examples=len(rows),
            tokens_per_epoch=self.count_tokens(rows),
            n_epochs=hyper["n_epochs"],
            batch_size=hyper["batch_size"],
            max_steps=self.max_steps,
            tokens_per_second=calibration.tokens_per_second if calibration else None,
            device=calibration.device if calibration else "not measured",
            max_minutes=self.max_minutes,
        )
        self._estimates[key] = estimate
        return estimate

    def prepare_data(
        self, train_path: Path, validation_path: Path | None = None, *, run_id: str | None = None
    ) -> PreparedData:
        """Validate and render the data, estimate the time, and refuse a run above ``max_minutes``.

        The returned paths are the source files themselves: ``start_training`` renders
        them again (cheap) and keeps the rendered rows in the job directory, so a
        resumed pipeline, which rebuilds ``PreparedData`` from its files, trains on
        exactly the same data. Nothing is uploaded, so ``run_id`` names nothing here.
        """
        train_path = Path(train_path)
        estimate = self.estimate(train_path, validation_path)
        check_time_budget(estimate, self.max_minutes)
        return PreparedData(
            train_path=train_path,
            n_examples=estimate.n_examples,
            validation_path=Path(validation_path) if validation_path is not None else None,
            estimate=estimate,
        )

    # ----- jobs -----------------------------------------------------------------
    def start_training(self, prepared: PreparedData, *, run_id: str) -> str:
        """Start a background job on ``prepared`` (prepared or raw files both work); return its
        id."""
        rows = self.convert_file(prepared.train_path)
        validation_source = prepared.validation_path
        held_out: list[HeldOutExample] = []
        validation_rows: list[dict[str, str]] | None = None
        if validation_source is not None:
            validation_rows = self.convert_file(validation_source)
            held_out = held_out_examples(Path(validation_source))
        job_id = f"localjob-{uuid.uuid4().hex[:12]}"
        directory = job_directory(self.output_dir, run_id, job_id)
        directory.mkdir(parents=True, exist_ok=True)
        write_jsonl(directory / "train.rendered.jsonl", rows)
        hyper = self.hyperparameters(len(rows))
        state: dict[str, Any] = {
            "job_id": job_id,
            "run_id": run_id,
            "status": TrainingStatus.QUEUED.value,
            "created_at": time.time(),
            "finished_at": None,
            "base_model": str(self.model_path),
            "method": self.method,
            "hyperparameters": hyper,
            "train_file": str(prepared.train_path),
            "validation_file": str(validation_source) if validation_source else None,
            "data_sha256": sha256_file(prepared.train_path),
            "rendered_data_sha256": sha256_file(directory / "train.rendered.jsonl"),
            "n_examples": len(rows),
            "adapter_dir": None,
            "merged_dir": None,
            "trained_tokens": None,
            "metrics": {},
            "error": None,
        }
        job = LocalJob(job_id=job_id, run_id=run_id, directory=directory, state=state)
        self._jobs[job_id] = job
        job.save_state()
        job.emit(
            TrainingEvent(kind="status", message=f"job {job_id} queued ({len(rows)} examples)")
        )
        job.thread = threading.Thread(
            target=run_job,
            args=(self.run_settings(), job, rows, validation_rows, held_out),
            name=f"vectortrainer-{job_id}",
            daemon=True,
        )
        job.thread.start()
        return job_id

    def find_job(self, run_id: str) -> str | None:
        """A job of ``run_id`` that is running in this process or has succeeded.

        A job left unfinished by a process that ended is not "found": local training
        costs nothing but time, so the pipeline simply starts it again.
        """
        for job in self._jobs.values():
            if job.run_id == run_id and job.state["status"] != TrainingStatus.FAILED.value:
                return job.job_id
        succeeded = succeeded_jobs(self.output_dir, run_id)
        return max(succeeded)[1] if succeeded else None

    def get_status(self, job_id: str) -> TrainingStatus:
        return TrainingStatus(self._state(job_id)["status"])

    def get_result(self, job_id: str) -> TrainingResult:
        state = self._state(job_id)
        checkpoints = [p for p in (state.get("adapter_dir"), state.get("merged_dir")) if p]
        return TrainingResult(
            job_id=job_id,
            status=TrainingStatus(state["status"]),
            model_name=state.get("adapter_dir"),
            trained_tokens=state.get("trained_tokens"),
            metrics=dict(state.get("metrics") or {}),
            checkpoints=checkpoints,
            error=state.get("error"),
        )

    def cancel(self, job_id: str) -> None:
        """Ask the job to stop after the current optimiser step (no adapter is saved)."""
        job = self._jobs.get(job_id)
        if job is None:
            state = self._state(job_id)
            if not TrainingStatus(state["status"]).is_terminal:
                raise LocalTrainingError(
                    f"job {job_id} is not running in this process; nothing to cancel"
                )
            return
        job.cancel_requested.set()
        job.emit(TrainingEvent(kind="log", message="cancellation requested"))

    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        job = self._jobs.get(job_id)
        if job is not None:
            with job.lock:
                events = list(job.events)
        else:
            events = read_job_events(find_job_directory(self.output_dir, job_id))
        after_seq = event_sequence(after)
        return iter([e for e in events if event_sequence(e.id) > after_seq])

    def wait(self, job_id: str, timeout: float | None = None) -> TrainingResult:
        """Block until the job ends (tests, the bench, scripts); return its result."""
        job = self._jobs.get(job_id)
        if job is not None and job.thread is not None:
            job.thread.join(timeout)
        return self.get_result(job_id)

    # ----- inference (the evaluation gate) -------------------------------------------
    @property
    def base_model(self) -> str:
        """The base as the registry and the gate name it: a packaged model by its name (the same
        on every machine), anything else by its path."""
        return self.model_name if is_packaged_name(self.model_name) else str(self.model_path)

    def complete(self, model: str, messages: Messages, *, max_tokens: int) -> Completion:
        return self.complete_many(model, [messages], max_tokens=max_tokens)[0]

    def complete_many(
        self, model: str, conversations: Sequence[Messages], *, max_tokens: int
    ) -> list[Completion]:
        """Greedy replies of the base model, an adapter on it, or a merged model; loaded once for
        all."""
        loaded, tokenizer, device = load_for_replies(self.model_path, Path(model))
        replies = []
        for messages in conversations:
            text, prompt_tokens, new_tokens = generate_counted(
                loaded, tokenizer, messages, device, max_tokens
            )
            replies.append(
                Completion(text, prompt_tokens=prompt_tokens, completion_tokens=new_tokens)
            )
        return replies

    # ----- state ------------------------------------------------------------------
    def run_settings(self) -> RunSettings:
        """What a job's thread needs of this trainer's settings."""
        return RunSettings(
            model_path=self.model_path,
            method=self.method,
            max_steps=self.max_steps,
            max_length=self.max_length,
            seed=self.seed,
            lora=self.lora,
            merge=self.merge,
            evaluate=self.evaluate,
            eval_max_new_tokens=self.eval_max_new_tokens,
            model_name=self.model_name,
        )

    def _state(self, job_id: str) -> dict[str, Any]:
        job = self._jobs.get(job_id)
        if job is not None:
            return job.state
        return read_job_state(find_job_directory(self.output_dir, job_id))

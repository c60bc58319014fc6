"""LocalTrainer: LoRA fine-tuning of a model the user owns, behind the ``BaseTrainer`` contract (FR-3.4).

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

import functools
import hashlib
import json
import math
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vectortrainer.errors import ConfigError, DataFormatError, VectorTrainerError
from vectortrainer.evaluation import HeldOutExample, evaluate_model, held_out_from_record
from vectortrainer.local_budget import (
    LocalEstimate,
    calibrate_throughput,
    check_time_budget,
    estimate_local_training,
)
from vectortrainer.local_model import (
    LoraSettings,
    check_model_dir,
    load_causal_lm,
    load_tokenizer,
    lora_config,
    pick_device,
)
from vectortrainer.jsonl import iter_jsonl_records
from vectortrainer.preference import parse_preference_record
from vectortrainer.runs import read_json_file, runs_root, write_json_atomic
from vectortrainer.trainers.base import (
    BaseTrainer,
    PreparedData,
    TrainingEvent,
    TrainingResult,
    TrainingStatus,
)

if TYPE_CHECKING:
    from vectortrainer.config import Config

Method = Literal["supervised", "dpo"]

DEFAULT_EPOCHS = 3
DEFAULT_BATCH_SIZE = 4
# LoRA learning rates (``learning_rate_multiplier`` scales them, like the vendor's).
BASE_LEARNING_RATE = {"supervised": 2e-4, "dpo": 5e-5}
DEFAULT_BETA = 0.1
# How many validation evaluations a run makes at most (each replays the whole validation set).
MAX_EVALUATIONS = 10
LOCAL_DIR = "local"
JOB_FILE = "job.json"
EVENTS_FILE = "events.jsonl"
INFO_FILE = "training_info.json"

# TRL log keys -> the metric names the OpenAI trainer reports (and dashboards plot).
_METRIC_NAMES = {
    "loss": "train_loss",
    "eval_loss": "valid_loss",
    "mean_token_accuracy": "train_mean_token_accuracy",
    "eval_mean_token_accuracy": "valid_mean_token_accuracy",
    "learning_rate": "learning_rate",
    "rewards/accuracies": "train_reward_accuracy",
    "rewards/margins": "train_reward_margin",
    "eval_rewards/accuracies": "valid_reward_accuracy",
}


class LocalTrainingError(VectorTrainerError):
    """A local job could not be found or read."""


@dataclass
class _Job:
    """A job started in this process: its thread, cancel flag and event list."""

    job_id: str
    run_id: str
    directory: Path
    state: dict[str, Any]
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    events: list[TrainingEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    thread: threading.Thread | None = None


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
        self._jobs: dict[str, _Job] = {}
        self._tokenizer: Any = None
        self._estimates: dict[str, LocalEstimate] = {}

    @classmethod
    def from_config(cls, config: "Config", **overrides: Any) -> "LocalTrainer":
        """A trainer from the ``training`` and ``budget`` sections (``training.local_model`` is the model)."""
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

    # ----- hyperparameters ------------------------------------------------------
    def hyperparameters(self, n_examples: int) -> dict[str, Any]:
        """The resolved values this trainer uses for ``n_examples`` examples ("auto" filled in)."""
        multiplier = 1.0 if self.learning_rate_multiplier == "auto" else float(self.learning_rate_multiplier)
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
        """Validate ``path`` and render every example with the model's chat template.

        Supervised: ChatML ``{"messages": [...]}`` -> ``{"prompt", "completion"}``.
        DPO: OpenAI or TRL preference records -> ``{"prompt", "chosen", "rejected"}``.
        Rows already in that rendered form are passed through (a resumed run hands
        back the prepared file).
        """
        path = Path(path)
        records = list(iter_jsonl_records(path, what="training file"))
        tokenizer = self.tokenizer()
        rows = [self._convert_record(record, where, tokenizer) for record, where in records]
        if not rows:
            raise DataFormatError(f"{path}: no training examples in the file")
        first_record = records[0][0]
        if self.method == "supervised" and not (isinstance(first_record, dict) and "completion" in first_record):
            # The same chat rules the OpenAI trainer applies (one set of format rules for every trainer).
            from vectortrainer.chatml import validate_chat_jsonl

            validate_chat_jsonl(path).raise_if_invalid()
        return rows

    def _convert_record(self, record: Any, where: str, tokenizer: Any) -> dict[str, str]:
        if isinstance(record, dict) and isinstance(record.get("prompt"), str):
            keys = ("prompt", "completion") if self.method == "supervised" else ("prompt", "chosen", "rejected")
            if all(isinstance(record.get(k), str) for k in keys):
                return {k: record[k] for k in keys}
        if self.method == "supervised":
            if isinstance(record, dict) and "messages" not in record:
                raise DataFormatError(
                    f"{where}: expected a ChatML object {{\"messages\": [...]}} for supervised training "
                    "(preference records need training.method: dpo)"
                )
            example = held_out_from_record(record, where)
            return {
                "prompt": _render_prompt(tokenizer, example.messages),
                "completion": _render_reply(tokenizer, example.messages, example.expected),
            }
        preference = parse_preference_record(record, where)
        return {
            "prompt": _render_prompt(tokenizer, preference.messages),
            "chosen": _render_reply(tokenizer, preference.messages, preference.chosen),
            "rejected": _render_reply(tokenizer, preference.messages, preference.rejected),
        }

    def count_tokens(self, rows: list[dict[str, str]]) -> int:
        """Tokens one epoch trains on (DPO: the prompt with each of the two replies)."""
        tokenizer = self.tokenizer()

        def n(text: str) -> int:
            return min(len(tokenizer(text, add_special_tokens=False)["input_ids"]), self.max_length)

        if self.method == "supervised":
            return sum(n(r["prompt"] + r["completion"]) for r in rows)
        return sum(n(r["prompt"] + r["chosen"]) + n(r["prompt"] + r["rejected"]) for r in rows)

    def estimate(self, train_path: Path, validation_path: Path | None = None) -> LocalEstimate:
        """Tokens x epochs and the minutes they take here (a short calibration run); never raises for budget."""
        rows = self.convert_file(train_path)
        if validation_path is not None:
            self.convert_file(validation_path)  # fail now, not after training
        key = _sha256(Path(train_path))
        cached = self._estimates.get(key)
        if cached is not None:
            return cached
        hyper = self.hyperparameters(len(rows))
        calibration = None
        if self.calibrate:
            texts = _training_texts(rows, self.method)
            calibration = calibrate_throughput(
                self.model_path,
                self.tokenizer(),
                texts,
                device=pick_device(),
                batch_size=hyper["batch_size"],
                lora=self.lora,
                max_length=self.max_length,
            )
        estimate = estimate_local_training(
            model=str(self.model_path),
            method=self.method,
            n_examples=len(rows),
            tokens_per_epoch=self.count_tokens(rows),
            n_epochs=hyper["n_epochs"],
            batch_size=hyper["batch_size"],
            max_steps=self.max_steps,
            calibration=calibration,
            max_minutes=self.max_minutes,
        )
        self._estimates[key] = estimate
        return estimate

    def prepare_data(self, train_path: Path, validation_path: Path | None = None) -> PreparedData:
        """Validate and render the data, estimate the time, and refuse a run above ``max_minutes``.

        The returned paths are the source files themselves: ``start_training`` renders
        them again (cheap) and keeps the rendered rows in the job directory, so a
        resumed pipeline, which rebuilds ``PreparedData`` from its files, trains on
        exactly the same data.
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
        """Start a background job on ``prepared`` (prepared or raw files both work); return its id."""
        rows = self.convert_file(prepared.train_path)
        validation_source = prepared.validation_path
        held_out: list[HeldOutExample] = []
        validation_rows: list[dict[str, str]] | None = None
        if validation_source is not None:
            validation_rows = self.convert_file(validation_source)
            held_out = _held_out_examples(Path(validation_source), self.method)
        job_id = f"localjob-{uuid.uuid4().hex[:12]}"
        directory = runs_root(self.output_dir) / run_id / LOCAL_DIR / job_id
        directory.mkdir(parents=True, exist_ok=True)
        _write_jsonl_atomic(directory / "train.rendered.jsonl", rows)
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
            "data_sha256": _sha256(Path(prepared.train_path)),
            "rendered_data_sha256": _sha256(directory / "train.rendered.jsonl"),
            "n_examples": len(rows),
            "adapter_dir": None,
            "merged_dir": None,
            "trained_tokens": None,
            "metrics": {},
            "error": None,
        }
        job = _Job(job_id=job_id, run_id=run_id, directory=directory, state=state)
        self._jobs[job_id] = job
        self._save_state(job)
        self._emit(job, TrainingEvent(kind="status", message=f"job {job_id} queued ({len(rows)} examples)"))
        job.thread = threading.Thread(
            target=self._run_job,
            args=(job, rows, validation_rows, held_out),
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
        directory = runs_root(self.output_dir) / run_id / LOCAL_DIR
        succeeded = []
        for job_file in directory.glob(f"*/{JOB_FILE}"):
            state = read_json_file(job_file)
            if state.get("run_id") == run_id and state.get("status") == TrainingStatus.SUCCEEDED.value:
                succeeded.append((state.get("created_at") or 0, state["job_id"]))
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
                raise LocalTrainingError(f"job {job_id} is not running in this process; nothing to cancel")
            return
        job.cancel_requested.set()
        self._emit(job, TrainingEvent(kind="log", message="cancellation requested"))

    def events(self, job_id: str, after: str | None = None) -> Iterator[TrainingEvent]:
        job = self._jobs.get(job_id)
        if job is not None:
            with job.lock:
                events = list(job.events)
        else:
            events = self._read_events(job_id)
        after_seq = _event_seq(after)
        return iter([e for e in events if _event_seq(e.id) > after_seq])

    def wait(self, job_id: str, timeout: float | None = None) -> TrainingResult:
        """Block until the job ends (tests, the bench, scripts); return its result."""
        job = self._jobs.get(job_id)
        if job is not None and job.thread is not None:
            job.thread.join(timeout)
        return self.get_result(job_id)

    # ----- the job thread --------------------------------------------------------
    def _run_job(
        self,
        job: _Job,
        rows: list[dict[str, str]],
        validation_rows: list[dict[str, str]] | None,
        held_out: list[HeldOutExample],
    ) -> None:
        try:
            if job.cancel_requested.is_set():
                self._finish(job, TrainingStatus.CANCELLED, "cancelled before training started")
                return
            self._set_status(job, TrainingStatus.RUNNING)
            trainer, device = self._build_trl_trainer(job, rows, validation_rows)
            self._emit(job, TrainingEvent(kind="log", message=f"training on {device.description}"))
            started = time.perf_counter()
            trainer.train()
            runtime = time.perf_counter() - started
            if job.cancel_requested.is_set():
                self._finish(job, TrainingStatus.CANCELLED, f"cancelled at step {trainer.state.global_step}")
                return
            self._save_outputs(job, trainer, device, runtime, held_out)
            self._finish(job, TrainingStatus.SUCCEEDED, f"adapter saved to {job.state['adapter_dir']}")
        except Exception as exc:  # the thread must record every failure, never die silently
            message = f"{type(exc).__name__}: {exc}"
            job.state["error"] = message
            (job.directory / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
            self._finish(job, TrainingStatus.FAILED, f"training failed: {message}")

    def _build_trl_trainer(
        self, job: _Job, rows: list[dict[str, str]], validation_rows: list[dict[str, str]] | None
    ) -> tuple[Any, Any]:
        from datasets import Dataset
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()
        device = pick_device()
        tokenizer = load_tokenizer(self.model_path)
        model = load_causal_lm(self.model_path, device)
        hyper = job.state["hyperparameters"]
        steps_per_epoch = math.ceil(len(rows) / hyper["batch_size"])
        total_steps = self.max_steps or steps_per_epoch * hyper["n_epochs"]
        common: dict[str, Any] = dict(
            output_dir=str(job.directory / "trainer"),
            num_train_epochs=hyper["n_epochs"],
            max_steps=self.max_steps or -1,
            per_device_train_batch_size=hyper["batch_size"],
            per_device_eval_batch_size=hyper["batch_size"],
            learning_rate=hyper["learning_rate"],
            logging_steps=1,
            save_strategy="no",
            report_to=[],
            disable_tqdm=True,
            use_cpu=device.kind == "cpu",
            bf16=device.bf16,
            seed=self.seed if self.seed is not None else 42,
            max_length=self.max_length,
        )
        common.update(_no_checkpointing())
        if validation_rows:
            common.update(eval_strategy="steps", eval_steps=max(1, total_steps // MAX_EVALUATIONS))
        train_dataset = Dataset.from_list(rows)
        eval_dataset = Dataset.from_list(validation_rows) if validation_rows else None
        callback = _job_callback(self, job)
        peft_config = lora_config(model.config.model_type, self.lora)
        if self.method == "dpo":
            from trl import DPOConfig, DPOTrainer

            args = DPOConfig(beta=hyper["beta"], **common)
            trainer = DPOTrainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                                 processing_class=tokenizer, peft_config=peft_config, callbacks=[callback])
        else:
            from trl import SFTConfig, SFTTrainer

            args = SFTConfig(completion_only_loss=True, **common)
            trainer = SFTTrainer(model=model, args=args, train_dataset=train_dataset, eval_dataset=eval_dataset,
                                 processing_class=tokenizer, peft_config=peft_config, callbacks=[callback])
        from transformers import PrinterCallback

        # Its print() of every log dict would pollute stdout, which --batch keeps for JSON.
        trainer.remove_callback(PrinterCallback)
        return trainer, device

    def _save_outputs(self, job: _Job, trainer: Any, device: Any, runtime: float,
                      held_out: list[HeldOutExample]) -> None:
        import peft
        import torch
        import transformers
        import trl

        adapter_dir = job.directory / "adapter"
        trainer.model.save_pretrained(str(adapter_dir))
        trainer.processing_class.save_pretrained(str(adapter_dir))
        metrics = _final_metrics(trainer.state.log_history)
        metrics["train_runtime_s"] = runtime
        trained_tokens = _trained_tokens(trainer.state.log_history)
        if held_out and self.evaluate:
            report = evaluate_model(trainer.model, trainer.processing_class, held_out, device=device.kind,
                                    max_new_tokens=self.eval_max_new_tokens)
            write_json_atomic(job.directory / "evaluation.json", report.to_dict())
            metrics["eval_similarity"] = report.mean_similarity
            if report.base_mean_similarity is not None:
                metrics["base_eval_similarity"] = report.base_mean_similarity
            base_text = "" if report.base_mean_similarity is None else f" (base model {report.base_mean_similarity:.3f})"
            self._emit(job, TrainingEvent(
                kind="log",
                message=f"held-out edit similarity {report.mean_similarity:.3f}{base_text} on {report.n_examples} examples",
            ))
        info = {
            "base_model": str(self.model_path),
            "base_model_config_sha256": _sha256(self.model_path / "config.json"),
            "method": self.method,
            "data_sha256": job.state["data_sha256"],
            "rendered_data_sha256": job.state["rendered_data_sha256"],
            "train_file": job.state["train_file"],
            "validation_file": job.state["validation_file"],
            "n_examples": job.state["n_examples"],
            "hyperparameters": job.state["hyperparameters"],
            "steps": trainer.state.global_step,
            "trained_tokens": trained_tokens,
            "device": device.description,
            "metrics": metrics,
            "job_id": job.job_id,
            "run_id": job.run_id,
            "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                         "peft": peft.__version__, "trl": trl.__version__},
            "created_at": time.time(),
        }
        write_json_atomic(adapter_dir / INFO_FILE, info)
        job.state["adapter_dir"] = str(adapter_dir)
        if self.merge:
            merged_dir = job.directory / "merged"
            merged = trainer.model.merge_and_unload()
            merged.save_pretrained(str(merged_dir))
            trainer.processing_class.save_pretrained(str(merged_dir))
            job.state["merged_dir"] = str(merged_dir)
        job.state["metrics"] = metrics
        job.state["trained_tokens"] = trained_tokens

    # ----- state and events ------------------------------------------------------
    def _emit(self, job: _Job, event: TrainingEvent) -> None:
        with job.lock:
            event.id = f"ev-{len(job.events) + 1:06d}"
            event.created_at = event.created_at or time.time()
            job.events.append(event)
            with (job.directory / EVENTS_FILE).open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(_event_to_dict(event)) + "\n")

    def _set_status(self, job: _Job, status: TrainingStatus) -> None:
        job.state["status"] = status.value
        self._save_state(job)
        self._emit(job, TrainingEvent(kind="status", message=f"job {job.job_id} {status.value}"))

    def _finish(self, job: _Job, status: TrainingStatus, message: str) -> None:
        job.state["finished_at"] = time.time()
        self._emit(job, TrainingEvent(kind="log", message=message))
        self._set_status(job, status)

    def _save_state(self, job: _Job) -> None:
        write_json_atomic(job.directory / JOB_FILE, job.state)

    def _state(self, job_id: str) -> dict[str, Any]:
        job = self._jobs.get(job_id)
        if job is not None:
            return job.state
        job_file = self._job_dir(job_id) / JOB_FILE
        state = read_json_file(job_file)
        if not TrainingStatus(state["status"]).is_terminal:
            # Its thread belonged to a process that has ended.
            state = {**state, "status": TrainingStatus.FAILED.value,
                     "error": "the process running this job ended before it finished; start the run again"}
        return state

    def _job_dir(self, job_id: str) -> Path:
        matches = list(runs_root(self.output_dir).glob(f"*/{LOCAL_DIR}/{job_id}"))
        if not matches:
            raise LocalTrainingError(f"local job {job_id} not found under {runs_root(self.output_dir)}")
        return matches[0]

    def _read_events(self, job_id: str) -> list[TrainingEvent]:
        path = self._job_dir(job_id) / EVENTS_FILE
        if not path.exists():
            return []
        events = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                events.append(TrainingEvent(**json.loads(line)))
        return events

    def _on_log(self, job: _Job, step: int, logs: dict[str, Any], total_steps: int = 0) -> None:
        if "train_runtime" in logs:  # the closing summary, not a step
            return
        metrics = {_METRIC_NAMES[k]: float(v) for k, v in logs.items()
                   if k in _METRIC_NAMES and isinstance(v, (int, float))}
        if not metrics:
            return
        text = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "learning_rate")
        # "step 12/30" as vendors write it: the pipeline's progress bar takes its total (and ETA) from it.
        where = f"step {step}/{total_steps}" if total_steps > 0 else f"step {step}"
        self._emit(job, TrainingEvent(kind="metric", step=step, metrics=metrics, message=f"{where}: {text}"))


@functools.cache
def _callback_class() -> type:
    from transformers import TrainerCallback

    class JobCallback(TrainerCallback):
        """Forwards TRL's logs as metric events and stops at the next step when cancelled."""

        def __init__(self, owner: LocalTrainer, job: _Job) -> None:
            self.owner = owner
            self.job = job

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kw: Any) -> None:
            if logs:
                self.owner._on_log(self.job, int(state.global_step), logs, int(state.max_steps or 0))

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.job.cancel_requested.is_set():
                control.should_training_stop = True

    return JobCallback


def _job_callback(owner: LocalTrainer, job: _Job) -> Any:
    """A ``TrainerCallback`` for ``job`` (transformers is imported only when a job runs)."""
    return _callback_class()(owner, job)


# ----- helpers --------------------------------------------------------------------
def _no_checkpointing() -> dict[str, bool]:
    """Activation checkpointing off (small LoRA runs), by the name this transformers uses."""
    from transformers import TrainingArguments

    names = TrainingArguments.__dataclass_fields__
    return {"activation_checkpointing": False} if "activation_checkpointing" in names else {"gradient_checkpointing": False}


def _render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def _render_reply(tokenizer: Any, messages: list[dict[str, str]], reply: str) -> str:
    """The text the template puts after the generation prompt for ``reply``, ending with eos."""
    prompt = _render_prompt(tokenizer, messages)
    full = tokenizer.apply_chat_template(
        [*messages, {"role": "assistant", "content": reply}], tokenize=False
    )
    # Templates render the reply after the generation prompt; when one does not (e.g. it
    # rewrites earlier turns), fall back to the bare reply.
    completion = full[len(prompt):] if full.startswith(prompt) else reply
    completion = completion.rstrip()
    if not completion.endswith(tokenizer.eos_token):
        completion += tokenizer.eos_token
    return completion


def _training_texts(rows: list[dict[str, str]], method: str) -> list[str]:
    if method == "supervised":
        return [r["prompt"] + r["completion"] for r in rows]
    return [r["prompt"] + r[k] for r in rows for k in ("chosen", "rejected")]


def _held_out_examples(path: Path, method: str) -> list[HeldOutExample]:
    """Held-out conversations from a raw validation file (a prepared one has no messages to replay)."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        if isinstance(record, dict) and isinstance(record.get("prompt"), str):
            return []
        examples.append(held_out_from_record(record, f"{path}:{number}"))
    return examples


def _final_metrics(log_history: list[dict[str, Any]]) -> dict[str, float]:
    """The last value of each step metric (and the run's mean train loss)."""
    metrics: dict[str, float] = {}
    for entry in log_history:
        if "train_runtime" in entry:
            if isinstance(entry.get("train_loss"), (int, float)):
                metrics["mean_train_loss"] = float(entry["train_loss"])
            continue
        for key, value in entry.items():
            if key in _METRIC_NAMES and key != "learning_rate" and isinstance(value, (int, float)):
                metrics[_METRIC_NAMES[key]] = float(value)
    return metrics


def _trained_tokens(log_history: list[dict[str, Any]]) -> int | None:
    counts = [e["num_tokens"] for e in log_history if isinstance(e.get("num_tokens"), (int, float))]
    return int(max(counts)) if counts else None


def _event_seq(event_id: str | None) -> int:
    if not event_id or not event_id.startswith("ev-"):
        return 0
    try:
        return int(event_id[3:])
    except ValueError:
        return 0


def _event_to_dict(event: TrainingEvent) -> dict[str, Any]:
    return {"kind": event.kind, "message": event.message, "step": event.step, "metrics": event.metrics,
            "created_at": event.created_at, "id": event.id}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_jsonl_atomic(path: Path, rows: list[dict[str, str]]) -> None:
    from vectortrainer.runs import write_atomic

    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))

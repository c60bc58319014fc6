"""One local training run with TRL, in the job's thread: LoRA SFT or DPO, metrics as events, saved
adapter.

:func:`run_job` is the thread's body: it builds TRL's trainer, trains, saves the
adapter (with ``training_info.json``: base model, data hashes, hyperparameters),
optionally merges it, replays held-out examples, and records every outcome in the
job, failures included. TRL's logs become metric events under the names the
OpenAI trainer reports, with the step total for the progress bar.
"""

from __future__ import annotations

import functools
import math
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vectortrainer.json_types import JSONObject
from vectortrainer.runs.directory import write_json_atomic
from vectortrainer.training.base import TrainingEvent, TrainingStatus
from vectortrainer.training.local.evaluation import HeldOutExample, evaluate_model
from vectortrainer.training.local.jobs import LocalJob
from vectortrainer.training.local.model import (
    LoraSettings,
    load_causal_lm,
    load_tokenizer,
    lora_config,
    model_fingerprint,
    pick_device,
)

if TYPE_CHECKING:
    from transformers import Trainer  # seconds to import: only a local run needs it

INFO_FILE = "training_info.json"
# How many validation evaluations a run makes at most (each replays the whole validation set).
MAX_EVALUATIONS = 10

# TRL log keys -> the metric names the OpenAI trainer reports (and dashboards plot).
METRIC_NAMES = {
    "loss": "train_loss",
    "eval_loss": "valid_loss",
    "mean_token_accuracy": "train_mean_token_accuracy",
    "eval_mean_token_accuracy": "valid_mean_token_accuracy",
    "learning_rate": "learning_rate",
    "rewards/accuracies": "train_reward_accuracy",
    "rewards/margins": "train_reward_margin",
    "eval_rewards/accuracies": "valid_reward_accuracy",
}


@dataclass(frozen=True)
class RunSettings:
    """What a run needs of its trainer's settings."""

    model_path: Path
    method: str
    max_steps: int | None
    max_length: int
    seed: int | None
    lora: LoraSettings
    merge: bool
    evaluate: bool
    eval_max_new_tokens: int
    model_name: str = ""  # training.local_model as written ("smollm2" or a path)


def run_job(
    settings: RunSettings,
    job: LocalJob,
    rows: list[dict[str, str]],
    validation_rows: list[dict[str, str]] | None,
    held_out: list[HeldOutExample],
) -> None:
    """Train ``job`` to its end; every failure is recorded in the job, never raised from the
    thread."""
    try:
        if job.cancel_requested.is_set():
            job.finish(TrainingStatus.CANCELLED, "cancelled before training started")
            return
        job.set_status(TrainingStatus.RUNNING)
        trainer, device = _build_trl_trainer(settings, job, rows, validation_rows)
        job.emit(TrainingEvent(kind="log", message=f"training on {device.description}"))
        started = time.perf_counter()
        trainer.train()
        runtime = time.perf_counter() - started
        if job.cancel_requested.is_set():
            job.finish(TrainingStatus.CANCELLED, f"cancelled at step {trainer.state.global_step}")
            return
        _save_outputs(settings, job, trainer, device, runtime, held_out)
        job.finish(TrainingStatus.SUCCEEDED, f"adapter saved to {job.state['adapter_dir']}")
    except Exception as exc:  # the thread must record every failure, never die silently
        message = f"{type(exc).__name__}: {exc}"
        job.state["error"] = message
        (job.directory / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        job.finish(TrainingStatus.FAILED, f"training failed: {message}")


def metric_event(step: int, logs: JSONObject, total_steps: int = 0) -> TrainingEvent | None:
    """TRL's log of one step as a metric event (None for the closing summary or a log without
    metrics)."""
    if "train_runtime" in logs:  # the closing summary, not a step
        return None
    metrics = {METRIC_NAMES[k]: float(v) for k, v in logs.items()
               if k in METRIC_NAMES and isinstance(v, (int, float))}
    if not metrics:
        return None
    text = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items() if k != "learning_rate")
    where = f"step {step}/{total_steps}" if total_steps > 0 else f"step {step}"
    return TrainingEvent(kind="metric", step=step, metrics=metrics, message=f"{where}: {text}",
                         total_steps=total_steps or None)


def _build_trl_trainer(
    settings: RunSettings,
    job: LocalJob,
    rows: list[dict[str, str]],
    validation_rows: list[dict[str, str]] | None,
) -> tuple[Any, Any]:
    # datasets and TRL pull in torch and transformers (seconds, GBs): only a run needs them.
    from datasets import Dataset
    from datasets.utils.logging import disable_progress_bar

    disable_progress_bar()
    device = pick_device()
    tokenizer = load_tokenizer(settings.model_path)
    model = load_causal_lm(settings.model_path, device)
    hyper = job.state["hyperparameters"]
    steps_per_epoch = math.ceil(len(rows) / hyper["batch_size"])
    total_steps = settings.max_steps or steps_per_epoch * hyper["n_epochs"]
    common: JSONObject = dict(
        output_dir=str(job.directory / "trainer"),
        num_train_epochs=hyper["n_epochs"],
        max_steps=settings.max_steps or -1,
        per_device_train_batch_size=hyper["batch_size"],
        per_device_eval_batch_size=hyper["batch_size"],
        learning_rate=hyper["learning_rate"],
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=device.kind == "cpu",
        bf16=device.bf16,
        seed=settings.seed if settings.seed is not None else 42,
        max_length=settings.max_length,
    )
    common.update(_no_checkpointing())
    if validation_rows:
        common.update(eval_strategy="steps", eval_steps=max(1, total_steps // MAX_EVALUATIONS))
    train_dataset = Dataset.from_list(rows)
    eval_dataset = Dataset.from_list(validation_rows) if validation_rows else None
    callback = _callback_class()(job)
    peft_config = lora_config(model.config.model_type, settings.lora)
    data: JSONObject = dict(train_dataset=train_dataset, eval_dataset=eval_dataset,
                                processing_class=tokenizer, peft_config=peft_config,
                                callbacks=[callback])
    if settings.method == "dpo":
        from trl import DPOConfig, DPOTrainer

        trainer: Trainer = DPOTrainer(
            model=model, args=DPOConfig(beta=hyper["beta"], **common), **data
        )
    else:
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(
            model=model, args=SFTConfig(completion_only_loss=True, **common), **data
        )
    from transformers import PrinterCallback

    # Its print() of every log dict would pollute stdout, which --batch keeps for JSON.
    trainer.remove_callback(PrinterCallback)
    return trainer, device


def _save_outputs(settings: RunSettings, job: LocalJob, trainer: Any, device: Any, runtime: float,
                  held_out: list[HeldOutExample]) -> None:
    # Imported for their version numbers (already loaded by the run itself).
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
    if held_out and settings.evaluate:
        report = evaluate_model(
            trainer.model,
            trainer.processing_class,
            held_out,
            device=device.kind,
            max_new_tokens=settings.eval_max_new_tokens,
        )
        write_json_atomic(job.directory / "evaluation.json", report.to_dict())
        metrics["eval_similarity"] = report.mean_similarity
        if report.base_mean_similarity is not None:
            metrics["base_eval_similarity"] = report.base_mean_similarity
        base_text = (
            ""
            if report.base_mean_similarity is None
            else f" (base model {report.base_mean_similarity:.3f})"
        )
        job.emit(
            TrainingEvent(
                kind="log",
                message=(
                    f"held-out edit similarity {report.mean_similarity:.3f}{base_text} "
                    f"on {report.n_examples} examples"
                ),
            )
        )
    info = {
        "base_model": str(settings.model_path),
        "base_model_name": settings.model_name,  # as configured: "smollm2" or a path
        "base_model_config_sha256": model_fingerprint(settings.model_path),
        "method": settings.method,
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
    if settings.merge:
        merged_dir = job.directory / "merged"
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(str(merged_dir))
        trainer.processing_class.save_pretrained(str(merged_dir))
        job.state["merged_dir"] = str(merged_dir)
    job.state["metrics"] = metrics
    job.state["trained_tokens"] = trained_tokens


@functools.cache
def _callback_class() -> type:
    # transformers is imported only when a job runs (seconds, GBs).
    from transformers import TrainerCallback

    class JobCallback(TrainerCallback):
        """Forwards TRL's logs as metric events and stops at the next step when cancelled."""

        def __init__(self, job: LocalJob) -> None:
            self.job = job

        def on_log(
            self, args: Any, state: Any, control: Any, logs: JSONObject | None = None, **_: Any
        ) -> None:
            event = metric_event(int(state.global_step), logs or {}, int(state.max_steps or 0))
            if event is not None:
                self.job.emit(event)

        def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if self.job.cancel_requested.is_set():
                control.should_training_stop = True

    return JobCallback


def _no_checkpointing() -> dict[str, bool]:
    """Activation checkpointing off (small LoRA runs), by the name this transformers uses."""
    from transformers import TrainingArguments  # heavy; already loaded by the run

    names = TrainingArguments.__dataclass_fields__
    return (
        {"activation_checkpointing": False}
        if "activation_checkpointing" in names
        else {"gradient_checkpointing": False}
    )


def _final_metrics(log_history: list[JSONObject]) -> dict[str, float]:
    """The last value of each step metric (and the run's mean train loss)."""
    metrics: dict[str, float] = {}
    for entry in log_history:
        if "train_runtime" in entry:
            if isinstance(entry.get("train_loss"), (int, float)):
                metrics["mean_train_loss"] = float(entry["train_loss"])
            continue
        for key, value in entry.items():
            if key in METRIC_NAMES and key != "learning_rate" and isinstance(value, (int, float)):
                metrics[METRIC_NAMES[key]] = float(value)
    return metrics


def _trained_tokens(log_history: list[JSONObject]) -> int | None:
    counts = [e["num_tokens"] for e in log_history if isinstance(e.get("num_tokens"), (int, float))]
    return int(max(counts)) if counts else None

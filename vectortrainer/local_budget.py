"""Time budget for local training: tokens x epochs, and minutes measured on this hardware.

A local run costs time, not dollars. ``calibrate_throughput`` times a couple of
real LoRA optimiser steps of the model on batches of the prepared data (after one
warm-up step) and gives tokens per second; ``estimate_local_training`` turns
tokens x epochs into minutes with it; ``check_time_budget`` refuses a run above
``budget.max_minutes`` with ``TimeBudgetExceededError`` (exit code 3, like the
dollar guard's ``BudgetExceededError``) before training starts.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vectortrainer.errors import VectorTrainerError
from vectortrainer.local_model import DeviceInfo, LoraSettings, load_causal_lm, lora_config

# DPO forwards chosen and rejected (both counted in its tokens) and adds a
# reference forward pass without gradients: about a third of a training step.
DPO_TIME_FACTOR = 4.0 / 3.0


class TimeBudgetExceededError(VectorTrainerError):
    """The estimated local training time is over ``budget.max_minutes``; nothing was trained."""

    exit_code = 3

    def __init__(self, estimate: "LocalEstimate", max_minutes: float) -> None:
        self.estimate = estimate
        self.max_minutes = max_minutes
        super().__init__(
            f"estimated local training time {estimate.estimated_minutes:.1f} min exceeds the budget "
            f"{max_minutes:g} min ({estimate.total_tokens:,} tokens = {estimate.tokens_per_epoch:,} x "
            f"{estimate.n_epochs_trained:g} epochs at {estimate.tokens_per_second:,.0f} tokens/s on "
            f"{estimate.device}); nothing was trained. Raise budget.max_minutes, set training.max_steps, "
            "pick fewer examples or a smaller model"
        )


@dataclass(frozen=True)
class Calibration:
    """Measured training throughput of one model on one device."""

    tokens_per_second: float
    steps: int
    tokens: int
    seconds: float
    batch_size: int
    device: str


@dataclass(frozen=True)
class LocalEstimate:
    """What the budget step shows for a local run (the local counterpart of a cost estimate)."""

    model: str
    method: str
    n_examples: int
    tokens_per_epoch: int
    n_epochs: int
    n_epochs_trained: float  # fewer than n_epochs when training.max_steps stops earlier
    total_tokens: int
    tokens_per_second: float | None
    estimated_minutes: float | None
    device: str
    max_minutes: float | None = None
    estimated_usd: float = 0.0  # a local run pays no vendor

    @property
    def within_budget(self) -> bool:
        if self.max_minutes is None or self.estimated_minutes is None:
            return True
        return self.estimated_minutes <= self.max_minutes

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "local", **asdict(self), "within_budget": self.within_budget}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LocalEstimate":
        """The estimate ``to_dict`` wrote (``estimate.json`` of a resumed run)."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


def calibrate_throughput(
    model_path: Path,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    device: DeviceInfo,
    batch_size: int,
    lora: LoraSettings,
    max_length: int = 1024,
    steps: int = 3,
    learning_rate: float = 1e-4,
) -> Calibration:
    """Median throughput of ``steps`` LoRA optimiser steps (after one warm-up step) on batches of ``texts``.

    The model is loaded afresh and thrown away, so calibration never touches the
    weights that are then trained.
    """
    import torch
    from peft import get_peft_model

    if not texts:
        raise ValueError("calibration needs at least one text")
    base = load_causal_lm(model_path, device)
    model = get_peft_model(base, lora_config(base.config.model_type, lora))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate)
    batch_size = max(1, min(batch_size, len(texts)))

    def run_step(index: int) -> int:
        start = (index * batch_size) % len(texts)
        batch_texts = [texts[(start + i) % len(texts)] for i in range(batch_size)]
        batch = tokenizer(
            batch_texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length
        ).to(device.kind)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        loss = model(**batch, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return int(batch["attention_mask"].sum())

    run_step(0)  # warm-up: allocations, kernel selection
    _synchronize(device)
    # Per-step rates and their median: one step slowed by a busy machine does not skew it.
    rates, tokens, seconds = [], 0, 0.0
    for index in range(1, steps + 1):
        started = time.perf_counter()
        step_tokens = run_step(index)
        _synchronize(device)
        elapsed = max(time.perf_counter() - started, 1e-9)
        rates.append(step_tokens / elapsed)
        tokens += step_tokens
        seconds += elapsed
    del model, optimizer
    return Calibration(
        tokens_per_second=statistics.median(rates),
        steps=steps,
        tokens=tokens,
        seconds=seconds,
        batch_size=batch_size,
        device=device.description,
    )


def estimate_local_training(
    *,
    model: str,
    method: str,
    n_examples: int,
    tokens_per_epoch: int,
    n_epochs: int,
    batch_size: int,
    max_steps: int | None,
    calibration: Calibration | None,
    max_minutes: float | None = None,
) -> LocalEstimate:
    """Tokens x epochs (capped by ``max_steps``) and, with a calibration, the minutes they take."""
    steps_per_epoch = max(1, math.ceil(n_examples / max(1, batch_size)))
    epochs_trained = float(n_epochs)
    if max_steps is not None:
        epochs_trained = min(epochs_trained, max_steps / steps_per_epoch)
    total_tokens = int(round(tokens_per_epoch * epochs_trained))
    minutes = None
    throughput = None
    device = "not measured"
    if calibration is not None:
        throughput = calibration.tokens_per_second
        device = calibration.device
        factor = DPO_TIME_FACTOR if method == "dpo" else 1.0
        minutes = total_tokens * factor / throughput / 60.0
    return LocalEstimate(
        model=model,
        method=method,
        n_examples=n_examples,
        tokens_per_epoch=tokens_per_epoch,
        n_epochs=n_epochs,
        n_epochs_trained=epochs_trained,
        total_tokens=total_tokens,
        tokens_per_second=throughput,
        estimated_minutes=minutes,
        device=device,
        max_minutes=max_minutes,
    )


def check_time_budget(estimate: LocalEstimate, max_minutes: float | None) -> None:
    """Raise ``TimeBudgetExceededError`` when the estimate is over ``max_minutes`` (``None``: no guard)."""
    if max_minutes is None or estimate.estimated_minutes is None:
        return
    if estimate.estimated_minutes > max_minutes:
        raise TimeBudgetExceededError(estimate, max_minutes)


def _synchronize(device: DeviceInfo) -> None:
    if device.kind == "cuda":
        import torch

        torch.cuda.synchronize()

"""Training throughput measured on this machine, for a local run's minutes estimate.

A local run costs time, not dollars. ``calibrate_throughput`` times a couple of
real LoRA optimiser steps of the model on batches of the prepared data (after one
warm-up step) and gives tokens per second;
:func:`vectortrainer.budget.estimates.estimate_local_training` turns tokens x epochs
into minutes with it, and :func:`vectortrainer.budget.guards.check_time_budget`
refuses a run above ``budget.max_minutes`` before training starts.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vectortrainer.training.local.model import DeviceInfo, LoraSettings, load_causal_lm, lora_config


@dataclass(frozen=True)
class Calibration:
    """Measured training throughput of one model on one device."""

    tokens_per_second: float
    steps: int
    tokens: int
    seconds: float
    batch_size: int
    device: str


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
    """Median throughput of ``steps`` LoRA optimiser steps (after one warm-up step) on batches of
    ``texts``.

    The model is loaded afresh and thrown away, so calibration never touches the
    weights that are then trained.
    """
    import torch  # torch and its stack take seconds and GBs: only a local run needs them
    from peft import get_peft_model

    if not texts:
        raise ValueError("calibration needs at least one text")
    base = load_causal_lm(model_path, device)
    model = get_peft_model(base, lora_config(base.config.model_type, lora))
    model.train()
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=learning_rate
    )
    batch_size = max(1, min(batch_size, len(texts)))

    def run_step(index: int) -> int:
        start = (index * batch_size) % len(texts)
        batch_texts = [texts[(start + i) % len(texts)] for i in range(batch_size)]
        batch = tokenizer(
            batch_texts, return_tensors="pt", padding=True, truncation=True, max_length=max_length
        ).to(device.kind)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        # No KV cache, as TRL trains: building one made these steps several times slower.
        loss = model(**batch, labels=labels, use_cache=False).loss
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
    return Calibration(
        tokens_per_second=statistics.median(rates),
        steps=steps,
        tokens=tokens,
        seconds=seconds,
        batch_size=batch_size,
        device=device.description,
    )


def _synchronize(device: DeviceInfo) -> None:
    if device.kind == "cuda":
        import torch  # torch and its stack take seconds and GBs: only a local run needs them

        torch.cuda.synchronize()

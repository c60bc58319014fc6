"""What the trainer tests share: a small ChatML training file, and polling a job to its end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vectortrainer.training.base import BaseTrainer, TrainingStatus


def write_examples(path: Path, n: int, *, extra: list[dict[str, Any]] | None = None) -> Path:
    """``n`` ChatML support-ticket examples (then the ``extra`` records) as JSONL at ``path``."""
    lines: list[dict[str, Any]] = [
        {"messages": [{"role": "system", "content": "You classify support tickets."},
                      {"role": "user", "content": f"ticket {i}: my invoice is wrong"},
                      {"role": "assistant", "content": f"billing-{i}"}]}
        for i in range(n)
    ]
    lines.extend(extra or [])
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def run_to_end(trainer: BaseTrainer, job_id: str, limit: int = 60) -> TrainingStatus:
    """Poll ``job_id`` until it ends (at most ``limit`` polls); its final status."""
    for _ in range(limit):
        status = trainer.get_status(job_id)
        if status.is_terminal:
            return status
    raise AssertionError("job never finished")

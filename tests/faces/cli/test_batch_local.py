"""`--batch` with `trainer: local` end to end on the seeded demo store with a tiny local model (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.pipelines import demo_feedback, write_config
from tests.support.tiny_model import build_tiny_model
from vectortrainer.cli import main
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.events import read_events

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("method", ["supervised", "dpo"])
def test_batch_local_trains_from_the_demo_store(seeded_store: Path, tmp_path: Path, capsys, method: str) -> None:
    model = build_tiny_model(tmp_path / "tiny-model")
    config = write_config(
        tmp_path / "config.yaml", store=seeded_store, output_dir=tmp_path / "out",
        feedback=demo_feedback(tmp_path),
        selection={"function": "draft_reply", "top_k": 12},
        training={"trainer": "local", "method": method, "local_model": str(model), "max_steps": 4,
                  "n_epochs": 1, "validation_split": 0.2},
        budget={"max_budget_usd": None, "max_minutes": 30},
        # CPU generation: keep the replay short; so few held-out cases would be "not enough evidence"
        # under the default gate.min_cases (8): judge them, the model's lack of gain is the point here
        gate={"max_cases": 4, "max_reply_tokens": 16, "min_cases": 2},
    )

    code = main(["--batch", "--config", str(config), "--yes", "--json"])

    captured = capsys.readouterr()
    # A tiny random model learns nothing in 4 steps: the gate replays the held-out cases through the adapter
    # and through the base model on this machine, finds no gain, and keeps it out of service (exit 5).
    assert code == 5, captured.err
    report = json.loads(captured.out)
    assert report["status"] == "not_promoted" and "does not beat the base model" in report["message"]
    run = RunDirectory.open(tmp_path / "out", report["run_id"])
    assert all(run.state.stage(name).status == "complete"
               for name in ("extract", "estimate", "train", "evaluate", "summary"))
    gate = report["summary"]["gate"]
    assert gate["promoted"] is False and gate["inference_requests"] > 0 and gate["inference_usd"] == 0.0
    losses = [e for e in read_events(run.events_path) if e.get("type") == "metric" and "train_loss" in (e.get("metrics") or e)]
    assert losses, "no training loss reached events.jsonl"
    progress = [e for e in read_events(run.events_path) if e.get("type") == "progress" and e.get("stage") == "monitor"]
    assert progress and progress[-1]["total"] == 4  # max_steps: the bar knows its end (and so its ETA)
    adapter = Path(report["summary"]["training"]["fine_tuned_model"])
    assert (adapter / "adapter_config.json").exists()
    info = json.loads((adapter / "training_info.json").read_text())
    assert info["hyperparameters"]["method"] == method

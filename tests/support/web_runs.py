"""Fixture data for the web companion tests: run directories written through the real run APIs
(``RunDirectory``, ``JsonlEventSink``, ``build_summary``), planted log vectors, a hook version store."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vectortrainer.config import Config
from vectortrainer.hooks.template import render_hook
from vectortrainer.hooks.versions import HookVersionManager
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.runs.directory import GATE_FILE, GOLDEN_PICKS_FILE, RunDirectory
from vectortrainer.runs.monitor import JsonlEventSink
from vectortrainer.runs.status import STAGES, StageStatus
from vectortrainer.runs.summary import build_summary
from vectortrainer.store.records import FunctionLogs, LogRecord

FUNCTION = "classify_intent"
TRAIN_LOSS = [2.0, 1.6, 1.3, 1.1, 0.95, 0.9]
VALID_LOSS = {2: 1.7, 4: 1.2, 6: 1.0}


def finished_run(output_dir: Path, *, run_id: str = "20260101-120000-aaaaaa") -> RunDirectory:
    """A succeeded run: every stage complete, loss metrics per step, summary.json with an evaluation."""
    config = Config().with_overrides(**{"selection.function": FUNCTION, "selection.epsilon": 0.2,
                                        "selection.top_k": 6})
    run = RunDirectory.create(output_dir, config.redacted(), run_id=run_id, function=FUNCTION)
    sink = JsonlEventSink(run.events, progress_interval_s=0.0)
    sink.on_run_start(run.run_id)
    clock = run.state.created_at
    for index, name in enumerate(STAGES):
        stage = run.state.stage(name)
        stage.status, stage.started_at = StageStatus.COMPLETE, clock + index
        stage.finished_at, stage.duration_s = clock + index + 0.5, 0.5
        stage.detail = {"note": f"{name} done"}
        sink.on_stage_start(name, description=name)
        if name == "monitor":
            for step, loss in enumerate(TRAIN_LOSS, start=1):
                metrics = {"train_loss": loss}
                if step in VALID_LOSS:
                    metrics["valid_loss"] = VALID_LOSS[step]
                sink.on_metric(metrics, step=step, stage="monitor")
            # a resumed run replays the vendor's last event: the curve keeps one value per step
            sink.on_metric({"train_loss": TRAIN_LOSS[-1]}, step=len(TRAIN_LOSS), stage="monitor")
        sink.on_log(f"{name} finished", stage=name)
        sink.on_stage_complete(name, result=stage.detail, duration_s=0.5)
    run.state.stage("extract").detail = {"note": "6 examples",
                                        "golden": {"examples": 6, "per_strategy": {"steady": 4, "anomaly": 2}}}
    run.state.stage("synthesize").detail = {"rules": {"count": 3, "conflicts": 1}}
    run.state.stage("monitor").detail = {"status": "succeeded", "fine_tuned_model": "ft:tiny:vt",
                                         "metrics": {"train_loss": 0.9, "eval_similarity": 0.82,
                                                     "base_eval_similarity": 0.61}}
    run.state.stage("hook").detail = {"version_id": "v002", "active": True, "reason": "repairs 80.0% of the held-out "
                                      "distance", "gate": {"held_out": 4, "mean_repair": 0.8, "good_changed": []}}
    run.state.stage("evaluate").detail = {"promoted": True, "model_version": "m001", "reason": "beats the base model",
                                          "candidate_score": 0.91, "incumbent_score": 0.42,
                                          "incumbent": "base model tiny", "inference": {"requests": 8, "usd": 0.0012}}
    run.write_json(GATE_FILE, {"slices": {
        "steady": {"candidate": {"cases": 2, "score": 0.95}, "incumbent": {"cases": 2, "score": 0.4}},
        "feedback": {"candidate": {"cases": 2, "score": 0.87}, "incumbent": {"cases": 2, "score": 0.44}}},
        "outcome": "promote", "gain": 0.49, "gain_low": 0.41, "gain_high": 0.56, "confidence": 0.95, "cases": 4})
    run.state.status, run.state.fine_tuned_model = "succeeded", "ft:tiny:vt"
    run.save()
    summary = build_summary(run)
    run.write_json("summary.json", summary)
    sink.on_summary(summary)
    sink.on_run_end("succeeded", message="done")
    return run


# Picks the run "trained on": not what the selection makes on planted_logs() today, and one log since deleted.
RECORDED_PICKS = [
    {"uuid": "c0-3", "strategy": "steady", "rank": 0, "density": 0.9, "cluster": 0, "cluster_size": 8},
    {"uuid": "c1-5", "strategy": "steady", "rank": 1, "density": 0.9, "cluster": 1, "cluster_size": 8},
    {"uuid": "gone-7", "strategy": "steady", "rank": 2, "density": 0.8, "cluster": 2, "cluster_size": 8},
    {"uuid": "iso-1", "strategy": "anomaly", "rank": 0, "density": 0.0, "cluster": -1, "cluster_size": 1},
]


def record_picks(run: RunDirectory, picks: list[dict] | None = None) -> None:
    """Write the run's golden_picks.json as the pipeline's extract stage does."""
    run.write_json(GOLDEN_PICKS_FILE, RECORDED_PICKS if picks is None else picks)


def running_run(output_dir: Path, *, run_id: str = "20260102-120000-bbbbbb") -> tuple[RunDirectory, JsonlEventSink]:
    """A run in its extract stage, as another process sees it while the pipeline works."""
    run = RunDirectory.create(output_dir, Config().redacted(), run_id=run_id, function=FUNCTION)
    sink = JsonlEventSink(run.events, progress_interval_s=0.0)
    sink.on_run_start(run.run_id)
    stage = run.state.stage("extract")
    stage.status, stage.started_at = StageStatus.RUNNING, run.state.created_at
    run.save()
    sink.on_stage_start("extract", description="density-based golden data")
    sink.on_progress("extract", 3, 10, "reading logs")
    return run, sink


def damaged_run(output_dir: Path, *, run_id: str = "20260103-120000-cccccc") -> Path:
    """A run whose run.json was cut off mid-write, with readable events before it."""
    run = RunDirectory.create(output_dir, Config().redacted(), run_id=run_id, function=FUNCTION)
    sink = JsonlEventSink(run.events, progress_interval_s=0.0)
    sink.on_stage_start("extract", description="density-based golden data")
    sink.on_stage_complete("extract", result={"note": "5 examples"}, duration_s=1.25)
    sink.on_log("extract finished", stage="extract")
    with run.events_path.open("a", encoding="utf-8") as handle:
        handle.write("{not json}\n")
    (run.path / "run.json").write_text('{"run_id": "' + run_id + '", "stag', encoding="utf-8")
    return run.path


def planted_logs(seed: int = 7, dim: int = 16) -> FunctionLogs:
    """Three tight clusters, four isolated successes and two failures, as a log source returns them."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim, dtype=np.float32)[:3]
    vectors, records = [], []
    for c, centre in enumerate(centres):
        for i in range(8):
            vectors.append(centre + rng.normal(0, 0.02, dim).astype(np.float32))
            records.append(_record(f"c{c}-{i}", "SUCCESS", {"message": f"cluster {c} message {i}"}, f"intent-{c}"))
    for i in range(4):
        vectors.append(np.eye(dim, dtype=np.float32)[4 + i * 2] + np.eye(dim, dtype=np.float32)[5 + i * 2])
        records.append(_record(f"iso-{i}", "ANOMALY" if i == 0 else "SUCCESS", {"message": f"odd one {i}"},
                               {"intent": f"new-{i}"}))
    for i in range(2):
        vectors.append(rng.normal(0, 1, dim).astype(np.float32))
        records.append(LogRecord(uuid=f"err-{i}", function_name=FUNCTION, status="ERROR",
                                 inputs={"message": f"broken {i}"}, error_message=f"ValueError: bad {i}"))
    return FunctionLogs(FUNCTION, records, np.vstack(vectors).astype(np.float32), skipped={"no vector": 1},
                        total=len(records) + 1)


def _record(uuid: str, status: str, inputs: dict, output: object) -> LogRecord:
    return LogRecord(uuid=uuid, function_name=FUNCTION, status=status, inputs=inputs, output=output)


def hook_source(prefix: str) -> str:
    return render_hook(rules_document([Rule("strip_prefix", prefix)]))


def hook_store(hooks_dir: Path, function: str = FUNCTION) -> HookVersionManager:
    """Three saved versions of ``function``'s hook; v003 is active."""
    manager = HookVersionManager.for_function(hooks_dir, function)
    manager.save_version(hook_source("A: "), 1, note="first")
    manager.save_version(hook_source("B: "), 1, note="second")
    manager.save_version(hook_source("C: "), 1, note="third")
    return manager

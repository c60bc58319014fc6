"""TrainingPipeline end to end: a real seeded store, the real openai client, the loopback stand-in.

Crashes are simulated by raising at the exact point (from a monitor callback or
a trainer wrapper), then the run is resumed by a *fresh* pipeline object, as a
new process would; the stand-in's recorded requests prove nothing was paid twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import REPO_ROOT
from tests.support.pipelines import copy_run, demo_feedback, make_config
from vectortrainer.budget.estimates import CostEstimate
from vectortrainer.errors import RunDirectoryError
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.events import read_events
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.runs.status import STAGES, RunStatus
from vectortrainer.training.openai import OpenAITrainer

pytestmark = pytest.mark.slow


class SimulatedCrash(Exception):
    """Stands for the process dying at a chosen point."""


class CrashAt(PipelineMonitor):
    def __init__(self, stage: str, when: str = "complete") -> None:
        self.stage, self.when = stage, when

    def on_stage_start(self, stage, *, total=None, description=""):
        if self.when == "start" and stage == self.stage:
            raise SimulatedCrash(f"died as {stage} started")

    def on_stage_complete(self, stage, *, result=None, duration_s=None, skipped=False):
        if self.when == "complete" and stage == self.stage and not skipped:
            raise SimulatedCrash(f"died right after {stage}")


def _posts(standin, path):
    return len(standin.requests_to("POST", path))


def test_full_run_reaches_succeeded_with_metrics_in_the_event_log(seeded_store, standin_env, tmp_path):
    feedback = demo_feedback(tmp_path)
    config = make_config(tmp_path, seeded_store, standin_env.base_url, feedback=feedback)
    approved = []

    outcome = TrainingPipeline(config, confirm=lambda estimate: approved.append(estimate) or True).run()

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    run = RunDirectory.open(config.output_dir, outcome.run_id)
    assert run.state.status == RunStatus.SUCCEEDED
    assert all(run.state.stage(name).status == "complete" for name in STAGES)
    job = standin_env.jobs[run.state.job_id]
    assert job["status"] == "succeeded" and job["metadata"]["vectortrainer_run_id"] == outcome.run_id
    assert _posts(standin_env, "/v1/files") == 1 and _posts(standin_env, "/v1/fine_tuning/jobs") == 1

    events = read_events(run.events_path)
    losses = [e["metrics"]["train_loss"] for e in events if e["type"] == "metric"]
    assert len(losses) >= 3 and losses[-1] < losses[0]
    assert [e["stage"] for e in events if e["type"] == "stage_start"] == list(STAGES)

    golden_lines = run.golden_path.read_text().splitlines()
    assert all(json.loads(line)["messages"][-1]["role"] == "assistant" for line in golden_lines)
    summary = json.loads(run.summary_path.read_text())
    assert summary == outcome.summary.to_dict()
    assert summary["golden"]["examples"] == len(golden_lines) >= 10
    assert sum(summary["golden"]["per_strategy"].values()) == len(golden_lines)
    assert summary["rules"]["count"] >= 1 and summary["rules"]["feedback_pairs"] > 0
    assert isinstance(approved[0], CostEstimate)
    assert summary["cost"]["estimated_usd"] == pytest.approx(approved[0].estimated_usd)
    assert summary["training"]["fine_tuned_model"] == job["fine_tuned_model"]
    assert summary["training"]["final_loss"] == pytest.approx(losses[-1])
    assert summary["training"]["trained_tokens"] == job["trained_tokens"]
    rules = json.loads(run.rules_path.read_text())
    assert len(rules["rules"]) == summary["rules"]["count"]
    assert json.loads(run.estimate_path.read_text())["within_budget"] is True
    for path in run.path.iterdir():  # the key never reaches the run directory
        assert standin_env.api_key not in path.read_text(), path.name


def test_extract_records_the_golden_picks_as_logs_of_the_store(template, seeded_store):
    from tests.support.pipelines import FUNCTION
    from vectortrainer.golden.chatml import render_user, render_value
    from vectortrainer.runs.directory import GOLDEN_PICKS_FILE
    from vectortrainer.store.source import LogSource

    picks = json.loads((template / GOLDEN_PICKS_FILE).read_text())
    golden_lines = (template / "golden.jsonl").read_text().splitlines()
    assert len(picks) == len(golden_lines) >= 10
    assert all(set(pick) == {"uuid", "strategy", "rank", "density", "cluster", "cluster_size"} for pick in picks)
    per_strategy = RunDirectory.open(template.parent.parent, template.name).state.stage("extract").detail["golden"][
        "per_strategy"]
    assert {s: sum(p["strategy"] == s for p in picks) for s in ("steady", "anomaly")} == per_strategy
    logs = LogSource.open(seeded_store).read_function(FUNCTION)
    records = {record.uuid: record for record in logs.records}
    assert len({pick["uuid"] for pick in picks}) == len(picks)
    assert all(pick["uuid"] in records and records[pick["uuid"]].succeeded for pick in picks)
    # golden.jsonl line i is the log of pick i
    for line, pick in zip(golden_lines, picks):
        record = records[pick["uuid"]]
        user, assistant = json.loads(line)["messages"][1:]
        assert (user["content"], assistant["content"]) == (render_user(record.inputs), render_value(record.output))


def test_crash_right_after_upload_resumes_without_a_second_upload(template, standin_env, tmp_path):
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)

    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, monitor=CrashAt("upload"), confirm=lambda e: True).resume(run_id)
    crashed = RunDirectory.open(config.output_dir, run_id)
    assert crashed.state.train_file_id and crashed.state.status == "failed"
    requests_before = len(standin_env.requests)

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert _posts(standin_env, "/v1/files") == 1
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 1
    assert not standin_env.requests_to("GET", "/v1/files")[1:]  # the resume did not even look for the file
    assert len(standin_env.requests) > requests_before


def test_crash_during_upload_before_the_file_id_was_saved_finds_the_file(template, standin_env, tmp_path):
    class DiesAfterUploading(OpenAITrainer):
        def prepare_data(self, *args, **kwargs):
            super().prepare_data(*args, **kwargs)
            raise SimulatedCrash("died before saving the file id")

    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)
    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, trainer=DiesAfterUploading.from_config(config), confirm=lambda e: True).resume(run_id)
    assert RunDirectory.open(config.output_dir, run_id).state.train_file_id is None
    assert _posts(standin_env, "/v1/files") == 1

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert _posts(standin_env, "/v1/files") == 1
    assert RunDirectory.open(config.output_dir, run_id).state.train_file_id == next(iter(standin_env.files))


def test_crash_after_job_creation_before_its_id_was_saved_finds_the_job(template, standin_env, tmp_path):
    class DiesAfterCreatingTheJob(OpenAITrainer):
        def start_training(self, prepared, *, run_id, reuse_existing=True):
            super().start_training(prepared, run_id=run_id, reuse_existing=reuse_existing)
            raise SimulatedCrash("died before saving the job id")

    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)
    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, trainer=DiesAfterCreatingTheJob.from_config(config),
                         confirm=lambda e: True).resume(run_id)
    assert RunDirectory.open(config.output_dir, run_id).state.job_id is None
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 1

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 1
    assert _posts(standin_env, "/v1/files") == 1
    run = RunDirectory.open(config.output_dir, run_id)
    assert run.state.job_id == next(iter(standin_env.jobs))
    logs = [e["message"] for e in read_events(run.events_path) if e["type"] == "log"]
    assert any("found job" in message for message in logs)


def test_crash_while_following_the_job_reattaches_to_it(template, standin_env, tmp_path):
    class DiesOnFirstMetric(PipelineMonitor):
        def on_metric(self, metrics, *, step=None, stage=None):
            raise SimulatedCrash("died while polling")

    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)
    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, monitor=DiesOnFirstMetric(), confirm=lambda e: True).resume(run_id)

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 1
    steps = [e["step"] for e in read_events(outcome.run_dir / "events.jsonl") if e["type"] == "metric"]
    # Every step is logged; only the event the crash interrupted may appear twice (at-least-once).
    assert sorted(set(steps)) == list(range(1, max(steps) + 1))
    assert len(steps) - len(set(steps)) <= 1


def test_budget_exceeded_stops_before_any_request(template, standin_env, tmp_path):
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url,
                         budget={"max_budget_usd": 0.000001})
    run_id = copy_run(template, config.output_dir)
    run = RunDirectory.open(config.output_dir, run_id)
    run.state.stage("estimate").status = "pending"  # as if the run had stopped before estimating
    run.save()

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.BUDGET_EXCEEDED
    assert "exceeds the budget" in outcome.message and "nothing was uploaded" in outcome.message
    assert outcome.estimate["within_budget"] is False and outcome.estimate["budget_usd"] == 0.000001
    assert standin_env.requests == []

    raised = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url, budget={"max_budget_usd": 5})
    assert TrainingPipeline(raised, confirm=lambda e: True).resume(run_id).status == RunStatus.SUCCEEDED
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 1


def test_a_missing_api_key_stops_a_resumed_run_before_any_work_and_it_resumes_later(template, openai_standin,
                                                                                   tmp_path, monkeypatch):
    """VT-18: the key is checked before the run goes on (it was checked only at the upload, after the
    estimate and the confirmation); the run stops resumable, and resumes once the key is set."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = make_config(tmp_path, tmp_path / "unused-store", openai_standin.base_url)
    run_id = copy_run(template, config.output_dir)
    before = {name: RunDirectory.open(config.output_dir, run_id).state.stage(name).status for name in STAGES}
    asked = []

    no_key = TrainingPipeline(config, confirm=lambda e: asked.append(e) or True).resume(run_id)
    assert no_key.status == RunStatus.NEEDS_CREDENTIALS
    assert "OPENAI_API_KEY" in no_key.message and f"--resume {run_id}" in no_key.message
    assert asked == [] and openai_standin.requests == []  # not even the cost was asked again
    after = RunDirectory.open(config.output_dir, run_id).state
    assert {name: after.stage(name).status for name in STAGES} == before

    monkeypatch.setenv("OPENAI_API_KEY", openai_standin.api_key)
    declined = TrainingPipeline(config, confirm=lambda e: False).resume(run_id)
    assert declined.status == RunStatus.NOT_APPROVED and f"--resume {run_id}" in declined.message
    assert TrainingPipeline(config, confirm=lambda e: True).resume(run_id).status == RunStatus.SUCCEEDED


def test_failed_job_is_an_outcome_with_a_summary(template, standin_env, tmp_path):
    standin_env.fail_next_job(message="invalid training file")
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.TRAINING_FAILED
    assert "invalid training file" in outcome.message
    assert outcome.summary.training.status == "failed"
    failed = RunDirectory.open(config.output_dir, run_id)
    assert failed.state.status == RunStatus.TRAINING_FAILED
    assert TrainingPipeline(config).resume(run_id, retry_failed_training=False).status == RunStatus.TRAINING_FAILED
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 1

    retried = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)  # a new job, same file

    assert retried.status == RunStatus.SUCCEEDED, retried.message
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 2 and _posts(standin_env, "/v1/files") == 1
    assert RunDirectory.open(config.output_dir, run_id).state.job_id != failed.state.job_id


def test_rate_limits_and_server_errors_are_retried(template, standin_env, tmp_path):
    standin_env.inject_errors(429, 2, method="POST", path_prefix="/v1/fine_tuning/jobs")
    standin_env.inject_errors(500, 1, method="POST", path_prefix="/v1/files")
    standin_env.inject_errors(500, 1, method="GET", path_prefix="/v1/fine_tuning/jobs/")
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 3  # two 429s, then the one job
    assert len(standin_env.jobs) == 1 and len(standin_env.files) == 1


def test_cancel_stops_cleanly_and_the_run_resumes(template, standin_env, tmp_path):
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)

    class CancelOnFirstMetric(PipelineMonitor):
        pipeline: TrainingPipeline

        def on_metric(self, metrics, *, step=None, stage=None):
            self.pipeline.cancel()

    canceller = CancelOnFirstMetric()
    canceller.pipeline = TrainingPipeline(config, monitor=canceller, confirm=lambda e: True)
    stopped = canceller.pipeline.resume(run_id)

    assert stopped.status == RunStatus.INTERRUPTED
    assert f"vectortrainer --batch --config {config.source} --output-dir {config.output_dir} --resume {run_id}" \
        in stopped.message
    assert "keeps running" in stopped.message
    run = RunDirectory.open(config.output_dir, run_id)
    assert run.state.status == RunStatus.INTERRUPTED and run.state.job_id
    assert TrainingPipeline(config).resume(run_id).status == RunStatus.SUCCEEDED
    assert _posts(standin_env, "/v1/fine_tuning/jobs") == 1


def test_ctrl_c_is_recorded_with_the_resume_command_and_re_raised(template, tmp_path, monkeypatch):
    class CtrlC(PipelineMonitor):
        def on_stage_start(self, stage, *, total=None, description=""):
            raise KeyboardInterrupt

    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-sent")  # the run goes on only with a key (checked first)
    config = make_config(tmp_path, tmp_path / "unused-store")
    run_id = copy_run(template, config.output_dir)
    with pytest.raises(KeyboardInterrupt):
        TrainingPipeline(config, monitor=CtrlC()).resume(run_id)

    run = RunDirectory.open(config.output_dir, run_id)
    assert run.state.status == RunStatus.INTERRUPTED
    end = [e for e in read_events(run.events_path) if e["type"] == "run_end"][-1]
    assert end["status"] == RunStatus.INTERRUPTED and f"--resume {run_id}" in end["message"]


def test_resuming_a_damaged_run_names_the_file(tmp_path):
    config = make_config(tmp_path, tmp_path / "unused-store")
    broken = config.output_dir / "runs" / "broken-run"
    broken.mkdir(parents=True)
    (broken / "run.json").write_text('{"run_id": "broken-run", ')
    with pytest.raises(RunDirectoryError, match=r"broken-run/run.json:1: not valid JSON"):
        TrainingPipeline(config).resume("broken-run")


def test_new_run_without_a_function_is_a_config_error(tmp_path):
    from vectortrainer.errors import ConfigError

    config = make_config(tmp_path, tmp_path / "unused-store", selection={"function": None})
    with pytest.raises(ConfigError, match="--function"):
        TrainingPipeline(config).run()


def test_a_run_can_start_from_a_golden_file_made_earlier(template, standin_env, tmp_path):
    config = make_config(tmp_path, tmp_path / "no-store-needed", standin_env.base_url)
    golden = tmp_path / "exported.jsonl"
    golden.write_bytes((template / "golden.jsonl").read_bytes())

    outcome = TrainingPipeline(config).run(golden_path=golden)

    # The run trained; the file is small, so the gate held out 4 cases: too few to promote on.
    assert outcome.status == RunStatus.NOT_PROMOTED, outcome.message
    assert "not enough evidence" in outcome.message
    run = RunDirectory.open(config.output_dir, outcome.run_id)
    assert run.golden_path.read_bytes() == golden.read_bytes()
    assert run.state.stage("extract").status == "skipped"
    assert not (run.path / "golden_picks.json").exists()  # an exported file records no picks
    assert outcome.summary.golden.examples == len(golden.read_text().splitlines())
    # It trains on the file less the cases the evaluation gate holds out (one "golden" slice: no picks known).
    trained = (run.path / "gate_train.jsonl").read_text().splitlines()
    held = [json.loads(line) for line in (run.path / "holdout.jsonl").read_text().splitlines()]
    assert standin_env.files[run.state.train_file_id]["bytes"] == (run.path / "gate_train.jsonl").stat().st_size
    assert len(trained) + len(held) == len(golden.read_text().splitlines()) and {c["slice"] for c in held} == {"golden"}


def test_the_app_starts_a_run_over_its_store_without_importing_vectorwave(seeded_store, tmp_path):
    """The TUI's training path reads the Lite store it already opened; it once imported VectorWave (7-10 s)."""
    code = f"""
import sys
from pathlib import Path
from tui.workspace import Workspace
from vectortrainer.config import Config
from vectortrainer.runs.monitor import PipelineMonitor
config = Config().with_overrides(**{{
    "store.path": Path({str(seeded_store)!r}),
    "output_dir": Path({str(tmp_path / "out")!r}),
    "feedback.path": Path({str(tmp_path / "feedback.jsonl")!r}),
    "selection.function": "summarize_ticket",
}})
workspace = Workspace(config)
workspace.list_functions()
outcome = workspace.runs.start(monitor=PipelineMonitor(), confirm=lambda estimate: False)
print(outcome.status, "vectorwave" in sys.modules, "torch" in sys.modules)
"""
    # A run starts only with a key set (checked before any work); declined, it never sends it.
    env = {**os.environ, "OPENAI_API_KEY": "sk-placeholder-never-sent"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
                            env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["not_approved", "False", "False"]

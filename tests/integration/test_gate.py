"""The evaluation gate in the pipeline: a real seeded store, the real openai client, the stand-in's
chat completions. A model is promoted only when it beats the one in service; the gate's replies are
paid for inside the budget; a crash after the registry entry never registers or judges twice."""

from __future__ import annotations

import json

import pytest

from tests.support.pipelines import FUNCTION, config_file, copy_run, demo_feedback, make_config
from vectortrainer.cli import main
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.monitor import PipelineMonitor
from vectortrainer.runs.status import RunStatus

pytestmark = pytest.mark.slow


class SimulatedCrash(Exception):
    pass


class CrashAfter(PipelineMonitor):
    def __init__(self, stage):
        self.stage = stage

    def on_stage_complete(self, stage, *, result=None, duration_s=None, skipped=False):
        if stage == self.stage and not skipped:
            raise SimulatedCrash(stage)


def _chats(standin):
    return standin.requests_to("POST", "/v1/chat/completions")


def test_a_better_model_is_promoted_and_a_regressed_one_kept_out_of_service(template, standin_env, tmp_path):
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    first = TrainingPipeline(config, confirm=lambda e: True).resume(copy_run(template, config.output_dir))
    assert first.status == RunStatus.SUCCEEDED, first.message
    registry = ModelRegistry(config.models.dir, FUNCTION)
    promoted = registry.promoted()
    assert promoted.model == RunDirectory.open(config.output_dir, first.run_id).state.fine_tuned_model
    assert promoted.gate["passed"] and promoted.evaluation["candidate"]["overall"] > promoted.evaluation["incumbent"]["overall"]
    gate = json.loads((first.run_dir / "gate.json").read_text())
    assert gate["incumbent_label"].startswith("base model gpt-4o-mini") and set(gate["slices"]) == {"steady", "anomaly", "feedback"}
    requests = len(_chats(standin_env))
    assert requests == 2 * sum(s["candidate"]["cases"] for s in gate["slices"].values()) > 0
    assert first.summary.gate.promoted and first.summary.gate.inference_requests == requests

    standin_env.degrade_next_models()
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second_config = make_config(second_dir, tmp_path / "unused-store", standin_env.base_url).with_overrides(
        **{"models.dir": config.models.dir})  # the same function's registry: judged against the promoted model
    second_id = copy_run(template, second_config.output_dir, run_id="template-run-2")
    second = TrainingPipeline(second_config, confirm=lambda e: True).resume(second_id)

    assert second.status == RunStatus.NOT_PROMOTED, second.message
    assert "not promoted" in second.message and "vectortrainer models promote m002" in second.message
    models = registry.list()
    assert [(m.version_id, m.promoted, m.passed_gate) for m in models] == [("m001", True, True), ("m002", False, False)]
    assert f"promoted m001 ({promoted.model})" in models[1].gate["reason"]
    assert second.summary.gate.promoted is False and second.summary.gate.model_version == "m002"
    rows = dict(second.summary.rows())
    assert rows["evaluation gate"].startswith("not promoted (kept as m002)")


def test_batch_exits_5_when_the_model_is_not_promoted(template, standin_env, tmp_path, capsys):
    standin_env.degrade_next_models()
    config_path = config_file(tmp_path, standin_env.base_url)
    run_id = copy_run(template, tmp_path / "out")
    code = main(["--batch", "--config", str(config_path), "--resume", run_id, "--json", "--max-budget", "5"])
    report = json.loads(capsys.readouterr().out)
    assert code == 5 and report["exit_code"] == 5 and report["status"] == "not_promoted"
    assert report["summary"]["gate"]["promoted"] is False


def test_the_gate_replies_are_counted_in_the_budget_before_anything_is_uploaded(template, standin_env, tmp_path):
    estimate = json.loads((template / "estimate.json").read_text())
    assert estimate["evaluation_usd"] > 0 and estimate["evaluation_requests"] > 0
    training_only = estimate["estimated_usd"] - estimate["evaluation_usd"]
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url,
                         budget={"max_budget_usd": training_only + estimate["evaluation_usd"] / 2})
    run_id = copy_run(template, config.output_dir)
    run = RunDirectory.open(config.output_dir, run_id)
    run.state.stage("estimate").status = "pending"  # estimate again under the new budget
    run.save()

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.BUDGET_EXCEEDED, outcome.message
    assert "evaluation gate" in outcome.message and "nothing was uploaded" in outcome.message
    assert standin_env.requests == []


def test_a_crash_after_the_model_was_registered_never_registers_or_judges_it_twice(template, standin_env, tmp_path):
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url)
    run_id = copy_run(template, config.output_dir)
    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, monitor=CrashAfter("evaluate"), confirm=lambda e: True).resume(run_id)
    asked = len(_chats(standin_env))
    run = RunDirectory.open(config.output_dir, run_id)
    run.state.stage("evaluate").status = "pending"  # as if the process died before the stage was saved
    run.save()

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert len(ModelRegistry(config.models.dir, FUNCTION).list()) == 1
    assert len(_chats(standin_env)) == asked  # the decision was not made again


def test_with_the_gate_off_a_trained_model_is_promoted_without_a_reply(template, standin_env, tmp_path):
    config = make_config(tmp_path, tmp_path / "unused-store", standin_env.base_url, gate={"enabled": False})
    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(copy_run(template, config.output_dir))
    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert ModelRegistry(config.models.dir, FUNCTION).promoted().gate["reason"].startswith("gate off")
    assert _chats(standin_env) == []


def test_the_hook_stage_saves_a_gated_hook_version(seeded_store, standin_env, tmp_path):
    from vectortrainer.hooks.versions import HookVersionManager

    config = make_config(tmp_path, seeded_store, standin_env.base_url, feedback=demo_feedback(tmp_path))
    outcome = TrainingPipeline(config, confirm=lambda e: False).run()  # stops at the cost: the hook is free
    assert outcome.status == RunStatus.NOT_APPROVED
    hook = RunDirectory.open(config.output_dir, outcome.run_id).state.stage("hook").detail
    [version] = HookVersionManager.for_function(config.hooks.dir, FUNCTION).list_versions()
    assert version.origin == f"run {outcome.run_id}" and hook["live_now"] == (
        version.version_id if version.active else None)
    assert version.version_id == hook["version_id"] and version.gate["held_out"] > 0
    assert version.active == hook["active"] == version.gate["passed"]
    assert version.gate["good_checked"] > version.gate["held_out"]


def test_a_promoted_runs_picks_become_vectorwave_golden_data(template, seeded_store_copy, standin_env, tmp_path):
    from vectortrainer.store.environment import open_dataset_manager

    config = make_config(tmp_path, seeded_store_copy, standin_env.base_url,
                         golden={"publish_to_vectorwave": True})
    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(copy_run(template, config.output_dir))

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    picks = json.loads((outcome.run_dir / "golden_picks.json").read_text())
    published = RunDirectory.open(config.output_dir, outcome.run_id).state.stage("evaluate").detail["published_golden"]
    assert published == {"registered": len(picks), "failed": []}
    manager = open_dataset_manager(seeded_store_copy)
    golden = manager.store.query(collection=manager.settings.GOLDEN_COLLECTION_NAME,
                                 filters={"function_name": FUNCTION}, limit=1000)
    assert sorted(r.properties["original_uuid"] for r in golden) == sorted(p["uuid"] for p in picks)
    assert all(outcome.run_id in r.properties["tags"] for r in golden)

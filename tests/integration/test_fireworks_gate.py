"""The evaluation gate on Fireworks: the LoRA is loaded onto one on-demand deployment, judged there,
and the deployment is kept only when the model is promoted (issue 26).

The real ``fireworks-ai`` client talks to the loopback stand-in
(``tests/support/fireworks_serving_standin.py``): a deployment is created once (also after a lost
answer or a crash), the LoRA is loaded once it is READY, and a deployment that fails or never
becomes ready is torn down with the model kept as "not enough evidence". The hosting's bound is
held to the budget before anything is uploaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import vectortrainer.budget.serving
from tests.support.fireworks_standin import FireworksStandIn
from tests.support.pipelines import FUNCTION, config_file, copy_run, make_config
from tests.support.providers import FIREWORKS_MODEL, Harness, harness
from tests.support.trainers import run_to_end, write_examples
from vectortrainer.cli import main
from vectortrainer.gate.serving import close_deployment, open_deployment
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.status import RunStatus
from vectortrainer.training.fireworks import FireworksTrainer

pytestmark = pytest.mark.slow
BUDGET_USD = 5.0  # the default budget.max_budget_usd: training, replies and hosting fit in it
NOT_PROMOTED = 5  # the exit code of a run whose model was kept, not promoted


class SimulatedCrash(Exception):
    """Stands for the process dying at a chosen point."""


@pytest.fixture
def fireworks(fireworks_standin: FireworksStandIn, monkeypatch: pytest.MonkeyPatch) -> Harness:
    chosen = harness("fireworks", fireworks_standin)
    for key, value in chosen.env.items():
        monkeypatch.setenv(key, value)
    return chosen


def _batch(capsys: pytest.CaptureFixture[str], template: Path, tmp_path: Path, sections: dict[str, Any],
           *argv: str) -> tuple[int, dict[str, Any], str, Path]:
    """`--batch --resume` of a copy of the template run with Fireworks: exit code, report, stderr, run dir."""
    config = config_file(tmp_path, **sections)
    run_id = copy_run(template, tmp_path / "out", estimate_again=True)
    code = main(["--batch", "--config", str(config), "--json", "--resume", run_id, *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err, tmp_path / "out" / "runs" / run_id


def _chats(standin: FireworksStandIn) -> list[str]:
    """The model each chat completion named."""
    return [r.json["model"] for r in standin.requests_to("POST", "/v1/chat/completions")]


def _loads(standin: FireworksStandIn) -> int:
    return len(standin.requests_to("POST", f"/v1/accounts/{standin.account}/deployedModels"))


def test_a_batch_run_judges_the_lora_on_one_deployment_and_keeps_it_serving_when_promoted(
        template, fireworks, tmp_path, capsys):
    standin = fireworks.standin
    code, report, err, run_dir = _batch(capsys, template, tmp_path, fireworks.sections)

    assert code == 0, err
    assert fireworks.posts(standin.deployment_path) == 1 and _loads(standin) == 1
    [deployment] = standin.live_deployments()  # promoted: it serves production, not torn down
    [lora] = standin.deployed_models.values()
    assert deployment["state"] == "READY" and lora["state"] == "DEPLOYED" and standin.unloaded == []
    assert deployment["minReplicaCount"] == deployment["maxReplicaCount"] == 1 and deployment["enableAddons"]
    entry = ModelRegistry(tmp_path / "models", FUNCTION).promoted()
    served_as = f"{entry.model}#{deployment['name']}"
    assert entry.model == lora["model"] and entry.serving["id"] == deployment["name"].rsplit("/", 1)[-1]
    assert entry.served_as == served_as
    gate = json.loads((run_dir / "gate.json").read_text())
    assert gate["outcome"] == "promote" and gate["serving"]["kept"] and not gate["serving"]["torn_down"]
    assert gate["serving"]["deployment"] == entry.serving["id"]
    # the candidate answered on its deployment, the base model serverless, once per held-out case each
    chats = _chats(standin)
    assert chats.count(served_as) == chats.count(FIREWORKS_MODEL) == gate["cases"] == len(chats) // 2
    estimate, summary = report["estimate"], report["summary"]
    assert 0 < estimate["hosting_usd"] < estimate["estimated_usd"] <= BUDGET_USD
    assert 0 < summary["gate"]["serving"]["hosting_usd"] <= estimate["hosting_usd"]
    # the base model answered serverless, billed per token; the LoRA on its deployment, billed by the hour
    assert 0 < summary["gate"]["inference_usd"] <= estimate["evaluation_usd"] - estimate["hosting_usd"]


def test_a_model_that_is_kept_out_of_service_has_its_deployment_deleted(template, fireworks, tmp_path, capsys):
    standin = fireworks.standin
    standin.lora_like_base = True  # the fine-tune answers as its base: no gain to promote on
    code, report, err, run_dir = _batch(capsys, template, tmp_path, fireworks.sections)

    assert code == NOT_PROMOTED, err
    assert fireworks.posts(standin.deployment_path) == 1 and _loads(standin) == 1
    assert standin.live_deployments() == [] and len(standin.deleted_deployments()) == 1
    assert standin.deployed_models == {} and len(standin.unloaded) == 1
    gate = json.loads((run_dir / "gate.json").read_text())
    assert gate["outcome"] == "keep" and gate["serving"]["torn_down"] and not gate["serving"]["kept"]
    [entry] = ModelRegistry(tmp_path / "models", FUNCTION).list()
    assert not entry.promoted and entry.serving == {}
    assert report["summary"]["gate"]["serving"]["hosting_usd"] <= report["estimate"]["hosting_usd"]


@pytest.mark.parametrize("trouble", ["fails", "never_ready"])
def test_a_deployment_that_cannot_answer_is_torn_down_and_the_model_never_promoted(
        template, fireworks, tmp_path, capsys, monkeypatch, trouble):
    standin = fireworks.standin
    if trouble == "fails":
        standin.fail_next_deployments()
    else:
        standin.never_ready = True
        # the wait's bound, which the budget held (30 min at Fireworks), as short as a test allows
        monkeypatch.setitem(vectortrainer.budget.serving.READY_WITHIN_S, "fireworks", 0.5)
    code, report, err, run_dir = _batch(capsys, template, tmp_path, fireworks.sections)

    assert code == NOT_PROMOTED, err
    assert fireworks.posts(standin.deployment_path) == 1 and _loads(standin) == 0
    assert standin.live_deployments() == [] and len(standin.deleted_deployments()) == 1
    assert not any("#" in model for model in _chats(standin))  # the LoRA was never asked
    gate = json.loads((run_dir / "gate.json").read_text())
    assert gate["outcome"] == "not_enough_evidence" and not gate["passed"]
    said = "not enough H100 capacity" if trouble == "fails" else "was not ready after"
    assert said in gate["reason"] and "torn down" in gate["reason"]
    [entry] = ModelRegistry(tmp_path / "models", FUNCTION).list()
    assert not entry.promoted and entry.gate["outcome"] == "not_enough_evidence"


def test_a_budget_too_small_for_the_hosting_refuses_before_any_upload(template, fireworks, tmp_path, capsys):
    code, report, err, run_dir = _batch(capsys, template, tmp_path, fireworks.sections, "--max-budget", "1")

    assert code == 3, err
    assert report["status"] == "budget_exceeded" and "hosting 1 deployment(s)" in report["message"]
    estimate = json.loads((run_dir / "estimate.json").read_text())
    assert estimate["estimated_usd"] - estimate["hosting_usd"] <= 1.0 < estimate["estimated_usd"]
    assert estimate["hosting"][0]["hourly_usd"] == 5.8 and estimate["hosting"][0]["hours"] > 0.5
    assert fireworks.standin.requests == []  # no dataset, no job, no deployment


@pytest.mark.parametrize("dies_in", ["deploy", "deployment_status"])
def test_a_crash_after_the_deployment_was_created_never_creates_a_second(template, fireworks, tmp_path, dies_in):
    class Dies(FireworksTrainer):
        def deploy(self, model, *, run_id):
            deployment = super().deploy(model, run_id=run_id)
            if dies_in == "deploy":
                raise SimulatedCrash("died before the run saved the deployment")
            return deployment

        def deployment_status(self, deployment):
            raise SimulatedCrash("died while waiting for the deployment")

    config = make_config(tmp_path, tmp_path / "unused-store", **fireworks.sections)
    run_id = copy_run(template, config.output_dir, estimate_again=True)
    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, trainer=Dies.from_config(config), confirm=lambda e: True).resume(run_id)
    saved = RunDirectory.open(config.output_dir, run_id).state.deployment
    assert (saved is None) == (dies_in == "deploy") and len(fireworks.standin.deployments) == 1

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert fireworks.posts(fireworks.standin.deployment_path) == 1 and _loads(fireworks.standin) == 1
    [deployment] = fireworks.standin.live_deployments()
    entry = ModelRegistry(config.models.dir, FUNCTION).promoted()
    assert entry.serving["id"] == deployment["name"].rsplit("/", 1)[-1]
    assert RunDirectory.open(config.output_dir, run_id).state.deployment is None  # the registry holds it


@pytest.mark.parametrize("lost", ["before_creating", "after_creating"])
def test_a_creation_answered_with_a_5xx_is_looked_up_before_it_is_tried_again(fireworks, tmp_path, lost):
    standin = fireworks.standin
    trainer = FireworksTrainer(**{**fireworks.settings, "max_budget_usd": BUDGET_USD})
    prepared = trainer.prepare_data(write_examples(tmp_path / "golden.jsonl", 12), run_id="run-5xx")
    job_id = trainer.start_training(prepared, run_id="run-5xx")
    assert run_to_end(trainer, job_id).value == "succeeded"
    model = trainer.get_result(job_id).model_name
    if lost == "after_creating":
        standin.fail_after_creating_deployments()
    else:
        standin.inject_errors(503, 1, method="POST", path=standin.deployment_path)
    saved: list[Any] = []

    serving = open_deployment(trainer, model, run_id="run-5xx", saved=None, save=saved.append)

    assert fireworks.posts(standin.deployment_path) == (1 if lost == "after_creating" else 2)
    assert len(standin.deployments) == 1 and saved[-1].id == serving.deployment.id
    reply = trainer.complete(serving.served_as, [{"role": "user", "content": "ticket 3: my invoice is wrong"}],
                             max_tokens=16)
    assert reply.text == "billing-3" and not reply.failed and reply.completion_tokens > 0
    close_deployment(trainer, serving, keep=False, save=saved.append)
    assert saved[-1] is None and standin.live_deployments() == [] and len(standin.unloaded) == 1
    assert serving.torn_down and 0 < serving.hosting_usd < 0.01

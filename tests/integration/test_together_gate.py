"""The evaluation gate on Together AI: `--batch` runs against the stand-in, through the real ``together`` SDK.

A LoRA fine-tune answers serverless, billed per token; a full fine-tune answers only on a
dedicated endpoint (one deployment), billed per minute: created once, waited for, judged through,
kept when promoted and deleted otherwise, its hosting bound held to the budget before anything is
uploaded. The stand-in's deployments are ready after reads, not minutes, so the gate's poll is
made short (``POLL_S``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.pipelines import FUNCTION, config_file, copy_run, make_config
from tests.support.providers import TOGETHER_MODEL, harness
from tests.support.together_serving import PROJECT
from tests.support.together_standin import TogetherStandIn
from vectortrainer.budget import serving as hosting_facts
from vectortrainer.cli import main
from vectortrainer.gate import serving as gate_serving
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.status import RunStatus
from vectortrainer.training.deployments import DeploymentState
from vectortrainer.training.together import TogetherTrainer

pytestmark = pytest.mark.slow
CHAT = "/v1/chat/completions"


class SimulatedCrash(Exception):
    """Stands for the process dying at a chosen point."""


@pytest.fixture
def together(together_standin: TogetherStandIn, monkeypatch: pytest.MonkeyPatch) -> TogetherStandIn:
    monkeypatch.setenv("TOGETHER_API_KEY", together_standin.api_key)
    monkeypatch.setattr(gate_serving, "POLL_S", 0.01)
    return together_standin


def _sections(standin: TogetherStandIn, training_type: str = "lora") -> dict[str, dict[str, Any]]:
    sections = {key: dict(value) for key, value in harness("together", standin).sections.items()}
    sections["together"]["training_type"] = training_type
    return sections


def _batch(capsys: pytest.CaptureFixture[str], template: Path, tmp_path: Path, standin: TogetherStandIn,
           training_type: str = "lora", *argv: str) -> tuple[int, dict[str, Any], Path]:
    """`--batch --resume` of a copy of the template run on Together; (exit code, report, run dir)."""
    config = config_file(tmp_path, **_sections(standin, training_type))
    run_id = copy_run(template, tmp_path / "out", estimate_again=True)
    code = main(["--batch", "--config", str(config), "--json", "--resume", run_id, *argv])
    report = json.loads(capsys.readouterr().out)
    return code, report, tmp_path / "out" / "runs" / run_id


def _registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models", FUNCTION)


def _asked(standin: TogetherStandIn) -> list[str]:
    """The model every chat completion named, in order."""
    return [r.json["model"] for r in standin.requests_to("POST", CHAT)]


def _read(run_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((run_dir / name).read_text(encoding="utf-8"))


def test_a_lora_fine_tune_is_judged_serverless_and_promoted_with_its_replies_in_the_budget(
        template, together, tmp_path, capsys):
    code, report, run_dir = _batch(capsys, template, tmp_path, together)

    assert code == 0, report["message"]
    estimate, gate = _read(run_dir, "estimate.json"), _read(run_dir, "gate.json")
    assert estimate["evaluation_requests"] > 0 and 0 < estimate["evaluation_usd"] <= estimate["estimated_usd"]
    assert estimate["hosting_usd"] == 0 and estimate["hosting"] == []
    assert estimate["estimated_usd"] <= estimate["budget_usd"] == 5.0
    entry = _registry(tmp_path).promoted()
    assert entry is not None and entry.provider == "together" and entry.serving == {}
    assert gate["outcome"] == "promote" and gate["serving"]["deployed"] is False
    asked = _asked(together)
    cases = sum(s["candidate"]["cases"] for s in gate["slices"].values())
    assert sorted(set(asked)) == sorted({entry.model, "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"})
    assert len(asked) == 2 * cases
    spent = report["summary"]["gate"]["inference_usd"]
    assert 0 < spent <= estimate["evaluation_usd"]
    assert together.requests_to("POST", "/v2/") == [] and together.deployments_created == []


def test_a_lora_fine_tune_no_better_than_its_base_is_kept_out_of_service(template, together, tmp_path, capsys):
    together.answer_like_base_next()
    code, report, run_dir = _batch(capsys, template, tmp_path, together)

    assert code == 5 and report["status"] == "not_promoted", report["message"]
    assert _read(run_dir, "gate.json")["outcome"] == "keep"
    [entry] = _registry(tmp_path).list()
    assert not entry.promoted and not entry.passed_gate and _registry(tmp_path).promoted() is None


def test_a_full_fine_tune_is_judged_on_one_dedicated_deployment_kept_when_promoted(template, together, tmp_path,
                                                                                  capsys):
    code, report, run_dir = _batch(capsys, template, tmp_path, together, "full")

    assert code == 0, report["message"]
    assert len(together.endpoints_created) == len(together.deployments_created) == 1
    assert together.deployments_deleted == [] and together.endpoints_deleted == []
    [deployment] = together.live_deployments
    assert deployment["status"]["state"] == "DEPLOYMENT_STATE_READY"
    assert deployment["autoscaling"] == {"minReplicas": 1, "maxReplicas": 1}
    entry = _registry(tmp_path).promoted()
    assert entry is not None and entry.serving["id"] == deployment["id"]
    assert entry.served_as == deployment["name"] and deployment["name"].startswith(f"{PROJECT['slug']}/vectortrainer-")
    # the candidate answered through its deployment only (its own name is not serverless)
    assert entry.model not in _asked(together) and deployment["name"] in _asked(together)
    gate, estimate = _read(run_dir, "gate.json"), _read(run_dir, "estimate.json")
    served = gate["serving"]
    assert gate["outcome"] == "promote" and served["deployment"] == deployment["id"]
    assert served["kept"] is True and served["torn_down"] is False
    assert estimate["hosting_usd"] > 0 and estimate["hosting"][0]["what"] == "a dedicated endpoint on 1 H100"
    assert 0 < served["hosting_usd"] <= estimate["hosting_usd"]
    assert estimate["estimated_usd"] <= estimate["budget_usd"]
    assert report["summary"]["gate"]["serving"]["kept"] is True
    assert RunDirectory.open(tmp_path / "out", run_dir.name).state.deployment is None  # the registry holds it


def test_a_full_fine_tune_that_is_kept_has_its_deployment_deleted(template, together, tmp_path, capsys):
    together.answer_like_base_next()
    code, report, run_dir = _batch(capsys, template, tmp_path, together, "full")

    assert code == 5 and report["status"] == "not_promoted", report["message"]
    assert len(together.deployments_created) == 1 and together.deployments_deleted == together.deployments_created
    assert together.endpoints_deleted == together.endpoints_created and together.endpoints == {}
    gate = _read(run_dir, "gate.json")
    assert gate["outcome"] == "keep" and gate["serving"]["torn_down"] is True and gate["serving"]["kept"] is False
    [entry] = _registry(tmp_path).list()
    assert not entry.promoted and entry.serving == {}


@pytest.mark.parametrize("fate", ["fails", "never ready"])
def test_a_deployment_that_cannot_answer_is_torn_down_and_the_model_is_not_enough_evidence(
        template, together, tmp_path, capsys, monkeypatch, fate):
    if fate == "fails":
        together.fail_next_deployments()
    else:
        together.never_ready_next()
        monkeypatch.setitem(hosting_facts.READY_WITHIN_S, "together", 0.3)  # the bound, in seconds here
    code, report, run_dir = _batch(capsys, template, tmp_path, together, "full")

    assert code == 5 and report["status"] == "not_promoted", report["message"]
    gate = _read(run_dir, "gate.json")
    assert gate["outcome"] == "not_enough_evidence" and not gate["passed"]
    expected = "out of GPU memory" if fate == "fails" else "not ready after"
    assert expected in gate["reason"] and "torn down" in gate["reason"]
    [entry] = _registry(tmp_path).list()
    assert not entry.promoted and entry.serving == {}
    assert len(together.deployments_created) == 1 and together.deployments_deleted == together.deployments_created
    assert together.endpoints_deleted == together.endpoints_created and together.endpoints == {}
    assert _asked(together) == []  # nothing was judged on a model that never answered


def test_a_budget_too_small_for_the_hosting_bound_refuses_before_any_request(template, together, tmp_path,
                                                                          capsys):
    code, report, run_dir = _batch(capsys, template, tmp_path, together, "full", "--max-budget", "1.0")

    assert code == 3 and report["status"] == "budget_exceeded", report["message"]
    assert "hosting" in report["message"]
    assert together.requests == []  # no upload, no job, no endpoint
    estimate = _read(run_dir, "estimate.json")
    assert estimate["hosting_usd"] > 1.0 > estimate["estimated_usd"] - estimate["hosting_usd"]


def test_a_crash_after_the_deployment_was_created_resumes_on_the_same_deployment(template, together, tmp_path):
    class Dies(TogetherTrainer):
        def deploy(self, model, *, run_id):
            super().deploy(model, run_id=run_id)
            raise SimulatedCrash("died before the deployment was saved")

    config = make_config(tmp_path, tmp_path / "unused-store", **_sections(together, "full"))
    run_id = copy_run(template, config.output_dir, estimate_again=True)
    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, trainer=Dies.from_config(config), confirm=lambda e: True).resume(run_id)
    assert len(together.deployments_created) == 1
    assert RunDirectory.open(config.output_dir, run_id).state.deployment is None  # never saved

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert len(together.endpoints_created) == len(together.deployments_created) == 1
    assert _registry(tmp_path).promoted().serving["id"] == together.deployments_created[0]


def test_creations_answered_with_a_5xx_are_looked_up_and_never_made_twice(template, together, tmp_path, capsys):
    together.inject_errors(500, 1, method="POST", path=f"/v2/projects/{PROJECT['id']}/endpoints")  # nothing made
    together.lose_next_deployment_answers()  # made, then the answer is lost
    code, report, _ = _batch(capsys, template, tmp_path, together, "full")

    assert code == 0, report["message"]
    assert len(together.endpoints_created) == len(together.deployments_created) == 1
    endpoint_posts = together.requests_to("POST", f"/v2/projects/{PROJECT['id']}/endpoints")
    assert len([r for r in endpoint_posts if r.path.endswith("/endpoints")]) == 2  # the 500, then the one made
    assert len([r for r in endpoint_posts if r.path.endswith("/deployments")]) == 1  # found after its lost answer


# -- the trainer's four steps on their own (a model the stand-in holds as trained) -----------------
def _trained(standin: TogetherStandIn) -> str:
    job = {"model_output_name": f"standin-user/{TOGETHER_MODEL.split('/')[-1]}-gate-00000001",
           "model": TOGETHER_MODEL, "training_type": {"type": "Full"}}
    standin.register_output(job, b"")
    return job["model_output_name"]


def _full_trainer(standin: TogetherStandIn) -> TogetherTrainer:
    return TogetherTrainer(**{**harness("together", standin).settings, "training_type": "full"})


def test_a_deployment_is_found_again_by_its_run_and_a_second_teardown_is_nothing(together, monkeypatch):
    monkeypatch.setenv("TOGETHER_PROJECT_ID", PROJECT["id"])  # the SDK's own setting: no need to ask
    trainer, model = _full_trainer(together), _trained(together)
    deployment = trainer.deploy(model, run_id="run-1")

    assert trainer.find_deployment(model, run_id="run-1") == deployment
    assert trainer.deploy(model, run_id="run-1") == deployment and trainer.find_deployment(model, run_id="run-2") is None
    trainer.tear_down(deployment)
    trainer.tear_down(deployment)  # already gone: nothing to do
    assert trainer.deployment_status(deployment).state is DeploymentState.GONE
    assert trainer.find_deployment(model, run_id="run-1") is None
    assert len(together.deployments_created) == 1 and together.deployments_deleted == together.deployments_created
    assert together.endpoints == {} and together.requests_to("GET", "/v3/whoami") == []


@pytest.mark.parametrize(("state", "ready", "expected"), [
    ("DEPLOYMENT_STATE_SCALING", 0, DeploymentState.PENDING),
    ("DEPLOYMENT_STATE_DEGRADED", 1, DeploymentState.READY),  # one of one replica answers
    ("DEPLOYMENT_STATE_DEGRADED", 0, DeploymentState.PENDING),
    ("DEPLOYMENT_STATE_STOPPED", 0, DeploymentState.FAILED),  # answers nothing until started
    ("DEPLOYMENT_STATE_NEW_WORD", 0, DeploymentState.PENDING),  # undocumented: the wait's bound ends it
])
def test_each_state_together_reports_reads_as_the_gate_needs(together, state, ready, expected):
    trainer = _full_trainer(together)
    deployment = trainer.deploy(_trained(together), run_id="run-1")
    path = f"/v2/projects/{PROJECT['id']}/endpoints/{deployment.parts['endpoint_id']}/deployments/{deployment.id}"
    together.alter_answers(lambda body: {**body, "status": {"state": state, "message": "", "readyReplicas": ready}},
                           method="GET", path=path)

    assert trainer.deployment_status(deployment).state is expected


def test_a_reply_without_text_is_a_failed_reply_with_the_tokens_billed(together):
    trainer = TogetherTrainer(**harness("together", together).settings)
    together.alter_answers(lambda body: {**body, "choices": [{**body["choices"][0], "message": {"role": "assistant",
                                                                                                "content": None}}]},
                           method="POST", path=CHAT)
    reply = trainer.complete(TOGETHER_MODEL, [{"role": "user", "content": "status of order 7?"}], max_tokens=16)

    assert reply.failed and reply.text == "" and reply.prompt_tokens > 0
    [asked] = together.requests_to("POST", CHAT)
    assert asked.json["temperature"] == 0 and asked.json["max_tokens"] == 16

"""The evaluation gate on Azure OpenAI: the candidate deployed through the control plane, judged on
that deployment against the base model's, and promoted (the deployment serves production) or kept
(the deployment is deleted), with its hosting held to the budget (issue 26).

Real ``openai.AzureOpenAI`` and ``httpx`` clients talk to the Azure stand-in
(``tests/support/azure_control_standin.py``): its data plane, and the ARM deployments of its
account on the same origin. A crash is simulated at the exact point, then a fresh pipeline
resumes, as a new process would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.azure_control_standin import AzureStandIn
from tests.support.pipelines import FUNCTION, config_file, copy_run, make_config
from tests.support.providers import Harness, harness
from vectortrainer.cli import main
from vectortrainer.errors import ConfigError, TrainerAPIError
from vectortrainer.gate.serving import DeploymentNotReady, open_deployment
from vectortrainer.pipeline import TrainingPipeline
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.runs.directory import RunDirectory
from vectortrainer.runs.status import RunStatus
from vectortrainer.training.azure import AzureOpenAITrainer, deployment_name
from vectortrainer.training.deployments import Deployment, DeploymentStatus

pytestmark = pytest.mark.slow
TRAINED = "ft:gpt-4o-mini-2024-07-18:standin-org:vectortrainer:abc123"  # for the trainer-level tests
AZURE_HOURLY = 1.70  # one started hour of a Standard deployment of a fine-tune


class SimulatedCrash(Exception):
    """Stands for the process dying at a chosen point."""


@pytest.fixture
def azure(azure_standin: AzureStandIn, monkeypatch: pytest.MonkeyPatch) -> Harness:
    chosen = harness("azure", azure_standin)
    for key, value in chosen.env.items():
        monkeypatch.setenv(key, value)
    return chosen


def _batch(capsys, template: Path, tmp_path: Path, sections: dict[str, dict[str, Any]],
           *argv: str) -> tuple[int, dict, str, Path]:
    """`--batch --resume` of a copy of the template run with ``sections``; the run's directory."""
    config = config_file(tmp_path, **sections)
    run_id = copy_run(template, tmp_path / "out", estimate_again=True)
    code = main(["--batch", "--config", str(config), "--json", "--resume", run_id, *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err, tmp_path / "out" / "runs" / run_id


def _read(run_dir: Path, name: str) -> dict:
    return json.loads((run_dir / name).read_text(encoding="utf-8"))


def _chats(standin: AzureStandIn, deployment: str) -> int:
    return len(standin.requests_to("POST", f"/openai/deployments/{deployment}/chat/completions"))


def _registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models", FUNCTION)


# ----- the four outcomes of a --batch run -------------------------------------------------------
def test_a_batch_run_deploys_the_candidate_once_judges_it_there_and_promotes_it(
        template, azure, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("vectortrainer.gate.serving.POLL_S", 0.0)  # the stand-in settles by reads
    azure.standin.creating_gets = 2
    code, report, err, run_dir = _batch(capsys, template, tmp_path, azure.sections)

    assert code == 0, err
    name = deployment_name(run_dir.name)
    standin = azure.standin
    assert standin.created == [name] and standin.deleted == [] and len(standin.arm_requests("PUT")) == 1
    assert standin.deployments[name]["properties"]["provisioningState"] == "Succeeded"
    # a look for the run's deployment before the PUT, then Creating, Creating, Succeeded
    arm = [r.method for r in standin.requests if r.path == standin.deployment_path(name)]
    assert arm == ["GET", "PUT", "GET", "GET", "GET"]
    put = standin.arm_requests("PUT")[0]
    assert put.json["properties"]["model"]["name"] == report["summary"]["training"]["fine_tuned_model"]
    assert all(r.headers["authorization"] == f"Bearer {standin.management_token}" and "api-key" not in r.headers
               for r in standin.arm_requests("PUT") + standin.arm_requests("GET"))
    gate = _read(run_dir, "gate.json")
    cases = gate["cases"]
    assert gate["outcome"] == "promote" and cases > 0
    assert _chats(standin, name) == cases and _chats(standin, standin.base_deployment) == cases
    serving = gate["serving"]
    assert serving["deployed"] and serving["deployment"] == name and serving["kept"] and not serving["torn_down"]
    assert serving["hosting_usd"] == AZURE_HOURLY and serving["served_as"] == name
    promoted = _registry(tmp_path).promoted()
    assert promoted is not None and promoted.model == put.json["properties"]["model"]["name"]
    assert promoted.serving["served_as"] == name == promoted.serving["id"] and promoted.served_as == name
    estimate = _read(run_dir, "estimate.json")
    assert estimate["hosting_usd"] == AZURE_HOURLY and estimate["within_budget"]
    assert serving["hosting_usd"] <= estimate["hosting_usd"]
    assert estimate["estimated_usd"] <= estimate["budget_usd"] == 5.0
    assert report["summary"]["gate"]["serving"]["kept"] and report["summary"]["gate"]["promoted"]
    assert RunDirectory.open(tmp_path / "out", run_dir.name).state.deployment is None  # the registry holds it
    written = "".join(path.read_text(encoding="utf-8", errors="replace") for path in tmp_path.rglob("*")
                      if path.is_file() and path.suffix in (".json", ".jsonl", ".log", ".yaml"))
    assert standin.management_token not in written and standin.management_token not in err


def test_a_kept_models_deployment_is_deleted(template, azure, tmp_path, capsys):
    azure.standin.degrade_next_models()  # the trained model answers worse than its base
    code, report, err, run_dir = _batch(capsys, template, tmp_path, azure.sections)

    assert code == 5, err  # not promoted
    name = deployment_name(run_dir.name)
    assert azure.standin.created == [name] == azure.standin.deleted and name not in azure.standin.deployments
    gate = _read(run_dir, "gate.json")
    assert gate["outcome"] == "keep" and _chats(azure.standin, name) == gate["cases"] > 0
    assert gate["serving"]["torn_down"] and not gate["serving"]["kept"]
    assert gate["serving"]["hosting_usd"] == AZURE_HOURLY <= _read(run_dir, "estimate.json")["hosting_usd"]
    (entry,) = _registry(tmp_path).list()
    assert not entry.promoted and entry.serving == {} and _registry(tmp_path).promoted() is None
    assert RunDirectory.open(tmp_path / "out", run_dir.name).state.deployment is None


def test_a_deployment_that_fails_is_torn_down_and_the_model_is_not_enough_evidence(template, azure, tmp_path,
                                                                                   capsys):
    azure.standin.fail_next_deployments()
    code, report, err, run_dir = _batch(capsys, template, tmp_path, azure.sections)

    assert code == 5, err
    name = deployment_name(run_dir.name)
    assert azure.standin.created == [name] == azure.standin.deleted
    assert _chats(azure.standin, name) == 0 and _chats(azure.standin, azure.standin.base_deployment) == 0
    gate = _read(run_dir, "gate.json")
    assert gate["outcome"] == "not_enough_evidence" and not gate["passed"]
    assert "provisioningState Failed" in gate["reason"] and "torn down" in gate["reason"]
    (entry,) = _registry(tmp_path).list()
    assert not entry.promoted and entry.gate["outcome"] == "not_enough_evidence"


def test_a_budget_too_small_for_the_hosting_bound_refuses_before_any_upload(template, azure, tmp_path, capsys):
    code, report, err, run_dir = _batch(capsys, template, tmp_path, azure.sections, "--max-budget", "1.5")

    assert code == 3, err
    assert report["status"] == "budget_exceeded" and "hosting 1 deployment(s)" in report["message"]
    assert azure.standin.requests == []
    estimate = _read(run_dir, "estimate.json")
    assert estimate["hosting_usd"] == AZURE_HOURLY  # Azure bills a started hour
    assert estimate["estimated_usd"] - estimate["hosting_usd"] < 1.5 < estimate["estimated_usd"]


# ----- a crash after the deployment was created -------------------------------------------------
@pytest.mark.parametrize("dies_in", ["deploy", "deployment_status"])
def test_a_crash_after_the_deployment_was_created_resumes_on_the_same_deployment(template, azure, tmp_path,
                                                                                 dies_in):
    class Dies(AzureOpenAITrainer):
        def deploy(self, model: str, *, run_id: str) -> Deployment:
            deployment = super().deploy(model, run_id=run_id)
            if dies_in == "deploy":
                raise SimulatedCrash("died before the deployment was saved in the run")
            return deployment

        def deployment_status(self, deployment: Deployment) -> DeploymentStatus:
            if dies_in == "deployment_status":
                raise SimulatedCrash("died while waiting for the deployment")
            return super().deployment_status(deployment)

    config = make_config(tmp_path, tmp_path / "unused-store", **azure.sections)
    run_id = copy_run(template, config.output_dir, estimate_again=True)
    with pytest.raises(SimulatedCrash):
        TrainingPipeline(config, trainer=Dies.from_config(config), confirm=lambda e: True).resume(run_id)
    name = deployment_name(run_id)
    saved = RunDirectory.open(config.output_dir, run_id).state.deployment
    assert azure.standin.created == [name]
    assert (saved or {}).get("id") == (name if dies_in == "deployment_status" else None)

    outcome = TrainingPipeline(config, confirm=lambda e: True).resume(run_id)

    assert outcome.status == RunStatus.SUCCEEDED, outcome.message
    assert azure.standin.created == [name] and len(azure.standin.arm_requests("PUT")) == 1
    assert azure.standin.deleted == [] and len(azure.standin.jobs) == 1
    assert ModelRegistry(config.models.dir, FUNCTION).promoted().served_as == name


# ----- settings that cannot work: one clear error before any request ----------------------------
@pytest.mark.parametrize(("dropped", "named"), [
    (("subscription_id", "resource_group"), "azure.subscription_id, azure.resource_group: not set"),
    (("resource_name",), "azure.resource_name: not set"),
    (("deployment",), "azure.deployment: not set"),
])
def test_missing_control_plane_settings_exit_2_before_any_request(template, azure, tmp_path, capsys, dropped,
                                                                  named):
    sections = {key: dict(value) for key, value in azure.sections.items()}
    for key in dropped:
        del sections["azure"][key]
    code, report, err, run_dir = _batch(capsys, template, tmp_path, sections)

    assert code == 2, err
    assert named in report["message"] and "\n" not in report["message"]
    assert azure.standin.requests == [] and not (run_dir / "estimate.json").exists()


def test_a_missing_management_token_is_named_before_any_request(template, azure, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AZURE_MANAGEMENT_TOKEN")
    code, report, err, run_dir = _batch(capsys, template, tmp_path, azure.sections)

    assert code == 2, err
    assert "AZURE_MANAGEMENT_TOKEN" in report["message"] and azure.standin.requests == []


# ----- the control plane's answers, at the trainer ----------------------------------------------
def _trainer(azure: Harness, **overrides: Any) -> AzureOpenAITrainer:
    azure.standin.trained_models[TRAINED] = [("status of order 7?", "Shipped on Monday.")]
    return AzureOpenAITrainer(**{**azure.settings, "max_retries": 2, **overrides})


def test_a_put_whose_answer_is_lost_is_looked_up_before_a_retry(azure):
    azure.standin.lose_next_creations()
    deployment = _trainer(azure).deploy(TRAINED, run_id="run-lost")

    assert deployment.served_as == deployment.id == deployment_name("run-lost") and deployment.model == TRAINED
    assert azure.standin.created == [deployment.id] and len(azure.standin.arm_requests("PUT")) == 1


def test_a_put_answered_with_a_5xx_before_creating_is_retried_once(azure):
    azure.standin.inject_errors(503, 1, method="PUT", path_prefix="/subscriptions/")
    deployment = _trainer(azure).deploy(TRAINED, run_id="run-503")

    assert azure.standin.created == [deployment.id] and len(azure.standin.arm_requests("PUT")) == 2
    assert len(azure.standin.arm_requests("GET")) == 1  # looked up between the two


def test_a_deployment_is_waited_for_and_one_never_ready_is_torn_down_at_its_bound(azure):
    trainer = _trainer(azure)
    azure.standin.creating_gets = 2
    now = [time.time()]  # a deployment's bound counts from its creation, on this clock
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    saved: list[Deployment | None] = []
    served = open_deployment(trainer, TRAINED, run_id="run-ready", saved=None, save=saved.append, sleep=sleep,
                             clock=lambda: now[0])
    assert served.served_as == deployment_name("run-ready") and len(slept) == 2 and saved[-1].id == served.served_as
    assert trainer.complete(served.served_as, [{"role": "user", "content": "status of order 7?"}],
                            max_tokens=20).text == "Shipped on Monday."

    azure.standin.never_ready()
    with pytest.raises(DeploymentNotReady, match="not ready after 30 min.*torn down"):
        open_deployment(trainer, TRAINED, run_id="run-never", saved=None, save=saved.append, sleep=sleep,
                        clock=lambda: now[0])
    assert azure.standin.deleted == [deployment_name("run-never")] and saved[-1] is None


def test_a_refused_token_names_its_variable_and_is_not_retried(azure, monkeypatch):
    monkeypatch.setenv("AZURE_MANAGEMENT_TOKEN", "an-expired-token")
    with pytest.raises(TrainerAPIError, match="refused the management token .401 AuthenticationFailed.*"
                                              "set AZURE_MANAGEMENT_TOKEN"):
        _trainer(azure).deploy(TRAINED, run_id="run-401")
    assert len(azure.standin.arm_requests("PUT")) == 1 and azure.standin.created == []


def test_an_account_that_is_not_there_names_the_settings(azure):
    with pytest.raises(ConfigError, match="ParentResourceNotFound.*check azure.subscription_id, "
                                          "azure.resource_group and azure.resource_name"):
        _trainer(azure, resource_name="another-account").deploy(TRAINED, run_id="run-404")
    assert azure.standin.created == []

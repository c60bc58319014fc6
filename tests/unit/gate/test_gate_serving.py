"""The gate judges what production runs: a candidate its provider serves only once deployed gets one
deployment, waited for within the bound the budget held and torn down unless promoted; the function's
live hook is applied to both models' replies.

The provider stand-ins (tests/integration) drive the real SDKs; these tests pin the orchestration
with a trainer that keeps its deployments in memory, so each path (ready, failed, never ready, a
crash mid-replay, a resume) is cheap to reach."""

from __future__ import annotations

import pytest

from vectortrainer.budget.serving import Hosting, hosting_for
from vectortrainer.gate.holdout import HeldOutCase
from vectortrainer.gate.model_gate import ActiveHook, GateSettings, evaluate_candidate
from vectortrainer.gate.promotion import judge_and_keep
from vectortrainer.gate.serving import DeploymentNotReady, open_deployment
from vectortrainer.hooks.template import render_hook
from vectortrainer.registry.models import ModelRegistry
from vectortrainer.rules.model import Rule, rules_document
from vectortrainer.training.base import Completion
from vectortrainer.training.deployments import Deployment, DeploymentState, DeploymentStatus

SETTINGS = GateSettings(margin=0.02, tolerance=0.05, semantic=False)
CASES = [HeldOutCase("steady", [{"role": "user", "content": f"q{i}"}], f"the color is {i}") for i in range(10)]


class _DeployingTrainer:
    """Serves ``ft:new`` only through a deployment that becomes ready after ``pending_reads``."""

    name = "azure"
    base_model = "gpt-4o-mini-2024-07-18"

    def __init__(self, pending_reads: int = 2, ends_as: DeploymentState = DeploymentState.READY,
                 fail_replies: bool = False) -> None:
        self.pending_reads, self.ends_as, self.fail_replies = pending_reads, ends_as, fail_replies
        self.created: list[Deployment] = []
        self.deleted: list[str] = []
        self.asked: list[str] = []
        self.reads = 0

    def hosting(self) -> Hosting:
        return hosting_for("azure", self.base_model)

    def base_served_as(self) -> str:
        return "prod-base"

    def reported_shutdown(self):
        return None

    def find_deployment(self, model, *, run_id):
        return next((d for d in self.created if d.id not in self.deleted and run_id in d.id), None)

    def deploy(self, model, *, run_id):
        deployment = Deployment("azure", f"vt-{run_id}", model, f"vt-{run_id}", 1.7)
        self.created.append(deployment)
        return deployment

    def deployment_status(self, deployment):
        self.reads += 1
        if deployment.id in self.deleted:
            return DeploymentStatus(DeploymentState.GONE)
        if self.reads <= self.pending_reads:
            return DeploymentStatus(DeploymentState.PENDING, "Creating")
        return DeploymentStatus(self.ends_as, "Succeeded" if self.ends_as is DeploymentState.READY else "Failed")

    def tear_down(self, deployment):
        self.deleted.append(deployment.id)

    def complete_many(self, model, conversations, *, max_tokens):
        self.asked.append(model)
        if self.fail_replies:
            raise RuntimeError("the provider went away")
        good = model.startswith("vt-")
        return [Completion(f"the colour is {i}" if good else "no idea", 10, 5) for i in range(len(conversations))]


def _judge(trainer, tmp_path, saved=None, run_id="run1"):
    states: list[Deployment | None] = []
    promotion = judge_and_keep(
        ModelRegistry(tmp_path / "models", "f"), trainer, model="ft:new", run_id=run_id, data_sha256="x",
        cases=CASES, settings=SETTINGS, scorer=lambda: None, decision_path=tmp_path / "gate.json",
        saved_deployment=saved, save_deployment=states.append,
    )
    return promotion, states


def test_a_deployed_candidate_is_asked_through_its_deployment_and_kept_when_promoted(tmp_path):
    trainer = _DeployingTrainer()
    promotion, states = _judge(trainer, tmp_path)
    assert promotion.promoted and trainer.asked == ["vt-run1", "prod-base"]
    assert len(trainer.created) == 1 and trainer.deleted == []
    assert states[0] is not None and states[-1] is None  # saved before waiting, handed to the registry after
    entry = ModelRegistry(tmp_path / "models", "f").promoted()
    assert entry.serving["served_as"] == "vt-run1" and entry.served_as == "vt-run1"
    serving = promotion.decision.serving
    assert serving["kept"] and serving["deployment"] == "vt-run1" and serving["hosting_usd"] == 1.7  # a started hour


def test_a_candidate_that_is_not_promoted_has_its_deployment_torn_down(tmp_path):
    trainer = _DeployingTrainer()
    trainer.complete_many = lambda model, conversations, *, max_tokens: [  # both equally wrong
        Completion("no idea", 10, 5) for _ in conversations]
    promotion, states = _judge(trainer, tmp_path)
    assert not promotion.promoted and promotion.decision.outcome == "keep"
    assert trainer.deleted == ["vt-run1"] and states[-1] is None
    assert ModelRegistry(tmp_path / "models", "f").list()[0].serving == {}


@pytest.mark.parametrize("ends_as", [DeploymentState.FAILED, DeploymentState.GONE])
def test_a_deployment_that_fails_is_torn_down_and_is_not_enough_evidence(tmp_path, ends_as):
    trainer = _DeployingTrainer(ends_as=ends_as)
    promotion, _ = _judge(trainer, tmp_path)
    assert not promotion.promoted and promotion.decision.outcome == "not_enough_evidence"
    assert "could not answer the gate" in promotion.reason and trainer.deleted == ["vt-run1"]
    assert trainer.asked == []  # nothing was asked of a model that could not answer


def test_a_deployment_never_ready_is_given_up_at_the_bound_the_budget_held(tmp_path):
    trainer = _DeployingTrainer(pending_reads=10**9)
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    deployment = Deployment("azure", "vt-run1", "ft:new", "vt-run1", 1.7, created_at=1000.0)
    with pytest.raises(DeploymentNotReady, match="not ready after 30 min"):
        open_deployment(trainer, "ft:new", run_id="run1", saved=deployment, save=lambda d: None,
                        sleep=sleep, clock=lambda: now[0])
    assert now[0] == 1000.0 + trainer.hosting().ready_within_s and trainer.deleted == ["vt-run1"]
    assert trainer.created == []  # the saved one was waited for: none created


def test_a_resumed_gate_finds_its_deployment_again_and_creates_none(tmp_path):
    trainer = _DeployingTrainer()
    saved = trainer.deploy("ft:new", run_id="run1")
    promotion, _ = _judge(trainer, tmp_path, saved=saved)
    assert promotion.promoted and len(trainer.created) == 1


def test_a_crash_while_asking_tears_the_deployment_down(tmp_path):
    trainer = _DeployingTrainer(fail_replies=True)
    with pytest.raises(RuntimeError):
        _judge(trainer, tmp_path)
    assert trainer.deleted == ["vt-run1"]


def test_a_serverless_provider_needs_no_deployment(tmp_path):
    trainer = _DeployingTrainer()
    trainer.hosting = lambda: hosting_for("together", "Qwen/Qwen2.5-7B-Instruct")  # a LoRA: serverless
    serving = open_deployment(trainer, "ft:new", run_id="run1", saved=None, save=lambda d: None)
    assert serving.served_as == "ft:new" and serving.deployment is None and trainer.created == []


def test_the_gate_judges_replies_through_the_live_hook_and_reports_both():
    hook = ActiveHook("h003", render_hook(rules_document([Rule("replace", "colour", "color")])))
    trainer = _DeployingTrainer()
    decision = evaluate_candidate(trainer, CASES, candidate="vt-run1", incumbent="base", incumbent_version=None,
                                  settings=SETTINGS, scorer=None, hook=hook)
    assert decision.hook_version == "h003" and decision.candidate_score == 1.0  # as production returns it
    bare = decision.without_hook
    assert 0.9 < bare["candidate_score"] < 1.0 and bare["outcome"] == "promote"
    assert decision.examples[0]["candidate"] == "the color is 0"


def test_a_passed_model_goes_into_canary_beside_the_model_in_service_with_its_deployment_kept(tmp_path):
    registry = ModelRegistry(tmp_path / "models", "f")
    registry.register(provider="azure", model="ft:old", promote=True)
    trainer = _DeployingTrainer()
    promotion = judge_and_keep(
        registry, trainer, model="ft:new", run_id="run1", data_sha256="x", cases=CASES, settings=SETTINGS,
        scorer=lambda: None, decision_path=tmp_path / "gate.json", canary_share=0.1)
    assert not promotion.promoted and promotion.canary_share == 0.1 and promotion.level == "info"
    assert "in canary at 10% of calls" in promotion.news and promotion.detail()["canary"] == 0.1
    route = registry.canary()
    assert route.model == "vt-run1" and route.share == 0.1 and registry.promoted().model == "ft:old"
    assert trainer.deleted == []  # the canary's share of calls is served by the gate's deployment


def test_a_model_whose_deployment_was_torn_down_cannot_be_promoted_by_hand(tmp_path):
    from vectortrainer.gate.promotion import entry_refusal

    registry = ModelRegistry(tmp_path / "models", "f")
    entry = registry.register(provider="azure", model="ft:gone",
                              serving={"served_as": "vt-1", "id": "vt-1", "torn_down": True})
    assert "its deployment vt-1 was torn down" in entry_refusal(entry)


def test_a_new_promotion_names_the_earlier_deployments_that_still_bill(tmp_path):
    trainer = _DeployingTrainer()
    first, _ = _judge(trainer, tmp_path, run_id="run1")
    trainer.reads = 0
    trainer.complete_many = lambda model, conversations, *, max_tokens: [  # run2's model is exact
        Completion(f"the color is {i}" if model == "vt-run2" else "no idea", 10, 5) for i in range(len(conversations))]
    second, _ = _judge(trainer, tmp_path, run_id="run2")
    assert first.promoted and first.still_hosted == ()
    assert second.promoted and second.still_hosted == ("m001 (vt-run1, $1.70/h)",)
    assert "still deployed for a rollback: m001 (vt-run1, $1.70/h)" in second.news
    assert "models undeploy" in second.news


def test_the_model_in_service_cannot_be_undeployed(tmp_path):
    from vectortrainer.config import Config
    from vectortrainer.errors import ModelRegistryError
    from vectortrainer.workspace import Workspace

    _judge(_DeployingTrainer(), tmp_path)
    workspace = Workspace(Config().with_overrides(**{"models.dir": str(tmp_path / "models")}))
    with pytest.raises(ModelRegistryError, match="answers calls now"):
        workspace.models.undeploy("f", "m001")
    ModelRegistry(tmp_path / "models", "f").register(provider="openai", model="ft:plain")
    assert "holds no deployment" in workspace.models.undeploy("f", "m002")


def test_the_faces_row_names_the_deployment_and_the_hook_the_replies_went_through(tmp_path):
    from vectortrainer.workspace.service import ModelRow

    hook = ActiveHook("h003", render_hook(rules_document([Rule("replace", "colour", "color")])))
    judge_and_keep(ModelRegistry(tmp_path / "models", "f"), _DeployingTrainer(), model="ft:new", run_id="run1",
                   data_sha256="x", cases=CASES, settings=SETTINGS, scorer=lambda: None,
                   decision_path=tmp_path / "gate.json", hook=hook)
    row = ModelRow.of(ModelRegistry(tmp_path / "models", "f").promoted())
    assert row.serving == "deployment vt-run1 (called as vt-run1): up, $1.70 per hour"
    assert row.served_as == "vt-run1"
    assert row.hook.startswith("replies judged through hook h003, as production returns them; without it 0.9")


def test_a_configured_hourly_price_replaces_the_recorded_one_for_deployments_only():
    from vectortrainer.budget.serving import estimate_hosting
    from vectortrainer.config import Config

    recorded = hosting_for("azure", "gpt-4o-mini-2024-07-18")
    mine = hosting_for("azure", "gpt-4o-mini-2024-07-18", hourly_usd=3.4)
    assert recorded.hourly_usd == 1.7 and mine.hourly_usd == 3.4 and "hosting_usd_per_hour" in mine.source
    assert estimate_hosting(mine, "ft:x", 10).estimated_usd == 2 * estimate_hosting(recorded, "ft:x", 10).estimated_usd
    assert hosting_for("together", "Qwen/Qwen2.5-7B-Instruct", hourly_usd=9.0).deployed is False  # serverless: no hour
    assert Config().with_overrides(**{"budget.hosting_usd_per_hour": 2.5}).budget.hosting_usd_per_hour == 2.5


def test_no_held_out_case_creates_no_deployment(tmp_path):
    # the estimate held no hosting when there is no case to ask, so none may be paid for
    trainer = _DeployingTrainer()
    promotion = judge_and_keep(
        ModelRegistry(tmp_path / "models", "f"), trainer, model="ft:new", run_id="run1", data_sha256="x",
        cases=[], settings=SETTINGS, scorer=lambda: None, decision_path=tmp_path / "gate.json")
    assert promotion.decision.outcome == "not_enough_evidence" and not promotion.promoted
    assert trainer.created == [] and trainer.asked == []

"""Serving a Fireworks LoRA fine-tune for the evaluation gate (issue 26).

A LoRA trained on Fireworks answers only on a dedicated deployment of its base model ("LoRA
models require a dedicated deployment", the SDK's ``lora.load``), so the gate:

- creates an on-demand deployment of the base model (``POST /v1/accounts/{a}/deployments``
  ``?deploymentId=vt-<run tag>-gate-<n>``): one replica, the H100s its hosting was priced
  with, addons enabled (multi-LoRA); the id carries the run's tag, so a resumed run finds
  it by a read, never by a listing, and a creation answered with a 5xx is looked up before
  it is tried again;
- once the deployment is READY, loads the LoRA onto it (``POST .../deployedModels``, the
  documented order: "once the deployment is ready, load the LoRA"), found again by a
  filtered listing so it is never loaded twice, and reports ready when that deployed model
  is DEPLOYED;
- reaches it as ``<model>#accounts/{a}/deployments/<id>`` (Fireworks' model identifier of a
  model on a given deployment);
- tears it down by unloading the LoRA and deleting the deployment (already gone: fine).

The deployment's states map onto :class:`DeploymentState`: CREATING / UPDATING /
STATE_UNSPECIFIED and a LoRA still DEPLOYING are PENDING; READY with the LoRA DEPLOYED is
READY; FAILED (or a LoRA that failed or is being unloaded) is FAILED; DELETING, DELETED or
no deployment at all is GONE.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from functools import partial
from typing import TYPE_CHECKING, Any

from vectortrainer.budget.serving import gpus_for
from vectortrainer.errors import VectorTrainerError
from vectortrainer.training.answers import field_of, is_object
from vectortrainer.training.deployments import Deployment, DeploymentState, DeploymentStatus
from vectortrainer.training.hosted import run_tag

if TYPE_CHECKING:
    from vectortrainer.training.fireworks import FireworksTrainer

DEPLOYMENTS_PER_RUN = 5  # a run whose deployments failed this often needs a person
ACCELERATOR = "NVIDIA_H100_80GB"  # what the hosting is priced with (budget/serving.py)
_PENDING = {"STATE_UNSPECIFIED", "CREATING", "UPDATING"}
_GONE = {"DELETING", "DELETED"}
_FINE_CODES = {"OK", None}  # a deployed model's status codes that say no failure


class FireworksServing:
    """The gate's deployments of one :class:`FireworksTrainer` (see the module docstring)."""

    def __init__(self, trainer: "FireworksTrainer") -> None:
        self.trainer = trainer

    # ----- names ----------------------------------------------------------------------
    def deployment_ids(self, run_id: str) -> list[str]:
        tag = run_tag(run_id)
        return [f"vt-{tag}-gate-{n}" for n in range(1, DEPLOYMENTS_PER_RUN + 1)]

    def deployment_name(self, deployment_id: str) -> str:
        return f"accounts/{self.trainer.account_id}/deployments/{deployment_id}"

    def served_as(self, model: str, deployment_id: str) -> str:
        """What a chat request names to reach ``model`` on the deployment."""
        return f"{model}#{self.deployment_name(deployment_id)}"

    # ----- find and create ------------------------------------------------------------
    def find(self, model: str, *, run_id: str) -> Deployment | None:
        """The run's newest deployment unless it is gone (a failed one is returned, so the gate
        sees it failed and tears it down)."""
        found = self._run_deployments(run_id)
        if not found:
            return None
        deployment_id, answer = found[-1]
        if field_of(answer, "state") in _GONE:
            return None
        return self._deployment(model, deployment_id, created_at=_created_at(answer))

    def deploy(self, model: str, *, run_id: str) -> Deployment:
        """The run's live deployment, else a new one of the base model (created once)."""
        import fireworks  # 0.6 s to import: only a call to the vendor needs it

        found = self._run_deployments(run_id)
        if found and field_of(found[-1][1], "state") not in _GONE:
            deployment_id, answer = found[-1]
            return self._deployment(model, deployment_id, created_at=_created_at(answer))
        if len(found) >= DEPLOYMENTS_PER_RUN:
            raise VectorTrainerError(
                f"run {run_id} already created {len(found)} Fireworks deployments for the gate; "
                "start a new run"
            )
        deployment_id = self.deployment_ids(run_id)[len(found)]
        client = self.trainer.client
        request: dict[str, Any] = dict(
            base_model=self.trainer.model, deployment_id=deployment_id,
            min_replica_count=1, max_replica_count=1,  # one replica: what the budget held
            accelerator_type=ACCELERATOR, accelerator_count=gpus_for(self.trainer.model),
            enable_addons=True,  # a LoRA can be loaded onto it
            display_name=f"vectortrainer gate {run_tag(run_id)}",
            description=f"evaluation gate of vectortrainer run {run_id}"[:200],
        )

        def create() -> str:
            try:
                answer = client.deployments.create(**request)
            except fireworks.ConflictError:  # a retry met the one the lost answer created
                return deployment_id
            self.trainer._named(answer, deployment_id, "the creation of the deployment")
            return deployment_id

        self.trainer.calls.create_once(
            "creating the deployment", create,
            lambda: deployment_id if self._get(deployment_id) is not None else None)
        return self._deployment(model, deployment_id, created_at=time.time())

    def _deployment(self, model: str, deployment_id: str, *, created_at: float) -> Deployment:
        return Deployment(
            provider="fireworks", id=deployment_id, model=model,
            served_as=self.served_as(model, deployment_id),
            hourly_usd=self.trainer.hosting().hourly_usd, created_at=created_at,
            parts={"deployment": self.deployment_name(deployment_id)},
        )

    def _get(self, deployment_id: str) -> Any:
        """The deployment ``deployment_id`` as Fireworks answered it (None: there is none)."""
        import fireworks  # 0.6 s to import: only a call to the vendor needs it

        def get() -> Any:
            try:
                answer = self.trainer.client.deployments.get(deployment_id)
            except fireworks.NotFoundError:
                return None
            return self.trainer._named(answer, deployment_id, "the request for the deployment")

        return self.trainer.calls.call("reading the deployment", get)

    def _run_deployments(self, run_id: str) -> list[tuple[str, Any]]:
        """The run's deployments so far, oldest first (numbered ids: no listing needed)."""
        found = []
        for deployment_id in self.deployment_ids(run_id):
            answer = self._get(deployment_id)
            if answer is None:
                break
            found.append((deployment_id, answer))
        return found

    # ----- state ----------------------------------------------------------------------
    def status(self, deployment: Deployment) -> DeploymentStatus:
        """The deployment's state; when it is READY, the LoRA is loaded onto it (once) and its
        state decides."""
        answer = self._get(deployment.id)
        if answer is None:
            return DeploymentStatus(DeploymentState.GONE, "Fireworks has no such deployment")
        state = str(field_of(answer, "state") or "STATE_UNSPECIFIED")
        said = _message(answer) or state
        if state == "FAILED":
            return DeploymentStatus(DeploymentState.FAILED, said)
        if state in _GONE:
            return DeploymentStatus(DeploymentState.GONE, said)
        if state != "READY":  # CREATING, UPDATING, or a state Fireworks added: not ready yet
            return DeploymentStatus(DeploymentState.PENDING, f"deployment {state.lower()}")
        loaded = self._loaded(deployment)
        if not loaded:
            self._load(deployment)
            return DeploymentStatus(DeploymentState.PENDING, "loading the LoRA")
        lora = loaded[-1]
        lora_state = str(field_of(lora, "state") or "STATE_UNSPECIFIED")
        if lora_state == "DEPLOYED":
            return DeploymentStatus(DeploymentState.READY, "the LoRA is deployed")
        code = field_of(field_of(lora, "status"), "code")
        if lora_state == "UNDEPLOYING" or code not in _FINE_CODES:
            return DeploymentStatus(DeploymentState.FAILED,
                                    f"the LoRA is {lora_state.lower()}: {_message(lora) or code}")
        return DeploymentStatus(DeploymentState.PENDING, f"LoRA {lora_state.lower()}")

    def _loaded(self, deployment: Deployment) -> list[Any]:
        """The deployed models of ``deployment.model`` on the deployment (all pages)."""
        name = self.deployment_name(deployment.id)

        def listing() -> list[Any]:
            page = self.trainer.client.lora.list(filter=f'deployment="{name}"')
            items = list(page)  # iterating an SDK page reads the pages after it
            if not all(is_object(item) for item in items):
                raise self.trainer.answers.refuse(page, action="the listing of deployed models",
                                                  wanted="deployed models")
            return items

        items = self.trainer.calls.call("listing the LoRAs on the deployment", listing)
        # the filter is the server's; the check here keeps another model's LoRA out all the same
        return [item for item in items if field_of(item, "model") == deployment.model
                and field_of(item, "deployment") in (name, None)]

    def _load(self, deployment: Deployment) -> None:
        import fireworks  # 0.6 s to import: only a call to the vendor needs it

        name = self.deployment_name(deployment.id)
        pattern = re.compile(r"accounts/[^/]+/deployedModels/[A-Za-z0-9_-]+")

        def load() -> str:
            try:
                answer = self.trainer.client.lora.load(model=deployment.model, deployment=name,
                                                       display_name=deployment.id)
            except fireworks.ConflictError:  # loaded already (a listing that lagged): the next
                return name  # read of the deployment's LoRAs finds it
            return self.trainer.answers.id(answer, pattern, field="name",
                                           action="the loading of the LoRA",
                                           wanted="a deployed model")

        def find() -> str | None:
            loaded = self._loaded(deployment)
            return str(field_of(loaded[-1], "name")) if loaded else None

        self.trainer.calls.create_once("loading the LoRA onto the deployment", load, find)

    # ----- tear down ------------------------------------------------------------------
    def tear_down(self, deployment: Deployment) -> None:
        """Unload the LoRA, then delete the deployment; what is gone already is fine."""
        import fireworks  # 0.6 s to import: only a call to the vendor needs it

        client = self.trainer.client
        answer = self._get(deployment.id)
        if answer is None or field_of(answer, "state") in _GONE:
            return
        def unload(deployed_id: str) -> None:
            try:
                client.lora.unload(deployed_id)
            except fireworks.NotFoundError:  # unloaded meanwhile (by a person, or by Fireworks)
                pass

        def delete() -> None:
            try:
                client.deployments.delete(deployment.id)
            except fireworks.NotFoundError:  # deleted meanwhile
                pass

        for lora in self._loaded(deployment):
            deployed_id = str(field_of(lora, "name") or "").rsplit("/", 1)[-1]
            if deployed_id:
                self.trainer.calls.call("unloading the LoRA", partial(unload, deployed_id))
        self.trainer.calls.call("deleting the deployment", delete)


def _message(answer: Any) -> str:
    message = field_of(field_of(answer, "status"), "message")
    return message if isinstance(message, str) else ""


def _created_at(answer: Any) -> float:
    """When Fireworks created the deployment (so its wait bound holds across a resume); now, when
    the answer does not say."""
    created = field_of(answer, "create_time")
    if isinstance(created, _dt.datetime):
        return created.timestamp()
    return time.time()

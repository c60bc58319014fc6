"""Serving a candidate for the gate: the deployment its provider needs, created once, waited for
within a bound, torn down afterwards unless the model is promoted (issue 26).

A provider whose fine-tunes answer at once needs nothing here. Otherwise:

- the deployment is found again (the run saved it, or the provider lists it under the run's
  name) or created, and saved in the run's state before anything waits on it, so a crash never
  leads to a second one;
- its wait for readiness ends ``Hosting.ready_within_s`` after it was created (the bound the
  budget held), also across a resume; a deployment that failed or never became ready is torn
  down and the model is "not enough evidence", never promoted;
- after the replies it is torn down, unless the model is promoted: then it is what production
  calls (the registry entry's ``serving``) and keeps billing by the hour, which the summary says.

The hosting billed is its lifetime at the provider's granularity times its hourly price.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vectortrainer.budget.serving import Hosting
from vectortrainer.errors import VectorTrainerError
from vectortrainer.json_types import JSONObject
from vectortrainer.training.base import BaseTrainer
from vectortrainer.training.deployments import Deployment, DeploymentState

POLL_S = 10.0  # between two reads of a deployment's state

SaveDeployment = Callable[[Deployment | None], None]
Progress = Callable[[int, int, str], None]


class DeploymentNotReady(VectorTrainerError):
    """A gate deployment failed, vanished or was not ready within its bound (it was torn down)."""


@dataclass
class GateServing:
    """How the candidate answered the gate, and what hosting it took."""

    served_as: str
    hosting: Hosting
    deployment: Deployment | None = None
    waited_s: float = 0.0
    hosted_s: float = 0.0
    hosting_usd: float = 0.0
    kept: bool = False  # promoted: the deployment stays and serves production
    torn_down: bool = False

    def to_dict(self) -> JSONObject:
        return {
            "served_as": self.served_as,
            "deployed": self.deployment is not None,
            "what": self.hosting.what,
            "deployment": self.deployment.id if self.deployment else None,
            "hourly_usd": self.hosting.hourly_usd if self.deployment else 0.0,
            "waited_s": round(self.waited_s, 1),
            "hosted_s": round(self.hosted_s, 1),
            "hosting_usd": self.hosting_usd,
            "kept": self.kept,
            "torn_down": self.torn_down,
        }

    @property
    def news(self) -> str:
        """The run's log line about the deployment (``""``: none was needed)."""
        if self.deployment is None:
            return ""
        after = (
            f"kept: it serves production at ${self.hosting.hourly_usd:.2f} per hour until "
            "another model is promoted (tear it down at the provider when you stop using it)"
            if self.kept else "torn down"
        )
        return (f"deployment {self.deployment.id} ({self.hosting.what}) hosted the gate for "
                f"{self.hosted_s / 60:.1f} min, ${self.hosting_usd:.4f}; {after}")


def open_deployment(
    trainer: BaseTrainer,
    model: str,
    *,
    run_id: str,
    saved: Deployment | None,
    save: SaveDeployment,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> GateServing:
    """``model`` ready to answer (see the module docstring); raises :class:`DeploymentNotReady`
    after tearing down a deployment that will not answer."""
    hosting = trainer.hosting()
    if not hosting.deployed:
        return GateServing(served_as=model, hosting=hosting)
    deployment = (
        saved if saved is not None and saved.model == model
        else trainer.find_deployment(model, run_id=run_id) or trainer.deploy(model, run_id=run_id)
    )
    save(deployment)  # before any wait: a resumed run finds it, never creates a second
    serving = GateServing(served_as=deployment.served_as, hosting=hosting, deployment=deployment)
    deadline = deployment.created_at + hosting.ready_within_s
    started = clock()
    while True:
        status = trainer.deployment_status(deployment)
        if status.state is DeploymentState.READY:
            serving.waited_s = clock() - started
            return serving
        waited = clock() - deployment.created_at
        if status.state in (DeploymentState.FAILED, DeploymentState.GONE) or clock() >= deadline:
            why = (
                f"it is {status.state.value}" + (f" ({status.said})" if status.said else "")
                if status.state is not DeploymentState.PENDING
                else f"it was not ready after {waited / 60:.0f} min, the bound the budget held"
            )
            close_deployment(trainer, serving, keep=False, save=save, clock=clock)
            raise DeploymentNotReady(
                f"the deployment {deployment.id} of {model} could not answer the gate: {why}; "
                f"it was torn down (hosting ${serving.hosting_usd:.4f}). Train again later, or "
                "deploy the model yourself and promote it by hand (vectortrainer models promote)"
            )
        if progress is not None:
            progress(0, 2, f"waiting for deployment {deployment.id} ({waited / 60:.1f} min, "
                           f"{status.said or status.state.value})")
        sleep(min(POLL_S, max(0.0, deadline - clock())))


def close_deployment(trainer: BaseTrainer, serving: GateServing, *, keep: bool,
                     save: SaveDeployment, clock: Callable[[], float] = time.time) -> None:
    """Tear the gate's deployment down unless ``keep`` (the model was promoted); price its
    hosting so far either way."""
    deployment = serving.deployment
    if deployment is None:
        return
    if keep:
        serving.kept = True
    else:
        trainer.tear_down(deployment)
        serving.torn_down = True
    save(None)  # the run owns it no more: torn down, or the registry's entry holds it
    serving.hosted_s = max(0.0, clock() - deployment.created_at)
    serving.hosting_usd = serving.hosting.usd_for(serving.hosted_s)

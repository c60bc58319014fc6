"""A dedicated endpoint on Together AI for the gate to judge a full fine-tune (issue 26).

A LoRA fine-tune of a serverless base answers at once; a full fine-tune answers only once
deployed. With the ``together`` SDK (3.x) that is the projects API (``/v2/projects/{project}``):

- the project is ``TOGETHER_PROJECT_ID`` (what the SDK's client reads), else the key's own
  (``GET /v3/whoami``: a project key names its project);
- the fine-tune is the project's model of the job's output name (``GET .../models``), deployed by
  its resource name ``projects/{project}/models/{id}``, as the SDK's own ``tg endpoints deploy``
  resolves a named project model;
- ``POST .../endpoints`` creates the endpoint, ``POST .../endpoints/{id}/deployments`` one
  deployment of the model on one replica (``autoscaling`` min = max = 1: the hosting bound prices
  one), no config given (the SDK's types make it optional: the model's default serves);
- both are named ``vectortrainer-<run tag>``, so a resumed run finds them again (a name taken
  answers 409: the one already there is used), and a creation answered with a 5xx is looked up
  before it is tried again: a run never pays for a second one;
- requests name the deployment itself (``<project slug>/<endpoint>/<deployment>``), which the
  SDK documents as reaching it directly; the endpoint's own name routes only through a traffic
  split, one more write a crash could leave undone;
- its ``status.state`` maps to :class:`DeploymentState` (``_STATES``); teardown deletes the
  deployment, then the endpoint (the API refuses, 409, an endpoint that still has deployments:
  then it is left, billing nothing); a 404 on either is "already gone".
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from vectortrainer.errors import ConfigError, VectorTrainerError
from vectortrainer.training.answers import field_of
from vectortrainer.training.deployments import Deployment, DeploymentState, DeploymentStatus
from vectortrainer.training.hosted import run_tag

if TYPE_CHECKING:
    from vectortrainer.training.together import TogetherTrainer

T = TypeVar("T")
NAME_PREFIX = "vectortrainer-"
_STATES = {
    "DEPLOYMENT_STATE_PROVISIONING": DeploymentState.PENDING,
    "DEPLOYMENT_STATE_SCALING": DeploymentState.PENDING,
    "DEPLOYMENT_STATE_READY": DeploymentState.READY,
    # fewer replicas ready than wanted: one of one ready still answers (see ``_state``)
    "DEPLOYMENT_STATE_DEGRADED": DeploymentState.PENDING,
    "DEPLOYMENT_STATE_FAILED": DeploymentState.FAILED,
    # its replicas released (scaled to zero, stopped by hand): it answers nothing until started
    "DEPLOYMENT_STATE_STOPPING": DeploymentState.FAILED,
    "DEPLOYMENT_STATE_STOPPED": DeploymentState.FAILED,
}


def endpoint_name(run_id: str) -> str:
    """The endpoint's and its deployment's name for ``run_id`` (lower-case, DNS-friendly)."""
    return NAME_PREFIX + run_tag(run_id)


def _named(item: Any, name: str) -> bool:
    """Whether ``item`` is called ``name`` (the API qualifies names with the project's slug and,
    for a deployment, its endpoint's)."""
    qualified = field_of(item, "name")
    return isinstance(qualified, str) and qualified.rsplit("/", 1)[-1] == name


class TogetherEndpoints:
    """The dedicated endpoint of one trainer's full fine-tunes; see the module docstring."""

    def __init__(self, trainer: "TogetherTrainer") -> None:
        self.trainer = trainer
        self._project: str | None = None

    # -- the project ---------------------------------------------------------------------
    def project(self) -> str:
        if self._project is None:
            self._project = getattr(self.trainer.client, "project_id", None) or self._key_project()
        return self._project

    def _key_project(self) -> str:
        who = self.trainer.calls.call("asking Together which project the key belongs to",
                                      lambda: self.trainer.client.whoami())
        project = field_of(field_of(who, "project"), "id")
        if not isinstance(project, str) or not project:
            raise ConfigError(
                "a full fine-tune answers on a dedicated endpoint, which belongs to a Together "
                "project, and the key is no project key: set TOGETHER_PROJECT_ID"
            )
        return project

    # -- the four steps ------------------------------------------------------------------
    def deploy(self, model: str, *, run_id: str) -> Deployment:
        name = endpoint_name(run_id)
        path = self._model_path(model)
        endpoint = self._find_endpoint(name)  # an earlier attempt may have made it
        if endpoint is None:
            endpoint = self._create(
                "creating the dedicated endpoint",
                lambda: self.trainer.client.endpoints.create(name=name, project_id=self.project()),
                lambda: self._find_endpoint(name),
            )
        endpoint_id = self._id(endpoint, "the creation of the endpoint")
        deployment = self._find_deployment(endpoint_id, name)
        if deployment is None:
            deployment = self._create(
                "creating the endpoint's deployment",
                lambda: self.trainer.client.endpoints.deployments.create(
                    endpoint_id, project_id=self.project(), name=name, model=path,
                    autoscaling={"min_replicas": 1, "max_replicas": 1},
                ),
                lambda: self._find_deployment(endpoint_id, name),
            )
        return self._deployment(model, endpoint_id, deployment)

    def find(self, model: str, *, run_id: str) -> Deployment | None:
        name = endpoint_name(run_id)
        endpoint = self._find_endpoint(name)
        if endpoint is None:
            return None
        endpoint_id = self._id(endpoint, "the listing of endpoints")
        deployment = self._find_deployment(endpoint_id, name)
        return self._deployment(model, endpoint_id, deployment) if deployment is not None else None

    def status(self, deployment: Deployment) -> DeploymentStatus:
        answer = self._unless_gone("reading the deployment's state",
                                   lambda: self.trainer.client.endpoints.deployments.retrieve(
                                       deployment.id, project_id=self.project(),
                                       endpoint_id=deployment.parts["endpoint_id"]))
        if answer is None:
            return DeploymentStatus(DeploymentState.GONE, "Together has no such deployment")
        return _state(field_of(answer, "status"))

    def tear_down(self, deployment: Deployment) -> None:
        endpoint_id = deployment.parts["endpoint_id"]
        self._unless_gone("deleting the deployment",
                          lambda: self.trainer.client.endpoints.deployments.delete(
                              deployment.id, project_id=self.project(), endpoint_id=endpoint_id))
        sdk = self.trainer.calls.sdk

        def delete_endpoint() -> None:
            try:
                self.trainer.client.endpoints.delete(endpoint_id, project_id=self.project())
            except sdk.ConflictError:
                # its deployment is still being removed: an endpoint without a deployment bills
                # nothing, and a resumed run reuses it by its name
                pass

        self._unless_gone("deleting the endpoint", delete_endpoint)

    # -- helpers -------------------------------------------------------------------------
    def _model_path(self, model: str) -> str:
        """The resource name of the project's model ``model`` (the job's output name)."""
        models = self._listing("listing the project's models", "a list of models",
                               lambda: self.trainer.client.models.list(project_id=self.project()))
        bare = model.rsplit("/", 1)[-1]
        for item in models:
            if field_of(item, "name") == model or _named(item, bare):
                owner = field_of(item, "project_id") or self.project()
                return f"projects/{owner}/models/{self._id(item, 'the listing of models')}"
        raise VectorTrainerError(
            f"Together lists no model {model} in project {self.project()}, so it cannot be "
            "deployed for the evaluation gate; resume the run once the model is listed there, "
            "or deploy it yourself and promote it by hand (vectortrainer models promote)"
        )

    def _find_endpoint(self, name: str) -> Any:
        endpoints = self._listing("listing the dedicated endpoints", "a list of endpoints",
                                  lambda: self.trainer.client.endpoints.list(
                                      project_id=self.project()))
        return next((e for e in endpoints if _named(e, name)), None)

    def _find_deployment(self, endpoint_id: str, name: str) -> Any:
        deployments = self._listing("listing the endpoint's deployments", "a list of deployments",
                                    lambda: self.trainer.client.endpoints.deployments.list(
                                        endpoint_id, project_id=self.project()))
        return next((d for d in deployments if _named(d, name)), None)

    def _listing(self, action: str, wanted: str, fn: Callable[[], Any]) -> list[Any]:
        return self.trainer.calls.call(action, lambda: self.trainer.answers.listing(
            fn(), action=f"the request {action}", wanted=wanted))

    def _create(self, action: str, create: Callable[[], Any], find: Callable[[], Any]) -> Any:
        """``create()`` once (see :meth:`CallPolicy.create_once`); a 409 says the name is taken,
        by our own earlier attempt: that one is used."""
        sdk = self.trainer.calls.sdk

        def attempt() -> Any:
            try:
                return create()
            except sdk.ConflictError:
                existing = find()
                if existing is None:
                    raise
                return existing

        return self.trainer.calls.create_once(action, attempt, find)

    def _unless_gone(self, action: str, fn: Callable[[], T]) -> T | None:
        """``fn()`` (retried), or None when Together answers 404: it is gone already."""
        sdk = self.trainer.calls.sdk

        def attempt() -> T | None:
            try:
                return fn()
            except sdk.NotFoundError:
                return None

        return self.trainer.calls.call(action, attempt)

    def _id(self, answer: Any, action: str) -> str:
        value = field_of(answer, "id")
        if isinstance(value, str) and value and len(value) <= 200 and value.isprintable():
            return value
        raise self.trainer.answers.refuse(answer, action=action, wanted="an object with an id")

    def _deployment(self, model: str, endpoint_id: str, answer: Any) -> Deployment:
        served_as = field_of(answer, "name")
        if not isinstance(served_as, str) or not served_as:
            raise self.trainer.answers.refuse(answer, action="the request for the deployment",
                                              wanted="a deployment with its name")
        created = field_of(answer, "created_at")
        return Deployment(
            provider="together",
            id=self._id(answer, "the request for the deployment"),
            model=model,
            served_as=served_as,
            hourly_usd=self.trainer.hosting().hourly_usd,
            # Together's own time: the wait's bound holds from the creation, across a resume
            created_at=created.timestamp() if isinstance(created, _dt.datetime) else time.time(),
            parts={"endpoint_id": endpoint_id},
        )


def _state(status: Any) -> DeploymentStatus:
    """A deployment's ``status`` as a :class:`DeploymentStatus`; a state Together does not
    document (or none) is pending: the wait's bound ends it."""
    state, message = field_of(status, "state"), field_of(status, "message")
    said = message if isinstance(message, str) else ""
    mapped = _STATES.get(state) if isinstance(state, str) else None
    if mapped is None:
        return DeploymentStatus(DeploymentState.PENDING, said or f"Together said {state!r}")
    ready = field_of(status, "ready_replicas")
    if state == "DEPLOYMENT_STATE_DEGRADED" and isinstance(ready, int) and ready > 0:
        mapped = DeploymentState.READY
    return DeploymentStatus(mapped, said or str(state).removeprefix("DEPLOYMENT_STATE_").lower())

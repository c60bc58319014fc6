"""Azure OpenAI deployments through the Azure Resource Manager (ARM) REST control plane (issue 26).

A fine-tuned model answers on Azure only through a deployment, which is an ARM resource of the
Azure OpenAI account, not part of the data-plane API the trainer fine-tunes with:

    PUT    {management_url}/subscriptions/{sub}/resourceGroups/{rg}/providers/
           Microsoft.CognitiveServices/accounts/{account}/deployments/{name}?api-version=2024-10-01
    GET    the same URL: ``properties.provisioningState`` (Accepted / Creating -> Succeeded,
           or Failed / Canceled; 404 once it is gone)
    DELETE the same URL

The calls carry an Azure AD bearer token read from the variable ``azure.management_token_env``
names (never the data plane's ``api-key``), go through ``httpx`` with the deadline of
:mod:`~vectortrainer.training.deadline`, and are retried by a
:class:`~vectortrainer.training.calls.CallPolicy` like every SDK call: its exception classes
are this module's ``ARM_ERRORS``. A 401/403 names the token's variable, a 404 of the account
names the settings that locate it. A PUT answered with a 5xx or lost on the way is looked up
(GET) before it is tried again, so a retry never adds a second deployment.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from vectortrainer.config import api_key_env_problem, url_problem
from vectortrainer.errors import ConfigError, MissingAPIKeyError, TrainerAPIError
from vectortrainer.json_types import JSONObject
from vectortrainer.redaction import register_secret_env
from vectortrainer.training.answers import AnswerCheck, field_of
from vectortrainer.training.calls import CallPolicy, api_error_detail
from vectortrainer.training.deadline import deadline_http_client
from vectortrainer.training.deployments import Deployment, DeploymentState, DeploymentStatus

if TYPE_CHECKING:
    import httpx  # only a call to Azure needs it

MANAGEMENT_URL = "https://management.azure.com"
MANAGEMENT_API_VERSION = "2024-10-01"  # the GA Microsoft.CognitiveServices version this speaks
TOKEN_ENV = "AZURE_MANAGEMENT_TOKEN"
TITLE = "Azure Resource Manager"
URL_SETTING = "azure.management_url"
LOCATING_KEYS = ("subscription_id", "resource_group", "resource_name")
# A fine-tuned model deploys as one unit of the Standard SKU, its version always "1".
SKU: JSONObject = {"name": "standard", "capacity": 1}
_STATES = {
    "Accepted": DeploymentState.PENDING,
    "Creating": DeploymentState.PENDING,
    "Running": DeploymentState.PENDING,
    "Updating": DeploymentState.PENDING,
    "Moving": DeploymentState.PENDING,
    "Succeeded": DeploymentState.READY,
    "Failed": DeploymentState.FAILED,
    "Canceled": DeploymentState.FAILED,
    "Disabled": DeploymentState.FAILED,
    "Deleting": DeploymentState.GONE,
}
# 404 codes that say the account (or its group, or subscription) is not there: the settings
# are wrong. Any other 404 says the deployment is not there.
_ACCOUNT_MISSING = frozenset({"ParentResourceNotFound", "ResourceGroupNotFound",
                              "SubscriptionNotFound", "InvalidSubscriptionId"})


class ArmStatusError(Exception):
    """An ARM answer with an error status; read by ``CallPolicy`` as an SDK's ``APIStatusError``
    (``status_code``, ``body``, ``message``, and ``response`` for its retry-after headers)."""

    def __init__(self, status_code: int, body: Any, response: Any) -> None:
        self.status_code, self.body, self.response = status_code, body, response
        self.message = api_error_detail(self)[1] if isinstance(body, dict) else str(body)[:200]
        super().__init__(f"{status_code}: {self.message}")


class ArmConnectionError(Exception):
    """ARM could not be reached (read as an SDK's ``APIConnectionError``: retried)."""


class ArmTimeoutError(ArmConnectionError):
    """No complete answer within the deadline (read as an SDK's ``APITimeoutError``)."""


# CallPolicy finds a vendor SDK's exception classes on its module; these stand for them here.
ARM_ERRORS = ModuleType("azure_resource_manager")
vars(ARM_ERRORS).update(APIStatusError=ArmStatusError, APIConnectionError=ArmConnectionError,
                        APITimeoutError=ArmTimeoutError)


@dataclass(frozen=True)
class ControlPlane:
    """Where the Azure OpenAI account is, and the variable that holds the token for it."""

    management_url: str = MANAGEMENT_URL
    subscription_id: str | None = None
    resource_group: str | None = None
    resource_name: str | None = None
    token_env: str = TOKEN_ENV

    def check(self) -> None:
        """Refuse, without a request, settings that cannot locate the account (one line)."""
        missing = [f"azure.{key}" for key in LOCATING_KEYS if not getattr(self, key)]
        if missing:
            raise ConfigError(
                f"{', '.join(missing)}: not set; the evaluation gate deploys the fine-tuned model "
                "through Azure's control plane, which needs the subscription id, the resource "
                "group and the Azure OpenAI resource's name (the portal's resource page shows them)"
            )
        problem = url_problem(self.management_url)
        if problem:
            raise ConfigError(f"{URL_SETTING}: {problem}")
        problem = api_key_env_problem(self.token_env)
        if problem:
            raise ConfigError(f"azure.management_token_env: {problem}")

    def token(self) -> str:
        """The bearer token; ``MissingAPIKeyError`` names its variable."""
        token = os.environ.get(self.token_env)
        if not token:
            raise MissingAPIKeyError(
                f"no Azure management token: set the {self.token_env} environment variable to an "
                "Azure AD access token for management.azure.com (az account get-access-token), or "
                "name another variable in azure.management_token_env"
            )
        return token

    def url(self, name: str) -> str:
        parts = [self.subscription_id, self.resource_group, self.resource_name, name]
        sub, group, account, deployment = (urllib.parse.quote(str(p), safe="") for p in parts)
        return (f"{self.management_url.rstrip('/')}/subscriptions/{sub}/resourceGroups/{group}"
                f"/providers/Microsoft.CognitiveServices/accounts/{account}/deployments/{deployment}")


class AzureDeployments:
    """Create, read and delete deployments of one Azure OpenAI account."""

    def __init__(self, plane: ControlPlane, *, retries: int = 3, timeout_s: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.plane = plane
        self.timeout_s = timeout_s
        self.policy = CallPolicy(ARM_ERRORS, TITLE, retries=retries, config_section="azure",
                                 sleep=sleep, timeout_s=timeout_s, url_setting=URL_SETTING)
        self.answers = AnswerCheck(TITLE, URL_SETTING)
        self._http: httpx.Client | None = None
        register_secret_env(plane.token_env)  # the token is redacted wherever text is written

    def create(self, name: str, model: str, *, hourly_usd: float) -> Deployment:
        """Deploy ``model`` as ``name`` (found again instead when a failed PUT created it)."""
        body = {"sku": SKU, "properties": {"model": {"format": "OpenAI", "name": model,
                                                     "version": "1"}}}
        action = f"creating the deployment {name} of {model}"
        return self.policy.create_once(
            action,
            lambda: self._deployment(self._send("PUT", name, body)[1], name, model, hourly_usd,
                                     action=f"the creation of the deployment {name}",
                                     created_at=time.time()),
            lambda: self.find(name, model, hourly_usd=hourly_usd))

    def find(self, name: str, model: str, *, hourly_usd: float) -> Deployment | None:
        """The deployment ``name`` when it exists and serves ``model``."""
        answer = self.read(name)
        if answer is None or _model_of(answer) != model:
            return None
        return self._deployment(answer, name, model, hourly_usd,
                                action=f"the request for the deployment {name}",
                                created_at=_created_at(answer))

    def status(self, name: str) -> DeploymentStatus:
        answer = self.read(name)
        if answer is None:
            return DeploymentStatus(DeploymentState.GONE, "not found")
        said = field_of(field_of(answer, "properties"), "provisioningState")
        state = _STATES.get(said) if isinstance(said, str) else None
        # a state ARM does not document is waited out: the gate's wait ends at its bound
        return DeploymentStatus(state or DeploymentState.PENDING, f"provisioningState {said}")

    def read(self, name: str) -> JSONObject | None:
        """The deployment resource ``name`` (None: not there)."""
        status, answer = self.policy.call(f"reading the deployment {name}",
                                          lambda: self._send("GET", name))
        if status == 404:
            return None
        if not isinstance(answer, dict):
            raise self.answers.refuse(answer, action=f"the request for the deployment {name}",
                                      wanted="a deployment")
        return answer

    def delete(self, name: str) -> None:
        """Delete ``name``; one already gone is fine."""
        self.policy.call(f"deleting the deployment {name}", lambda: self._send("DELETE", name))

    # -- one request ----------------------------------------------------------------------
    def _send(self, method: str, name: str, body: JSONObject | None = None) -> tuple[int, Any]:
        """One request: ``(status, answer)`` for a success or a 404 of the deployment; an
        ``ArmStatusError`` (retried when retriable) or a one-line error otherwise."""
        import httpx

        self.plane.check()  # settings that locate no account never reach a request
        headers = {"Authorization": f"Bearer {self.plane.token()}"}
        try:
            response = self._client().request(method, self.plane.url(name), json=body,
                                              params={"api-version": MANAGEMENT_API_VERSION},
                                              headers=headers)
        except httpx.TimeoutException as exc:
            raise ArmTimeoutError(str(exc) or type(exc).__name__) from None
        except httpx.TransportError as exc:
            raise ArmConnectionError(str(exc) or type(exc).__name__) from None
        answer = _answer_of(response)
        status = response.status_code
        if status < 400:
            return status, answer
        code, message = api_error_detail(ArmStatusError(status, answer, response))
        if status in (401, 403):
            raise TrainerAPIError(
                f"{method} of the deployment {name}: Azure refused the management token "
                f"({status}{' ' + code if code else ''}: {message}); set {self.plane.token_env} to "
                "a current token of an identity allowed to manage the account's deployments"
            )
        if status == 404 and code in _ACCOUNT_MISSING:
            raise ConfigError(
                f"{method} of the deployment {name}: Azure found no such account ({code}: "
                f"{message}); check azure.subscription_id, azure.resource_group and "
                "azure.resource_name"
            )
        if status == 404:
            return status, answer
        raise ArmStatusError(status, answer, response)

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx

            sdk = ModuleType("httpx_client")  # what deadline_http_client builds its client from
            vars(sdk).update(DefaultHttpxClient=httpx.Client)
            self._http = deadline_http_client(sdk)
            self._http.timeout = httpx.Timeout(self.timeout_s)
        return self._http

    def _deployment(self, answer: Any, name: str, model: str, hourly_usd: float, *, action: str,
                    created_at: float) -> Deployment:
        if not isinstance(answer, dict) or field_of(answer, "name") != name:
            raise self.answers.refuse(answer, action=action, wanted=f"the deployment {name}")
        resource = field_of(answer, "id")
        return Deployment(provider="azure", id=name, model=model, served_as=name,
                          hourly_usd=hourly_usd, created_at=created_at,
                          parts={"resource_id": resource} if isinstance(resource, str) else {})


def _answer_of(response: Any) -> Any:
    """The JSON of ``response``, else its text (which the answer checks refuse in one line)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _model_of(answer: JSONObject) -> Any:
    return field_of(field_of(field_of(answer, "properties"), "model"), "name")


def _created_at(answer: JSONObject) -> float:
    """When ARM says the deployment was created (``systemData.createdAt``), never after now: a
    resumed run's wait for readiness counts from there."""
    now = time.time()
    value = field_of(field_of(answer, "systemData"), "createdAt")
    if not isinstance(value, str):
        return now
    try:
        moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return min(now, moment.timestamp())

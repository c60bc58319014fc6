"""A loopback stand-in for Azure OpenAI with its control plane: the data plane of
``OpenAIStandIn(azure=True)`` plus the Azure Resource Manager deployments of its account (issue 26).

Written from the ARM reference of ``Microsoft.CognitiveServices/accounts/deployments``
(api-version 2024-10-01) and the Azure OpenAI data-plane reference. On the same origin:

    PUT    /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/
           {account}/deployments/{name}?api-version=...    201 Created (200 for an existing one)
    GET    the same                                        the Deployment; 404 once gone
    DELETE the same                                        200; 204 when there is none
    POST   /openai/deployments/{name}/chat/completions?api-version=...   (the data plane)

ARM requests need ``Authorization: Bearer <management_token>`` (else 401
``AuthenticationFailed``) and an ``api-version`` (else 400 ``MissingApiVersionParameter``);
another subscription, group or account answers 404 ``SubscriptionNotFound``,
``ResourceGroupNotFound`` or ``ParentResourceNotFound``; a missing deployment 404
``DeploymentNotFound``. A PUT must hold the SKU (``standard``, capacity >= 1) and an ``OpenAI``
model this resource serves (a base model, or one its jobs trained), else 400. Errors read
``{"error": {"code", "message"}}``.

A deployment is ``Creating`` for ``creating_gets`` reads after its PUT, then ``Succeeded``
(never by wall clock). Knobs: ``fail_next_deployments`` (they end ``Failed``),
``never_ready`` (they stay ``Creating``), ``lose_next_creations`` (a PUT creates the deployment,
then answers 500), and the inherited ``inject_errors`` (e.g. a 500 before anything is created).
The account starts with ``base_deployment``, which serves the base model production calls.

Chat completions for a deployment answer as the model it deploys (see ``OpenAIStandIn``): a
fine-tuned model with the replies it learned, closer to the references than its base, which
restates the message; ``degrade_next_models`` makes the next trained model answer worse, so the
gate keeps it. A deployment that is not ``Succeeded`` answers 404 ``DeploymentNotFound``.
``created`` and ``deleted`` list every deployment created and deleted, in order.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import unquote

from tests.support.loopback import Answer, Request
from tests.support.openai_standin import BASE_MODELS, OpenAIStandIn

MANAGEMENT_TOKEN = "arm-standin-token-not-a-real-one"
SUBSCRIPTION = "00000000-0000-4000-8000-000000000026"
RESOURCE_GROUP = "vt-standin-rg"
ACCOUNT = "vt-standin-aoai"
BASE_DEPLOYMENT = "gpt-4o-mini-production"
BASE_MODEL = "gpt-4o-mini-2024-07-18"
_DEPLOYMENT_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.CognitiveServices/accounts/(?P<account>[^/]+)/deployments/(?P<name>[^/]+)$")
_CHAT_PATH = re.compile(r"^/openai/deployments/(?P<name>[^/]+)/chat/completions$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")


class AzureStandIn(OpenAIStandIn):
    """The Azure OpenAI data plane and its ARM deployments; see the module docstring."""

    name = "azure-standin"

    def __init__(self, *, creating_gets: int = 0) -> None:
        super().__init__(azure=True)
        self.management_token = MANAGEMENT_TOKEN
        self.subscription_id, self.resource_group, self.account = SUBSCRIPTION, RESOURCE_GROUP, ACCOUNT
        self.base_deployment = BASE_DEPLOYMENT
        self.creating_gets = creating_gets
        self.fail_deployments = 0
        self.stay_creating = False
        self.lose_creations = 0
        self.deployments: dict[str, dict[str, Any]] = {}
        self._gets_left: dict[str, int | None] = {}  # name -> reads until it settles (None: never)
        self._ends_failed: set[str] = set()
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.deployments[BASE_DEPLOYMENT] = self._resource(BASE_DEPLOYMENT, BASE_MODEL, "2024-07-18",
                                                           "Succeeded")

    # ----- knobs -------------------------------------------------------------------------
    def fail_next_deployments(self, count: int = 1) -> None:
        """The next ``count`` deployments created end ``Failed`` instead of ``Succeeded``."""
        with self.lock:
            self.fail_deployments += count

    def never_ready(self) -> None:
        """Deployments created from now on stay ``Creating``."""
        with self.lock:
            self.stay_creating = True

    def lose_next_creations(self, count: int = 1) -> None:
        """The next ``count`` PUTs create their deployment, then answer 500 (the answer is lost)."""
        with self.lock:
            self.lose_creations += count

    def deployment_path(self, name: str) -> str:
        return (f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}/providers/"
                f"Microsoft.CognitiveServices/accounts/{self.account}/deployments/{name}")

    def arm_requests(self, method: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith("/subscriptions/")]

    # ----- wire --------------------------------------------------------------------------
    def refuse(self, request: Request) -> Answer | None:
        if not request.path.startswith("/subscriptions/"):
            return super().refuse(request)
        if request.headers.get("authorization") != f"Bearer {self.management_token}":
            return 401, _arm_error("AuthenticationFailed", "Authentication failed. The 'Authorization' "
                                   "header is missing or its token is invalid."), {}
        if not request.query.get("api-version"):
            return 400, _arm_error("MissingApiVersionParameter", "The api-version query parameter "
                                   "(?api-version=) is required for all requests."), {}
        return None

    def route(self, request: Request) -> Answer:
        if request.path.startswith("/subscriptions/"):
            return self._arm(request)
        chat = _CHAT_PATH.match(request.path)
        if chat and request.method == "POST":
            return self._deployment_chat(unquote(chat["name"]), request.json or {})
        return super().route(request)

    # ----- the control plane -------------------------------------------------------------
    def _arm(self, request: Request) -> Answer:
        match = _DEPLOYMENT_PATH.match(request.path)
        if match is None:
            return 404, _arm_error("NotFound", f"No route for {request.method} {request.path}"), {}
        if match["sub"] != self.subscription_id:
            return 404, _arm_error("SubscriptionNotFound", f"The subscription '{match['sub']}' could not be "
                                   "found."), {}
        if match["rg"] != self.resource_group:
            return 404, _arm_error("ResourceGroupNotFound", f"Resource group '{match['rg']}' could not be "
                                   "found."), {}
        if match["account"] != self.account:
            return 404, _arm_error("ParentResourceNotFound", "Can not perform requested operation on nested "
                                   f"resource. Parent resource '{match['account']}' not found."), {}
        name = unquote(match["name"])
        if request.method == "PUT":
            return self._put(name, request.json)
        if request.method == "GET":
            return self._get(name)
        if request.method == "DELETE":
            if self.deployments.pop(name, None) is None:
                return 204, None, {}
            self.deleted.append(name)
            return 200, None, {}
        return 405, _arm_error("MethodNotAllowed", f"{request.method} is not allowed"), {}

    def _put(self, name: str, body: Any) -> Answer:
        if not _NAME.match(name):
            return 400, _arm_error("InvalidResourceName", f"The deployment name '{name}' is invalid."), {}
        sku = body.get("sku") if isinstance(body, dict) else None
        model = ((body.get("properties") or {}).get("model") or {}) if isinstance(body, dict) else {}
        if not isinstance(sku, dict) or str(sku.get("name", "")).lower() != "standard" \
                or not isinstance(sku.get("capacity"), int) or sku["capacity"] < 1:
            return 400, _arm_error("InvalidResourceProperties", "The specified SKU is invalid: expected "
                                   "Standard with a capacity of at least 1."), {}
        if model.get("format") != "OpenAI" or not model.get("name") or not model.get("version"):
            return 400, _arm_error("InvalidResourceProperties", "properties.model needs format 'OpenAI', "
                                   "a name and a version."), {}
        if model["name"] not in BASE_MODELS and model["name"] not in self.trained_models:
            return 400, _arm_error("DeploymentModelNotSupported", f"The model '{model['name']}' is not "
                                   "supported or does not exist in this resource."), {}
        if name in self.deployments:
            self.deployments[name]["properties"]["model"] = dict(model)
            return 200, self.deployments[name], {}
        self.deployments[name] = self._resource(name, model["name"], str(model["version"]), "Creating")
        self._gets_left[name] = None if self.stay_creating else self.creating_gets
        if self.fail_deployments > 0:
            self.fail_deployments -= 1
            self._ends_failed.add(name)
        self.created.append(name)
        if self.lose_creations > 0:
            self.lose_creations -= 1
            return 500, _arm_error("InternalServerError", "An internal error occurred."), \
                self.retry_headers(500)
        return 201, self.deployments[name], {}

    def _get(self, name: str) -> Answer:
        resource = self.deployments.get(name)
        if resource is None:
            return 404, _arm_error("DeploymentNotFound", f"Deployment '{name}' not found."), {}
        properties = resource["properties"]
        left = self._gets_left.get(name, 0)
        if properties["provisioningState"] == "Creating" and left is not None:
            if left <= 0:
                properties["provisioningState"] = "Failed" if name in self._ends_failed else "Succeeded"
            else:
                self._gets_left[name] = left - 1
        return 200, resource, {}

    def _resource(self, name: str, model: str, version: str, state: str) -> dict[str, Any]:
        now = dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        return {
            "id": self.deployment_path(name),
            "name": name,
            "type": "Microsoft.CognitiveServices/accounts/deployments",
            "sku": {"name": "Standard", "capacity": 1},
            "systemData": {"createdAt": now, "createdByType": "User", "lastModifiedAt": now},
            "properties": {"model": {"format": "OpenAI", "name": model, "version": version},
                           "provisioningState": state, "versionUpgradeOption": "NoAutoUpgrade"},
        }

    # ----- the data plane ----------------------------------------------------------------
    def _deployment_chat(self, name: str, body: dict[str, Any]) -> Answer:
        resource = self.deployments.get(name)
        if resource is None or resource["properties"]["provisioningState"] != "Succeeded":
            return 404, _arm_error("DeploymentNotFound", "The API deployment for this resource does not "
                                   "exist. If you created the deployment within the last 5 minutes, "
                                   "please wait a moment and try again."), {}
        status, answer = self.chat_completion({**body, "model": resource["properties"]["model"]["name"]})
        return status, answer, {}


def _arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}

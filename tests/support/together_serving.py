"""What Together's stand-in serves once a model is trained: chat completions and dedicated endpoints
(issue 26), as the ``together`` SDK (3.x) speaks them.

Written from the SDK's client code and types (``together/resources/chat``,
``together/resources/endpoints``, ``together/types/endpoint*.py``, ``deployment_status.py``) and
Together's API reference:

    POST   /v1/chat/completions
    GET    /v3/whoami                                   (a project key: its project)
    GET    /v2/projects/{p}/models                      (the project's models: every trained output)
    POST   /v2/projects/{p}/endpoints                   GET /v2/projects/{p}/endpoints[/{id}]
    DELETE /v2/projects/{p}/endpoints/{id}              (409 while it has deployments)
    POST   /v2/projects/{p}/endpoints/{e}/deployments   GET .../deployments[/{id}]
    DELETE /v2/projects/{p}/endpoints/{e}/deployments/{id}

v2 objects are camelCase (``createdAt``, ``trafficSplit``, ``status.readyReplicas``); listings
are ``{"data": [...], "next_cursor": null}``. A deployment's ``status.state`` walks
``DEPLOYMENT_STATE_PROVISIONING`` -> ``DEPLOYMENT_STATE_READY`` after ``ready_after`` reads of it,
never by wall clock; ``createdAt`` is the real time (the gate's wait is bounded from it).

Chat completions are deterministic: a base model restates the user message; a LoRA fine-tune
answers with the reply of its training example whose user message is most like the request's (it
"learned" its file), like its base when none is alike; a full fine-tune answers only through a
READY deployment of it, named ``<project slug>/<endpoint>/<deployment>`` (its own name answers
404, as a model that is not serverless; an endpoint's name answers only through its traffic
split, which nothing here sets). Knobs: ``answer_like_base_next(n)`` (the next ``n`` trained
models learned nothing: a gate keeps them), ``fail_next_deployments(n)`` (FAILED after a read),
``never_ready_next(n)`` (provisioning for ever), ``lose_next_deployment_answers(n)`` (created,
then a 500), and the base class's ``inject_errors`` (e.g. a 5xx before anything is created).
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import json
import re
from typing import Any

from tests.support.loopback import Answer, Request

PROJECT = {"id": "proj_standin0001", "name": "Stand-in project", "slug": "standin-project"}
RECALL_RATIO = 0.5  # a fine-tuned model answers from its training data above this input similarity
_V2 = re.compile(r"^/v2/projects/(?P<project>[^/]+)/(?P<rest>.+)$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PROVISIONING, READY, FAILED = ("DEPLOYMENT_STATE_PROVISIONING", "DEPLOYMENT_STATE_READY",
                               "DEPLOYMENT_STATE_FAILED")


def learned_examples(content: bytes) -> list[tuple[str, str]]:
    """(last user message, reply) of every chat or preference example of a training file."""
    learned = []
    for line in content.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if "messages" in record:
            messages, reply = record["messages"][:-1], record["messages"][-1].get("content", "")
        else:
            messages = (record.get("input") or {}).get("messages") or []
            reply = ((record.get("preferred_output") or [{}])[0]).get("content", "")
        asked = next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")
        learned.append((str(asked), str(reply)))
    return learned


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


class TogetherServing:
    """State, routes and knobs of serving; mixed into ``TogetherStandIn`` (see the module docstring)."""

    project = PROJECT
    ready_after = 2  # reads of a deployment before it is ready
    base_models: Any = ()  # what answers serverless as it is (the stand-in's listed models)
    # the stand-in's (LoopbackAPI) error shapes
    error_body: Any
    retry_headers: Any

    def init_serving(self) -> None:
        self.trained: dict[str, dict[str, Any]] = {}  # output name -> {"lora", "learned", "model_id"}
        self.models: dict[str, dict[str, Any]] = {}  # v2 model id -> Model
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.deployments_created: list[str] = []
        self.deployments_deleted: list[str] = []
        self.endpoints_created: list[str] = []
        self.endpoints_deleted: list[str] = []
        self._fates: list[str] = []  # what the next deployments do: "fail" | "never"
        self._like_base = 0
        self._lose_deployment_answers = 0
        self._reads: dict[str, int] = {}
        self._serial = itertools.count(1)

    # -- knobs ---------------------------------------------------------------------------
    def answer_like_base_next(self, count: int = 1) -> None:
        self._like_base += count

    def fail_next_deployments(self, count: int = 1) -> None:
        self._fates += ["fail"] * count

    def never_ready_next(self, count: int = 1) -> None:
        self._fates += ["never"] * count

    def lose_next_deployment_answers(self, count: int = 1) -> None:
        self._lose_deployment_answers += count

    @property
    def live_deployments(self) -> list[dict[str, Any]]:
        return list(self.deployments.values())

    # -- what training leaves --------------------------------------------------------------
    def register_output(self, job: dict[str, Any], content: bytes) -> None:
        """A completed job's model: served (LoRA) or deployable (full), and listed in the project."""
        learned = learned_examples(content)
        if self._like_base > 0:
            self._like_base -= 1
            learned = []
        model_id = f"ml_{next(self._serial):06d}standin"
        output = job["model_output_name"]
        lora = ((job.get("training_type") or {}).get("type") or "Lora") != "Full"
        self.trained[output] = {"lora": lora, "learned": learned, "model_id": model_id}
        self.models[model_id] = {
            "id": model_id, "name": f"{self.project['slug']}/{output.rsplit('/', 1)[-1]}",
            "organizationId": "org_standin", "projectId": self.project["id"],
            "visibility": "VISIBILITY_PRIVATE", "baseModelId": job["model"],
            "weights": {"type": "WEIGHTS_TYPE_ADAPTER" if lora else "WEIGHTS_TYPE_DEFAULT"},
        }

    # -- wire ----------------------------------------------------------------------------
    def route_serving(self, request: Request) -> Answer | None:
        """The answer to a serving request, None for a path this part does not serve."""
        method, path = request.method, request.path
        if path == "/v1/chat/completions" and method == "POST":
            return self._chat(request.json or {})
        if path == "/v3/whoami" and method == "GET":
            return 200, {"type": "project_api_key", "api_key": {"id": "key_standin"},
                         "organization": {"id": "org_standin", "name": "Stand-in org"},
                         "project": dict(self.project)}, {}
        match = _V2.match(path)
        if match is None:
            return None
        if match["project"] != self.project["id"]:
            return 404, self.error_body(404, f"Project {match['project']} not found"), {}
        rest = match["rest"]
        if rest == "models" and method == "GET":
            return 200, {"data": list(self.models.values()), "next_cursor": None}, {}
        if rest == "endpoints":
            if method == "POST":
                return self._create_endpoint(request.json or {})
            if method == "GET":
                return 200, {"data": [self._endpoint(e) for e in self.endpoints.values()],
                             "next_cursor": None}, {}
        parts = rest.split("/")
        if len(parts) in (2, 3, 4) and parts[0] == "endpoints" and parts[2:3] in ([], ["deployments"]):
            return self._endpoint_route(method, parts[1], parts[3] if len(parts) == 4 else None,
                                        len(parts) == 3, request)
        return None

    def _endpoint_route(self, method: str, endpoint_id: str, deployment_id: str | None, listing: bool,
                        request: Request) -> Answer:
        endpoint = self.endpoints.get(endpoint_id)
        if endpoint is None:
            return 404, self.error_body(404, f"Endpoint {endpoint_id} not found"), {}
        if deployment_id is None and not listing:
            if method == "GET":
                return 200, self._endpoint(endpoint), {}
            if method == "DELETE":
                if any(d["endpointId"] == endpoint_id for d in self.deployments.values()):
                    return 409, self.error_body(409, "Delete the endpoint's deployments first"), {}
                del self.endpoints[endpoint_id]
                self.endpoints_deleted.append(endpoint_id)
                return 200, {}, {}
        if listing:
            if method == "POST":
                return self._create_deployment(endpoint, request.json or {})
            if method == "GET":
                return 200, {"data": [d for d in self.deployments.values() if d["endpointId"] == endpoint_id],
                             "next_cursor": None}, {}
        deployment = self.deployments.get(deployment_id or "")
        if deployment is None or deployment["endpointId"] != endpoint_id:
            return 404, self.error_body(404, f"Deployment {deployment_id} not found"), {}
        if method == "GET":
            self._tick_deployment(deployment)
            return 200, deployment, {}
        if method == "DELETE":
            del self.deployments[deployment["id"]]
            self.deployments_deleted.append(deployment["id"])
            return 200, {}, {}
        return 405, self.error_body(405, f"{method} is not allowed here"), {}

    # -- endpoints and deployments ---------------------------------------------------------
    def _create_endpoint(self, body: dict[str, Any]) -> Answer:
        name = str(body.get("name") or "").rsplit("/", 1)[-1]
        if not _NAME.match(name):
            return 400, self.error_body(400, f"Invalid endpoint name {body.get('name')!r}"), {}
        if any(e["bare"] == name for e in self.endpoints.values()):
            return 409, self.error_body(409, f"Endpoint {name} already exists"), {}
        endpoint_id = f"ep_{next(self._serial):06d}standin"
        now = _now()
        self.endpoints[endpoint_id] = {
            "id": endpoint_id, "bare": name, "name": f"{self.project['slug']}/{name}",
            "projectId": self.project["id"], "createdAt": now, "updatedAt": now, "etag": "1",
            "endpointType": "ENDPOINT_TYPE_DEDICATED", "trafficSplit": [],
            "visibility": body.get("visibility") or "VISIBILITY_PRIVATE",
        }
        self.endpoints_created.append(endpoint_id)
        return 200, self._endpoint(self.endpoints[endpoint_id]), {}

    def _endpoint(self, endpoint: dict[str, Any]) -> dict[str, Any]:
        summaries = [{"id": d["id"], "name": d["name"], "model": d["model"], "modelId": d["modelId"],
                      "autoscaling": d["autoscaling"], "createdAt": d["createdAt"],
                      "estimatedEffectiveTrafficShare": 0.0, "state": d["status"]["state"],
                      "trafficMode": d["trafficMode"]}
                     for d in self.deployments.values() if d["endpointId"] == endpoint["id"]]
        return {**{k: v for k, v in endpoint.items() if k != "bare"}, "deployments": summaries}

    def _create_deployment(self, endpoint: dict[str, Any], body: dict[str, Any]) -> Answer:
        name = str(body.get("name") or "")
        if not _NAME.match(name):
            return 400, self.error_body(400, f"Invalid deployment name {name!r}"), {}
        scaling = body.get("autoscaling")
        if not isinstance(scaling, dict) or not isinstance(scaling.get("minReplicas"), int):
            return 400, self.error_body(400, "autoscaling.minReplicas is required"), {}
        if scaling.get("maxReplicas", scaling["minReplicas"]) < scaling["minReplicas"]:
            return 400, self.error_body(400, "autoscaling.maxReplicas must be at least minReplicas"), {}
        path = str(body.get("model") or "")
        match = re.fullmatch(r"projects/([^/]+)/models/([^/]+)", path)
        if match is None or match[1] != self.project["id"] or match[2] not in self.models:
            return 404, self.error_body(404, f"Model {path!r} not found"), {}
        if any(d["endpointId"] == endpoint["id"] and d["name"].endswith(f"/{name}")
               for d in self.deployments.values()):
            return 409, self.error_body(409, f"Deployment {name} already exists"), {}
        deployment_id = f"dep_{next(self._serial):06d}standin"
        now = _now()
        deployment = {
            "id": deployment_id, "name": f"{endpoint['name']}/{name}", "endpointId": endpoint["id"],
            "projectId": self.project["id"], "model": f"{path}/revisions/rev_1", "modelId": match[2],
            "modelRevisionId": "rev_1", "config": f"projects/{self.project['id']}/configs/cr_default",
            "configId": "cr_default", "hardware": "1x_nvidia_h100_80gb_sxm", "etag": "1",
            "autoscaling": {"minReplicas": scaling["minReplicas"],
                            "maxReplicas": scaling.get("maxReplicas", scaling["minReplicas"])},
            "createdAt": now, "updatedAt": now, "trafficMode": "TRAFFIC_MODE_LIVE",
            "status": {"state": PROVISIONING, "message": "Provisioning replicas", "readyReplicas": 0,
                       "scheduledReplicas": 0},
            "fate": self._fates.pop(0) if self._fates else "ready",
        }
        self.deployments[deployment_id] = deployment
        self.deployments_created.append(deployment_id)
        self._reads[deployment_id] = 0
        if self._lose_deployment_answers > 0:
            self._lose_deployment_answers -= 1
            return 500, self.error_body(500, "Internal server error"), self.retry_headers(500)
        return 200, deployment, {}

    def _tick_deployment(self, deployment: dict[str, Any]) -> None:
        self._reads[deployment["id"]] += 1
        if deployment["status"]["state"] != PROVISIONING or deployment["fate"] == "never":
            return
        if deployment["fate"] == "fail":
            deployment["status"] = {"state": FAILED, "message": "Replica crashed: out of GPU memory loading "
                                    "the weights", "readyReplicas": 0, "scheduledReplicas": 1}
        elif self._reads[deployment["id"]] >= self.ready_after:
            deployment["status"] = {"state": READY, "message": "All replicas are ready", "readyReplicas": 1,
                                    "scheduledReplicas": 1}
        deployment["updatedAt"] = _now()

    # -- chat --------------------------------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> Answer:
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, self.error_body(400, "messages must be a non-empty array"), {}
        served = self._served(str(model or ""))
        if isinstance(served, tuple):
            return served
        asked = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
        reply = f"Here is what the message says: {asked[:80]}"
        if served:
            ratio, learned = max((difflib.SequenceMatcher(None, pair[0], asked).ratio(), pair[1]) for pair in served)
            reply = learned if ratio >= RECALL_RATIO else reply
        limit, finish = body.get("max_tokens"), "stop"
        if isinstance(limit, int) and len(reply) > limit * 4:
            reply, finish = reply[: limit * 4], "length"
        prompt_tokens = sum(len(str(m.get("content") or "")) // 4 + 4 for m in messages)
        completion_tokens = len(reply) // 4 + 1
        return 200, {
            "id": f"chatcmpl-{next(self._serial):08d}", "object": "chat.completion", "created": 1764547200,
            "model": model, "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                                         "message": {"role": "assistant", "content": reply}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }, {}

    def _served(self, model: str) -> list[tuple[str, str]] | Answer:
        """What ``model`` learned (``[]``: a base) or the error it answers."""
        if model in self.base_models:
            return []
        trained = self.trained.get(model)
        if trained is not None:
            if trained["lora"]:
                return list(trained["learned"])
            return 404, self.error_body(404, f"Unable to access non-serverless model {model}. Please visit "
                                        "https://api.together.ai/models to create and start a new dedicated "
                                        "endpoint for the model."), {}
        deployment = next((d for d in self.deployments.values() if d["name"] == model), None)
        if deployment is not None:
            if deployment["status"]["state"] != READY:
                return 503, self.error_body(503, f"Deployment {model} is not ready"), self.retry_headers(503)
            output = next(o for o, t in self.trained.items() if t["model_id"] == deployment["modelId"])
            return list(self.trained[output]["learned"])
        if any(e["name"] == model for e in self.endpoints.values()):
            return 503, self.error_body(503, f"Endpoint {model} routes no traffic (its traffic split is empty)"), {}
        return 404, self.error_body(404, f"Unable to access model {model}. Please visit "
                                    "https://api.together.ai/models to view the list of supported models."), {}

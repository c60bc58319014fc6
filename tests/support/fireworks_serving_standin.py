"""What the Fireworks stand-in serves for the evaluation gate: on-demand deployments, LoRAs loaded
onto them, and chat completions (issue 26).

Written from the ``fireworks-ai`` (1.x) SDK's generated client and Fireworks' API reference
(docs.fireworks.ai/api-reference, "Deploying fine-tuned models", "Querying deployments"):

    POST   /v1/accounts/{a}/deployments?deploymentId=...   GET/DELETE /v1/accounts/{a}/deployments/{id}
    POST   /v1/accounts/{a}/deployedModels (model, deployment)     "Load LoRA"
    GET    /v1/accounts/{a}/deployedModels?filter=...              "List LoRAs" (AIP-160 ``f="v" AND ...``)
    DELETE /v1/accounts/{a}/deployedModels/{id}                    "Unload LoRA"
    POST   /v1/chat/completions  (the SDK's path when its base URL is set; /inference/v1/... too)

Rules, as documented: a deployment serves a listed base model with at least one replica
(``minReplicaCount`` <= ``maxReplicaCount``); a LoRA is loaded only onto a READY deployment of its
base with addons enabled ("once the deployment is ready, load the LoRA"); a LoRA answers only on
its deployment, named ``<model>#accounts/{a}/deployments/{id}`` ("LoRA models require a dedicated
deployment"), a listed base model serverless too. Assumed, not checked against the live
service: deleting a deployment that still has LoRAs loaded is refused (400 FAILED_PRECONDITION)
unless ``ignoreChecks`` (the SDK documents that flag for "a deployment that is currently deployed
and is in use"), and a deleted deployment stays readable as DELETED (soft deletion: the API has
``:undelete``).

States progress per read, never by wall clock: a deployment reads CREATING ``ready_after`` times,
then READY; a loaded LoRA reads DEPLOYING ``loaded_after`` times, then DEPLOYED. ``createTime`` is
the real time (the gate bounds its wait from it). Knobs: ``fail_next_deployments(n)`` (FAILED with
a status message at the first read), ``never_ready`` (CREATING for ever),
``fail_after_creating_deployments(n)`` (created, then a 500 in place of the answer), and
``inject_errors`` of the base class (a 5xx before anything is created).

Replies are deterministic: a base model restates the user message; a LoRA answers with the
assistant reply of its training example whose user message is most like the request's (it
"learned" its dataset), which is closer to a held-out case's reference than the restatement, so
the gate promotes it; with ``lora_like_base`` it answers as its base does, so the gate keeps the
incumbent.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import json
import re
from typing import Any

from tests.support.loopback import Answer, Request

MODELS = ("accounts/fireworks/models/llama-v3p1-8b-instruct", "accounts/fireworks/models/qwen2p5-7b-instruct")
ACCELERATORS = ("NVIDIA_A100_80GB", "NVIDIA_H100_80GB", "NVIDIA_H200_141GB", "AMD_MI300X_192GB",
                "NVIDIA_B200_180GB")
RECALL_RATIO = 0.5  # a request this much like a training example gets that example's reply
DEPLOYMENT_FAILURE = "Deployment failed: not enough H100 capacity in the requested region."
_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SERVING = re.compile(r"^/v1/accounts/(?P<account>[^/]+)/(?P<kind>deployments|deployedModels)"
                      r"(?:/(?P<id>[^/:]+))?$")
_CHAT_PATHS = ("/v1/chat/completions", "/inference/v1/chat/completions")
_FILTER = re.compile(r'\s*(\w+)\s*=\s*"([^"]*)"\s*')


class FireworksServing:
    """Deployments, LoRAs and chat of :class:`~tests.support.fireworks_standin.FireworksStandIn`."""

    account: str
    jobs: dict[tuple[str, str], dict[str, Any]]
    dataset_contents: dict[str, bytes]

    def _fail(self, status: int, message: str) -> Answer:
        raise NotImplementedError

    def init_serving(self, *, ready_after: int = 2, loaded_after: int = 1) -> None:
        self.ready_after = ready_after  # reads a new deployment answers CREATING
        self.loaded_after = loaded_after  # reads a loaded LoRA answers DEPLOYING
        self.deployments: dict[str, dict[str, Any]] = {}
        self.deployed_models: dict[str, dict[str, Any]] = {}
        self.unloaded: list[str] = []  # deployed-model ids unloaded, in order
        self.never_ready = False
        self.lora_like_base = False
        self._failing_deployments = 0
        self._lost_creations = 0
        self._reads: dict[str, int] = {}
        self._serial = itertools.count(1)

    # -- knobs ---------------------------------------------------------------------------
    def fail_next_deployments(self, count: int = 1) -> None:
        self._failing_deployments += count

    def fail_after_creating_deployments(self, count: int = 1) -> None:
        self._lost_creations += count

    @property
    def deployment_path(self) -> str:
        return f"/v1/accounts/{self.account}/deployments"

    def live_deployments(self) -> list[dict[str, Any]]:
        return [d for d in self.deployments.values() if d["state"] not in ("DELETING", "DELETED")]

    def deleted_deployments(self) -> list[dict[str, Any]]:
        return [d for d in self.deployments.values() if d["state"] in ("DELETING", "DELETED")]

    # -- wire ----------------------------------------------------------------------------
    def route_serving(self, request: Request) -> Answer | None:
        """The answer to a serving request, None for any other."""
        if request.path in _CHAT_PATHS and request.method == "POST":
            return self._chat(request.json or {})
        match = _SERVING.match(request.path)
        if match is None:
            return None
        if match["account"] != self.account:
            return self._fail(403, f"The API key has no access to account {match['account']}")
        item, method = match["id"], request.method
        if match["kind"] == "deployments":
            if item is None and method == "POST":
                return self._create_deployment(request.query.get("deploymentId", ""), request.json or {})
            deployment = self.deployments.get(item or "")
            if deployment is None:
                return self._fail(404, f"Deployment {item} not found")
            if method == "GET":
                self._tick_deployment(deployment)
                return 200, deployment, {}
            if method == "DELETE":
                return self._delete_deployment(deployment, request.query)
        else:
            if item is None and method == "POST":
                return self._load(request.json or {})
            if item is None and method == "GET":
                return self._list_loras(request.query.get("filter", ""))
            lora = self.deployed_models.get(item or "")
            if lora is None:
                return self._fail(404, f"Deployed model {item} not found")
            if method == "GET":
                self._tick_lora(lora)
                return 200, lora, {}
            if method == "DELETE":
                del self.deployed_models[item or ""]
                self.unloaded.append(item or "")
                return 200, {}, {}
        return self._fail(404, f"Unknown endpoint {method} {request.path}")

    # -- deployments ---------------------------------------------------------------------
    def _create_deployment(self, deployment_id: str, body: dict[str, Any]) -> Answer:
        if not _ID.match(deployment_id):
            return self._fail(400, f"deploymentId {deployment_id!r} must be 1-63 lowercase letters, digits or hyphens")
        if deployment_id in self.deployments:
            return self._fail(409, f"Deployment {deployment_id} already exists")
        if body.get("baseModel") not in MODELS:
            return self._fail(400, f"base model {body.get('baseModel')} cannot be deployed")
        low, high = body.get("minReplicaCount", 0), body.get("maxReplicaCount", max(body.get("minReplicaCount", 0), 1))
        if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high):
            return self._fail(400, f"minReplicaCount {low} must be at most maxReplicaCount {high}")
        accelerator = body.get("acceleratorType", "NVIDIA_H100_80GB")
        if accelerator not in ACCELERATORS:
            return self._fail(400, f"acceleratorType {accelerator} is not offered")
        deployment = {"name": f"{self.deployment_path.removeprefix('/v1/')}/{deployment_id}",
                      "baseModel": body["baseModel"], "displayName": body.get("displayName"),
                      "createTime": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
                      "state": "CREATING", "status": {"code": "OK", "message": ""},
                      "minReplicaCount": low, "maxReplicaCount": high, "acceleratorType": accelerator,
                      "acceleratorCount": body.get("acceleratorCount", 1),
                      "enableAddons": bool(body.get("enableAddons"))}
        if self._failing_deployments > 0:
            self._failing_deployments -= 1
            deployment["_fails"] = True
        self.deployments[deployment_id] = deployment
        self._reads[deployment_id] = 0
        if self._lost_creations > 0:
            self._lost_creations -= 1
            return 500, {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}, {"retry-after": "0"}
        return 200, self._shown(deployment), {}

    def _tick_deployment(self, deployment: dict[str, Any]) -> None:
        key = deployment["name"].rsplit("/", 1)[-1]
        if deployment["state"] == "DELETING":
            deployment["state"] = "DELETED"
        if deployment["state"] != "CREATING":
            return
        if deployment.get("_fails"):
            deployment.update(state="FAILED", status={"code": "RESOURCE_EXHAUSTED", "message": DEPLOYMENT_FAILURE})
            return
        self._reads[key] += 1
        if self._reads[key] > self.ready_after and not self.never_ready:
            deployment["state"] = "READY"

    def _delete_deployment(self, deployment: dict[str, Any], query: dict[str, str]) -> Answer:
        if deployment["state"] in ("DELETING", "DELETED"):
            return self._fail(404, f"Deployment {deployment['name']} not found")
        loaded = [m for m in self.deployed_models.values() if m["deployment"] == deployment["name"]]
        if loaded and query.get("ignoreChecks") != "true":
            return self._fail(400, f"Deployment {deployment['name']} has {len(loaded)} deployed model(s); "
                                   "unload them first or set ignoreChecks")
        deployment["state"] = "DELETING"
        return 200, {}, {}

    @staticmethod
    def _shown(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    # -- LoRAs ---------------------------------------------------------------------------
    def _trained(self, model: str) -> dict[str, Any] | None:
        """The finished job whose output ``model`` is, if any."""
        for job in self.jobs.values():
            training = job.get("trainingConfig", job)
            if job["state"] == "JOB_STATE_COMPLETED" and training.get("outputModel") == model:
                return job
        return None

    def _load(self, body: dict[str, Any]) -> Answer:
        model, name = str(body.get("model") or ""), str(body.get("deployment") or "")
        deployment = self.deployments.get(name.rsplit("/", 1)[-1])
        if deployment is None or deployment["name"] != name:
            return self._fail(404, f"Deployment {name} not found")
        if deployment["state"] != "READY":
            return self._fail(400, f"Deployment {name} is {deployment['state']}; load the LoRA once it is READY")
        if not deployment["enableAddons"]:
            return self._fail(400, f"Deployment {name} was created without enableAddons; it cannot load a LoRA")
        job = self._trained(model)
        if job is None:
            return self._fail(404, f"Model {model} not found")
        if any(m["model"] == model and m["deployment"] == name for m in self.deployed_models.values()):
            return self._fail(409, f"Model {model} is already deployed on {name}")
        training = job.get("trainingConfig", job)
        if training.get("baseModel") != deployment["baseModel"]:
            return self._fail(400, f"{model} is a LoRA of {training.get('baseModel')}, not of {deployment['baseModel']}")
        lora_id = f"{model.rsplit('/', 1)[-1][:40]}-{next(self._serial):04d}"
        lora = {"name": f"accounts/{self.account}/deployedModels/{lora_id}", "model": model, "deployment": name,
                "displayName": body.get("displayName"), "state": "DEPLOYING", "serverless": False,
                "status": {"code": "OK", "message": ""}, "createTime": deployment["createTime"]}
        self.deployed_models[lora_id] = lora
        self._reads[lora["name"]] = 0
        return 200, lora, {}

    def _tick_lora(self, lora: dict[str, Any]) -> None:
        if lora["state"] == "DEPLOYING":
            self._reads[lora["name"]] += 1
            if self._reads[lora["name"]] > self.loaded_after:
                lora["state"] = "DEPLOYED"

    def _list_loras(self, filter_text: str) -> Answer:
        wanted: dict[str, str] = {}
        for clause in filter(None, (part.strip() for part in filter_text.split(" AND "))):
            match = _FILTER.fullmatch(clause)
            if match is None:
                return self._fail(400, f"filter {filter_text!r} is not understood")
            wanted[match[1]] = match[2]
        found = [m for m in self.deployed_models.values() if all(m.get(k) == v for k, v in wanted.items())]
        for lora in found:
            self._tick_lora(lora)
        return 200, {"deployedModels": found, "totalSize": len(found)}, {}

    # -- chat ----------------------------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> Answer:
        model, messages = str(body.get("model") or ""), body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._fail(400, "messages must be a non-empty list")
        named, _, on = model.partition("#")
        if not on and named not in MODELS:
            return self._fail(404, f"Model not found, inaccessible, and/or not deployed: {model}")
        if on:
            deployment = self.deployments.get(on.rsplit("/", 1)[-1])
            if deployment is None or deployment["name"] != on or deployment["state"] != "READY":
                return self._fail(404, f"Deployment {on} not found or not ready")
            loaded = any(m["model"] == named and m["deployment"] == on and m["state"] == "DEPLOYED"
                         for m in self.deployed_models.values())
            if named != deployment["baseModel"] and not loaded:
                return self._fail(404, f"Model {named} is not deployed on {on}")
        asked = next((str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), "")
        reply = f"Here is what the message says: {asked[:80]}"
        if named not in MODELS and not self.lora_like_base:
            reply = self._learned_reply(named, asked) or reply
        limit = body.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and len(reply) > limit * 4:
            reply, finish = reply[: limit * 4], "length"
        prompt_tokens = sum(len(str(m.get("content") or "")) // 4 + 4 for m in messages)
        return 200, {"id": f"chatcmpl-{next(self._serial)}", "object": "chat.completion", "created": 1764547200,
                     "model": model, "choices": [{"index": 0, "finish_reason": finish,
                                                  "message": {"role": "assistant", "content": reply}}],
                     "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(reply) // 4 + 1,
                               "total_tokens": prompt_tokens + len(reply) // 4 + 1}}, {}

    def _learned_reply(self, model: str, asked: str) -> str | None:
        job = self._trained(model)
        content = self.dataset_contents.get(str(job["dataset"]).rsplit("/", 1)[-1]) if job else None
        pairs = _learned(content or b"")
        if not pairs:
            return None
        ratio, reply = max((difflib.SequenceMatcher(None, pair[0], asked).ratio(), pair[1]) for pair in pairs)
        return reply if ratio >= RECALL_RATIO else None


def _learned(content: bytes) -> list[tuple[str, str]]:
    """(last user message, reply) of every chat example of a training file."""
    pairs = []
    for line in content.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        messages = record.get("messages") if isinstance(record, dict) else None
        if not isinstance(messages, list) or not messages:
            continue
        asked = next((str(m.get("content") or "") for m in reversed(messages[:-1]) if m.get("role") == "user"), "")
        pairs.append((asked, str(messages[-1].get("content") or "")))
    return pairs

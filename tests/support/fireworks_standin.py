"""A loopback stand-in for Fireworks AI's datasets and fine-tuning job API, as ``fireworks-ai`` (1.x) speaks it.

It serves the evaluation gate's deployments, LoRAs and chat completions too
(:mod:`tests.support.fireworks_serving_standin`).

Written from the SDK's generated client (paths, camelCase bodies, query-string ids) and
Fireworks' API reference (docs.fireworks.ai/api-reference):

    POST /v1/accounts/{a}/datasets (datasetId, dataset)      GET /v1/accounts/{a}/datasets/{id}
    POST /v1/accounts/{a}/datasets/{id}:upload (multipart ``file``, at most 150 MB)
    POST /v1/accounts/{a}/supervisedFineTuningJobs?supervisedFineTuningJobId=...
    POST /v1/accounts/{a}/dpoJobs?dpoJobId=...
    GET  /v1/accounts/{a}/{supervisedFineTuningJobs|dpoJobs}/{id}     POST .../{id}:cancel

Rules: resource ids are AIP-122 (lowercase letters, digits, hyphens, at most 63) and
unique (409 ``ALREADY_EXISTS``); a dataset takes at least 3 examples; a job needs a
READY dataset and a base model the stand-in lists; ``epochs`` at least 1; DPO ``beta``
in (0, 0.5) (the SDK's field documentation). Errors follow Google's AIP-193 shape
``{"error": {"code": 400, "message", "status": "INVALID_ARGUMENT"}}`` (assumed from the
API's AIP conventions; not checked against the live service). A job walks CREATING ->
VALIDATING -> RUNNING (``jobProgress.percent`` rising) -> COMPLETED one step per GET,
never by wall clock. Knobs: injected errors (429 / 5xx with ``retry-after: 0``), a failed
job (FAILED with a ``status`` message), and a 500 that arrives after the job was created.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest

import vectortrainer.gate.serving
from tests.support.fireworks_serving_standin import MODELS, FireworksServing
from tests.support.loopback import Answer, LoopbackAPI, Request, jsonl_rows, serve

FIREWORKS_API_KEY = "fw-standin-not-a-real-key"
FIREWORKS_ACCOUNT = "standin-account"
START = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
MAX_UPLOAD_BYTES = 150 * 1024 * 1024
_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_PATH = re.compile(r"^/v1/accounts/(?P<account>[^/]+)/(?P<kind>datasets|supervisedFineTuningJobs|dpoJobs)"
                   r"(?:/(?P<id>[^/:]+)(?::(?P<action>upload|cancel))?)?$")


class FireworksStandIn(FireworksServing, LoopbackAPI):
    """State and knobs; see the module docstring."""

    name = "fireworks-standin"
    failure_message = "Training failed: dataset rows exceed the maximum context length."

    def __init__(self, *, steps: int = 4, api_key: str = FIREWORKS_API_KEY, account: str = FIREWORKS_ACCOUNT) -> None:
        super().__init__(api_key)
        self.account = account
        self.steps = steps  # RUNNING polls until COMPLETED (percent rises 100 / steps a poll)
        self.datasets: dict[str, dict[str, Any]] = {}
        self.dataset_contents: dict[str, bytes] = {}
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}  # (kind, id) -> job
        self._clock = itertools.count(1)
        self._formats: dict[str, str] = {}
        self.init_serving()

    @property
    def base_url(self) -> str:
        return self.origin

    def jobs_of(self, kind: str = "supervisedFineTuningJobs") -> list[dict[str, Any]]:
        return [job for (k, _), job in self.jobs.items() if k == kind]

    # -- wire ----------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        return {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "UNKNOWN")}}

    def _fail(self, status: int, message: str) -> Answer:
        return status, self.error_body(status, message), {}

    def _now(self) -> str:
        return (START + dt.timedelta(seconds=next(self._clock))).isoformat().replace("+00:00", "Z")

    def route(self, request: Request) -> Answer:
        serving = self.route_serving(request)
        if serving is not None:
            return serving
        match = _PATH.match(request.path)
        if match is None:
            return self._fail(404, f"Unknown endpoint {request.method} {request.path}")
        if match["account"] != self.account:
            return self._fail(403, f"The API key has no access to account {match['account']}")
        kind, item, action, method = match["kind"], match["id"], match["action"], request.method
        if kind == "datasets":
            if item is None and method == "POST":
                return self._create_dataset(request.json or {})
            if item is not None and action is None and method == "GET":
                dataset = self.datasets.get(item)
                return (200, dataset, {}) if dataset else self._fail(404, f"Dataset {item} not found")
            if item is not None and action == "upload" and method == "POST":
                return self._upload(item, request)
        else:
            if item is None and method == "POST":
                job_id = request.query.get("supervisedFineTuningJobId" if kind == "supervisedFineTuningJobs"
                                           else "dpoJobId", "")
                created = self._create_job(kind, job_id, request.json or {})
                return self.created(created, "Internal error")
            job = self.jobs.get((kind, item or ""))
            if job is None:
                return self._fail(404, f"{kind} {item} not found")
            if action is None and method == "GET":
                self._tick(job)
                return 200, job, {}
            if action == "cancel" and method == "POST":
                if job["state"] in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
                    return self._fail(400, f"Job {item} is already finished")
                job["state"] = "JOB_STATE_CANCELLING"
                return 200, {}, {}
        return self._fail(404, f"Unknown endpoint {method} {request.path}")

    # -- datasets ------------------------------------------------------------------------
    def _create_dataset(self, body: dict[str, Any]) -> Answer:
        dataset_id = str(body.get("datasetId") or "")
        if not _ID.match(dataset_id):
            return self._fail(400, f"datasetId {dataset_id!r} must be 1-63 lowercase letters, digits or hyphens")
        if dataset_id in self.datasets:
            return self._fail(409, f"Dataset {dataset_id} already exists")
        given = body.get("dataset") or {}
        dataset = {"name": f"accounts/{self.account}/datasets/{dataset_id}", "state": "UPLOADING",
                   "createTime": self._now(), "exampleCount": given.get("exampleCount"),
                   "format": given.get("format", "FORMAT_UNSPECIFIED"), "userUploaded": given.get("userUploaded")}
        self.datasets[dataset_id] = dataset
        return 200, dataset, {}

    def _upload(self, dataset_id: str, request: Request) -> Answer:
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            return self._fail(404, f"Dataset {dataset_id} not found")
        if "file" not in request.files:
            return self._fail(400, "missing file")
        filename, content = request.files["file"]
        if len(content) > MAX_UPLOAD_BYTES:
            return self._fail(400, "file is larger than 150 MB; use getUploadEndpoint")
        rows, bad_line = jsonl_rows(content)
        if bad_line is not None:
            return self._fail(400, f"line {bad_line} is not valid JSON")
        kinds = {"preference" if "preferred_output" in record else "chat" if "messages" in record
                 else "other" for record in rows}
        if len(rows) < 3:
            return self._fail(400, f"dataset has {len(rows)} examples; at least 3 are required")
        if len(kinds) != 1 or "other" in kinds:
            return self._fail(400, "every line must be a chat example (messages) or a preference pair")
        self.dataset_contents[dataset_id] = content
        self._formats[dataset_id] = kinds.pop()
        dataset.update(state="READY", exampleCount=str(len(rows)))
        return 200, {"id": dataset_id, "bytes": len(content), "filename": filename, "object": "file",
                     "created_at": next(self._clock), "purpose": "fine-tune"}, {}

    # -- jobs ----------------------------------------------------------------------------
    def _create_job(self, kind: str, job_id: str, body: dict[str, Any]) -> Answer:
        if not _ID.match(job_id):
            return self._fail(400, f"job id {job_id!r} must be 1-63 lowercase letters, digits or hyphens")
        if (kind, job_id) in self.jobs:
            return self._fail(409, f"{kind} {job_id} already exists")
        training = (body.get("trainingConfig") or {}) if kind == "dpoJobs" else body
        dataset_id = str(body.get("dataset") or "").rsplit("/", 1)[-1]
        dataset = self.datasets.get(dataset_id)
        if dataset is None or dataset["state"] != "READY":
            return self._fail(400, f"dataset {body.get('dataset')} is not ready")
        wanted = "preference" if kind == "dpoJobs" else "chat"
        if self._formats.get(dataset_id) != wanted:
            return self._fail(400, f"dataset {dataset_id} holds {self._formats.get(dataset_id)} data; "
                                   f"this job needs {wanted} data")
        if training.get("baseModel") not in MODELS:
            return self._fail(400, f"base model {training.get('baseModel')} is not tunable")
        epochs = training.get("epochs", 1)
        if not isinstance(epochs, int) or epochs < 1:
            return self._fail(400, f"epochs must be a positive integer, got {epochs!r}")
        rate = training.get("learningRate")
        if rate is not None and not rate > 0:
            return self._fail(400, "learningRate must be positive")
        samples = training.get("batchSizeSamples")
        if samples is not None and not (isinstance(samples, int) and samples > 0):
            return self._fail(400, "batchSizeSamples must be a positive integer")
        output = training.get("outputModel")
        if output is not None and not _ID.match(output):
            return self._fail(400, f"outputModel {output!r} must be 1-63 lowercase letters, digits or hyphens")
        if kind == "dpoJobs":
            loss = body.get("lossConfig") or {}
            beta = (loss.get("dpo") or {}).get("beta")
            if beta is not None and not 0 < beta < 0.5:
                return self._fail(400, f"dpo.beta must be > 0 and < 0.5, got {beta}")
        job = {"name": f"accounts/{self.account}/{kind}/{job_id}", "state": "JOB_STATE_CREATING",
               "createTime": self._now(), "dataset": body["dataset"], "displayName": body.get("displayName"),
               "jobProgress": {"percent": 0, "epoch": 0}}
        if kind == "dpoJobs":
            job.update(trainingConfig=dict(training), lossConfig=body.get("lossConfig"))
        else:
            job.update({k: v for k, v in body.items() if k != "dataset"})
        self.jobs[(kind, job_id)] = job
        return 200, job, {}

    def _tick(self, job: dict[str, Any]) -> None:
        state = job["state"]
        job["updateTime"] = self._now()
        if state == "JOB_STATE_CREATING":
            job["state"] = "JOB_STATE_VALIDATING"
        elif state == "JOB_STATE_VALIDATING":
            if self.fail_next_jobs > 0:
                self.fail_next_jobs -= 1
                job.update(state="JOB_STATE_FAILED", completedTime=self._now(),
                           status={"code": "INVALID_ARGUMENT", "message": self.failure_message})
                return
            job["state"] = "JOB_STATE_RUNNING"
        elif state == "JOB_STATE_RUNNING":
            percent = min(100, job["jobProgress"]["percent"] + 100 // self.steps)
            job["jobProgress"] = {"percent": percent, "epoch": 0}
            if percent >= 100 - 100 % self.steps:
                job["jobProgress"]["percent"] = 100
                job.update(state="JOB_STATE_COMPLETED", completedTime=self._now(),
                           status={"code": "OK", "message": ""})
                training = job.get("trainingConfig", job)
                output = training.get("outputModel") or job["name"].rsplit("/", 1)[-1]
                training["outputModel"] = f"accounts/{self.account}/models/{output}"
        elif state == "JOB_STATE_CANCELLING":
            job.update(state="JOB_STATE_CANCELLED", completedTime=self._now())


@pytest.fixture
def fireworks_standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[FireworksStandIn]:
    """A fresh loopback Fireworks stand-in; ``.base_url``, ``.api_key``, ``.account``, ``.requests`` and knobs.

    Its deployments progress per read, not by wall clock, so the gate reads their state without
    its 10 s pause between reads."""
    monkeypatch.setattr(vectortrainer.gate.serving, "POLL_S", 0.01)
    yield from serve(FireworksStandIn())
